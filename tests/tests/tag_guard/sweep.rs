//! tag-guard's reconciling sweep: settings and protected tags without events, a checkpoint when
//! time runs out, a tag first seen by a sweep.

use super::*;

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
    use warden_tests::plans::After;

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
    let first = handle(&schedule, &policy, &ctx, &ports, &After::repositories(1))
        .await
        .unwrap();
    assert_eq!(
        first.stopped_after.as_ref().map(|r| r.as_str()),
        Some("team-a/one")
    );
    assert_eq!(first.plans.len(), 1, "one repository, then out of time");
    let second = handle(&schedule, &policy, &ctx, &ports, &After::repositories(10))
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
    s.acct.clients.calls.log_since("tag-guard", &before);
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
