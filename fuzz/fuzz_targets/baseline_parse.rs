//! The baseline parser on arbitrary bytes: `Baseline::parse` (as `Baseline::load` reads a
//! file; bytes that are not UTF-8 fail to read before parsing, so they are parsed lossily).
//!
//! Asserts: no panic; errors name the file; a parsed baseline written back with `to_json`
//! parses to the same baseline; and (property `echo`, on unless `AZLEAK_FUZZ_SKIP=echo`) an
//! error never echoes a quoted value of the file (issue #7 item 11).

#![no_main]

use std::path::Path;

use azleak::config::Baseline;
use azleak_fuzz::{checked, quoted_values};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let path = Path::new("baseline.json");
    match Baseline::parse(path, &text) {
        Ok(baseline) => {
            let json = baseline.to_json();
            let again = Baseline::parse(path, &json)
                .unwrap_or_else(|e| panic!("written baseline does not parse: {e}\n{json}"));
            assert_eq!(again, baseline, "baseline changed through to_json");
        }
        Err(e) => {
            let message = e.to_string();
            assert!(message.contains("baseline.json"), "error does not name the file: {message}");
            if checked("echo") {
                for value in quoted_values(&text) {
                    assert!(!message.contains(&value), "error echoes {value:?}: {message}");
                }
            }
        }
    }
});
