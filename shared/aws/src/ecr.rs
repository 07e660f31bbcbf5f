//! Amazon ECR: image manifests and tags ([`ImageManifests`]).

use async_trait::async_trait;
use aws_sdk_ecr::operation::describe_images::DescribeImagesError;
use aws_sdk_ecr::operation::get_lifecycle_policy::GetLifecyclePolicyError;
use aws_sdk_ecr::operation::put_image::PutImageError;
use aws_sdk_ecr::types::{
    DescribeImagesFilter, Image, ImageFailure, ImageIdentifier, ImageStatusFilter,
    ImageTagMutability, ImageTagMutabilityExclusionFilter, ImageTagMutabilityExclusionFilterType,
    Repository,
};
use warden_core::mutability::{MutabilityMode, TagMutability};
use warden_core::names::ExclusionFilter;
use warden_core::names::{Digest, RepositoryName, Tag};
use warden_core::ports::{
    ImageCatalog, ImageEntry, ImageManifests, ImageView, MAX_BATCH_GET_IMAGE_IDS, MAX_PAGE,
    Manifest, Page, PortError, RepositorySettings, RepositoryState, TagRemoval,
};

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

    /// One BatchDeleteImage (at most [`MAX_BATCH_DELETE_IDS`] ids); returns the per-id failures
    /// (they come back in the response, not as errors).
    async fn batch_delete_failures(
        &self,
        repository: &RepositoryName,
        ids: Vec<ImageIdentifier>,
    ) -> Result<Vec<ImageFailure>, PortError> {
        const OP: &str = "ecr:BatchDeleteImage";
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        if ids.len() > MAX_BATCH_DELETE_IDS {
            return Err(invalid(
                OP,
                format!("{} ids, the limit is {MAX_BATCH_DELETE_IDS}", ids.len()),
            ));
        }
        let out = self
            .client
            .batch_delete_image()
            .set_registry_id(self.registry_id.clone())
            .repository_name(repository.as_str())
            .set_image_ids(Some(ids))
            .send()
            .await
            .map_err(|e| port_error(OP, e))?;
        Ok(out.failures.unwrap_or_default())
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

    async fn delete_images(
        &self,
        repository: &RepositoryName,
        digests: &[Digest],
    ) -> Result<Vec<String>, PortError> {
        let ids = digests
            .iter()
            .map(|d| ImageIdentifier::builder().image_digest(d.as_str()).build())
            .collect();
        Ok(refused(&self.batch_delete_failures(repository, ids).await?))
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

/// ECR's view of a repository → the core's (names and filters re-validated: ECR's grammar is ours).
fn repository_state(repo: &Repository) -> Result<RepositoryState, PortError> {
    const OP: &str = "ecr:DescribeRepositories";
    let name = RepositoryName::new(repo.repository_name().unwrap_or_default())
        .map_err(|e| invalid(OP, e))?;
    let mode = repo
        .image_tag_mutability()
        .and_then(|m| MutabilityMode::parse(m.as_str()))
        .unwrap_or(MutabilityMode::Mutable);
    let exclusions = repo
        .image_tag_mutability_exclusion_filters()
        .iter()
        .map(|f| ExclusionFilter::new(f.filter()).map_err(|e| invalid(OP, e)))
        .collect::<Result<_, _>>()?;
    Ok(RepositoryState {
        name,
        mutability: TagMutability { mode, exclusions },
    })
}

#[async_trait]
impl RepositorySettings for EcrRegistry {
    async fn repositories(&self, next: Option<String>) -> Result<Page<RepositoryState>, PortError> {
        let out = self
            .client
            .describe_repositories()
            .set_registry_id(self.registry_id.clone())
            .max_results(MAX_PAGE)
            .set_next_token(next)
            .send()
            .await
            .map_err(|e| port_error("ecr:DescribeRepositories", e))?;
        let items = out
            .repositories()
            .iter()
            .map(repository_state)
            .collect::<Result<_, _>>()?;
        Ok(Page {
            items,
            next: out.next_token().map(str::to_owned),
        })
    }

    async fn lifecycle_policy(
        &self,
        repository: &RepositoryName,
    ) -> Result<Option<String>, PortError> {
        const OP: &str = "ecr:GetLifecyclePolicy";
        match self
            .client
            .get_lifecycle_policy()
            .set_registry_id(self.registry_id.clone())
            .repository_name(repository.as_str())
            .send()
            .await
        {
            Ok(out) => Ok(out.lifecycle_policy_text().map(str::to_owned)),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(GetLifecyclePolicyError::LifecyclePolicyNotFoundException(_))
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(port_error(OP, e)),
        }
    }

    async fn put_lifecycle_policy(
        &self,
        repository: &RepositoryName,
        text: &str,
    ) -> Result<(), PortError> {
        self.client
            .put_lifecycle_policy()
            .set_registry_id(self.registry_id.clone())
            .repository_name(repository.as_str())
            .lifecycle_policy_text(text)
            .send()
            .await
            .map_err(|e| port_error("ecr:PutLifecyclePolicy", e))?;
        Ok(())
    }

    async fn set_tag_mutability(
        &self,
        repository: &RepositoryName,
        setting: &TagMutability,
    ) -> Result<(), PortError> {
        const OP: &str = "ecr:PutImageTagMutability";
        let filters = setting
            .exclusions
            .iter()
            .map(|f| {
                ImageTagMutabilityExclusionFilter::builder()
                    .filter(f.as_str())
                    .filter_type(ImageTagMutabilityExclusionFilterType::Wildcard)
                    .build()
                    .map_err(|e| invalid(OP, e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.client
            .put_image_tag_mutability()
            .set_registry_id(self.registry_id.clone())
            .repository_name(repository.as_str())
            .image_tag_mutability(ImageTagMutability::from(setting.mode.as_str()))
            .set_image_tag_mutability_exclusion_filters(if filters.is_empty() {
                None
            } else {
                Some(filters)
            })
            .send()
            .await
            .map_err(|e| port_error(OP, e))?;
        Ok(())
    }
}

#[async_trait]
impl ImageCatalog for EcrRegistry {
    async fn images(
        &self,
        repository: &RepositoryName,
        next: Option<String>,
    ) -> Result<Page<ImageEntry>, PortError> {
        const OP: &str = "ecr:DescribeImages";
        let out = self
            .client
            .describe_images()
            .set_registry_id(self.registry_id.clone())
            .repository_name(repository.as_str())
            // ECR lists ACTIVE images only by default: archived and restoring images must be seen
            // too (the 90-day archive keep, ACTIVATING, referrers of archived subjects).
            .filter(
                DescribeImagesFilter::builder()
                    .image_status(ImageStatusFilter::Any)
                    .build(),
            )
            .max_results(MAX_PAGE)
            .set_next_token(next)
            .send()
            .await
            .map_err(|e| port_error(OP, e))?;
        let items = out
            .image_details()
            .iter()
            .map(|d| {
                let time = |t: Option<&aws_smithy_types::DateTime>| {
                    t.and_then(|t| chrono::DateTime::from_timestamp_millis(t.to_millis().ok()?))
                };
                Ok(ImageEntry {
                    digest: Digest::new(d.image_digest().unwrap_or_default())
                        .map_err(|e| invalid(OP, e))?,
                    tags: tags_in(d.image_tags(), OP)?,
                    pushed_at: time(d.image_pushed_at()),
                    last_pull: time(d.last_recorded_pull_time()),
                    size: d
                        .image_size_in_bytes()
                        .and_then(|s| u64::try_from(s).ok())
                        .unwrap_or(0),
                    manifest_media_type: d.image_manifest_media_type().map(str::to_owned),
                    artifact_media_type: d.artifact_media_type().map(str::to_owned),
                    status: d.image_status().map(|s| s.as_str().to_owned()),
                    archived_at: time(d.last_archived_at()),
                })
            })
            .collect::<Result<_, PortError>>()?;
        Ok(Page {
            items,
            next: out.next_token().map(str::to_owned),
        })
    }
}
