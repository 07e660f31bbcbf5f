//! Policy validation: YAML syntax, then the JSON Schema, then the rules a schema cannot say
//! (globs compile, exclusions only with an `_WITH_EXCLUSION` mode, real dates, no duplicate
//! patterns). All problems are collected; none stops the others from being found.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::LazyLock;

use chrono::NaiveDate;
use globset::GlobBuilder;
use jsonschema::Validator;
use serde_json::Value;

use super::lifecycle_rules::{cleanup_rule_problems, lifecycle_problems};
use super::replication_rules::replication_problems;
use super::{PolicyDocument, SCHEMA};
use crate::mutability::MutabilityMode;

/// One thing wrong with a policy: where (`repositories[0].immutability.exclusions`) and what.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "(top level)"
        } else {
            &self.path
        };
        write!(f, "{path}: {}", self.message)
    }
}

/// A policy that must not be acted on, with every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid policy ({} problem{}): {}", .problems.len(), if .problems.len() == 1 { "" } else { "s" },
        .problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct PolicyError {
    pub problems: Vec<Problem>,
}

#[allow(clippy::expect_used)] // SCHEMA is a compiled-in file; the unit tests compile it
static VALIDATOR: LazyLock<Validator> = LazyLock::new(|| {
    let schema: Value = serde_json::from_str(SCHEMA).expect("policy.schema.json is JSON");
    jsonschema::validator_for(&schema).expect("policy.schema.json is a valid schema")
});

pub(super) fn load(text: &str) -> Result<PolicyDocument, PolicyError> {
    let value: Value = serde_norway::from_str(text).map_err(|e| PolicyError {
        problems: vec![Problem {
            path: String::new(),
            message: format!("not valid YAML: {e}"),
        }],
    })?;
    let mut problems = schema_problems(&value);
    problems.extend(rule_problems(&value));
    problems.sort();
    problems.dedup();
    if !problems.is_empty() {
        return Err(PolicyError { problems });
    }
    serde_path_to_error::deserialize(value).map_err(|e| PolicyError {
        problems: vec![Problem {
            path: e.path().to_string(),
            message: e.inner().to_string(),
        }],
    })
}

fn schema_problems(value: &Value) -> Vec<Problem> {
    VALIDATOR
        .iter_errors(value)
        .flat_map(|err| {
            let at = pointer_to_path(err.instance_path().as_str());
            match err.kind() {
                // Name each unknown key at its own path, with what is allowed there.
                jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } => {
                    unexpected
                        .iter()
                        .map(|key| Problem {
                            path: join(&at, key),
                            message: format!("unknown key `{key}`{}", allowed_keys(&at)),
                        })
                        .collect::<Vec<_>>()
                }
                _ => vec![Problem {
                    path: at,
                    message: err.to_string(),
                }],
            }
        })
        .collect()
}

/// "; allowed here: a, b, c" for the object at `path`, read from the schema.
fn allowed_keys(path: &str) -> String {
    let keys = schema_keys_at(path);
    if keys.is_empty() {
        String::new()
    } else {
        format!("; allowed here: {}", keys.join(", "))
    }
}

fn schema_keys_at(path: &str) -> Vec<String> {
    static SCHEMA_VALUE: LazyLock<Value> =
        LazyLock::new(|| serde_json::from_str(SCHEMA).unwrap_or(Value::Null));
    let defs = &SCHEMA_VALUE["$defs"];
    let resolve = |node: &Value| -> Value {
        match node
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/$defs/"))
        {
            Some(name) => defs[name].clone(),
            None => node.clone(),
        }
    };
    let mut node = SCHEMA_VALUE.clone();
    for segment in path.split('.').filter(|s| !s.is_empty()) {
        let (key, indexed) = match segment.find('[') {
            Some(at) => (&segment[..at], true),
            None => (segment, false),
        };
        node = resolve(&node["properties"][key]);
        if indexed {
            node = resolve(&node["items"]);
        }
    }
    node.get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

/// The checks a JSON Schema cannot express, made on the raw document so they run even when the
/// schema found problems too.
fn rule_problems(value: &Value) -> Vec<Problem> {
    let mut problems = Vec::new();
    let accounts = value
        .get("accounts")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut named = BTreeSet::new();
    for (i, account) in accounts.iter().enumerate() {
        let id = account["id"].as_str().unwrap_or_default();
        if !named.insert(id.to_owned()) {
            problems.push(Problem {
                path: format!("accounts[{i}].id"),
                message: format!("account {id} is listed twice"),
            });
        }
        let role_account = account["role_arn"]
            .as_str()
            .and_then(|arn| arn.split(':').nth(4));
        if role_account.is_some_and(|a| a != id) {
            problems.push(Problem {
                path: format!("accounts[{i}].role_arn"),
                message: format!("the role must be in account {id}, where it acts"),
            });
        }
    }
    let mut seen = BTreeSet::new();
    let rules = value
        .get("repositories")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (i, rule) in rules.iter().enumerate() {
        let at = format!("repositories[{i}]");
        if let Some(pattern) = rule.get("match").and_then(Value::as_str) {
            check_glob(&mut problems, &format!("{at}.match"), pattern, true);
            if !seen.insert(pattern.to_owned()) {
                problems.push(Problem {
                    path: format!("{at}.match"),
                    message: format!("pattern `{pattern}` is listed twice; merge the two entries"),
                });
            }
        }
        if let Some(imm) = rule.get("immutability") {
            let mode = imm
                .get("mode")
                .and_then(Value::as_str)
                .and_then(MutabilityMode::parse);
            let has_exclusions = imm.get("exclusions").is_some();
            match mode {
                Some(m) if m.takes_exclusions() && !has_exclusions => problems.push(Problem {
                    path: format!("{at}.immutability.exclusions"),
                    message: format!("{} needs 1 to 5 exclusion filters", m.as_str()),
                }),
                Some(m) if !m.takes_exclusions() && has_exclusions => problems.push(Problem {
                    path: format!("{at}.immutability.exclusions"),
                    message: format!(
                        "exclusion filters are only allowed with IMMUTABLE_WITH_EXCLUSION or MUTABLE_WITH_EXCLUSION, not {}",
                        m.as_str()
                    ),
                }),
                _ => {}
            }
        }
        for (list, key) in [
            ("protected_tags", "patterns"),
            ("replication", "tags"),
            ("cleanup", "protect_tags"),
        ] {
            for (j, pattern) in strings(rule.get(list).and_then(|s| s.get(key))) {
                check_glob(
                    &mut problems,
                    &format!("{at}.{list}.{key}[{j}]"),
                    pattern,
                    false,
                );
            }
        }
        let cleanup_rules = rule
            .pointer("/cleanup/rules")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        cleanup_rule_problems(&mut problems, &at, &cleanup_rules);
        lifecycle_problems(&mut problems, &at, rule.pointer("/cleanup/lifecycle"));
        replication_problems(
            &mut problems,
            &at,
            rule.get("match").and_then(Value::as_str),
            rule.get("replication"),
        );
        if let Some(caps) = rule
            .pointer("/gate/max_findings")
            .and_then(Value::as_object)
        {
            for key in caps.keys() {
                let never = match key.to_ascii_uppercase().as_str() {
                    "UNTRIAGED" | "UNDEFINED" => Some(
                        "can never trip: UNTRIAGED and UNDEFINED findings count as `untriaged_as` (default HIGH); cap that severity instead",
                    ),
                    "TOTAL" => {
                        Some("can never trip: TOTAL is a sum, not a severity; cap severities")
                    }
                    _ => None,
                };
                if let Some(message) = never {
                    problems.push(Problem {
                        path: format!("{at}.gate.max_findings.{key}"),
                        message: message.to_owned(),
                    });
                }
            }
        }
        let exceptions = rule
            .pointer("/gate/exceptions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for (j, exception) in exceptions.iter().enumerate() {
            if let Some(date) = exception.get("expires").and_then(Value::as_str) {
                if NaiveDate::parse_from_str(date, "%Y-%m-%d").is_err() {
                    problems.push(Problem {
                        path: format!("{at}.gate.exceptions[{j}].expires"),
                        message: format!("`{date}` is not a calendar date (YYYY-MM-DD)"),
                    });
                }
            }
        }
    }
    problems
}

pub(super) fn strings(list: Option<&Value>) -> Vec<(usize, &str)> {
    list.and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .enumerate()
                .filter_map(|(i, v)| Some((i, v.as_str()?)))
                .collect()
        })
        .unwrap_or_default()
}

fn check_glob(problems: &mut Vec<Problem>, path: &str, pattern: &str, repository: bool) {
    if let Err(e) = GlobBuilder::new(pattern)
        .literal_separator(repository)
        .build()
    {
        problems.push(Problem {
            path: path.to_owned(),
            message: format!("`{pattern}` is not a valid glob: {}", e.kind()),
        });
    }
}

/// `/repositories/0/immutability` → `repositories[0].immutability`.
fn pointer_to_path(pointer: &str) -> String {
    let mut out = String::new();
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if segment.chars().all(|c| c.is_ascii_digit()) && !segment.is_empty() {
            out.push_str(&format!("[{segment}]"));
        } else {
            out = join(&out, &segment);
        }
    }
    out
}

fn join(base: &str, key: &str) -> String {
    if base.is_empty() {
        key.to_owned()
    } else {
        format!("{base}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(yaml: &str) -> Vec<Problem> {
        match load(yaml) {
            Ok(_) => Vec::new(),
            Err(e) => e.problems,
        }
    }

    fn paths(yaml: &str) -> Vec<String> {
        problems(yaml).into_iter().map(|p| p.path).collect()
    }

    #[test]
    fn schema_compiles_and_minimal_policy_loads() {
        let p = load("version: 1\nrepositories:\n  - match: '*'\n").unwrap();
        assert_eq!(p.repositories[0].pattern, "*");
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let yaml = r#"
version: 1
repositories:
  - match: "team-a/*"
    immutability:
      mode: IMMUTABLE_WITH_EXCLUSION
      exclusions: ["a", "b", "c", "d", "e", "f"]
    gatee: {}
  - match: "team-b/[oops"
    immutability:
      mode: IMMUTABLE_WITH_EXCLUSION
      exclusions: ["v?"]
"#;
        let found = problems(yaml);
        let at = |p: &str| {
            found
                .iter()
                .find(|x| x.path == p)
                .map(|x| x.message.clone())
        };
        assert!(
            at("repositories[0].immutability.exclusions")
                .unwrap()
                .contains("more than 5"),
            "{found:?}"
        );
        let unknown = at("repositories[0].gatee").unwrap();
        assert!(
            unknown.contains("unknown key `gatee`") && unknown.contains("gate"),
            "{unknown}"
        );
        assert!(
            at("repositories[1].match")
                .unwrap()
                .contains("not a valid glob")
        );
        assert!(
            at("repositories[1].immutability.exclusions[0]").is_some(),
            "{found:?}"
        );
    }

    #[test]
    fn exclusions_must_agree_with_the_mode() {
        let need = "version: 1\nrepositories:\n  - match: a\n    immutability: {mode: IMMUTABLE_WITH_EXCLUSION}\n";
        assert_eq!(paths(need), ["repositories[0].immutability.exclusions"]);
        let forbid = "version: 1\nrepositories:\n  - match: a\n    immutability: {mode: IMMUTABLE, exclusions: [x]}\n";
        assert_eq!(paths(forbid), ["repositories[0].immutability.exclusions"]);
    }

    #[test]
    fn dates_duplicates_and_yaml_errors() {
        let yaml = "version: 1\nrepositories:\n  - match: a\n    gate:\n      exceptions:\n        - {cve: CVE-1-2, expires: 2026-02-30, reason: r}\n  - match: a\n";
        assert_eq!(
            paths(yaml),
            [
                "repositories[0].gate.exceptions[0].expires",
                "repositories[1].match"
            ]
        );
        assert!(
            problems("version: [1\n")[0]
                .message
                .contains("not valid YAML")
        );
        assert!(problems("version: 2\nrepositories: []\n").len() >= 2);
    }

    #[test]
    fn named_accounts_need_a_role_in_that_account() {
        let yaml = "version: 1\naccounts:\n  - { id: '111122223333', role_arn: 'arn:aws:iam::999999999999:role/w' }\n  - { id: '111122223333', role_arn: 'arn:aws:iam::111122223333:role/w' }\n  - { id: '12', role_arn: 'nope' }\nrepositories: []\n";
        let found = paths(yaml);
        for expected in [
            "accounts[0].role_arn",
            "accounts[1].id",
            "accounts[2].id",
            "accounts[2].role_arn",
        ] {
            assert!(
                found.iter().any(|p| p == expected),
                "{expected} not in {found:?}"
            );
        }
    }

    #[test]
    fn gate_caps_that_can_never_trip_are_refused() {
        let yaml = "version: 1\nrepositories:\n  - match: a\n    gate: { max_findings: { UNTRIAGED: 0, HIGH: 0 }, untriaged_as: HIGH }\n";
        assert_eq!(paths(yaml), ["repositories[0].gate.max_findings.UNTRIAGED"]);
    }

    #[test]
    fn janitor_rules_are_held_to_ecrs_lifecycle_rules() {
        let yaml = r#"
version: 1
repositories:
  - match: a
    cleanup:
      rules:
        - { priority: 1, select: { tag_status: untagged }, older_than_days: 7 }
        - { priority: 2, select: { tag_status: untagged }, older_than_days: 9 }
        - { priority: 3, select: { tag_status: tagged }, keep_newest: 3 }
        - { priority: 9, select: { tag_status: any, tags: ["x"] }, keep_newest: 3 }
        - { priority: 4, select: { tag_status: any }, keep_newest: 3, since: pull }
        - { priority: 4, select: { tag_status: tagged, tags: ["*a*b*c*d*e"] }, keep_newest: 1 }
"#;
        let found = paths(yaml);
        for expected in [
            "repositories[0].cleanup.rules[1].select.tag_status",
            "repositories[0].cleanup.rules[2].select.tags",
            "repositories[0].cleanup.rules[3].select.tags",
            "repositories[0].cleanup.rules[4].priority",
            "repositories[0].cleanup.rules[4].since",
            "repositories[0].cleanup.rules[5].priority",
            "repositories[0].cleanup.rules[5].select.tags[0]",
        ] {
            assert!(
                found.iter().any(|p| p == expected),
                "{expected} not in {found:?}"
            );
        }
    }

    #[test]
    fn lifecycle_rules_follow_ecrs_own_rules() {
        let yaml = r#"
version: 1
repositories:
  - match: a
    cleanup:
      lifecycle:
        - { rulePriority: 2, selection: { tagStatus: any, countType: imageCountMoreThan, countNumber: 5 }, action: { type: expire } }
        - { rulePriority: 1, selection: { tagStatus: tagged, countType: sinceImagePushed, countNumber: 5 }, action: { type: expire } }
        - { rulePriority: 3, selection: { tagStatus: tagged, tagPatternList: ["*a*b*c*d*e"], countType: imageCountMoreThan, countUnit: days, countNumber: 5 }, action: { type: expire } }
        - { rulePriority: 4, selection: { tagStatus: untagged, countType: imageCountMoreThan, countNumber: 5 }, action: { type: expire } }
        - { rulePriority: 5, selection: { tagStatus: untagged, countType: sinceImageTransitioned, countUnit: days, countNumber: 5 }, action: { type: transition } }
"#;
        let found = paths(yaml);
        for expected in [
            "repositories[0].cleanup.lifecycle[0].rulePriority",
            "repositories[0].cleanup.lifecycle[1].selection",
            "repositories[0].cleanup.lifecycle[1].selection.countUnit",
            "repositories[0].cleanup.lifecycle[2].selection.countUnit",
            "repositories[0].cleanup.lifecycle[2].selection.tagPatternList[0]",
            "repositories[0].cleanup.lifecycle[4].selection.tagStatus",
            "repositories[0].cleanup.lifecycle[4].selection.storageClass",
            "repositories[0].cleanup.lifecycle[4].action",
        ] {
            assert!(
                found.iter().any(|p| p == expected),
                "{expected} not in {found:?}"
            );
        }
        let good = "version: 1\nrepositories:\n  - match: a\n    cleanup:\n      lifecycle:\n        - { rulePriority: 1, selection: { tagStatus: untagged, countType: sinceImagePushed, countUnit: days, countNumber: 14 }, action: { type: expire } }\n        - { rulePriority: 2, selection: { tagStatus: tagged, tagPatternList: [\"v*\"], countType: sinceImagePulled, countUnit: days, countNumber: 90 }, action: { type: transition, targetStorageClass: archive } }\n        - { rulePriority: 3, selection: { tagStatus: any, storageClass: archive, countType: sinceImageTransitioned, countUnit: days, countNumber: 365 }, action: { type: expire } }\n";
        assert!(paths(good).is_empty(), "{:?}", paths(good));
    }

    #[test]
    fn pointer_paths_read_naturally() {
        assert_eq!(
            pointer_to_path("/repositories/0/gate/max_findings"),
            "repositories[0].gate.max_findings"
        );
        assert_eq!(pointer_to_path(""), "");
    }
}
