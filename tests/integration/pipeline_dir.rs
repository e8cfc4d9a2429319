//! Issue #8, the rest of it: identical files scanned once by content id and reported at every
//! path; corrupt or truncated archives as reported skips (not errors); copies inside archives
//! naming their member in every format; zstd, xz and bzip2 streams end to end (a directory, git
//! history, standard input).

use std::io::Write;

use serde_json::Value;

use crate::report::github_sarif_problems;
use crate::util::{SECRET_8Q, SECRET_8Q_2, TempRepo, TempTree, isolated_azleak, json, run};

fn env(secret: &str) -> String {
    format!("AZURE_CLIENT_SECRET={secret}\n")
}

fn zip(files: &[(&str, &[u8])], method: zip::CompressionMethod) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in files {
        let options = zip::write::SimpleFileOptions::default().compression_method(method);
        w.start_file(*name, options).expect("zip entry");
        w.write_all(bytes).expect("zip write");
    }
    w.finish().expect("zip finish").into_inner()
}

fn deflated(files: &[(&str, &[u8])]) -> Vec<u8> {
    zip(files, zip::CompressionMethod::Deflated)
}

fn scan_json(dir: &std::path::Path, args: &[&str]) -> (i32, Value, String, String) {
    let mut all = vec!["scan"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    let (code, out, err) = run(isolated_azleak(dir).args(&all));
    (code, json(&out), out, err)
}

/// (path, member, line, column) of every finding, in report order.
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

/// (path, reason, detail) of every skip.
fn skips(doc: &Value) -> Vec<(String, String, String)> {
    doc["summary"]["skipped"]
        .as_array()
        .expect("skipped")
        .iter()
        .map(|s| {
            (
                s["path"].as_str().unwrap_or_default().into(),
                s["reason"].as_str().unwrap_or_default().into(),
                s["detail"].as_str().unwrap_or_default().into(),
            )
        })
        .collect()
}

fn assert_no_raw(secret: &str, texts: &[&str]) {
    for t in texts {
        assert!(!t.contains(secret), "raw secret in output:\n{t}");
    }
}

// ---- content-id dedup in directory scans ----------------------------------------------------

#[test]
fn identical_files_are_scanned_once_and_reported_at_every_path() {
    let t = TempTree::new();
    let lib = format!("// vendored\nconst x = 1;\n{}", env(SECRET_8Q));
    for dir in ["vendor/a", "vendor/b", "node_modules/pkg/dist"] {
        t.file(&format!("{dir}/lib.js"), &lib);
    }
    // One byte different: its own content, scanned on its own.
    t.file("vendor/c/lib.js", lib.replace("x = 1", "x = 2"));
    // An identical archive at two paths: the member's finding at both, with its member path.
    let release = deflated(&[("conf/app.env", env(SECRET_8Q_2).as_bytes())]);
    t.file("dist/release.zip", &release);
    t.file("backup/release.zip", &release);
    // Identical binaries: counted as binary at each path.
    let binary: Vec<u8> = (0u8..=255).cycle().take(4096).collect();
    t.file("bin/a.dat", &binary);
    t.file("bin/b.dat", &binary);

    let (code, doc, out, err) = scan_json(t.path(), &[]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        places(&doc),
        [
            place("backup/release.zip", "conf/app.env", 1, 21),
            place("dist/release.zip", "conf/app.env", 1, 21),
            place("node_modules/pkg/dist/lib.js", "", 3, 21),
            place("vendor/a/lib.js", "", 3, 21),
            place("vendor/b/lib.js", "", 3, 21),
            place("vendor/c/lib.js", "", 3, 21),
        ],
        "{doc}"
    );
    let summary = &doc["summary"];
    // Two copies of lib.js, one of the zip, one of the binary.
    assert_eq!(summary["duplicates"], 4, "{summary}");
    // Every copy still counts as scanned: 8 files plus the zip's member at each path.
    assert_eq!(summary["files"], 10, "{summary}");
    assert_eq!(summary["archive_members"], 2, "{summary}");
    assert_eq!(summary["binary"], 2, "{summary}");
    let binary_skips: Vec<_> =
        skips(&doc).into_iter().filter(|(_, r, _)| r == "binary").map(|(p, _, _)| p).collect();
    assert_eq!(binary_skips, ["bin/a.dat", "bin/b.dat"]);
    // The copies are separate findings: each has its own fingerprint (they are per path).
    let fingerprints: std::collections::BTreeSet<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["fingerprint"].as_str().unwrap())
        .collect();
    assert_eq!(fingerprints.len(), 6, "{doc}");
    assert_no_raw(SECRET_8Q, &[&out, &err]);

    let (_, text, _) = run(isolated_azleak(t.path()).args(["scan", "."]));
    assert!(text.contains("4 duplicates scanned once"), "{text}");
}

#[test]
fn a_skip_inside_a_duplicate_archive_names_the_duplicate() {
    let t = TempTree::new();
    let mut bad =
        zip(&[("bad.txt", b"aaaaaaaaaa"), ("ok.txt", b"ok")], zip::CompressionMethod::Stored);
    let at = bad.windows(10).position(|w| w == b"aaaaaaaaaa").unwrap();
    bad[at] = b'b'; // the CRC no longer matches
    t.file("one/fixture.zip", &bad);
    t.file("two/fixture.zip", &bad);
    let (code, doc, _, err) = scan_json(t.path(), &[]);
    assert_eq!(code, 0, "{err}");
    let corrupt: Vec<String> = skips(&doc)
        .into_iter()
        .filter(|(_, r, _)| r == "corrupt-archive")
        .map(|(p, _, _)| p)
        .collect();
    assert_eq!(corrupt, ["one/fixture.zip!bad.txt", "two/fixture.zip!bad.txt"], "{doc}");
    assert_eq!(doc["summary"]["duplicates"], 1);
}

// ---- corrupt archives are skips ---------------------------------------------------------------

#[test]
fn corrupt_and_truncated_archives_are_skips_listed_with_verbose_and_do_not_fail_the_scan() {
    let t = TempTree::new();
    let mut truncated = deflated(&[
        ("first.txt", b"first\n"),
        ("second.bin", &(0..20_000u32).flat_map(|i| i.to_le_bytes()).collect::<Vec<_>>()),
    ]);
    truncated.truncate(truncated.len() * 2 / 3);
    t.file("test/fixtures/truncated.zip", truncated);
    t.file("test/fixtures/corrupt.gz", [0x1f, 0x8b, 0x08, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    t.file("test/fixtures/corrupt.zst", [0x28, 0xb5, 0x2f, 0xfd, 0xff]);
    t.file("README.md", "nothing to see\n");

    let (code, doc, _, err) = scan_json(t.path(), &[]);
    assert_eq!(code, 0, "a corrupt archive is not an error: {err}\n{doc}");
    assert_eq!(doc["summary"]["errors"], Value::Array(vec![]), "{doc}");
    let corrupt: Vec<(String, String)> = skips(&doc)
        .into_iter()
        .filter(|(_, r, _)| r == "corrupt-archive")
        .map(|(p, _, d)| (p, d))
        .collect();
    for prefix in
        ["test/fixtures/truncated.zip", "test/fixtures/corrupt.gz", "test/fixtures/corrupt.zst"]
    {
        assert!(corrupt.iter().any(|(p, _)| p.starts_with(prefix)), "{prefix}: {corrupt:?}");
    }
    // The truncated zip names the member cut off, and says what the parser said.
    assert!(
        corrupt.iter().any(|(p, d)| p == "test/fixtures/truncated.zip!second.bin" && !d.is_empty()),
        "{corrupt:?}"
    );
    // Members before the cut are still scanned.
    assert!(doc["summary"]["archive_members"].as_u64().unwrap() >= 1, "{doc}");

    let (code, text, err) = run(isolated_azleak(t.path()).args(["scan", ".", "--verbose"]));
    assert_eq!(code, 0, "{err}");
    let listed = text.lines().filter(|l| l.contains("(corrupt archive: ")).count();
    assert_eq!(listed, corrupt.len(), "{text}");
    assert!(text.contains(&format!("{} corrupt archive", corrupt.len())), "{text}");
    // Without --verbose they are counted, not listed.
    let (_, text, _) = run(isolated_azleak(t.path()).args(["scan", "."]));
    assert!(!text.contains("(corrupt archive: "), "{text}");
    assert!(text.contains(&format!("{} corrupt archive", corrupt.len())), "{text}");
}

#[test]
fn a_corrupt_member_named_for_a_secret_is_skipped_redacted_and_the_other_members_scanned() {
    let t = TempTree::new();
    let bad_name = format!("keys/{SECRET_8Q}.txt");
    let mut z = zip(
        &[
            ("app.env", env(SECRET_8Q).as_bytes()),
            (bad_name.as_str(), b"aaaaaaaaaa"),
            ("later.env", env(SECRET_8Q_2).as_bytes()),
        ],
        zip::CompressionMethod::Stored,
    );
    let at = z.windows(10).position(|w| w == b"aaaaaaaaaa").unwrap();
    z[at] = b'b';
    t.file("pkg.zip", &z);
    let (code, doc, out, err) = scan_json(t.path(), &[]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        places(&doc),
        [place("pkg.zip", "app.env", 1, 21), place("pkg.zip", "later.env", 1, 21)]
    );
    let corrupt: Vec<_> =
        skips(&doc).into_iter().filter(|(_, r, _)| r == "corrupt-archive").collect();
    assert_eq!(corrupt.len(), 1, "{doc}");
    assert!(corrupt[0].0.starts_with("pkg.zip!keys/zzz"), "{corrupt:?}");
    let (_, text, terr) = run(isolated_azleak(t.path()).args(["scan", ".", "--verbose"]));
    let (_, sarif, serr) = run(isolated_azleak(t.path()).args(["scan", ".", "--format", "sarif"]));
    assert_no_raw(SECRET_8Q, &[&out, &err, &text, &terr, &sarif, &serr]);
}

// ---- copies inside archives name their member -------------------------------------------------

#[test]
fn copies_inside_archives_name_their_member_in_every_format() {
    let r = TempRepo::new();
    let zipped = deflated(&[
        ("a.env", env(SECRET_8Q).as_bytes()),
        ("nested/b.env", env(SECRET_8Q).as_bytes()),
    ]);
    std::fs::write(r.path().join("release.zip"), &zipped).unwrap();
    std::fs::write(r.path().join("plain.env"), env(SECRET_8Q)).unwrap();
    r.stage("release.zip");
    r.stage("plain.env");
    r.commit_staged("add");

    let (code, out, err) = run(isolated_azleak(r.path()).args(["git", ".", "--format", "json"]));
    assert_eq!(code, 1, "{err}");
    let doc = json(&out);
    assert_eq!(
        places(&doc),
        [
            place("plain.env", "", 1, 21),
            place("release.zip", "a.env", 1, 21),
            place("release.zip", "nested/b.env", 1, 21),
        ]
    );
    let groups = doc["groups"].as_array().expect("groups");
    assert_eq!(groups.len(), 1, "{doc}");
    let locations: Vec<(String, String)> = groups[0]["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["path"].as_str().unwrap().to_string(),
                l["member"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        locations,
        [
            ("plain.env".to_string(), String::new()),
            ("release.zip".to_string(), "a.env".to_string()),
            ("release.zip".to_string(), "nested/b.env".to_string()),
        ]
    );

    // Text: the first finding lists the others, members included (two in one archive path).
    let (_, text, _) = run(isolated_azleak(r.path()).args(["git", "."]));
    assert!(text.contains("this secret appears in 3 places; also at:"), "{text}");
    assert!(text.contains("      release.zip!a.env:1:21"), "{text}");
    assert!(text.contains("      release.zip!nested/b.env:1:21"), "{text}");

    // SARIF: related locations carry the member as a logical location.
    let (_, sarif, _) = run(isolated_azleak(r.path()).args(["git", ".", "--format", "sarif"]));
    let sarif = json(&sarif);
    let problems = github_sarif_problems(&sarif, &[SECRET_8Q]);
    assert!(problems.is_empty(), "{problems:?}");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let related = results[0]["relatedLocations"].as_array().expect("related locations");
    let names: Vec<&str> = related
        .iter()
        .filter_map(|l| l["logicalLocations"][0]["fullyQualifiedName"].as_str())
        .collect();
    assert_eq!(names, ["release.zip!a.env", "release.zip!nested/b.env"], "{related:?}");

    // GitHub annotations count the places.
    let (_, gh, _) = run(isolated_azleak(r.path()).args(["git", ".", "--format", "github"]));
    assert_eq!(gh.matches("The same secret appears in 3 places.").count(), 3, "{gh}");
}

// ---- zstd, xz and bzip2 end to end ------------------------------------------------------------

/// `text` compressed as a `.zst`, `.xz` and `.bz2` stream, written with the crates azleak
/// reads them with.
fn streams(text: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let zst = ruzstd::encoding::compress_to_vec(text, ruzstd::encoding::CompressionLevel::Fastest);
    let mut xz =
        lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::with_preset(1)).unwrap();
    xz.write_all(text).unwrap();
    let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    bz.write_all(text).unwrap();
    vec![("zst", zst), ("xz", xz.finish().unwrap()), ("bz2", bz.finish().unwrap())]
}

#[test]
fn compressed_streams_are_found_in_a_directory_in_history_and_on_stdin() {
    let text = format!("# settings\n{}", env(SECRET_8Q));
    for (ext, bytes) in streams(text.as_bytes()) {
        // (zstd may keep the secret's random characters as raw literals: the member in each
        // place below is what shows the stream was decoded.)
        let name = format!("app.env.{ext}");

        let t = TempTree::new();
        t.file(&format!("logs/{name}"), &bytes);
        let (code, doc, out, err) = scan_json(t.path(), &[]);
        assert_eq!(code, 1, "{ext}: {err}");
        assert_eq!(places(&doc), [place(&format!("logs/{name}"), "app.env", 2, 21)], "{ext}");
        assert_no_raw(SECRET_8Q, &[&out, &err]);

        let r = TempRepo::new();
        std::fs::write(r.path().join(&name), &bytes).unwrap();
        r.stage(&name);
        let commit = r.commit_staged("add a compressed file");
        let (code, out, err) =
            run(isolated_azleak(r.path()).args(["git", ".", "--format", "json"]));
        assert_eq!(code, 1, "{ext}: {err}");
        let doc = json(&out);
        assert_eq!(places(&doc), [place(&name, "app.env", 2, 21)], "{ext}");
        assert_eq!(doc["findings"][0]["commit"]["commit"], commit.to_string());

        let (code, out, err) = run(isolated_azleak(t.path())
            .args(["scan", "-", "--format", "json"])
            .write_stdin(bytes.clone()));
        assert_eq!(code, 1, "{ext}: {err}");
        let found = places(&json(&out));
        assert_eq!(found.len(), 1, "{ext}: {out}");
        assert_eq!((found[0].0.as_str(), found[0].2, found[0].3), ("-", 2, 21), "{ext}: {found:?}");
        assert!(!found[0].1.is_empty(), "{ext}: a member inside standard input: {found:?}");
    }
}
