//! Sizes as users write them (`500000`, `64K`, `100M`, `1G`), for the config file's
//! `max-file-size` and the command line's `--max-file-size` alike.

/// Parses `100`, `64K`, `100M`, `1G` (binary multiples).
pub fn parse_size(text: &str) -> Result<u64, String> {
    size_of(text).map_err(|e| match e {
        SizeError::NotASize => format!("{text:?} is not a size like 500000, 64K, 100M or 1G"),
        SizeError::Zero => format!("{text:?}: the size limit must be at least 1 byte"),
        SizeError::TooLarge => format!("{text:?} is too large"),
    })
}

/// What is wrong with a size limit, without the text (config errors never quote values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeError {
    /// Not digits with an optional K, M or G suffix.
    NotASize,
    /// Zero: every file would be skipped.
    Zero,
    /// Over `u64::MAX` bytes.
    TooLarge,
}

impl SizeError {
    /// What a limit must be, for error messages.
    pub fn expected(self) -> &'static str {
        match self {
            SizeError::NotASize => {
                "expected a size in bytes or a string like \"64K\", \"100M\" or \"1G\""
            }
            SizeError::Zero => "the size limit must be at least 1 byte (0 would skip every file)",
            SizeError::TooLarge => "the size is too large",
        }
    }
}

/// [`parse_size`] with a typed error.
pub fn size_of(text: &str) -> Result<u64, SizeError> {
    let t = text.trim();
    let (digits, mult) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 1u64 << 10),
        Some((i, 'm' | 'M')) => (&t[..i], 1 << 20),
        Some((i, 'g' | 'G')) => (&t[..i], 1 << 30),
        _ => (t, 1),
    };
    let n: u64 = digits.parse().map_err(|_| SizeError::NotASize)?;
    match n.checked_mul(mult) {
        Some(0) => Err(SizeError::Zero),
        Some(n) => Ok(n),
        None => Err(SizeError::TooLarge),
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
