//! docker's value syntaxes, parsed once here for every caller (the CLI's flags, the TS options,
//! `update`): sizes (`RAMInBytes`: `256m`, `1.5g`, `64MiB`, binary multiples), CPU counts (`1.5`)
//! and cpuset lists (`0-3,5`).

/// A size as docker's `RAMInBytes` reads it: a decimal number, an optional unit letter
/// (`b k m g t p`, any case, 1024-based) and an optional `i`/`b` suffix (`MiB`, `mb`). Errors read
/// `invalid size: 'X'`, as docker's.
pub fn ram_in_bytes(s: &str) -> Result<i64, String> {
    let bad = || format!("invalid size: '{s}'");
    let t = s.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    if num.is_empty() || num.starts_with('.') || num.ends_with('.') {
        return Err(bad());
    }
    let value: f64 = num.parse().map_err(|_| bad())?;
    let unit = unit.trim_start_matches(' ').to_ascii_lowercase();
    let (letter, rest) = match unit.chars().next() {
        Some(c @ ('k' | 'm' | 'g' | 't' | 'p')) => (Some(c), &unit[1..]),
        _ => (None, unit.as_str()),
    };
    // `b`, `ib` and `i` after a letter; a bare number may only take `b`.
    let ok_suffix = match letter {
        Some(_) => matches!(rest, "" | "b" | "i" | "ib"),
        None => matches!(rest, "" | "b"),
    };
    if !ok_suffix {
        return Err(bad());
    }
    let mult: f64 = match letter {
        None => 1.0,
        Some('k') => 1024.0,
        Some('m') => 1024f64.powi(2),
        Some('g') => 1024f64.powi(3),
        Some('t') => 1024f64.powi(4),
        _ => 1024f64.powi(5),
    };
    let bytes = value * mult;
    if !bytes.is_finite() || bytes >= i64::MAX as f64 {
        return Err(bad());
    }
    Ok(bytes as i64)
}

/// `--cpus`: a decimal number of CPUs, as nano-CPUs (1.5 → 1_500_000_000). Errors read docker's
/// `failed to parse X as a rational number`.
pub fn nano_cpus(s: &str) -> Result<i64, String> {
    let bad = || format!("failed to parse {s} as a rational number");
    let t = s.trim();
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    if (int.is_empty() && frac.is_empty()) || !int.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    if frac.len() > 9 && frac[9..].chars().any(|c| c != '0') {
        // docker: "value is too precise".
        return Err(format!("value is too precise: {s}"));
    }
    let whole: i64 = if int.is_empty() { 0 } else { int.parse().map_err(|_| bad())? };
    let mut f = frac.chars().take(9).collect::<String>();
    while f.len() < 9 {
        f.push('0');
    }
    let nanos: i64 = f.parse().map_err(|_| bad())?;
    whole.checked_mul(1_000_000_000).and_then(|w| w.checked_add(nanos)).ok_or_else(bad)
}

/// A cpuset list (`0-3,5`) as the CPU (or node) numbers it names; None when malformed.
pub fn cpuset_list(s: &str) -> Option<Vec<u32>> {
    let mut out = Vec::new();
    if s.trim().is_empty() {
        return Some(out);
    }
    for part in s.trim().split(',') {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let (a, b): (u32, u32) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
        if a > b || b - a > 65536 {
            return None;
        }
        out.extend(a..=b);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_docker_reads_them() {
        for (s, want) in [
            ("32", 32),
            ("32b", 32),
            ("32k", 32 << 10),
            ("32K", 32 << 10),
            ("32kb", 32 << 10),
            ("32Kib", 32 << 10),
            ("256m", 256 << 20),
            ("64MiB", 64 << 20),
            ("1.5g", 3 << 29),
            ("1 g", 1 << 30),
            ("2t", 2 << 40),
            ("1p", 1 << 50),
        ] {
            assert_eq!(ram_in_bytes(s), Ok(want), "{s}");
        }
        for s in ["", "m", "abc", "12x", "-1", "1.m", ".5m", "1mm", "1bi", "99999999999p"] {
            assert_eq!(ram_in_bytes(s), Err(format!("invalid size: '{s}'")), "{s}");
        }
    }

    #[test]
    fn cpus_and_cpusets() {
        assert_eq!(nano_cpus("1.5"), Ok(1_500_000_000));
        assert_eq!(nano_cpus("0.01"), Ok(10_000_000));
        assert_eq!(nano_cpus("2"), Ok(2_000_000_000));
        assert_eq!(nano_cpus(".5"), Ok(500_000_000));
        assert!(nano_cpus("x").unwrap_err().contains("failed to parse x as a rational number"));
        assert!(nano_cpus("-1").is_err());
        assert!(nano_cpus("0.0000000001").unwrap_err().contains("too precise"));
        assert_eq!(cpuset_list("0-2,5"), Some(vec![0, 1, 2, 5]));
        assert_eq!(cpuset_list("1"), Some(vec![1]));
        assert_eq!(cpuset_list("2-1"), None);
        assert_eq!(cpuset_list("a"), None);
    }
}
