//! Sizes in settings: bytes (`1073741824`), with a unit (`512MiB`, `8GiB`), or a share of the
//! memory this process may count on (`50%`).

/// The memory this process may count on: the container's limit (cgroup v2 or v1) when there is
/// one below the machine's, else the machine's total; `None` when neither can be read.
pub fn physical_memory() -> Option<u64> {
    let total = std::fs::read_to_string("/proc/meminfo").ok().and_then(|t| {
        t.lines().find_map(|l| l.strip_prefix("MemTotal:").and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok()).map(|kb| kb * 1024))
    });
    let cgroup = ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok().and_then(|t| t.trim().parse::<u64>().ok()));
    match (total, cgroup) {
        (Some(t), Some(c)) => Some(t.min(c)),
        (t, c) => t.or(c.filter(|c| *c < (1 << 50))),
    }
}

/// Parses a size: bytes (`1073741824`), with a unit (`512MiB`, `8GiB`, `8GB`, `8G`; K, M, G
/// and T count in 1024s, KB, MB, GB and TB in 1000s), or a share of the memory (`50%`).
pub fn parse_size(text: &str) -> std::result::Result<u64, String> {
    let t = text.trim();
    let bad = || format!("`{text}` is not a size: write bytes, or a number with KiB, MiB, GiB, TiB (or KB, MB, GB, TB), or a share of the memory such as 50%");
    if let Some(p) = t.strip_suffix('%') {
        let share: f64 = p.trim().parse().map_err(|_| bad())?;
        if !(share > 0.0 && share <= 100.0) {
            return Err(format!("`{text}`: a share of the memory is more than 0% and at most 100%"));
        }
        let mem = physical_memory().ok_or_else(|| format!("`{text}`: the machine's memory cannot be read here; give a size such as 4GiB"))?;
        return Ok((mem as f64 * share / 100.0) as u64);
    }
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| bad())?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        _ => return Err(bad()),
    };
    let bytes = n * mult as f64;
    if bytes < 1.0 {
        return Err(bad());
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("8GiB").unwrap(), 8 << 30);
        assert_eq!(parse_size("8 GiB").unwrap(), 8 << 30);
        assert_eq!(parse_size("8G").unwrap(), 8 << 30);
        assert_eq!(parse_size("8GB").unwrap(), 8_000_000_000);
        assert_eq!(parse_size("512mib").unwrap(), 512 << 20);
        assert_eq!(parse_size("1.5GiB").unwrap(), 3 << 29);
        assert_eq!(parse_size("1048576").unwrap(), 1 << 20);
        assert!(parse_size("lots").is_err());
        assert!(parse_size("8 pints").is_err());
        assert!(parse_size("0").is_err());
        assert!(parse_size("150%").is_err());
        if physical_memory().is_some() {
            assert!(parse_size("50%").unwrap() > 0);
        }
    }
}
