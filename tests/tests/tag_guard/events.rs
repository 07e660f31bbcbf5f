//! tag-guard on events: a repository created mutable gets the policy's setting, a moved protected
//! tag is reverted (in any delivery order), a tag ECR's replication wrote follows its source, dry
//! run, pushes that cost nothing.

use super::*;

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
            ("ECR.BatchGetImage", 1),
            ("ECR.DescribeImages", 1),
            ("ECR.PutImage", 2),
            ("SNS.Publish", 1)
        ]),
        "ledger 1 + current state (DescribeImages by tag) 1 + recorded image's verdict 1 + manifests 1 + restore 1 + keep offender 1 + publish 1: {response}"
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
        calls(&[("DynamoDB.PutItem", 1), ("ECR.DescribeImages", 1)])
    );
    assert_eq!(s.acct.tags_by_digest("team-a/api").await, before);
    assert!(
        s.acct.received(&s.queue).await.is_empty(),
        "no second notification"
    );
}

/// ECR's own replication writes a tag in the destination registry and says so with `ECR
/// Replication Action`, never a PUSH. tag-guard records it and follows it — the source region's
/// guard decides, and its revert is replicated here in turn — so two regions' ledgers never fight
/// (with replication both ways they would loop). A push made here over the replicated tag is
/// reverted to it. A failed replication and an untagged one change nothing.
#[tokio::test]
async fn a_tag_written_by_native_replication_follows_its_source_and_is_guarded_here() {
    let s = setup(false).await;
    s.acct.create_repository("team-a/api").await;
    let replicated = |tag: &str, digest: &Digest, time: &str, result: &str| {
        s.acct.event("ecr-replication-action.success.json", |e| {
            e["time"] = json!(time);
            e["detail"]["repository-name"] = json!("team-a/api");
            e["detail"]["image-tag"] = json!(tag);
            e["detail"]["image-digest"] = json!(digest);
            e["detail"]["result"] = json!(result);
        })
    };
    let (a, _) = s.acct.push("team-a/api", "a", Some("v2.0.0")).await;
    let (_, made) = run(&s, replicated("v2.0.0", &a, &at(1), "SUCCESS")).await;
    assert_eq!(
        made,
        calls(&[("DynamoDB.PutItem", 1)]),
        "first copy claims the tag"
    );

    // The source moved v2.0.0 to b (its own guard will answer there): replicated here, it stands.
    let (b, _) = s.acct.push("team-a/api", "b", Some("v2.0.0")).await;
    let (_, made) = run(&s, replicated("v2.0.0", &b, &at(2), "FAILED")).await;
    assert_eq!(made, calls(&[]), "a failed replication changes nothing");
    let (_, made) = run(&s, replicated("", &b, &at(2), "SUCCESS")).await;
    assert_eq!(made, calls(&[]), "an untagged copy has no tag to guard");
    let (response, made) = run(&s, replicated("v2.0.0", &b, &at(2), "SUCCESS")).await;
    assert_eq!(
        made.get("ECR.PutImage"),
        None,
        "never reverted here: {response}"
    );
    let published = s.acct.received(&s.queue).await;
    assert_eq!(published.len(), 1, "one notification");
    let message: Value = serde_json::from_str(published[0]["Message"].as_str().unwrap()).unwrap();
    assert_eq!(message["kind"], "tag_accepted");
    assert_eq!(message["accepted_digest"], json!(b));
    assert!(
        message["reason"]
            .as_str()
            .unwrap()
            .contains("ECR replication from us-west-2/210987654321"),
        "{message}"
    );

    // The source's revert arrives as another copy: followed back, still no write here.
    s.acct.push("team-a/api", "a", Some("v2.0.0")).await;
    let (_, made) = run(&s, replicated("v2.0.0", &a, &at(3), "SUCCESS")).await;
    assert_eq!(made.get("ECR.PutImage"), None);
    s.acct.received(&s.queue).await;

    // A push made here over the replicated tag is an overwrite like any other: reverted to a.
    let (c, _) = s.acct.push("team-a/api", "c", Some("v2.0.0")).await;
    let (response, made) = run(&s, push_event(&s.acct, "team-a/api", "v2.0.0", &c, &at(4))).await;
    assert_eq!(made.get("ECR.PutImage"), Some(&2), "{response}");
    let tags = s.acct.tags_by_digest("team-a/api").await;
    assert!(
        tags.contains(&(a.to_string(), vec!["v2.0.0".to_owned()])),
        "{tags:?}"
    );
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
