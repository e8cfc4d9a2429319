//! Issue #8: one scan pipeline for every mode, and what is inside blobs: archives (built here
//! with the same crates azleak reads them with), nested archives and their limits, bombs,
//! corrupt and encrypted members, binaries (checksum-verified secrets only, raw and UTF-16LE),
//! UTF-16 text, archives in git history and in the index, origins in every format.

use std::io::Write;

use serde_json::Value;

use crate::report::{github_sarif_problems, schema_problems};
use crate::util::{
    SECRET_8Q, SECRET_8Q_2, SECRET_LEGACY, TempRepo, TempTree, isolated_azleak, json, run,
};

const RULE: &str = "azure.entra.client-secret";

fn env(secret: &str) -> String {
    format!("AZURE_CLIENT_SECRET={secret}\n")
}

fn zip(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in files {
        w.start_file(*name, zip::write::SimpleFileOptions::default()).expect("zip entry");
        w.write_all(bytes).expect("zip write");
    }
    w.finish().expect("zip finish").into_inner()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).expect("gz");
    e.finish().expect("gz finish")
}

fn tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, bytes) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, name, *bytes).expect("tar entry");
    }
    b.into_inner().expect("tar finish")
}

fn scan_json(dir: &std::path::Path, args: &[&str]) -> (i32, Value, String, String) {
    let mut all = vec!["scan"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    let (code, out, err) = run(isolated_azleak(dir).args(&all));
    (code, json(&out), out, err)
}

/// (path, member, line, column) of every finding.
fn places(doc: &Value) -> Vec<(String, String, u64, u64)> {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap_or_default().to_string(),
                f["member"].as_str().unwrap_or_default().to_string(),
                f["line"].as_u64().unwrap_or(0),
                f["column"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

fn place(path: &str, member: &str, line: u64, column: u64) -> (String, String, u64, u64) {
    (path.into(), member.into(), line, column)
}

fn skipped(doc: &Value) -> Vec<(String, String)> {
    doc["summary"]["skipped"]
        .as_array()
        .expect("skipped")
        .iter()
        .map(|s| (s["path"].as_str().unwrap().into(), s["reason"].as_str().unwrap().into()))
        .collect()
}

fn assert_no_raw(secret: &str, texts: &[&str]) {
    for t in texts {
        assert!(!t.contains(secret), "raw secret in output:\n{t}");
    }
}

#[test]
fn secrets_in_every_archive_format_are_found_with_member_paths() {
    let t = TempTree::new();
    let payload = format!("# config\n{}", env(SECRET_8Q));
    let p = payload.as_bytes();
    t.file("artifacts/release.zip", zip(&[("config/app.env", p)]));
    let inner = zip(&[("application.properties", p)]);
    t.file("lib/app.jar", zip(&[("META-INF/MANIFEST.MF", b"x\n"), ("lib/inner.zip", &inner)]));
    t.file("backup.tar.gz", gzip(&tar(&[("etc/app.env", p)])));
    t.file("logs/app.log.gz", gzip(p));
    let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    bz.write_all(p).unwrap();
    t.file("dump.sql.bz2", bz.finish().unwrap());
    let mut xz = lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::default()).unwrap();
    xz.write_all(p).unwrap();
    t.file("data.xz", xz.finish().unwrap());
    t.file("no-extension", zip(&[("secret.txt", p)]));

    let (code, doc, out, err) = scan_json(t.path(), &[]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        places(&doc),
        [
            place("artifacts/release.zip", "config/app.env", 2, 21),
            place("backup.tar.gz", "etc/app.env", 2, 21),
            place("data.xz", "data", 2, 21),
            place("dump.sql.bz2", "dump.sql", 2, 21),
            place("lib/app.jar", "lib/inner.zip!application.properties", 2, 21),
            place("logs/app.log.gz", "app.log", 2, 21),
            place("no-extension", "secret.txt", 2, 21),
        ]
    );
    assert!(doc["findings"].as_array().unwrap().iter().all(|f| f["rule_id"] == RULE));
    assert_no_raw(SECRET_8Q, &[&out, &err]);

    let (_, text, _) = run(isolated_azleak(t.path()).args(["scan", "."]));
    assert!(text.contains("artifacts/release.zip!config/app.env:2:21:"), "{text}");
    assert!(text.contains("lib/app.jar!lib/inner.zip!application.properties:2:21:"), "{text}");
    assert_no_raw(SECRET_8Q, &[&text]);
}

#[test]
fn no_archives_and_max_archive_depth_limit_expansion() {
    let t = TempTree::new();
    let p = env(SECRET_8Q);
    let level3 = zip(&[("deep.env", p.as_bytes())]);
    let level2 = zip(&[("l3.zip", &level3)]);
    t.file("nest.zip", zip(&[("l2.zip", &level2)]));
    t.file("plain.gz", gzip(p.as_bytes()));

    let (code, doc, _, _) = scan_json(t.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(places(&doc).len(), 2);

    let (code, doc, _, _) = scan_json(t.path(), &["--max-archive-depth", "2"]);
    assert_eq!(code, 1);
    assert_eq!(places(&doc), [place("plain.gz", "plain", 1, 21)]);
    assert!(
        skipped(&doc).contains(&("nest.zip!l2.zip!l3.zip".into(), "archive-depth".into())),
        "{doc}"
    );

    // Off: archives are binary blobs; a deflated secret cannot be seen.
    let (code, doc, _, _) = scan_json(t.path(), &["--no-archives"]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["summary"]["binary"], 2);
    t.file("azleak.toml", "archives = false\n");
    let (code, _, _, _) = run_code(t.path());
    assert_eq!(code, 0);
}

fn run_code(dir: &std::path::Path) -> (i32, String, String, ()) {
    let (code, out, err) = run(isolated_azleak(dir).args(["scan", ".", "--config", "azleak.toml"]));
    (code, out, err, ())
}

#[test]
fn bombs_and_corrupt_archives_are_reported_and_the_scan_goes_on() {
    let t = TempTree::new();
    // 64 MiB of zeros: far over the ratio limit.
    let zeros = vec![0u8; 64 << 20];
    t.file("bomb.gz", gzip(&zeros));
    let inner = zip(&[("zeros.bin", &zeros)]);
    t.file("nested-bomb.zip", zip(&[("a.zip", &inner), ("ok.env", env(SECRET_8Q).as_bytes())]));
    let mut truncated = zip(&[("app.env", env(SECRET_8Q_2).as_bytes())]);
    truncated.truncate(truncated.len() / 2);
    t.file("truncated.zip", truncated);
    t.file("corrupt.gz", [0x1f, 0x8b, 0x08, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    t.file("good.env", env(SECRET_8Q_2));

    let (code, doc, out, err) = scan_json(t.path(), &[]);
    assert_eq!(code, 1, "{err}");
    let found = places(&doc);
    assert!(found.contains(&place("good.env", "", 1, 21)), "{found:?}");
    assert!(found.contains(&place("nested-bomb.zip", "ok.env", 1, 21)), "{found:?}");
    let skips = skipped(&doc);
    assert!(skips.iter().any(|(p, r)| p.starts_with("bomb.gz") && r == "archive-limit"), "{doc}");
    assert!(
        skips.iter().any(|(p, r)| p.starts_with("nested-bomb.zip!a.zip") && r == "archive-limit"),
        "{doc}"
    );
    // Corrupt and truncated archives are skips (reason `corrupt archive`), not errors: the
    // exit code is that of the findings alone.
    let errors = doc["summary"]["errors"].as_array().unwrap();
    assert!(errors.is_empty(), "{doc}");
    assert!(
        skips.iter().any(|(p, r)| p.starts_with("corrupt.gz") && r == "corrupt-archive"),
        "{doc}"
    );
    assert!(
        skips.iter().any(|(p, r)| p.starts_with("truncated.zip") && r == "corrupt-archive"),
        "{doc}"
    );
    assert_no_raw(SECRET_8Q, &[&out, &err]);
}

#[test]
fn binaries_are_scanned_for_checksum_secrets_raw_and_utf16_but_not_for_context_rules() {
    let t = TempTree::new();
    // A .NET-style assembly: the literal is in the #US heap as UTF-16LE.
    let mut dll = b"MZ\x90\0\x03\0\0\0PE\0\0".to_vec();
    dll.extend(std::iter::repeat_n(0u8, 64));
    for u in format!("ClientSecret {SECRET_8Q}").encode_utf16() {
        dll.extend_from_slice(&u.to_le_bytes());
    }
    dll.extend_from_slice(&[0, 0, 1, 2]);
    t.file("bin/Deploy.dll", &dll);
    // A legacy secret in context, in a binary: never reported (no checksum proves it).
    let mut legacy = b"\0\x01\x02".to_vec();
    legacy.extend_from_slice(format!("client_secret = \"{SECRET_LEGACY}\"\n").as_bytes());
    t.file("bin/legacy.bin", &legacy);

    let (code, doc, out, err) = scan_json(t.path(), &[]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(places(&doc), [place("bin/Deploy.dll", "", 1, 103)]);
    assert_eq!(doc["summary"]["binary"], 2);
    assert_no_raw(SECRET_8Q, &[&out, &err]);
}

#[test]
fn utf16_text_files_with_and_without_bom_are_scanned_with_every_rule() {
    let t = TempTree::new();
    let text = format!("# exported\r\nclient_secret = \"{SECRET_LEGACY}\"\r\n{}", env(SECRET_8Q));
    let le: Vec<u8> =
        [0xFF, 0xFE].into_iter().chain(text.encode_utf16().flat_map(u16::to_le_bytes)).collect();
    let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
    t.file("le.ps1", le);
    t.file("be.reg", be);
    let (code, doc, _, _) = scan_json(t.path(), &[]);
    assert_eq!(code, 1);
    let found = places(&doc);
    for path in ["be.reg", "le.ps1"] {
        assert!(found.contains(&place(path, "", 2, 18)), "{path}: {found:?}");
        assert!(found.contains(&place(path, "", 3, 21)), "{path}: {found:?}");
    }
}

#[test]
fn stdin_zip_is_expanded() {
    let t = TempTree::new();
    let bytes = zip(&[("app.env", env(SECRET_8Q).as_bytes())]);
    let (code, out, _) =
        run(isolated_azleak(t.path()).args(["scan", "-", "--format", "json"]).write_stdin(bytes));
    assert_eq!(code, 1);
    assert_eq!(places(&json(&out)), [place("-", "app.env", 1, 21)]);
}

#[test]
fn archives_in_history_and_in_the_index_count_only_new_members() {
    let r = TempRepo::new();
    let write = |rel: &str, bytes: &[u8]| std::fs::write(r.path().join(rel), bytes).unwrap();
    write("release.zip", &zip(&[("a.env", env(SECRET_8Q).as_bytes())]));
    r.stage("release.zip");
    let first = r.commit_staged("add release");

    let (code, out, _) = run(isolated_azleak(r.path()).args(["git", ".", "--format", "json"]));
    assert_eq!(code, 1);
    let doc = json(&out);
    assert_eq!(places(&doc), [place("release.zip", "a.env", 1, 21)]);
    assert_eq!(doc["findings"][0]["commit"]["commit"], first.to_string());

    // Staged: the same secret in the same member is not new; in another member it is.
    write(
        "release.zip",
        &zip(&[
            ("a.env", format!("# v2\n{}", env(SECRET_8Q)).as_bytes()),
            ("b.env", env(SECRET_8Q).as_bytes()),
        ]),
    );
    r.stage("release.zip");
    let (code, out, _) =
        run(isolated_azleak(r.path()).args(["git", ".", "--staged", "--format", "json"]));
    assert_eq!(code, 1, "{out}");
    assert_eq!(places(&json(&out)), [place("release.zip", "b.env", 1, 21)]);

    // A staged .nupkg (a zip by its magic bytes).
    write("pkg.nupkg", &zip(&[("content/app.config", env(SECRET_8Q_2).as_bytes())]));
    r.stage("pkg.nupkg");
    let (_, out, _) =
        run(isolated_azleak(r.path()).args(["git", ".", "--staged", "--format", "json"]));
    assert!(places(&json(&out)).contains(&place("pkg.nupkg", "content/app.config", 1, 21)));
}

#[test]
fn origins_render_in_sarif_and_github_and_member_names_are_redacted() {
    let t = TempTree::new();
    let name = format!("keys/{SECRET_8Q}.env");
    t.file("release.zip", zip(&[(name.as_str(), env(SECRET_8Q).as_bytes())]));
    let (code, out, err) = run(isolated_azleak(t.path()).args(["scan", ".", "--format", "sarif"]));
    assert_eq!(code, 1);
    let doc = json(&out);
    assert_eq!(schema_problems(&doc), Vec::<String>::new());
    assert_eq!(github_sarif_problems(&doc, &[SECRET_8Q]), Vec::<String>::new());
    let result = &doc["runs"][0]["results"][0];
    let location = &result["locations"][0];
    assert_eq!(location["physicalLocation"]["artifactLocation"]["uri"], "release.zip");
    assert_eq!(location["logicalLocations"][0]["name"], "keys/zzz….env");
    assert_eq!(result["properties"]["member"], "keys/zzz….env");
    assert_no_raw(SECRET_8Q, &[&out, &err]);

    for format in ["text", "json", "github"] {
        let (_, out, err) = run(isolated_azleak(t.path()).args(["scan", ".", "--format", format]));
        assert!(out.contains("keys/zzz….env"), "{format}: {out}");
        assert_no_raw(SECRET_8Q, &[&out, &err]);
    }
}

/// An encrypted member (general-purpose flag bit 0 set in both of its headers) cannot be read:
/// it is a reported `encrypted` skip naming `archive!member`, and the archive's other members are
/// still scanned; the exit code follows their findings.
#[test]
fn an_encrypted_member_is_a_reported_skip_and_the_other_members_are_scanned() {
    let t = TempTree::new();
    let mut bytes = zip(&[
        ("vault/secret.env", env(SECRET_8Q).as_bytes()),
        ("config/app.env", env(SECRET_8Q_2).as_bytes()),
    ]);
    let find = |sig: &[u8]| {
        bytes.windows(4).enumerate().filter(|(_, w)| *w == sig).map(|(i, _)| i).collect::<Vec<_>>()
    };
    let (local, central) = (find(b"PK\x03\x04")[0], find(b"PK\x01\x02")[0]);
    for at in [local + 6, central + 8] {
        bytes[at] |= 1;
    }
    t.file("release.zip", bytes);
    let (code, doc, out, err) = scan_json(t.path(), &["."]);
    assert_eq!(code, 1, "{err}\n{out}");
    assert_eq!(places(&doc).len(), 1, "{out}");
    assert_eq!(places(&doc)[0].1, "config/app.env", "{out}");
    assert!(
        skipped(&doc).contains(&("release.zip!vault/secret.env".into(), "encrypted".into())),
        "{:?}",
        skipped(&doc)
    );
    assert_no_raw(SECRET_8Q, &[&out, &err]);
    assert_no_raw(SECRET_8Q_2, &[&out, &err]);
}
