//! janitor against the local AWS: in-use images (ECS, Lambda, by digest and by tag) survive,
//! multi-arch images and referrers go together and in order, and the call floors hold at 10,000
//! images.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed assertion

use std::collections::BTreeMap;

use aws_sdk_ecs::types::ContainerDefinition;
use serde_json::{Value, json};
use warden_aws::functions::janitor::{Janitor, JanitorConfig, RunOptions};
use warden_core::janitor::{Quiet, Unlimited};
use warden_core::names::{AccountId, Digest, Region};
use warden_core::policy::Policy;
use warden_tests::{Emulator, OCI_INDEX, OCI_MANIFEST, REGION, TestAccount, image_index};

const DAY: i64 = 86_400;

fn policy(rules: &str) -> Policy {
    policy_keeping_revisions(rules, 0)
}

fn policy_keeping_revisions(rules: &str, ecs_keep_revisions: u32) -> Policy {
    Policy::from_yaml(&format!(
        r#"
version: 1
repositories:
  - match: "**"
    cleanup:
      apply: true
      grace_days: 0
      ecs_keep_revisions: {ecs_keep_revisions}
      rules:
{rules}
"#
    ))
    .unwrap()
}

/// The ECR idiom for "keep `latest`": a higher-priority rule that matches it (a lower rule can
/// never expire an image a higher one matched), then the build rule, then untagged images.
const KEEP_ONE_BUILD: &str = r#"        - { priority: 1, select: { tag_status: tagged, tags: ["latest"] }, keep_newest: 1 }
        - { priority: 2, select: { tag_status: tagged, tags: ["build-*"] }, keep_newest: 1 }
        - { priority: 3, select: { tag_status: untagged }, older_than_days: 1 }"#;

async fn run(
    acct: &TestAccount,
    policy: Policy,
    only: Option<&str>,
) -> (Value, BTreeMap<String, u64>) {
    let (topic, _) = acct.topic_with_queue(None).await;
    let janitor = Janitor::new(
        &acct.sdk,
        &acct.clients.calls,
        policy,
        JanitorConfig {
            topic_arn: Some(topic),
            ..JanitorConfig::default()
        },
    );
    let before = acct.clients.calls.snapshot();
    let only = only.map(|r| warden_core::names::RepositoryName::new(r).unwrap());
    let report = janitor
        .run(
            AccountId::new(acct.id.as_str()).unwrap(),
            Region::new(REGION).unwrap(),
            &RunOptions {
                only,
                dry_run: false,
                notify: true,
            },
            &Quiet,
            &Unlimited,
        )
        .await
        .unwrap();
    (
        serde_json::to_value(&report).unwrap(),
        acct.clients.calls.since(&before),
    )
}

async fn task_definition(acct: &TestAccount, family: &str, image: &str) -> String {
    let def = ContainerDefinition::builder()
        .name("app")
        .image(image)
        .memory(128)
        .build();
    let out = acct
        .clients
        .ecs
        .register_task_definition()
        .family(family)
        .container_definitions(def)
        .send()
        .await
        .unwrap();
    out.task_definition()
        .unwrap()
        .task_definition_arn()
        .unwrap()
        .to_owned()
}

async fn service(
    acct: &TestAccount,
    cluster: &str,
    name: &str,
    task_definition: &str,
    desired: i32,
) {
    acct.clients
        .ecs
        .create_service()
        .cluster(cluster)
        .service_name(name)
        .task_definition(task_definition)
        .desired_count(desired)
        .send()
        .await
        .unwrap();
}

fn digests_left(state: &[(String, Vec<String>)]) -> Vec<String> {
    state.iter().map(|(d, _)| d.clone()).collect()
}

#[tokio::test]
async fn images_in_use_and_latest_by_its_own_rule_survive_a_keep_1_rule() {
    let acct = Emulator::shared().account().await;
    acct.create_repository("svc/app").await;
    let mut images = Vec::new();
    for i in 0..6 {
        let tag = format!("build-{i}");
        let (d, _) = acct.push("svc/app", &format!("app-{i}"), Some(&tag)).await;
        images.push(d);
    }
    acct.push("svc/app", "app-4", Some("latest")).await; // build-4 is also `latest`
    let ages: Vec<(&Digest, i64, Option<i64>)> = images
        .iter()
        .enumerate()
        .map(|(i, d)| (d, (60 - 10 * i as i64) * DAY, None))
        .collect();
    acct.age_images("svc/app", &ages).await;

    let registry = acct.registry();
    acct.clients
        .ecs
        .create_cluster()
        .cluster_name("prod")
        .send()
        .await
        .unwrap();
    let scaled_down =
        task_definition(&acct, "scaled-down", &format!("{registry}/svc/app:build-1")).await;
    service(&acct, "prod", "scaled-down", &scaled_down, 0).await;
    let pinned = task_definition(
        &acct,
        "pinned",
        &format!("{registry}/svc/app@{}", images[2]),
    )
    .await;
    service(&acct, "prod", "pinned", &pinned, 2).await;
    let role = acct.lambda_role().await;
    acct.clients
        .lambda
        .create_function()
        .function_name("worker")
        .package_type(aws_sdk_lambda::types::PackageType::Image)
        .role(role)
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .image_uri(format!("{registry}/svc/app:build-3"))
                .build(),
        )
        .send()
        .await
        .unwrap();

    let (report, made) = run(&acct, policy(KEEP_ONE_BUILD), None).await;
    let plan = &report["repositories"][0]["plan"];
    assert_eq!(
        plan["delete"],
        json!([images[0]]),
        "only build-0 goes: {report}"
    );
    let why = |i: usize| {
        plan["keep"][images[i].as_str()]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        why(1),
        "in use: ECS service prod/scaled-down (desired 0), deployed digest"
    );
    assert_eq!(
        why(2),
        "in use: ECS service prod/pinned (desired 2), deployed digest"
    );
    assert_eq!(why(3), "in use: Lambda function worker:$LATEST");
    assert_eq!(
        why(4),
        "rule 1: among the newest 1",
        "latest + build-4: the latest rule matched it first, so the build-* rule cannot expire it"
    );
    assert_eq!(why(5), "rule 2: among the newest 1");
    let left = digests_left(&acct.tags_by_digest("svc/app").await);
    assert_eq!(left.len(), 5);
    assert!(!left.contains(&images[0].to_string()));
    assert_eq!(
        made.get("ECS.DescribeTaskDefinition"),
        Some(&2),
        "each task definition described once: {made:?}"
    );
    assert_eq!(
        made.get("ECR.DescribeImages"),
        Some(&2),
        "1 listing + 1 re-check before the delete batch"
    );
    assert_eq!(made.get("ECR.BatchDeleteImage"), Some(&1));
}

#[tokio::test]
async fn an_index_and_its_children_go_together_index_first_and_referrers_after() {
    let acct = Emulator::shared().account().await;
    acct.create_repository("svc/multi").await;
    let (c1, _) = acct.push("svc/multi", "old-amd64", None).await;
    let (c2, _) = acct.push("svc/multi", "old-arm64", None).await;
    let (i1, _) = acct
        .push_manifest(
            "svc/multi",
            &image_index(&[(&c1, "amd64"), (&c2, "arm64")]),
            OCI_INDEX,
            Some("build-1"),
        )
        .await;
    let (c3, _) = acct.push("svc/multi", "new-amd64", None).await;
    let (c4, _) = acct.push("svc/multi", "new-arm64", None).await;
    let (i2, _) = acct
        .push_manifest(
            "svc/multi",
            &image_index(&[(&c3, "amd64"), (&c4, "arm64")]),
            OCI_INDEX,
            Some("build-2"),
        )
        .await;
    // An OCI referrer (signature) of the old index, and a cosign-tagged signature of the new one.
    let signature = |subject: &Digest| {
        json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
               "config": {"mediaType": "application/vnd.dev.cosign.artifact.sig.v1+json", "digest": Digest::of_bytes(b"sig-config"), "size": 233},
               "layers": [{"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json", "digest": Digest::of_bytes(subject.as_str().as_bytes()), "size": 250}],
               "subject": {"mediaType": OCI_INDEX, "digest": subject, "size": 512}})
        .to_string()
    };
    let (s1, _) = acct
        .push_manifest("svc/multi", &signature(&i1), OCI_MANIFEST, None)
        .await;
    let cosign_tag = format!("sha256-{}.sig", &i2.as_str()[7..]);
    let (s2, _) = acct
        .push_manifest(
            "svc/multi",
            &signature(&i2),
            OCI_MANIFEST,
            Some(&cosign_tag),
        )
        .await;
    // An untagged OCI referrer of the new index: the untagged rule would expire it; its kept
    // subject keeps it.
    let attestation = signature(&i2).replace("sig.v1", "att.v1");
    let (s3, _) = acct
        .push_manifest("svc/multi", &attestation, OCI_MANIFEST, None)
        .await;
    let old = 30 * DAY;
    acct.age_images(
        "svc/multi",
        &[
            (&s3, 2 * DAY, None),
            (&c1, old, None),
            (&c2, old, None),
            (&i1, old, None),
            (&s1, old, None),
            (&c3, 2 * DAY, None),
            (&c4, 2 * DAY, None),
            (&i2, 2 * DAY, None),
            (&s2, 2 * DAY, None),
        ],
    )
    .await;

    let (report, made) = run(&acct, policy(KEEP_ONE_BUILD), None).await;
    let plan = &report["repositories"][0]["plan"];
    assert_eq!(
        plan["delete"],
        json!([i1, c1, c2, s1]),
        "index, then its children, then its referrer: {report}"
    );
    assert_eq!(
        report["errors"],
        json!([]),
        "ECR refused nothing (it refuses a child an index still references)"
    );
    assert_eq!(
        made.get("ECR.BatchDeleteImage"),
        Some(&3),
        "one batch per group, in order: {made:?}"
    );
    let left = digests_left(&acct.tags_by_digest("svc/multi").await);
    let mut expected: Vec<String> = [&c3, &c4, &i2, &s2, &s3]
        .iter()
        .map(|d| d.to_string())
        .collect();
    expected.sort();
    assert_eq!(left, expected);
    assert!(
        plan["keep"][c3.as_str()]
            .as_str()
            .unwrap()
            .starts_with("child of kept index")
    );
    assert!(
        plan["keep"][s3.as_str()]
            .as_str()
            .unwrap()
            .starts_with("referrer of kept image")
    );
    assert_eq!(
        plan["keep"][s2.as_str()],
        "no rule selects it",
        "the cosign-tagged signature matches no tag rule"
    );
}

#[tokio::test]
async fn the_emulator_refuses_a_child_before_its_index() {
    let acct = Emulator::shared().account().await;
    acct.create_repository("svc/order").await;
    let (c1, _) = acct.push("svc/order", "amd64", None).await;
    acct.push_manifest(
        "svc/order",
        &image_index(&[(&c1, "amd64")]),
        OCI_INDEX,
        Some("v1"),
    )
    .await;
    let out = acct
        .clients
        .ecr
        .batch_delete_image()
        .repository_name("svc/order")
        .image_ids(
            aws_sdk_ecr::types::ImageIdentifier::builder()
                .image_digest(c1.as_str())
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.failures()[0].failure_code().unwrap().as_str(),
        "ImageReferencedByManifestList"
    );
}

#[tokio::test]
async fn ten_thousand_images_take_ten_listings_ninety_rechecks_and_ninety_deletes() {
    let acct = Emulator::shared().account().await;
    acct.create_repository("big/app").await;
    let manifests: Vec<String> = (0..10_000)
        .map(|i| warden_tests::image_manifest(&format!("big-{i}")))
        .collect();
    let ecr = acct.clients.ecr.clone();
    let mut pushes = tokio::task::JoinSet::new();
    for (worker, chunk) in manifests.chunks(625).enumerate() {
        let (ecr, chunk) = (ecr.clone(), chunk.to_vec());
        pushes.spawn(async move {
            for (j, m) in chunk.iter().enumerate() {
                ecr.put_image()
                    .repository_name("big/app")
                    .image_manifest(m)
                    .image_manifest_media_type(OCI_MANIFEST)
                    .image_tag(format!("build-{}", worker * 625 + j))
                    .send()
                    .await
                    .unwrap();
            }
        });
    }
    while let Some(done) = pushes.join_next().await {
        done.unwrap();
    }
    let rules = r#"        - { priority: 1, select: { tag_status: tagged, tags: ["build-*"] }, keep_newest: 1000 }"#;
    let (report, made) = run(&acct, policy(rules), Some("big/app")).await;
    assert_eq!(report["repositories"][0]["images"], 10_000);
    assert_eq!(
        made.get("ECR.DescribeImages"),
        Some(&100),
        "⌈10000/1000⌉ listings + one re-check per delete batch of 100: {made:?}"
    );
    assert_eq!(
        made.get("ECR.BatchDeleteImage"),
        Some(&90),
        "⌈9000/100⌉ deletes: {made:?}"
    );
    assert_eq!(
        made.get("ECR.BatchGetImage"),
        None,
        "plain images need no manifest reads"
    );
    assert_eq!(report["errors"], json!([]));
    let left = acct
        .clients
        .ecr
        .describe_images()
        .repository_name("big/app")
        .max_results(1000)
        .send()
        .await
        .unwrap();
    assert_eq!(left.image_details().len(), 1000);
    assert!(left.next_token().is_none());
}

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

/// Stops after `n` repositories, as a Lambda near its deadline would.
struct After(std::sync::atomic::AtomicUsize);

impl warden_core::janitor::Budget for After {
    fn time_left(&self) -> bool {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst) > 0
    }
}

#[tokio::test]
async fn a_run_out_of_time_checkpoints_and_the_next_run_continues_there() {
    let acct = Emulator::shared().account().await;
    let table = acct.state_table().await;
    for name in ["ck/a", "ck/b", "ck/c"] {
        acct.create_repository(name).await;
    }
    let (topic, _) = acct.topic_with_queue(None).await;
    let config = JanitorConfig {
        topic_arn: Some(topic),
        table: Some(table.clone()),
        ..JanitorConfig::default()
    };
    let janitor = Janitor::new(
        &acct.sdk,
        &acct.clients.calls,
        policy(KEEP_ONE_BUILD),
        config,
    );
    let (account, region) = (
        AccountId::new(acct.id.as_str()).unwrap(),
        Region::new(REGION).unwrap(),
    );
    let first = janitor
        .run(
            account.clone(),
            region.clone(),
            &RunOptions::scheduled(),
            &Quiet,
            &After(1.into()),
        )
        .await
        .unwrap();
    let done: Vec<String> = first
        .repositories
        .iter()
        .map(|r| r.repository.to_string())
        .collect();
    assert_eq!(done, ["ck/a"], "one repository, then out of time");
    assert_eq!(
        first.stopped_after.as_ref().map(|r| r.as_str()),
        Some("ck/a")
    );
    assert_eq!(
        acct.table_items(&table).await.len(),
        1,
        "the checkpoint is saved"
    );

    let second = janitor
        .run(
            account,
            region,
            &RunOptions::scheduled(),
            &Quiet,
            &After(100.into()),
        )
        .await
        .unwrap();
    let done: Vec<String> = second
        .repositories
        .iter()
        .map(|r| r.repository.to_string())
        .collect();
    assert_eq!(done, ["ck/b", "ck/c"], "continues after the checkpoint");
    assert!(second.stopped_after.is_none());
    assert!(
        acct.table_items(&table).await.is_empty(),
        "a finished run clears the checkpoint"
    );
}

/// Safety flow 4: a task definition names its image `<uri>:v1@sha256:D1` (what deploy tools write);
/// `v1` has moved on to D2 since, so D1 is untagged. D1 is in use by digest and stays.
#[tokio::test]
async fn an_image_referenced_by_tag_and_digest_is_in_use_by_its_digest() {
    let acct = Emulator::shared().account().await;
    acct.create_repository("svc/pinned").await;
    let (d1, _) = acct.push("svc/pinned", "d1", Some("v1")).await;
    let (d2, _) = acct.push("svc/pinned", "d2", Some("v1")).await;
    acct.age_images(
        "svc/pinned",
        &[(&d1, 30 * DAY, None), (&d2, 20 * DAY, None)],
    )
    .await;
    acct.clients
        .ecs
        .create_cluster()
        .cluster_name("prod")
        .send()
        .await
        .unwrap();
    let registry = acct.registry();
    let def = task_definition(&acct, "pinned", &format!("{registry}/svc/pinned:v1@{d1}")).await;
    service(&acct, "prod", "pinned", &def, 1).await;

    let (report, _) = run(&acct, policy(KEEP_ONE_BUILD), None).await;
    let plan = &report["repositories"][0]["plan"];
    assert_eq!(plan["delete"], json!([]), "{report}");
    assert_eq!(
        plan["keep"][d1.as_str()],
        "in use: ECS service prod/pinned (desired 1)"
    );
    assert_eq!(
        digests_left(&acct.tags_by_digest("svc/pinned").await).len(),
        2
    );
}

/// The other two ECS sources of "in use": the newest `ecs_keep_revisions` ACTIVE revisions of each
/// task definition family (ready to roll back to), and the task definition of a running task
/// (a one-off task, no service). build-1 is in neither and goes.
#[tokio::test]
async fn recent_task_definition_revisions_and_running_tasks_keep_their_images() {
    let acct = Emulator::shared().account().await;
    acct.create_repository("svc/rev").await;
    let mut images = Vec::new();
    for i in 1..=4 {
        let (d, _) = acct
            .push("svc/rev", &format!("rev-{i}"), Some(&format!("build-{i}")))
            .await;
        images.push(d);
    }
    let ages: Vec<(&Digest, i64, Option<i64>)> = images
        .iter()
        .enumerate()
        .map(|(i, d)| (d, (40 - 10 * i as i64) * DAY, None))
        .collect();
    acct.age_images("svc/rev", &ages).await;
    let registry = acct.registry();
    let uri = |d: &Digest| format!("{registry}/svc/rev@{d}");
    // Family "web": revision 1 → build-1, revision 2 → build-2; only the newest is kept.
    task_definition(&acct, "web", &uri(&images[0])).await;
    task_definition(&acct, "web", &uri(&images[1])).await;
    // Family "job": revision 1 → build-3 runs as a task; revision 2 → build-4 is the newest.
    let job = task_definition(&acct, "job", &uri(&images[2])).await;
    task_definition(&acct, "job", &uri(&images[3])).await;
    acct.clients
        .ecs
        .create_cluster()
        .cluster_name("batch")
        .send()
        .await
        .unwrap();
    acct.clients
        .ecs
        .run_task()
        .cluster("batch")
        .task_definition(&job)
        .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
        .send()
        .await
        .unwrap();

    let keep_one = policy_keeping_revisions(
        r#"        - { priority: 1, select: { tag_status: tagged, tags: ["build-*"] }, keep_newest: 1 }"#,
        1,
    );
    let (report, made) = run(&acct, keep_one, None).await;
    let plan = &report["repositories"][0]["plan"];
    assert_eq!(plan["delete"], json!([images[0].as_str()]), "{report}");
    assert_eq!(
        plan["keep"][images[1].as_str()],
        "in use: ECS task definition web (newest 1 revisions)",
        "{report}"
    );
    let by_task = plan["keep"][images[2].as_str()]
        .as_str()
        .unwrap_or_default();
    assert!(by_task.starts_with("in use: ECS task batch/"), "{report}");
    assert_eq!(made.get("ECS.ListTaskDefinitions"), Some(&2), "{made:?}");
    assert_eq!(made.get("ECS.DescribeTasks"), Some(&1), "{made:?}");
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

/// A janitor Lambda whose timeout is below its safety margin fails the invocation with a reason,
/// instead of reporting an empty run.
#[tokio::test]
async fn a_timeout_below_the_margin_is_an_error_not_an_empty_run() {
    let acct = Emulator::shared().account().await;
    acct.create_repository("svc/short").await;
    let config = JanitorConfig {
        margin: std::time::Duration::from_secs(60),
        ..JanitorConfig::default()
    };
    let janitor = Janitor::new(
        &acct.sdk,
        &acct.clients.calls,
        policy(KEEP_ONE_BUILD),
        config,
    );
    let schedule = acct.event("scheduled-event.json", |_| {});
    let deadline = std::time::SystemTime::now() + std::time::Duration::from_secs(30);
    let before = acct.clients.calls.snapshot();
    let error = janitor.handle_until(schedule, deadline).await.unwrap_err();
    assert!(
        error.to_string().contains("WARDEN_RUN_MARGIN_SECONDS=60"),
        "{error}"
    );
    assert!(
        acct.clients.calls.since(&before).is_empty(),
        "no AWS call is made"
    );
}

/// Archived images are listed (ECR lists ACTIVE only by default): an archived image is never an
/// expiry rule's (ECR's rules select the standard storage class), and the old untagged referrer of
/// that archived subject — which the untagged rule expires — stays with it. Listing ACTIVE images
/// only, janitor did not see the subject and deleted the referrer.
#[tokio::test]
async fn archived_images_are_listed_and_keep_their_referrers() {
    let acct = Emulator::shared().account().await;
    acct.create_repository("svc/archive").await;
    let (subject, _) = acct.push("svc/archive", "subject", None).await;
    let sbom = json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/spdx+json", "digest": Digest::of_bytes(b"sbom"), "size": 10},
        "layers": [{"mediaType": "application/spdx+json", "digest": Digest::of_bytes(b"sbom-layer"), "size": 10}],
        "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": 512}})
    .to_string();
    let (referrer, _) = acct
        .push_manifest("svc/archive", &sbom, OCI_MANIFEST, None)
        .await;
    acct.age_images("svc/archive", &[(&referrer, 30 * DAY, None)])
        .await;
    acct.archive_image("svc/archive", &subject, 10, false).await;

    let (report, _) = run(&acct, policy(KEEP_ONE_BUILD), None).await;
    let plan = &report["repositories"][0]["plan"];
    assert_eq!(plan["delete"], json!([]), "{report}");
    assert_eq!(plan["keep"][subject.as_str()], "no rule selects it");
    assert!(
        plan["keep"][referrer.as_str()]
            .as_str()
            .unwrap()
            .starts_with("referrer of kept image")
    );
}

/// `keep_pulled_within_days`: the last recorded pull is the in-use signal for workloads janitor
/// cannot list (EKS, EC2, Batch, other accounts).
#[tokio::test]
async fn images_pulled_recently_are_kept_when_the_policy_says_so() {
    let acct = Emulator::shared().account().await;
    acct.create_repository("svc/pulled").await;
    let (recent, _) = acct.push("svc/pulled", "recent", None).await;
    let (stale, _) = acct.push("svc/pulled", "stale", None).await;
    acct.age_images(
        "svc/pulled",
        &[
            (&recent, 60 * DAY, Some(2 * DAY)),
            (&stale, 60 * DAY, Some(40 * DAY)),
        ],
    )
    .await;
    let policy = Policy::from_yaml(
        "version: 1\nrepositories:\n  - match: '**'\n    cleanup:\n      apply: true\n      keep_pulled_within_days: 7\n      rules:\n        - { priority: 1, select: { tag_status: untagged }, older_than_days: 14 }\n",
    )
    .unwrap();
    let (report, _) = run(&acct, policy, None).await;
    let plan = &report["repositories"][0]["plan"];
    assert_eq!(plan["delete"], json!([stale]), "{report}");
    assert_eq!(
        plan["keep"][recent.as_str()],
        "pulled 2 days ago (lastRecordedPullTime)"
    );
}

/// Tags someone adds while the run lists and plans, by tagging the image as the listing finishes.
struct TagDuringListing<'a> {
    acct: &'a TestAccount,
    repository: &'static str,
    manifest: String,
}

impl warden_core::janitor::Progress for TagDuringListing<'_> {
    fn repository(&self, _: &warden_core::names::RepositoryName) {}
    fn images_listed(&self, _: usize) {
        // Someone else's push: a client of its own, so janitor's call counts do not include it.
        let ecr = aws_sdk_ecr::Client::new(&self.acct.sdk);
        tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current()
                .block_on(
                    ecr.put_image()
                        .repository_name(self.repository)
                        .image_manifest(&self.manifest)
                        .image_manifest_media_type(OCI_MANIFEST)
                        .image_tag("hotfix")
                        .send(),
                )
                .unwrap();
        });
    }
}

/// Tags are read again just before each delete batch: an image that gained a tag after it was
/// listed is not deleted (one DescribeImages by ids per batch, in the floors).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_tagged_after_the_listing_is_not_deleted() {
    let acct = Emulator::shared().account().await;
    acct.create_repository("svc/late").await;
    let (late, manifest) = acct.push("svc/late", "late", None).await;
    let (gone, _) = acct.push("svc/late", "gone", None).await;
    acct.age_images(
        "svc/late",
        &[(&late, 30 * DAY, None), (&gone, 30 * DAY, None)],
    )
    .await;
    let (topic, _) = acct.topic_with_queue(None).await;
    let janitor = Janitor::new(
        &acct.sdk,
        &acct.clients.calls,
        policy(KEEP_ONE_BUILD),
        JanitorConfig {
            topic_arn: Some(topic),
            ..JanitorConfig::default()
        },
    );
    let progress = TagDuringListing {
        acct: &acct,
        repository: "svc/late",
        manifest,
    };
    let before = acct.clients.calls.snapshot();
    let report = janitor
        .run(
            AccountId::new(acct.id.as_str()).unwrap(),
            Region::new(REGION).unwrap(),
            &RunOptions::scheduled(),
            &progress,
            &Unlimited,
        )
        .await
        .unwrap();
    let made = acct.clients.calls.since(&before);
    let left = acct.tags_by_digest("svc/late").await;
    assert_eq!(
        left,
        vec![(late.to_string(), vec!["hotfix".to_owned()])],
        "{left:?}"
    );
    assert!(
        !left.iter().any(|(d, _)| d == gone.as_str()),
        "the untouched one went"
    );
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.contains("tagged hotfix since it was listed")),
        "{:?}",
        report.errors
    );
    assert_eq!(
        made.get("ECR.DescribeImages"),
        Some(&2),
        "listing 1 + re-check 1: {made:?}"
    );
}

/// ECS resolves a tag to a digest when it deploys: a service scaled to 0 whose task definition says
/// `svc/app:v1` still needs the digest `v1` had then, after `v1` has moved on. janitor reads it from
/// the service's current revision (DescribeServiceRevisions).
#[tokio::test]
async fn a_scaled_down_service_keeps_the_digest_its_deployment_pinned() {
    let acct = Emulator::shared().account().await;
    acct.create_repository("svc/deployed").await;
    let (d1, _) = acct.push("svc/deployed", "d1", Some("v1")).await;
    acct.clients
        .ecs
        .create_cluster()
        .cluster_name("prod")
        .send()
        .await
        .unwrap();
    let registry = acct.registry();
    let def = task_definition(&acct, "deployed", &format!("{registry}/svc/deployed:v1")).await;
    service(&acct, "prod", "paused", &def, 0).await;
    // v1 moves on after the deployment: D1 is untagged now.
    let (d2, _) = acct.push("svc/deployed", "d2", Some("v1")).await;
    acct.age_images(
        "svc/deployed",
        &[(&d1, 30 * DAY, None), (&d2, 20 * DAY, None)],
    )
    .await;

    let (report, made) = run(&acct, policy(KEEP_ONE_BUILD), None).await;
    let plan = &report["repositories"][0]["plan"];
    assert_eq!(plan["delete"], json!([]), "{report}");
    assert_eq!(
        plan["keep"][d1.as_str()],
        "in use: ECS service prod/paused (desired 0), deployed digest"
    );
    assert_eq!(
        made.get("ECS.DescribeServiceRevisions"),
        Some(&1),
        "{made:?}"
    );
}
