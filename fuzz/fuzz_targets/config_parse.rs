//! The `azleak.toml` parser on arbitrary text, through the public steps `--config` takes:
//! `config::parse` (TOML → `ConfigFile`, unknown keys rejected) then `Allowlist::compile`
//! (globs and regexes).
//!
//! Asserts: no panic; errors name the file; and (property `echo`, on unless
//! `AZLEAK_FUZZ_SKIP=echo`) an error never echoes a quoted value of the file: every quoted
//! alphanumeric value of 12 or more characters is absent from the message (issue #7 item 11:
//! a value may be a secret; errors name the file, line, column and key, never the value).

#![no_main]

use std::path::Path;

use azleak::config::{self, Allowlist};
use azleak_fuzz::{checked, quoted_values};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let message = match config::parse(Path::new("azleak.toml"), text) {
        Err(e) => e.to_string(),
        Ok(file) => match Allowlist::compile(&file.allowlist, Path::new("/fuzz-root")) {
            Ok(allowlist) => {
                let _ = allowlist.allows("src/main.rs", "zzz8Q~zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzblP"); // azleak:allow
                return;
            }
            // What `Settings::load` makes of it: the key and the message (the value is
            // `EntryError::value`, which callers must not print).
            Err(e) => format!("azleak.toml: key `{}`: {}", e.key, e.message),
        },
    };
    assert!(message.contains("azleak.toml"), "error does not name the file: {message}");
    if checked("echo") {
        for value in quoted_values(text) {
            assert!(!message.contains(&value), "error echoes the value {value:?}: {message}");
        }
    }
});
