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
        "repositories[0].cleanup.lifecycle[4].action.targetStorageClass",
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

#[test]
fn the_policy_schema_is_valid_under_its_meta_schema() {
    let schema: Value = serde_json::from_str(SCHEMA).unwrap();
    assert_eq!(
        schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
        "the dialect PolicySchema is generated for"
    );
    jsonschema::meta::validate(&schema).unwrap();
    // And so it compiles the ordinary way too, meta-schema check included.
    jsonschema::validator_for(&schema).unwrap();
}

/// Every document: the example policy, and that policy with each value in turn replaced by each
/// of a set of wrong ones, and an unknown key added to each object.
fn mutations_of_the_example_policy() -> Vec<Value> {
    let example: Value =
        serde_norway::from_str(include_str!("../../../../../infra/policy.yaml")).unwrap();
    let wrong: Vec<Value> = serde_json::from_str(
        r#"["", "A B", "x", -1, 0, 3, 1000000, 1.5, true, null, [], [""], {}, {"x": 1}]"#,
    )
    .unwrap();
    // Strings where regex engines and ECMA-262 may part: non-ASCII word characters and digits,
    // a line break before the end, a no-break space. The generated validator and the reference
    // one (the run-time engine) must judge them alike.
    let edges = [
        "é",
        "ab_é",
        "١٢٣٤٥٦٧٨٩٠١٢",
        "123456789012\n",
        "eu-west-1\n",
        "a\u{a0}b",
        "v1.2\n",
    ];
    let mut pointers = Vec::new();
    fn walk(value: &Value, at: String, out: &mut Vec<(String, bool)>) {
        match value {
            Value::Object(map) => {
                out.push((at.clone(), true));
                for (key, child) in map {
                    walk(child, format!("{at}/{key}"), out);
                }
            }
            Value::Array(items) => {
                out.push((at.clone(), false));
                for (i, child) in items.iter().enumerate() {
                    walk(child, format!("{at}/{i}"), out);
                }
            }
            _ => out.push((at, false)),
        }
    }
    walk(&example, String::new(), &mut pointers);
    let mut documents = vec![example.clone()];
    for (pointer, is_object) in &pointers {
        if pointer.is_empty() {
            continue;
        }
        for value in &wrong {
            let mut document = example.clone();
            *document.pointer_mut(pointer).unwrap() = value.clone();
            documents.push(document);
        }
        let at = example.pointer(pointer).unwrap();
        if at.is_string() {
            for edge in edges {
                let mut document = example.clone();
                *document.pointer_mut(pointer).unwrap() = Value::from(edge);
                documents.push(document);
            }
        }
        if *is_object {
            let mut document = example.clone();
            document.pointer_mut(pointer).unwrap()["unknown_key"] = Value::Bool(true);
            documents.push(document);
            // A replication destination: its external id, whose pattern is `\w`-based.
            if at.get("region").is_some() {
                for edge in edges.iter().chain(&["ok-id_1", "x\u{e9}y"]) {
                    let mut document = example.clone();
                    document.pointer_mut(pointer).unwrap()["external_id"] = Value::from(*edge);
                    documents.push(document);
                }
            }
        }
    }
    documents
}

#[test]
fn the_generated_validator_judges_as_the_schema_itself() {
    let schema: Value = serde_json::from_str(SCHEMA).unwrap();
    let direct = jsonschema::validator_for(&schema).unwrap();
    let errors = |found: jsonschema::ErrorIterator<'_>| {
        let mut found: Vec<(String, String)> = found
            .map(|e| (e.instance_path().as_str().to_owned(), e.to_string()))
            .collect();
        found.sort();
        found
    };
    let documents = mutations_of_the_example_policy();
    assert!(documents.len() > 1000, "{} documents", documents.len());
    let mut invalid = 0;
    for document in &documents {
        let expected = errors(direct.iter_errors(document));
        invalid += usize::from(!expected.is_empty());
        assert_eq!(
            errors(PolicySchema::iter_errors(document)),
            expected,
            "{document}"
        );
    }
    assert!(
        invalid > documents.len() / 2,
        "{invalid} of {} invalid",
        documents.len()
    );
}

#[test]
fn pattern_edges_are_judged_by_ascii_classes_and_a_strict_end() {
    let example: Value =
        serde_norway::from_str(include_str!("../../../../../infra/policy.yaml")).unwrap();
    let with = |pointer: &str, key: &str, value: &str| {
        let mut document = example.clone();
        document.pointer_mut(pointer).unwrap()[key] = Value::from(value);
        PolicySchema::is_valid(&document)
    };
    let destination = "/repositories/1/replication/destinations/1";
    assert!(with(destination, "external_id", "ok-id_1"));
    assert!(
        !with(destination, "external_id", "x\u{e9}y"),
        "é is not a \\w"
    );
    assert!(with(destination, "account", "210987654321"));
    assert!(
        !with(destination, "account", "١٢٣٤٥٦٧٨٩٠١٢"),
        "Arabic-Indic digits are not [0-9]"
    );
    assert!(
        !with(destination, "account", "210987654321\n"),
        "$ is the end, not a line end"
    );
}

/// A policy YAML holding an ECR lifecycle policy's rules, taken verbatim (JSON is YAML) from
/// AWS's own example text (`{"rules": [...]}`), as one repository's `cleanup.lifecycle`.
fn with_aws_lifecycle_policy(aws_policy: &str) -> String {
    let policy: Value = serde_json::from_str(aws_policy).unwrap();
    format!(
        "version: 1\nrepositories:\n  - match: a\n    cleanup:\n      lifecycle: {}\n",
        policy["rules"]
    )
}

/// AWS's example "Combining archive and expire rules", verbatim from
/// https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_examples.html
const AWS_COMBINING_ARCHIVE_AND_EXPIRE_RULES: &str = r#"
{
    "rules": [
        {
            "rulePriority": 1,
            "description": "Archive images older than 30 days",
            "selection": {
                "tagStatus": "any",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": 30
            },
            "action": {
                "type": "transition",
                "targetStorageClass": "archive"
            }
        },
        {
            "rulePriority": 2,
            "description": "Expire images archived for more than 365 days",
            "selection": {
                "tagStatus": "any",
                "storageClass": "archive",
                "countType": "sinceImageTransitioned",
                "countUnit": "days",
                "countNumber": 365
            },
            "action": {
                "type": "expire"
            }
        }
    ]
}
"#;

#[test]
fn aws_example_combining_archive_and_expire_rules_is_valid() {
    let yaml = with_aws_lifecycle_policy(AWS_COMBINING_ARCHIVE_AND_EXPIRE_RULES);
    assert!(problems(&yaml).is_empty(), "{:?}", problems(&yaml));
}

/// AWS's example "Filtering on archive transition time", verbatim from
/// https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_examples.html
const AWS_FILTERING_ON_ARCHIVE_TRANSITION_TIME: &str = r#"
{
    "rules": [
        {
            "rulePriority": 1,
            "description": "Expire images archived for more than 365 days",
            "selection": {
                "tagStatus": "any",
                "storageClass": "archive",
                "countType": "sinceImageTransitioned",
                "countUnit": "days",
                "countNumber": 365
            },
            "action": {
                "type": "expire"
            }
        }
    ]
}
"#;

/// AWS's example "Filtering on last pulled time", verbatim from
/// https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_examples.html
const AWS_FILTERING_ON_LAST_PULLED_TIME: &str = r#"
{
    "rules": [
        {
            "rulePriority": 1,
            "description": "Archive images not pulled in 90 days",
            "selection": {
                "tagStatus": "any",
                "countType": "sinceImagePulled",
                "countUnit": "days",
                "countNumber": 90
            },
            "action": {
                "type": "transition",
                "targetStorageClass": "archive"
            }
        }
    ]
}
"#;

/// AWS's example "Archiving images older than a specified number of days", verbatim from
/// https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_examples.html
const AWS_ARCHIVING_IMAGES_OLDER_THAN_A_NUMBER_OF_DAYS: &str = r#"
{
    "rules": [
        {
            "rulePriority": 1,
            "description": "Archive production images older than 30 days",
            "selection": {
                "tagStatus": "tagged",
                "tagPatternList": ["prod*"],
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": 30
            },
            "action": {
                "type": "transition",
                "targetStorageClass": "archive"
            }
        }
    ]
}
"#;

/// AWS's example policy with `edit` applied to its rules, as a policy YAML.
fn with_edited_aws_lifecycle_policy(aws_policy: &str, edit: impl FnOnce(&mut Value)) -> String {
    let mut policy: Value = serde_json::from_str(aws_policy).unwrap();
    edit(&mut policy["rules"]);
    with_aws_lifecycle_policy(&policy.to_string())
}

#[test]
fn aws_archive_examples_are_valid() {
    for example in [
        AWS_FILTERING_ON_ARCHIVE_TRANSITION_TIME,
        AWS_FILTERING_ON_LAST_PULLED_TIME,
        AWS_ARCHIVING_IMAGES_OLDER_THAN_A_NUMBER_OF_DAYS,
    ] {
        let yaml = with_aws_lifecycle_policy(example);
        assert!(problems(&yaml).is_empty(), "{:?}", problems(&yaml));
    }
}

// lifecycle_policy_parameters, storageClass: "When using a count type of sinceImageTransitioned,
// this is required, and the only supported value is archive."
#[test]
fn since_image_transitioned_requires_storage_class_archive() {
    for storage_class in [None, Some("standard")] {
        let yaml =
            with_edited_aws_lifecycle_policy(AWS_FILTERING_ON_ARCHIVE_TRANSITION_TIME, |rules| {
                let selection = rules[0]["selection"].as_object_mut().unwrap();
                match storage_class {
                    Some(class) => selection.insert("storageClass".into(), class.into()),
                    None => selection.remove("storageClass"),
                };
            });
        assert_eq!(
            paths(&yaml),
            ["repositories[0].cleanup.lifecycle[0].selection.storageClass"]
        );
    }
}

// lifecycle_policy_parameters, storageClass: "When using a countType of imageCountMoreThan,
// sinceImagePushed, or sinceImagePulled, the only supported value is standard."
#[test]
fn other_count_types_select_only_storage_class_standard() {
    for count_type in ["imageCountMoreThan", "sinceImagePushed", "sinceImagePulled"] {
        let yaml =
            with_edited_aws_lifecycle_policy(AWS_FILTERING_ON_ARCHIVE_TRANSITION_TIME, |rules| {
                let selection = &mut rules[0]["selection"];
                selection["countType"] = count_type.into();
                if count_type == "imageCountMoreThan" {
                    selection.as_object_mut().unwrap().remove("countUnit");
                }
                rules[0]["action"] =
                    serde_json::json!({"type": "transition", "targetStorageClass": "archive"});
            });
        assert!(
            paths(&yaml).contains(
                &"repositories[0].cleanup.lifecycle[0].selection.storageClass".to_owned()
            ),
            "{count_type}: {:?}",
            paths(&yaml)
        );
    }
    let explicit_standard =
        with_edited_aws_lifecycle_policy(AWS_FILTERING_ON_LAST_PULLED_TIME, |rules| {
            rules[0]["selection"]["storageClass"] = "standard".into();
        });
    assert!(
        paths(&explicit_standard).is_empty(),
        "{:?}",
        paths(&explicit_standard)
    );
}

// lifecycle_policy_parameters, targetStorageClass: "Required: yes, if type is transition".
#[test]
fn transition_requires_target_storage_class() {
    let yaml = with_edited_aws_lifecycle_policy(AWS_FILTERING_ON_LAST_PULLED_TIME, |rules| {
        rules[0]["action"]
            .as_object_mut()
            .unwrap()
            .remove("targetStorageClass");
    });
    assert_eq!(
        paths(&yaml),
        ["repositories[0].cleanup.lifecycle[0].action.targetStorageClass"]
    );
}

// lifecycle_policy_examples: "The sinceImagePulled count type must be used with the transition
// action. It cannot be used with the expire action."
#[test]
fn since_image_pulled_cannot_expire() {
    let yaml = with_edited_aws_lifecycle_policy(AWS_FILTERING_ON_LAST_PULLED_TIME, |rules| {
        rules[0]["action"] = serde_json::json!({"type": "expire"});
    });
    assert_eq!(
        paths(&yaml),
        ["repositories[0].cleanup.lifecycle[0].action.type"]
    );
}

// lifecycle_policy_examples: "The sinceImageTransitioned count type must be used with the expire
// action and the archive storage class."
#[test]
fn since_image_transitioned_must_expire() {
    let yaml =
        with_edited_aws_lifecycle_policy(AWS_FILTERING_ON_ARCHIVE_TRANSITION_TIME, |rules| {
            rules[0]["action"] =
                serde_json::json!({"type": "transition", "targetStorageClass": "archive"});
        });
    assert_eq!(
        paths(&yaml),
        ["repositories[0].cleanup.lifecycle[0].action.type"]
    );
}

// archive-image: "Archived images have a minimum storage duration of 90 days. You cannot
// configure lifecycle policies that delete images that have been in archive for less than 90
// days."
#[test]
fn expiring_archived_images_before_90_days_is_refused() {
    let after = |days: u64| {
        with_edited_aws_lifecycle_policy(AWS_COMBINING_ARCHIVE_AND_EXPIRE_RULES, |rules| {
            rules[1]["selection"]["countNumber"] = days.into();
        })
    };
    assert_eq!(
        paths(&after(89)),
        ["repositories[0].cleanup.lifecycle[1].selection.countNumber"]
    );
    assert!(paths(&after(90)).is_empty(), "{:?}", paths(&after(90)));
}

// lifecycle_policy_parameters, rulePriority: "A rule with a tagStatus value of any must have the
// highest value for rulePriority and be evaluated last": among the rules selecting its storage
// class, as AWS's example "Combining archive and expire rules" has it.
#[test]
fn an_any_rule_is_evaluated_last_among_the_rules_selecting_its_storage_class() {
    let yaml = with_edited_aws_lifecycle_policy(AWS_COMBINING_ARCHIVE_AND_EXPIRE_RULES, |rules| {
        let mut standard =
            serde_json::from_str::<Value>(AWS_ARCHIVING_IMAGES_OLDER_THAN_A_NUMBER_OF_DAYS)
                .unwrap()["rules"][0]
                .clone();
        standard["rulePriority"] = 3.into();
        rules.as_array_mut().unwrap().push(standard);
    });
    assert_eq!(
        paths(&yaml),
        ["repositories[0].cleanup.lifecycle[0].rulePriority"]
    );
}

// LifecyclePolicies: "Only one rule selecting a specific storage class is allowed to select
// untagged images."
#[test]
fn one_rule_selecting_a_storage_class_may_select_untagged_images() {
    let untagged = |rules: &mut Value| {
        for rule in rules.as_array_mut().unwrap() {
            rule["selection"]["tagStatus"] = "untagged".into();
        }
    };
    let one_per_class =
        with_edited_aws_lifecycle_policy(AWS_COMBINING_ARCHIVE_AND_EXPIRE_RULES, untagged);
    assert!(
        paths(&one_per_class).is_empty(),
        "{:?}",
        paths(&one_per_class)
    );
    let two_standard =
        with_edited_aws_lifecycle_policy(AWS_COMBINING_ARCHIVE_AND_EXPIRE_RULES, |rules| {
            let mut second = rules[0].clone();
            second["rulePriority"] = 3.into();
            rules.as_array_mut().unwrap().push(second);
            untagged(rules);
        });
    assert_eq!(
        paths(&two_standard),
        ["repositories[0].cleanup.lifecycle[2].selection.tagStatus"]
    );
}
