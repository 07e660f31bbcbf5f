//! Copying one image between registries (docs/replicator.md): the image with its children (a
//! multi-arch index) and its cosign referrers, only the blobs the destination lacks, the manifests'
//! exact bytes (digests preserved), children before the index. The registries at either end speak
//! ECR's API (`ecr_api.rs`) or the OCI distribution API (`oci.rs`), through `endpoint.rs`.

mod ecr_api;
mod endpoint;
mod layers;
mod oci;
mod targets;

pub use endpoint::{CopySource, CopyTarget, Put, UploadSession};
pub use oci::OciRegistry;
pub use targets::Destinations;

use std::collections::BTreeSet;

use futures_util::{StreamExt, TryStreamExt, stream};
use warden_core::mutability::TagMutability;
use warden_core::names::{Digest, RepositoryName, Tag};
use warden_core::ports::{MAX_BATCH_GET_IMAGE_IDS, Manifest, PortError};
use warden_core::replicate::image::{
    Blob, CopyReport, NewRepository, contents, missing, referrer_tags,
};
use warden_core::replicate::template;

use layers::{Route, transfer};

use crate::runtime::tls;

/// Layers copied at once per image by default (memory ≈ part size × this + a constant).
pub const DEFAULT_CONCURRENCY: usize = 4;

/// One copy to make: the source image, the tags its copy gets, and the destination.
pub struct Copy<'a> {
    pub repository: &'a RepositoryName,
    pub digest: &'a Digest,
    pub tags: &'a [Tag],
    pub destination: &'a dyn CopyTarget,
    pub destination_repository: &'a RepositoryName,
    /// The policy's tag mutability for the destination repository's name, over the source's.
    pub mutability: Option<&'a TagMutability>,
}

/// Copies images, `concurrency` blobs at once per image.
pub struct ImageCopier {
    http: reqwest::Client,
    concurrency: usize,
}

impl ImageCopier {
    /// Blob transfers use the SDK's TLS stack and roots ([`tls::reqwest_builder`]).
    pub fn new(concurrency: usize) -> Result<Self, PortError> {
        let http = tls::reqwest_builder()
            .connect_timeout(std::time::Duration::from_secs(5))
            .build()
            .map_err(|e| PortError::Invalid {
                operation: "layer download",
                message: e.to_string(),
            })?;
        Ok(Self {
            http,
            concurrency: concurrency.max(1),
        })
    }

    /// Copy one image from `source`. ECR API calls at both ends (the floors in
    /// docs/replicator.md): 1 BatchGetImage (+1 for an index's children), 1 ListImageReferrers per
    /// manifest (+1 BatchGetImage when it finds any), ⌈L/100⌉
    /// BatchCheckLayerAvailability, per missing blob 1 GetDownloadUrlForLayer + 1
    /// InitiateLayerUpload + ⌈S/part⌉ UploadLayerPart + 1 CompleteLayerUpload, 1 PutImage per
    /// manifest per tag; when the destination repository is missing, +1 DescribeRepositories at
    /// the source, 1 DescribeRepositoryCreationTemplates and 1 CreateRepository (+1
    /// PutLifecyclePolicy, +1 SetRepositoryPolicy when its template sets them) there. Nothing is
    /// put until every missing blob is complete.
    pub async fn copy(
        &self,
        source: &dyn CopySource,
        copy: &Copy<'_>,
    ) -> Result<CopyReport, PortError> {
        let mut report = CopyReport {
            tags: copy.tags.to_vec(),
            ..CopyReport::default()
        };
        let (root, referrers) = source
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
        let children = children(source, copy.repository, &root_contents.children).await?;
        let by_tag: BTreeSet<Digest> = referrers.iter().map(|(_, m)| m.digest.clone()).collect();
        let attached = attached(source, copy.repository, &root, &children, &by_tag).await?;
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
        let available = match copy
            .destination
            .available(copy.destination_repository, &digests)
            .await?
        {
            Some(available) => available,
            None => {
                let settings = new_repository(source, copy).await?;
                copy.destination
                    .create_repository(copy.destination_repository, &settings)
                    .await?;
                report.created_repository = true;
                BTreeSet::new()
            }
        };
        let needed = missing(&blobs, &available);
        report.layers_skipped = (digests.len() - needed.len()) as u64;
        let route = Route {
            source,
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
        // After their subjects: an OCI 1.1 referrer names the image it is about.
        for manifest in &attached {
            self.put(copy, manifest, None, &mut report).await?;
            report.attached.push(manifest.digest.clone());
        }
        Ok(report)
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
            .put(copy.destination_repository, manifest, tag)
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

/// A missing destination repository is created as the destination registry's creation template
/// for REPLICATION says where one covers its name, else like its source: scan on push, encryption
/// (KMS with ECR's AWS managed key for a KMS source), tag mutability — the policy's for the
/// destination name over both (core: `replicate::template`). 1 DescribeRepositories at the
/// source, ⌈T/1000⌉ DescribeRepositoryCreationTemplates at the destination.
async fn new_repository(
    source: &dyn CopySource,
    copy: &Copy<'_>,
) -> Result<NewRepository, PortError> {
    let setup = source.repository_setup(copy.repository).await?;
    let templates = copy.destination.creation_templates().await?;
    let template = template::for_replication(&templates, copy.destination_repository.as_str());
    Ok(template::new_repository(setup, template, copy.mutability))
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

/// What a blob download error names: the operation, the blob (never a URL: ECR's are credentials).
pub(super) const DOWNLOAD: &str = "layer download";

pub(super) fn download_error(digest: &Digest, error: reqwest::Error) -> PortError {
    PortError::Transient {
        operation: DOWNLOAD,
        message: format!("layer {digest}: {}", error.without_url()),
    }
}

/// The response, or a typed error for its status: 5xx and 429 are retryable, the rest are not.
pub(super) fn success(
    digest: &Digest,
    response: reqwest::Response,
) -> Result<reqwest::Response, PortError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let message = format!("layer {digest}: HTTP {status}");
    Err(
        if status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 403 {
            // 403: an expired pre-signed URL; a retry asks for a new one.
            PortError::Transient {
                operation: DOWNLOAD,
                message,
            }
        } else {
            PortError::Invalid {
                operation: DOWNLOAD,
                message,
            }
        },
    )
}

fn malformed<T>(manifest: &Manifest, result: Result<T, String>) -> Result<T, PortError> {
    result.map_err(|e| PortError::Invalid {
        operation: "ecr:BatchGetImage",
        message: format!("manifest {}: {e}", manifest.digest),
    })
}
