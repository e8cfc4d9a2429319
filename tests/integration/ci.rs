//! CI integration: the GitHub workflow-command format, SARIF for code scanning (category, rule
//! ids, columns, relative URIs, partial fingerprints), and the snippets of README.md and
//! `.pre-commit-hooks.yaml`: every YAML block parses, and every `azleak` flag they use exists.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

use crate::util::{SECRET_8Q, SECRET_LEGACY, TempTree, azleak, json, run};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn github_format_annotates_without_the_secret() {
    let t = TempTree::new();
    t.file("conf/app.env", format!("# x\nAZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    t.file("b.env", format!("AZURE_CLIENT_SECRET=\"{SECRET_LEGACY}\"\n"));
    let (code, out, _) = run(azleak(t.path()).args(["scan", "--format", "github", "."]));
    assert_eq!(code, 1);
    assert!(!out.contains(SECRET_8Q) && !out.contains(SECRET_LEGACY), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].starts_with("::error file=b.env,line=1,endLine=1,col=22,"), "{out}");
    assert!(
        lines[1].starts_with(
            "::error file=conf/app.env,line=2,endLine=2,col=21,endColumn=61,title=azleak azure.entra.client-secret::"
        ),
        "{out}"
    );
    assert!(lines[1].contains("hint zzz…"), "{out}");
    assert!(lines[2].starts_with("::notice title=azleak::2 findings"), "{out}");
}

#[test]
fn github_format_respects_inline_allow_and_baseline() {
    let t = TempTree::new();
    t.file("a.env", format!("AZURE_CLIENT_SECRET={SECRET_8Q} # azleak:allow\n"));
    let (code, out, _) = run(azleak(t.path()).args(["scan", "--format", "github", "."]));
    assert_eq!(code, 0);
    assert!(out.starts_with("::notice title=azleak::0 findings"), "{out}");
}

#[test]
fn sarif_has_category_and_passes_code_scanning_rules() {
    let t = TempTree::new();
    t.file("dir with space/app.env", format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    t.file("b.env", format!("AZURE_CLIENT_SECRET=\"{SECRET_LEGACY}\"\n"));
    let (code, out, _) = run(azleak(t.path()).args([
        "scan",
        "--format",
        "sarif",
        "--sarif-category",
        "azleak/tree/",
        ".",
    ]));
    assert_eq!(code, 1);
    assert!(!out.contains(SECRET_8Q) && !out.contains(SECRET_LEGACY));
    let doc = json(&out);
    let run = &doc["runs"][0];
    assert_eq!(run["automationDetails"]["id"], "azleak/tree/");
    let ids: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "rule ids must be unique: {ids:?}");
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    for r in results {
        let loc = &r["locations"][0]["physicalLocation"];
        let uri = loc["artifactLocation"]["uri"].as_str().unwrap();
        assert!(!uri.starts_with('/') && !uri.contains("://") && !uri.contains(' '), "{uri}");
        assert_eq!(loc["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        assert!(loc["region"]["startColumn"].as_i64().unwrap() >= 1);
        assert!(
            loc["region"]["endColumn"].as_i64().unwrap()
                > loc["region"]["startColumn"].as_i64().unwrap()
        );
        assert!(loc["region"]["startLine"].as_i64().unwrap() >= 1);
        let fp = r["partialFingerprints"].as_object().unwrap();
        assert!(fp.contains_key("primaryLocationLineHash") && fp.contains_key("azleak/v2"));
        assert!(unique.contains(r["ruleId"].as_str().unwrap()));
    }
    let uris: Vec<&str> = results
        .iter()
        .map(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str().unwrap())
        .collect();
    assert_eq!(uris, ["b.env", "dir%20with%20space/app.env"]);
}

#[test]
fn sarif_fingerprints_match_the_baseline() {
    let t = TempTree::new();
    t.file("app.env", format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    let (_, out, _) = run(azleak(t.path()).args(["scan", "--format", "sarif", "."]));
    let sarif_fp = json(&out)["runs"][0]["results"][0]["partialFingerprints"]["azleak/v2"].clone();
    run(azleak(t.path()).args(["scan", "--write-baseline", "b.json", "."]));
    let baseline = json(&std::fs::read_to_string(t.path().join("b.json")).unwrap());
    assert_eq!(baseline["entries"][0]["fingerprint"], sarif_fp);
}

/// The fenced code blocks of a Markdown file: (info string, text).
fn code_blocks(markdown: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_start().strip_prefix("```")) {
            (None, Some(info)) => current = Some((info.trim().to_string(), String::new())),
            (Some(_), Some(_)) => blocks.extend(current.take()),
            (Some((_, text)), None) => {
                text.push_str(line);
                text.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(current.is_none(), "unclosed code block");
    blocks
}

/// Every `azleak <subcommand> --flag ...` in a text: (subcommand, flags).
fn invocations(text: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        for (i, w) in words.iter().enumerate() {
            let w = w.trim_start_matches(['"', '\'']);
            if w != "azleak" {
                continue;
            }
            let Some(sub) = words.get(i + 1) else { continue };
            if !["scan", "git", "rules", "init"].contains(sub) {
                continue;
            }
            // A single-quoted command (`'azleak git --staged'`) ends at its closing quote.
            let end = words[i + 1..]
                .iter()
                .position(|w| w.ends_with('\''))
                .map_or(words.len(), |p| i + 1 + p + 1);
            let flags = words[i + 2..end.max(i + 2)]
                .iter()
                .take_while(|w| {
                    !["||", "&&", "|", ";"].contains(w)
                        && w.trim_start_matches(['"', '\'']) != "azleak"
                })
                .filter(|w| w.starts_with("--"))
                .map(|w| w.split('=').next().unwrap().trim_end_matches(['"', '\'']).to_string())
                .collect();
            out.push((sub.to_string(), flags));
        }
    }
    out
}

/// Checks that each flag is in `azleak <sub> --help`. Returns false if the subcommand does not
/// exist yet (only allowed for `git`, which is built on another branch).
fn check_flags(sub: &str, flags: &[String], source: &str) -> bool {
    let t = TempTree::new();
    let (code, help, err) = run(azleak(t.path()).args([sub, "--help"]));
    if code != 0 {
        assert_eq!(sub, "git", "{source}: `azleak {sub} --help` failed: {err}");
        return false;
    }
    for flag in flags {
        let listed =
            help.lines().any(|l| l.split([' ', ',', '=', '<', '[']).any(|word| word == flag));
        assert!(listed, "{source}: `azleak {sub}` has no flag {flag}:\n{help}");
    }
    true
}

fn check_yaml(path: &Path) -> usize {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut checked = 0;
    let mut skipped_git = false;
    for (index, (info, block)) in code_blocks(&text).into_iter().enumerate() {
        let source = format!("{} block {index} ({info})", path.display());
        if info == "yaml" || info == "yml" {
            let docs = YamlLoader::load_from_str(&block)
                .unwrap_or_else(|e| panic!("{source}: invalid YAML: {e}\n{block}"));
            assert!(!docs.is_empty() && !docs[0].is_null(), "{source}: empty YAML");
            checked += 1;
        }
        for (sub, flags) in invocations(&block) {
            if !check_flags(&sub, &flags, &source) {
                skipped_git = true;
            }
        }
    }
    if skipped_git {
        #[allow(clippy::print_stderr)]
        {
            eprintln!(
                "note: `azleak git` is not in this build; its flags in {} were not checked",
                path.display()
            );
        }
    }
    checked
}

#[test]
fn ci_docs_yaml_parses_and_uses_existing_flags() {
    let checked = check_yaml(&repo().join("README.md"));
    // GitHub steps (pull requests), pre-commit (2), GitHub Actions (2), GitLab CI, Azure
    // Pipelines (2). Each is linted by its kind in .ci/run (scripts/check-snippets.sh).
    assert_eq!(checked, 8);
    let text = std::fs::read_to_string(repo().join("README.md")).unwrap();
    for heading in [
        "### pre-commit framework",
        "### Plain git hook",
        "### GitHub Actions",
        "### GitLab CI",
        "### Azure Pipelines",
    ] {
        assert!(text.contains(heading), "README.md lacks {heading}");
    }
    assert!(text.contains("github/codeql-action/upload-sarif@v4"));
    assert!(text.contains("AdvancedSecurity-Publish@1"));
    for gone in ["github.com/azleak/azleak", "rev: v0.1.0", "upload-sarif@v3", "prebuilt binary"] {
        assert!(!text.contains(gone), "README.md still points at {gone}");
    }
    assert!(text.contains("azleak git --range \"origin/${{ github.base_ref }}..HEAD\""));
}

#[test]
fn pre_commit_hooks_file_is_valid() {
    let text = std::fs::read_to_string(repo().join(".pre-commit-hooks.yaml")).expect("exists");
    let docs = YamlLoader::load_from_str(&text).expect("valid YAML");
    let hooks = docs[0].as_vec().expect("a list of hooks");
    assert!(!hooks.is_empty());
    for hook in hooks {
        for key in ["id", "name", "entry", "language"] {
            assert!(hook[key].as_str().is_some(), "hook lacks {key}: {hook:?}");
        }
        let entry = hook["entry"].as_str().unwrap();
        let found = invocations(entry);
        assert!(!found.is_empty(), "entry runs azleak: {entry}");
        for (sub, flags) in &found {
            check_flags(sub, flags, ".pre-commit-hooks.yaml");
        }
        assert!(matches!(hook["language"], Yaml::String(ref l) if l == "rust" || l == "system"));
    }
}

#[test]
fn markdown_blocks_and_invocations_are_found() {
    let md = "a\n```yaml\nx: 1\n```\n```sh\nazleak scan . --format github --baseline=b.json || true\n```\n";
    let blocks = code_blocks(md);
    assert_eq!(blocks.len(), 2);
    assert_eq!(
        invocations(&blocks[1].1),
        [("scan".to_string(), vec!["--format".to_string(), "--baseline".to_string()])]
    );
}

#[test]
fn azleak_reports_nothing_on_its_own_repository() {
    // The project eats its own cooking: its azleak.toml allowlists the rule examples and the
    // tests by path, and single lines elsewhere carry `azleak:allow`.
    let (code, out, err) =
        run(azleak(&repo()).args(["scan", "--color", "never", "--format", "json", "."]));
    assert_eq!(code, 0, "{out}\n{err}");
    let doc = json(&out);
    assert_eq!(doc["findings"].as_array().unwrap().len(), 0);
    assert!(doc["summary"]["allowlisted"].as_u64().unwrap() > 0);
    let config = std::fs::read_to_string(repo().join("azleak.toml")).expect("azleak.toml");
    assert!(!config.contains("disable-rules"), "allowlist by path, do not disable rules");
}
