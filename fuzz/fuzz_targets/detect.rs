//! The detector on arbitrary bytes with the built-in rules and every decoder (percent, JSON
//! escape, base64, concatenated literals): `Detector::scan`, then `scan::locate`.
//!
//! Asserts: no panic; every match span lies inside the input and is non-empty; findings have
//! lines and columns >= 1 (and end columns past their columns), lines within the input.
//! azleak has no public decoder-free entry point; inputs without a trigger literal (most
//! random inputs) exercise the plain path only, the seeds with `%7E`, `\u007e`, base64 and
//! quoted literals the decoders.

#![no_main]

use azleak::scan;
use azleak_fuzz::{check_findings, check_matches, detector};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let detector = detector();
    let mut scratch = detector.scratch();
    let matches = detector.scan(data, &mut scratch);
    check_matches(data, &matches, detector.rules().len());
    let findings = scan::locate(detector, "fuzz.txt", data, &matches);
    assert_eq!(findings.len(), matches.len());
    check_findings(data, &findings);
});
