//! scan-gate against the local AWS (seeded scans and Inspector findings), through the handler the
//! Lambda runs: ECR basic scans (`basic_scan`), Inspector findings and scans (`inspector`), which
//! images are gated (`images`). This file: the helpers they share.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed assertion

use std::collections::BTreeMap;
use warden_aws::runtime::lambda::Function;

use serde_json::{Value, json};
use warden_aws::functions::scan_gate::{GraceDeadlineConfig, ScanGate, ScanGateConfig};
use warden_core::names::Digest;
use warden_core::policy::Policy;
use warden_tests::{Emulator, OCI_INDEX, OCI_MANIFEST, REGION, TestAccount, image_index};

mod basic_scan;
mod evidence;
mod images;
mod inspector;
mod notation;
mod signatures;

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
    /// scan-gate's verdict table.
    gate_table: String,
    all: String,
    failures: String,
}

async fn setup(exceptions: &str) -> Setup {
    setup_with(policy(exceptions)).await
}

async fn setup_with(policy: Policy) -> Setup {
    setup_with_deadlines(policy, None).await
}

/// [`setup_with`], scheduling grace deadlines as `deadlines` says.
async fn setup_with_deadlines(policy: Policy, deadlines: Option<GraceDeadlineConfig>) -> Setup {
    let acct = Emulator::shared().account().await;
    let table = acct.state_table().await;
    let (topic, all) = acct.topic_with_queue(None).await;
    let failures = acct
        .subscribed_queue(&topic, Some(r#"{"verdict": ["FAIL"]}"#))
        .await;
    let config = ScanGateConfig {
        table: table.clone(),
        topic_arn: Some(topic),
        dry_run: false,
    };
    let gate = ScanGate::new(&acct.sdk, &acct.clients.calls, policy, config)
        .with_grace_deadlines(&acct.sdk, deadlines);
    Setup {
        acct,
        gate,
        gate_table: table,
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

/// An `Inspector2 Scan` event for the image (tagged `v1`) with these counts.
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

/// The tags image `d` holds in a `tags_by_digest` state.
fn tags_of(state: &[(String, Vec<String>)], d: &Digest) -> Vec<String> {
    state
        .iter()
        .find(|(x, _)| x == d.as_str())
        .map(|(_, t)| t.clone())
        .unwrap_or_default()
}

pub(crate) fn push_of(acct: &TestAccount, repository: &str, digest: &Digest, tag: &str) -> Value {
    acct.event("ecr-image-action.push.json", |e| {
        e["detail"]["repository-name"] = json!(repository);
        e["detail"]["image-digest"] = json!(digest);
        e["detail"]["image-tag"] = json!(tag);
    })
}
