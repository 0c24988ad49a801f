use serde::{Deserialize, Serialize};

use crate::WireError;

/// One line of `/proc/PID/uid_map`: `inside outside length`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdMapping {
    pub inside: u32,
    pub outside: u32,
    pub length: u32,
}

impl IdMapping {
    /// Parses the CLI form `IN:OUT:LEN` (the kernel's order).
    pub fn parse(field: &str, text: &str) -> Result<IdMapping, WireError> {
        let parts: Vec<&str> = text.split(':').collect();
        let bad = || WireError::invalid_spec(field, format!("{text:?} is not INSIDE:OUTSIDE:LENGTH"));
        if parts.len() != 3 {
            return Err(bad());
        }
        let num = |s: &str| s.trim().parse::<u32>().map_err(|_| bad());
        let m = IdMapping { inside: num(parts[0])?, outside: num(parts[1])?, length: num(parts[2])? };
        validate(field, &[m])?;
        Ok(m)
    }
}

/// The rules the kernel enforces on a map write, checked early so the error names the field.
pub fn validate(field: &str, maps: &[IdMapping]) -> Result<(), WireError> {
    if maps.len() > 340 {
        return Err(WireError::invalid_spec(field, "at most 340 ranges are allowed"));
    }
    for (i, m) in maps.iter().enumerate() {
        if m.length == 0 {
            return Err(WireError::invalid_spec(field, format!("range {i} has length 0")));
        }
        if m.inside.checked_add(m.length - 1).is_none() || m.outside.checked_add(m.length - 1).is_none() {
            return Err(WireError::invalid_spec(field, format!("range {i} overflows 32-bit ids")));
        }
        for (j, o) in maps.iter().enumerate().skip(i + 1) {
            if overlaps(m.inside, m.length, o.inside, o.length) {
                return Err(WireError::invalid_spec(field, format!("ranges {i} and {j} overlap inside")));
            }
            if overlaps(m.outside, m.length, o.outside, o.length) {
                return Err(WireError::invalid_spec(field, format!("ranges {i} and {j} overlap outside")));
            }
        }
    }
    Ok(())
}

fn overlaps(a: u32, alen: u32, b: u32, blen: u32) -> bool {
    let (a, alen, b, blen) = (a as u64, alen as u64, b as u64, blen as u64);
    a < b + blen && b < a + alen
}

/// The exact text written to `uid_map`/`gid_map`.
pub fn to_kernel_text(maps: &[IdMapping]) -> String {
    maps.iter().map(|m| format!("{} {} {}\n", m.inside, m.outside, m.length)).collect()
}

/// Reads a map back from `/proc/PID/uid_map` text.
pub fn parse_kernel_text(text: &str) -> Vec<IdMapping> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace().map(|s| s.parse::<u32>());
            match (it.next(), it.next(), it.next()) {
                (Some(Ok(inside)), Some(Ok(outside)), Some(Ok(length))) => Some(IdMapping { inside, outside, length }),
                _ => None,
            }
        })
        .collect()
}

/// Maps an id seen inside to the host id, or None when it is unmapped.
pub fn to_host(maps: &[IdMapping], inside: u32) -> Option<u32> {
    maps.iter()
        .find(|m| inside >= m.inside && (inside - m.inside) < m.length)
        .map(|m| m.outside + (inside - m.inside))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cli_form() {
        assert_eq!(IdMapping::parse("uidMap", "0:1000:1").unwrap(), IdMapping { inside: 0, outside: 1000, length: 1 });
        assert_eq!(IdMapping::parse("uidMap", " 1:100000:65536").unwrap().length, 65536);
    }

    #[test]
    fn rejects_malformed_and_names_field() {
        for bad in ["", "0:1", "0:1:2:3", "a:1:1", "-1:0:1", "0:0:0", "4294967295:0:2"] {
            let e = IdMapping::parse("gidMap", bad).unwrap_err();
            assert_eq!(e.code, "ERR_INVALID_SPEC", "{bad}");
            assert_eq!(e.op, "gidMap");
        }
    }

    #[test]
    fn rejects_overlaps() {
        let a = IdMapping { inside: 0, outside: 1000, length: 10 };
        let inside = IdMapping { inside: 5, outside: 5000, length: 1 };
        let outside = IdMapping { inside: 100, outside: 1009, length: 1 };
        assert!(validate("uidMap", &[a, inside]).unwrap_err().message.contains("inside"));
        assert!(validate("uidMap", &[a, outside]).unwrap_err().message.contains("outside"));
        let ok = IdMapping { inside: 10, outside: 1010, length: 1 };
        validate("uidMap", &[a, ok]).unwrap();
    }

    #[test]
    fn kernel_text_round_trips() {
        let maps = vec![IdMapping { inside: 0, outside: 1000, length: 1 }, IdMapping { inside: 1, outside: 100000, length: 65536 }];
        let text = to_kernel_text(&maps);
        assert_eq!(text, "0 1000 1\n1 100000 65536\n");
        assert_eq!(parse_kernel_text("         0       1000          1\n         1     100000      65536\n"), maps);
    }

    #[test]
    fn maps_ids_to_host() {
        let maps = vec![IdMapping { inside: 0, outside: 1000, length: 1 }, IdMapping { inside: 1, outside: 100000, length: 10 }];
        assert_eq!(to_host(&maps, 0), Some(1000));
        assert_eq!(to_host(&maps, 5), Some(100004));
        assert_eq!(to_host(&maps, 11), None);
    }
}
