//! Linear time: the detector on large inputs built from a short unit repeated many times
//! between a prefix and a suffix (dense decoding triggers, many literals, long lines), up to
//! 2 MiB of text from a few bytes of fuzz input.
//!
//! Input format (easy to write seeds for): 3 bytes, the number of copies (little-endian), then
//! `prefix 0xFF unit 0xFF suffix` (missing parts are empty).
//!
//! Run with libFuzzer's `-timeout=1` (scripts/fuzz.sh does): an input that takes more than a
//! second is a finding. Inputs of at least 64 KiB also assert a per-byte bound, 5 µs per byte
//! plus 50 ms (`AZLEAK_FUZZ_US_PER_BYTE` changes the 5), which flags superlinear work on
//! inputs that finish within the timeout; `AZLEAK_FUZZ_SKIP=time` turns that assertion off.

#![no_main]

use std::time::Instant;

use azleak_fuzz::{check_matches, checked, detector};
use libfuzzer_sys::fuzz_target;

const MAX_LEN: usize = 2 << 20;

/// Builds the input text from the fuzz bytes.
fn expand(data: &[u8]) -> Option<Vec<u8>> {
    let (count, rest) = data.split_first_chunk::<3>()?;
    let copies = u32::from_le_bytes([count[0], count[1], count[2], 0]) as usize;
    let mut parts = rest.splitn(3, |&b| b == 0xFF);
    let prefix = parts.next().unwrap_or_default();
    let unit = parts.next().unwrap_or_default();
    let suffix = parts.next().unwrap_or_default();
    let room = MAX_LEN.saturating_sub(prefix.len() + suffix.len());
    let copies = if unit.is_empty() { 0 } else { copies.min(room / unit.len()) };
    let mut hay = Vec::with_capacity(prefix.len() + copies * unit.len() + suffix.len());
    hay.extend_from_slice(prefix);
    for _ in 0..copies {
        hay.extend_from_slice(unit);
    }
    hay.extend_from_slice(suffix);
    Some(hay)
}

fuzz_target!(|data: &[u8]| {
    let Some(hay) = expand(data) else { return };
    let detector = detector();
    let mut scratch = detector.scratch();
    let started = Instant::now();
    let matches = detector.scan(&hay, &mut scratch);
    let elapsed = started.elapsed();
    check_matches(&hay, &matches, detector.rules().len());
    if hay.len() >= 64 << 10 && checked("time") {
        let per_byte: f64 = std::env::var("AZLEAK_FUZZ_US_PER_BYTE")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(5.0);
        let bound = per_byte * 1e-6 * hay.len() as f64 + 0.05;
        assert!(
            elapsed.as_secs_f64() <= bound,
            "{} bytes took {:.3} s (bound {bound:.3} s)",
            hay.len(),
            elapsed.as_secs_f64(),
        );
    }
});
