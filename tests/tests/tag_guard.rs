//! tag-guard against the local AWS, through the same adapters and handler the Lambda runs.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed assertion

use std::collections::BTreeMap;
use warden_aws::runtime::lambda::Function;

use serde_json::{Value, json};
use warden_aws::adapters::ecr::EcrRegistry;
use warden_aws::functions::tag_guard::{TagGuard, TagGuardConfig};
use warden_core::names::{Digest, RepositoryName, Tag};
use warden_core::policy::Policy;
use warden_core::ports::{ImageManifests, Manifest, PortError};
use warden_tests::{Emulator, OCI_MANIFEST, TestAccount, at, image_manifest};

const POLICY: &str = r#"
version: 1
repositories:
  - match: "**"
    immutability: { mode: IMMUTABLE_WITH_EXCLUSION, exclusions: ["latest", "dev-*"] }
  - match: "team-a/*"
    immutability: { mode: MUTABLE }
    protected_tags:
      patterns: ["v*"]
      offender: { keep_as: "rejected-{tag}-{short_digest}" }
  - match: "team-a/quiet"
    dry_run: true
"#;

struct Setup {
    acct: TestAccount,
    guard: TagGuard,
    queue: String,
    table: String,
}

async fn setup(dry_run: bool) -> Setup {
    let acct = Emulator::shared().account().await;
    let table = acct.state_table().await;
    let (topic, queue) = acct.topic_with_queue(None).await;
    let guard = guard_for(&acct, &table, &topic, dry_run);
    Setup {
        acct,
        guard,
        queue,
        table,
    }
}

fn guard_for(acct: &TestAccount, table: &str, topic: &str, dry_run: bool) -> TagGuard {
    let config = TagGuardConfig {
        table: table.to_owned(),
        topic_arn: Some(topic.to_owned()),
        dry_run,
    };
    TagGuard::new(
        &acct.sdk,
        &acct.clients.calls,
        Policy::from_yaml(POLICY).unwrap(),
        config,
    )
}

fn push_event(
    acct: &TestAccount,
    repository: &str,
    tag: &str,
    digest: &Digest,
    time: &str,
) -> Value {
    acct.event("ecr-image-action.push.json", |e| {
        e["time"] = json!(time);
        e["detail"]["repository-name"] = json!(repository);
        e["detail"]["image-tag"] = json!(tag);
        e["detail"]["image-digest"] = json!(digest);
    })
}

fn create_repository_event(acct: &TestAccount, repository: &str, mutability: &str) -> Value {
    acct.event("cloudtrail.create-repository.json", |e| {
        e["detail"]["requestParameters"]["repositoryName"] = json!(repository);
        e["detail"]["responseElements"]["repository"]["repositoryName"] = json!(repository);
        e["detail"]["responseElements"]["repository"]["imageTagMutability"] = json!(mutability);
    })
}

/// Run one event and return the API calls it made, per operation.
async fn run(s: &Setup, event: Value) -> (Value, BTreeMap<String, u64>) {
    s.acct.clients.calls.take();
    let response = s.guard.handle(event).await.unwrap();
    (response, s.acct.clients.calls.take())
}

fn calls(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

#[tokio::test]
async fn a_repository_created_mutable_gets_the_policy_setting_and_then_ecr_enforces_it() {
    let s = setup(false).await;
    s.acct.create_repository("app/web").await;
    assert_eq!(s.acct.mutability("app/web").await.0, "MUTABLE");

    let (_, made) = run(&s, create_repository_event(&s.acct, "app/web", "MUTABLE")).await;
    assert_eq!(
        made,
        calls(&[("ECR.PutImageTagMutability", 1), ("SNS.Publish", 1)])
    );
    assert_eq!(
        s.acct.mutability("app/web").await,
        (
            "IMMUTABLE_WITH_EXCLUSION".to_owned(),
            vec!["dev-*".to_owned(), "latest".to_owned()]
        )
    );
    let published = s.acct.received(&s.queue).await;
    assert_eq!(published.len(), 1);
    assert_eq!(
        published[0]["MessageAttributes"]["kind"]["Value"],
        "repository_fixed"
    );

    // Now ECR itself refuses to move v1, with the typed error; `latest` moves freely.
    let registry = EcrRegistry::new(s.acct.clients.ecr.clone());
    let repo = RepositoryName::new("app/web").unwrap();
    s.acct.push("app/web", "a", Some("v1")).await;
    let b = image_manifest("b");
    let manifest = Manifest {
        digest: Digest::of_bytes(b.as_bytes()),
        media_type: Some(OCI_MANIFEST.into()),
        bytes: b,
    };
    let err = registry
        .put_tag(&repo, &manifest, &Tag::new("v1").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, PortError::TagAlreadyExists { .. }), "{err:?}");
    s.acct.push("app/web", "a", Some("latest")).await;
    s.acct.push("app/web", "b", Some("latest")).await;
    assert_eq!(
        registry
            .tag_target(&repo, &Tag::new("latest").unwrap())
            .await
            .unwrap(),
        Some(manifest.digest)
    );

    // A CreateRepository that already has the policy's setting costs nothing.
    let conformant = s.acct.event(
        "cloudtrail.create-repository-immutable-with-exclusion.json",
        |e| {
            e["detail"]["responseElements"]["repository"]["repositoryName"] = json!("app/web");
        },
    );
    let (_, made) = run(&s, conformant).await;
    assert_eq!(
        made,
        calls(&[]),
        "a conformant CreateRepository costs nothing"
    );
}

#[tokio::test]
async fn a_moved_protected_tag_is_reverted_and_the_offender_kept() {
    let s = setup(false).await;
    s.acct.create_repository("team-a/api").await;
    let (a, _) = s.acct.push("team-a/api", "a", Some("v1.2.3")).await;
    let (_, made) = run(&s, push_event(&s.acct, "team-a/api", "v1.2.3", &a, &at(1))).await;
    assert_eq!(
        made,
        calls(&[("DynamoDB.PutItem", 1)]),
        "first push of a protected tag: one conditional write"
    );

    let (b, _) = s.acct.push("team-a/api", "b", Some("v1.2.3")).await;
    let (response, made) = run(&s, push_event(&s.acct, "team-a/api", "v1.2.3", &b, &at(2))).await;
    assert_eq!(
        made,
        calls(&[
            ("DynamoDB.GetItem", 1),
            ("DynamoDB.PutItem", 1),
            ("ECR.BatchGetImage", 2),
            ("ECR.PutImage", 2),
            ("SNS.Publish", 1)
        ]),
        "ledger 1 + current state 1 + recorded image's verdict 1 + manifests 1 + restore 1 + keep offender 1 + publish 1: {response}"
    );
    let kept = format!("rejected-v1.2.3-{}", b.short());
    assert_eq!(
        s.acct.tags_by_digest("team-a/api").await,
        sorted(vec![
            (a.to_string(), vec!["v1.2.3".to_owned()]),
            (b.to_string(), vec![kept.clone()])
        ])
    );
    let published = s.acct.received(&s.queue).await;
    assert_eq!(published.len(), 1, "one notification");
    let message: Value = serde_json::from_str(published[0]["Message"].as_str().unwrap()).unwrap();
    assert_eq!(message["kind"], "tag_reverted");
    assert_eq!(message["tag"], "v1.2.3");
    assert_eq!(message["restored_digest"], json!(a));
    assert_eq!(message["offending_digest"], json!(b));
    assert_eq!(message["offender_kept_as"], json!(kept));
    assert_eq!(
        published[0]["MessageAttributes"]["action"]["Value"],
        "reverted"
    );

    // Duplicates change nothing: A's event again costs one call, B's again two, no second revert.
    let before = s.acct.tags_by_digest("team-a/api").await;
    let (_, made) = run(&s, push_event(&s.acct, "team-a/api", "v1.2.3", &a, &at(1))).await;
    assert_eq!(made, calls(&[("DynamoDB.PutItem", 1)]));
    let (_, made) = run(&s, push_event(&s.acct, "team-a/api", "v1.2.3", &b, &at(2))).await;
    assert_eq!(
        made,
        calls(&[("DynamoDB.PutItem", 1), ("ECR.BatchGetImage", 1)])
    );
    assert_eq!(s.acct.tags_by_digest("team-a/api").await, before);
    assert!(
        s.acct.received(&s.queue).await.is_empty(),
        "no second notification"
    );
}

fn sorted(mut v: Vec<(String, Vec<String>)>) -> Vec<(String, Vec<String>)> {
    v.sort();
    v
}

#[tokio::test]
async fn events_delivered_in_reverse_order_end_in_the_same_state() {
    let s = setup(false).await;
    s.acct.create_repository("team-a/rev").await;
    let (a, _) = s.acct.push("team-a/rev", "a", Some("v2")).await;
    let (b, _) = s.acct.push("team-a/rev", "b", Some("v2")).await;
    // B's event arrives first (and is recorded), then A's, observed earlier.
    run(&s, push_event(&s.acct, "team-a/rev", "v2", &b, &at(2))).await;
    assert!(s.acct.received(&s.queue).await.is_empty());
    run(&s, push_event(&s.acct, "team-a/rev", "v2", &a, &at(1))).await;
    let expected = sorted(vec![
        (a.to_string(), vec!["v2".to_owned()]),
        (b.to_string(), vec![format!("rejected-v2-{}", b.short())]),
    ]);
    assert_eq!(
        s.acct.tags_by_digest("team-a/rev").await,
        expected,
        "the same end state as in order"
    );
    assert_eq!(s.acct.received(&s.queue).await.len(), 1);
    // And everything again, both orders: nothing more happens.
    for (d, t) in [(&a, 1), (&b, 2), (&b, 2), (&a, 1)] {
        run(&s, push_event(&s.acct, "team-a/rev", "v2", d, &at(t))).await;
    }
    assert_eq!(s.acct.tags_by_digest("team-a/rev").await, expected);
    assert!(
        s.acct.received(&s.queue).await.is_empty(),
        "no second revert"
    );
}

#[tokio::test]
async fn dry_run_changes_nothing_and_reports_the_plan() {
    let s = setup(false).await;
    s.acct.create_repository("team-a/api").await;
    let (a, _) = s.acct.push("team-a/api", "a", Some("v1")).await;
    run(&s, push_event(&s.acct, "team-a/api", "v1", &a, &at(1))).await; // records A (not dry)
    let (b, _) = s.acct.push("team-a/api", "b", Some("v1")).await;
    s.acct.create_repository("other/svc").await;

    let before = (
        s.acct.tags_by_digest("team-a/api").await,
        s.acct.mutability("other/svc").await,
        s.acct.table_items(&s.table).await,
    );
    let topic = s
        .acct
        .clients
        .sns
        .list_topics()
        .send()
        .await
        .unwrap()
        .topics()[0]
        .topic_arn()
        .unwrap()
        .to_owned();
    let dry = guard_for(&s.acct, &s.table, &topic, true);
    let revert = dry
        .handle(push_event(&s.acct, "team-a/api", "v1", &b, &at(2)))
        .await
        .unwrap();
    let fix = dry
        .handle(create_repository_event(&s.acct, "other/svc", "MUTABLE"))
        .await
        .unwrap();
    let after = (
        s.acct.tags_by_digest("team-a/api").await,
        s.acct.mutability("other/svc").await,
        s.acct.table_items(&s.table).await,
    );
    assert_eq!(before, after, "dry-run changed the emulator's state");

    let plan = &revert["report"]["plans"][0];
    assert_eq!(plan["dry_run"], true);
    let actions: Vec<&str> = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["put_tag", "put_tag", "publish"], "{revert}");
    assert_eq!(
        fix["report"]["plans"][0]["actions"][0]["action"],
        "set_tag_mutability"
    );
    let told: Vec<String> = s
        .acct
        .received(&s.queue)
        .await
        .iter()
        .map(|m| {
            m["MessageAttributes"]["action"]["Value"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        told,
        ["would_reverted", "would_fixed"],
        "people are told what would happen"
    );

    // A policy-level dry_run pattern behaves the same, and reads the ledger instead of writing it.
    s.acct.create_repository("team-a/quiet").await;
    let (q, _) = s.acct.push("team-a/quiet", "q", Some("v1")).await;
    let (_, made) = run(&s, push_event(&s.acct, "team-a/quiet", "v1", &q, &at(3))).await;
    assert_eq!(made, calls(&[("DynamoDB.GetItem", 1)]));
}

#[tokio::test]
async fn pushes_that_ecr_or_nobody_protects_cost_nothing() {
    let s = setup(false).await;
    for (repository, tag) in [
        ("team-a/api", "latest"),
        ("team-b/web", "v1"),
        ("team-b/web", "latest"),
    ] {
        let digest = Digest::of_bytes(tag.as_bytes());
        let (_, made) = run(&s, push_event(&s.acct, repository, tag, &digest, &at(1))).await;
        assert_eq!(made, calls(&[]), "{repository}:{tag}");
    }
    let untagged = s.acct.event("ecr-image-action.push-untagged.json", |_| {});
    assert_eq!(run(&s, untagged).await.1, calls(&[]));
    let (response, made) = run(
        &s,
        warden_tests::load_fixture("../events/malformed/missing-detail.json"),
    )
    .await;
    assert_eq!(made, calls(&[]), "bad input: no AWS call");
    assert_eq!(response["status"], "rejected");
    assert!(
        response["error"]
            .as_str()
            .unwrap()
            .contains("`detail` is missing")
    );
}

#[tokio::test]
async fn the_sweep_reconciles_settings_and_protected_tags_without_events() {
    let s = setup(false).await;
    for name in ["svc/one", "svc/two", "team-a/api"] {
        s.acct.create_repository(name).await;
    }
    let (a, _) = s.acct.push("team-a/api", "a", Some("v9")).await;
    let first = s.acct.event("scheduled-event.json", |_| {});
    run(&s, first).await; // fixes svc/*; records team-a/api:v9 → A from the listing
    for name in ["svc/one", "svc/two"] {
        assert_eq!(
            s.acct.mutability(name).await.0,
            "IMMUTABLE_WITH_EXCLUSION",
            "{name}"
        );
    }
    assert_eq!(s.acct.mutability("team-a/api").await.0, "MUTABLE");
    // v9 is moved and its push event is lost: the next sweep reverts it.
    let (b, _) = s.acct.push("team-a/api", "b", Some("v9")).await;
    s.acct.received(&s.queue).await;
    let (response, _) = run(&s, s.acct.event("scheduled-event.json", |_| {})).await;
    let tags = s.acct.tags_by_digest("team-a/api").await;
    assert!(
        tags.contains(&(a.to_string(), vec!["v9".to_owned()])),
        "{tags:?} {response}"
    );
    assert!(tags.contains(&(b.to_string(), vec![format!("rejected-v9-{}", b.short())])));
    assert_eq!(s.acct.received(&s.queue).await.len(), 1);
}

/// An event for another account (a cross-account event bus) is ignored: the function's
/// credentials act in its own registry, where a repository of that name is another one.
#[tokio::test]
async fn an_event_for_another_account_is_ignored() {
    let s = setup(false).await;
    s.acct.create_repository("team-a/api").await;
    let (a, _) = s.acct.push("team-a/api", "a", Some("v1.2.3")).await;
    let mut event = push_event(&s.acct, "team-a/api", "v1.2.3", &a, &at(1));
    event["account"] = json!("999999999999");
    let mut context = lambda_runtime::Context::default();
    context.invoked_function_arn =
        format!("arn:aws:lambda:us-east-1:{}:function:tag-guard", s.acct.id);
    let before = s.acct.clients.calls.snapshot();
    let response = s
        .guard
        .handle_invocation(lambda_runtime::LambdaEvent::new(
            event.clone().into(),
            context.clone(),
        ))
        .await
        .unwrap();
    assert_eq!(response["status"], "ignored", "{response}");
    assert!(
        s.acct.clients.calls.since(&before).is_empty(),
        "no AWS call"
    );
    // The same event for the function's own account is handled.
    event["account"] = json!(s.acct.id);
    let response = s
        .guard
        .handle_invocation(lambda_runtime::LambdaEvent::new(event.into(), context))
        .await
        .unwrap();
    assert_eq!(response["status"], "ok", "{response}");
}

/// Stops after `n` repositories, as a Lambda near its deadline would.
struct After(std::sync::atomic::AtomicUsize);

impl warden_core::budget::Budget for After {
    fn time_left(&self) -> bool {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst) > 0
    }
}

/// The sweep checks its deadline like janitor: out of time it checkpoints the last repository
/// done in the state table, and the next sweep continues after it.
#[tokio::test]
async fn a_sweep_out_of_time_checkpoints_and_the_next_continues_there() {
    use warden_aws::adapters::checkpoints::DynamoCheckpoints;
    use warden_aws::adapters::ledger::DynamoLedger;
    use warden_aws::adapters::publisher::SnsPublisher;
    use warden_aws::adapters::verdicts::DynamoVerdicts;
    use warden_core::names::{AccountId, Region};
    use warden_core::tag_guard::{Context, Ports, handle};

    let s = setup(false).await;
    for name in ["team-a/one", "team-a/two", "team-a/three"] {
        s.acct.create_repository(name).await;
    }
    let registry = EcrRegistry::new(s.acct.clients.ecr.clone());
    let ledger = DynamoLedger::new(s.acct.clients.dynamodb.clone(), s.table.clone());
    let verdicts = DynamoVerdicts::new(s.acct.clients.dynamodb.clone(), s.table.clone());
    let checkpoints = DynamoCheckpoints::new(s.acct.clients.dynamodb.clone(), s.table.clone());
    let publisher = SnsPublisher::new(s.acct.clients.sns.clone(), None);
    let ports = Ports {
        images: &registry,
        settings: &registry,
        mutability: &registry,
        catalog: &registry,
        ledger: &ledger,
        verdicts: &verdicts,
        publisher: &publisher,
        checkpoints: Some(&checkpoints),
    };
    let ctx = Context {
        account: AccountId::new(s.acct.id.as_str()).unwrap(),
        region: Region::new(warden_tests::REGION).unwrap(),
        event_id: None,
        force_dry_run: true, // tell nothing, change nothing: only the order and checkpoint matter
        now: chrono::Utc::now(),
    };
    let schedule =
        match warden_core::event::incoming(s.acct.event("scheduled-event.json", |_| {})).unwrap() {
            warden_core::event::Incoming::Event(e) => *e,
            _ => unreachable!(),
        };
    let policy = Policy::from_yaml(POLICY).unwrap();
    let before = s.acct.clients.calls.snapshot();
    let first = handle(&schedule, &policy, &ctx, &ports, &After(1.into()))
        .await
        .unwrap();
    assert_eq!(
        first.stopped_after.as_ref().map(|r| r.as_str()),
        Some("team-a/one")
    );
    assert_eq!(first.plans.len(), 1, "one repository, then out of time");
    let second = handle(&schedule, &policy, &ctx, &ports, &After(10.into()))
        .await
        .unwrap();
    let decided: Vec<&str> = second.plans.iter().map(|p| p.decision.as_str()).collect();
    assert_eq!(decided.len(), 2, "the other two: {decided:?}");
    assert!(
        decided.iter().all(|d| !d.starts_with("team-a/one")),
        "{decided:?}"
    );
    assert!(second.stopped_after.is_none());
    // tag-guard's own sweep and adapters, driven without the Lambda frame: log what they called
    // (the checkpoint's PutItem and DeleteItem among them) for the IAM check.
    warden_aws::runtime::calls::log_calls("tag-guard", &s.acct.clients.calls.since(&before));
    assert_eq!(
        s.acct.table_items(&s.table).await.len(),
        0,
        "the checkpoint is cleared"
    );
}

/// A tag first seen by a sweep is recorded at the sweep's time, not at the image's push time: a
/// protected tag moved onto an old image must not out-date the real first push of that tag.
#[tokio::test]
async fn a_tag_first_seen_by_a_sweep_is_recorded_at_the_sweeps_time() {
    let s = setup(false).await;
    let repo = "team-a/late";
    s.acct.create_repository(repo).await;
    let (old, old_bytes) = s.acct.push(repo, "old", Some("old-build")).await;
    s.acct.age_images(repo, &[(&old, 30 * 86_400, None)]).await;
    // B is pushed as v1 (its event is late) ...
    let (b, _) = s.acct.push(repo, "b", Some("v1")).await;
    let late_event = push_event(&s.acct, repo, "v1", &b, &at(1));
    // ... then v1 is moved onto the 30-day-old image, and the sweep sees that first.
    s.acct
        .push_manifest(repo, &old_bytes, OCI_MANIFEST, Some("v1"))
        .await;
    s.guard
        .handle(s.acct.event("scheduled-event.json", |_| {}))
        .await
        .unwrap();
    // B's push event arrives: B's push was observed before the sweep, so v1 goes back to B.
    s.guard.handle(late_event).await.unwrap();
    let state = s.acct.tags_by_digest(repo).await;
    assert!(
        state
            .iter()
            .any(|(d, t)| d == b.as_str() && t.contains(&"v1".to_owned())),
        "{state:?}"
    );
}

/// An account the policy names is acted on through its role: tag-guard running in account A
/// reverts a moved protected tag in account B's registry, keeping B's ledger in A's table under
/// B's keys; an account the policy does not name is ignored.
#[tokio::test]
async fn a_named_account_is_guarded_through_its_role() {
    let a = Emulator::shared().account().await;
    let b = Emulator::shared().account().await;
    let table = a.state_table().await;
    let (topic, _) = a.topic_with_queue(None).await;
    let policy = Policy::from_yaml(&format!(
        "{POLICY}accounts:\n  - {{ id: '{id}', role_arn: 'arn:aws:iam::{id}:role/warden-test' }}\n",
        id = b.id
    ))
    .unwrap();
    let guard = TagGuard::new(
        &a.sdk,
        &a.clients.calls,
        policy,
        TagGuardConfig {
            table: table.clone(),
            topic_arn: Some(topic),
            dry_run: false,
        },
    )
    .with_named_accounts(&a.sdk)
    .await;
    let mut context = lambda_runtime::Context::default();
    context.invoked_function_arn = format!("arn:aws:lambda:us-east-1:{}:function:tag-guard", a.id);
    let invoke = |event: Value| {
        guard.handle_invocation(lambda_runtime::LambdaEvent::new(
            event.into(),
            context.clone(),
        ))
    };

    b.create_repository("team-a/api").await;
    let (d1, _) = b.push("team-a/api", "d1", Some("v1.2.3")).await;
    invoke(push_event(&b, "team-a/api", "v1.2.3", &d1, &at(1)))
        .await
        .unwrap();
    let (d2, _) = b.push("team-a/api", "d2", Some("v1.2.3")).await;
    let response = invoke(push_event(&b, "team-a/api", "v1.2.3", &d2, &at(2)))
        .await
        .unwrap();
    let state = b.tags_by_digest("team-a/api").await;
    assert!(
        state.contains(&(d1.to_string(), vec!["v1.2.3".into()])),
        "reverted in B: {state:?} {response}"
    );
    let items = a.table_items(&table).await;
    assert!(
        items
            .iter()
            .any(|i| i.contains(&format!("tag#{}#team-a/api#v1.2.3", b.id))),
        "{items:?}"
    );

    let mut stranger = push_event(&b, "team-a/api", "v1.2.3", &d2, &at(3));
    stranger["account"] = json!("999999999999");
    let response = invoke(stranger).await.unwrap();
    assert_eq!(response["status"], "ignored", "{response}");
}
