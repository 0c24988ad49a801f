#!/usr/bin/env bash
# Installs the Debian packages that debian.txt lists for PHASE (build or test) when they are missing.
# As root it installs them with apt; otherwise it names them and the one command that installs them.
set -euo pipefail
phase=${1:?usage: ensure.sh build|test}
list="$(dirname "$0")/debian.txt"
command -v dpkg-query >/dev/null || exit 0   # not Debian: the README says what to install by hand
need=()
while read -r pkg ph _; do
  case "$pkg" in ''|'#'*) continue ;; esac
  [ "$ph" = "$phase" ] || continue
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done <"$list"
[ "${#need[@]}" -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "nsbox: the $phase needs these Debian packages: ${need[*]}" >&2
  echo "nsbox: install them with: sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "nsbox: installing Debian packages for the $phase: ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
