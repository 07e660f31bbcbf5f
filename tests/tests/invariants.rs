//! Where two functions touch the same image or tag (docs/invariants.md): tag-guard and scan-gate
//! run together against the local AWS, on one state table and one topic, through the handlers the
//! Lambdas run.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed assertion

use aws_sdk_ecr::types::{
    ImageTagMutability, ImageTagMutabilityExclusionFilter, ImageTagMutabilityExclusionFilterType,
};
use serde_json::{Value, json};
use warden_aws::functions::scan_gate::{ScanGate, ScanGateConfig};
use warden_aws::functions::tag_guard::{TagGuard, TagGuardConfig};
use warden_aws::runtime::lambda::Function;
use warden_core::names::Digest;
use warden_core::policy::Policy;
use warden_tests::{Emulator, TestAccount, at};

const POLICY: &str = r#"
version: 1
repositories:
  - match: "team-a/*"
    immutability: { mode: MUTABLE }
    protected_tags: { patterns: ["v*"] }
    gate: { max_findings: { CRITICAL: 0 }, on_fail: quarantine }
  - match: "imm/*"
    gate: { max_findings: { CRITICAL: 0 }, on_fail: quarantine }
"#;

struct Both {
    acct: TestAccount,
    guard: TagGuard,
    gate: ScanGate,
    queue: String,
}

async fn both() -> Both {
    let acct = Emulator::shared().account().await;
    let table = acct.state_table().await;
    let (topic, queue) = acct.topic_with_queue(None).await;
    let policy = Policy::from_yaml(POLICY).unwrap();
    let guard = TagGuard::new(
        &acct.sdk,
        &acct.clients.calls,
        policy.clone(),
        TagGuardConfig {
            table: table.clone(),
            topic_arn: Some(topic.clone()),
            dry_run: false,
        },
    );
    let gate = ScanGate::new(
        &acct.sdk,
        &acct.clients.calls,
        policy,
        ScanGateConfig {
            table,
            topic_arn: Some(topic),
            dry_run: false,
        },
    );
    Both {
        acct,
        guard,
        gate,
        queue,
    }
}

fn push(acct: &TestAccount, repository: &str, tag: &str, digest: &Digest, second: i64) -> Value {
    acct.event("ecr-image-action.push.json", |e| {
        e["time"] = json!(at(second));
        e["detail"]["repository-name"] = json!(repository);
        e["detail"]["image-tag"] = json!(tag);
        e["detail"]["image-digest"] = json!(digest);
    })
}

fn critical_scan(acct: &TestAccount, repository: &str, digest: &Digest, tags: &[&str]) -> Value {
    acct.event("ecr-image-scan.complete.json", |e| {
        e["detail"]["repository-name"] = json!(repository);
        e["detail"]["image-digest"] = json!(digest);
        e["detail"]["image-tags"] = json!(tags);
        e["detail"]["finding-severity-counts"] = json!({"CRITICAL": 1});
    })
}

fn q(tag: &str, digest: &Digest) -> String {
    format!("quarantine-{tag}-{}", digest.short())
}

async fn told(b: &Both) -> Vec<Value> {
    b.acct
        .received(&b.queue)
        .await
        .iter()
        .map(|m| serde_json::from_str(m["Message"].as_str().unwrap()).unwrap())
        .collect()
}

async fn tags_of(b: &Both, repository: &str, digest: &Digest) -> Vec<String> {
    b.acct
        .tags_by_digest(repository)
        .await
        .into_iter()
        .find(|(d, _)| d == digest.as_str())
        .map(|(_, t)| t)
        .unwrap_or_default()
}

/// Safety flow 1: D1 is recorded for `v1.2.3`, fails its scan and is quarantined; the team pushes
/// the fixed D2 as `v1.2.3`. tag-guard must not put the release tag back on the vulnerable image.
#[tokio::test]
async fn a_fixed_push_over_a_quarantined_release_tag_stands_and_the_ledger_follows_it() {
    let b = both().await;
    let repo = "team-a/api";
    b.acct.create_repository(repo).await;
    let (d1, _) = b.acct.push(repo, "d1", Some("v1.2.3")).await;
    b.guard
        .handle(push(&b.acct, repo, "v1.2.3", &d1, 1))
        .await
        .unwrap();
    b.gate
        .handle(critical_scan(&b.acct, repo, &d1, &["v1.2.3"]))
        .await
        .unwrap();
    assert_eq!(tags_of(&b, repo, &d1).await, [q("v1.2.3", &d1)]);
    told(&b).await;

    let (d2, _) = b.acct.push(repo, "d2", Some("v1.2.3")).await;
    let response = b
        .guard
        .handle(push(&b.acct, repo, "v1.2.3", &d2, 2))
        .await
        .unwrap();
    assert_eq!(tags_of(&b, repo, &d2).await, ["v1.2.3"], "{response}");
    assert_eq!(
        tags_of(&b, repo, &d1).await,
        [q("v1.2.3", &d1)],
        "the vulnerable image is not deployable under the release tag"
    );
    let messages = told(&b).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0]["kind"], "tag_accepted");
    assert_eq!(messages[0]["accepted_digest"], json!(d2));
    assert!(
        messages[0]["reason"]
            .as_str()
            .unwrap()
            .contains("scan-gate failed")
    );

    // The ledger followed D2: a later overwrite by D3 is reverted to D2, not to D1.
    let (d3, _) = b.acct.push(repo, "d3", Some("v1.2.3")).await;
    b.guard
        .handle(push(&b.acct, repo, "v1.2.3", &d3, 3))
        .await
        .unwrap();
    assert_eq!(tags_of(&b, repo, &d2).await, ["v1.2.3"]);
    assert_eq!(
        tags_of(&b, repo, &d3).await,
        [format!("rejected-v1.2.3-{}", d3.short())]
    );

    // D1's push event delivered again (at least once, any order): nothing moves.
    b.guard
        .handle(push(&b.acct, repo, "v1.2.3", &d1, 1))
        .await
        .unwrap();
    assert_eq!(tags_of(&b, repo, &d2).await, ["v1.2.3"]);
    assert_eq!(tags_of(&b, repo, &d1).await, [q("v1.2.3", &d1)]);
}

async fn immutable_with_latest_excluded(b: &Both, repo: &str) {
    b.acct.create_repository(repo).await;
    b.acct
        .clients
        .ecr
        .put_image_tag_mutability()
        .repository_name(repo)
        .image_tag_mutability(ImageTagMutability::ImmutableWithExclusion)
        .image_tag_mutability_exclusion_filters(
            ImageTagMutabilityExclusionFilter::builder()
                .filter("latest")
                .filter_type(ImageTagMutabilityExclusionFilterType::Wildcard)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

/// Safety flow 2: two images fail under the same tag, one after the other. Each gets a quarantine
/// tag of its own: the second is never refused (immutable) and never steals the first's (mutable).
#[tokio::test]
async fn a_second_failing_image_under_the_same_tag_gets_its_own_quarantine_tag() {
    let b = both().await;
    for repo in ["imm/app", "team-a/app"] {
        if repo.starts_with("imm/") {
            immutable_with_latest_excluded(&b, repo).await;
        } else {
            b.acct.create_repository(repo).await;
        }
        let (a, _) = b.acct.push(repo, "a", Some("latest")).await;
        b.gate
            .handle(critical_scan(&b.acct, repo, &a, &["latest"]))
            .await
            .unwrap();
        let (bb, _) = b.acct.push(repo, "b", Some("latest")).await;
        b.gate
            .handle(critical_scan(&b.acct, repo, &bb, &["latest"]))
            .await
            .unwrap();
        let state = b.acct.tags_by_digest(repo).await;
        assert!(
            state.contains(&(a.to_string(), vec![q("latest", &a)])),
            "{repo}: {state:?}"
        );
        assert!(
            state.contains(&(bb.to_string(), vec![q("latest", &bb)])),
            "{repo}: {state:?}"
        );
        let actions: Vec<Value> = told(&b).await.iter().map(|m| m["action"].clone()).collect();
        assert_eq!(
            actions,
            [json!("quarantined"), json!("quarantined")],
            "{repo}"
        );
    }
}

/// A quarantine step ECR refuses is never acknowledged silently: the message says quarantine
/// failed and which tags still deploy the failing image.
#[tokio::test]
async fn a_refused_quarantine_is_published_with_what_is_still_deployable() {
    let b = both().await;
    let repo = "imm/refused";
    b.acct.create_repository(repo).await;
    b.acct
        .clients
        .ecr
        .put_image_tag_mutability()
        .repository_name(repo)
        .image_tag_mutability(ImageTagMutability::Immutable)
        .send()
        .await
        .unwrap();
    let (a, _) = b.acct.push(repo, "a", Some("v1")).await;
    // Another image already holds A's quarantine name in this immutable repository.
    b.acct.push(repo, "squatter", Some(&q("v1", &a))).await;
    let response = b
        .gate
        .handle(critical_scan(&b.acct, repo, &a, &["v1"]))
        .await
        .unwrap();
    assert_eq!(tags_of(&b, repo, &a).await, ["v1"], "{response}");
    let messages = told(&b).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["action"], "quarantine_failed");
    assert_eq!(messages[0]["still_deployable"], json!(["v1"]));
    assert!(messages[0]["quarantined_tags"].is_null(), "{}", messages[0]);
    assert!(
        messages[0]["problems"][0]
            .as_str()
            .unwrap()
            .contains("already exists"),
        "{}",
        messages[0]
    );
}

/// scan-gate ↔ ECR (docs/invariants.md #3) under every reading of a BatchDeleteImage id holding a
/// digest and a tag: a quarantine keeps the image (same digest, each original tag replaced by its
/// quarantine tag), a release puts the originals back on that digest, and tag-guard's revert keeps
/// both images.
#[tokio::test]
async fn quarantine_release_and_revert_keep_every_image_under_every_batch_delete_reading() {
    for reading in Emulator::shared()
        .readings_of("batch_delete_digest_and_tag")
        .await
    {
        let b = both().await;
        b.acct
            .choose_readings(json!({"batch_delete_digest_and_tag": reading}))
            .await;
        let repo = "team-a/web";
        b.acct.create_repository(repo).await;
        let (a, _) = b.acct.push(repo, "a", Some("v1")).await;
        b.acct.push(repo, "a", Some("latest")).await;
        b.gate
            .handle(critical_scan(&b.acct, repo, &a, &["v1", "latest"]))
            .await
            .unwrap();
        assert_eq!(
            b.acct.tags_by_digest(repo).await,
            [(a.to_string(), vec![q("latest", &a), q("v1", &a)])],
            "{reading}: quarantined, same digest"
        );
        let clean = b.acct.event("ecr-image-scan.complete.json", |e| {
            e["detail"]["repository-name"] = json!(repo);
            e["detail"]["image-digest"] = json!(a);
            e["detail"]["image-tags"] = json!([q("latest", &a), q("v1", &a)]);
            e["detail"]["finding-severity-counts"] = json!({});
        });
        b.gate.handle(clean).await.unwrap();
        assert_eq!(
            b.acct.tags_by_digest(repo).await,
            [(a.to_string(), vec!["latest".to_owned(), "v1".to_owned()])],
            "{reading}: released onto the same digest"
        );

        let guarded = "team-a/api";
        b.acct.create_repository(guarded).await;
        let (d1, _) = b.acct.push(guarded, "d1", Some("v2")).await;
        b.guard
            .handle(push(&b.acct, guarded, "v2", &d1, 1))
            .await
            .unwrap();
        let (d2, _) = b.acct.push(guarded, "d2", Some("v2")).await;
        b.guard
            .handle(push(&b.acct, guarded, "v2", &d2, 2))
            .await
            .unwrap();
        let mut expected = vec![
            (d1.to_string(), vec!["v2".to_owned()]),
            (d2.to_string(), vec![format!("rejected-v2-{}", d2.short())]),
        ];
        expected.sort();
        assert_eq!(
            b.acct.tags_by_digest(guarded).await,
            expected,
            "{reading}: reverted"
        );
    }
}

/// docs/invariants.md #3, the residual race: a push moves a tag onto another image between
/// scan-gate's check and its tag-only delete. The delete takes the tag from that image (ECR: "When
/// you remove the last tag from an image, the image is deleted"); the failing image still ends
/// quarantined, and the message says what happened and which tag to push again — never hidden.
#[tokio::test]
async fn a_tag_pushed_between_the_check_and_the_delete_is_reported_not_hidden() {
    let b = both().await;
    let repo = "imm/race";
    b.acct.create_repository(repo).await;
    let (a, _) = b.acct.push(repo, "a", Some("v1")).await;
    b.acct.push(repo, "a", Some("latest")).await;
    let (other, _) = b.acct.push(repo, "other", None).await;
    b.acct.push_before_next_delete(repo, "v1", &other).await;
    b.gate
        .handle(critical_scan(&b.acct, repo, &a, &["v1", "latest"]))
        .await
        .unwrap();
    assert_eq!(
        b.acct.tags_by_digest(repo).await,
        [(a.to_string(), vec![q("latest", &a), q("v1", &a)])],
        "the failing image is quarantined; the image v1 was pushed onto lost it, and with it itself"
    );
    let messages = told(&b).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    let m = &messages[0];
    assert_eq!(m["action"], "quarantined", "{m}");
    assert_eq!(m["quarantined_tags"], json!(["latest"]), "{m}");
    assert_eq!(m["moved_meanwhile"], json!(["v1"]), "{m}");
    let problems = m["problems"].to_string();
    assert!(
        problems.contains(other.as_str()) && problems.contains("push v1 again"),
        "{m}"
    );
}

/// Safety flow 1 for a multi-arch image: index I is recorded for `v2.0.0`; its platform image (an
/// untagged child) fails, so I is quarantined and I's own record says FAIL. A fixed push of
/// `v2.0.0` stands: tag-guard never points the release tag back at the failing index.
#[tokio::test]
async fn a_fixed_push_over_a_quarantined_index_stands() {
    let b = both().await;
    let repo = "team-a/multi";
    b.acct.create_repository(repo).await;
    let (amd, _) = b.acct.push(repo, "amd", None).await;
    let (index, _) = b
        .acct
        .push_manifest(
            repo,
            &warden_tests::image_index(&[(&amd, "amd64")]),
            warden_tests::OCI_INDEX,
            Some("v2.0.0"),
        )
        .await;
    b.guard
        .handle(push(&b.acct, repo, "v2.0.0", &index, 1))
        .await
        .unwrap();
    b.gate
        .handle(critical_scan(&b.acct, repo, &amd, &[]))
        .await
        .unwrap();
    assert_eq!(tags_of(&b, repo, &index).await, [q("v2.0.0", &index)]);
    told(&b).await;

    let (fixed, _) = b.acct.push(repo, "fixed", Some("v2.0.0")).await;
    let response = b
        .guard
        .handle(push(&b.acct, repo, "v2.0.0", &fixed, 2))
        .await
        .unwrap();
    assert_eq!(tags_of(&b, repo, &fixed).await, ["v2.0.0"], "{response}");
    assert_eq!(tags_of(&b, repo, &index).await, [q("v2.0.0", &index)]);
    let messages = told(&b).await;
    assert_eq!(messages[0]["kind"], "tag_accepted", "{messages:?}");
}
