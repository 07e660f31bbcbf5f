//! Image manifests and tags ([`ImageManifests`]): manifests through BatchGetImage (matched by
//! digest), tags put through PutImage; tag reads and removal in `tags.rs`.

use async_trait::async_trait;
use aws_sdk_ecr::operation::put_image::PutImageError;
use aws_sdk_ecr::types::ImageIdentifier;
use warden_core::names::{Digest, RepositoryName, Tag};
use warden_core::ports::{ImageManifests, MAX_BATCH_GET_IMAGE_IDS, PortError};
use warden_core::records::{ImageView, Manifest, TagRemoval};

use super::{EcrRegistry, digest_of};
use crate::runtime::errors::port_error;

#[async_trait]
impl ImageManifests for EcrRegistry {
    async fn manifests(
        &self,
        repository: &RepositoryName,
        digests: &[Digest],
    ) -> Result<Vec<Manifest>, PortError> {
        const OP: &str = "ecr:BatchGetImage";
        if digests.is_empty() {
            return Ok(Vec::new());
        }
        if digests.len() > MAX_BATCH_GET_IMAGE_IDS {
            return Err(PortError::Invalid {
                operation: OP,
                message: format!(
                    "{} ids, the limit is {MAX_BATCH_GET_IMAGE_IDS}",
                    digests.len()
                ),
            });
        }
        let ids = digests
            .iter()
            .map(|d| ImageIdentifier::builder().image_digest(d.as_str()).build())
            .collect();
        let images = self.batch_get(repository, ids).await?;
        images
            .into_iter()
            .map(|image| {
                let bytes = image.image_manifest().map(str::to_owned).ok_or_else(|| {
                    PortError::Invalid {
                        operation: OP,
                        message: format!("{repository}: no manifest in the response"),
                    }
                })?;
                Ok(Manifest {
                    digest: digest_of(&image, OP)?,
                    media_type: image.image_manifest_media_type().map(str::to_owned),
                    bytes,
                })
            })
            .collect()
    }

    async fn tag_target(
        &self,
        repository: &RepositoryName,
        tag: &Tag,
    ) -> Result<Option<Digest>, PortError> {
        self.tag_owner(repository, tag).await
    }

    async fn image_and_tags(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
        tags: &[Tag],
    ) -> Result<ImageView, PortError> {
        let (manifest, others) = self.image_and_others(repository, digest, tags).await?;
        if tags.is_empty() {
            return Ok(ImageView {
                manifest,
                tags: Vec::new(),
            });
        }
        let mut found: Vec<Digest> = others.into_iter().map(|m| m.digest).collect();
        found.extend(manifest.as_ref().map(|m| m.digest.clone()));
        let mut owners = self.owners_among(repository, tags, found).await?;
        // A tag none of the found images holds may have moved to another image since the read:
        // it is asked for on its own, so a moved tag never reads as free (a release would put it
        // back over a newer push).
        for (tag, owner) in &mut owners {
            if owner.is_none() {
                *owner = self.tag_owner(repository, tag).await?;
            }
        }
        Ok(ImageView {
            manifest,
            tags: owners,
        })
    }

    async fn tags_now(
        &self,
        repository: &RepositoryName,
        digests: &[Digest],
    ) -> Result<Vec<Option<Vec<Tag>>>, PortError> {
        self.current_tags_of_each(repository, digests).await
    }

    async fn tags_of(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> Result<Option<Vec<Tag>>, PortError> {
        self.current_tags(repository, digest).await
    }

    async fn remove_tags(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
        tags: &[Tag],
    ) -> Result<TagRemoval, PortError> {
        self.remove_held_tags(repository, digest, tags).await
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
            });
        let out = match out {
            Ok(out) => out,
            // ECR may answer the same manifest under an immutable tag it already holds either way
            // (docs/emulator.md, `put_image_same_tag_immutable`): the tag's owner decides.
            Err(e @ PortError::TagAlreadyExists { .. }) => {
                if self.tag_owner(repository, tag).await?.as_ref() == Some(&manifest.digest) {
                    return Err(PortError::ImageAlreadyExists {
                        operation: OP,
                        repository: repository.to_string(),
                    });
                }
                return Err(e);
            }
            Err(e) => return Err(e),
        };
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
