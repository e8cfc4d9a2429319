//! Regression tests for what the fuzz targets in `fuzz/` found (scripts/fuzz.sh runs them).
//! Each test reproduces one minimized finding on the real binary and asserts the correct
//! behaviour.

use std::time::Duration;

use crate::util::{SECRET_8Q, TempTree, azleak, run};

/// A watchdog, not a timing assertion: a linear scan of a few MB takes seconds even in a debug
/// build; the inputs below took minutes.
const WATCHDOG: Duration = Duration::from_secs(60);

/// fuzz target `detect_time`, seed `markers`: the secret marker `8Q~` repeated (no encoding at
/// all). Every marker starts the concatenated-literal decoder, which reads up to 2 KiB each
/// way, so 300,000 markers (900 KB) took 33 s in the fuzz build, 1,000,000 (3 MB) 41 s in a
/// debug build, and 3,000,000 (9 MB) about two minutes, past the watchdog.
#[test]
fn dense_secret_markers_scan_in_linear_time() {
    let t = TempTree::new();
    let input = "8Q~".repeat(3_000_000);
    let (code, out, err) = run(azleak(t.path())
        .args(["scan", "--format", "json", "-"])
        .write_stdin(input)
        .timeout(WATCHDOG));
    assert!(code == 0 || code == 2, "exit {code} (killed by the watchdog?)\n{out}\n{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// fuzz target `config_parse`, seed `confidence-bad`: the error for an unknown
/// `min-confidence` value quoted the value (`unknown variant `…``), and a value may be a
/// secret pasted into the wrong key.
#[test]
fn config_error_names_the_key_not_the_value() {
    let t = TempTree::new();
    let value = "abcdefghijklmnopq";
    t.file("azleak.toml", format!("min-confidence = \"{value}\"\n"));
    let (code, out, err) = run(azleak(t.path()).args(["scan", "."]));
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("azleak.toml:1:") && err.contains("min-confidence"), "{err}");
    assert!(!err.contains(value) && !out.contains(value), "the value is echoed:\n{err}");
}

/// fuzz target `baseline_parse`, seed `bad-fingerprint`: the error for a malformed fingerprint
/// quoted it.
#[test]
fn baseline_error_does_not_echo_the_fingerprint() {
    let t = TempTree::new();
    let value = "abcdefghijklmnopqrstuvwxyz012345";
    t.file(
        "b.json",
        format!(
            "{{\"version\": 1, \"tool\": \"azleak\", \"entries\": [{{\"fingerprint\": \"{value}\", \
             \"rule_id\": \"r\", \"path\": \"p\", \"hint\": \"h\", \"first_seen\": \"2024-01-02\"}}]}}"
        ),
    );
    t.file("a.txt", "nothing here\n");
    let (code, out, err) = run(azleak(t.path()).args(["scan", "--baseline", "b.json", "a.txt"]));
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("b.json"), "{err}");
    assert!(!err.contains(value) && !out.contains(value), "the value is echoed:\n{err}");
}

/// fuzz target `report_escape` (property `escape`), minimized to a path with a newline: the
/// text format printed it raw, so a file name forged a finding line.
#[test]
fn a_newline_in_a_path_cannot_forge_a_finding_line() {
    let t = TempTree::new();
    let name = "a\nfake.txt:1:1: x (high) secret FAKE\nb";
    t.file(name, format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    let (code, out, err) = run(azleak(t.path()).args(["scan", "--color", "never", "."]));
    assert_eq!(code, 1, "{out}{err}");
    assert!(!out.lines().any(|l| l.starts_with("fake.txt:1:1:")), "forged line:\n{out}");
    assert!(!out.contains(SECRET_8Q), "{out}");
}

/// The detector on raw bytes, as the fuzz targets call it: every match lies inside the input.
fn detect_spans(bytes: &[u8]) -> usize {
    let detector = azleak::Detector::new(azleak::RuleSet::builtin().expect("rules"));
    let mut scratch = detector.scratch();
    let matches = detector.scan(bytes, &mut scratch);
    for m in &matches {
        assert!(
            m.start < m.end && m.end <= bytes.len(),
            "span {}..{} of {}",
            m.start,
            m.end,
            bytes.len()
        );
    }
    matches.len()
}

/// fuzz target `detect` (600 s run), the one input it reported: an `az login` line with NULs,
/// DEL and `&` runs, reported as a 1 s timeout while the machine was at load 10. Alone it takes
/// 0.14 s under AddressSanitizer, detector construction included, and 2,000 mutations of it
/// ran at 222/s with no timeout: not a hang. Kept so the shape stays covered.
#[test]
fn az_login_line_with_control_bytes_scans() {
    let input =
        b"az login --s/vR_zemp/spD -p /\t\0\0\0h\x7fme/rp/spD -p /h\x7fmunn&r/\x7fork/vR_zemp/\
sp-certme-&&&&&&&certmep. --telant $T";
    detect_spans(input);
}

/// fuzz target `detect_time` (600 s run): `\xe0\x93\x04` then `8Q~\xff` repeated to 2 MiB took
/// 2.8 s under AddressSanitizer, past libFuzzer's 1 s timeout (0.05 s in a release build, and
/// linear: 0.5 / 1 / 2 MiB took 0.01 / 0.02 / 0.05 s of CPU). The watchdog here is the test
/// harness; the expansion is scanned whole, finding nothing (no marker has a valid secret).
#[test]
fn dense_markers_between_invalid_utf8_scan() {
    let mut input = b"\xe0\x93\x04".to_vec();
    for _ in 0..(512 * 1024) {
        input.extend_from_slice(b"8Q~\xff");
    }
    assert_eq!(detect_spans(&input), 0);
}

/// fuzz target `config_parse` (600 s run), minimized: a line that looks like a table header but
/// holds an array of strings (`["<value>", "…"]`) was taken for the key in the error message,
/// so the value was echoed. Only keys azleak knows are named now.
#[test]
fn a_config_error_never_names_garbage_as_its_key() {
    let t = TempTree::new();
    let value = "Abcdefghijklmnop0123456789XYZ";
    t.file("azleak.toml", format!("[allowlist]\npaths = \n[\"{value}\", \"te)stonly\"]\n"));
    t.file("a.txt", "nothing here\n");
    let (code, out, err) = run(azleak(t.path()).args(["scan", "a.txt"]));
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("azleak.toml:"), "{err}");
    assert!(!err.contains(value) && !out.contains(value), "the value is echoed:\n{err}");
}
