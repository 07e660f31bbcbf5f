//! What is copied: only a PASS and the tags the filter matches, an ungated push, no copy of a copy,
//! and scan-gate's PASS driving the copy end to end.

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
    let (topic, _) = s.acct.topic_with_queue(None).await;
    let passes = s
        .acct
        .subscribed_queue(&topic, Some(r#"{"verdict": ["PASS"]}"#))
        .await;
    let gate = ScanGate::new(
        &s.acct.sdk,
        &s.acct.clients.calls,
        policy(&s.other.id),
        ScanGateConfig {
            table: s.table.clone(),
            topic_arn: Some(topic),
            dry_run: false,
        },
    );
    let scan = s.acct.event("ecr-image-scan.complete.json", |e| {
        e["detail"]["repository-name"] = json!("team-a/svc");
        e["detail"]["image-digest"] = json!(digest);
        e["detail"]["image-tags"] = json!(["v9"]);
        e["detail"]["finding-severity-counts"] = json!({});
    });
    gate.handle(scan).await.unwrap();
    let delivered = s.acct.received(&passes).await;
    assert_eq!(delivered.len(), 1);
    let bodies: Vec<(String, String)> = delivered
        .iter()
        .map(|d| {
            (
                d["Subject"].as_str().unwrap().to_owned(),
                d["Message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let (response, _) = run(&s, sns_delivery(&bodies)).await;
    assert_eq!(report(&response, EU)["layers_copied"], 2, "{response}");
    assert_eq!(
        images(&s.other.ecr_in(SOURCE), "team-a/svc").await,
        images(&s.acct.ecr_in(SOURCE), "team-a/svc").await
    );
}
