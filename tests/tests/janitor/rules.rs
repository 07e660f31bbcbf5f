//! Which rule selects an image, as ECR's lifecycle evaluation does, and the native lifecycle
//! rules janitor puts.

use super::*;

#[tokio::test]
async fn native_lifecycle_rules_are_put_once_and_then_left_alone() {
    let acct = Emulator::shared().account().await;
    acct.create_repository("svc/native").await;
    let yaml = r#"
version: 1
repositories:
  - match: "svc/*"
    cleanup:
      apply: true
      lifecycle:
        - { rulePriority: 2, description: "last 30 builds", selection: { tagStatus: tagged, tagPrefixList: [build-], countType: imageCountMoreThan, countNumber: 30 }, action: { type: expire } }
        - { rulePriority: 1, selection: { tagStatus: untagged, countType: sinceImagePushed, countUnit: days, countNumber: 14 }, action: { type: expire } }
"#;
    // A plan (dry-run) reads but never writes.
    let (topic, _) = acct.topic_with_queue(None).await;
    let planner = Janitor::new(
        &acct.sdk,
        &acct.clients.calls,
        Policy::from_yaml(yaml).unwrap(),
        JanitorConfig {
            topic_arn: Some(topic),
            dry_run: true,
            ..JanitorConfig::default()
        },
    );
    let before = acct.clients.calls.snapshot();
    planner
        .run(
            AccountId::new(acct.id.as_str()).unwrap(),
            Region::new(REGION).unwrap(),
            &RunOptions {
                only: None,
                dry_run: true,
                notify: false,
            },
            &Quiet,
            &Unlimited,
        )
        .await
        .unwrap();
    let planned = acct.clients.calls.since(&before);
    assert_eq!(planned.get("ECR.GetLifecyclePolicy"), Some(&1));
    assert_eq!(
        planned.get("ECR.PutLifecyclePolicy"),
        None,
        "dry-run writes nothing"
    );

    let (_, first) = run(&acct, Policy::from_yaml(yaml).unwrap(), None).await;
    assert_eq!(first.get("ECR.PutLifecyclePolicy"), Some(&1), "{first:?}");
    assert_eq!(
        first.get("ECR.DescribeImages"),
        None,
        "native rules only: janitor lists nothing itself"
    );
    let text = acct
        .clients
        .ecr
        .get_lifecycle_policy()
        .repository_name("svc/native")
        .send()
        .await
        .unwrap();
    let stored: Value = serde_json::from_str(text.lifecycle_policy_text().unwrap()).unwrap();
    assert_eq!(stored["rules"][0]["rulePriority"], 1);
    assert_eq!(
        stored["rules"][1]["selection"]["tagPrefixList"],
        json!(["build-"])
    );
    assert_eq!(stored["rules"][1]["description"], "last 30 builds");

    let (_, second) = run(&acct, Policy::from_yaml(yaml).unwrap(), None).await;
    assert_eq!(second.get("ECR.GetLifecyclePolicy"), Some(&1));
    assert_eq!(
        second.get("ECR.PutLifecyclePolicy"),
        None,
        "already in place: no write"
    );
}

/// Safety flow 3, through the adapters: rules `1: tagged [build-*] keep 1`, `2: tagged [*] keep 1`
/// over build-8, build-9, build-10+latest, release-1 (oldest → newest). As ECR evaluates them,
/// build-10+latest is rule 1's (one matching tag selects it) and its newest: it stays, and rule 2
/// cannot expire it; release-1 is rule 2's newest. Only build-8 and build-9 go.
#[tokio::test]
async fn one_matching_tag_puts_an_image_under_the_higher_rule_as_ecr_does() {
    let acct = Emulator::shared().account().await;
    acct.create_repository("svc/rules").await;
    let (b8, _) = acct.push("svc/rules", "b8", Some("build-8")).await;
    let (b9, _) = acct.push("svc/rules", "b9", Some("build-9")).await;
    let (b10, _) = acct.push("svc/rules", "b10", Some("build-10")).await;
    acct.push("svc/rules", "b10", Some("latest")).await;
    let (r1, _) = acct.push("svc/rules", "r1", Some("release-1")).await;
    acct.age_images(
        "svc/rules",
        &[
            (&b8, 40 * DAY, None),
            (&b9, 30 * DAY, None),
            (&b10, 20 * DAY, None),
            (&r1, 10 * DAY, None),
        ],
    )
    .await;
    let rules = r#"        - { priority: 1, select: { tag_status: tagged, tags: ["build-*"] }, keep_newest: 1 }
        - { priority: 2, select: { tag_status: tagged, tags: ["*"] }, keep_newest: 1 }"#;
    let (report, _) = run(&acct, policy(rules), None).await;
    let plan = &report["repositories"][0]["plan"];
    let mut deleted: Vec<String> = serde_json::from_value(plan["delete"].clone()).unwrap();
    deleted.sort();
    let mut expected = vec![b8.to_string(), b9.to_string()];
    expected.sort();
    assert_eq!(deleted, expected, "{report}");
    let left = acct.tags_by_digest("svc/rules").await;
    assert!(left.contains(&(b10.to_string(), vec!["build-10".into(), "latest".into()])));
    assert!(left.contains(&(r1.to_string(), vec!["release-1".into()])));
}

/// AWS: "If an image was archived and then restored at any point in the past, the image's
/// `last_activated_at` is used instead of `pushed_at_time`". A build pushed 90 days ago and
/// restored yesterday is the newest: `keep_newest: 1` keeps it and deletes the 10-day-old one.
#[tokio::test]
async fn a_restored_image_counts_from_its_restore_as_ecr_does() {
    let acct = Emulator::shared().account().await;
    acct.create_repository("svc/restored").await;
    let (old, _) = acct.push("svc/restored", "old", Some("build-1")).await;
    let (newer, _) = acct.push("svc/restored", "newer", Some("build-2")).await;
    acct.age_images(
        "svc/restored",
        &[(&old, 90 * DAY, None), (&newer, 10 * DAY, None)],
    )
    .await;
    acct.restore_image("svc/restored", &old, 1).await;
    let rules = r#"        - { priority: 1, select: { tag_status: tagged, tags: ["build-*"] }, keep_newest: 1 }"#;
    let (report, _) = run(&acct, policy(rules), None).await;
    let plan = &report["repositories"][0]["plan"];
    let deleted: Vec<String> = serde_json::from_value(plan["delete"].clone()).unwrap();
    assert_eq!(deleted, [newer.to_string()], "{report}");
    let left = acct.tags_by_digest("svc/restored").await;
    assert_eq!(left, [(old.to_string(), vec!["build-1".to_owned()])]);
}
