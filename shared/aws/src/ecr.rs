//! Amazon ECR: image manifests and tags ([`ImageManifests`]).

use async_trait::async_trait;
use aws_sdk_ecr::operation::put_image::PutImageError;
use aws_sdk_ecr::types::{Image, ImageIdentifier};
use warden_core::names::{Digest, RepositoryName, Tag};
use warden_core::ports::{ImageManifests, Manifest, PortError};

use crate::errors::port_error;

/// Every manifest type ecr-warden must round-trip unchanged. BatchGetImage with a narrower list
/// makes ECR convert (or refuse) the manifest, which would change the digest.
const ACCEPTED_MEDIA_TYPES: &[&str] = &[
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
];

/// One ECR registry (the caller's account unless `registry_id` names another).
#[derive(Debug, Clone)]
pub struct EcrRegistry {
    client: aws_sdk_ecr::Client,
    registry_id: Option<String>,
}

impl EcrRegistry {
    pub fn new(client: aws_sdk_ecr::Client) -> Self {
        Self {
            client,
            registry_id: None,
        }
    }

    async fn batch_get_one(
        &self,
        repository: &RepositoryName,
        id: ImageIdentifier,
    ) -> Result<Option<Image>, PortError> {
        const OP: &str = "ecr:BatchGetImage";
        let out = self
            .client
            .batch_get_image()
            .set_registry_id(self.registry_id.clone())
            .repository_name(repository.as_str())
            .image_ids(id)
            .set_accepted_media_types(Some(
                ACCEPTED_MEDIA_TYPES
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect(),
            ))
            .send()
            .await
            .map_err(|e| port_error(OP, e))?;
        if let Some(image) = out.images.unwrap_or_default().into_iter().next() {
            return Ok(Some(image));
        }
        // Failures come back in the response, not as errors.
        match out.failures.unwrap_or_default().into_iter().next() {
            None => Ok(None),
            Some(f) => {
                let code = f
                    .failure_code()
                    .map(|c| c.as_str().to_owned())
                    .unwrap_or_default();
                if code == "ImageNotFound" || code == "ImageTagDoesNotMatchDigest" {
                    Ok(None)
                } else {
                    Err(PortError::Invalid {
                        operation: OP,
                        message: format!("{code}: {}", f.failure_reason().unwrap_or_default()),
                    })
                }
            }
        }
    }
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
impl ImageManifests for EcrRegistry {
    async fn manifest(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> Result<Option<Manifest>, PortError> {
        let id = ImageIdentifier::builder()
            .image_digest(digest.as_str())
            .build();
        let Some(image) = self.batch_get_one(repository, id).await? else {
            return Ok(None);
        };
        let bytes =
            image
                .image_manifest()
                .map(str::to_owned)
                .ok_or_else(|| PortError::Invalid {
                    operation: "ecr:BatchGetImage",
                    message: format!("{repository}@{digest}: no manifest in the response"),
                })?;
        Ok(Some(Manifest {
            digest: digest_of(&image, "ecr:BatchGetImage")?,
            media_type: image.image_manifest_media_type().map(str::to_owned),
            bytes,
        }))
    }

    async fn tag_target(
        &self,
        repository: &RepositoryName,
        tag: &Tag,
    ) -> Result<Option<Digest>, PortError> {
        let id = ImageIdentifier::builder().image_tag(tag.as_str()).build();
        match self.batch_get_one(repository, id).await? {
            Some(image) => digest_of(&image, "ecr:BatchGetImage").map(Some),
            None => Ok(None),
        }
    }

    async fn put_tag(
        &self,
        repository: &RepositoryName,
        manifest: &Manifest,
        tag: &Tag,
    ) -> Result<Digest, PortError> {
        const OP: &str = "ecr:PutImage";
        let out = self
            .client
            .put_image()
            .set_registry_id(self.registry_id.clone())
            .repository_name(repository.as_str())
            .image_manifest(&manifest.bytes)
            .set_image_manifest_media_type(manifest.media_type.clone())
            .image_digest(manifest.digest.as_str())
            .image_tag(tag.as_str())
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(PutImageError::ImageTagAlreadyExistsException(_)) => {
                    PortError::TagAlreadyExists {
                        operation: OP,
                        repository: repository.to_string(),
                        tag: tag.to_string(),
                    }
                }
                Some(PutImageError::ImageAlreadyExistsException(_)) => {
                    PortError::ImageAlreadyExists {
                        operation: OP,
                        repository: repository.to_string(),
                    }
                }
                _ => port_error(OP, e),
            })?;
        let raw = out
            .image()
            .and_then(|i| i.image_id())
            .and_then(|i| i.image_digest())
            .unwrap_or_default();
        Digest::new(raw).map_err(|e| PortError::Invalid {
            operation: OP,
            message: e.to_string(),
        })
    }
}
