//! Policy validation: YAML syntax, then the JSON Schema, then the rules a schema cannot say
//! (globs compile, exclusions only with an `_WITH_EXCLUSION` mode, real dates, no duplicate
//! patterns). All problems are collected; none stops the others from being found.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use chrono::NaiveDate;
use globset::GlobBuilder;
use serde_json::Value;

use super::lifecycle_rules::{cleanup_rule_problems, lifecycle_problems};
use super::problem::{PolicyError, Problem};
use super::replication_rules::{native_precedence_problems, replication_problems};
use super::signature_rules::{signature_problems, signatures_need_a_gate};
use super::{PolicyDocument, SCHEMA};
use crate::mutability::MutabilityMode;

/// The policy schema's validator, generated from `policy.schema.json` when the crate is compiled
/// (jsonschema's `validator` macro): nothing is compiled at a function's init, and the functions
/// link the code for this schema instead of a general JSON Schema engine (docs/benchmarks.md).
/// It judges as the run-time engine does (`the_generated_validator_judges_as_the_schema_itself`).
#[jsonschema::validator(path = "policy.schema.json", draft = Draft202012)]
pub(super) struct PolicySchema;

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
    PolicySchema::iter_errors(value)
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
    account_problems(&mut problems, value);
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
        immutability_problems(&mut problems, &at, rule);
        tag_glob_problems(&mut problems, &at, rule);
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
        max_findings_problems(&mut problems, &at, rule);
        exception_problems(&mut problems, &at, rule);
        signature_problems(&mut problems, &at, rule.get("signatures"));
    }
    native_precedence_problems(&mut problems, &rules);
    signatures_need_a_gate(&mut problems, &rules);
    problems
}

/// Whether each account is listed once, with its role in that account (where it acts).
fn account_problems(problems: &mut Vec<Problem>, value: &Value) {
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
}

/// Whether a rule's immutability has exclusion filters exactly when its mode takes them.
fn immutability_problems(problems: &mut Vec<Problem>, at: &str, rule: &Value) {
    let Some(imm) = rule.get("immutability") else {
        return;
    };
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

/// Whether a rule's tag patterns (protected tags, replicated tags, tags cleanup protects) are
/// valid globs.
fn tag_glob_problems(problems: &mut Vec<Problem>, at: &str, rule: &Value) {
    for (list, key) in [
        ("protected_tags", "patterns"),
        ("replication", "tags"),
        ("cleanup", "protect_tags"),
    ] {
        for (j, pattern) in strings(rule.get(list).and_then(|s| s.get(key))) {
            check_glob(problems, &format!("{at}.{list}.{key}[{j}]"), pattern, false);
        }
    }
}

/// Whether each of a rule's `gate.max_findings` caps can ever trip: UNTRIAGED, UNDEFINED and
/// TOTAL cannot.
fn max_findings_problems(problems: &mut Vec<Problem>, at: &str, rule: &Value) {
    let Some(caps) = rule
        .pointer("/gate/max_findings")
        .and_then(Value::as_object)
    else {
        return;
    };
    for key in caps.keys() {
        let never = match key.to_ascii_uppercase().as_str() {
            "UNTRIAGED" | "UNDEFINED" => Some(
                "can never trip: UNTRIAGED and UNDEFINED findings count as `untriaged_as` (default HIGH); cap that severity instead",
            ),
            "TOTAL" => Some("can never trip: TOTAL is a sum, not a severity; cap severities"),
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

/// Whether each of a rule's gate exceptions expires on a real calendar date.
fn exception_problems(problems: &mut Vec<Problem>, at: &str, rule: &Value) {
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
mod tests;
