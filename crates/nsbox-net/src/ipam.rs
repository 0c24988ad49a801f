//! IPv4 subnets and address allocation. Pure logic: the state module persists the result under a lock.

use std::collections::HashSet;
use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IpamError {
    #[error("{field}: {value:?} is not an IPv4 subnet in CIDR form (e.g. 10.201.0.0/24)")]
    BadSubnet { field: &'static str, value: String },
    #[error("{field}: {value:?} has host bits set; did you mean {suggest}?")]
    HostBits { field: &'static str, value: String, suggest: String },
    #[error("{field}: subnet {subnet} is too small (need at least /30)")]
    TooSmall { field: &'static str, subnet: Ipv4Net },
    #[error("{field}: {value:?} is not an IPv4 address")]
    BadAddress { field: &'static str, value: String },
    #[error("{field}: {ip} is not a usable address in {subnet}")]
    OutsideSubnet { field: &'static str, ip: Ipv4Addr, subnet: Ipv4Net },
    #[error("ip: {ip} is already in use on network {network}")]
    InUse { ip: Ipv4Addr, network: String },
    #[error("ip: no free address left in {subnet} (network {network})")]
    Exhausted { subnet: Ipv4Net, network: String },
    #[error("{field}: {value:?} is not a MAC address (e.g. 02:42:0a:c9:00:02)")]
    BadMac { field: &'static str, value: String },
}

/// An IPv4 network in CIDR form whose host bits are zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Net {
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

impl Ipv4Net {
    pub fn parse(field: &'static str, s: &str) -> Result<Self, IpamError> {
        let bad = || IpamError::BadSubnet { field, value: s.into() };
        let (a, p) = s.trim().split_once('/').ok_or_else(bad)?;
        let addr = Ipv4Addr::from_str(a).map_err(|_| bad())?;
        let prefix: u8 = p.parse().map_err(|_| bad())?;
        if prefix > 32 {
            return Err(bad());
        }
        let net = Ipv4Net { addr: Ipv4Addr::from(u32::from(addr) & mask(prefix)), prefix };
        if net.addr != addr {
            return Err(IpamError::HostBits { field, value: s.into(), suggest: net.to_string() });
        }
        if prefix > 30 {
            return Err(IpamError::TooSmall { field, subnet: net });
        }
        Ok(net)
    }
    pub fn first(&self) -> u32 {
        u32::from(self.addr)
    }
    pub fn last(&self) -> u32 {
        self.first() | !mask(self.prefix)
    }
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & mask(self.prefix) == self.first()
    }
    /// A host address: inside, and neither the network nor the broadcast address.
    pub fn is_host(&self, ip: Ipv4Addr) -> bool {
        let v = u32::from(ip);
        self.contains(ip) && v != self.first() && v != self.last()
    }
    pub fn overlaps(&self, other: &Ipv4Net) -> bool {
        self.first() <= other.last() && other.first() <= self.last()
    }
    /// The conventional gateway: the first host address.
    pub fn default_gateway(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.first() + 1)
    }
}

pub fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix as u32)
    }
}

impl fmt::Display for Ipv4Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Serialize for Ipv4Net {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Ipv4Net {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ipv4Net::parse("subnet", &s).map_err(serde::de::Error::custom)
    }
}

pub fn parse_ip(field: &'static str, s: &str) -> Result<Ipv4Addr, IpamError> {
    Ipv4Addr::from_str(s.trim()).map_err(|_| IpamError::BadAddress { field, value: s.into() })
}

pub fn parse_mac(field: &'static str, s: &str) -> Result<[u8; 6], IpamError> {
    let bad = || IpamError::BadMac { field, value: s.into() };
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 {
        return Err(bad());
    }
    let mut out = [0u8; 6];
    for (o, p) in out.iter_mut().zip(parts) {
        if p.len() != 2 {
            return Err(bad());
        }
        *o = u8::from_str_radix(p, 16).map_err(|_| bad())?;
    }
    // Multicast MACs cannot be an interface address.
    if out[0] & 1 == 1 || out == [0; 6] {
        return Err(bad());
    }
    Ok(out)
}

/// Docker's convention: a locally administered MAC derived from the address, 02:42:a:b:c:d.
pub fn mac_for(ip: Ipv4Addr) -> [u8; 6] {
    let o = ip.octets();
    [0x02, 0x42, o[0], o[1], o[2], o[3]]
}

/// Picks an address: `wanted` if given (checked), else the first free host address after the gateway.
pub fn allocate(
    network: &str,
    subnet: &Ipv4Net,
    gateway: Ipv4Addr,
    used: &HashSet<Ipv4Addr>,
    wanted: Option<Ipv4Addr>,
) -> Result<Ipv4Addr, IpamError> {
    if let Some(ip) = wanted {
        if !subnet.is_host(ip) || ip == gateway {
            return Err(IpamError::OutsideSubnet { field: "ip", ip, subnet: *subnet });
        }
        if used.contains(&ip) {
            return Err(IpamError::InUse { ip, network: network.into() });
        }
        return Ok(ip);
    }
    (subnet.first() + 1..subnet.last())
        .map(Ipv4Addr::from)
        .find(|ip| *ip != gateway && !used.contains(ip))
        .ok_or(IpamError::Exhausted { subnet: *subnet, network: network.into() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects_subnets() {
        let n = Ipv4Net::parse("subnet", "10.201.0.0/24").unwrap();
        assert_eq!(n.default_gateway(), Ipv4Addr::new(10, 201, 0, 1));
        assert!(matches!(Ipv4Net::parse("subnet", "10.201.0.5/24"), Err(IpamError::HostBits { .. })));
        assert!(matches!(Ipv4Net::parse("subnet", "10.201.0.0"), Err(IpamError::BadSubnet { .. })));
        assert!(matches!(Ipv4Net::parse("subnet", "10.201.0.0/33"), Err(IpamError::BadSubnet { .. })));
        assert!(matches!(Ipv4Net::parse("subnet", "10.0.0.0/31"), Err(IpamError::TooSmall { .. })));
    }

    #[test]
    fn overlap() {
        let a = Ipv4Net::parse("s", "10.0.0.0/16").unwrap();
        let b = Ipv4Net::parse("s", "10.0.5.0/24").unwrap();
        let c = Ipv4Net::parse("s", "10.1.0.0/24").unwrap();
        assert!(a.overlaps(&b) && b.overlaps(&a));
        assert!(!a.overlaps(&c));
    }

    #[test]
    fn allocates_skipping_gateway_and_used() {
        let n = Ipv4Net::parse("s", "10.0.0.0/29").unwrap();
        let gw = n.default_gateway();
        let mut used = HashSet::new();
        let mut got = vec![];
        while let Ok(ip) = allocate("n", &n, gw, &used, None) {
            used.insert(ip);
            got.push(ip.octets()[3]);
        }
        assert_eq!(got, vec![2, 3, 4, 5, 6]);
        assert!(matches!(allocate("n", &n, gw, &used, None), Err(IpamError::Exhausted { .. })));
        let w = allocate("n", &n, gw, &HashSet::new(), Some(Ipv4Addr::new(10, 0, 0, 7)));
        assert!(matches!(w, Err(IpamError::OutsideSubnet { .. })));
        let w = allocate("n", &n, gw, &used, Some(Ipv4Addr::new(10, 0, 0, 3)));
        assert!(matches!(w, Err(IpamError::InUse { .. })));
    }

    #[test]
    fn macs() {
        assert_eq!(parse_mac("mac", "02:42:0a:00:00:02").unwrap(), [2, 0x42, 10, 0, 0, 2]);
        assert!(parse_mac("mac", "01:00:00:00:00:01").is_err());
        assert!(parse_mac("mac", "zz:00:00:00:00:01").is_err());
        assert_eq!(mac_for(Ipv4Addr::new(10, 0, 0, 2)), [2, 0x42, 10, 0, 0, 2]);
    }
}
