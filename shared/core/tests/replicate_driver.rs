//! The replicator's driver (`replicate::run`) over in-memory ports, in milliseconds: the gate's
//! re-read, dry-run, a destination that fails for good (told as `replication_failed`, the others
//! copied), a retryable one (nothing told: the retry copies what is missing), the source read
//! once whatever the number of destinations, and the measured calls and time.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed assertion

// The kit serves scan-gate's property tests too; this file uses its registry, table and topic.
#[allow(dead_code)]
mod kit;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use chrono::DateTime;
use kit::{Registry, Topic, Verdicts};
use warden_core::message::{Body, CopyReport, Did};
use warden_core::names::{AccountId, Digest, Region, RepositoryName, Tag};
use warden_core::policy::Policy;
use warden_core::ports::{CallMeter, ImageCopies, PortError, VerdictStore};
use warden_core::records::{CopyOrder, Manifest, VerdictRecord};
use warden_core::replicate::{Context, Mode, Outcome, Ports, Registry as Here, Trigger, replicate};
use warden_core::verdict::Verdict;

const POLICY: &str = r#"
version: 1
repositories:
  - match: "app/*"
    replication:
      destinations:
        - region: eu-west-1
        - region: us-west-2
"#;

/// Copies into memory; a destination region may be set to fail, for good or retryably.
#[derive(Default)]
struct Copies {
    reads: AtomicU64,
    copied: Mutex<Vec<(String, Vec<Tag>)>>,
    failing: BTreeMap<&'static str, PortError>,
}

#[async_trait(?Send)]
impl ImageCopies for Copies {
    type Source = Digest;

    async fn read(&self, _: &RepositoryName, digest: &Digest) -> Result<Digest, PortError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        Ok(digest.clone())
    }

    async fn copy(&self, _: &Digest, order: &CopyOrder<'_>) -> Result<CopyReport, PortError> {
        if let Some(error) = self.failing.get(order.target.region.as_str()) {
            return Err(error.clone());
        }
        self.copied
            .lock()
            .unwrap()
            .push((order.target.region.to_string(), order.tags.to_vec()));
        Ok(CopyReport {
            tags: order.tags.to_vec(),
            layers_copied: 2,
            ..CopyReport::default()
        })
    }
}

impl Copies {
    /// Copies where the destination in `region` fails with `error`.
    fn failing_in(region: &'static str, error: PortError) -> Self {
        Self {
            failing: BTreeMap::from([(region, error)]),
            ..Self::default()
        }
    }
}

/// Every port call counts one; the clock moves 5 ms per reading.
#[derive(Default)]
struct Meter {
    calls: AtomicU64,
    clock: AtomicU64,
}

impl CallMeter for Meter {
    fn calls_made(&self) -> u64 {
        self.calls.fetch_add(3, Ordering::SeqCst)
    }

    fn millis(&self) -> u64 {
        self.clock.fetch_add(5, Ordering::SeqCst)
    }
}

struct World {
    registry: Registry,
    verdicts: Verdicts,
    topic: Topic,
    meter: Meter,
    policy: Policy,
    image: Manifest,
}

impl World {
    fn new() -> Self {
        let bytes = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}"#;
        let image = Manifest {
            digest: Digest::of_bytes(bytes.as_bytes()),
            media_type: Some("application/vnd.oci.image.manifest.v1+json".into()),
            bytes: bytes.into(),
        };
        let registry = Registry::default();
        registry.push(&image, &Tag::new("v1").unwrap());
        Self {
            registry,
            verdicts: Verdicts::default(),
            topic: Topic::default(),
            meter: Meter::default(),
            policy: Policy::from_yaml(POLICY).unwrap(),
            image,
        }
    }

    async fn record(&self, verdict: Verdict) {
        let record = VerdictRecord {
            repository: RepositoryName::new("app/api").unwrap(),
            digest: self.image.digest.clone(),
            verdict,
            max_severity: None,
            fingerprint: verdict.as_str().into(),
            policy_pattern: None,
            decided_at: DateTime::UNIX_EPOCH,
            evidence_at: DateTime::UNIX_EPOCH,
        };
        self.verdicts.claim(&record).await.unwrap();
    }

    fn trigger(&self) -> Trigger {
        Trigger::Verdict {
            repository: RepositoryName::new("app/api").unwrap(),
            digest: self.image.digest.clone(),
            tags: vec![Tag::new("v1").unwrap()],
            verdict: Verdict::Pass,
        }
    }

    async fn run(&self, copies: &Copies, dry_run: bool) -> Result<Outcome, PortError> {
        let ports = Ports {
            images: &self.registry,
            verdicts: Some(&self.verdicts),
            copies,
            publisher: &self.topic,
            meter: &self.meter,
        };
        let ctx = Context {
            here: Here {
                account: AccountId::new("123456789012").unwrap(),
                region: Region::new("us-east-1").unwrap(),
            },
            event_id: None,
            mode: Mode::LAMBDA,
            force_dry_run: dry_run,
        };
        replicate(&self.trigger(), &self.policy, &ctx, &ports).await
    }

    fn told(&self) -> Vec<Did> {
        let published = self.topic.published.lock().unwrap();
        published.iter().map(|m| m.action.did.clone()).collect()
    }
}

#[tokio::test]
async fn a_pass_message_that_a_later_fail_superseded_copies_nothing() {
    let world = World::new();
    world.record(Verdict::Fail).await;
    let copies = Copies::default();
    let outcome = world.run(&copies, false).await.unwrap();
    assert!(matches!(outcome, Outcome::Skipped { .. }), "{outcome:?}");
    assert_eq!(copies.reads.load(Ordering::SeqCst), 0);
    assert!(world.told().is_empty());
}

#[tokio::test]
async fn every_destination_is_copied_from_one_read_and_told_with_its_calls_and_time() {
    let world = World::new();
    world.record(Verdict::Pass).await;
    let copies = Copies::default();
    let Outcome::Replicated { body } = world.run(&copies, false).await.unwrap() else {
        panic!("not replicated");
    };
    assert_eq!(
        copies.reads.load(Ordering::SeqCst),
        1,
        "the source is read once"
    );
    let copied = copies.copied.lock().unwrap().clone();
    let regions: Vec<&str> = copied.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(regions, ["eu-west-1", "us-west-2"]);
    assert!(
        copied
            .iter()
            .all(|(_, tags)| tags == &[Tag::new("v1").unwrap()])
    );
    assert_eq!(body.copies.len(), 2);
    assert!(body.failures.is_empty());
    assert_eq!(
        (body.api_calls, body.duration_ms),
        (3, 5),
        "measured through the meter"
    );
    assert_eq!(world.told(), [Did::Replicated]);
}

#[tokio::test]
async fn dry_run_plans_every_destination_and_copies_nothing() {
    let world = World::new();
    world.record(Verdict::Pass).await;
    let copies = Copies::default();
    let outcome = world.run(&copies, true).await.unwrap();
    let Outcome::Planned { plan } = outcome else {
        panic!("not planned: {outcome:?}");
    };
    assert_eq!(plan.targets.len(), 2);
    assert_eq!(copies.reads.load(Ordering::SeqCst), 0);
    let published = world.topic.published.lock().unwrap();
    let Body::Replication(body) = &published[0].body else {
        panic!("not a replication message");
    };
    assert!(published[0].dry_run);
    assert_eq!(body.planned.len(), 2);
}

#[tokio::test]
async fn a_destination_that_fails_for_good_is_told_and_the_others_are_copied() {
    let world = World::new();
    world.record(Verdict::Pass).await;
    let copies = Copies::failing_in(
        "us-west-2",
        PortError::Denied {
            operation: "ecr:PutImage",
            message: "no".into(),
        },
    );
    let Outcome::Replicated { body } = world.run(&copies, false).await.unwrap() else {
        panic!("not replicated");
    };
    assert_eq!(body.copies.len(), 1);
    assert_eq!(body.failures.len(), 1);
    assert!(body.failures[0].starts_with("123456789012/us-west-2/app/api: ecr:PutImage"));
    assert_eq!(world.told(), [Did::ReplicationFailed]);
}

#[tokio::test]
async fn a_retryable_failure_fails_the_trigger_and_tells_nothing() {
    let world = World::new();
    world.record(Verdict::Pass).await;
    let copies = Copies::failing_in(
        "us-west-2",
        PortError::Throttled {
            operation: "ecr:PutImage",
        },
    );
    let error = world.run(&copies, false).await.unwrap_err();
    assert!(error.is_retryable());
    assert!(world.told().is_empty(), "the retry tells, once");
}
