//! Two platform images of one index judged at the same moment by two evaluations: the index's
//! verdict is written only while the records it rests on hold (`VerdictStore::claim_index`), so a
//! PASS derived from a sibling's record read just before that sibling failed is never written,
//! whatever the evidence times say. The interleaving is forced: the second evaluation runs whole
//! just before the first claims the index's record, the widest window there is. scan-gate's real decision loop runs
//! over the in-memory ports of `kit`.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed assertion

mod kit;

use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use warden_core::event::{Event, parse_event};
use warden_core::message::Body;
use warden_core::names::{AccountId, Digest, Region, RepositoryName, Tag};
use warden_core::policy::Policy;
use warden_core::ports::{PortError, VerdictLookup, VerdictStore};
use warden_core::records::{IndexClaim, IndexRecord, Manifest, VerdictClaim, VerdictRecord};
use warden_core::scan_gate::{Context, Ports, handle_event};
use warden_core::verdict::Verdict;

use kit::{POLICY, Registry, Scanners, Topic, Verdicts};

fn manifest(bytes: String, media_type: &str) -> Manifest {
    Manifest {
        digest: Digest::of_bytes(bytes.as_bytes()),
        media_type: Some(media_type.to_owned()),
        bytes,
    }
}

fn platform(arch: &str) -> Manifest {
    let bytes = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": Digest::of_bytes(arch.as_bytes()), "size": 1},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": Digest::of_bytes(format!("layer-{arch}").as_bytes()), "size": 1}],
    });
    manifest(
        bytes.to_string(),
        "application/vnd.oci.image.manifest.v1+json",
    )
}

fn index(children: &[(&Manifest, &str)]) -> Manifest {
    let bytes = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": children.iter().map(|(m, arch)| json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": m.digest, "size": m.bytes.len(),
            "platform": {"architecture": arch, "os": "linux"},
        })).collect::<Vec<Value>>(),
    });
    manifest(bytes.to_string(), "application/vnd.oci.image.index.v1+json")
}

fn at(second: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_000_000 + second, 0).unwrap()
}

fn scan(digest: &Digest, counts: Value, second: i64) -> Event {
    let path = format!(
        "{}/../../events/ecr-image-scan.complete.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut e: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    e["detail"]["image-digest"] = json!(digest);
    e["detail"]["repository-name"] = json!("team-a/api");
    e["detail"]["image-tags"] = json!([]);
    e["detail"]["finding-severity-counts"] = counts;
    e["time"] = json!(at(second).to_rfc3339());
    e["account"] = json!("123456789012");
    parse_event(e).unwrap()
}

fn push(digest: &Digest, tag: &str, second: i64) -> Event {
    let path = format!(
        "{}/../../events/ecr-image-action.push.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut e: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    e["detail"]["image-digest"] = json!(digest);
    e["detail"]["repository-name"] = json!("team-a/api");
    e["detail"]["image-tag"] = json!(tag);
    e["time"] = json!(at(second).to_rfc3339());
    e["account"] = json!("123456789012");
    parse_event(e).unwrap()
}

fn context(second: i64) -> Context {
    Context {
        account: AccountId::new("123456789012").unwrap(),
        region: Region::new("us-east-1").unwrap(),
        event_id: None,
        force_dry_run: false,
        now: at(second),
    }
}

/// The verdict table, with another evaluation run whole just before the first index claim.
struct Interleaved<'a> {
    inner: &'a Verdicts,
    registry: &'a Registry,
    scanners: &'a Scanners,
    topic: &'a Topic,
    policy: &'a Policy,
    /// The other evaluation: its event and clock.
    other: Mutex<Option<(Event, Context)>>,
    /// Whose record's claim (either kind) runs the other evaluation first.
    target: Digest,
}

impl Interleaved<'_> {
    /// Run the other evaluation, once, if `digest` is the target.
    async fn maybe_interleave(&self, digest: &Digest) -> Result<(), PortError> {
        if *digest != self.target {
            return Ok(());
        }
        let other = self.other.lock().unwrap().take();
        if let Some((event, ctx)) = other {
            let ports = Ports {
                images: self.registry,
                catalog: self.registry,
                findings: self.scanners,
                verdicts: self.inner,
                publisher: self.topic,
                status: self.registry,
                signatures: self.registry,
                public_keys: self.registry,
                revocations: self.registry,
                deadlines: None,
            };
            let report = handle_event(&event, self.policy, &ctx, &ports).await?;
            assert!(report.errors.is_empty(), "{:?}", report.errors);
        }
        Ok(())
    }
}

#[async_trait]
impl VerdictLookup for Interleaved<'_> {
    async fn verdict(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> Result<Option<VerdictRecord>, PortError> {
        self.inner.verdict(repository, digest).await
    }
}

#[async_trait]
impl VerdictStore for Interleaved<'_> {
    async fn claim(&self, record: &VerdictRecord) -> Result<VerdictClaim, PortError> {
        self.maybe_interleave(&record.digest).await?;
        self.inner.claim(record).await
    }

    async fn claim_index(&self, index: &IndexRecord) -> Result<IndexClaim, PortError> {
        self.maybe_interleave(&index.record.digest).await?;
        self.inner.claim_index(index).await
    }

    async fn restore(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
        previous: Option<&VerdictRecord>,
        written: &str,
    ) -> Result<(), PortError> {
        self.inner
            .restore(repository, digest, previous, written)
            .await
    }
}

#[test]
fn a_pass_derived_from_a_sibling_that_failed_meanwhile_is_never_written() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let policy = Policy::from_yaml(POLICY).unwrap();
    let registry = Registry::default();
    let (amd, arm) = (platform("amd64"), platform("arm64"));
    let multi = index(&[(&amd, "amd64"), (&arm, "arm64")]);
    registry.put(&amd);
    registry.put(&arm);
    registry.push(&multi, &Tag::new("v1").unwrap());
    let scanners = Scanners::default();
    let verdicts = Verdicts::default();
    let topic = Topic::default();
    let plain = Ports {
        images: &registry,
        catalog: &registry,
        findings: &scanners,
        verdicts: &verdicts,
        publisher: &topic,
        status: &registry,
        signatures: &registry,
        public_keys: &registry,
        revocations: &registry,
        deadlines: None,
    };
    for (child, second) in [(&amd, 10), (&arm, 11)] {
        let e = scan(&child.digest, json!({}), second);
        runtime
            .block_on(handle_event(&e, &policy, &context(second + 1), &plain))
            .unwrap();
    }
    let index_verdict = || {
        verdicts
            .verdicts()
            .into_iter()
            .find(|(d, _)| *d == multi.digest)
            .map(|(_, v)| v)
    };
    assert_eq!(index_verdict(), Some(Verdict::Pass));

    // amd64 passes again on new findings; inside its index claim, arm64 fails — an evaluation
    // that started earlier (its clock, and so its index record's time, is older).
    let interleaved = Interleaved {
        inner: &verdicts,
        registry: &registry,
        scanners: &scanners,
        topic: &topic,
        policy: &policy,
        other: Mutex::new(Some((
            scan(&arm.digest, json!({"CRITICAL": 1}), 20),
            context(21),
        ))),
        target: multi.digest.clone(),
    };
    let racing = Ports {
        verdicts: &interleaved,
        ..plain
    };
    let e = scan(&amd.digest, json!({"LOW": 1}), 20);
    let report = runtime
        .block_on(handle_event(&e, &policy, &context(30), &racing))
        .unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(
        interleaved.other.lock().unwrap().is_none(),
        "the other evaluation ran"
    );

    assert_eq!(
        index_verdict(),
        Some(Verdict::Fail),
        "{}",
        report.decision()
    );
    let tags: Vec<(Digest, Vec<Tag>)> = registry.state();
    let index_tags = &tags.iter().find(|(d, _)| *d == multi.digest).unwrap().1;
    assert!(
        index_tags
            .iter()
            .all(|t| t.as_str().starts_with("quarantine-")),
        "{index_tags:?}"
    );
    let index_passes = topic
        .published
        .lock()
        .unwrap()
        .iter()
        .filter(|m| {
            matches!(&m.body, Body::Verdict(v) if v.digest == multi.digest && v.verdict == Verdict::Pass)
        })
        .count();
    assert_eq!(
        index_passes, 1,
        "only the first PASS, before the race, is told"
    );
}

/// An index pushed with no record takes its platform images' verdicts, under the same rule: a FAIL
/// derived from a platform image's record that passed meanwhile (its evaluation, run inside the
/// push's claim, recorded the new index PASS) is never written, and its tag stays.
#[test]
fn a_pushed_index_claim_derived_from_a_record_that_changed_meanwhile_writes_nothing() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let policy = Policy::from_yaml(POLICY).unwrap();
    let registry = Registry::default();
    let amd = platform("amd64");
    registry.put(&amd);
    let scanners = Scanners::default();
    let verdicts = Verdicts::default();
    let topic = Topic::default();
    let plain = Ports {
        images: &registry,
        catalog: &registry,
        findings: &scanners,
        verdicts: &verdicts,
        publisher: &topic,
        status: &registry,
        signatures: &registry,
        public_keys: &registry,
        revocations: &registry,
        deadlines: None,
    };
    let failing = scan(&amd.digest, json!({"CRITICAL": 1}), 5);
    runtime
        .block_on(handle_event(&failing, &policy, &context(6), &plain))
        .unwrap();
    let multi = index(&[(&amd, "amd64")]);
    registry.push(&multi, &Tag::new("v2").unwrap());

    let interleaved = Interleaved {
        inner: &verdicts,
        registry: &registry,
        scanners: &scanners,
        topic: &topic,
        policy: &policy,
        // Started before the push (its clock, and its index record's time, precede the push's).
        other: Mutex::new(Some((scan(&amd.digest, json!({}), 11), context(12)))),
        target: multi.digest.clone(),
    };
    let racing = Ports {
        verdicts: &interleaved,
        ..plain
    };
    let report = runtime
        .block_on(handle_event(
            &push(&multi.digest, "v2", 15),
            &policy,
            &context(30),
            &racing,
        ))
        .unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(
        interleaved.other.lock().unwrap().is_none(),
        "the other evaluation ran"
    );
    let recorded = verdicts
        .verdicts()
        .into_iter()
        .find(|(d, _)| *d == multi.digest)
        .map(|(_, v)| v);
    assert_eq!(recorded, Some(Verdict::Pass), "{}", report.decision());
    let tags = registry.state();
    let index_tags = &tags.iter().find(|(d, _)| *d == multi.digest).unwrap().1;
    assert_eq!(index_tags, &[Tag::new("v2").unwrap()]);
}
