//! Verdicts from Amazon Inspector: findings by repository ARN, closed findings (fixed, or the image
//! left scanning), scans whose counts leave findings out, batches, other accounts' findings.

use super::*;

#[tokio::test]
async fn an_inspector_scan_names_the_repository_by_arn() {
    let s = setup("").await;
    s.acct.create_repository("team-x/svc").await;
    let (a, _) = s.acct.push("team-x/svc", "a", Some("v3")).await;
    let arn = format!("arn:aws:ecr:{REGION}:{}:repository/team-x/svc", s.acct.id);
    let event = s
        .acct
        .event("inspector2-scan.initial-scan-complete.json", |e| {
            e["detail"]["repository-name"] = json!(arn);
            e["detail"]["image-digest"] = json!(a);
            e["detail"]["image-tags"] = json!(["v3"]);
            e["detail"]["finding-severity-counts"] = json!({"HIGH": 2, "TOTAL": 2});
        });
    run(&s, event).await;
    let all = s.acct.received(&s.all).await;
    assert_eq!(
        all[0]["MessageAttributes"]["repository"]["Value"],
        "team-x/svc"
    );
    assert_eq!(message(&all[0])["scan"], "enhanced");
}

#[tokio::test]
async fn a_closed_finding_releases_the_image_and_a_taken_tag_is_reported() {
    let s = setup("").await;
    s.acct.create_repository("shop/pay").await;
    let (a, _) = s.acct.push("shop/pay", "a", Some("v1")).await;
    s.acct.push("shop/pay", "a", Some("latest")).await;
    let active = inspector_finding(
        &s.acct,
        "shop/pay",
        &a,
        &["v1", "latest"],
        "CVE-2026-0007",
        "ACTIVE",
    );
    s.acct.seed_findings(vec![active.clone()]).await;
    let (_, made) = run(&s, finding_event(&s.acct, &active)).await;
    assert_eq!(made.get("Inspector2.ListFindings"), Some(&1), "{made:?}");
    assert!(
        s.acct
            .tags_by_digest("shop/pay")
            .await
            .contains(&(a.to_string(), vec![q("latest", &a), q("v1", &a)]))
    );

    // `latest` is pushed anew while A sits in quarantine.
    let (b, _) = s.acct.push("shop/pay", "b", Some("latest")).await;
    let closed = inspector_finding(
        &s.acct,
        "shop/pay",
        &a,
        &[&q("v1", &a), &q("latest", &a)],
        "CVE-2026-0007",
        "CLOSED",
    );
    s.acct.seed_findings(vec![closed.clone()]).await;
    s.acct.received(&s.all).await;
    let (response, _) = run(&s, finding_event(&s.acct, &closed)).await;
    let state = s.acct.tags_by_digest("shop/pay").await;
    assert!(
        state.contains(&(a.to_string(), vec![q("latest", &a), "v1".into()])),
        "{state:?} {response}"
    );
    assert!(
        state.contains(&(b.to_string(), vec!["latest".into()])),
        "the newer latest is untouched"
    );
    let told = s.acct.received(&s.all).await;
    assert_eq!(told.len(), 1);
    let body = message(&told[0]);
    assert_eq!(body["verdict"], "PASS");
    assert_eq!(told[0]["MessageAttributes"]["action"]["Value"], "released");
    assert_eq!(body["restored_tags"], json!(["v1"]));
    assert_eq!(body["tags_taken"], json!(["latest"]));

    // Inspector re-emits the unchanged CLOSED finding: nothing more.
    run(&s, finding_event(&s.acct, &closed)).await;
    assert!(s.acct.received(&s.all).await.is_empty());
}

#[tokio::test]
async fn a_batch_of_findings_collapses_to_one_evaluation_per_image() {
    let s = setup("").await;
    s.acct.create_repository("shop/batch").await;
    let mut images = Vec::new();
    for seed in ["a", "b", "c"] {
        let (d, _) = s
            .acct
            .push("shop/batch", seed, Some(&format!("v-{seed}")))
            .await;
        images.push(d);
    }
    let mut seeded = Vec::new();
    let mut records = Vec::new();
    for i in 0..200 {
        let digest = &images[i % 3];
        let cve = format!("CVE-2026-{:04}", i);
        let tag = format!("v-{}", ["a", "b", "c"][i % 3]);
        let finding = inspector_finding(&s.acct, "shop/batch", digest, &[&tag], &cve, "ACTIVE");
        seeded.push(finding.clone());
        records.push(json!({"messageId": format!("m-{i}"), "receiptHandle": "r", "body": finding_event(&s.acct, &finding).to_string(),
                            "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:findings", "awsRegion": REGION}));
    }
    records.push(json!({"messageId": "broken", "receiptHandle": "r", "body": "{not json", "eventSource": "aws:sqs"}));
    s.acct.seed_findings(seeded).await;
    let (response, made) = run(&s, json!({"Records": records})).await;
    assert_eq!(
        response["batchItemFailures"],
        json!([{"itemIdentifier": "broken"}]),
        "only the bad message fails"
    );
    // Each image has ~67 ACTIVE findings: one page of 100 each, so 3 evaluations = 3 ListFindings.
    // Where Inspector ORs the filters (a reading), each query returns the account's 200 findings:
    // 2 pages each, every finding checked against the image asked for.
    let pages = match s
        .acct
        .reading("inspector_filter_combination")
        .await
        .as_str()
    {
        "all_or" => 6,
        _ => 3,
    };
    assert_eq!(
        made.get("Inspector2.ListFindings"),
        Some(&pages),
        "{made:?}"
    );
    assert_eq!(made.get("DynamoDB.PutItem"), Some(&3));
    assert_eq!(response["decision"], "3 images evaluated, 3 acted on");
    assert_eq!(s.acct.received(&s.all).await.len(), 3);
}

/// Safety flow 5: two ACTIVE UNTRIAGED findings (counted as HIGH) quarantine the image; the
/// `Inspector2 Scan` event then arrives with counts `{"TOTAL": 2}` — Inspector breaks out only
/// CRITICAL, HIGH and MEDIUM. The counts leave the findings out, so they are read: still FAIL,
/// unchanged, no release. Counts that announce findings no listing shows yet are retried, not a PASS.
#[tokio::test]
async fn an_inspector_scan_whose_counts_leave_findings_out_never_releases() {
    let gate = Policy::from_yaml(
        "version: 1\nrepositories:\n  - match: '**'\n    gate: { max_findings: { HIGH: 0 }, untriaged_as: HIGH, on_fail: quarantine }\n",
    )
    .unwrap();
    let s = setup_with(gate).await;
    let repo = "shop/untriaged";
    s.acct.create_repository(repo).await;
    let (d, _) = s.acct.push(repo, "d", Some("v1")).await;
    let mut records = Vec::new();
    let mut seeded = Vec::new();
    for (i, cve) in ["CVE-2026-1001", "CVE-2026-1002"].iter().enumerate() {
        let mut finding = inspector_finding(&s.acct, repo, &d, &["v1"], cve, "ACTIVE");
        finding["severity"] = json!("UNTRIAGED");
        records.push(json!({"messageId": format!("m-{i}"), "receiptHandle": "r", "body": finding_event(&s.acct, &finding).to_string(),
                            "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:findings", "awsRegion": REGION}));
        seeded.push(finding);
    }
    s.acct.seed_findings(seeded).await;
    run(&s, json!({"Records": records})).await;
    let quarantined = vec![(d.to_string(), vec![q("v1", &d)])];
    assert_eq!(s.acct.tags_by_digest(repo).await, quarantined);
    s.acct.received(&s.all).await;

    let (response, made) = run(&s, inspector_scan(&s.acct, repo, &d, json!({"TOTAL": 2}))).await;
    assert_eq!(made.get("Inspector2.ListFindings"), Some(&1), "{made:?}");
    assert_eq!(
        s.acct.tags_by_digest(repo).await,
        quarantined,
        "no release while both findings are ACTIVE: {response}"
    );
    assert!(
        s.acct.received(&s.all).await.is_empty(),
        "same verdict, same findings: nothing new"
    );

    // Counts announce 3 findings the listing does not show (yet): retried, never a PASS.
    let (e, _) = s.acct.push(repo, "e", Some("v2")).await;
    let error = s
        .gate
        .handle(inspector_scan(&s.acct, repo, &e, json!({"TOTAL": 3})))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("none are listed yet"), "{error}");
    assert!(s.acct.received(&s.all).await.is_empty());
}

/// Inspector closes findings when an image stops being eligible for scanning (or is deleted):
/// that is no fix. A CLOSED finding on an image Inspector no longer scans releases nothing.
#[tokio::test]
async fn findings_closed_because_the_image_left_scanning_release_nothing() {
    let s = setup("").await;
    let repo = "shop/stale";
    s.acct.create_repository(repo).await;
    let (a, _) = s.acct.push(repo, "a", Some("v1")).await;
    let active = inspector_finding(&s.acct, repo, &a, &["v1"], "CVE-2026-0042", "ACTIVE");
    s.acct.seed_findings(vec![active.clone()]).await;
    run(&s, finding_event(&s.acct, &active)).await;
    let quarantined = vec![(a.to_string(), vec![q("v1", &a)])];
    assert_eq!(s.acct.tags_by_digest(repo).await, quarantined);
    s.acct.received(&s.all).await;

    s.acct
        .set_coverage(repo, &a, "INACTIVE", "SCAN_ELIGIBILITY_EXPIRED")
        .await;
    let closed = inspector_finding(
        &s.acct,
        repo,
        &a,
        &[&q("v1", &a)],
        "CVE-2026-0042",
        "CLOSED",
    );
    s.acct.seed_findings(vec![closed.clone()]).await;
    let (response, made) = run(&s, finding_event(&s.acct, &closed)).await;
    assert_eq!(
        made,
        calls(&[
            ("Inspector2.ListCoverage", 1),
            ("Inspector2.ListFindings", 1)
        ]),
        "no verdict is written: {response}"
    );
    assert!(
        response["decision"]
            .as_str()
            .unwrap()
            .contains("closed findings are not a fix"),
        "{response}"
    );
    assert_eq!(
        s.acct.tags_by_digest(repo).await,
        quarantined,
        "still quarantined"
    );
    assert!(s.acct.received(&s.all).await.is_empty());
}

/// Inspector queries are scoped to the image's own account and registry: a delegated administrator
/// also sees other accounts' findings for an image of the same repository name and digest.
#[tokio::test]
async fn findings_of_another_accounts_registry_do_not_count() {
    let s = setup("").await;
    let repo = "shop/scoped";
    s.acct.create_repository(repo).await;
    let (a, _) = s.acct.push(repo, "a", Some("v1")).await;
    let mut ours = inspector_finding(&s.acct, repo, &a, &["v1"], "CVE-2026-0100", "ACTIVE");
    ours["severity"] = json!("MEDIUM");
    let mut theirs = inspector_finding(&s.acct, repo, &a, &["v1"], "CVE-2026-0101", "ACTIVE");
    theirs["awsAccountId"] = json!("999999999999");
    theirs["findingArn"] = json!(format!(
        "arn:aws:inspector2:{REGION}:999999999999:finding/theirs"
    ));
    theirs["resources"][0]["details"]["awsEcrContainerImage"]["registry"] = json!("999999999999");
    s.acct.seed_findings(vec![ours.clone(), theirs]).await;
    let (response, _) = run(&s, finding_event(&s.acct, &ours)).await;
    assert!(
        response["decision"].as_str().unwrap().ends_with("PASS"),
        "the other registry's CRITICAL does not count: {response}"
    );
    assert_eq!(
        s.acct.tags_by_digest(repo).await,
        vec![(a.to_string(), vec!["v1".to_owned()])]
    );
}

/// A batch of queued findings is split by account: a finding for an account that is neither the
/// function's own nor named by the policy is acknowledged and ignored, not evaluated in the own
/// registry (where a repository of that name is another one) and not retried.
#[tokio::test]
async fn queued_findings_for_an_unnamed_account_are_ignored() {
    let s = setup("").await;
    let repo = "shop/split";
    s.acct.create_repository(repo).await;
    let (a, _) = s.acct.push(repo, "a", Some("v1")).await;
    let ours = inspector_finding(&s.acct, repo, &a, &["v1"], "CVE-2026-0300", "ACTIVE");
    s.acct.seed_findings(vec![ours.clone()]).await;
    let mut theirs_event = finding_event(&s.acct, &ours);
    theirs_event["account"] = json!("999999999999");
    let record = |id: &str, body: &Value| {
        json!({"messageId": id, "receiptHandle": "r", "body": body.to_string(), "eventSource": "aws:sqs",
               "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:findings", "awsRegion": REGION})
    };
    let batch = json!({"Records": [record("ours", &finding_event(&s.acct, &ours)), record("theirs", &theirs_event)]});
    let response = invoke_as_deployed(&s, batch).await;
    assert_eq!(response["batchItemFailures"], json!([]), "{response}");
    assert_eq!(
        response["decision"].as_str().unwrap(),
        format!("{repo}:v1: FAIL: 1 CRITICAL finding (at most 0 allowed); quarantine v1")
    );
    assert_eq!(
        s.acct.received(&s.all).await.len(),
        1,
        "only our finding is evaluated and told"
    );
}

/// A message that does not parse names no account, so no account scope can ignore it: invoked with
/// its real function ARN (an account scope), scan-gate reports it as a batch item failure, as it
/// does without one, and the finding beside it is still evaluated.
#[tokio::test]
async fn a_malformed_queued_message_fails_its_item_under_a_real_function_arn() {
    let s = setup("").await;
    let repo = "shop/malformed";
    s.acct.create_repository(repo).await;
    let (a, _) = s.acct.push(repo, "a", Some("v1")).await;
    let ours = inspector_finding(&s.acct, repo, &a, &["v1"], "CVE-2026-0301", "ACTIVE");
    s.acct.seed_findings(vec![ours.clone()]).await;
    let batch = json!({"Records": [
        {"messageId": "ours", "receiptHandle": "r", "body": finding_event(&s.acct, &ours).to_string(),
         "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:findings", "awsRegion": REGION},
        {"messageId": "broken", "receiptHandle": "r", "body": "{not json", "eventSource": "aws:sqs"},
    ]});
    let response = invoke_as_deployed(&s, batch).await;
    assert_eq!(
        response["batchItemFailures"],
        json!([{"itemIdentifier": "broken"}]),
        "{response}"
    );
    assert_eq!(
        s.acct.received(&s.all).await.len(),
        1,
        "the well-formed finding is evaluated and told"
    );
}

/// The handler as Lambda runs it: invoked under its function ARN in the test account (so the
/// account scope applies), through `handle_invocation`.
async fn invoke_as_deployed(s: &Setup, payload: Value) -> Value {
    let mut context = lambda_runtime::Context::default();
    context.invoked_function_arn =
        format!("arn:aws:lambda:us-east-1:{}:function:scan-gate", s.acct.id);
    s.gate
        .handle_invocation(lambda_runtime::LambdaEvent::new(payload.into(), context))
        .await
        .unwrap()
}
