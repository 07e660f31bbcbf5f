//! ECR's own checks on lifecycle rules, applied to janitor's rules and to native lifecycle policies
//! alike: what ECR's PutLifecyclePolicy would refuse is refused when the policy is loaded.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::problem::Problem;
use super::validate::strings;

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

/// ECR's own lifecycle rules beyond its schema, each from AWS's ECR user guide (the page is named at
/// each check): unique priorities; tag lists exactly when `tagged`; within the rules selecting one
/// storage class, `any` evaluated last and at most one rule for untagged images; `storageClass`
/// `archive` exactly with `sinceImageTransitioned`; `targetStorageClass` with every `transition`;
/// `sinceImagePulled` only transitions and `sinceImageTransitioned` only expires; no expiry of
/// images archived for less than 90 days; `countUnit` exactly with the `since…` count types; at
/// most four wildcards per tag pattern.
///
/// Pages cited below, all under https://docs.aws.amazon.com/AmazonECR/latest/userguide/:
/// lifecycle_policy_parameters.html ("Lifecycle policy properties"), LifecyclePolicies.html
/// ("Lifecycle policy evaluation rules"), lifecycle_policy_examples.html and archive-image.html.
pub(super) fn lifecycle_problems(problems: &mut Vec<Problem>, at: &str, rules: Option<&Value>) {
    let Some(rules) = rules.and_then(Value::as_array) else {
        return;
    };
    let top = highest_priorities(rules);
    let mut seen = BTreeSet::new();
    let mut untagged: BTreeMap<String, usize> = BTreeMap::new();
    for (i, rule) in rules.iter().enumerate() {
        let path = format!("{at}.cleanup.lifecycle[{i}]");
        let class = storage_class(rule);
        let priority = rule["rulePriority"].as_u64().unwrap_or(0);
        if !seen.insert(priority) {
            problem(
                problems,
                format!("{path}.rulePriority"),
                "rule priorities must be unique",
            );
        }
        let selection = &rule["selection"];
        tag_status_problems(
            problems,
            &path,
            selection,
            &class,
            priority,
            &top,
            &mut untagged,
        );
        let count_type = selection["countType"].as_str().unwrap_or_default();
        storage_class_problems(problems, &path, &class, count_type);
        action_problems(problems, &path, rule, &class, count_type);
        count_unit_problems(problems, &path, selection);
        for (j, pattern) in strings(selection.get("tagPatternList")) {
            if pattern.matches('*').count() > 4 {
                problem(
                    problems,
                    format!("{path}.selection.tagPatternList[{j}]"),
                    "at most 4 wildcards per pattern",
                );
            }
        }
    }
}

/// Records one broken rule of ECR's: `message` at `path`.
fn problem(problems: &mut Vec<Problem>, path: String, message: &str) {
    problems.push(Problem {
        path,
        message: message.to_owned(),
    });
}

/// The storage class a rule selects. lifecycle_policy_parameters, storageClass: "If you omit this,
/// the value of `standard` will be used."
fn storage_class(rule: &Value) -> String {
    rule["selection"]["storageClass"]
        .as_str()
        .unwrap_or("standard")
        .to_owned()
}

/// The highest rulePriority among the rules selecting each storage class.
fn highest_priorities(rules: &[Value]) -> BTreeMap<String, u64> {
    let mut top: BTreeMap<String, u64> = BTreeMap::new();
    for rule in rules {
        let priority = rule["rulePriority"].as_u64().unwrap_or(0);
        let highest = top.entry(storage_class(rule)).or_insert(priority);
        *highest = (*highest).max(priority);
    }
    top
}

/// Whether a rule's tagStatus fits its tag lists and its priority among the rules selecting its
/// storage class (`top`, the highest of each); counts those selecting untagged images in `untagged`.
fn tag_status_problems(
    problems: &mut Vec<Problem>,
    path: &str,
    selection: &Value,
    class: &str,
    priority: u64,
    top: &BTreeMap<String, u64>,
    untagged: &mut BTreeMap<String, usize>,
) {
    let status = selection["tagStatus"].as_str().unwrap_or_default();
    let (patterns, prefixes) = (
        selection.get("tagPatternList"),
        selection.get("tagPrefixList"),
    );
    match status {
        "tagged" if patterns.is_some() == prefixes.is_some() => {
            problem(
                problems,
                format!("{path}.selection"),
                "tagStatus tagged needs exactly one of tagPatternList or tagPrefixList",
            );
        }
        "untagged" | "any" if patterns.is_some() || prefixes.is_some() => {
            problem(
                problems,
                format!("{path}.selection"),
                "only tagStatus tagged takes tagPatternList or tagPrefixList",
            );
        }
        // lifecycle_policy_parameters, rulePriority: "A rule with a `tagStatus` value of `any`
        // must have the highest value for `rulePriority` and be evaluated last." Among the
        // rules selecting its storage class: AWS's own example "Combining archive and expire
        // rules" (lifecycle_policy_examples) archives with an `any` rule of priority 1 and
        // expires archived images with an `any` rule of priority 2, and LifecyclePolicies
        // scopes its rules to "all rules selecting a specific storage class".
        "any" if Some(&priority) != top.get(class) => {
            problem(
                problems,
                format!("{path}.rulePriority"),
                "a tagStatus any rule must have the highest rulePriority of the rules selecting its storageClass (evaluated last)",
            );
        }
        // LifecyclePolicies: "Only one rule selecting a specific storage class is allowed to
        // select untagged images."
        "untagged" => {
            let count = untagged.entry(class.to_owned()).or_default();
            *count += 1;
            if *count > 1 {
                problem(
                    problems,
                    format!("{path}.selection.tagStatus"),
                    "only one rule selecting a storageClass may select untagged images",
                );
            }
        }
        _ => {}
    }
}

/// Whether a rule's countType takes its storage class (`class`).
fn storage_class_problems(problems: &mut Vec<Problem>, path: &str, class: &str, count_type: &str) {
    let transitioned = count_type == "sinceImageTransitioned";
    // lifecycle_policy_parameters, storageClass: "When using a count type of
    // `sinceImageTransitioned`, this is required, and the only supported value is `archive`."
    if transitioned && class != "archive" {
        problem(
            problems,
            format!("{path}.selection.storageClass"),
            "countType sinceImageTransitioned needs storageClass archive",
        );
    }
    // lifecycle_policy_parameters, storageClass: "When using a `countType` of
    // `imageCountMoreThan`, `sinceImagePushed`, or `sinceImagePulled`, the only supported
    // value is `standard`."
    if !transitioned && class != "standard" {
        problem(
            problems,
            format!("{path}.selection.storageClass"),
            "countType imageCountMoreThan, sinceImagePushed and sinceImagePulled take only storageClass standard",
        );
    }
}

/// Whether a rule's action fits its countType and storage class (`class`): what it transitions
/// to, what it may expire, and not before ECR's 90 days in archive.
fn action_problems(
    problems: &mut Vec<Problem>,
    path: &str,
    rule: &Value,
    class: &str,
    count_type: &str,
) {
    let transitioned = count_type == "sinceImageTransitioned";
    let action = rule["action"]["type"].as_str().unwrap_or_default();
    // lifecycle_policy_parameters, targetStorageClass: "Required: yes, if `type` is
    // `transition`" (its only value, archive, is the schema's).
    if action == "transition" && rule["action"].get("targetStorageClass").is_none() {
        problem(
            problems,
            format!("{path}.action.targetStorageClass"),
            "action type transition needs targetStorageClass archive",
        );
    }
    // lifecycle_policy_examples: "The `sinceImagePulled` count type must be used with the
    // `transition` action. It cannot be used with the `expire` action."
    if count_type == "sinceImagePulled" && action != "transition" {
        problem(
            problems,
            format!("{path}.action.type"),
            "countType sinceImagePulled only transitions images (to archive), it cannot expire them",
        );
    }
    // lifecycle_policy_examples: "The `sinceImageTransitioned` count type must be used with
    // the `expire` action and the `archive` storage class."
    if transitioned && action != "expire" {
        problem(
            problems,
            format!("{path}.action.type"),
            "countType sinceImageTransitioned only expires (archived) images",
        );
    }
    // archive-image: "Archived images have a minimum storage duration of 90 days. You cannot
    // configure lifecycle policies that delete images that have been in archive for less
    // than 90 days." countNumber counts days here: countUnit's only value is days (the
    // schema's enum), and its absence is reported by count_unit_problems.
    if action == "expire"
        && class == "archive"
        && transitioned
        && rule["selection"]["countNumber"]
            .as_u64()
            .is_some_and(|days| days < 90)
    {
        problem(
            problems,
            format!("{path}.selection.countNumber"),
            "archived images can only be expired after at least 90 days in archive (ECR's minimum storage duration)",
        );
    }
}

/// Whether a rule has a countUnit exactly when its countType counts days.
/// lifecycle_policy_parameters, countUnit: "Required: yes, only if `countType` is set to
/// `sinceImagePushed`, `sinceImagePulled`, or `sinceImageTransitioned`" and "an error will occur
/// if you specify a count unit when `countType` is any other value."
fn count_unit_problems(problems: &mut Vec<Problem>, path: &str, selection: &Value) {
    match (
        selection["countType"].as_str(),
        selection.get("countUnit").is_some(),
    ) {
        (Some(since), false) if since.starts_with("since") => problem(
            problems,
            format!("{path}.selection.countUnit"),
            "countType since… needs countUnit: days",
        ),
        (Some("imageCountMoreThan"), true) => {
            problem(
                problems,
                format!("{path}.selection.countUnit"),
                "imageCountMoreThan takes no countUnit",
            );
        }
        _ => {}
    }
}
