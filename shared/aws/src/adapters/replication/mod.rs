//! Copying one image between ECR registries through the ECR API (docs/replicator.md): the image
//! with its children (a multi-arch index) and its cosign referrers, only the layers the destination
//! lacks, the manifests' exact bytes (digests preserved), children before the index.

mod layers;
mod targets;

pub use targets::Destinations;

use std::collections::BTreeSet;

use futures_util::{StreamExt, TryStreamExt, stream};
use warden_core::mutability::TagMutability;
use warden_core::names::{Digest, RepositoryName, Tag};
use warden_core::ports::{ImageManifests, MAX_BATCH_GET_IMAGE_IDS, Manifest, PortError};
use warden_core::replicate::image::{Blob, CopyReport, contents, missing, referrer_tags};

use crate::adapters::ecr::EcrRegistry;
use crate::adapters::ecr::transfer::Put;
use layers::{Route, transfer};

/// Layers copied at once per image by default (memory ≈ part size × this + a constant).
pub const DEFAULT_CONCURRENCY: usize = 4;

/// One copy to make: the source image, the tags its copy gets, and the destination.
pub struct Copy<'a> {
    pub repository: &'a RepositoryName,
    pub digest: &'a Digest,
    pub tags: &'a [Tag],
    pub destination: &'a EcrRegistry,
    pub destination_repository: &'a RepositoryName,
    /// Settings for a destination repository this copy creates.
    pub mutability: Option<&'a TagMutability>,
}

/// Copies images out of one source registry.
pub struct ImageCopier {
    source: EcrRegistry,
    http: reqwest::Client,
    concurrency: usize,
}

impl ImageCopier {
    /// Layer downloads use the SDK's TLS stack, rustls on *ring* (installed as the process's
    /// provider unless one already is).
    pub fn new(source: EcrRegistry, concurrency: usize) -> Result<Self, PortError> {
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            // Losing this race to another thread installing *ring* first is fine.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(5))
            .build()
            .map_err(|e| PortError::Invalid {
                operation: "layer download",
                message: e.to_string(),
            })?;
        Ok(Self {
            source,
            http,
            concurrency: concurrency.max(1),
        })
    }

    pub fn source(&self) -> &EcrRegistry {
        &self.source
    }

    /// Copy one image. Calls (the floors in docs/replicator.md): 1 BatchGetImage (+1 for an
    /// index's children), ⌈L/100⌉ BatchCheckLayerAvailability, per missing layer 1
    /// GetDownloadUrlForLayer + 1 InitiateLayerUpload + ⌈S/part⌉ UploadLayerPart + 1
    /// CompleteLayerUpload, 1 PutImage per manifest per tag; +1 CreateRepository when the
    /// destination repository is missing. Nothing is put until every missing layer is complete.
    pub async fn copy(&self, copy: &Copy<'_>) -> Result<CopyReport, PortError> {
        let mut report = CopyReport {
            tags: copy.tags.to_vec(),
            ..CopyReport::default()
        };
        let (root, referrers) = self
            .source
            .image_and_tagged(copy.repository, copy.digest, &referrer_tags(copy.digest))
            .await?;
        let root = root.ok_or_else(|| PortError::NotFound {
            operation: "ecr:BatchGetImage",
            what: format!(
                "{}@{} is gone from the source",
                copy.repository, copy.digest
            ),
        })?;
        let root_contents = malformed(&root, contents(&root.bytes))?;
        let children = self
            .children(copy.repository, &root_contents.children)
            .await?;
        let mut blobs: Vec<Blob> = root_contents.blobs;
        for manifest in children.iter().chain(referrers.iter().map(|(_, m)| m)) {
            blobs.extend(malformed(manifest, contents(&manifest.bytes))?.blobs);
        }
        let digests: Vec<Digest> = blobs
            .iter()
            .map(|b| b.digest.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let available = match copy
            .destination
            .available_layers(copy.destination_repository, &digests)
            .await?
        {
            Some(available) => available,
            None => {
                copy.destination
                    .create_repository_with(copy.destination_repository, copy.mutability)
                    .await?;
                report.created_repository = true;
                BTreeSet::new()
            }
        };
        let needed = missing(&blobs, &available);
        report.layers_skipped = (digests.len() - needed.len()) as u64;
        let route = Route {
            source: &self.source,
            source_repository: copy.repository,
            destination: copy.destination,
            destination_repository: copy.destination_repository,
        };
        let route = &route;
        let (copied, bytes) =
            stream::iter(needed.iter().map(|blob| transfer(&self.http, route, blob)))
                .buffer_unordered(self.concurrency)
                .try_fold((0u64, 0u64), |(n, total), bytes| async move {
                    Ok((n + 1, total + bytes))
                })
                .await?;
        report.layers_copied = copied;
        report.bytes_copied = bytes;
        for child in &children {
            self.put(copy, child, None, &mut report).await?;
        }
        for (tag, manifest) in &referrers {
            self.put(copy, manifest, Some(tag), &mut report).await?;
            report.referrers.push(tag.clone());
        }
        if copy.tags.is_empty() {
            self.put(copy, &root, None, &mut report).await?;
        }
        for tag in copy.tags {
            self.put(copy, &root, Some(tag), &mut report).await?;
        }
        Ok(report)
    }

    /// An index's children, all of them (a copy missing one would be a broken index).
    async fn children(
        &self,
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
        let found = self.source.manifests(repository, digests).await?;
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

    async fn put(
        &self,
        copy: &Copy<'_>,
        manifest: &Manifest,
        tag: Option<&Tag>,
        report: &mut CopyReport,
    ) -> Result<(), PortError> {
        match copy
            .destination
            .put_manifest(copy.destination_repository, manifest, tag)
            .await?
        {
            Put::Put => report.manifests_put += 1,
            Put::Present => report.manifests_present += 1,
            Put::TagTaken => report.problems.push(format!(
                "tag {} is immutable in {} and points at another image: not forced",
                tag.map(Tag::as_str).unwrap_or_default(),
                copy.destination_repository
            )),
        }
        Ok(())
    }
}

fn malformed<T>(manifest: &Manifest, result: Result<T, String>) -> Result<T, PortError> {
    result.map_err(|e| PortError::Invalid {
        operation: "ecr:BatchGetImage",
        message: format!("manifest {}: {e}", manifest.digest),
    })
}
