//! /etc/hosts and /etc/resolv.conf for a container, written under the endpoint's state directory; the
//! runtime binds them into the container.

use std::net::Ipv4Addr;

/// What every hosts file starts with.
pub const LOCALHOST: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";

/// Own name first, then peers of the same user-defined network (docker: not on the default network).
pub fn hosts(own_ip: Ipv4Addr, own_names: &[String], peers: &[(Ipv4Addr, Vec<String>)]) -> String {
    let mut s = String::from(LOCALHOST);
    s.extend(hosts_line(own_ip, own_names));
    for (ip, names) in peers {
        s.extend(hosts_line(*ip, names));
    }
    s
}

/// One address's line, with its valid names; none when no name is valid.
pub fn hosts_line(ip: Ipv4Addr, names: &[String]) -> Option<String> {
    let names: Vec<&str> = names.iter().map(String::as_str).filter(|n| valid_hostname(n)).collect();
    (!names.is_empty()).then(|| format!("{ip}\t{}\n", names.join(" ")))
}

fn valid_hostname(n: &str) -> bool {
    !n.is_empty() && n.len() <= 253 && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_')
}

/// `dns` servers if given; else the host's resolv.conf without loopback nameservers (a stub resolver
/// on the host's 127.0.0.53 is unreachable from the container), falling back to systemd-resolved's
/// upstream list when that is all there was.
pub fn resolv_conf(dns: &[Ipv4Addr], host_text: Option<&str>, upstream_text: Option<&str>) -> String {
    if !dns.is_empty() {
        return dns.iter().map(|d| format!("nameserver {d}\n")).collect();
    }
    let filter = |text: &str| -> (String, usize) {
        let mut kept = 0;
        let mut out = String::new();
        for l in text.lines() {
            let mut w = l.split_whitespace();
            if w.next() == Some("nameserver") {
                let loopback = w.next().map(|a| a.starts_with("127.") || a == "::1").unwrap_or(true);
                if loopback {
                    continue;
                }
                kept += 1;
            }
            out.push_str(l);
            out.push('\n');
        }
        (out, kept)
    };
    let (text, kept) = filter(host_text.unwrap_or(""));
    if kept == 0 {
        if let Some(up) = upstream_text {
            let (t2, k2) = filter(up);
            if k2 > 0 {
                return t2;
            }
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_lists_self_and_peers() {
        let h = hosts(Ipv4Addr::new(10, 0, 0, 2), &["a".into()], &[(Ipv4Addr::new(10, 0, 0, 3), vec!["b".into(), "bad name".into()])]);
        assert!(h.contains("10.0.0.2\ta\n"));
        assert!(h.contains("10.0.0.3\tb\n"));
        assert!(!h.contains("bad name"));
    }

    #[test]
    fn resolv_drops_loopback_and_uses_dns() {
        let r = resolv_conf(&[], Some("search x\nnameserver 127.0.0.53\n"), Some("nameserver 192.0.2.1\n"));
        assert_eq!(r, "nameserver 192.0.2.1\n");
        let r = resolv_conf(&[], Some("nameserver 192.0.2.9\noptions edns0\n"), None);
        assert_eq!(r, "nameserver 192.0.2.9\noptions edns0\n");
        assert_eq!(resolv_conf(&[Ipv4Addr::new(192, 0, 2, 5)], None, None), "nameserver 192.0.2.5\n");
    }
}
