//! An in-memory registry, verdict table, scanner and topic behind scan-gate's ports, keeping each
//! port's documented contract (tags move between images, a tag-only removal never leaves an image
//! without a tag, claims follow `VerdictClaim::writes`), for property tests that drive the real
//! decision loop thousands of times in milliseconds.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use warden_core::message::Message;
use warden_core::names::{Digest, RepositoryName, Tag};
use warden_core::ports::{
    ImageCatalog, ImageFindings, ImageManifests, ImageSignatures, ImageStatus, Page, PortError,
    PublicKeys, Publisher, SignatureRevocations, VerdictLookup, VerdictStore,
};
use warden_core::records::{
    ImageEntry, ImageResource, ImageState, ImageView, IndexClaim, IndexRecord, Manifest,
    ScanCoverage, SigningStatus, TagRemoval, VerdictClaim, VerdictRecord,
};
use warden_core::signature::cosign::SignedPayload;
use warden_core::signature::notation::{NotationSignature, RevocationQuery};
use warden_core::trusted_key::KmsPublicKey;
use warden_core::verdict::Finding;

/// The gate the scan-gate properties run under: no CRITICAL finding, quarantine on FAIL.
pub const POLICY: &str = r#"
version: 1
repositories:
  - match: "**"
    gate: { max_findings: { CRITICAL: 0 }, on_fail: quarantine }
"#;

/// One repository's images: manifest and tags per digest.
#[derive(Default)]
pub struct Registry {
    images: Mutex<BTreeMap<Digest, (Manifest, Vec<Tag>)>>,
}

impl Registry {
    /// Push `manifest` under `tag` (moved from any other image, as in a mutable repository).
    pub fn push(&self, manifest: &Manifest, tag: &Tag) {
        let mut images = self.images.lock().unwrap();
        for (_, tags) in images.values_mut() {
            tags.retain(|t| t != tag);
        }
        let entry = images
            .entry(manifest.digest.clone())
            .or_insert_with(|| (manifest.clone(), Vec::new()));
        entry.1.push(tag.clone());
        entry.1.sort();
    }

    /// Put `manifest` untagged (a platform image of an index).
    #[allow(dead_code)] // not every test binary including the kit puts untagged images
    pub fn put(&self, manifest: &Manifest) {
        self.images
            .lock()
            .unwrap()
            .entry(manifest.digest.clone())
            .or_insert_with(|| (manifest.clone(), Vec::new()));
    }

    /// Every image's digest and sorted tags.
    pub fn state(&self) -> Vec<(Digest, Vec<Tag>)> {
        self.images
            .lock()
            .unwrap()
            .iter()
            .map(|(d, (_, t))| (d.clone(), t.clone()))
            .collect()
    }

    fn tags(&self, digest: &Digest) -> Option<Vec<Tag>> {
        self.images
            .lock()
            .unwrap()
            .get(digest)
            .map(|(_, t)| t.clone())
    }

    fn owner(&self, tag: &Tag) -> Option<Digest> {
        self.images
            .lock()
            .unwrap()
            .iter()
            .find(|(_, (_, tags))| tags.contains(tag))
            .map(|(d, _)| d.clone())
    }
}

#[async_trait]
impl ImageManifests for Registry {
    async fn manifests(
        &self,
        _: &RepositoryName,
        digests: &[Digest],
    ) -> Result<Vec<Manifest>, PortError> {
        let images = self.images.lock().unwrap();
        Ok(digests
            .iter()
            .filter_map(|d| images.get(d).map(|(m, _)| m.clone()))
            .collect())
    }

    async fn tag_target(&self, _: &RepositoryName, tag: &Tag) -> Result<Option<Digest>, PortError> {
        Ok(self.owner(tag))
    }

    async fn image_and_tags(
        &self,
        _: &RepositoryName,
        digest: &Digest,
        tags: &[Tag],
    ) -> Result<ImageView, PortError> {
        let manifest = self
            .images
            .lock()
            .unwrap()
            .get(digest)
            .map(|(m, _)| m.clone());
        Ok(ImageView {
            manifest,
            tags: tags.iter().map(|t| (t.clone(), self.owner(t))).collect(),
        })
    }

    async fn tags_now(
        &self,
        _: &RepositoryName,
        digests: &[Digest],
    ) -> Result<Vec<Option<Vec<Tag>>>, PortError> {
        Ok(digests.iter().map(|d| self.tags(d)).collect())
    }

    async fn tags_of(
        &self,
        _: &RepositoryName,
        digest: &Digest,
    ) -> Result<Option<Vec<Tag>>, PortError> {
        Ok(self.tags(digest))
    }

    async fn remove_tags(
        &self,
        _: &RepositoryName,
        digest: &Digest,
        tags: &[Tag],
    ) -> Result<TagRemoval, PortError> {
        let mut images = self.images.lock().unwrap();
        let mut removal = TagRemoval::default();
        let Some((_, held)) = images.get_mut(digest) else {
            removal.moved = tags.to_vec();
            return Ok(removal);
        };
        let (here, moved): (Vec<Tag>, Vec<Tag>) =
            tags.iter().cloned().partition(|t| held.contains(t));
        removal.moved = moved;
        if held.iter().all(|t| here.contains(t)) {
            removal.refused = here
                .into_iter()
                .map(|t| (t, "the image's last tags: not removed".to_owned()))
                .collect();
            return Ok(removal);
        }
        held.retain(|t| !here.contains(t));
        Ok(removal)
    }

    async fn put_tag(
        &self,
        _: &RepositoryName,
        manifest: &Manifest,
        tag: &Tag,
    ) -> Result<Digest, PortError> {
        self.push(manifest, tag);
        Ok(manifest.digest.clone())
    }
}

#[async_trait]
impl ImageCatalog for Registry {
    async fn images(
        &self,
        _: &RepositoryName,
        _: Option<String>,
    ) -> Result<Page<ImageEntry>, PortError> {
        let items = self
            .images
            .lock()
            .unwrap()
            .iter()
            .map(|(d, (m, tags))| entry(d, m, tags))
            .collect();
        Ok(Page { items, next: None })
    }
}

/// An image as a listing shows it (this registry keeps no push times, sizes or pulls).
fn entry(digest: &Digest, manifest: &Manifest, tags: &[Tag]) -> ImageEntry {
    ImageEntry {
        digest: digest.clone(),
        tags: tags.to_vec(),
        pushed_at: None,
        last_pull: None,
        size: 0,
        manifest_media_type: manifest.media_type.clone(),
        artifact_media_type: None,
        status: None,
        subject: None,
        archived_at: None,
        activated_at: None,
    }
}

/// This world trusts no KMS key: asking for one is a wrong policy (the kit's policies give none).
#[async_trait]
impl PublicKeys for Registry {
    async fn public_key(&self, key_id: &str) -> Result<KmsPublicKey, PortError> {
        Err(PortError::Invalid {
            operation: "kms:GetPublicKey",
            message: format!("no KMS key {key_id} in this world"),
        })
    }
}

/// No signature of this world is AWS Signer's: asking of one is a wrong policy (the kit's
/// policies trust no signing profile).
#[async_trait]
impl SignatureRevocations for Registry {
    async fn revoked(&self, query: &RevocationQuery) -> Result<Vec<String>, PortError> {
        Err(PortError::Invalid {
            operation: "signer:GetRevocationStatus",
            message: format!("no signing job {} in this world", query.job_arn),
        })
    }
}

/// This registry's images carry no scan status of their own (the scanners answer for them).
#[async_trait]
impl ImageStatus for Registry {
    async fn image_state(
        &self,
        _: &RepositoryName,
        digest: &Digest,
    ) -> Result<Option<ImageState>, PortError> {
        let images = self.images.lock().unwrap();
        Ok(images.get(digest).map(|(m, tags)| ImageState {
            entry: entry(digest, m, tags),
            scan_status: None,
            scan_description: None,
            counts: None,
        }))
    }

    async fn pushed_at(
        &self,
        _: &RepositoryName,
        _: &Digest,
    ) -> Result<Option<DateTime<Utc>>, PortError> {
        Ok(None)
    }
}

/// No image of this registry is signed: it holds no `.sig` manifests and no signing jobs.
#[async_trait]
impl ImageSignatures for Registry {
    async fn cosign_signatures(
        &self,
        _: &RepositoryName,
        _: &Digest,
    ) -> Result<Vec<SignedPayload>, PortError> {
        Ok(Vec::new())
    }

    async fn notation_signatures(
        &self,
        _: &RepositoryName,
        _: &Digest,
    ) -> Result<Vec<NotationSignature>, PortError> {
        Ok(Vec::new())
    }

    /// No signing configuration: no image has a signing job.
    async fn managed_signing(
        &self,
        _: &RepositoryName,
        _: &Digest,
    ) -> Result<Vec<SigningStatus>, PortError> {
        Ok(Vec::new())
    }
}

/// The scanners' current answers: basic scan findings and Inspector's ACTIVE findings, the image
/// covered (ACTIVE) throughout.
#[derive(Default)]
pub struct Scanners {
    pub basic: Vec<Finding>,
    pub inspector: Vec<Finding>,
}

#[async_trait]
impl ImageFindings for Scanners {
    async fn scan_findings(
        &self,
        _: &RepositoryName,
        _: &Digest,
        _: Option<String>,
    ) -> Result<Page<Finding>, PortError> {
        Ok(Page {
            items: self.basic.clone(),
            next: None,
        })
    }

    async fn coverage(&self, _: &ImageResource) -> Result<Option<ScanCoverage>, PortError> {
        Ok(Some(ScanCoverage {
            status: "ACTIVE".to_owned(),
            reason: None,
        }))
    }

    async fn inspector_findings(
        &self,
        _: &ImageResource,
        _: Option<String>,
    ) -> Result<Page<Finding>, PortError> {
        Ok(Page {
            items: self.inspector.clone(),
            next: None,
        })
    }
}

/// The verdict table: one record per digest, claimed as the DynamoDB adapter's condition does.
#[derive(Default)]
pub struct Verdicts {
    records: Mutex<BTreeMap<Digest, VerdictRecord>>,
}

impl Verdicts {
    pub fn verdicts(&self) -> Vec<(Digest, warden_core::verdict::Verdict)> {
        self.records
            .lock()
            .unwrap()
            .iter()
            .map(|(d, r)| (d.clone(), r.verdict))
            .collect()
    }
}

#[async_trait]
impl VerdictLookup for Verdicts {
    async fn verdict(
        &self,
        _: &RepositoryName,
        digest: &Digest,
    ) -> Result<Option<VerdictRecord>, PortError> {
        Ok(self.records.lock().unwrap().get(digest).cloned())
    }
}

#[async_trait]
impl VerdictStore for Verdicts {
    async fn claim(&self, record: &VerdictRecord) -> Result<VerdictClaim, PortError> {
        let mut records = self.records.lock().unwrap();
        let stored = records.get(&record.digest).cloned();
        let writes = VerdictClaim::writes(stored.as_ref(), record);
        let claim = VerdictClaim::would(stored, record);
        if writes {
            records.insert(record.digest.clone(), record.clone());
        }
        Ok(claim)
    }

    async fn claim_index(&self, index: &IndexRecord) -> Result<IndexClaim, PortError> {
        let mut records = self.records.lock().unwrap();
        for (digest, verdict) in &index.rests_on {
            if records.get(digest).map(|r| r.verdict) != Some(*verdict) {
                return Ok(IndexClaim::Stale {
                    changed: digest.clone(),
                });
            }
        }
        let record = &index.record;
        let claim = IndexClaim::would(records.get(&record.digest).cloned(), record);
        if !matches!(claim, IndexClaim::Unchanged) {
            records.insert(record.digest.clone(), record.clone());
        }
        Ok(claim)
    }

    async fn restore(
        &self,
        _: &RepositoryName,
        digest: &Digest,
        previous: Option<&VerdictRecord>,
        written: &str,
    ) -> Result<(), PortError> {
        let mut records = self.records.lock().unwrap();
        if records.get(digest).map(|r| r.fingerprint.as_str()) != Some(written) {
            return Ok(()); // another decision was recorded since: it stands
        }
        match previous {
            Some(p) => records.insert(digest.clone(), p.clone()),
            None => records.remove(digest),
        };
        Ok(())
    }
}

/// The topic: every message published, in order.
#[derive(Default)]
pub struct Topic {
    pub published: Mutex<Vec<Message>>,
}

#[async_trait]
impl Publisher for Topic {
    async fn publish(&self, _: Option<&str>, message: &Message) -> Result<(), PortError> {
        self.published.lock().unwrap().push(message.clone());
        Ok(())
    }
}
