//! The archive expander (`azleak::expand`) on archives written here by the same crates: every
//! format, nesting and the depth limit, encrypted and unsupported members, corrupt and
//! truncated archives, and the bomb limits.

use std::io::{Cursor, Write};

use azleak::expand::{self, ArchiveSkip, Budget, Event, Limits};
use flate2::Compression;
use zip::write::SimpleFileOptions;

// ---- writers -------------------------------------------------------------------------------

fn zip_with(entries: &[(&str, &[u8])], method: zip::CompressionMethod) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, bytes) in entries {
        if name.ends_with('/') {
            w.add_directory(*name, SimpleFileOptions::default()).unwrap();
            continue;
        }
        let options = SimpleFileOptions::default().compression_method(method);
        w.start_file(*name, options).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    zip_with(entries, zip::CompressionMethod::Deflated)
}

fn gz_of(bytes: &[u8], fname: Option<&str>) -> Vec<u8> {
    let mut builder = flate2::GzBuilder::new();
    if let Some(f) = fname {
        builder = builder.filename(f);
    }
    let mut w = builder.write(Vec::new(), Compression::default());
    w.write_all(bytes).unwrap();
    w.finish().unwrap()
}

fn tar_of(entries: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, bytes) in entries {
        let mut h = tar::Header::new_gnu();
        let field = &mut h.as_gnu_mut().unwrap().name;
        field[..name.len()].copy_from_slice(name);
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append(&h, *bytes).unwrap();
    }
    b.into_inner().unwrap()
}

/// Byte offsets of every local (`PK\3\4`) and central (`PK\1\2`) header in a zip.
fn zip_headers(zip: &[u8]) -> (Vec<usize>, Vec<usize>) {
    let find = |sig: &[u8]| {
        zip.windows(4).enumerate().filter(|(_, w)| *w == sig).map(|(i, _)| i).collect::<Vec<_>>()
    };
    (find(b"PK\x03\x04"), find(b"PK\x01\x02"))
}

/// Sets the `n`th member's general-purpose flags and compression method in both headers.
fn patch_member(zip: &mut [u8], n: usize, flags_or: u16, method: Option<u16>) {
    let (local, central) = zip_headers(zip);
    for (at, flags, meth) in [(local[n], 6, 8), (central[n], 8, 10)] {
        let f = u16::from_le_bytes([zip[at + flags], zip[at + flags + 1]]) | flags_or;
        zip[at + flags..at + flags + 2].copy_from_slice(&f.to_le_bytes());
        if let Some(m) = method {
            zip[at + meth..at + meth + 2].copy_from_slice(&m.to_le_bytes());
        }
    }
}

// ---- running -------------------------------------------------------------------------------

fn run_with(bytes: &[u8], origin: &str, limits: &Limits, budget: &Budget) -> Vec<Event> {
    let mut events = Vec::new();
    expand::expand(bytes, origin, limits, budget, &mut |e| events.push(e));
    events
}

fn run(bytes: &[u8], origin: &str) -> Vec<Event> {
    run_with(bytes, origin, &Limits::default(), &Budget::default())
}

/// Members as `path!inside` → content.
fn members(events: &[Event]) -> Vec<(String, Vec<u8>)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Member(m) => Some((m.path.join("!"), m.bytes.clone())),
            _ => None,
        })
        .collect()
}

fn member_names(events: &[Event]) -> Vec<String> {
    members(events).into_iter().map(|(n, _)| n).collect()
}

/// Skips and errors, rendered as a user reads them.
fn problems(events: &[Event]) -> Vec<String> {
    events.iter().filter(|e| !matches!(e, Event::Member(_))).map(ToString::to_string).collect()
}

fn skips(events: &[Event]) -> Vec<(String, Option<String>, ArchiveSkip)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Skipped { archive, member, reason } => {
                Some((archive.clone(), member.clone(), *reason))
            }
            _ => None,
        })
        .collect()
}

// ---- formats -------------------------------------------------------------------------------

#[test]
fn zip_members_with_nested_directories() {
    let zip =
        zip_of(&[("a/", b""), ("a/b/c.txt", b"deep"), ("top.env", b"KEY=1\n"), ("empty.txt", b"")]);
    let events = run(&zip, "dist/release.zip");
    assert_eq!(
        members(&events),
        [
            ("a/b/c.txt".to_owned(), b"deep".to_vec()),
            ("top.env".to_owned(), b"KEY=1\n".to_vec()),
            ("empty.txt".to_owned(), Vec::new()),
        ]
    );
    assert!(problems(&events).is_empty(), "{:?}", problems(&events));
}

#[test]
fn zip_family_is_recognised_by_magic_whatever_the_name() {
    let zip = zip_of(&[("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\n")]);
    for name in ["app.jar", "pkg.nupkg", "x.whl", "doc.docx", "no-extension", "data.bin"] {
        assert_eq!(member_names(&run(&zip, name)), ["META-INF/MANIFEST.MF"], "{name}");
    }
    let stored = zip_with(&[("s.txt", b"stored")], zip::CompressionMethod::Stored);
    assert_eq!(members(&run(&stored, "s.zip")), [("s.txt".to_owned(), b"stored".to_vec())]);
    let bz = zip_with(&[("b.txt", b"bzip2 in zip")], zip::CompressionMethod::Bzip2);
    assert_eq!(members(&run(&bz, "b.zip")), [("b.txt".to_owned(), b"bzip2 in zip".to_vec())]);
}

#[test]
fn empty_zip_yields_nothing_and_no_error() {
    let zip = zip_of(&[]);
    assert!(zip.starts_with(b"PK\x05\x06"));
    assert!(run(&zip, "empty.zip").is_empty());
}

#[test]
fn gzip_member_is_named_from_its_header_or_from_the_outer_name() {
    let with = gz_of(b"line 1\n", Some("original.log"));
    assert_eq!(
        members(&run(&with, "logs/app.log.gz")),
        [("original.log".into(), b"line 1\n".to_vec())]
    );
    let without = gz_of(b"line 1\n", None);
    assert_eq!(member_names(&run(&without, "logs/app.log.gz")), ["app.log"]);
}

#[test]
fn concatenated_gzip_members_are_one_stream() {
    let mut both = gz_of(b"first\n", None);
    both.extend(gz_of(b"second\n", None));
    assert_eq!(
        members(&run(&both, "rotated.gz")),
        [("rotated".into(), b"first\nsecond\n".to_vec())]
    );
}

#[test]
fn tar_and_tar_gz_members_are_streamed_out() {
    let tar = tar_of(&[(b"etc/app.env", b"A=1\n"), (b"readme.md", b"hi\n")]);
    let expected =
        [("etc/app.env".to_owned(), b"A=1\n".to_vec()), ("readme.md".to_owned(), b"hi\n".to_vec())];
    assert_eq!(members(&run(&tar, "backup.tar")), expected);
    // A .tar.gz is one archive: no "backup.tar" level in between.
    assert_eq!(members(&run(&gz_of(&tar, None), "backup.tar.gz")), expected);
    assert_eq!(members(&run(&gz_of(&tar, None), "backup.tgz")), expected);
}

#[test]
fn bzip2_xz_and_zstd_streams() {
    let text = b"connection=Server=tcp:db;Password=x\n".repeat(10);
    let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    bz.write_all(&text).unwrap();
    let bz = bz.finish().unwrap();
    assert_eq!(members(&run(&bz, "dump.sql.bz2")), [("dump.sql".to_owned(), text.clone())]);

    let mut xz =
        lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::with_preset(6)).unwrap();
    xz.write_all(&text).unwrap();
    let xz = xz.finish().unwrap();
    assert_eq!(members(&run(&xz, "dump.sql.xz")), [("dump.sql".to_owned(), text.clone())]);

    let zst =
        ruzstd::encoding::compress_to_vec(&text[..], ruzstd::encoding::CompressionLevel::Fastest);
    assert_eq!(members(&run(&zst, "dump.sql.zst")), [("dump.sql".to_owned(), text.clone())]);

    let tar = tar_of(&[(b"in/tar.txt", &text)]);
    let mut txz =
        lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::with_preset(1)).unwrap();
    txz.write_all(&tar).unwrap();
    assert_eq!(member_names(&run(&txz.finish().unwrap(), "b.tar.xz")), ["in/tar.txt"]);
}

#[test]
fn zstd_compressed_zip_member_is_decoded() {
    let frame = ruzstd::encoding::compress_to_vec(
        &b"zstd member"[..],
        ruzstd::encoding::CompressionLevel::Fastest,
    );
    let mut zip = zip_with(&[("z.txt", &frame)], zip::CompressionMethod::Stored);
    patch_member(&mut zip, 0, 0, Some(93));
    assert_eq!(members(&run(&zip, "z.zip")), [("z.txt".to_owned(), b"zstd member".to_vec())]);
}

// ---- nesting -------------------------------------------------------------------------------

fn nested_backup() -> Vec<u8> {
    let inner = zip_of(&[("config/app.env", b"SECRET=1\n")]);
    let outer = zip_of(&[("inner.zip", &inner), ("notes.txt", b"n\n")]);
    gz_of(&tar_of(&[(b"outer.zip", &outer)]), None)
}

#[test]
fn zip_in_zip_in_tar_gz_is_expanded_to_the_bottom() {
    let events = run(&nested_backup(), "bk.tar.gz");
    assert_eq!(
        member_names(&events),
        ["outer.zip!inner.zip!config/app.env", "outer.zip!notes.txt"]
    );
    assert!(problems(&events).is_empty(), "{:?}", problems(&events));
}

#[test]
fn archive_beyond_the_depth_limit_is_reported_not_opened() {
    let limits = Limits { max_depth: 2, ..Limits::default() };
    let events = run_with(&nested_backup(), "bk.tar.gz", &limits, &Budget::default());
    assert_eq!(member_names(&events), ["outer.zip!notes.txt"]);
    assert_eq!(
        problems(&events),
        ["bk.tar.gz!outer.zip!inner.zip: skipped: nested archive beyond the depth limit of 2"]
    );
    assert_eq!(skips(&events)[0].2.kind(), "depth-limit");
}

#[test]
fn expand_one_hands_nested_archives_back_to_the_caller() {
    let inner = zip_of(&[("a.txt", b"a")]);
    let outer = zip_of(&[("inner.zip", &inner)]);
    let mut events = Vec::new();
    expand::expand_one(&outer, "o.zip", &Limits::default(), &Budget::default(), &mut |e| {
        events.push(e)
    });
    assert_eq!(members(&events), [("inner.zip".to_owned(), inner)]);
}

// ---- encrypted, unsupported, corrupt -------------------------------------------------------

#[test]
fn encrypted_member_is_skipped_by_name_and_the_rest_is_read() {
    let mut zip = zip_of(&[("secret.env", b"K=V\n"), ("plain.txt", b"p\n")]);
    patch_member(&mut zip, 0, 1, None);
    let events = run(&zip, "vault.zip");
    assert_eq!(member_names(&events), ["plain.txt"]);
    assert_eq!(problems(&events), ["vault.zip!secret.env: skipped: encrypted"]);
}

#[test]
fn unsupported_compression_method_is_reported_with_its_number() {
    let mut zip = zip_of(&[("ppmd.txt", b"x"), ("ok.txt", b"ok")]);
    patch_member(&mut zip, 0, 0, Some(98));
    let events = run(&zip, "m.zip");
    assert_eq!(member_names(&events), ["ok.txt"]);
    assert_eq!(
        skips(&events),
        [("m.zip".into(), Some("ppmd.txt".into()), ArchiveSkip::UnsupportedMethod { method: 98 })]
    );
}

#[test]
fn truncated_zip_reports_the_archive_and_still_yields_complete_members() {
    let big: Vec<u8> = (0..20_000u32).flat_map(|i| i.to_le_bytes()).collect();
    let zip = zip_of(&[("first.txt", b"first\n"), ("second.bin", &big)]);
    let cut = &zip[..zip.len() * 2 / 3];
    let events = run(cut, "dl/partial.zip");
    let names = member_names(&events);
    assert_eq!(names.first().map(String::as_str), Some("first.txt"), "{events:?}");
    let errors: Vec<_> = events.iter().filter(|e| matches!(e, Event::Error { .. })).collect();
    assert!(!errors.is_empty());
    for e in &errors {
        assert!(e.to_string().starts_with("dl/partial.zip"), "{e}");
    }
    assert!(errors.iter().any(|e| e.to_string().contains("second.bin")), "{errors:?}");
}

#[test]
fn corrupt_zip_member_is_an_error_naming_it_and_the_next_member_is_read() {
    let mut zip = zip_with(
        &[("bad.txt", b"aaaaaaaaaa"), ("good.txt", b"good")],
        zip::CompressionMethod::Stored,
    );
    let at = zip.windows(10).position(|w| w == b"aaaaaaaaaa").unwrap();
    zip[at] = b'b'; // the CRC no longer matches
    let events = run(&zip, "c.zip");
    assert!(member_names(&events).contains(&"good.txt".to_owned()));
    let errors: Vec<_> = events
        .iter()
        .filter(|e| matches!(e, Event::Error { .. }))
        .map(ToString::to_string)
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].starts_with("c.zip!bad.txt: error:"), "{errors:?}");
}

#[test]
fn truncated_gzip_yields_what_was_decoded_and_an_error_naming_it() {
    let text: Vec<u8> =
        (0..50_000u32).flat_map(|i| format!("log line {i}\n").into_bytes()).collect();
    let gz = gz_of(&text, None);
    let events = run(&gz[..gz.len() / 2], "logs/app.log.gz");
    let got = members(&events);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, "app.log");
    assert!(!got[0].1.is_empty() && text.starts_with(&got[0].1));
    let problems = problems(&events);
    assert_eq!(problems.len(), 1);
    assert!(problems[0].starts_with("logs/app.log.gz!app.log: error:"), "{problems:?}");
}

#[test]
fn garbage_after_magic_is_an_error_not_a_crash() {
    for (bytes, name) in [
        (b"PK\x03\x04garbage that is not a zip".to_vec(), "g.zip"),
        (vec![0x1f, 0x8b, 8, 0, 1, 2, 3], "g.gz"),
        (b"BZh91AY&SY\0\0\0\0".to_vec(), "g.bz2"),
        (vec![0xfd, b'7', b'z', b'X', b'Z', 0, 9, 9], "g.xz"),
        (vec![0x28, 0xb5, 0x2f, 0xfd, 0xff], "g.zst"),
    ] {
        let events = run(&bytes, name);
        assert!(events.iter().any(|e| matches!(e, Event::Error { .. })), "{name}: {events:?}");
        assert!(problems(&events).iter().all(|p| p.starts_with(name)), "{name}: {events:?}");
    }
}

// ---- names ---------------------------------------------------------------------------------

#[test]
fn hostile_member_names_are_kept_as_names_only() {
    let tar = tar_of(&[
        (b"../../etc/passwd", b"1"),
        (b"/abs/path", b"2"),
        (b"a\x1b[2Jb", b"3"),
        (b"bad\xffname", b"4"),
    ]);
    assert_eq!(
        member_names(&run(&tar, "t.tar")),
        ["../../etc/passwd", "/abs/path", "a\\x1B[2Jb", "bad\\xFFname"]
    );
    let zip = zip_of(&[("../up.txt", b"u"), ("/root.txt", b"r")]);
    assert_eq!(member_names(&run(&zip, "z.zip")), ["../up.txt", "/root.txt"]);
}

// ---- limits --------------------------------------------------------------------------------

#[test]
fn entry_limit_stops_the_archive() {
    let names: Vec<String> = (0..20).map(|i| format!("f{i}.txt")).collect();
    let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x"[..])).collect();
    let limits = Limits { max_entries: 10, ..Limits::default() };
    let events = run_with(&zip_of(&entries), "many.zip", &limits, &Budget::default());
    assert_eq!(
        problems(&events),
        ["many.zip: skipped: more than 10 entries; the rest were not read"]
    );
    assert!(member_names(&events).is_empty());

    let entries: Vec<(&[u8], &[u8])> = names.iter().map(|n| (n.as_bytes(), &b"x"[..])).collect();
    let events = run_with(&tar_of(&entries), "many.tar", &limits, &Budget::default());
    assert_eq!(member_names(&events).len(), 10);
    assert_eq!(
        skips(&events),
        [("many.tar".into(), None, ArchiveSkip::EntryLimit { max_entries: 10 })]
    );
}

#[test]
fn member_larger_than_the_limit_is_skipped_and_the_next_is_read() {
    let limits = Limits { max_member_size: 1000, ..Limits::default() };
    let zip = zip_of(&[("big.bin", &[7u8; 5000]), ("small.txt", b"s")]);
    let events = run_with(&zip, "z.zip", &limits, &Budget::default());
    assert_eq!(member_names(&events), ["small.txt"]);
    assert_eq!(skips(&events)[0].2, ArchiveSkip::MemberTooLarge { size: 5000, limit: 1000 });
}

#[test]
fn member_that_lies_about_its_size_is_still_cut_at_the_limit() {
    let limits = Limits { max_member_size: 1000, max_ratio: u64::MAX, ..Limits::default() };
    let gz = gz_of(&[0u8; 100_000], None);
    let events = run_with(&gz, "z.gz", &limits, &Budget::default());
    assert!(member_names(&events).is_empty());
    assert_eq!(skips(&events)[0].2, ArchiveSkip::MemberTooLarge { size: 1001, limit: 1000 });
}

#[test]
fn highly_compressed_member_trips_the_ratio_limit() {
    let zeros = vec![0u8; 2 << 20];
    let events = run(&gz_of(&zeros, None), "zeros.gz");
    assert!(member_names(&events).is_empty());
    let [(archive, member, ArchiveSkip::RatioLimit { uncompressed, compressed, max_ratio })] =
        &skips(&events)[..]
    else {
        panic!("{events:?}")
    };
    assert_eq!((archive.as_str(), member.as_deref(), *max_ratio), ("zeros.gz", Some("zeros"), 100));
    assert!(*uncompressed > 1 << 20 && uncompressed / compressed > 100);
    // The compressed side counts what the decoder really read, not 0 or 1.
    assert!(*compressed > 1000, "{compressed}");
    // The same bytes in a zip member: the ratio is per member.
    let events = run(&zip_of(&[("z.bin", &zeros), ("ok.txt", b"ok")]), "z.zip");
    assert_eq!(member_names(&events), ["ok.txt"]);
    assert_eq!(skips(&events)[0].2.kind(), "ratio-limit");
}

#[test]
fn repetitive_member_under_the_ratio_floor_passes() {
    let zeros = vec![0u8; 512 << 10];
    assert_eq!(members(&run(&gz_of(&zeros, None), "z.gz"))[0].1.len(), 512 << 10);
}

/// A 1 GiB gzip bomb, cheap to build: 1024 concatenated gzip members of 1 MiB of zeros each
/// (one stream to the decoder, ~1 MB compressed). `examples/expand_bomb.rs` runs a single-member
/// 1 GiB bomb in release and reports time and peak memory.
#[test]
fn gzip_bomb_is_stopped_with_bounded_output() {
    let one = {
        let mut w = flate2::write::GzEncoder::new(Vec::new(), Compression::best());
        w.write_all(&vec![0u8; 1 << 20]).unwrap();
        w.finish().unwrap()
    };
    let bomb = one.repeat(1024);
    assert!(bomb.len() < 2 << 20);
    for limits in [
        Limits::default(),
        Limits { max_ratio: u64::MAX, max_member_size: 4 << 20, ..Limits::default() },
        Limits { max_ratio: u64::MAX, max_archive_total: 2 << 20, ..Limits::default() },
    ] {
        let budget = Budget::default();
        let events = run_with(&bomb, "bomb.gz", &limits, &budget);
        assert!(member_names(&events).is_empty(), "{limits:?}");
        assert_eq!(skips(&events).len(), 1, "{events:?}");
        // Decompression stopped within a chunk of the smallest limit in force.
        let bound = limits.max_member_size.min(limits.max_archive_total).min(8 << 20);
        assert!(budget.used() <= bound + (1 << 20), "{} {limits:?}", budget.used());
    }
}

/// 42.zip in miniature: 16 zips of 16 zips of 16 files of 256 KiB of zeros (1 GiB in all).
fn nested_bomb() -> Vec<u8> {
    let zeros = vec![0u8; 256 << 10];
    let names: Vec<String> = (0..16).map(|i| format!("{i:x}")).collect();
    let leaf_entries: Vec<(String, &[u8])> =
        names.iter().map(|n| (format!("{n}.bin"), &zeros[..])).collect();
    let leaf = zip_of(&refs(&leaf_entries));
    let mid_entries: Vec<(String, &[u8])> =
        names.iter().map(|n| (format!("{n}.zip"), &leaf[..])).collect();
    let mid = zip_of(&refs(&mid_entries));
    let top_entries: Vec<(String, &[u8])> =
        names.iter().map(|n| (format!("{n}.zip"), &mid[..])).collect();
    zip_of(&refs(&top_entries))
}

#[test]
fn nested_zip_bomb_ends_on_the_run_budget() {
    let bomb = nested_bomb();
    let budget = Budget::new(16 << 20);
    let events = run_with(&bomb, "42.zip", &Limits::default(), &budget);
    let produced: usize = members(&events).iter().map(|(_, b)| b.len()).sum();
    assert!(produced as u64 <= 16 << 20);
    assert!(member_names(&events).len() < 16 * 16 * 16);
    let budget_skips: Vec<_> =
        skips(&events).into_iter().filter(|s| s.2.kind() == "budget-exhausted").collect();
    assert_eq!(budget_skips.len(), 1, "{:?}", problems(&events));
    assert!(budget_skips[0].0.starts_with("42.zip!"));
    // The budget is run-wide: the next archive is not opened at all.
    let again = run_with(&zip_of(&[("a.txt", b"a")]), "next.zip", &Limits::default(), &budget);
    assert_eq!(
        problems(&again),
        ["next.zip: skipped: run budget of 16777216 decompressed bytes exhausted"]
    );
}

fn refs<'a>(v: &'a [(String, &'a [u8])]) -> Vec<(&'a str, &'a [u8])> {
    v.iter().map(|(n, b)| (n.as_str(), *b)).collect()
}
