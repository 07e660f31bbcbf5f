//! `warden plan cleanup`, `warden cleanup --apply` and `warden replicate`, run as a user runs them
//! against the local AWS emulator.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed assertion

mod support;

use std::process::Command;

use support::{root, stdout_json};

#[tokio::test]
async fn plan_cleanup_reads_the_registry_and_changes_nothing() {
    use warden_tests::Emulator;
    let acct = Emulator::shared().account().await;
    acct.create_repository("cli/app").await;
    let mut digests = Vec::new();
    for i in 0..3 {
        digests.push(
            acct.push("cli/app", &format!("cli-{i}"), Some(&format!("build-{i}")))
                .await
                .0,
        );
    }
    let ages: Vec<_> = digests
        .iter()
        .enumerate()
        .map(|(i, d)| (d, (30 - i as i64) * 86_400, None))
        .collect();
    acct.age_images("cli/app", &ages).await;
    let dir = std::env::temp_dir().join(format!("warden-cli-plan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let policy = dir.join("policy.yaml");
    std::fs::write(
        &policy,
        "version: 1\nrepositories:\n  - match: 'cli/*'\n    cleanup:\n      apply: true\n      rules:\n        - { priority: 1, select: { tag_status: tagged, tags: ['build-*'] }, keep_newest: 1 }\n",
    )
    .unwrap();
    let before = acct.tags_by_digest("cli/app").await;
    let plan = |json: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_warden"));
        cmd.args(["plan", "cleanup", "--policy", policy.to_str().unwrap()])
            .current_dir(root());
        if json {
            cmd.arg("--json");
        }
        cmd.envs(acct.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .unwrap()
    };
    let out = plan(true);
    assert!(
        out.status.success(),
        "{} {}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    let json = stdout_json(&out);
    let repo = &json["repositories"][0];
    assert_eq!(repo["repository"], "cli/app");
    assert_eq!(repo["applied"], false, "plan never applies");
    assert_eq!(
        repo["plan"]["delete"],
        serde_json::json!([digests[0], digests[1]])
    );
    let summary = String::from_utf8(plan(false).stdout).unwrap();
    assert!(
        summary.contains("cli/app: 3 images, would delete 2, keep 1"),
        "{summary}"
    );
    assert!(
        summary.contains("keep      1  rule 1: among the newest 1"),
        "{summary}"
    );
    assert!(summary.contains("plan only: nothing was deleted"));
    assert_eq!(
        acct.tags_by_digest("cli/app").await,
        before,
        "a plan changes nothing"
    );
}

#[tokio::test]
async fn replicate_backfill_dry_run_lists_and_copies_nothing_then_copies_once() {
    use warden_aws::adapters::verdicts::DynamoVerdicts;
    use warden_core::ports::VerdictStore;
    use warden_core::records::VerdictRecord;
    use warden_tests::Emulator;
    let acct = Emulator::shared().account().await;
    let table = acct.state_table().await;
    acct.create_repository("bf/open").await;
    acct.create_repository("bf/gated").await;
    let layer = |n: u8| vec![n; 1500];
    let (open, _) = acct
        .push_layers("us-east-1", "bf/open", "o", &[layer(1)], Some("1.0"))
        .await;
    let (passed, _) = acct
        .push_layers("us-east-1", "bf/gated", "p", &[layer(2)], Some("v1"))
        .await;
    let (unjudged, _) = acct
        .push_layers("us-east-1", "bf/gated", "u", &[layer(3)], Some("v2"))
        .await;
    DynamoVerdicts::new(aws_sdk_dynamodb::Client::new(&acct.sdk), table.clone())
        .claim(&VerdictRecord {
            repository: warden_core::names::RepositoryName::new("bf/gated").unwrap(),
            digest: passed.clone(),
            verdict: warden_core::verdict::Verdict::Pass,
            max_severity: None,
            fingerprint: "pass".into(),
            policy_pattern: None,
            decided_at: chrono::Utc::now(),
            evidence_at: chrono::Utc::now(),
        })
        .await
        .unwrap();
    let dir = std::env::temp_dir().join(format!("warden-cli-backfill-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let policy = dir.join("policy.yaml");
    std::fs::write(
        &policy,
        "version: 1\nrepositories:\n  - match: 'bf/open'\n    replication: { require_pass: false, destinations: [{ region: eu-west-1 }] }\n  - match: 'bf/gated'\n    replication: { destinations: [{ region: eu-west-1 }] }\n",
    )
    .unwrap();
    let backfill = |extra: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_warden"));
        cmd.args([
            "replicate",
            "--backfill",
            "--policy",
            policy.to_str().unwrap(),
            "--table",
            &table,
        ])
        .args(extra)
        .current_dir(root())
        .envs(acct.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        cmd.output().unwrap()
    };
    let eu = acct.ecr_in("eu-west-1");
    let copied = || async {
        let mut out = Vec::new();
        for repo in ["bf/open", "bf/gated"] {
            if let Ok(listed) = eu.list_images().repository_name(repo).send().await {
                out.extend(
                    listed
                        .image_ids()
                        .iter()
                        .map(|i| i.image_digest().unwrap().to_owned()),
                );
            }
        }
        out.sort();
        out
    };

    let plan = backfill(&["--dry-run"]);
    let text = String::from_utf8_lossy(&plan.stdout);
    assert!(
        plan.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&plan.stderr)
    );
    assert!(
        text.contains(&format!(
            "bf/open@sha256:{} 1.0 → {}/eu-west-1/bf/open: would copy",
            open.short(),
            acct.id
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("bf/gated@sha256:{} v1", passed.short())),
        "{text}"
    );
    assert!(
        !text.contains(unjudged.short()),
        "no verdict, no copy: {text}"
    );
    assert!(
        text.contains("total: 2 of 3 images in 2 repositories, 1 skipped"),
        "{text}"
    );
    assert!(text.contains("plan only: nothing was copied"), "{text}");
    assert!(copied().await.is_empty(), "a dry run copies nothing");

    let run = backfill(&["--json"]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let report = stdout_json(&run);
    assert_eq!(
        (report["copied"].as_u64(), report["layers_copied"].as_u64()),
        (Some(2), Some(4)),
        "{report}"
    );
    let mut expected = vec![open.to_string(), passed.to_string()];
    expected.sort();
    assert_eq!(copied().await, expected);

    let again = stdout_json(&backfill(&["--json"]));
    assert_eq!(
        (
            again["bytes_copied"].as_u64(),
            again["layers_copied"].as_u64()
        ),
        (Some(0), Some(0)),
        "{again}"
    );

    let missing = backfill(&["--repository", "bf/none"]);
    assert_eq!(
        missing.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
    assert!(String::from_utf8_lossy(&missing.stderr).contains("bf/none"));
}

#[tokio::test]
async fn replicate_native_plans_then_puts_the_registry_configuration_once() {
    use warden_tests::Emulator;
    let acct = Emulator::shared().account().await;
    let dir = std::env::temp_dir().join(format!("warden-cli-native-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let policy = dir.join("policy.yaml");
    std::fs::write(
        &policy,
        "version: 1\nrepositories:\n  - match: 'open/**'\n    replication: { native: true, require_pass: false, destinations: [{ region: eu-west-1 }] }\n  - match: 'tools/**'\n    replication: { native: true, require_pass: false, destinations: [{ region: eu-west-1 }] }\n",
    )
    .unwrap();
    let native = |extra: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_warden"));
        cmd.args([
            "replicate",
            "--native",
            "--policy",
            policy.to_str().unwrap(),
        ])
        .args(extra)
        .current_dir(root())
        .envs(acct.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let ecr = aws_sdk_ecr::Client::new(&acct.sdk);
    let rules = || async {
        let registry = ecr.describe_registry().send().await.unwrap();
        registry
            .replication_configuration()
            .map(|c| {
                c.rules()
                    .iter()
                    .map(|r| {
                        let filters: Vec<&str> =
                            r.repository_filters().iter().map(|f| f.filter()).collect();
                        format!("{} -> {}", filters.join(","), r.destinations()[0].region())
                    })
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };

    let plan = native(&[]);
    assert!(plan.contains("(no rules)"), "{plan}");
    assert!(
        plan.contains(&format!("open/*, tools/* → {}/eu-west-1", acct.id)),
        "{plan}"
    );
    assert!(plan.contains("plan only: nothing was changed"), "{plan}");
    assert!(rules().await.is_empty(), "a plan changes nothing");

    assert!(native(&["--apply"]).contains("applied"));
    assert_eq!(rules().await, ["open/,tools/ -> eu-west-1"]);
    assert!(
        native(&["--apply"]).contains("in place"),
        "a second apply puts nothing"
    );
}

#[tokio::test]
async fn cleanup_apply_deletes_only_where_the_policy_applies_and_only_once() {
    use support::{policy_file, text, warden_in};
    use warden_tests::Emulator;
    let acct = Emulator::shared().account().await;
    for repo in ["ci/app", "ci/held"] {
        acct.create_repository(repo).await;
        let mut ages = Vec::new();
        for i in 0..3 {
            let (digest, _) = acct
                .push(repo, &format!("{repo}-{i}"), Some(&format!("build-{i}")))
                .await;
            ages.push((digest, (30 - i as i64) * 86_400));
        }
        let aged: Vec<_> = ages.iter().map(|(d, age)| (d, *age, None)).collect();
        acct.age_images(repo, &aged).await;
    }
    let policy = policy_file(
        "cleanup-apply",
        "version: 1\nrepositories:\n  - match: 'ci/app'\n    cleanup:\n      apply: true\n      rules:\n        - { priority: 1, select: { tag_status: tagged, tags: ['build-*'] }, keep_newest: 1 }\n  - match: 'ci/held'\n    cleanup:\n      apply: false\n      rules:\n        - { priority: 1, select: { tag_status: tagged, tags: ['build-*'] }, keep_newest: 1 }\n",
    );
    let apply = || warden_in(&acct, &["cleanup", "--apply", "--policy", &policy], &[]);

    let first = apply();
    let shown = text(&first);
    assert_eq!(first.status.code(), Some(0), "{shown}");
    assert!(
        shown.contains("ci/app: 3 images, deleted 2, keep 1"),
        "{shown}"
    );
    assert!(
        shown.contains("ci/held: 3 images, would delete 2, keep 1"),
        "{shown}"
    );
    let tags = |pairs: Vec<(String, Vec<String>)>| -> Vec<String> {
        pairs.into_iter().flat_map(|(_, t)| t).collect()
    };
    assert_eq!(tags(acct.tags_by_digest("ci/app").await), ["build-2"]);
    assert_eq!(
        tags(acct.tags_by_digest("ci/held").await).len(),
        3,
        "apply: false plans only"
    );

    let again = apply();
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert!(
        text(&again).contains("ci/app: 1 images, deleted 0, keep 1"),
        "{}",
        text(&again)
    );

    let elsewhere = warden_in(
        &acct,
        &["cleanup", "--apply", "--policy", &policy],
        &[("AWS_REGION", "eu-west-1")],
    );
    assert_eq!(elsewhere.status.code(), Some(0), "{}", text(&elsewhere));
    assert_eq!(
        tags(acct.tags_by_digest("ci/held").await).len(),
        3,
        "another region's registry is another registry"
    );
}
