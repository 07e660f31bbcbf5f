//! The `warden` binary, run as a user runs it, on the fixtures in events/ and the shipped policy:
//! the commands that need no AWS. (Against the emulator: registry.rs, operator.rs.)
#![allow(clippy::unwrap_used)] // test code: a panic is a failed assertion

mod support;

use support::{root, stdout_json, warden};

/// Every fixture and the kind it must parse to. A new fixture must be added here.
const FIXTURES: &[(&str, &str)] = &[
    ("cloudtrail.create-repository-denied.json", "cloudtrail"),
    (
        "cloudtrail.create-repository-immutable-with-exclusion.json",
        "cloudtrail",
    ),
    ("cloudtrail.create-repository.json", "cloudtrail"),
    ("cloudtrail.delete-lifecycle-policy.json", "cloudtrail"),
    ("cloudtrail.put-image-tag-mutability.json", "cloudtrail"),
    ("cloudtrail.put-lifecycle-policy.json", "cloudtrail"),
    (
        "cloudtrail.put-replication-configuration.json",
        "cloudtrail",
    ),
    ("cloudtrail.set-repository-policy.json", "cloudtrail"),
    ("ecr-image-action.archive.json", "image_storage_class"),
    ("ecr-image-action.delete.json", "image_delete"),
    ("ecr-image-action.push-oci-artifact.json", "image_push"),
    ("ecr-image-action.push-untagged.json", "image_push"),
    ("ecr-image-action.push.json", "image_push"),
    ("ecr-image-action.restore.json", "image_storage_class"),
    ("ecr-image-scan.complete-untagged-clean.json", "basic_scan"),
    ("ecr-image-scan.complete.json", "basic_scan"),
    ("ecr-image-scan.failed.json", "basic_scan"),
    (
        "ecr-pull-through-cache-action.failed.json",
        "pull_through_cache",
    ),
    (
        "ecr-pull-through-cache-action.success.json",
        "pull_through_cache",
    ),
    ("ecr-referrer-action.push.json", "referrer"),
    ("ecr-replication-action.failed.json", "replication"),
    ("ecr-replication-action.success.json", "replication"),
    ("ecr-scan-resource-change.json", "scan_resource_change"),
    ("inspector2-finding.active.json", "inspector_finding"),
    ("inspector2-finding.closed.json", "inspector_finding"),
    ("inspector2-finding.ec2-instance.json", "ignored"),
    ("inspector2-finding.suppressed.json", "inspector_finding"),
    (
        "inspector2-scan.initial-scan-complete.json",
        "inspector_scan",
    ),
    ("other.ec2-instance-state-change.json", "ignored"),
    ("scan-gate.signature-deadline.json", "signature_deadline"),
    ("scheduled-event.json", "schedule"),
    ("sns.warden-message.json", "sns"),
    ("sqs.inspector2-finding-batch.json", "sqs"),
];

#[test]
fn every_fixture_explains_to_its_kind() {
    let mut on_disk: Vec<String> = std::fs::read_dir(root().join("events"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".json"))
        .collect();
    on_disk.sort();
    let listed: Vec<String> = FIXTURES.iter().map(|(f, _)| (*f).to_owned()).collect();
    assert_eq!(
        on_disk, listed,
        "events/ and FIXTURES must list the same files"
    );
    for (file, kind) in FIXTURES {
        let out = warden(&["explain", &format!("events/{file}")]);
        assert!(
            out.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json = stdout_json(&out);
        assert_eq!(json["kind"], *kind, "{file}");
        if !matches!(*kind, "sns" | "sqs") {
            assert_eq!(json["account"], "123456789012", "{file}");
            assert_eq!(json["region"], "us-east-1", "{file}");
        }
    }
}

#[test]
fn explain_reports_the_fields_of_each_kind() {
    let scan = stdout_json(&warden(&[
        "explain",
        "events/inspector2-scan.initial-scan-complete.json",
    ]));
    assert_eq!(
        scan["repository"], "team-a/api",
        "the ARN in repository-name resolves to the plain name"
    );
    assert_eq!(
        scan["severity_counts"]["TOTAL"], 9,
        "unknown severity keys are kept"
    );
    assert_eq!(scan["tags"], serde_json::json!(["v1", "latest"]));

    let basic = stdout_json(&warden(&[
        "explain",
        "events/ecr-image-scan.complete-untagged-clean.json",
    ]));
    assert_eq!(basic["tags"], serde_json::json!([]));
    assert_eq!(basic["severity_counts"], serde_json::json!({}));

    let untagged = stdout_json(&warden(&[
        "explain",
        "events/ecr-image-action.push-untagged.json",
    ]));
    assert_eq!(
        untagged["tags"],
        serde_json::json!([]),
        "an empty image-tag is no tag"
    );

    let finding = stdout_json(&warden(&[
        "explain",
        "events/inspector2-finding.closed.json",
    ]));
    assert_eq!(finding["finding"]["status"], "CLOSED");
    assert_eq!(finding["finding"]["vulnerability_id"], "CVE-2026-0001");
    assert_eq!(
        finding["finding"]["updated_at"], "2026-11-28T01:02:03Z",
        "non-ISO timestamps are read"
    );

    let created = stdout_json(&warden(&[
        "explain",
        "events/cloudtrail.create-repository-immutable-with-exclusion.json",
    ]));
    assert_eq!(
        created["resulting_mutability"]["mode"],
        "IMMUTABLE_WITH_EXCLUSION"
    );
    assert_eq!(
        created["resulting_mutability"]["exclusions"],
        serde_json::json!(["latest", "dev-*"])
    );

    let batch = stdout_json(&warden(&[
        "explain",
        "events/sqs.inspector2-finding-batch.json",
    ]));
    assert_eq!(batch["records"][0]["event"]["kind"], "inspector_finding");
    assert!(
        batch["records"][2]["error"]
            .as_str()
            .unwrap()
            .contains("key must be a string"),
        "{batch}"
    );
}

#[test]
fn malformed_input_exits_2_with_one_line_naming_the_problem() {
    for (file, expect) in [
        ("truncated.json", "malformed JSON at line"),
        ("trailing-comma.json", "trailing comma"),
        (
            "wrong-type-severity-counts.json",
            "`detail.finding-severity-counts`",
        ),
        (
            "wrong-type-severity-count-value.json",
            "`detail.finding-severity-counts.CRITICAL`",
        ),
        ("missing-detail.json", "field `detail` is missing"),
        (
            "missing-repository-name.json",
            "`detail.repository-name` is missing",
        ),
        ("bad-digest.json", "`detail.image-digest`"),
    ] {
        let out = warden(&["explain", &format!("events/malformed/{file}")]);
        assert_eq!(out.status.code(), Some(2), "{file}");
        assert!(out.stdout.is_empty(), "{file}: nothing on stdout");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.trim_end().lines().count(), 1, "{file}: one line: {err}");
        assert!(err.contains(expect), "{file}: {err}");
    }
}

#[test]
fn validate_accepts_the_example_and_names_every_problem() {
    let ok = warden(&["validate", "infra/policy.yaml"]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );

    let dir = std::env::temp_dir().join(format!("warden-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.yaml");
    std::fs::write(
        &bad,
        r#"version: 1
repositories:
  - match: "team-a/*"
    immutability:
      mode: IMMUTABLE_WITH_EXCLUSION
      exclusions: ["latest", "dev-*", "a", "b", "c", "d"]
  - match: "team-b/*"
    immutability:
      mode: IMMUTABLE_WITH_EXCLUSION
      exclusions: ["release/*"]
    protected_tags:
      patterns: ["v[1-"]
    gate:
      max_findings: { CRITICAL: 0 }
      max_findngs: { HIGH: 0 }
"#,
    )
    .unwrap();
    let out = warden(&["validate", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let report = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "repositories[0].immutability.exclusions: ",
        "repositories[1].immutability.exclusions[0]: ",
        "repositories[1].protected_tags.patterns[0]: `v[1-` is not a valid glob",
        "repositories[1].gate.max_findngs: unknown key `max_findngs`; allowed here:",
    ] {
        assert!(report.contains(needle), "missing {needle:?} in:\n{report}");
    }
    assert!(
        report.contains("max_findings"),
        "the allowed keys are listed: {report}"
    );
}

#[test]
fn explain_with_a_policy_shows_tag_guards_decision() {
    let push = stdout_json(&warden(&[
        "explain",
        "--policy",
        "infra/policy.yaml",
        "events/ecr-image-action.push.json",
    ]));
    assert_eq!(push["policy"]["protected_tags"]["pattern"], "team-a/*");
    assert_eq!(push["tag_guard"]["needs"]["need"], "ledger_claim", "{push}");
    assert_eq!(push["tag_guard"]["needs"]["tag"], "v1.2.3");

    // The same CreateRepository for a repository the policy wants immutable: fix it, from the event alone.
    let mut event: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("events/cloudtrail.create-repository.json")).unwrap(),
    )
    .unwrap();
    event["detail"]["responseElements"]["repository"]["repositoryName"] = "svc/web".into();
    let file = std::env::temp_dir().join(format!("warden-cli-ct-{}.json", std::process::id()));
    std::fs::write(&file, event.to_string()).unwrap();
    let created = stdout_json(&warden(&[
        "explain",
        "--policy",
        "infra/policy.yaml",
        file.to_str().unwrap(),
    ]));
    let plan = &created["tag_guard"]["plan"];
    assert_eq!(
        plan["actions"][0]["action"], "set_tag_mutability",
        "{created}"
    );
    assert_eq!(
        plan["actions"][0]["setting"]["mode"],
        "IMMUTABLE_WITH_EXCLUSION"
    );
    assert_eq!(plan["actions"][1]["action"], "publish");
    assert_eq!(plan["actions"][1]["message"]["kind"], "repository_fixed");

    let conformant = stdout_json(&warden(&[
        "explain",
        "--policy",
        "infra/policy.yaml",
        "events/cloudtrail.create-repository.json",
    ]));
    assert_eq!(
        conformant["tag_guard"]["plan"]["actions"],
        serde_json::json!([])
    );
}

#[test]
fn explain_with_a_policy_shows_scan_gates_verdict_and_actions() {
    let dir = std::env::temp_dir().join(format!("warden-cli-gate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let policy = dir.join("policy.yaml");
    std::fs::write(&policy, "version: 1\nrepositories:\n  - match: '**'\n    gate: { max_findings: { CRITICAL: 0 }, on_fail: quarantine }\n").unwrap();
    let out = stdout_json(&warden(&[
        "explain",
        "--policy",
        policy.to_str().unwrap(),
        "events/ecr-image-scan.complete.json",
    ]));
    let plan = &out["scan_gate"]["plan"];
    assert!(
        plan["decision"]
            .as_str()
            .unwrap()
            .contains("FAIL: 1 CRITICAL finding (at most 0 allowed)"),
        "{out}"
    );
    let actions: Vec<&str> = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["move_tags", "publish"]);
    // The fixture's image is sha256:7f5b2640fe6f…: its quarantine tags carry that short digest.
    assert_eq!(plan["actions"][0]["moves"][0]["from"], "v1");
    assert_eq!(
        plan["actions"][0]["moves"][0]["to"], "quarantine-v1-7f5b2640fe6f",
        "quarantine tags are unique per image"
    );
    assert_eq!(plan["actions"][1]["message"]["verdict"], "FAIL");

    // With the shipped policy (an exception on team-a), the findings decide: explain says so.
    let team = stdout_json(&warden(&[
        "explain",
        "--policy",
        "infra/policy.yaml",
        "events/ecr-image-scan.complete.json",
    ]));
    assert_eq!(team["scan_gate"]["needs"]["need"], "findings", "{team}");
    // A push: a tag pushed onto a failed image is taken away, which the recorded verdict decides.
    let push = stdout_json(&warden(&[
        "explain",
        "--policy",
        "infra/policy.yaml",
        "events/ecr-image-action.push.json",
    ]));
    assert_eq!(
        push["scan_gate"]["needs"]["need"], "recorded_verdict",
        "{push}"
    );
    let skip = stdout_json(&warden(&[
        "explain",
        "--policy",
        "infra/policy.yaml",
        "events/ecr-image-action.delete.json",
    ]));
    assert!(
        skip["scan_gate"]["skip"]
            .as_str()
            .unwrap()
            .contains("not scan-gate's"),
        "{skip}"
    );
}

#[test]
fn the_sns_fixture_carries_a_warden_message_of_the_current_schema() {
    let out = stdout_json(&warden(&["explain", "events/sns.warden-message.json"]));
    let record = &out["records"][0];
    assert_eq!(record["warden_message"]["kind"], "tag_reverted", "{out}");
    assert_eq!(record["warden_message"]["subject"], record["subject"]);
    assert_eq!(record["attributes"]["kind"], "tag_reverted");
}

#[test]
fn replicate_without_backfill_or_with_a_missing_policy_is_a_usage_error() {
    let out = warden(&["replicate", "--policy", "infra/policy.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--backfill"));
    let out = warden(&[
        "replicate",
        "--backfill",
        "--policy",
        "no/such/policy.yaml",
        "--dry-run",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no/such/policy.yaml"));
}
