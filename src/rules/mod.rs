//! Rule sets: the built-in rules embedded from `rules/*.toml`, user rule files, id checks, and
//! the self-test of every rule against its own examples. Matching itself lives in `detect`.

mod rule;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use rule::{ChecksumKind, Encoding, Rule, RuleSyntax};
pub(crate) use rule::{build_regex, regex_problem};

use crate::detect::Detector;

/// The built-in rule files, embedded at build time: (file name, contents).
const BUILTIN: &[(&str, &str)] =
    &[("rules/azure-client-secret.toml", include_str!("../../rules/azure-client-secret.toml"))];

/// A rule file as written: a list of `[[rules]]` tables.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    rules: Vec<RuleSyntax>,
}

/// Errors loading rules. Each names the file (and rule) at fault.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    /// The file or directory could not be read.
    #[error("cannot read rule file {}: {source}", .path.display())]
    Read {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML for the rule format.
    #[error("rule file {}:{message}", .path.display())]
    Parse {
        /// The path.
        path: PathBuf,
        /// Line and column, then what the TOML parser said.
        message: String,
    },
    /// A rule failed to compile.
    #[error("rule file {}:{line}: rule {id}: {message}", .path.display())]
    Rule {
        /// The path.
        path: PathBuf,
        /// 1-based line of the rule's `id`.
        line: usize,
        /// The rule id.
        id: String,
        /// What is wrong.
        message: String,
    },
    /// Two rules share an id.
    #[error("rule file {}: rule id {id} is already defined (ids must be unique)", .path.display())]
    DuplicateId {
        /// The path of the second definition.
        path: PathBuf,
        /// The id.
        id: String,
    },
}

/// 1-based line of the `id = "..."` line defining a rule (1 if not found).
fn line_of_id(text: &str, id: &str) -> usize {
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            l.starts_with("id")
                && (l.contains(&format!("\"{id}\"")) || l.contains(&format!("'{id}'")))
        })
        .map_or(1, |i| i + 1)
}

/// A problem found by [`RuleSet::check_examples`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExampleProblem {
    /// Rule id.
    pub rule_id: String,
    /// What went wrong.
    pub message: String,
}

/// An ordered set of compiled rules with unique ids.
#[derive(Debug, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
    sources: Vec<PathBuf>,
}

impl RuleSet {
    /// The rules built into the binary.
    pub fn builtin() -> Result<RuleSet, RuleError> {
        let mut set = RuleSet::default();
        for (name, text) in BUILTIN {
            set.add_text(Path::new(name), text)?;
        }
        Ok(set)
    }

    /// Loads rules from files, or from every `*.toml` file (sorted by name) in directories.
    pub fn from_paths(paths: &[PathBuf]) -> Result<RuleSet, RuleError> {
        let mut set = RuleSet::default();
        set.add_paths(paths)?;
        Ok(set)
    }

    /// Adds rules from files or directories to this set.
    pub fn add_paths(&mut self, paths: &[PathBuf]) -> Result<(), RuleError> {
        for path in paths {
            let read_err = |source| RuleError::Read { path: path.clone(), source };
            if path.is_dir() {
                let mut files = Vec::new();
                for entry in std::fs::read_dir(path).map_err(read_err)? {
                    let entry =
                        entry.map_err(|e| RuleError::Read { path: path.clone(), source: e })?;
                    let p = entry.path();
                    if p.extension().is_some_and(|e| e == "toml") {
                        files.push(p);
                    }
                }
                files.sort();
                for file in files {
                    self.add_file(&file)?;
                }
            } else {
                self.add_file(path)?;
            }
        }
        Ok(())
    }

    fn add_file(&mut self, path: &Path) -> Result<(), RuleError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| RuleError::Read { path: path.to_path_buf(), source })?;
        self.add_text(path, &text)
    }

    /// Parses and compiles rules from TOML text; `path` names the source in errors.
    pub fn add_text(&mut self, path: &Path, text: &str) -> Result<(), RuleError> {
        let file: RuleFile = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start).min(text.len());
            let before = &text[..offset];
            let line = before.matches('\n').count() + 1;
            let column = before[before.rfind('\n').map_or(0, |i| i + 1)..].chars().count() + 1;
            RuleError::Parse {
                path: path.to_path_buf(),
                message: format!("{line}:{column}: {}", e.message().trim()),
            }
        })?;
        let mut ids: BTreeSet<String> = self.rules.iter().map(|r| r.id().to_string()).collect();
        for syntax in file.rules {
            let id = syntax.id.clone();
            if !ids.insert(id.clone()) {
                return Err(RuleError::DuplicateId { path: path.to_path_buf(), id });
            }
            let rule = Rule::compile(syntax).map_err(|message| RuleError::Rule {
                path: path.to_path_buf(),
                line: line_of_id(text, &id),
                id,
                message,
            })?;
            self.rules.push(rule);
            self.sources.push(path.to_path_buf());
        }
        Ok(())
    }

    /// Removes the rules whose ids are listed; returns the ids that matched no rule.
    pub fn disable(&mut self, ids: &[String]) -> Vec<String> {
        let unknown = ids.iter().filter(|id| self.get(id).is_none()).cloned().collect();
        let keep: Vec<bool> =
            self.rules.iter().map(|r| !ids.iter().any(|id| id == r.id())).collect();
        let mut flags = keep.iter();
        self.sources.retain(|_| *flags.next().unwrap_or(&true));
        let mut flags = keep.iter();
        self.rules.retain(|_| *flags.next().unwrap_or(&true));
        unknown
    }

    /// The rules, in load order.
    pub fn iter(&self) -> impl Iterator<Item = &Rule> {
        self.rules.iter()
    }

    /// The rule at an index.
    pub fn rule(&self, index: usize) -> &Rule {
        &self.rules[index]
    }

    /// The rule with an id.
    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id() == id)
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether the set has no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Checks every rule against its own examples: each example must produce a finding of that
    /// rule at the rule's confidence, and no negative example may produce one at that confidence
    /// or above. Each rule is checked alone, so other rules cannot hide a problem.
    pub fn check_examples(&self) -> Vec<ExampleProblem> {
        let mut problems = Vec::new();
        for rule in &self.rules {
            let syntax = rule.syntax.clone();
            let id = syntax.id.clone();
            let problem = |message: String| ExampleProblem { rule_id: id.clone(), message };
            if syntax.examples.is_empty() {
                problems.push(problem("has no examples".into()));
            }
            let single = match Rule::compile(syntax.clone()) {
                Ok(r) => RuleSet { rules: vec![r], sources: Vec::new() },
                Err(e) => {
                    problems.push(problem(e));
                    continue;
                }
            };
            let detector = Detector::new(single);
            let mut scratch = detector.scratch();
            let want = syntax.confidence;
            for example in &syntax.examples {
                let found = detector.scan(example.as_bytes(), &mut scratch);
                if !found.iter().any(|m| m.confidence >= want) {
                    problems.push(problem(format!(
                        "example is not found at confidence {want}: {example:?}"
                    )));
                }
            }
            for example in &syntax.negative_examples {
                let found = detector.scan(example.as_bytes(), &mut scratch);
                if let Some(m) = found.iter().find(|m| m.confidence >= want) {
                    problems.push(problem(format!(
                        "negative example is found (confidence {}): {example:?}",
                        m.confidence
                    )));
                }
            }
        }
        problems
    }
}
