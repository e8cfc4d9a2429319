//! Issue 11's output work: the gitlab (validated against GitLab's published schema), junit,
//! jsonl and csv formats in scan and git modes, with pairing, verification and owners; `-o
//! FILE` and `-o -`; github paths relative to the repository root or `GITHUB_WORKSPACE`;
//! colour choices; shell completions and the man page.

use serde_json::Value;

use crate::util::*;

const NEW_FORMATS: [&str; 4] = ["gitlab", "junit", "jsonl", "csv"];

fn tree_with_two_secrets() -> TempTree {
    let t = TempTree::new();
    t.file("app.env", format!("# app\nAZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    t.file("conf/my conf.yaml", format!("CLIENT_SECRET: \"{SECRET_7Q}\"\n"));
    t.file("README.md", "no secrets\n");
    t
}

fn repo_with_a_secret() -> TempRepo {
    let r = TempRepo::new();
    let first = r.snapshot(Some("refs/heads/main"), &[], &[("README.md", "hello\n")], "first");
    r.snapshot(
        Some("refs/heads/main"),
        &[first],
        &[
            ("README.md", "hello\n"),
            ("deploy/app.env", &format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n")),
        ],
        "add the deploy config",
    );
    r
}

fn gitlab_schema() -> jsonschema::Validator {
    let text = include_str!("../data/gitlab-secret-detection-report-format-15.0.7.json");
    let schema: Value = serde_json::from_str(text).expect("schema is JSON");
    jsonschema::validator_for(&schema).expect("schema compiles")
}

fn assert_valid_gitlab(doc: &Value) {
    let validator = gitlab_schema();
    let errors: Vec<String> =
        validator.iter_errors(doc).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "invalid GitLab report: {errors:#?}\n{doc:#}");
}

// ---- gitlab ----

#[test]
fn gitlab_report_of_a_file_scan_is_valid_against_gitlabs_schema() {
    let t = tree_with_two_secrets();
    let (code, out, err) = run(isolated_azleak(t.path()).args(["scan", ".", "-f", "gitlab"]));
    assert_eq!(code, 1, "{err}");
    let doc = json(&out);
    assert_valid_gitlab(&doc);
    assert_eq!(doc["version"], "15.0.7");
    assert_eq!(doc["scan"]["type"], "secret_detection");
    let vulns = doc["vulnerabilities"].as_array().unwrap();
    assert_eq!(vulns.len(), 2);
    let v = &vulns[0];
    assert_eq!(v["location"]["file"], "app.env");
    assert_eq!(v["location"]["start_line"], 2);
    assert_eq!(v["location"]["commit"]["sha"], "0000000");
    assert_eq!(v["severity"], "Critical");
    assert_eq!(v["identifiers"][0]["value"], "azure.entra.client-secret");
    assert_eq!(v["raw_source_code_extract"], "zzz…");
    assert_eq!(vulns[1]["location"]["file"], "conf/my conf.yaml");
    assert_eq!(vulns[1]["severity"], "High");
    // Ids are unique and UUID-shaped.
    let id = regex::Regex::new("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
        .unwrap();
    assert!(vulns.iter().all(|v| id.is_match(v["id"].as_str().unwrap())), "{out}");
    assert_ne!(vulns[0]["id"], vulns[1]["id"]);
    // A schema that would accept anything proves nothing: a report without the commit fails.
    let mut broken = doc.clone();
    broken["vulnerabilities"][0]["location"].as_object_mut().unwrap().remove("commit");
    assert!(!gitlab_schema().is_valid(&broken), "the schema checks locations");
}

#[test]
fn gitlab_report_of_a_history_names_the_commit_and_author() {
    let r = repo_with_a_secret();
    let (code, out, err) = run(azleak(r.path()).args(["git", "-f", "gitlab"]));
    assert_eq!(code, 1, "{err}");
    let doc = json(&out);
    assert_valid_gitlab(&doc);
    let v = &doc["vulnerabilities"][0];
    let head = git_cli(r.path(), &["rev-parse", "HEAD"]);
    assert_eq!(v["location"]["file"], "deploy/app.env");
    assert_eq!(v["location"]["commit"]["sha"], head.trim());
    assert_eq!(v["location"]["commit"]["author"], format!("{} <{}>", ALICE.0, ALICE.1));
    assert_eq!(v["location"]["commit"]["message"], "add the deploy config");
    assert!(v["location"]["commit"]["date"].as_str().unwrap().starts_with("2023-11-14T"), "{v}");
}

#[test]
fn gitlab_report_of_a_clean_scan_is_valid_and_empty() {
    let t = TempTree::new();
    t.file("README.md", "nothing here\n");
    let (code, out, _) = run(isolated_azleak(t.path()).args(["scan", ".", "-f", "gitlab"]));
    assert_eq!(code, 0);
    let doc = json(&out);
    assert_valid_gitlab(&doc);
    assert_eq!(doc["vulnerabilities"], serde_json::json!([]));
    assert_eq!(doc["scan"]["status"], "success");
}

// ---- junit ----

/// (test cases, failures, errors) of a JUnit document, parsed with quick-xml (a parse error
/// fails the test).
fn junit_counts(xml: &str) -> (Vec<String>, usize, usize) {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let (mut cases, mut failures, mut errors) = (Vec::new(), 0, 0);
    loop {
        match reader.read_event().unwrap_or_else(|e| panic!("invalid XML: {e}\n{xml}")) {
            Event::Start(e) | Event::Empty(e) => match e.name().as_ref() {
                b"testcase" => {
                    let name = e
                        .try_get_attribute("name")
                        .unwrap()
                        .expect("a test case has a name")
                        .normalized_value(quick_xml::XmlVersion::Explicit1_0)
                        .unwrap()
                        .into_owned();
                    cases.push(name);
                }
                b"failure" => failures += 1,
                b"error" => errors += 1,
                _ => {}
            },
            Event::Text(t) => {
                t.decode().unwrap_or_else(|e| panic!("bad text: {e}"));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    (cases, failures, errors)
}

#[test]
fn junit_has_one_failing_test_case_per_finding() {
    let t = tree_with_two_secrets();
    let (code, out, err) = run(isolated_azleak(t.path()).args(["scan", ".", "-f", "junit"]));
    assert_eq!(code, 1, "{err}");
    let (cases, failures, errors) = junit_counts(&out);
    assert_eq!(
        cases,
        [
            "app.env:2:21 azure.entra.client-secret",
            "conf/my conf.yaml:1:17 azure.entra.client-secret.7q",
        ]
    );
    assert_eq!((failures, errors), (2, 0));
    assert!(out.contains(r#"tests="2" failures="2" errors="0""#), "{out}");
}

#[test]
fn junit_of_a_clean_scan_is_a_passing_suite() {
    let t = TempTree::new();
    t.file("README.md", "nothing here\n");
    let (code, out, _) = run(isolated_azleak(t.path()).args(["scan", ".", "-f", "junit"]));
    assert_eq!(code, 0);
    let (cases, failures, errors) = junit_counts(&out);
    assert_eq!(cases, ["no secrets found (1 files scanned)"]);
    assert_eq!((failures, errors), (0, 0));
}

#[test]
fn junit_of_a_history_names_the_commit_and_stays_valid_with_hostile_text() {
    let r = TempRepo::new();
    r.snapshot_by(
        ("Eve \"quote\" & co", "eve@example.com"),
        Some("refs/heads/main"),
        &[],
        &[("a<b>&c.env", &format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"))],
        "msg with \x1b[31m escape and ]]> end",
    );
    let (code, out, err) = run(azleak(r.path()).args(["git", "-f", "junit"]));
    assert_eq!(code, 1, "{err}");
    let (cases, failures, _) = junit_counts(&out);
    assert_eq!(cases, ["a<b>&c.env:1:21 azure.entra.client-secret"]);
    assert_eq!(failures, 1);
    assert!(out.contains("by Eve &quot;quote&quot; &amp; co &lt;eve@example.com&gt;"), "{out}");
    assert!(!out.contains('\x1b'), "{out}");
}

// ---- jsonl ----

#[test]
fn jsonl_lines_are_the_json_findings_in_scan_and_git_modes() {
    let t = tree_with_two_secrets();
    let r = repo_with_a_secret();
    for (dir, args) in [(t.path(), ["scan", "."]), (r.path(), ["git", "."])] {
        let (code, jsonl, err) = run(isolated_azleak(dir).args(args).args(["-f", "jsonl"]));
        assert_eq!(code, 1, "{err}");
        let (_, doc, _) = run(isolated_azleak(dir).args(args).args(["-f", "json"]));
        let findings = json(&doc)["findings"].as_array().unwrap().clone();
        let lines: Vec<Value> = jsonl.lines().map(json).collect();
        assert_eq!(lines, findings, "{jsonl}");
        assert!(!lines.is_empty());
        assert!(jsonl.ends_with('\n'));
    }
    let (_, out, _) = run(isolated_azleak(r.path()).args(["git", "-f", "jsonl"]));
    assert_eq!(json(out.lines().next().unwrap())["commit"]["author_name"], ALICE.0);
    // Nothing found, nothing written.
    let clean = TempTree::new();
    clean.file("a.txt", "x\n");
    let (code, out, _) = run(isolated_azleak(clean.path()).args(["scan", ".", "-f", "jsonl"]));
    assert_eq!((code, out.as_str()), (0, ""));
}

// ---- csv ----

fn csv_rows(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().expect("header").iter().map(str::to_string).collect();
    let rows = reader
        .records()
        .map(|r| r.expect("valid row").iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

#[test]
fn csv_has_a_header_and_one_row_per_finding() {
    let t = tree_with_two_secrets();
    t.file("=cmd.env", format!("AZURE_CLIENT_SECRET={SECRET_8Q_2}\n"));
    let (code, out, err) = run(isolated_azleak(t.path()).args(["scan", ".", "-f", "csv"]));
    assert_eq!(code, 1, "{err}");
    let (header, rows) = csv_rows(&out);
    let col = |name: &str| header.iter().position(|h| h == name).expect(name);
    assert_eq!(rows.len(), 3);
    // A path a spreadsheet would run as a formula is quoted.
    assert_eq!(rows[0][col("path")], "'=cmd.env");
    assert_eq!(rows[1][col("path")], "app.env");
    assert_eq!(rows[1][col("line")], "2");
    assert_eq!(rows[1][col("secret")], "zzz…");
    assert_eq!(rows[1][col("checksum")], "valid");
    assert_eq!(rows[2][col("path")], "conf/my conf.yaml");

    let r = repo_with_a_secret();
    let (_, out, _) = run(azleak(r.path()).args(["git", "-f", "csv"]));
    let (header, rows) = csv_rows(&out);
    let col = |name: &str| header.iter().position(|h| h == name).expect(name);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][col("commit")], git_cli(r.path(), &["rev-parse", "HEAD"]).trim());
    assert_eq!(rows[0][col("author")], format!("{} <{}>", ALICE.0, ALICE.1));
    assert_eq!(rows[0][col("commit_summary")], "add the deploy config");
}

// ---- every new format ----

#[test]
fn new_formats_print_no_secret_unless_asked_in_scan_and_git_modes() {
    let t = TempTree::new();
    t.file(&format!("conf/{SECRET_8Q}/app.env"), format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    let r = TempRepo::new();
    r.snapshot_by(
        (&format!("Mallory {SECRET_8Q}"), &format!("{SECRET_8Q}@example.com")),
        Some("refs/heads/main"),
        &[],
        &[("app.env", &format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"))],
        &format!("add {SECRET_8Q}\n"),
    );
    for format in NEW_FORMATS {
        for (dir, args) in [(t.path(), ["scan", "."]), (r.path(), ["git", "."])] {
            let (code, out, err) = run(isolated_azleak(dir).args(args).args(["-f", format]));
            assert_eq!(code, 1, "{format} {args:?}: {err}");
            for stream in [&out, &err] {
                assert!(!stream.contains(&SECRET_8Q[3..]), "{format} {args:?} leaks:\n{stream}");
            }
            assert!(out.contains("zzz…"), "{format} {args:?}: the hint stands in:\n{out}");
            let (_, shown, _) =
                run(isolated_azleak(dir).args(args).args(["-f", format, "--show-secrets"]));
            assert!(shown.contains(SECRET_8Q), "{format} {args:?} --show-secrets:\n{shown}");
        }
    }
}

#[test]
fn new_formats_are_deterministic() {
    let t = tree_with_two_secrets();
    let r = repo_with_a_secret();
    let scrub = |format: &str, out: String| -> String {
        if format == "gitlab" {
            let mut doc = json(&out);
            doc["scan"]["start_time"] = Value::Null;
            doc["scan"]["end_time"] = Value::Null;
            doc.to_string()
        } else {
            out
        }
    };
    for format in NEW_FORMATS {
        for (dir, args) in [(t.path(), ["scan", "."]), (r.path(), ["git", "."])] {
            let a = run(isolated_azleak(dir).args(args).args(["-f", format, "-j", "1"])).1;
            let b = run(isolated_azleak(dir).args(args).args(["-f", format, "-j", "4"])).1;
            assert_eq!(scrub(format, a), scrub(format, b), "{format} {args:?}");
        }
    }
}

#[test]
fn pairing_verification_and_owners_reach_every_new_format() {
    use azleak::finding::{
        ChecksumStatus, Finding, Owner, Pairing, Part, Secret, Verification, VerificationStatus,
    };
    use azleak::report::{Format, Redacted, Redactor, Report, ReportOptions};
    let finding = Finding {
        rule_id: "azure.entra.client-secret".into(),
        confidence: azleak::Confidence::High,
        path: "app.env".into(),
        member: None,
        part: Part::Content,
        line: 3,
        column: 21,
        end_column: 61,
        secret: Secret::new(SECRET_8Q),
        entropy: 1.0,
        checksum: ChecksumStatus::Valid,
        encoding: None,
        fingerprint: "0123456789abcdef0123456789abcdef".into(),
        line_hash: String::new(),
        commit: None,
        copies: None,
        allowed_inline: false,
        repository: None,
        expires: None,
        pairing: Some(Pairing {
            tenant_ids: vec!["72f988bf-86f1-41af-91ab-2d7cd011db47".into()],
            client_ids: vec!["11111111-2222-3333-4444-555555555555".into()],
            authority: Some("https://login.microsoftonline.com".into()),
            resource: None,
            endpoint: None,
        }),
        verification: Some(Verification {
            status: VerificationStatus::Invalid,
            detail: "AADSTS7000215: invalid client secret".into(),
            checked_at: "2026-01-02T03:04:05Z".into(),
        }),
        owners: Some(vec![Owner {
            app_name: "Payroll API".into(),
            app_id: "11111111-2222-3333-4444-555555555555".into(),
            credential_name: "ci-deploy".into(),
            key_id: "9f8e7d6c-0000-0000-0000-000000000001".into(),
            start: None,
            end: Some("2027-01-01".into()),
            expired: false,
            app_id_match: true,
        }]),
    };
    let redactor = Redactor::new([&finding.secret]);
    let output = Redacted::new(vec![finding], azleak::scan::Summary::default(), redactor);
    let rules = azleak::RuleSet::builtin().unwrap();
    let options = ReportOptions::default();
    let report = Report::new(&output, &rules, &options);
    for format in [Format::Gitlab, Format::Junit, Format::Jsonl, Format::Csv, Format::Json] {
        let mut out = Vec::new();
        format.reporter().report(&mut out, &report).unwrap();
        let out = String::from_utf8(out).unwrap();
        for expected in [
            "72f988bf-86f1-41af-91ab-2d7cd011db47",
            "https://login.microsoftonline.com",
            "AADSTS7000215: invalid client secret",
            "Payroll API",
            "9f8e7d6c-0000-0000-0000-000000000001",
        ] {
            assert!(out.contains(expected), "{format:?} lacks {expected}:\n{out}");
        }
        assert!(!out.contains(&SECRET_8Q[3..]), "{format:?}:\n{out}");
        if format == Format::Gitlab {
            assert_valid_gitlab(&json(&out));
        }
        if format == Format::Jsonl {
            let line = json(out.trim_end());
            assert_eq!(line["verification"]["status"], "invalid");
            assert_eq!(line["owners"][0]["app_id_match"], true);
            assert_eq!(line["pairing"]["client_ids"][0], "11111111-2222-3333-4444-555555555555");
        }
    }
}

// ---- -o ----

#[test]
fn output_dash_is_standard_output() {
    let t = tree_with_two_secrets();
    let (code, out, err) =
        run(isolated_azleak(t.path()).args(["scan", ".", "-f", "jsonl", "-o", "-"]));
    assert_eq!(code, 1, "{err}");
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(!t.path().join("-").exists(), "no file named '-'");
    assert_eq!(err, "");
}

#[test]
fn output_file_says_where_the_findings_went_unless_quiet() {
    let t = tree_with_two_secrets();
    let (code, out, err) =
        run(isolated_azleak(t.path()).args(["scan", ".", "-f", "sarif", "-o", "out.sarif"]));
    assert_eq!((code, out.as_str()), (1, ""));
    let err = text_without_elapsed(&err);
    assert!(err.starts_with("azleak: 3 files scanned ("), "{err}");
    assert!(err.contains(", 2 findings, 0 errors, <elapsed>\n"), "{err}");
    assert!(err.ends_with("azleak: 2 findings written to out.sarif\n"), "{err}");
    assert!(t.path().join("out.sarif").is_file());
    let (_, _, err) =
        run(isolated_azleak(t.path()).args(["scan", ".", "-f", "sarif", "-o", "out.sarif", "-q"]));
    assert_eq!(err, "");
}

// ---- github paths ----

#[test]
fn github_paths_are_relative_to_the_repository_root_from_a_subdirectory() {
    let r = TempRepo::new();
    r.write("services/api/app.env", &format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    let sub = r.path().join("services");
    let (code, out, err) = run(isolated_azleak(&sub).args(["scan", "api", "-f", "github"]));
    assert_eq!(code, 1, "{err}");
    assert!(out.starts_with("::error file=services/api/app.env,line=1,"), "{out}");
}

#[test]
fn github_paths_are_relative_to_github_workspace_when_set() {
    let ws = TempTree::new();
    // The repository is checked out in a subdirectory of the workspace (`path:` of checkout).
    let repo = ws.path().join("src-repo");
    git_cli(ws.path(), &["init", "-q", "src-repo"]);
    std::fs::create_dir_all(repo.join("conf")).unwrap();
    std::fs::write(repo.join("conf/app.env"), format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"))
        .unwrap();
    let (code, out, err) = run(isolated_azleak(&repo.join("conf"))
        .args(["scan", ".", "-f", "github"])
        .env("GITHUB_WORKSPACE", ws.path()));
    assert_eq!(code, 1, "{err}");
    assert!(out.starts_with("::error file=src-repo/conf/app.env,line=1,"), "{out}");
    // Outside any repository, the workspace alone decides.
    let (_, out, _) = run(isolated_azleak(&ws.path().join("src-repo/conf"))
        .args(["scan", "app.env", "-f", "github"])
        .env("GITHUB_WORKSPACE", ws.path()));
    assert!(out.starts_with("::error file=src-repo/conf/app.env,"), "{out}");
}

// ---- colour ----

#[test]
fn color_always_wins_over_no_color_and_a_dumb_terminal() {
    let t = tree_with_two_secrets();
    let (_, out, _) = run(isolated_azleak(t.path())
        .args(["scan", ".", "--color", "always"])
        .env("NO_COLOR", "1")
        .env("TERM", "dumb"));
    assert!(out.contains('\x1b'), "{out:?}");
}

// ---- completions and man page ----

#[test]
fn bash_completion_is_sourced_by_bash_and_completes_subcommands() {
    let t = TempTree::new();
    let (code, script, err) = run(azleak(t.path()).args(["completions", "bash"]));
    assert_eq!(code, 0, "{err}");
    let path = t.file("azleak.bash", &script);
    let Ok(bash) = which("bash") else { return };
    let check = format!(
        "source {} && complete -p azleak && COMP_WORDS=(azleak g) COMP_CWORD=1 COMP_LINE='azleak g' \
         COMP_POINT=8 && _azleak azleak g azleak && printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        path.display()
    );
    let out = std::process::Command::new(bash).arg("-c").arg(&check).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("-F _azleak azleak"), "{stdout}");
    assert!(stdout.lines().any(|l| l == "git"), "completes 'g' to git:\n{stdout}");
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let (code, script, _) = run(azleak(t.path()).args(["completions", shell]));
        assert_eq!(code, 0, "{shell}");
        assert!(script.contains("azleak") && script.contains("min-confidence"), "{shell}");
    }
}

fn which(name: &str) -> Result<std::path::PathBuf, ()> {
    std::env::var_os("PATH")
        .and_then(|p| std::env::split_paths(&p).map(|d| d.join(name)).find(|p| p.is_file()))
        .ok_or(())
}

#[test]
fn man_page_renders_and_documents_the_subcommands() {
    let t = TempTree::new();
    let (code, page, err) = run(azleak(t.path()).arg("man"));
    assert_eq!(code, 0, "{err}");
    assert!(page.starts_with(".ie \\n(.g .ds Aq \\(aq") || page.contains(".TH azleak"), "{page}");
    assert!(page.contains(".TH azleak 1"), "{page}");
    let Ok(groff) = which("groff") else { return };
    let path = t.file("azleak.1", &page);
    let out = std::process::Command::new(groff)
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .arg(&path)
        .output()
        .unwrap();
    let warnings = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && warnings.is_empty(), "groff: {warnings}");
    let out = std::process::Command::new(which("groff").unwrap())
        .args(["-man", "-Tascii", "-P-bcou"])
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for expected in ["NAME", "SYNOPSIS", "SUBCOMMANDS", "azleak-scan", "azleak-git", "completions"]
    {
        assert!(text.contains(expected), "rendered page lacks {expected}:\n{text}");
    }
}
