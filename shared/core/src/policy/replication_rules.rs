//! Replication rules a schema cannot say: a destination in another account names the role that
//! acts there (in that account), no destination is listed twice, and a `native` rule is one ECR's
//! own replication can carry out (prefix filters, no gate, no tag filter, same names, no roles).

use std::collections::BTreeSet;

use serde_json::Value;

use super::problem::Problem;
use super::resolve::specificity;

pub(super) fn replication_problems(
    problems: &mut Vec<Problem>,
    at: &str,
    pattern: Option<&str>,
    section: Option<&Value>,
) {
    let native = section
        .and_then(|s| s.get("native"))
        .and_then(Value::as_bool)
        == Some(true);
    if native {
        native_problems(problems, at, pattern, section);
    }
    let destinations = section
        .and_then(|s| s.get("destinations"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut seen = BTreeSet::new();
    for (j, destination) in destinations.iter().enumerate() {
        let path = format!("{at}.replication.destinations[{j}]");
        let field = |name: &str| destination.get(name).and_then(Value::as_str);
        let account = field("account");
        let role_account = field("role_arn").and_then(|arn| arn.split(':').nth(4));
        match (account, role_account) {
            (Some(account), None) if !native => problems.push(Problem {
                path: format!("{path}.role_arn"),
                message: format!(
                    "a copy to account {account} needs the role to assume there (role_arn)"
                ),
            }),
            (Some(account), Some(role)) if role != account => problems.push(Problem {
                path: format!("{path}.role_arn"),
                message: format!("the role must be in account {account}, where it acts"),
            }),
            (None, Some(_)) => problems.push(Problem {
                path: format!("{path}.account"),
                message: "role_arn without account: name the account the role acts in".into(),
            }),
            _ => {}
        }
        if field("external_id").is_some() && role_account.is_none() {
            problems.push(Problem {
                path: format!("{path}.external_id"),
                message: "external_id is only used with role_arn".into(),
            });
        }
        let key = (
            field("region").unwrap_or_default().to_owned(),
            account.unwrap_or_default().to_owned(),
            field("repository").unwrap_or_default().to_owned(),
        );
        if !seen.insert(key) {
            problems.push(Problem {
                path,
                message: "this destination is listed twice".into(),
            });
        }
    }
}
/// A destination's fields ECR's own replication has no use for, and why.
const NATIVE_DESTINATION_FIELDS: [(&str, &str); 3] = [
    (
        "repository",
        "ECR replicates under the same repository name",
    ),
    (
        "role_arn",
        "another account admits ECR's replication through its registry policy, not a role",
    ),
    (
        "external_id",
        "another account admits ECR's replication through its registry policy, not a role",
    ),
];

fn native_problems(
    problems: &mut Vec<Problem>,
    at: &str,
    pattern: Option<&str>,
    section: Option<&Value>,
) {
    let Some(section) = section else { return };
    let mut problem = |path: &str, message: &str| {
        problems.push(Problem {
            path: format!("{at}.replication{path}"),
            message: format!("native replication: {message}"),
        });
    };
    if section.get("require_pass").and_then(Value::as_bool) != Some(false) {
        problem(
            ".require_pass",
            "ECR replicates on push, before any scan: set require_pass: false",
        );
    }
    if section
        .get("tags")
        .and_then(Value::as_array)
        .is_some_and(|t| !t.is_empty())
    {
        problem(".tags", "ECR's replication has no tag filter");
    }
    for (j, d) in section
        .get("destinations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        for (field, why) in NATIVE_DESTINATION_FIELDS {
            if d.get(field).is_some() {
                problem(&format!(".destinations[{j}].{field}"), why);
            }
        }
    }
    if let Some(pattern) = pattern
        && ecr_filter_prefix(pattern).is_none()
    {
        problems.push(Problem {
            path: format!("{at}.match"),
            message: format!(
                "native replication: ECR filters repositories by name prefix; `{pattern}` is not one (write `<prefix>**`, e.g. `team-a/**`, or `**`)"
            ),
        });
    }
}

/// ECR applies every replication rule whose prefix filter takes a repository, whatever the policy's
/// precedence says: a `native` rule's filter must not take a repository whose replication a more
/// specific rule decides differently (gated, to other places, or not native). A `**` native rule
/// beside a gated `team-a/*` would make ECR copy team-a's failing images on push; ECR's prefix
/// filters cannot leave them out, so the policy is refused.
pub(super) fn native_precedence_problems(problems: &mut Vec<Problem>, rules: &[Value]) {
    let literal = |pattern: &str| -> String {
        pattern
            .chars()
            .take_while(|c| !matches!(c, '*' | '?' | '[' | ']' | '{' | '}'))
            .collect()
    };
    for (i, rule) in rules.iter().enumerate() {
        let Some(native) = rule
            .get("replication")
            .filter(|r| r.get("native").and_then(Value::as_bool) == Some(true))
        else {
            continue;
        };
        let Some(pattern) = rule.get("match").and_then(Value::as_str) else {
            continue;
        };
        let Some(prefix) = ecr_filter_prefix(pattern) else {
            continue; // refused on its own already
        };
        let prefix = prefix.unwrap_or_default();
        for (j, other) in rules.iter().enumerate() {
            let Some(theirs) = other.get("replication") else {
                continue;
            };
            let Some(their_pattern) = other.get("match").and_then(Value::as_str) else {
                continue;
            };
            let outranks = match specificity(their_pattern).cmp(&specificity(pattern)) {
                std::cmp::Ordering::Greater => true,
                std::cmp::Ordering::Equal => j < i,
                std::cmp::Ordering::Less => false,
            };
            let overlaps = {
                let theirs_literal = literal(their_pattern);
                theirs_literal.starts_with(&prefix) || prefix.starts_with(&theirs_literal)
            };
            let same = theirs.get("native") == native.get("native")
                && theirs.get("destinations") == native.get("destinations");
            if j != i && outranks && overlaps && !same {
                problems.push(Problem {
                    path: format!("repositories[{i}].match"),
                    message: format!(
                        "native replication: ECR's filter ({}) also takes the repositories of `{their_pattern}` (repositories[{j}]), whose replication rule says otherwise — ECR would copy them on push, ungated, and its prefix filters cannot leave them out: narrow this rule's match",
                        if prefix.is_empty() { "every repository".to_owned() } else { format!("prefix `{prefix}`") }
                    ),
                });
            }
        }
    }
}

/// The prefix ECR filters by for a policy `match`: `team-a/**` → `team-a/`, `**` → everything
/// (`Some(None)`). `None` when the pattern is not a prefix (a single-segment `*`, `?`, classes,
/// an exact name — a prefix would also take `name2`).
pub fn ecr_filter_prefix(pattern: &str) -> Option<Option<String>> {
    let literal = pattern.strip_suffix("**")?;
    if literal.contains(['*', '?', '[', ']', '{', '}']) {
        return None;
    }
    if literal.is_empty() {
        return Some(None);
    }
    // ECR's RepositoryFilter pattern: lowercase name characters, `/` between segments.
    let valid = literal
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-/".contains(&b));
    (valid && literal.len() >= 2).then(|| Some(literal.to_owned()))
}
