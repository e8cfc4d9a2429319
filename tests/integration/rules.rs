//! Every built-in rule finds each of its examples and none of its negative examples, and broken
//! rule files are rejected with the file and rule named.

use crate::util::{TempTree, azleak, run};
use azleak::RuleSet;

/// A user rule file with a `team.token` rule: the common fields, then `rest` (pattern and
/// whatever the test is about).
fn team_rule(rest: &str) -> String {
    format!(
        "[[rules]]\nid = \"team.token\"\nname = \"Team token\"\ndescription = \"A token\"\n\
         keywords = [\"tok_\"]\nconfidence = \"medium\"\nremediation = \"rotate\"\n{rest}"
    )
}

#[test]
fn builtin_rules_pass_their_own_examples() {
    let rules = RuleSet::builtin().expect("built-in rules load");
    assert!(rules.len() >= 6, "expected the Entra rule family, got {}", rules.len());
    let examples: usize = rules.iter().map(|r| r.syntax.examples.len()).sum();
    assert!(examples >= 20);
    let problems = azleak::detect::check_examples(&rules);
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn rules_check_command_passes_on_builtins() {
    let t = TempTree::new();
    let (code, out, _) = run(azleak(t.path()).args(["rules", "check"]));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("all pass"), "{out}");
}

#[test]
fn rules_check_reports_a_failing_example() {
    let t = TempTree::new();
    t.file(
        "mine.toml",
        team_rule(
            r#"pattern = 'tok_([a-z]{8})'
examples = ["tok_abcdefgh", "tok_ABCDEFGH"]
negative_examples = ["tok_abc"]
"#,
        ),
    );
    let (code, out, _) = run(azleak(t.path()).args(["rules", "check", "mine.toml"]));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("team.token: example is not found"), "{out}");
    assert!(out.contains("tok_ABCDEFGH"), "{out}");
}

#[test]
fn unknown_field_is_rejected_naming_file_and_field() {
    let t = TempTree::new();
    t.file(
        "bad.toml",
        team_rule(
            r#"pattern = 'tok_([a-z]{8})'
min_entorpy = 3.0
"#,
        ),
    );
    let (code, _, err) = run(azleak(t.path()).args(["rules", "check", "bad.toml"]));
    assert_eq!(code, 2);
    assert!(err.contains("bad.toml") && err.contains("min_entorpy"), "{err}");
}

#[test]
fn broken_regex_is_rejected_naming_file_and_rule() {
    let t = TempTree::new();
    t.file(
        "bad.toml",
        team_rule(
            r#"pattern = 'tok_([a-z]{8}'
"#,
        ),
    );
    let (code, _, err) = run(azleak(t.path()).args(["scan", "--rules", "bad.toml", "."]));
    assert_eq!(code, 2);
    assert!(
        err.contains("bad.toml") && err.contains("team.token") && err.contains("pattern"),
        "{err}"
    );
}

#[test]
fn duplicate_rule_id_is_rejected() {
    let t = TempTree::new();
    t.file(
        "dup.toml",
        r#"
[[rules]]
id = "azure.entra.client-secret"
name = "again"
description = "again"
keywords = ["x"]
pattern = 'x(y)'
confidence = "low"
remediation = "r"
"#,
    );
    let (code, _, err) = run(azleak(t.path()).args(["rules", "list", "--rules", "dup.toml"]));
    assert_eq!(code, 2);
    assert!(err.contains("dup.toml") && err.contains("already defined"), "{err}");
}
