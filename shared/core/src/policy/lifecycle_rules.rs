//! ECR's own checks on lifecycle rules, applied to janitor's rules and to native lifecycle policies
//! alike: what ECR's PutLifecyclePolicy would refuse is refused when the policy is loaded.

use std::collections::BTreeSet;

use serde_json::Value;

use super::validate::{Problem, strings};

/// janitor's rules are ECR lifecycle rules and are held to ECR's own checks: unique priorities;
/// `tagged` needs tag patterns (`["*"]` for every tagged image) and only `tagged` takes them; only
/// one rule may select untagged images; an `any` rule has the highest priority (evaluated last); at
/// most four `*` per pattern (the only wildcard); `since` only with `older_than_days`.
pub(super) fn cleanup_rule_problems(problems: &mut Vec<Problem>, at: &str, rules: &[Value]) {
    let priorities: Vec<u64> = rules
        .iter()
        .filter_map(|r| r["priority"].as_u64())
        .collect();
    let top = priorities.iter().copied().max().unwrap_or(0);
    let mut seen = BTreeSet::new();
    let mut untagged = 0;
    for (j, rule) in rules.iter().enumerate() {
        let path = format!("{at}.cleanup.rules[{j}]");
        let mut problem = |p: String, message: String| problems.push(Problem { path: p, message });
        let priority = rule["priority"].as_u64().unwrap_or(0);
        if !seen.insert(priority) {
            problem(
                format!("{path}.priority"),
                "rule priorities must be unique (ECR evaluates rules in priority order)".to_owned(),
            );
        }
        let tags = strings(rule.pointer("/select/tags"));
        match rule.pointer("/select/tag_status").and_then(Value::as_str) {
            Some("tagged") if tags.is_empty() => problem(
                format!("{path}.select.tags"),
                "tag_status tagged needs tag patterns, as ECR's tagPatternList (use [\"*\"] for every tagged image)".to_owned(),
            ),
            Some(status @ ("untagged" | "any")) if !tags.is_empty() => problem(
                format!("{path}.select.tags"),
                format!("only tag_status tagged takes tag patterns, not {status}"),
            ),
            Some("untagged") => {
                untagged += 1;
                if untagged > 1 {
                    problem(
                        format!("{path}.select.tag_status"),
                        "only one rule may select untagged images (ECR's lifecycle rules)".to_owned(),
                    );
                }
            }
            Some("any") if priority != top => problem(
                format!("{path}.priority"),
                "a tag_status any rule must have the highest priority (ECR evaluates it last)".to_owned(),
            ),
            _ => {}
        }
        for (k, pattern) in tags {
            if pattern.matches('*').count() > 4 {
                problem(
                    format!("{path}.select.tags[{k}]"),
                    "at most 4 wildcards (*) per pattern".to_owned(),
                );
            }
        }
        if rule.get("since").is_some() && rule.get("older_than_days").is_none() {
            problem(
                format!("{path}.since"),
                "since goes with older_than_days (the age it measures)".to_owned(),
            );
        }
    }
}

/// ECR's own lifecycle rules beyond its schema: unique priorities; tag lists exactly when
/// `tagged`; `any` evaluated last; one rule at most selects untagged images; `countUnit` exactly
/// with the `since…` count types; the archive storage class exactly with
/// `sinceImageTransitioned`; `transition` exactly with `targetStorageClass`; at most four wildcards
/// per tag pattern.
pub(super) fn lifecycle_problems(problems: &mut Vec<Problem>, at: &str, rules: Option<&Value>) {
    let Some(rules) = rules.and_then(Value::as_array) else {
        return;
    };
    let mut seen = BTreeSet::new();
    let mut untagged = 0;
    let top = rules
        .iter()
        .filter_map(|r| r["rulePriority"].as_u64())
        .max()
        .unwrap_or(0);
    for (i, rule) in rules.iter().enumerate() {
        let path = format!("{at}.cleanup.lifecycle[{i}]");
        let mut problem = |p: String, message: &str| {
            problems.push(Problem {
                path: p,
                message: message.to_owned(),
            })
        };
        let priority = rule["rulePriority"].as_u64().unwrap_or(0);
        if !seen.insert(priority) {
            problem(
                format!("{path}.rulePriority"),
                "rule priorities must be unique",
            );
        }
        let selection = &rule["selection"];
        let status = selection["tagStatus"].as_str().unwrap_or_default();
        let (patterns, prefixes) = (
            selection.get("tagPatternList"),
            selection.get("tagPrefixList"),
        );
        match status {
            "tagged" if patterns.is_some() == prefixes.is_some() => {
                problem(
                    format!("{path}.selection"),
                    "tagStatus tagged needs exactly one of tagPatternList or tagPrefixList",
                );
            }
            "untagged" | "any" if patterns.is_some() || prefixes.is_some() => {
                problem(
                    format!("{path}.selection"),
                    "only tagStatus tagged takes tagPatternList or tagPrefixList",
                );
            }
            "any" if priority != top => {
                problem(
                    format!("{path}.rulePriority"),
                    "a tagStatus any rule must have the highest rulePriority (evaluated last)",
                );
            }
            "untagged" => {
                untagged += 1;
                if untagged > 1 {
                    problem(
                        format!("{path}.selection.tagStatus"),
                        "only one rule may select untagged images",
                    );
                }
            }
            _ => {}
        }
        let count_type = selection["countType"].as_str().unwrap_or_default();
        let archive = selection["storageClass"].as_str() == Some("archive");
        if (count_type == "sinceImageTransitioned") != archive {
            problem(
                format!("{path}.selection.storageClass"),
                "storageClass archive goes exactly with countType sinceImageTransitioned",
            );
        }
        let transition = rule["action"]["type"].as_str() == Some("transition");
        if transition != rule["action"].get("targetStorageClass").is_some() {
            problem(
                format!("{path}.action"),
                "action type transition needs targetStorageClass archive (and only it takes one)",
            );
        }
        if transition && archive {
            problem(
                format!("{path}.action.type"),
                "archived images can only expire, not transition again",
            );
        }
        match (
            selection["countType"].as_str(),
            selection.get("countUnit").is_some(),
        ) {
            (Some(since), false) if since.starts_with("since") => problem(
                format!("{path}.selection.countUnit"),
                "countType since… needs countUnit: days",
            ),
            (Some("imageCountMoreThan"), true) => {
                problem(
                    format!("{path}.selection.countUnit"),
                    "imageCountMoreThan takes no countUnit",
                );
            }
            _ => {}
        }
        for (j, pattern) in strings(patterns) {
            if pattern.matches('*').count() > 4 {
                problem(
                    format!("{path}.selection.tagPatternList[{j}]"),
                    "at most 4 wildcards per pattern",
                );
            }
        }
    }
}
