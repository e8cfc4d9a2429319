//! Sizes as users write them (`500000`, `64K`, `100M`, `1G`), for the config file's
//! `max-file-size` and the command line's `--max-file-size` alike.

/// Parses `100`, `64K`, `100M`, `1G` (binary multiples).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (digits, mult) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 1u64 << 10),
        Some((i, 'm' | 'M')) => (&t[..i], 1 << 20),
        Some((i, 'g' | 'G')) => (&t[..i], 1 << 30),
        _ => (t, 1),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a size like 500000, 64K, 100M or 1G"))?;
    match n.checked_mul(mult) {
        Some(0) => Err(format!("{text:?}: the size limit must be at least 1 byte")),
        Some(n) => Ok(n),
        None => Err(format!("{text:?} is too large")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_suffixes() {
        assert_eq!(parse_size("100"), Ok(100));
        assert_eq!(parse_size("64K"), Ok(65536));
        assert_eq!(parse_size("100M"), Ok(100 << 20));
        assert!(parse_size("ten").is_err());
        assert!(parse_size("0").is_err());
        assert!(parse_size("0K").is_err());
    }
}
