//! What a manifest needs in a registry before it can be put there — its blobs (config and layers)
//! and its child manifests (an index's platforms) — its referrers by cosign's tag scheme, and the
//! report of one copy.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;

use crate::names::{Digest, Tag};

/// A blob a manifest names: its digest and the size the manifest declares.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Blob {
    pub digest: Digest,
    pub size: Option<u64>,
}

/// What one manifest links to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contents {
    /// Config and layers (an image manifest, Docker v2 schema 2 / OCI; schema 1's `fsLayers`).
    pub blobs: Vec<Blob>,
    /// Child manifests (a manifest list / OCI index), in the index's order.
    pub children: Vec<Digest>,
}

/// The blobs and children `bytes` names. `Err` names what is malformed: a manifest a copy cannot
/// follow is not half-copied.
pub fn contents(bytes: &str) -> Result<Contents, String> {
    let value: Value =
        serde_json::from_str(bytes).map_err(|e| format!("manifest is not JSON: {e}"))?;
    let descriptor = |d: &Value, at: &str| -> Result<Blob, String> {
        let raw = d["digest"]
            .as_str()
            .or_else(|| d["blobSum"].as_str())
            .ok_or_else(|| format!("{at} has no digest"))?;
        Ok(Blob {
            digest: Digest::new(raw).map_err(|e| format!("{at}: {e}"))?,
            size: d["size"].as_u64(),
        })
    };
    let mut out = Contents::default();
    if let Some(children) = value["manifests"].as_array() {
        for (i, child) in children.iter().enumerate() {
            out.children
                .push(descriptor(child, &format!("manifests[{i}]"))?.digest);
        }
        return Ok(out);
    }
    if value.get("config").is_some_and(|c| !c.is_null()) {
        out.blobs.push(descriptor(&value["config"], "config")?);
    }
    let layers = value["layers"]
        .as_array()
        .or_else(|| value["fsLayers"].as_array());
    for (i, layer) in layers.into_iter().flatten().enumerate() {
        out.blobs.push(descriptor(layer, &format!("layers[{i}]"))?);
    }
    // Schema 1 repeats a layer per history entry: a blob is copied once.
    let mut seen = BTreeSet::new();
    out.blobs.retain(|b| seen.insert(b.digest.clone()));
    Ok(out)
}

/// The tags cosign gives an image's signature, attestation and SBOM: `sha256-<hex>.sig`, `.att`,
/// `.sbom`. They travel with the image whatever the tag filter says.
pub fn referrer_tags(digest: &Digest) -> Vec<Tag> {
    let hex = digest.as_str().trim_start_matches("sha256:");
    ["sig", "att", "sbom"]
        .iter()
        .filter_map(|kind| Tag::new(format!("sha256-{hex}.{kind}")).ok())
        .collect()
}

/// The blobs not `available` at the destination, each once, in the order first named.
pub fn missing<'a>(
    blobs: impl IntoIterator<Item = &'a Blob>,
    available: &BTreeSet<Digest>,
) -> Vec<Blob> {
    let mut seen = BTreeSet::new();
    blobs
        .into_iter()
        .filter(|b| !available.contains(&b.digest) && seen.insert(b.digest.clone()))
        .cloned()
        .collect()
}

/// What one copy of one image to one destination did (beside the messages that carry it).
pub use crate::message::CopyReport;

/// How a repository the replicator creates at a destination is set up: like its source (tag
/// mutability, scan on push, encryption) or as the destination registry's creation template says
/// (template.rs), the policy's tag mutability for the destination name over both.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NewRepository {
    pub mutability: Option<crate::mutability::TagMutability>,
    pub scan_on_push: bool,
    pub encryption: Option<Encryption>,
    /// The prefix of the creation template these settings come from (`None`: the source's).
    pub template: Option<String>,
    /// From the template: the repository's resource tags (key, value).
    pub resource_tags: Vec<(String, String)>,
    /// From the template: the lifecycle policy set on the created repository.
    pub lifecycle_policy: Option<String>,
    /// From the template: the repository policy set on the created repository.
    pub repository_policy: Option<String>,
}

/// A repository's encryption at rest (ECR: `AES256`, `KMS`, `KMS_DSSE`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Encryption {
    pub kind: String,
    /// The KMS key; `None`: ECR's AWS managed key (`aws/ecr`) in the destination.
    pub kms_key: Option<String>,
}

impl Encryption {
    /// The source's encryption as a created destination gets it: the same kind, with ECR's AWS
    /// managed key — still KMS, never silently weaker. A customer managed key is not carried: it
    /// is regional and its account's, and using one needs `kms:CreateGrant` on it, which the
    /// replicator is not given (ECR User Guide, "Encryption at rest").
    pub fn for_destination(&self) -> Self {
        Self {
            kind: self.kind.clone(),
            kms_key: None,
        }
    }
}
