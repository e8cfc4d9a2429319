//! The shell lines of the CI snippets, run for real: every `azleak scan` / `azleak git` line of
//! the README's marked YAML snippets (`# azleak-snippet: KIND`, the blocks `.ci/run` lints) and
//! the scan steps of `action.yml`, executed by bash in a temporary clone with a pull-request
//! branch that adds a secret, with the CI variables they use set as the CI would set them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use regex::Regex;
use yaml_rust2::{Yaml, YamlLoader};

use crate::util::{SECRET_8Q, azleak_bin, git_cli, json};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The marked YAML snippets of a Markdown text: (kind, first line number, YAML).
fn marked_snippets(markdown: &str) -> Vec<(String, usize, String)> {
    let marker = Regex::new(r"^#\s*azleak-snippet:\s*([a-z0-9-]+)\s*$").unwrap();
    let mut out = Vec::new();
    let mut open: Option<(String, usize, Vec<&str>)> = None;
    for (n, line) in markdown.lines().enumerate() {
        let fence = line.trim_start().starts_with("```");
        match (&mut open, fence) {
            (None, true) => {
                open = Some((line.trim_start()[3..].trim().to_string(), n + 1, Vec::new()))
            }
            (Some(_), true) => {
                let (info, start, body) = open.take().unwrap();
                if info == "yaml" || info == "yml" {
                    let kind = body.first().and_then(|l| marker.captures(l));
                    let kind = kind
                        .unwrap_or_else(|| panic!("README.md:{start}: YAML block without marker"));
                    out.push((kind[1].to_string(), start, body.join("\n")));
                }
            }
            (Some((_, _, body)), false) => body.push(line),
            (None, false) => {}
        }
    }
    out
}

/// The shell commands a snippet runs: `run:` of GitHub steps, `script:` / `before_script:` of
/// GitLab jobs, `script:` of Azure Pipelines steps.
fn shell_lines(kind: &str, yaml: &str) -> Vec<String> {
    let doc = &YamlLoader::load_from_str(yaml).expect("snippet parses")[0];
    let mut out = Vec::new();
    let mut from_steps = |steps: &Yaml, key: &str| {
        for step in steps.as_vec().into_iter().flatten() {
            if let Some(s) = step[key].as_str() {
                out.push(s.to_string());
            }
        }
    };
    match kind {
        "github-workflow" => {
            for (_, job) in doc["jobs"].as_hash().into_iter().flatten() {
                from_steps(&job["steps"], "run");
            }
        }
        "github-steps" => from_steps(doc, "run"),
        "azure-pipelines" => from_steps(&doc["steps"], "script"),
        "gitlab-ci" => {
            for (_, job) in doc.as_hash().into_iter().flatten() {
                for key in ["before_script", "script"] {
                    for line in job[key].as_vec().into_iter().flatten() {
                        out.extend(line.as_str().map(str::to_string));
                    }
                }
            }
        }
        "pre-commit-config" => {}
        other => panic!("unknown snippet kind {other}"),
    }
    out
}

/// A clone (with `origin`) whose `main` is clean and has an empty baseline, checked out on
/// `feature`, whose one commit adds a secret. Returns (dir, main's commit id).
fn pull_request_clone() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let origin = dir.path().join("origin");
    std::fs::create_dir(&origin).unwrap();
    git_cli(&origin, &["init", "-q"]);
    std::fs::write(origin.join("README"), "hello\n").unwrap();
    let baseline = Command::new(azleak_bin())
        .current_dir(&origin)
        .args(["scan", "--write-baseline", "azleak-baseline.json", "."])
        .output()
        .unwrap();
    assert!(baseline.status.success(), "{}", String::from_utf8_lossy(&baseline.stderr));
    git_cli(&origin, &["add", "-A"]);
    git_cli(&origin, &["commit", "-q", "-m", "start"]);
    let main = git_cli(&origin, &["rev-parse", "HEAD"]);
    let work = dir.path().join("work");
    git_cli(dir.path(), &["clone", "-q", "origin", "work"]);
    git_cli(&work, &["checkout", "-q", "-b", "feature"]);
    std::fs::write(work.join("app.env"), format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n")).unwrap();
    git_cli(&work, &["add", "app.env"]);
    git_cli(&work, &["commit", "-q", "-m", "add config"]);
    (dir, main)
}

/// `bash -c script` in `dir` with azleak first on PATH and `env` set: (code, stdout + stderr).
fn bash(dir: &Path, script: &str, env: &BTreeMap<String, String>) -> (i32, String) {
    let bin_dir = azleak_bin().parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let out = Command::new("bash")
        .current_dir(dir)
        .args(["-c", script])
        .env("PATH", path)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .envs(env)
        .output()
        .unwrap();
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

/// Replaces `${{ expr }}` by `values[expr]`; an expression without a value fails the test.
fn expand_expressions(text: &str, values: &BTreeMap<&str, String>, source: &str) -> String {
    let re = Regex::new(r"\$\{\{\s*(.*?)\s*\}\}").unwrap();
    re.replace_all(text, |c: &regex::Captures<'_>| {
        values
            .get(&c[1])
            .unwrap_or_else(|| panic!("{source}: no test value for ${{{{ {} }}}}", &c[1]))
            .clone()
    })
    .into_owned()
}

/// Files an azleak command line writes with `--output FILE` / `-o FILE`.
fn outputs(line: &str) -> Vec<String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    words
        .windows(2)
        .filter(|w| w[0] == "--output" || w[0] == "-o")
        .map(|w| w[1].trim_matches('"').to_string())
        .collect()
}

#[test]
fn readme_snippet_shell_lines_run_against_a_pull_request() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let (dir, main) = pull_request_clone();
    let work = dir.path().join("work");
    let staging = dir.path().join("staging");
    std::fs::create_dir(&staging).unwrap();
    let values: BTreeMap<&str, String> = [
        ("github.base_ref", "main".to_string()),
        ("github.event.pull_request.base.sha", main.clone()),
    ]
    .into();
    // Azure Pipelines macros, and the variables GitLab sets on a merge request pipeline.
    let macros: [(&str, String); 2] = [
        ("$(System.PullRequest.TargetBranchName)", "main".into()),
        ("$(Build.ArtifactStagingDirectory)", staging.display().to_string()),
    ];
    let env: BTreeMap<String, String> =
        [("CI_MERGE_REQUEST_TARGET_BRANCH_NAME".to_string(), "main".to_string())].into();
    let scan = Regex::new(r"\bazleak (scan|git)\b").unwrap();
    let unknown_macro = Regex::new(r"\$\([A-Za-z]+\.").unwrap();
    let mut ran: BTreeMap<String, usize> = BTreeMap::new();
    let snippets = marked_snippets(&readme);
    assert!(snippets.len() >= 6, "marked snippets: {}", snippets.len());
    for (kind, start, yaml) in &snippets {
        for line in shell_lines(kind, yaml) {
            if !scan.is_match(&line) || line.contains("cargo install") {
                continue;
            }
            let source = format!("README.md:{start} ({kind}): {line}");
            let mut script = expand_expressions(&line, &values, &source);
            for (m, v) in &macros {
                script = script.replace(m, v);
            }
            assert!(!unknown_macro.is_match(&script), "{source}: unknown macro");
            let script = script.replace("~/.azleak/bin/azleak", "azleak");
            let (code, out) = bash(&work, &script, &env);
            assert!(!out.contains(SECRET_8Q), "{source}: printed the secret");
            let expected = if line.contains("|| [ $? -eq 1 ]") { 0 } else { 1 };
            assert_eq!(
                code, expected,
                "{source}: exit {code}, expected {expected} (the PR adds a secret)\n{out}"
            );
            for file in outputs(&script) {
                let path = work.join(&file);
                let text = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("{source}: {file} not written: {e}"));
                let doc = json(&text);
                // SARIF, azleak JSON, or GitLab's report.
                let found = doc["runs"][0]["results"]
                    .as_array()
                    .or(doc["findings"].as_array())
                    .or(doc["vulnerabilities"].as_array());
                assert_eq!(found.map(Vec::len), Some(1), "{source}: {file} has the finding");
                std::fs::remove_file(path).unwrap();
            }
            *ran.entry(kind.clone()).or_insert(0) += 1;
        }
    }
    for kind in ["github-workflow", "github-steps", "gitlab-ci", "azure-pipelines"] {
        assert!(ran.get(kind).copied().unwrap_or(0) >= 1, "no {kind} line ran: {ran:?}");
    }
}

/// Runs the `run:` steps of action.yml (in order, skipping the build: azleak is on PATH) as the
/// runner would: `env:` with `${{ inputs.* }}`, `${{ steps.*.outputs.* }}` and the event's
/// values expanded, `GITHUB_OUTPUT` read after each step. Returns (last step's code, log, outputs).
fn run_action(
    work: &Path,
    inputs: &[(&str, &str)],
    base_sha: &str,
) -> (i32, String, BTreeMap<String, String>) {
    let text = std::fs::read_to_string(repo_root().join("action.yml")).unwrap();
    let doc = &YamlLoader::load_from_str(&text).unwrap()[0];
    let mut values: BTreeMap<String, String> = BTreeMap::new();
    for (name, input) in doc["inputs"].as_hash().unwrap() {
        let name = name.as_str().unwrap();
        values.insert(format!("inputs.{name}"), input["default"].as_str().unwrap_or("").into());
    }
    for (k, v) in inputs {
        assert!(values.contains_key(&format!("inputs.{k}")), "action.yml has no input {k}");
        values.insert(format!("inputs.{k}"), v.to_string());
    }
    // The one `if:` of the steps run here.
    let upload = values["inputs.upload-sarif"] == "true";
    values.insert("inputs.upload-sarif == 'true'".into(), upload.to_string());
    values.insert("github.event.pull_request.base.sha".into(), base_sha.into());
    values.insert("github.action_path".into(), repo_root().display().to_string());
    let output_file = work.join("github-output");
    let mut log = String::new();
    let mut last = 0;
    for step in doc["runs"]["steps"].as_vec().unwrap() {
        let (Some(id), Some(run)) = (step["id"].as_str(), step["run"].as_str()) else { continue };
        if ["key"].contains(&id) {
            continue;
        }
        let source = format!("action.yml step {id}");
        let borrowed: BTreeMap<&str, String> =
            values.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        if let Some(cond) = step["if"].as_str() {
            let cond = expand_expressions(&format!("${{{{ {cond} }}}}"), &borrowed, &source);
            if cond == "false" {
                continue;
            }
        }
        let mut env: BTreeMap<String, String> = BTreeMap::new();
        for (k, v) in step["env"].as_hash().into_iter().flatten() {
            let v = expand_expressions(v.as_str().unwrap(), &borrowed, &source);
            env.insert(k.as_str().unwrap().to_string(), v);
        }
        env.insert("GITHUB_OUTPUT".into(), output_file.display().to_string());
        env.insert("GITHUB_ACTION_PATH".into(), repo_root().display().to_string());
        std::fs::write(&output_file, "").unwrap();
        let (code, out) = bash(work, run, &env);
        log.push_str(&out);
        for line in std::fs::read_to_string(&output_file).unwrap().lines() {
            let (k, v) = line.split_once('=').expect("name=value");
            values.insert(format!("steps.{id}.outputs.{k}"), v.to_string());
        }
        last = code;
        if code != 0 {
            break;
        }
    }
    let outputs = values.into_iter().filter(|(k, _)| k.starts_with("steps.")).collect();
    (last, log, outputs)
}

#[test]
fn action_scans_the_pull_request_range_and_annotates() {
    let (dir, main) = pull_request_clone();
    let work = dir.path().join("work");
    let (code, log, outputs) = run_action(&work, &[], &main);
    assert_eq!(code, 1, "{log}");
    assert_eq!(outputs["steps.what.outputs.mode"], "range");
    assert_eq!(outputs["steps.what.outputs.range"], format!("{main}..HEAD"));
    assert_eq!(outputs["steps.scan.outputs.exit-code"], "1");
    assert!(log.contains("::error file=app.env,line=1"), "{log}");
    assert!(!log.contains(SECRET_8Q));
}

#[test]
fn action_scans_the_tree_writes_sarif_and_can_tolerate_findings() {
    let (dir, _) = pull_request_clone();
    let work = dir.path().join("work");
    let inputs = [
        ("upload-sarif", "true"),
        ("fail-on-findings", "false"),
        ("sarif-category", "azleak/tree/"),
    ];
    let (code, log, outputs) = run_action(&work, &inputs, "");
    assert_eq!(code, 0, "{log}");
    assert_eq!(outputs["steps.what.outputs.mode"], "tree");
    assert_eq!(outputs["steps.scan.outputs.exit-code"], "1");
    assert_eq!(outputs["steps.sarif.outputs.file"], "azleak.sarif");
    let sarif = json(&std::fs::read_to_string(work.join("azleak.sarif")).unwrap());
    assert_eq!(sarif["runs"][0]["automationDetails"]["id"], "azleak/tree/");
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), 1);
}

#[test]
fn action_reports_only_new_findings_against_a_baseline_and_refuses_bad_input() {
    let (dir, main) = pull_request_clone();
    let work = dir.path().join("work");
    let accepted = Command::new(azleak_bin())
        .current_dir(&work)
        .args(["scan", "--write-baseline", "accepted.json", "."])
        .output()
        .unwrap();
    assert!(accepted.status.success());
    let (code, log, _) = run_action(&work, &[("baseline", "accepted.json")], &main);
    assert_eq!(code, 0, "{log}");
    let (code, log, _) = run_action(&work, &[("scan", "everything")], &main);
    assert_eq!(code, 2, "{log}");
    assert!(log.contains("unknown scan input: everything"), "{log}");
}
