//! scan-gate against the local AWS (seeded scans and Inspector findings), through the handler the
//! Lambda runs.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed assertion

use std::collections::BTreeMap;
use warden_aws::runtime::lambda::Function;

use serde_json::{Value, json};
use warden_aws::functions::scan_gate::{ScanGate, ScanGateConfig};
use warden_core::names::Digest;
use warden_core::policy::Policy;
use warden_tests::{Emulator, OCI_INDEX, OCI_MANIFEST, REGION, TestAccount, image_index};

fn policy(exceptions: &str) -> Policy {
    Policy::from_yaml(&format!(
        r#"
version: 1
repositories:
  - match: "**"
    gate:
      max_findings: {{ CRITICAL: 0 }}
      on_fail: quarantine
      exceptions: [{exceptions}]
"#
    ))
    .unwrap()
}

struct Setup {
    acct: TestAccount,
    gate: ScanGate,
    all: String,
    failures: String,
}

async fn setup(exceptions: &str) -> Setup {
    setup_with(policy(exceptions)).await
}

async fn setup_with(policy: Policy) -> Setup {
    let acct = Emulator::shared().account().await;
    let table = acct.state_table().await;
    let (topic, all) = acct.topic_with_queue(None).await;
    let failures = acct
        .subscribed_queue(&topic, Some(r#"{"verdict": ["FAIL"]}"#))
        .await;
    let config = ScanGateConfig {
        table,
        topic_arn: Some(topic),
        dry_run: false,
    };
    let gate = ScanGate::new(&acct.sdk, &acct.clients.calls, policy, config);
    Setup {
        acct,
        gate,
        all,
        failures,
    }
}

async fn run(s: &Setup, event: Value) -> (Value, BTreeMap<String, u64>) {
    let before = s.acct.clients.calls.snapshot();
    let response = s.gate.handle(event).await.unwrap();
    (response, s.acct.clients.calls.since(&before))
}

fn calls(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

fn basic_scan(
    acct: &TestAccount,
    repository: &str,
    digest: &Digest,
    tags: &[&str],
    counts: Value,
) -> Value {
    acct.event("ecr-image-scan.complete.json", |e| {
        e["detail"]["repository-name"] = json!(repository);
        e["detail"]["image-digest"] = json!(digest);
        e["detail"]["image-tags"] = json!(tags);
        e["detail"]["finding-severity-counts"] = counts;
    })
}

/// The quarantine name of `tag` on image `digest` (`quarantine-<tag>-<short digest>`).
fn q(tag: &str, digest: &Digest) -> String {
    format!("quarantine-{tag}-{}", digest.short())
}

fn message(envelope: &Value) -> Value {
    serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap()
}

fn day(offset: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(offset)).to_string()
}

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
    assert_eq!(
        made,
        calls(&[
            ("DynamoDB.PutItem", 1),
            ("ECR.BatchGetImage", 1),
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
        calls(&[("DynamoDB.PutItem", 1), ("SNS.Publish", 1)]),
        "decidable from counts: 0 reads"
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

fn inspector_finding(
    acct: &TestAccount,
    repository: &str,
    digest: &Digest,
    tags: &[&str],
    cve: &str,
    status: &str,
) -> Value {
    json!({
        "findingArn": format!("arn:aws:inspector2:{REGION}:{}:finding/{}-{}", acct.id, cve.to_lowercase(), digest.short()),
        "awsAccountId": acct.id, "status": status, "severity": "CRITICAL", "type": "PACKAGE_VULNERABILITY",
        "title": format!("{cve} - openssl"), "description": "seeded", "remediation": {}, "fixAvailable": "YES",
        "firstObservedAt": 1_795_654_030, "lastObservedAt": 1_795_654_030, "updatedAt": 1_795_654_030,
        "packageVulnerabilityDetails": {"vulnerabilityId": cve, "source": "NVD",
            "vulnerablePackages": [{"name": "openssl", "version": "3.0.12", "fixedInVersion": "3.0.13"}]},
        "resources": [{"type": "AWS_ECR_CONTAINER_IMAGE", "id": format!("arn:aws:ecr:{REGION}:{}:repository/{repository}/{digest}", acct.id),
            "details": {"awsEcrContainerImage": {"repositoryName": repository, "imageHash": digest, "imageTags": tags, "registry": acct.id}}}],
    })
}

/// The EventBridge event for a finding: the API's epoch timestamps become Inspector's event format.
fn finding_event(acct: &TestAccount, finding: &Value) -> Value {
    acct.event("inspector2-finding.active.json", |e| {
        e["detail"] = finding.clone();
        for key in ["firstObservedAt", "lastObservedAt", "updatedAt"] {
            e["detail"][key] = json!("Nov 28, 2026, 10:47:10 PM");
        }
    })
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
    assert_eq!(made.get("Inspector2.ListFindings"), Some(&3), "{made:?}");
    assert_eq!(made.get("DynamoDB.PutItem"), Some(&3));
    assert_eq!(response["decision"], "3 images evaluated, 3 acted on");
    assert_eq!(s.acct.received(&s.all).await.len(), 3);
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

fn inspector_scan(acct: &TestAccount, repository: &str, digest: &Digest, counts: Value) -> Value {
    acct.event("inspector2-scan.initial-scan-complete.json", |e| {
        e["detail"]["repository-name"] = json!(format!(
            "arn:aws:ecr:{REGION}:{}:repository/{repository}",
            acct.id
        ));
        e["detail"]["image-digest"] = json!(digest);
        e["detail"]["image-tags"] = json!(["v1"]);
        e["detail"]["finding-severity-counts"] = counts;
    })
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

/// Only container images are gated: a cosign signature (basic scanning ends UNSUPPORTED_IMAGE) is
/// not failed and its tag is not moved — quarantining it would break its subject's verification.
#[tokio::test]
async fn a_signature_that_cannot_be_scanned_is_not_gated() {
    let s = setup("").await;
    let repo = "shop/signed";
    s.acct.create_repository(repo).await;
    let (image, _) = s.acct.push(repo, "app", Some("v1")).await;
    let signature = json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.dev.cosign.artifact.sig.v1+json", "digest": Digest::of_bytes(b"c"), "size": 233},
        "layers": [{"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json", "digest": Digest::of_bytes(b"l"), "size": 250}]})
    .to_string();
    let tag = format!("sha256-{}.sig", &image.as_str()[7..]);
    let (sig, _) = s
        .acct
        .push_manifest(repo, &signature, OCI_MANIFEST, Some(&tag))
        .await;
    let event = s.acct.event("ecr-image-scan.failed.json", |e| {
        e["detail"]["repository-name"] = json!(repo);
        e["detail"]["image-digest"] = json!(sig);
        e["detail"]["image-tags"] = json!([tag]);
        e["detail"]["scan-status"] = json!("UNSUPPORTED_IMAGE");
    });
    let (response, made) = run(&s, event).await;
    assert_eq!(made, calls(&[("ECR.BatchGetImage", 1)]), "{response}");
    assert!(
        response["decision"]
            .as_str()
            .unwrap()
            .contains("not a container image (application/vnd.dev.cosign.artifact.sig.v1+json)"),
        "{response}"
    );
    assert!(
        s.acct
            .tags_by_digest(repo)
            .await
            .contains(&(sig.to_string(), vec![tag]))
    );
    assert!(
        s.acct.received(&s.all).await.is_empty(),
        "no verdict to tell"
    );
}

/// A multi-arch image's platform children are untagged: a failing child is deployable through its
/// index, so the index is quarantined by its own tags; it is released only once none of its
/// children fails any more.
#[tokio::test]
async fn a_failing_child_quarantines_its_index_until_every_child_passes() {
    let s = setup("").await;
    let repo = "shop/multi";
    s.acct.create_repository(repo).await;
    let (amd, _) = s.acct.push(repo, "amd64", None).await;
    let (arm, _) = s.acct.push(repo, "arm64", None).await;
    let (index, _) = s
        .acct
        .push_manifest(
            repo,
            &image_index(&[(&amd, "amd64"), (&arm, "arm64")]),
            OCI_INDEX,
            Some("v1"),
        )
        .await;
    s.acct
        .push_manifest(
            repo,
            &image_index(&[(&amd, "amd64"), (&arm, "arm64")]),
            OCI_INDEX,
            Some("latest"),
        )
        .await;
    let finding = |digest: &Digest, cve: &str, status: &str| {
        inspector_finding(&s.acct, repo, digest, &[], cve, status)
    };
    let tags_of = |state: &[(String, Vec<String>)], d: &Digest| {
        state
            .iter()
            .find(|(x, _)| x == d.as_str())
            .map(|(_, t)| t.clone())
            .unwrap_or_default()
    };

    let amd_bad = finding(&amd, "CVE-2026-0201", "ACTIVE");
    s.acct.seed_findings(vec![amd_bad.clone()]).await;
    run(&s, finding_event(&s.acct, &amd_bad)).await;
    let state = s.acct.tags_by_digest(repo).await;
    assert_eq!(
        tags_of(&state, &index),
        [q("latest", &index), q("v1", &index)],
        "{state:?}"
    );
    let told = s.acct.received(&s.all).await;
    let body = message(&told[0]);
    assert_eq!(
        told[0]["MessageAttributes"]["action"]["Value"],
        "quarantined"
    );
    assert_eq!(body["via_indexes"], json!([index]));

    let arm_bad = finding(&arm, "CVE-2026-0202", "ACTIVE");
    s.acct.seed_findings(vec![arm_bad.clone()]).await;
    run(&s, finding_event(&s.acct, &arm_bad)).await;

    // amd64 is fixed (its finding closes) but arm64 still fails: the index stays quarantined.
    let amd_fixed = finding(&amd, "CVE-2026-0201", "CLOSED");
    s.acct.seed_findings(vec![amd_fixed.clone()]).await;
    s.acct.received(&s.all).await;
    let (response, _) = run(&s, finding_event(&s.acct, &amd_fixed)).await;
    let state = s.acct.tags_by_digest(repo).await;
    assert_eq!(
        tags_of(&state, &index),
        [q("latest", &index), q("v1", &index)],
        "{response}"
    );
    let body = message(&s.acct.received(&s.all).await[0]);
    assert!(
        body["problems"][0]
            .as_str()
            .unwrap()
            .contains("still fails"),
        "{body}"
    );

    // arm64 is fixed too: the index gets its tags back.
    let arm_fixed = finding(&arm, "CVE-2026-0202", "CLOSED");
    s.acct.seed_findings(vec![arm_fixed.clone()]).await;
    let (response, _) = run(&s, finding_event(&s.acct, &arm_fixed)).await;
    let state = s.acct.tags_by_digest(repo).await;
    assert_eq!(tags_of(&state, &index), ["latest", "v1"], "{response}");
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
    let mut context = lambda_runtime::Context::default();
    context.invoked_function_arn =
        format!("arn:aws:lambda:us-east-1:{}:function:scan-gate", s.acct.id);
    let response = s
        .gate
        .handle_invocation(lambda_runtime::LambdaEvent::new(batch.into(), context))
        .await
        .unwrap();
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
