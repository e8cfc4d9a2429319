//! Embeds every `rules/*.toml` file: writes `$OUT_DIR/builtin_rules.rs`, a sorted list of
//! `(file name, include_str!(file))`, so a rule file added to `rules/` is built in without a
//! hand-kept list.

use std::path::Path;
use std::{env, fs};

fn main() {
    println!("cargo:rerun-if-changed=rules");
    let dir = Path::new(&env::var("CARGO_MANIFEST_DIR").expect("cargo sets it")).join("rules");
    let mut files: Vec<String> = fs::read_dir(&dir)
        .expect("rules/ is readable")
        .map(|entry| entry.expect("rules/ entry is readable").file_name())
        .filter_map(|name| name.into_string().ok())
        .filter(|name| name.ends_with(".toml"))
        .collect();
    files.sort();
    let mut code = String::from("&[\n");
    for name in &files {
        println!("cargo:rerun-if-changed=rules/{name}");
        let path = dir.join(name);
        code.push_str(&format!("    ({:?}, include_str!({:?})),\n", format!("rules/{name}"), path));
    }
    code.push_str("]\n");
    let out = Path::new(&env::var("OUT_DIR").expect("cargo sets it")).join("builtin_rules.rs");
    fs::write(out, code).expect("OUT_DIR is writable");
}
