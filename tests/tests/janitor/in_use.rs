//! What is in use survives: images ECS services, task definitions, running tasks and Lambda
//! functions name (by tag or digest, as ECS pinned it at deployment), and images pulled recently.

use super::*;

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
