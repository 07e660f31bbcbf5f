//! What a copy reads of its source, once per image whatever the number of destinations: the
//! image, its children (a multi-arch index), its cosign referrers by tag and its OCI 1.1 referrers
//! by `subject`, every blob they name, and — only when a destination repository is missing — how
//! the source repository is set up.

use std::collections::BTreeSet;
use std::sync::Mutex;

use warden_core::names::{Digest, RepositoryName, Tag};
use warden_core::ports::{MAX_BATCH_GET_IMAGE_IDS, PortError};
use warden_core::records::Manifest;
use warden_core::replicate::image::{Blob, NewRepository, contents, referrer_tags};

use super::endpoint::CopySource;

/// One source image as read for copying.
pub struct SourceImage {
    repository: RepositoryName,
    pub(super) root: Manifest,
    /// An index's children, in its order.
    pub(super) children: Vec<Manifest>,
    /// cosign's tag-scheme referrers (`sha256-<hex>.sig|.att|.sbom`) with their tags.
    pub(super) referrers: Vec<(Tag, Manifest)>,
    /// OCI 1.1 referrers of the image and of its children, less those found by tag.
    pub(super) attached: Vec<Manifest>,
    /// Every blob the manifests name.
    pub(super) blobs: Vec<Blob>,
    /// Their distinct digests, sorted.
    pub(super) digests: Vec<Digest>,
    /// The source repository's settings, once read (`Some(None)`: it is gone).
    setup: Mutex<Option<Option<NewRepository>>>,
}

impl SourceImage {
    /// Read the image `digest` of `repository`: 1 BatchGetImage (+1 for an index's children), 1
    /// ListImageReferrers per manifest (+1 BatchGetImage when it finds any). An image gone is
    /// NotFound; a manifest that does not parse is Invalid.
    pub async fn read(
        source: &dyn CopySource,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> Result<Self, PortError> {
        let (root, referrers) = source
            .image_and_tagged(repository, digest, &referrer_tags(digest))
            .await?;
        let root = root.ok_or_else(|| PortError::NotFound {
            operation: "ecr:BatchGetImage",
            what: format!("{repository}@{digest} is gone from the source"),
        })?;
        let root_contents = malformed(&root, contents(&root.bytes))?;
        let children = children(source, repository, &root_contents.children).await?;
        let by_tag: BTreeSet<Digest> = referrers.iter().map(|(_, m)| m.digest.clone()).collect();
        let attached = attached(source, repository, &root, &children, &by_tag).await?;
        let mut blobs: Vec<Blob> = root_contents.blobs;
        for manifest in children
            .iter()
            .chain(referrers.iter().map(|(_, m)| m))
            .chain(attached.iter())
        {
            blobs.extend(malformed(manifest, contents(&manifest.bytes))?.blobs);
        }
        let digests: Vec<Digest> = blobs
            .iter()
            .map(|b| b.digest.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        Ok(Self {
            repository: repository.clone(),
            root,
            children,
            referrers,
            attached,
            blobs,
            digests,
            setup: Mutex::new(None),
        })
    }

    /// How the source repository is set up, read on first need (1 DescribeRepositories per image).
    pub(super) async fn setup(
        &self,
        source: &dyn CopySource,
    ) -> Result<Option<NewRepository>, PortError> {
        if let Some(known) = self.setup.lock().ok().and_then(|s| s.clone()) {
            return Ok(known);
        }
        let read = source.repository_setup(&self.repository).await?;
        if let Ok(mut cached) = self.setup.lock() {
            *cached = Some(read.clone());
        }
        Ok(read)
    }
}

/// The OCI 1.1 referrers of the image and of its children (SBOMs, signatures and attestations
/// pushed with a `subject`), less those already found by cosign's tag scheme: ⌈R/50⌉
/// ListImageReferrers per manifest, ⌈R/100⌉ BatchGetImage.
async fn attached(
    source: &dyn CopySource,
    repository: &RepositoryName,
    root: &Manifest,
    children: &[Manifest],
    by_tag: &BTreeSet<Digest>,
) -> Result<Vec<Manifest>, PortError> {
    let mut digests: Vec<Digest> = Vec::new();
    for subject in std::iter::once(root).chain(children) {
        for digest in source.referrers(repository, &subject.digest).await? {
            if !by_tag.contains(&digest) && !digests.contains(&digest) {
                digests.push(digest);
            }
        }
    }
    let mut found = Vec::with_capacity(digests.len());
    for chunk in digests.chunks(MAX_BATCH_GET_IMAGE_IDS) {
        found.extend(source.manifests(repository, chunk).await?);
    }
    Ok(found)
}

/// An index's children, all of them (a copy missing one would be a broken index).
async fn children(
    source: &dyn CopySource,
    repository: &RepositoryName,
    digests: &[Digest],
) -> Result<Vec<Manifest>, PortError> {
    if digests.is_empty() {
        return Ok(Vec::new());
    }
    if digests.len() > MAX_BATCH_GET_IMAGE_IDS {
        return Err(PortError::Invalid {
            operation: "ecr:BatchGetImage",
            message: format!(
                "an index of {} manifests, the limit is {MAX_BATCH_GET_IMAGE_IDS}",
                digests.len()
            ),
        });
    }
    let found = source.manifests(repository, digests).await?;
    let mut ordered = Vec::with_capacity(digests.len());
    for digest in digests {
        let manifest =
            found
                .iter()
                .find(|m| m.digest == *digest)
                .ok_or_else(|| PortError::NotFound {
                    operation: "ecr:BatchGetImage",
                    what: format!("{repository}@{digest}, a child of the index, is gone"),
                })?;
        if !ordered.iter().any(|m: &Manifest| m.digest == *digest) {
            ordered.push(manifest.clone());
        }
    }
    Ok(ordered)
}

fn malformed<T>(manifest: &Manifest, result: Result<T, String>) -> Result<T, PortError> {
    result.map_err(|e| PortError::Invalid {
        operation: "ecr:BatchGetImage",
        message: format!("manifest {}: {e}", manifest.digest),
    })
}
