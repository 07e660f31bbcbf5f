//! Evidence as AWS delivers it: late, repeated, partial, and about an image re-tagged since.

use super::*;

/// A CRITICAL finding quarantines `v3`; an `Inspector2 Scan` event from before the finding
/// (TOTAL 0) delivered afterwards, twice, changes nothing: the recorded FAIL rests on newer
/// evidence. A later scan that still counts nothing does release it only once the finding closes.
#[tokio::test]
async fn older_evidence_delivered_late_never_releases_a_newer_fail() {
    let s = setup("").await;
    let repo = "shop/late";
    s.acct.create_repository(repo).await;
    let (d, _) = s.acct.push(repo, "v3", Some("v3")).await;
    let active = inspector_finding(&s.acct, repo, &d, &["v3"], "CVE-2026-0301", "ACTIVE");
    s.acct.seed_findings(vec![active.clone()]).await;
    run(&s, finding_event(&s.acct, &active)).await;
    let quarantined = vec![q("v3", &d)];
    assert_eq!(tags_of(&s.acct.tags_by_digest(repo).await, &d), quarantined);
    s.acct.received(&s.all).await;

    let zero = json!({"CRITICAL": 0, "HIGH": 0, "MEDIUM": 0, "TOTAL": 0});
    let mut old_scan = inspector_scan(&s.acct, repo, &d, zero);
    old_scan["time"] = json!("2026-11-20T08:00:00Z");
    for _ in 0..2 {
        let (response, _) = run(&s, old_scan.clone()).await;
        let decision = response["decision"].as_str().unwrap();
        assert!(decision.contains("rests on newer evidence"), "{decision}");
        assert_eq!(
            tags_of(&s.acct.tags_by_digest(repo).await, &d),
            quarantined,
            "{response}"
        );
    }
    assert!(s.acct.received(&s.all).await.is_empty(), "nothing to tell");
}

/// Counts say CRITICAL 1 of 2 findings; the listing shows only the LOW one. That is no complete
/// evidence: a retryable error, no verdict recorded, nothing told — never a PASS.
#[tokio::test]
async fn a_listing_short_of_the_counts_is_retried_never_a_pass() {
    let s = setup("").await;
    let repo = "shop/partial";
    s.acct.create_repository(repo).await;
    let (d, _) = s.acct.push(repo, "p", Some("v1")).await;
    let mut low = inspector_finding(&s.acct, repo, &d, &["v1"], "CVE-2026-0302", "ACTIVE");
    low["severity"] = json!("LOW");
    s.acct.seed_findings(vec![low]).await;
    let table_before = s.acct.table_items(&s.gate_table).await;
    let error = s
        .gate
        .handle(inspector_scan(
            &s.acct,
            repo,
            &d,
            json!({"CRITICAL": 1, "TOTAL": 2}),
        ))
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(text.contains("CRITICAL 1 counted, 0 listed"), "{text}");
    assert_eq!(s.acct.table_items(&s.gate_table).await, table_before);
    assert!(s.acct.received(&s.all).await.is_empty());
    assert_eq!(tags_of(&s.acct.tags_by_digest(repo).await, &d), ["v1"]);
}

/// A failing image re-tagged after its scan: the event names `rc-1`, the image holds `rc-1` and
/// `v4` when scan-gate acts — both are quarantined, not just the one the event named.
#[tokio::test]
async fn a_quarantine_takes_the_tags_the_image_holds_now_not_those_its_event_named() {
    let s = setup("").await;
    let repo = "shop/retag";
    s.acct.create_repository(repo).await;
    let (d, _) = s.acct.push(repo, "rc", Some("rc-1")).await;
    s.acct.push(repo, "rc", Some("v4")).await;
    let (response, _) = run(
        &s,
        basic_scan(&s.acct, repo, &d, &["rc-1"], json!({"CRITICAL": 1})),
    )
    .await;
    let mut expected = vec![q("rc-1", &d), q("v4", &d)];
    expected.sort();
    assert_eq!(
        tags_of(&s.acct.tags_by_digest(repo).await, &d),
        expected,
        "{response}"
    );
}

/// A tag added to a FAIL image is taken away when its push is seen — once, however often the push
/// is delivered; scan-gate's own quarantine tags and tags on images with no FAIL are left alone.
#[tokio::test]
async fn a_tag_pushed_onto_a_failed_image_is_taken_away_when_its_push_is_seen() {
    let s = setup("").await;
    let repo = "shop/repush";
    s.acct.create_repository(repo).await;
    let (d, bytes) = s.acct.push(repo, "bad", Some("v1")).await;
    run(
        &s,
        basic_scan(&s.acct, repo, &d, &["v1"], json!({"CRITICAL": 1})),
    )
    .await;
    s.acct.received(&s.all).await;
    let quarantine_push = push_of(&s.acct, repo, &d, &q("v1", &d));
    let (response, _) = run(&s, quarantine_push).await;
    assert!(
        response["decision"]
            .as_str()
            .unwrap()
            .contains("left alone"),
        "{response}"
    );

    s.acct
        .push_manifest(repo, &bytes, OCI_MANIFEST, Some("v4"))
        .await;
    for _ in 0..2 {
        run(&s, push_of(&s.acct, repo, &d, "v4")).await;
    }
    let mut expected = vec![q("v1", &d), q("v4", &d)];
    expected.sort();
    assert_eq!(tags_of(&s.acct.tags_by_digest(repo).await, &d), expected);
    let told = s.acct.received(&s.all).await;
    assert_eq!(told.len(), 1, "told once: {told:?}");
    let body = message(&told[0]);
    assert_eq!(body["quarantined_tags"], json!(["v4"]));
    assert_eq!(body["scan"], "push");

    let (good, _) = s.acct.push(repo, "good", Some("v5")).await;
    run(&s, basic_scan(&s.acct, repo, &good, &["v5"], json!({}))).await;
    let (response, _) = run(&s, push_of(&s.acct, repo, &good, "v5")).await;
    assert!(
        response["decision"]
            .as_str()
            .unwrap()
            .contains("has not failed"),
        "{response}"
    );
    assert_eq!(tags_of(&s.acct.tags_by_digest(repo).await, &good), ["v5"]);
}
