/** One example per command, printed after its `--help` (podman's way of docker's help). */
import type { Command } from 'commander';

export const EXAMPLES: Record<string, string> = {
  '': "nsbox run --rm --hostname box -- /bin/sh -c 'hostname; echo $$'",
  run: 'nsbox run -d --name web --network blue -p 8080:80 busybox httpd -f -p 80',
  ns: 'nsbox ns $(pgrep -n sleep)',
  network: 'nsbox network create blue --subnet 10.201.0.0/24',
  'network create': 'nsbox network create blue --subnet 10.201.0.0/24 --gateway 10.201.0.1',
  'network ls': 'nsbox network ls --format json',
  'network inspect': 'nsbox network inspect blue --format table',
  'network rm': 'nsbox network rm blue',
  'network prune': 'nsbox network prune',
  tui: 'sudo nsbox tui',
  learn: 'nsbox learn S12 --lang zh --check',
  info: 'nsbox info --format json',
  ps: "nsbox ps -a --format '{{.ID}}\\t{{.Names}}\\t{{.Status}}'",
  logs: 'nsbox logs -f --tail 20 web',
  exec: 'nsbox exec -it web /bin/sh',
  top: 'nsbox top web',
  stats: "nsbox stats --no-stream --format 'table {{.Name}}\\t{{.CPUPerc}}\\t{{.MemUsage}}'",
  inspect: 'nsbox inspect web',
  events: "nsbox events --since 10m --filter event=oom --format '{{.Action}} {{.Actor.Attributes.name}}'",
  stop: 'nsbox stop -t 5 web',
  kill: 'nsbox kill -s SIGHUP web',
  wait: 'nsbox wait web',
  pause: 'nsbox pause web',
  unpause: 'nsbox unpause web',
  update: 'nsbox update --memory 128m --pids-limit 50 web',
  rm: 'nsbox rm -f web',
  attach: 'nsbox attach web',
  create: 'nsbox create --name job -- /bin/sh -c "echo hi" && nsbox start -a job',
  start: 'nsbox start -a job',
  pull: 'nsbox pull --platform linux/arm64 127.0.0.1:5000/team/app:1.4',
  push: 'nsbox push 127.0.0.1:5000/team/app:1.4',
  login: 'echo "$TOKEN" | nsbox login -u ci --password-stdin registry.example.com',
  logout: 'nsbox logout registry.example.com',
  images: 'nsbox images --digests',
  image: 'nsbox image inspect busybox',
  'image ls': 'nsbox image ls -q',
  'image inspect': 'nsbox image inspect busybox',
  'image rm': 'nsbox image rm busybox',
  'image prune': 'nsbox image prune -a',
  rmi: 'nsbox rmi -f busybox',
  tag: 'nsbox tag busybox 127.0.0.1:5000/busybox:1',
  load: 'nsbox load -i busybox.tar',
  save: 'nsbox save -o busybox.tar --format oci-archive busybox',
  completion: 'source <(nsbox completion bash)   # zsh: source <(nsbox completion zsh)',
};

/** Adds `Example:` to the help of every defined command that has one. */
export function addExamples(cmd: Command, path: string[] = []): void {
  const example = EXAMPLES[path.join(' ')];
  if (example) cmd.addHelpText('after', `\nExample:\n  ${example}\n`);
  for (const c of cmd.commands) addExamples(c, [...path, c.name()]);
}
