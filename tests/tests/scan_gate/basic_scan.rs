//! Verdicts from ECR's basic scan: severity thresholds, expiring exceptions, a failed scan fails
//! closed, a failing image quarantined (that image only), dry run.

use super::*;

#[tokio::test]
async fn a_critical_finding_fails_and_quarantines_that_image_only() {
    let s = setup("").await;
    s.acct.create_repository("shop/api").await;
    let (a, _) = s.acct.push("shop/api", "a", Some("v1")).await;
    s.acct.push("shop/api", "a", Some("latest")).await;
    let (other, _) = s.acct.push("shop/api", "other", Some("v0")).await;

    let event = basic_scan(
        &s.acct,
        "shop/api",
        &a,
        &["v1", "latest"],
        json!({"CRITICAL": 1, "LOW": 3}),
    );
    let (response, made) = run(&s, event.clone()).await;
    // The image's tags now (DescribeImages by digest), its manifest and where each tag points
    // (BatchGetImage), the repository listed for indexes naming it (DescribeImages: none here, so
    // no index manifest is read); the quarantine tags put (PutImage ×2); the originals removed by
    // tag only, checked just before and just after (DescribeImages, BatchDeleteImage,
    // DescribeImages).
    assert_eq!(
        made,
        calls(&[
            ("DynamoDB.PutItem", 1),
            ("ECR.BatchGetImage", 1),
            ("ECR.DescribeImages", 5),
            ("ECR.PutImage", 2),
            ("ECR.BatchDeleteImage", 1),
            ("SNS.Publish", 1)
        ]),
        "{response}"
    );
    let state = s.acct.tags_by_digest("shop/api").await;
    assert!(
        state.contains(&(a.to_string(), vec![q("latest", &a), q("v1", &a)])),
        "{state:?}"
    );
    assert!(
        state.contains(&(other.to_string(), vec!["v0".into()])),
        "other images are untouched"
    );

    let failed = s.acct.received(&s.failures).await;
    assert_eq!(
        failed.len(),
        1,
        "one FAIL verdict reaches the verdict=FAIL subscriber"
    );
    let attrs = &failed[0]["MessageAttributes"];
    assert_eq!(attrs["verdict"]["Value"], "FAIL");
    assert_eq!(attrs["verdict"]["Type"], "String");
    assert_eq!(attrs["max_severity"]["Value"], "CRITICAL");
    assert_eq!(attrs["repository"]["Value"], "shop/api");
    assert_eq!(attrs["action"]["Value"], "quarantined");
    let body = message(&failed[0]);
    assert_eq!(body["kind"], "verdict");
    assert_eq!(body["digest"], json!(a));
    assert_eq!(body["quarantined_tags"], json!(["v1", "latest"]));

    // The same event again: same state, no second notification.
    let (_, made) = run(&s, event).await;
    assert_eq!(made, calls(&[("DynamoDB.PutItem", 1)]));
    assert_eq!(s.acct.tags_by_digest("shop/api").await, state);
    assert_eq!(
        s.acct.received(&s.all).await.len(),
        1,
        "only the first evaluation was told"
    );
}

#[tokio::test]
async fn a_passing_image_is_told_but_not_to_the_fail_subscriber() {
    let s = setup("").await;
    s.acct.create_repository("shop/web").await;
    let (a, _) = s.acct.push("shop/web", "a", Some("v1")).await;
    let (_, made) = run(
        &s,
        basic_scan(&s.acct, "shop/web", &a, &["v1"], json!({"HIGH": 4})),
    )
    .await;
    assert_eq!(
        made,
        calls(&[
            ("DynamoDB.PutItem", 1),
            ("ECR.DescribeImages", 1),
            ("SNS.Publish", 1)
        ]),
        "decidable from counts: no finding read; the repository listed once for indexes naming it"
    );
    assert!(s.acct.received(&s.failures).await.is_empty());
    let all = s.acct.received(&s.all).await;
    assert_eq!(all[0]["MessageAttributes"]["verdict"]["Value"], "PASS");
}

fn scan_finding(cve: &str) -> Value {
    json!({"name": cve, "severity": "CRITICAL", "uri": format!("https://nvd.nist.gov/vuln/detail/{cve}"),
           "attributes": [{"key": "package_name", "value": "openssl"}, {"key": "package_version", "value": "3.0.12"}]})
}

#[tokio::test]
async fn an_exception_passes_until_it_expires_and_then_the_message_says_so() {
    for (expires, verdict) in [(day(1), "PASS"), (day(-1), "FAIL")] {
        let exception = format!(
            "{{ cve: CVE-2026-0001, package: openssl, expires: {expires}, reason: not reachable }}"
        );
        let s = setup(&exception).await;
        s.acct.create_repository("shop/api").await;
        let (a, _) = s.acct.push("shop/api", "a", Some("v1")).await;
        s.acct
            .seed_scan(
                "shop/api",
                &a,
                "COMPLETE",
                vec![scan_finding("CVE-2026-0001")],
                false,
            )
            .await;
        let (response, made) = run(
            &s,
            basic_scan(&s.acct, "shop/api", &a, &["v1"], json!({"CRITICAL": 1})),
        )
        .await;
        assert_eq!(
            made.get("ECR.DescribeImageScanFindings"),
            Some(&1),
            "one page of findings: {made:?}"
        );
        let body = message(&s.acct.received(&s.all).await[0]);
        assert_eq!(body["verdict"], verdict, "expires {expires}: {response}");
        if verdict == "PASS" {
            assert_eq!(body["exceptions_applied"][0]["cve"], "CVE-2026-0001");
        } else {
            assert_eq!(body["exceptions_expired"][0]["expires"], json!(expires));
            assert!(
                body["reasons"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|r| r.as_str().unwrap().contains("expired")),
                "{body}"
            );
        }
    }
}

#[tokio::test]
async fn a_failed_scan_fails_closed() {
    let s = setup("").await;
    s.acct.create_repository("shop/api").await;
    let (a, _) = s.acct.push("shop/api", "a", Some("v1")).await;
    let event = s.acct.event("ecr-image-scan.failed.json", |e| {
        e["detail"]["repository-name"] = json!("shop/api");
        e["detail"]["image-digest"] = json!(a);
    });
    run(&s, event).await;
    let body = message(&s.acct.received(&s.failures).await[0]);
    assert_eq!(body["reasons"], json!(["scan failed (FAILED)"]));
    assert!(
        s.acct
            .tags_by_digest("shop/api")
            .await
            .iter()
            .any(|(_, t)| t == &[q("v1", &a)])
    );
}

#[tokio::test]
async fn dry_run_reads_instead_of_writing_and_changes_no_tag() {
    let acct = Emulator::shared().account().await;
    let table = acct.state_table().await;
    let (topic, all) = acct.topic_with_queue(None).await;
    let gate = ScanGate::new(
        &acct.sdk,
        &acct.clients.calls,
        policy(""),
        ScanGateConfig {
            table: table.clone(),
            topic_arn: Some(topic),
            dry_run: true,
        },
    );
    acct.create_repository("shop/dry").await;
    let (a, _) = acct.push("shop/dry", "a", Some("v1")).await;
    let before = (
        acct.tags_by_digest("shop/dry").await,
        acct.table_items(&table).await,
    );
    let calls_before = acct.clients.calls.snapshot();
    let response = gate
        .handle(basic_scan(
            &acct,
            "shop/dry",
            &a,
            &["v1"],
            json!({"CRITICAL": 2}),
        ))
        .await
        .unwrap();
    let made = acct.clients.calls.since(&calls_before);
    assert_eq!(
        before,
        (
            acct.tags_by_digest("shop/dry").await,
            acct.table_items(&table).await
        ),
        "nothing changed"
    );
    assert_eq!(
        made,
        calls(&[
            ("DynamoDB.GetItem", 1),
            ("ECR.BatchGetImage", 1),
            // The image's tags now, the repository listed for indexes naming it, and the check
            // before the (dry) removal.
            ("ECR.DescribeImages", 3),
            ("SNS.Publish", 1)
        ])
    );
    let actions: Vec<&str> = response["report"]["plans"][0]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["move_tags", "publish"]);
    assert_eq!(
        acct.received(&all).await[0]["MessageAttributes"]["action"]["Value"],
        "would_quarantined"
    );
}

/// A basic scan event that leaves `finding-severity-counts` out (docs/emulator.md,
/// `scan_no_findings_counts`): the counts are unknown, not 0. The whole findings listing decides —
/// a CRITICAL there fails the image — and a listing of a scan that is not COMPLETE (running again)
/// is a retryable error, never a PASS.
#[tokio::test]
async fn a_scan_event_without_counts_is_judged_on_the_whole_listing_never_on_their_absence() {
    let s = setup("").await;
    s.acct.create_repository("shop/nocounts").await;
    let (bad, _) = s.acct.push("shop/nocounts", "bad", Some("v1")).await;
    let (clean, _) = s.acct.push("shop/nocounts", "clean", Some("v2")).await;
    let (busy, _) = s.acct.push("shop/nocounts", "busy", Some("v3")).await;
    let without_counts = |digest: &Digest, tag: &str| {
        let mut event = basic_scan(&s.acct, "shop/nocounts", digest, &[tag], json!({}));
        event["detail"]
            .as_object_mut()
            .unwrap()
            .remove("finding-severity-counts");
        event
    };
    s.acct
        .seed_scan(
            "shop/nocounts",
            &bad,
            "COMPLETE",
            vec![scan_finding("CVE-2026-0001")],
            false,
        )
        .await;
    s.acct
        .seed_scan("shop/nocounts", &clean, "COMPLETE", Vec::new(), false)
        .await;
    s.acct
        .seed_scan("shop/nocounts", &busy, "IN_PROGRESS", Vec::new(), false)
        .await;

    let (response, made) = run(&s, without_counts(&bad, "v1")).await;
    assert_eq!(
        made.get("ECR.DescribeImageScanFindings"),
        Some(&1),
        "{response}"
    );
    assert!(
        response["decision"].as_str().unwrap().contains("FAIL"),
        "{response}"
    );
    let (response, _) = run(&s, without_counts(&clean, "v2")).await;
    assert!(
        response["decision"].as_str().unwrap().contains("PASS"),
        "{response}"
    );

    let err = s
        .gate
        .handle(without_counts(&busy, "v3"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not COMPLETE"), "{err}");
    let state = s.acct.tags_by_digest("shop/nocounts").await;
    assert!(
        state.contains(&(busy.to_string(), vec!["v3".to_owned()])),
        "{state:?}"
    );
}
