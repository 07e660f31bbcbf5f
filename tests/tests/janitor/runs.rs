//! How a run goes: its call floors at 10,000 images, a checkpoint when time runs out, a timeout
//! below the margin, tags added while it lists.

use super::*;
use warden_tests::plans::After;

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
            &After::repositories(1),
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
            &After::repositories(100),
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
