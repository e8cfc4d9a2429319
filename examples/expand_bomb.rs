//! Runs the archive expander on a 1 GiB gzip bomb (one deflate stream of zeros) and on a
//! 42.zip-style nested zip, and prints the time, the skips and the peak RSS. Release only:
//! `cargo run --release --example expand_bomb`.

#![allow(clippy::print_stdout)]

use std::io::{Cursor, Write};
use std::time::Instant;

use azleak::expand::{self, Budget, Event, Limits};

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

fn report(what: &str, bytes: &[u8]) {
    let budget = Budget::default();
    let start = Instant::now();
    let (mut members, mut skips) = (0u64, Vec::new());
    expand::expand(bytes, what, &Limits::default(), &budget, &mut |e| match e {
        Event::Member(_) => members += 1,
        other => skips.push(other.to_string()),
    });
    println!(
        "{what}: {} compressed bytes, {:?}, {members} members, {} skips/errors, {} bytes decompressed",
        bytes.len(),
        start.elapsed(),
        skips.len(),
        budget.used()
    );
    for s in skips.iter().take(3) {
        println!("  {s}");
    }
    println!("  peak RSS so far: {} MiB", peak_rss_kib() / 1024);
}

fn zip_of(entries: &[(String, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, bytes) in entries {
        w.start_file(name.as_str(), zip::write::SimpleFileOptions::default()).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn main() {
    let start = Instant::now();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..1024 {
        gz.write_all(&chunk).unwrap();
    }
    let bomb = gz.finish().unwrap();
    println!("built a 1 GiB gzip bomb in {:?}", start.elapsed());
    report("bomb-1GiB.gz", &bomb);
    drop(bomb);

    // 42.zip: 16 x 16 x 16 x 16 leaves of 4 MiB zeros (4 levels of zip), 1 TiB in all.
    let leaf_data = vec![0u8; 4 << 20];
    let mut level: Vec<u8> =
        zip_of(&(0..16).map(|i| (format!("{i:x}.bin"), &leaf_data[..])).collect::<Vec<_>>());
    for _ in 0..4 {
        level = zip_of(&(0..16).map(|i| (format!("{i:x}.zip"), &level[..])).collect::<Vec<_>>());
    }
    report("42.zip", &level);
}
