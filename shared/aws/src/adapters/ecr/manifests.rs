//! Image manifests and tags ([`ImageManifests`]): reads through BatchGetImage and DescribeImages,
//! tag moves through PutImage and conditional BatchDeleteImage.

use async_trait::async_trait;
use aws_sdk_ecr::operation::describe_images::DescribeImagesError;
use aws_sdk_ecr::operation::put_image::PutImageError;
use aws_sdk_ecr::types::ImageIdentifier;
use warden_core::names::{Digest, RepositoryName, Tag};
use warden_core::ports::{
    ImageManifests, ImageView, MAX_BATCH_GET_IMAGE_IDS, Manifest, PortError, TagRemoval,
};

use super::{EcrRegistry, MAX_BATCH_DELETE_IDS, digest_of, invalid, tags_in};
use crate::adapters::errors::port_error;

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
        let id = ImageIdentifier::builder().image_tag(tag.as_str()).build();
        match self.batch_get(repository, vec![id]).await?.first() {
            Some(image) => digest_of(image, "ecr:BatchGetImage").map(Some),
            None => Ok(None),
        }
    }

    async fn image_and_tags(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
        tags: &[Tag],
    ) -> Result<ImageView, PortError> {
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
        let images = self.batch_get(repository, ids).await?;
        // Results are matched to what was asked by content, not by the shape of the echoed id (an
        // id asked by digest may come back with a tag, and one asked by tag carries the digest):
        // the manifest is whichever result has the asked digest; a tag points where a result
        // naming it says.
        let mut manifest = None;
        let mut targets: Vec<(Tag, Option<Digest>)> =
            tags.iter().map(|t| (t.clone(), None)).collect();
        for image in &images {
            let found = digest_of(image, OP)?;
            if let Some(tag) = image.image_id().and_then(|i| i.image_tag()) {
                if let Some(slot) = targets.iter_mut().find(|(t, _)| t.as_str() == tag) {
                    slot.1 = Some(found.clone());
                }
            }
            if &found == digest && manifest.is_none() {
                let bytes = image
                    .image_manifest()
                    .map(str::to_owned)
                    .ok_or_else(|| invalid(OP, "no manifest in the response"))?;
                manifest = Some(Manifest {
                    digest: found,
                    media_type: image.image_manifest_media_type().map(str::to_owned),
                    bytes,
                });
            }
        }
        Ok(ImageView {
            manifest,
            tags: targets,
        })
    }

    async fn tags_now(
        &self,
        repository: &RepositoryName,
        digests: &[Digest],
    ) -> Result<Vec<Option<Vec<Tag>>>, PortError> {
        const OP: &str = "ecr:DescribeImages";
        if digests.is_empty() {
            return Ok(Vec::new());
        }
        if digests.len() > MAX_BATCH_DELETE_IDS {
            return Err(invalid(
                OP,
                format!("{} ids, the limit is 100", digests.len()),
            ));
        }
        let ids = digests
            .iter()
            .map(|d| ImageIdentifier::builder().image_digest(d.as_str()).build())
            .collect();
        let out = self
            .client
            .describe_images()
            .set_registry_id(self.registry_id.clone())
            .repository_name(repository.as_str())
            .set_image_ids(Some(ids))
            .send()
            .await;
        let out = match out {
            Ok(out) => out,
            // One id missing fails the whole call: read each on its own.
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(DescribeImagesError::ImageNotFoundException(_))
                ) =>
            {
                let mut each = Vec::with_capacity(digests.len());
                for digest in digests {
                    each.push(self.tags_of(repository, digest).await?);
                }
                return Ok(each);
            }
            Err(e) => return Err(port_error(OP, e)),
        };
        let mut found: std::collections::HashMap<&str, Vec<Tag>> = std::collections::HashMap::new();
        for detail in out.image_details() {
            let tags = tags_in(detail.image_tags(), OP)?;
            found.insert(detail.image_digest().unwrap_or_default(), tags);
        }
        Ok(digests.iter().map(|d| found.remove(d.as_str())).collect())
    }

    async fn tags_of(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> Result<Option<Vec<Tag>>, PortError> {
        const OP: &str = "ecr:DescribeImages";
        let out = self
            .client
            .describe_images()
            .set_registry_id(self.registry_id.clone())
            .repository_name(repository.as_str())
            .image_ids(
                ImageIdentifier::builder()
                    .image_digest(digest.as_str())
                    .build(),
            )
            .send()
            .await;
        let out = match out {
            Ok(out) => out,
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(DescribeImagesError::ImageNotFoundException(_))
                ) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(port_error(OP, e)),
        };
        match out.image_details().first() {
            None => Ok(None),
            Some(detail) => tags_in(detail.image_tags(), OP).map(Some),
        }
    }

    async fn remove_tags(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
        tags: &[Tag],
    ) -> Result<TagRemoval, PortError> {
        const OP: &str = "ecr:BatchDeleteImage";
        let ids = tags
            .iter()
            .map(|t| {
                ImageIdentifier::builder()
                    .image_digest(digest.as_str())
                    .image_tag(t.as_str())
                    .build()
            })
            .collect();
        let failures = self.batch_delete_failures(repository, ids).await?;
        let mut removal = TagRemoval::default();
        for f in failures {
            let code = f.failure_code().map(|c| c.as_str()).unwrap_or_default();
            let Some(tag) = f
                .image_id()
                .and_then(|i| i.image_tag())
                .and_then(|t| tags.iter().find(|x| x.as_str() == t))
            else {
                return Err(invalid(
                    OP,
                    format!("a failure for an id not asked: {code}"),
                ));
            };
            match code {
                "ImageNotFound" => {}
                "ImageTagDoesNotMatchDigest" => removal.moved.push(tag.clone()),
                _ => removal.refused.push((
                    tag.clone(),
                    format!("{code} {}", f.failure_reason().unwrap_or_default()),
                )),
            }
        }
        Ok(removal)
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
