//! tag-guard against the local AWS, through the same adapters and handler the Lambda runs: on
//! events (`events`), in its sweep (`sweep`), for whose account (`accounts`). This file: the
//! helpers they share.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed assertion

use std::collections::BTreeMap;
use warden_aws::runtime::lambda::Function;

use serde_json::{Value, json};
use warden_aws::adapters::ecr::EcrRegistry;
use warden_aws::functions::tag_guard::{TagGuard, TagGuardConfig};
use warden_core::names::{Digest, RepositoryName, Tag};
use warden_core::policy::Policy;
use warden_core::ports::{ImageManifests, PortError};
use warden_core::records::Manifest;
use warden_tests::{Emulator, OCI_MANIFEST, TestAccount, at, image_manifest};

mod accounts;
mod events;
mod sweep;

const POLICY: &str = r#"
version: 1
repositories:
  - match: "**"
    immutability: { mode: IMMUTABLE_WITH_EXCLUSION, exclusions: ["latest", "dev-*"] }
  - match: "team-a/*"
    immutability: { mode: MUTABLE }
    protected_tags:
      patterns: ["v*"]
      offender: { keep_as: "rejected-{tag}-{short_digest}" }
  - match: "team-a/quiet"
    dry_run: true
"#;

struct Setup {
    acct: TestAccount,
    guard: TagGuard,
    queue: String,
    table: String,
}

async fn setup(dry_run: bool) -> Setup {
    let acct = Emulator::shared().account().await;
    let table = acct.state_table().await;
    let (topic, queue) = acct.topic_with_queue(None).await;
    let guard = guard_for(&acct, &table, &topic, dry_run);
    Setup {
        acct,
        guard,
        queue,
        table,
    }
}

fn guard_for(acct: &TestAccount, table: &str, topic: &str, dry_run: bool) -> TagGuard {
    let config = TagGuardConfig {
        table: table.to_owned(),
        topic_arn: Some(topic.to_owned()),
        dry_run,
    };
    TagGuard::new(
        &acct.sdk,
        &acct.clients.calls,
        Policy::from_yaml(POLICY).unwrap(),
        config,
    )
}

fn push_event(
    acct: &TestAccount,
    repository: &str,
    tag: &str,
    digest: &Digest,
    time: &str,
) -> Value {
    acct.event("ecr-image-action.push.json", |e| {
        e["time"] = json!(time);
        e["detail"]["repository-name"] = json!(repository);
        e["detail"]["image-tag"] = json!(tag);
        e["detail"]["image-digest"] = json!(digest);
    })
}

fn create_repository_event(acct: &TestAccount, repository: &str, mutability: &str) -> Value {
    acct.event("cloudtrail.create-repository.json", |e| {
        e["detail"]["requestParameters"]["repositoryName"] = json!(repository);
        e["detail"]["responseElements"]["repository"]["repositoryName"] = json!(repository);
        e["detail"]["responseElements"]["repository"]["imageTagMutability"] = json!(mutability);
    })
}

/// Run one event and return the API calls it made, per operation.
async fn run(s: &Setup, event: Value) -> (Value, BTreeMap<String, u64>) {
    s.acct.clients.calls.take();
    let response = s.guard.handle(event).await.unwrap();
    (response, s.acct.clients.calls.take())
}

fn calls(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

fn sorted(mut v: Vec<(String, Vec<String>)>) -> Vec<(String, Vec<String>)> {
    v.sort();
    v
}
