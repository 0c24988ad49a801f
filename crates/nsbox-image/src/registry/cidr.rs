//! docker's CIDR entries in `insecure-registries` (`"10.0.0.0/8"`, `"fd00::/8"`): a registry whose host
//! is, or resolves to, an address inside one may be reached over plain HTTP or unverified TLS.

use std::net::{IpAddr, ToSocketAddrs};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// `addr/prefix`; the address may have host bits set (docker's net.ParseCIDR masks them too).
    pub fn parse(s: &str) -> Result<Self, String> {
        let (addr, prefix) = s.split_once('/').ok_or_else(|| format!("{s:?} is not a CIDR (address/prefix)"))?;
        let net: IpAddr = addr.parse().map_err(|_| format!("{s:?}: {addr:?} is not an IP address"))?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix: u8 = prefix.parse().ok().filter(|p| *p <= max).ok_or_else(|| format!("{s:?}: prefix length must be 0..={max}"))?;
        Ok(Self { net, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        // An IPv4-mapped IPv6 address (::ffff:10.0.0.1) is the IPv4 address for matching, as in Go.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// The addresses `host` (no port, no brackets) stands for: itself if it is an address, else what the
/// system resolver (/etc/hosts, DNS) answers; nothing when it cannot be resolved (the registry is then
/// secure, and the request fails as unreachable anyway).
pub fn addresses(host: &str) -> Vec<IpAddr> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return vec![ip];
    }
    (host, 0u16).to_socket_addrs().map(|a| a.map(|s| s.ip()).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_matches_like_docker() {
        let c = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(c.contains("10.1.2.3".parse().unwrap()));
        assert!(c.contains("::ffff:10.9.9.9".parse().unwrap()));
        assert!(!c.contains("11.0.0.1".parse().unwrap()));
        assert!(!c.contains("::1".parse().unwrap()));
        let host_bits = Cidr::parse("192.168.7.9/24").unwrap();
        assert!(host_bits.contains("192.168.7.200".parse().unwrap()) && !host_bits.contains("192.168.8.1".parse().unwrap()));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains("8.8.8.8".parse().unwrap()));
        assert!(Cidr::parse("1.2.3.4/32").unwrap().contains("1.2.3.4".parse().unwrap()));
        let v6 = Cidr::parse("fd00::/8").unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()) && !v6.contains("fe80::1".parse().unwrap()));
        for bad in ["10.0.0.0", "10.0.0.0/33", "fd00::/129", "host/8", "10.0.0.0/x", "10.0.0.0/-1"] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(addresses("127.0.0.1"), vec!["127.0.0.1".parse::<IpAddr>().unwrap()]);
        assert!(addresses("localhost").iter().all(|a| a.is_loopback()));
    }
}
