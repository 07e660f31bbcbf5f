//! Amazon ECR, one [`EcrRegistry`] implementing the core's ports along their seams: image manifests
//! (`manifests.rs`), which image holds a tag and tag removal (`tags.rs`), repositories, their
//! settings and image listings (`repositories.rs`), the repositories a copy creates (`repository_create.rs`),
//! deleting images (here, with the BatchDeleteImage plumbing both deleters share), and the
//! operator's read-only questions about one image (`inspect.rs`) and its cosign signatures
//! (`signatures.rs`), the CLI's.

#[cfg(any(feature = "replicator", feature = "scan-gate"))]
pub(crate) mod download;
#[cfg(any(feature = "scan-gate", feature = "cli"))]
mod image_state;
#[cfg(feature = "cli")]
pub mod inspect;
mod manifests;
#[cfg(any(feature = "replicator", feature = "scan-gate"))]
mod referrers;
#[cfg(feature = "replicator")]
mod replication_config;
mod repositories;
#[cfg(feature = "replicator")]
mod repository_create;
#[cfg(any(feature = "scan-gate", feature = "cli"))]
pub mod signatures;
mod tags;
#[cfg(feature = "replicator")]
pub mod transfer;

use async_trait::async_trait;
use aws_sdk_ecr::operation::batch_delete_image::BatchDeleteImageOutput;
use aws_sdk_ecr::types::{Image, ImageFailure, ImageIdentifier};
use warden_core::names::{Digest, RepositoryName, Tag};
use warden_core::ports::{ImageDeletion, MAX_BATCH_GET_IMAGE_IDS, PortError};
use warden_core::records::Manifest;

use crate::runtime::errors::port_error;

/// Every manifest type ecr-warden must round-trip unchanged. BatchGetImage with a narrower list
/// makes ECR convert (or refuse) the manifest, which would change the digest.
const ACCEPTED_MEDIA_TYPES: &[&str] = &[
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
];

/// ECR's BatchDeleteImage limit on image ids per call.
pub const MAX_BATCH_DELETE_IDS: usize = 100;

/// One ECR registry (the caller's account unless `registry_id` names another).
#[derive(Debug, Clone)]
pub struct EcrRegistry {
    client: aws_sdk_ecr::Client,
    registry_id: Option<String>,
}

impl EcrRegistry {
    /// The registry of the account `sdk`'s credentials act in.
    pub fn from_sdk(sdk: &aws_config::SdkConfig, calls: &crate::ApiCalls) -> Self {
        Self::new(crate::counted!(aws_sdk_ecr, sdk, calls))
    }

    pub fn new(client: aws_sdk_ecr::Client) -> Self {
        Self {
            client,
            registry_id: None,
        }
    }

    /// One BatchDeleteImage (at most [`MAX_BATCH_DELETE_IDS`] ids): the ids deleted (each with the
    /// digest of the image it was deleted from) and the per-id failures (they come back in the
    /// response, not as errors). Callers never send an empty list.
    async fn batch_delete(
        &self,
        repository: &RepositoryName,
        ids: Vec<ImageIdentifier>,
    ) -> Result<BatchDeleteImageOutput, PortError> {
        const OP: &str = "ecr:BatchDeleteImage";
        if ids.len() > MAX_BATCH_DELETE_IDS {
            return Err(invalid(
                OP,
                format!("{} ids, the limit is {MAX_BATCH_DELETE_IDS}", ids.len()),
            ));
        }
        self.client
            .batch_delete_image()
            .set_registry_id(self.registry_id.clone())
            .repository_name(repository.as_str())
            .set_image_ids(Some(ids))
            .send()
            .await
            .map_err(|e| port_error(OP, e))
    }

    /// The image `digest` and whatever images `tags` name, in one BatchGetImage (at most
    /// [`MAX_BATCH_GET_IMAGE_IDS`] ids in all), matched by digest, never by the echoed id: the
    /// image's manifest (`None` when it is gone) and the other manifests found, each once. Which
    /// tag each of those holds is not known from this call.
    async fn image_and_others(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
        tags: &[Tag],
    ) -> Result<(Option<Manifest>, Vec<Manifest>), PortError> {
        const OP: &str = "ecr:BatchGetImage";
        if tags.len() + 1 > MAX_BATCH_GET_IMAGE_IDS {
            return Err(invalid(
                OP,
                format!(
                    "{} ids, the limit is {MAX_BATCH_GET_IMAGE_IDS}",
                    tags.len() + 1
                ),
            ));
        }
        let mut ids = vec![
            ImageIdentifier::builder()
                .image_digest(digest.as_str())
                .build(),
        ];
        ids.extend(
            tags.iter()
                .map(|t| ImageIdentifier::builder().image_tag(t.as_str()).build()),
        );
        let mut image = None;
        let mut others: Vec<Manifest> = Vec::new();
        for found in self.batch_get(repository, ids).await? {
            let bytes = found
                .image_manifest()
                .map(str::to_owned)
                .ok_or_else(|| invalid(OP, "no manifest in the response"))?;
            let manifest = Manifest {
                digest: digest_of(&found, OP)?,
                media_type: found.image_manifest_media_type().map(str::to_owned),
                bytes,
            };
            if manifest.digest == *digest {
                image.get_or_insert(manifest);
            } else if !others.iter().any(|m| m.digest == manifest.digest) {
                others.push(manifest);
            }
        }
        Ok((image, others))
    }

    /// One BatchGetImage; "not found" failures just leave the image out.
    async fn batch_get(
        &self,
        repository: &RepositoryName,
        ids: Vec<ImageIdentifier>,
    ) -> Result<Vec<Image>, PortError> {
        const OP: &str = "ecr:BatchGetImage";
        let accepted = ACCEPTED_MEDIA_TYPES
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let out = self
            .client
            .batch_get_image()
            .set_registry_id(self.registry_id.clone())
            .repository_name(repository.as_str())
            .set_image_ids(Some(ids))
            .set_accepted_media_types(Some(accepted))
            .send()
            .await
            .map_err(|e| port_error(OP, e))?;
        // Failures come back in the response, not as errors.
        for f in out.failures.unwrap_or_default() {
            let code = f
                .failure_code()
                .map(|c| c.as_str().to_owned())
                .unwrap_or_default();
            if code != "ImageNotFound" && code != "ImageTagDoesNotMatchDigest" {
                return Err(PortError::Invalid {
                    operation: OP,
                    message: format!("{code}: {}", f.failure_reason().unwrap_or_default()),
                });
            }
        }
        Ok(out.images.unwrap_or_default())
    }
}

/// BatchDeleteImage's per-id failures (they come back in the response, not as errors), except
/// `ImageNotFound`: already gone is what was wanted.
fn refused(failures: &[ImageFailure]) -> Vec<String> {
    failures
        .iter()
        .filter(|f| f.failure_code().map(|c| c.as_str()) != Some("ImageNotFound"))
        .map(|f| {
            let id = f.image_id();
            let name = id
                .and_then(|i| i.image_tag())
                .or_else(|| id.and_then(|i| i.image_digest()))
                .unwrap_or_default();
            let code = f.failure_code().map(|c| c.as_str()).unwrap_or_default();
            format!("{name}: {code} {}", f.failure_reason().unwrap_or_default())
        })
        .collect()
}

fn digest_of(image: &Image, operation: &'static str) -> Result<Digest, PortError> {
    let raw = image
        .image_id()
        .and_then(|i| i.image_digest())
        .unwrap_or_default();
    Digest::new(raw).map_err(|e| PortError::Invalid {
        operation,
        message: e.to_string(),
    })
}

#[async_trait]
impl ImageDeletion for EcrRegistry {
    async fn delete_images(
        &self,
        repository: &RepositoryName,
        digests: &[Digest],
    ) -> Result<Vec<String>, PortError> {
        if digests.is_empty() {
            return Ok(Vec::new());
        }
        // A digest alone: the whole image and all its tags, under every reading of ECR's reference.
        let ids = digests
            .iter()
            .map(|d| ImageIdentifier::builder().image_digest(d.as_str()).build())
            .collect();
        Ok(refused(
            self.batch_delete(repository, ids).await?.failures(),
        ))
    }
}

/// ECR's tags, re-validated: ECR's grammar is ours.
fn tags_in(raw: &[String], operation: &'static str) -> Result<Vec<Tag>, PortError> {
    raw.iter()
        .map(|t| Tag::new(t.as_str()).map_err(|e| invalid(operation, e)))
        .collect()
}

pub(crate) fn invalid(operation: &'static str, message: impl std::fmt::Display) -> PortError {
    PortError::Invalid {
        operation,
        message: message.to_string(),
    }
}
