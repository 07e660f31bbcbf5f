//! replicator against the emulator: real layer bytes copied through the ECR API between two
//! regions and two accounts, byte-identical manifests, exact call floors, idempotence, a corrupted
//! layer (`copy`), the verdict and tag gates, no loops — and scan-gate's PASS driving it end to end
//! (`gates`). This file: the helpers they share.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed assertion

use std::collections::BTreeMap;

use serde_json::{Value, json};
use warden_aws::adapters::verdicts::DynamoVerdicts;
use warden_aws::functions::replicator::{Replicator, ReplicatorConfig};
use warden_aws::functions::scan_gate::{ScanGate, ScanGateConfig};
use warden_aws::runtime::lambda::Function;
use warden_core::message::{Body, Message, SCHEMA, VerdictBody};
use warden_core::names::{AccountId, Digest, Region, RepositoryName, Tag};
use warden_core::policy::Policy;
use warden_core::ports::{VerdictLookup, VerdictStore};
use warden_core::records::VerdictRecord;
use warden_core::severity::SeverityCounts;
use warden_core::verdict::Verdict;
use warden_tests::{Emulator, OCI_INDEX, TestAccount, sns_delivery};

mod copy;
mod gates;
mod shards;

const SOURCE: &str = "us-east-1";
const EU: &str = "eu-west-1";

struct Setup {
    acct: TestAccount,
    /// The second account, reached through a role with an external id.
    other: TestAccount,
    table: String,
    /// The topic the replicator publishes to, and a queue subscribed to it.
    topic: String,
    queue: String,
    replicator: Replicator,
}

fn policy(other: &str) -> Policy {
    policy_with(other, "")
}

/// [`policy`], with `team_a` (indented rule lines) added to the `team-a/*` rule.
fn policy_with(other: &str, team_a: &str) -> Policy {
    Policy::from_yaml(&format!(
        r#"
version: 1
repositories:
  - match: "team-a/*"
    immutability: {{ mode: IMMUTABLE_WITH_EXCLUSION, exclusions: ["latest"] }}
    gate: {{ max_findings: {{ CRITICAL: 0 }} }}
{team_a}    replication:
      tags: ["v*"]
      destinations:
        - region: {EU}
        - region: {SOURCE}
          account: "{other}"
          role_arn: arn:aws:iam::{other}:role/ecr-warden-replicator
          external_id: warden-ext-1
  - match: "open/*"
    replication:
      require_pass: false
      destinations:
        - region: {EU}
"#
    ))
    .unwrap()
}

async fn setup() -> Setup {
    let acct = Emulator::shared().account().await;
    let other = Emulator::shared().account().await;
    let table = acct.state_table().await;
    let (topic, queue) = acct.topic_with_queue(None).await;
    let config = ReplicatorConfig {
        table: Some(table.clone()),
        topic_arn: Some(topic.clone()),
        dry_run: false,
        concurrency: 4,
    };
    let replicator =
        Replicator::new(&acct.sdk, &acct.clients.calls, policy(&other.id), config).unwrap();
    Setup {
        acct,
        other,
        table,
        topic,
        queue,
        replicator,
    }
}

fn layer(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| seed.wrapping_add((i % 251) as u8))
        .collect()
}

fn tag(t: &str) -> Tag {
    Tag::new(t).unwrap()
}

/// Record scan-gate's verdict for an image, as scan-gate does (its adapter, its table).
async fn record(s: &Setup, repository: &str, digest: &Digest, verdict: Verdict) {
    let store = DynamoVerdicts::new(aws_sdk_dynamodb::Client::new(&s.acct.sdk), s.table.clone());
    store
        .claim(&VerdictRecord {
            repository: RepositoryName::new(repository).unwrap(),
            digest: digest.clone(),
            verdict,
            max_severity: None,
            fingerprint: format!("{verdict:?}-{digest}"),
            policy_pattern: Some("team-a/*".into()),
            decided_at: chrono::Utc::now(),
            evidence_at: chrono::Utc::now(),
        })
        .await
        .unwrap();
}

/// scan-gate's verdict message for an image, delivered by SNS.
fn verdict_delivery(
    s: &Setup,
    repository: &str,
    digest: &Digest,
    tags: &[&str],
    v: Verdict,
) -> Value {
    let message = Message {
        schema: SCHEMA.into(),
        function: "scan-gate".into(),
        account: AccountId::new(s.acct.id.as_str()).unwrap(),
        region: Region::new(SOURCE).unwrap(),
        repository: RepositoryName::new(repository).unwrap(),
        action: "none".into(),
        dry_run: false,
        event_id: Some("e-1".into()),
        body: Body::Verdict(Box::new(VerdictBody {
            digest: digest.clone(),
            tags: tags.iter().map(|t| tag(t)).collect(),
            verdict: v,
            max_severity: None,
            scan: "basic".into(),
            counts: SeverityCounts::default(),
            reasons: vec![],
            exceptions_applied: vec![],
            exceptions_expired: vec![],
            findings: vec![],
            findings_total: 0,
            quarantined_tags: vec![],
            restored_tags: vec![],
            tags_taken: vec![],
            via_indexes: vec![],
            still_deployable: vec![],
            moved_meanwhile: vec![],
            problems: vec![],
            policy_pattern: Some("team-a/*".into()),
        })),
    };
    sns_delivery(&[(message.subject(), serde_json::to_string(&message).unwrap())])
}

async fn run(s: &Setup, event: Value) -> (Value, BTreeMap<String, u64>) {
    let before = s.acct.clients.calls.snapshot();
    let response = s.replicator.handle(event).await.unwrap();
    (response, s.acct.clients.calls.since(&before))
}

/// Run and return the decision line.
async fn decided(s: &Setup, event: Value) -> String {
    let (response, _) = run(s, event).await;
    response["decision"].as_str().unwrap().to_owned()
}

fn calls(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

/// (digest, exact manifest bytes, tags) of every image in a repository, sorted by digest.
async fn images(ecr: &aws_sdk_ecr::Client, repository: &str) -> Vec<(String, String, Vec<String>)> {
    let Ok(listed) = ecr.list_images().repository_name(repository).send().await else {
        return Vec::new();
    };
    let mut by_digest: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for id in listed.image_ids() {
        let tags = by_digest
            .entry(id.image_digest().unwrap().to_owned())
            .or_default();
        tags.extend(id.image_tag().map(str::to_owned));
    }
    let mut out = Vec::new();
    for (digest, mut tags) in by_digest {
        let got = ecr
            .batch_get_image()
            .repository_name(repository)
            .image_ids(
                aws_sdk_ecr::types::ImageIdentifier::builder()
                    .image_digest(&digest)
                    .build(),
            )
            .accepted_media_types(OCI_INDEX)
            .accepted_media_types(warden_tests::OCI_MANIFEST)
            .send()
            .await
            .unwrap();
        let bytes = got.images()[0].image_manifest().unwrap().to_owned();
        tags.sort();
        out.push((digest, bytes, tags));
    }
    out
}

fn report<'a>(response: &'a Value, target: &str) -> &'a Value {
    let copies = response["outcomes"][0]["body"]["copies"]
        .as_array()
        .unwrap();
    copies
        .iter()
        .find(|c| c["target"].as_str().unwrap().contains(target))
        .unwrap_or_else(|| panic!("no copy to {target} in {response}"))
}
