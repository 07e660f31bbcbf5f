//! AWS failing mid-action, through the fault proxy (tests/src/faults.rs) between the function and
//! the emulator: throttling and 5xx are retried by the SDK (standard mode, 3 attempts, as
//! `load_sdk_config` leaves it), then come back as a retryable Lambda error; an action cut off
//! half-way ends, once redelivered, in the state an uninterrupted run leaves, with one message.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed assertion

use aws_config::retry::RetryConfig;
use serde_json::{Value, json};
use warden_aws::functions::janitor::{Janitor, JanitorConfig};
use warden_aws::functions::scan_gate::{ScanGate, ScanGateConfig};
use warden_aws::functions::tag_guard::{TagGuard, TagGuardConfig};
use warden_aws::runtime::lambda::{Function, HANDLER_MARGIN, Invocation};
use warden_core::names::Digest;
use warden_core::policy::Policy;
use warden_tests::faults::{Fault, FaultProxy};
use warden_tests::{Emulator, TestAccount};

const POLICY: &str = "version: 1\nrepositories:\n  - match: '**'\n    gate:\n      max_findings: { CRITICAL: 0 }\n      on_fail: quarantine\n";

struct Setup {
    acct: TestAccount,
    proxy: FaultProxy,
    gate: ScanGate,
    table: String,
    inbox: String,
}

/// scan-gate in a fresh account, talking to AWS through the proxy with the SDK's standard retries.
async fn setup() -> Setup {
    let acct = Emulator::shared().account().await;
    let table = acct.state_table().await;
    let (topic, inbox) = acct.topic_with_queue(None).await;
    let proxy = FaultProxy::start(&acct.emulator_url);
    let sdk = proxy.sdk(&acct.sdk);
    let config = ScanGateConfig {
        table: table.clone(),
        topic_arn: Some(topic),
        dry_run: false,
    };
    let gate = ScanGate::new(
        &sdk,
        &acct.clients.calls,
        Policy::from_yaml(POLICY).unwrap(),
        config,
    );
    acct.create_repository("shop/api").await;
    Setup {
        acct,
        proxy,
        gate,
        table,
        inbox,
    }
}

fn critical_scan(acct: &TestAccount, digest: &Digest, tags: &[&str]) -> Value {
    acct.event("ecr-image-scan.complete.json", |e| {
        e["detail"]["repository-name"] = json!("shop/api");
        e["detail"]["image-digest"] = json!(digest);
        e["detail"]["image-tags"] = json!(tags);
        e["detail"]["finding-severity-counts"] = json!({"CRITICAL": 1});
    })
}

fn q(tag: &str, digest: &Digest) -> String {
    format!("quarantine-{tag}-{}", digest.short())
}

#[tokio::test]
async fn throttling_is_retried_by_the_sdk_then_surfaces_as_throttled_and_the_next_invocation_completes()
 {
    let s = setup().await;
    let (a, _) = s.acct.push("shop/api", "a", Some("v1")).await;
    s.proxy.inject("ECR.PutImage", Fault::Throttle, 0, Some(2));
    let response = s
        .gate
        .handle(critical_scan(&s.acct, &a, &["v1"]))
        .await
        .unwrap();
    assert_eq!(
        s.proxy.served("ECR.PutImage"),
        2,
        "two throttles, the third attempt went through"
    );
    assert_eq!(response["status"], "ok", "{response}");
    assert_eq!(
        s.acct.tags_by_digest("shop/api").await,
        [(a.to_string(), vec![q("v1", &a)])]
    );

    let (b, _) = s.acct.push("shop/api", "b", Some("v2")).await;
    s.proxy.heal();
    s.proxy.inject("ECR.PutImage", Fault::Throttle, 0, None);
    let event = critical_scan(&s.acct, &b, &["v2"]);
    let error = s.gate.handle(event.clone()).await.unwrap_err();
    assert_eq!(error.error_type, "Throttled", "{}", error.message);
    assert_eq!(
        s.proxy.served("ECR.PutImage"),
        3,
        "one call, three attempts"
    );
    let untouched = (b.to_string(), vec!["v2".to_owned()]);
    assert!(s.acct.tags_by_digest("shop/api").await.contains(&untouched));

    s.proxy.heal();
    let response = s.gate.handle(event).await.unwrap();
    assert_eq!(
        response["status"], "ok",
        "the redelivered event acts: {response}"
    );
    assert!(
        s.acct
            .tags_by_digest("shop/api")
            .await
            .contains(&(b.to_string(), vec![q("v2", &b)]))
    );
    let told: Vec<Value> = s.acct.received(&s.inbox).await;
    assert_eq!(
        told.len(),
        2,
        "one FAIL message per image, none for the failed attempt"
    );
}

#[tokio::test]
async fn a_quarantine_cut_off_between_tag_put_and_tag_removed_ends_as_an_uninterrupted_one() {
    let s = setup().await;
    let (a, _) = s.acct.push("shop/api", "a", Some("v1")).await;
    s.acct.push("shop/api", "a", Some("latest")).await;
    let event = critical_scan(&s.acct, &a, &["v1", "latest"]);
    s.proxy
        .inject("ECR.BatchDeleteImage", Fault::ServerError, 0, None);
    let error = s.gate.handle(event.clone()).await.unwrap_err();
    assert_eq!(error.error_type, "Retryable", "{}", error.message);
    assert_eq!(
        s.proxy.served("ECR.BatchDeleteImage"),
        3,
        "the SDK retried the 500s"
    );
    let halfway = s.acct.tags_by_digest("shop/api").await;
    assert_eq!(
        halfway,
        [(
            a.to_string(),
            vec!["latest".into(), q("latest", &a), q("v1", &a), "v1".into()]
        )],
        "cut off after the quarantine tags were put, before the originals were removed"
    );
    assert!(
        s.acct.table_items(&s.table).await.is_empty(),
        "the verdict record is put back for the retry"
    );
    assert!(
        s.acct.received(&s.inbox).await.is_empty(),
        "nothing told about a half-done action"
    );

    s.proxy.heal();
    let response = s.gate.handle(event.clone()).await.unwrap();
    assert_eq!(response["status"], "ok", "{response}");
    assert_eq!(
        s.acct.tags_by_digest("shop/api").await,
        [(a.to_string(), vec![q("latest", &a), q("v1", &a)])]
    );
    assert_eq!(s.acct.received(&s.inbox).await.len(), 1, "told once");
    let again = s.gate.handle(event).await.unwrap();
    assert_eq!(again["status"], "ok");
    assert!(
        s.acct.received(&s.inbox).await.is_empty(),
        "a third delivery changes and tells nothing"
    );
}

#[tokio::test]
async fn aws_unreachable_is_a_retryable_error_never_a_panic_or_an_acknowledgement() {
    let acct = Emulator::shared().account().await;
    let closed = acct
        .sdk
        .to_builder()
        .endpoint_url("http://127.0.0.1:9")
        .retry_config(RetryConfig::standard().with_max_attempts(2))
        .build();
    let config = ScanGateConfig {
        table: "ecr-warden".into(),
        topic_arn: None,
        dry_run: false,
    };
    let gate = ScanGate::new(
        &closed,
        &acct.clients.calls,
        Policy::from_yaml(POLICY).unwrap(),
        config,
    );
    let digest = Digest::new(format!("sha256:{}", "ab".repeat(32))).unwrap();
    let error = gate
        .handle(critical_scan(&acct, &digest, &["v1"]))
        .await
        .unwrap_err();
    assert_eq!(error.error_type, "Retryable", "{}", error.message);
    assert!(
        error.message.contains("DynamoDB") || error.message.contains("dispatch"),
        "{}",
        error.message
    );
}

#[tokio::test]
async fn a_tag_revert_cut_off_between_its_two_puts_ends_as_an_uninterrupted_one() {
    const GUARDED: &str = "version: 1\nrepositories:\n  - match: 'team-a/*'\n    immutability: { mode: MUTABLE }\n    protected_tags:\n      patterns: ['v*']\n      offender: { keep_as: 'rejected-{tag}-{short_digest}' }\n";
    let acct = Emulator::shared().account().await;
    let table = acct.state_table().await;
    let (topic, inbox) = acct.topic_with_queue(None).await;
    let proxy = FaultProxy::start(&acct.emulator_url);
    let sdk = proxy.sdk(&acct.sdk);
    let config = TagGuardConfig {
        table,
        topic_arn: Some(topic),
        dry_run: false,
    };
    let guard = TagGuard::new(
        &sdk,
        &acct.clients.calls,
        Policy::from_yaml(GUARDED).unwrap(),
        config,
    );
    acct.create_repository("team-a/api").await;
    let push = |digest: &Digest, time: &str| {
        acct.event("ecr-image-action.push.json", |e| {
            e["time"] = json!(time);
            e["detail"]["repository-name"] = json!("team-a/api");
            e["detail"]["image-tag"] = json!("v1");
            e["detail"]["image-digest"] = json!(digest);
        })
    };
    let (a, _) = acct.push("team-a/api", "a", Some("v1")).await;
    guard
        .handle(push(&a, "2026-12-01T10:00:00Z"))
        .await
        .unwrap();
    let (b, _) = acct.push("team-a/api", "b", Some("v1")).await;
    let moved = push(&b, "2026-12-01T10:05:00Z");

    // The offender's tag is put; putting v1 back on the recorded image fails (after retries).
    proxy.inject("ECR.PutImage", Fault::ServerError, 1, None);
    let error = guard.handle(moved.clone()).await.unwrap_err();
    assert_eq!(error.error_type, "Retryable", "{}", error.message);
    let offender = format!("rejected-v1-{}", b.short());
    let halfway = acct.tags_by_digest("team-a/api").await;
    assert!(
        halfway.contains(&(b.to_string(), vec![offender.clone(), "v1".into()])),
        "{halfway:?}"
    );
    assert!(
        acct.received(&inbox).await.is_empty(),
        "nothing told about a half-done revert"
    );

    proxy.heal();
    let response = guard.handle(moved.clone()).await.unwrap();
    assert_eq!(response["status"], "ok", "{response}");
    let end = acct.tags_by_digest("team-a/api").await;
    let uninterrupted = vec![
        (a.to_string(), vec!["v1".to_owned()]),
        (b.to_string(), vec![offender]),
    ];
    let mut sorted = end.clone();
    sorted.sort();
    let mut expected = uninterrupted.clone();
    expected.sort();
    assert_eq!(sorted, expected);
    assert_eq!(acct.received(&inbox).await.len(), 1, "told once");
    guard.handle(moved).await.unwrap();
    assert!(
        acct.received(&inbox).await.is_empty(),
        "redelivered again: nothing more"
    );
}

#[tokio::test]
async fn a_janitor_run_cut_off_mid_batch_is_finished_by_the_next_run_and_nothing_is_counted_twice()
{
    const KEEP_NEWEST: &str = "version: 1\nrepositories:\n  - match: 'ci/*'\n    cleanup:\n      apply: true\n      rules:\n        - { priority: 1, select: { tag_status: tagged, tags: ['build-*'] }, keep_newest: 1 }\n";
    let acct = Emulator::shared().account().await;
    let (topic, inbox) = acct.topic_with_queue(None).await;
    let proxy = FaultProxy::start(&acct.emulator_url);
    let sdk = proxy.sdk(&acct.sdk);
    let config = JanitorConfig {
        topic_arn: Some(topic),
        ..JanitorConfig::default()
    };
    let janitor = Janitor::new(
        &sdk,
        &acct.clients.calls,
        Policy::from_yaml(KEEP_NEWEST).unwrap(),
        config,
    );
    acct.create_repository("ci/app").await;
    let mut digests = Vec::new();
    for i in 0..150 {
        digests.push(
            acct.push("ci/app", &format!("b{i}"), Some(&format!("build-{i}")))
                .await
                .0,
        );
    }
    let ages: Vec<_> = digests
        .iter()
        .enumerate()
        .map(|(i, d)| (d, (200 - i as i64) * 3_600, None))
        .collect();
    acct.age_images("ci/app", &ages).await;
    let schedule = acct.event("scheduled-event.json", |_| {});

    // 149 to delete: the first batch of 100 goes through, the second fails (after retries).
    proxy.inject("ECR.BatchDeleteImage", Fault::ServerError, 1, None);
    let first = janitor.handle(schedule.clone()).await.unwrap_err();
    assert_eq!(first.error_type, "Retryable", "{}", first.message);
    assert_eq!(proxy.served("ECR.BatchDeleteImage"), 3);
    assert_eq!(
        acct.tags_by_digest("ci/app").await.len(),
        50,
        "cut off after the first batch"
    );

    proxy.heal();
    let second = janitor.handle(schedule.clone()).await.unwrap();
    assert_eq!(second["status"], "ok", "{second}");
    let left = acct.tags_by_digest("ci/app").await;
    assert_eq!(
        left,
        [(digests[149].to_string(), vec!["build-149".to_owned()])],
        "as an uninterrupted run leaves it"
    );
    let deleted: u64 = acct
        .received(&inbox)
        .await
        .iter()
        .map(|m| serde_json::from_str::<Value>(m["Message"].as_str().unwrap()).unwrap())
        .filter(|m| m["kind"] == "cleanup")
        .map(|m| m["images_deleted"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(deleted, 149, "each deletion told once, across both runs");
}

#[tokio::test]
async fn a_slow_aws_makes_the_handler_stop_before_the_deadline_with_a_retryable_error() {
    let s = setup().await;
    let (a, _) = s.acct.push("shop/api", "a", Some("v1")).await;
    // Every verdict claim takes 8 s; the invocation has 10 s, so the handler must stop at 5 s.
    s.proxy.inject(
        "DynamoDB.PutItem",
        Fault::Delay(std::time::Duration::from_secs(8)),
        0,
        None,
    );
    let started = std::time::Instant::now();
    let invocation = Invocation::local()
        .until(std::time::SystemTime::now() + std::time::Duration::from_secs(10));
    let error = s
        .gate
        .invoke(critical_scan(&s.acct, &a, &["v1"]).into(), invocation)
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert_eq!(error.error_type, "Retryable", "{}", error.message);
    assert!(
        error.message.contains("before the invocation's deadline"),
        "{}",
        error.message
    );
    assert!(
        took < std::time::Duration::from_secs(10) - HANDLER_MARGIN
            + std::time::Duration::from_secs(1),
        "{took:?}"
    );
    assert!(
        took >= std::time::Duration::from_secs(4),
        "it had 5 s: {took:?}"
    );
    assert_eq!(
        s.acct.tags_by_digest("shop/api").await,
        [(a.to_string(), vec!["v1".to_owned()])],
        "nothing acted on"
    );
}

#[tokio::test]
async fn a_reset_connection_is_retried_by_the_sdk_and_a_lasting_one_is_retryable() {
    let s = setup().await;
    let (a, _) = s.acct.push("shop/api", "a", Some("v1")).await;
    s.proxy
        .inject("ECR.BatchGetImage", Fault::Reset, 0, Some(1));
    let response = s
        .gate
        .handle(critical_scan(&s.acct, &a, &["v1"]))
        .await
        .unwrap();
    assert_eq!(response["status"], "ok", "{response}");
    assert_eq!(s.proxy.served("ECR.BatchGetImage"), 1);
    assert_eq!(
        s.acct.tags_by_digest("shop/api").await,
        [(a.to_string(), vec![q("v1", &a)])]
    );

    let (b, _) = s.acct.push("shop/api", "b", Some("v2")).await;
    s.proxy.heal();
    s.proxy.inject("ECR.BatchGetImage", Fault::Reset, 0, None);
    let error = s
        .gate
        .handle(critical_scan(&s.acct, &b, &["v2"]))
        .await
        .unwrap_err();
    assert_eq!(error.error_type, "Retryable", "{}", error.message);
    assert!(
        s.acct
            .tags_by_digest("shop/api")
            .await
            .contains(&(b.to_string(), vec!["v2".to_owned()]))
    );
    assert!(
        s.acct
            .table_items(&s.table)
            .await
            .iter()
            .all(|item| !item.contains(b.as_str())),
        "b's verdict put back"
    );

    s.proxy.heal();
    let response = s
        .gate
        .handle(critical_scan(&s.acct, &b, &["v2"]))
        .await
        .unwrap();
    assert_eq!(response["status"], "ok", "the retry acts: {response}");
    assert!(
        s.acct
            .tags_by_digest("shop/api")
            .await
            .contains(&(b.to_string(), vec![q("v2", &b)]))
    );
}
