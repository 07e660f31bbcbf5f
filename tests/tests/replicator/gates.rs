//! What is copied: only a PASS and the tags the filter matches, an ungated push, no copy of a copy,
//! and scan-gate's PASS driving the copy end to end.

use warden_tests::signing::{cosign_key, cosign_sign};

use super::*;

#[tokio::test]
async fn only_a_pass_promotes_and_only_the_tags_the_filter_matches_travel() {
    let s = setup().await;
    s.acct.create_repository("team-a/app").await;
    let (failed, _) = s
        .acct
        .push_layers(SOURCE, "team-a/app", "f", &[layer(12, 100)], Some("v0"))
        .await;
    record(&s, "team-a/app", &failed, Verdict::Fail).await;
    let (response, made) = run(
        &s,
        verdict_delivery(&s, "team-a/app", &failed, &["v0"], Verdict::Fail),
    )
    .await;
    assert!(
        response["decision"]
            .as_str()
            .unwrap()
            .contains("only a PASS promotes")
    );
    assert!(made.is_empty(), "a FAIL reads nothing: {made:?}");

    // A PASS message that a later FAIL superseded (out of order) promotes nothing either.
    let decision = decided(
        &s,
        verdict_delivery(&s, "team-a/app", &failed, &["v0"], Verdict::Pass),
    )
    .await;
    assert!(decision.contains("is FAIL now"), "{decision}");

    let (dev, _) = s
        .acct
        .push_layers(SOURCE, "team-a/app", "d", &[layer(13, 100)], Some("dev-7"))
        .await;
    record(&s, "team-a/app", &dev, Verdict::Pass).await;
    let decision = decided(
        &s,
        verdict_delivery(&s, "team-a/app", &dev, &["dev-7"], Verdict::Pass),
    )
    .await;
    assert!(
        decision.contains("matches the replication tags"),
        "{decision}"
    );

    let (both, _) = s
        .acct
        .push_layers(SOURCE, "team-a/app", "b", &[layer(14, 100)], Some("v1"))
        .await;
    s.acct
        .clients
        .ecr
        .put_image()
        .repository_name("team-a/app")
        .image_manifest(
            images(&s.acct.ecr_in(SOURCE), "team-a/app")
                .await
                .into_iter()
                .find(|i| i.0 == both.as_str())
                .unwrap()
                .1,
        )
        .image_tag("dev-8")
        .send()
        .await
        .unwrap();
    record(&s, "team-a/app", &both, Verdict::Pass).await;
    run(
        &s,
        verdict_delivery(&s, "team-a/app", &both, &["v1", "dev-8"], Verdict::Pass),
    )
    .await;
    let copied = images(&s.acct.ecr_in(EU), "team-a/app").await;
    assert_eq!(copied.len(), 1, "only the passed v1 image: {copied:?}");
    assert_eq!(
        (copied[0].0.as_str(), copied[0].2.clone()),
        (both.as_str(), vec!["v1".to_owned()])
    );
}

#[tokio::test]
async fn an_ungated_push_is_copied_and_the_copy_arriving_in_the_destination_is_not_copied_again() {
    let s = setup().await;
    s.acct.create_repository("open/tool").await;
    let (digest, _) = s
        .acct
        .push_layers(SOURCE, "open/tool", "t", &[layer(15, 700)], Some("1.0"))
        .await;
    let push = |region: &str| {
        s.acct.event("ecr-image-action.push.json", |e| {
            e["region"] = json!(region);
            e["detail"]["repository-name"] = json!("open/tool");
            e["detail"]["image-digest"] = json!(digest);
            e["detail"]["image-tag"] = json!("1.0");
        })
    };
    let (response, made) = run(&s, push(SOURCE)).await;
    assert_eq!(
        made.get("DynamoDB.GetItem"),
        None,
        "ungated: no verdict read"
    );
    assert_eq!(report(&response, EU)["layers_copied"], 2);
    assert_eq!(
        images(&s.acct.ecr_in(EU), "open/tool").await,
        images(&s.acct.ecr_in(SOURCE), "open/tool").await
    );

    // ECR emits the copy's own PUSH in eu-west-1: the replicator there leaves it alone.
    let (response, made) = run(&s, push(EU)).await;
    assert!(
        response["decision"]
            .as_str()
            .unwrap()
            .contains("is itself a destination"),
        "{response}"
    );
    assert!(made.is_empty());
}

#[tokio::test]
async fn scan_gates_pass_drives_the_copy_end_to_end() {
    let s = setup().await;
    s.acct.create_repository("team-a/svc").await;
    let (digest, _) = s
        .acct
        .push_layers(SOURCE, "team-a/svc", "svc", &[layer(16, 900)], Some("v9"))
        .await;
    // scan-gate decides on a clean basic scan, records PASS and publishes to the topic, where
    // the replicator's subscription (filter: verdict = PASS) picks it up.
    let (gate, passes) = gate_publishing_passes(&s).await;
    let scan = s.acct.event("ecr-image-scan.complete.json", |e| {
        e["detail"]["repository-name"] = json!("team-a/svc");
        e["detail"]["image-digest"] = json!(digest);
        e["detail"]["image-tags"] = json!(["v9"]);
        e["detail"]["finding-severity-counts"] = json!({});
    });
    gate.handle(scan).await.unwrap();
    let delivered = s.acct.received(&passes).await;
    assert_eq!(delivered.len(), 1);
    let bodies = subject_and_message(&delivered);
    let (response, _) = run(&s, sns_delivery(&bodies)).await;
    assert_eq!(report(&response, EU)["layers_copied"], 2, "{response}");
    assert_eq!(
        images(&s.other.ecr_in(SOURCE), "team-a/svc").await,
        images(&s.acct.ecr_in(SOURCE), "team-a/svc").await
    );
}

/// An ECR push event for `tag` on `digest` in the source region.
fn push_event(s: &Setup, repository: &str, digest: &Digest, tag: &str) -> Value {
    s.acct.event("ecr-image-action.push.json", |e| {
        e["region"] = json!(SOURCE);
        e["detail"]["repository-name"] = json!(repository);
        e["detail"]["image-digest"] = json!(digest);
        e["detail"]["image-tag"] = json!(tag);
    })
}

/// Teams promote by adding a tag to an image that already passed: the tag's push is copied in a
/// gated repository when the recorded verdict is PASS — with every matching tag the image holds
/// now — and waits for the verdict when there is none.
#[tokio::test]
async fn a_tag_added_to_a_passed_image_is_promoted_by_its_push() {
    let s = setup().await;
    let repo = "team-a/promo";
    s.acct.create_repository(repo).await;
    let (digest, bytes) = s
        .acct
        .push_layers(SOURCE, repo, "promo", &[layer(21, 300)], Some("rc-1"))
        .await;
    let decision = decided(&s, push_event(&s, repo, &digest, "rc-1")).await;
    assert!(decision.contains("no tag of the image"), "{decision}");
    s.acct
        .push_manifest(repo, &bytes, warden_tests::OCI_MANIFEST, Some("v2"))
        .await;
    let decision = decided(&s, push_event(&s, repo, &digest, "v2")).await;
    assert!(decision.contains("waiting for the verdict"), "{decision}");

    record(&s, repo, &digest, Verdict::Pass).await;
    let (response, made) = run(&s, push_event(&s, repo, &digest, "v2")).await;
    assert_eq!(made.get("DynamoDB.GetItem"), Some(&1), "{made:?}");
    assert_eq!(report(&response, EU)["tags"], json!(["v2"]), "{response}");
    let copied = images(&s.acct.ecr_in(EU), repo).await;
    assert_eq!(copied.len(), 1);
    assert_eq!(
        (copied[0].0.as_str(), copied[0].2.clone()),
        (digest.as_str(), vec!["v2".to_owned()])
    );
}

/// A verdict message names the tags of its moment; the copy takes those the image holds when
/// copying. After `v1` moved to another image, a PASS naming `v1` does not put `v1` on this image
/// in the destination.
#[tokio::test]
async fn a_copy_takes_the_tags_the_source_holds_now_not_those_its_message_named() {
    let s = setup().await;
    let repo = "team-a/moved";
    s.acct.create_repository(repo).await;
    let (a, _) = s
        .acct
        .push_layers(SOURCE, repo, "a", &[layer(22, 300)], Some("v1"))
        .await;
    s.acct
        .push_layers(SOURCE, repo, "b", &[layer(23, 300)], Some("v1"))
        .await;
    record(&s, repo, &a, Verdict::Pass).await;
    let decision = decided(&s, verdict_delivery(&s, repo, &a, &["v1"], Verdict::Pass)).await;
    assert!(decision.contains("untagged"), "{decision}");
    assert!(images(&s.acct.ecr_in(EU), repo).await.is_empty());
}

/// An IMMUTABLE destination whose tag already names another image refuses the copy's tag: the
/// copy is a failure, published as `replication_failed`, never reported as replicated.
#[tokio::test]
async fn an_immutable_destination_tag_held_by_another_image_is_a_published_failure() {
    let s = setup().await;
    let repo = "team-a/frozen";
    s.acct.create_repository(repo).await;
    s.acct
        .ecr_in(EU)
        .create_repository()
        .repository_name(repo)
        .image_tag_mutability(aws_sdk_ecr::types::ImageTagMutability::Immutable)
        .send()
        .await
        .unwrap();
    s.acct
        .push_layers(EU, repo, "theirs", &[layer(24, 300)], Some("v1"))
        .await;
    let (ours, _) = s
        .acct
        .push_layers(SOURCE, repo, "ours", &[layer(25, 300)], Some("v1"))
        .await;
    record(&s, repo, &ours, Verdict::Pass).await;
    s.acct.received(&s.queue).await;
    let (response, _) = run(
        &s,
        verdict_delivery(&s, repo, &ours, &["v1"], Verdict::Pass),
    )
    .await;
    let failures = response["outcomes"][0]["body"]["failures"].clone();
    assert!(
        failures[0].as_str().unwrap().contains("is immutable"),
        "{response}"
    );
    let told = s.acct.received(&s.queue).await;
    assert_eq!(told.len(), 1);
    assert_eq!(
        told[0]["MessageAttributes"]["action"]["Value"],
        "replication_failed"
    );
}

/// `docker buildx build --push` sends an index over the platform image and its attestation. ECR
/// scans the platform image, an untagged child: its PASS makes the index's record PASS, scan-gate
/// tells it with the index's tag, and the replicator promotes the index with both children,
/// digests unchanged. Before the PASS, nothing of it travels.
#[tokio::test]
async fn a_clean_buildx_push_is_promoted_as_its_index() {
    let s = setup().await;
    let repo = "team-a/buildx";
    s.acct.create_repository(repo).await;
    let (index, platform, attestation) = s
        .acct
        .push_buildx(SOURCE, repo, "bx", &[layer(26, 400)], "v5")
        .await;
    let (gate, passes) = gate_publishing_passes(&s).await;
    let decision = decided(&s, push_event(&s, repo, &index, "v5")).await;
    assert!(decision.contains("waiting for the verdict"), "{decision}");

    let scan = s.acct.event("ecr-image-scan.complete.json", |e| {
        e["detail"]["repository-name"] = json!(repo);
        e["detail"]["image-digest"] = json!(platform);
        e["detail"]["image-tags"] = json!([]);
        e["detail"]["finding-severity-counts"] = json!({"LOW": 2});
    });
    let response = gate.handle(scan).await.unwrap();
    assert!(
        response["decision"]
            .as_str()
            .unwrap()
            .contains("PASS; index"),
        "{response}"
    );
    let delivered = s.acct.received(&passes).await;
    let bodies = subject_and_message(&delivered);
    assert_eq!(bodies.len(), 2, "the platform image's PASS and the index's");
    run(&s, sns_delivery(&bodies)).await;
    let copied = images(&s.acct.ecr_in(EU), repo).await;
    let source = images(&s.acct.ecr_in(SOURCE), repo).await;
    assert_eq!(
        copied, source,
        "the index and both children, byte-identical"
    );
    let digests: Vec<&str> = copied.iter().map(|c| c.0.as_str()).collect();
    for d in [&index, &platform, &attestation] {
        assert!(digests.contains(&d.as_str()), "{d} missing: {digests:?}");
    }
    assert_eq!(
        copied.iter().find(|c| c.0 == index.as_str()).unwrap().2,
        ["v5"]
    );
}

/// scan-gate on the replicator's table, publishing to a topic whose queue receives the PASS
/// verdicts (the replicator's subscription filter).
async fn gate_publishing_passes(s: &Setup) -> (ScanGate, String) {
    gate_with_policy_publishing_passes(s, policy(&s.other.id)).await
}

/// [`gate_publishing_passes`] under `policy`.
async fn gate_with_policy_publishing_passes(s: &Setup, policy: Policy) -> (ScanGate, String) {
    let (topic, _) = s.acct.topic_with_queue(None).await;
    let passes = s
        .acct
        .subscribed_queue(&topic, Some(r#"{"verdict": ["PASS"]}"#))
        .await;
    let gate = ScanGate::new(
        &s.acct.sdk,
        &s.acct.clients.calls,
        policy,
        ScanGateConfig {
            table: s.table.clone(),
            topic_arn: Some(topic),
            dry_run: false,
        },
    );
    (gate, passes)
}

/// (Subject, Message) of each SNS envelope received, for an SNS delivery to the replicator.
fn subject_and_message(delivered: &[Value]) -> Vec<(String, String)> {
    delivered
        .iter()
        .map(|d| {
            (
                d["Subject"].as_str().unwrap().to_owned(),
                d["Message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The replicator promotes only what passed both gates (docs/invariants.md): of two images with
/// clean scans, the one signed by the trusted key is copied; the one signed by another key is
/// FAIL (`untrusted_signer`), never published as a PASS, and its tag's push is not copied.
#[tokio::test]
async fn only_an_image_that_passed_both_gates_is_copied() {
    let s = setup().await;
    let (trusted, pem) = cosign_key();
    let (stranger, _) = cosign_key();
    let pem: Vec<String> = pem.lines().map(|l| format!("            {l}")).collect();
    let signed = format!(
        "    signatures:\n      require: [cosign-key]\n      keys:\n        - name: release\n          pem: |\n{}\n",
        pem.join("\n")
    );
    let policy = || policy_with(&s.other.id, &signed);
    let config = ReplicatorConfig {
        table: Some(s.table.clone()),
        topic_arn: Some(s.topic.clone()),
        dry_run: false,
        concurrency: 4,
    };
    let replicator = Replicator::new(&s.acct.sdk, &s.acct.clients.calls, policy(), config).unwrap();
    let (gate, passes) = gate_with_policy_publishing_passes(&s, policy()).await;
    s.acct.create_repository("team-a/signed").await;
    let mut pushed = Vec::new();
    for (seed, tag, key) in [("good", "v1", &trusted), ("bad", "v2", &stranger)] {
        let (digest, _) = s
            .acct
            .push_layers(SOURCE, "team-a/signed", seed, &[layer(7, 700)], Some(tag))
            .await;
        let (payload, signature) = cosign_sign(key, &digest);
        s.acct
            .push_cosign_signature("team-a/signed", &digest, &payload, &signature)
            .await;
        s.acct
            .seed_scan("team-a/signed", &digest, "COMPLETE", vec![], false)
            .await;
        // Pushed an hour ago: the grace is over, the signature decides now.
        s.acct
            .age_images("team-a/signed", &[(&digest, 3_600, None)])
            .await;
        let scan = s.acct.event("ecr-image-scan.complete.json", |e| {
            e["detail"]["repository-name"] = json!("team-a/signed");
            e["detail"]["image-digest"] = json!(digest);
            e["detail"]["image-tags"] = json!([tag]);
            e["detail"]["finding-severity-counts"] = json!({});
        });
        gate.handle(scan).await.unwrap();
        pushed.push((digest, tag));
    }
    let delivered = s.acct.received(&passes).await;
    assert_eq!(delivered.len(), 1, "only the trusted signature's PASS");
    replicator
        .handle(sns_delivery(&subject_and_message(&delivered)))
        .await
        .unwrap();
    let (bad, bad_tag) = &pushed[1];
    let store = DynamoVerdicts::new(aws_sdk_dynamodb::Client::new(&s.acct.sdk), s.table.clone());
    let recorded = store
        .verdict(&RepositoryName::new("team-a/signed").unwrap(), bad)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(recorded.verdict, Verdict::Fail);
    assert!(
        recorded
            .fingerprint
            .ends_with("|signature:untrusted_signer")
    );
    let response = replicator
        .handle(push_event(&s, "team-a/signed", bad, bad_tag))
        .await
        .unwrap();
    assert!(!response.to_string().contains("\"copied\""), "{response}");
    let copied = images(&s.acct.ecr_in(EU), "team-a/signed").await;
    let digests: Vec<&str> = copied.iter().map(|c| c.0.as_str()).collect();
    assert!(digests.contains(&pushed[0].0.as_str()), "{copied:?}");
    assert!(!digests.contains(&bad.as_str()), "{copied:?}");
}
