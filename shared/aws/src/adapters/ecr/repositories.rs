//! Repositories: listing them with their settings ([`RepositorySettings`]), writing the lifecycle
//! policy ([`LifecycleControl`]) and tag mutability ([`MutabilityControl`]), listing images
//! ([`ImageCatalog`]).

use async_trait::async_trait;
use aws_sdk_ecr::operation::describe_repositories::DescribeRepositoriesError;
use aws_sdk_ecr::operation::get_lifecycle_policy::GetLifecyclePolicyError;
use aws_sdk_ecr::types::{
    DescribeImagesFilter, ImageDetail, ImageStatusFilter, ImageTagMutability,
    ImageTagMutabilityExclusionFilter, ImageTagMutabilityExclusionFilterType, Repository,
};
use warden_core::mutability::{MutabilityMode, TagMutability};
use warden_core::names::{Digest, ExclusionFilter, RepositoryName};
use warden_core::ports::{
    ImageCatalog, LifecycleControl, MAX_NAMED_REPOSITORIES, MAX_PAGE, MutabilityControl, Page,
    PortError, RepositorySettings,
};
use warden_core::records::{ImageEntry, RepositoryState};

use super::{EcrRegistry, invalid, tags_in};
use crate::runtime::errors::port_error;

/// ECR's view of a repository → the core's (names and filters re-validated: ECR's grammar is ours).
pub(super) fn repository_state(repo: &Repository) -> Result<RepositoryState, PortError> {
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

    async fn named_repositories(
        &self,
        names: &[RepositoryName],
    ) -> Result<Vec<RepositoryState>, PortError> {
        let mut found = Vec::new();
        for batch in names.chunks(MAX_NAMED_REPOSITORIES) {
            match self.describe_named(batch).await? {
                Some(states) => found.extend(states),
                // One of them is gone (deleted since it was listed): each on its own.
                None => {
                    for name in batch {
                        found.extend(
                            self.describe_named(std::slice::from_ref(name))
                                .await?
                                .into_iter()
                                .flatten(),
                        );
                    }
                }
            }
        }
        Ok(found)
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
}

impl EcrRegistry {
    /// One `DescribeRepositories` naming `names` (at most 100): their states, or `None` when ECR
    /// says one of them does not exist.
    async fn describe_named(
        &self,
        names: &[RepositoryName],
    ) -> Result<Option<Vec<RepositoryState>>, PortError> {
        const OP: &str = "ecr:DescribeRepositories";
        let asked = self
            .client
            .describe_repositories()
            .set_registry_id(self.registry_id.clone())
            .set_repository_names(Some(names.iter().map(|n| n.as_str().to_owned()).collect()))
            .send()
            .await;
        match asked {
            Ok(out) => out
                .repositories()
                .iter()
                .map(repository_state)
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(DescribeRepositoriesError::RepositoryNotFoundException(_))
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(port_error(OP, e)),
        }
    }
}

#[async_trait]
impl LifecycleControl for EcrRegistry {
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
}

#[async_trait]
impl MutabilityControl for EcrRegistry {
    async fn set_tag_mutability(
        &self,
        repository: &RepositoryName,
        setting: &TagMutability,
    ) -> Result<(), PortError> {
        const OP: &str = "ecr:PutImageTagMutability";
        let filters = exclusion_filters(setting, OP)?;
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
            .map(|d| image_entry(d, OP))
            .collect::<Result<_, PortError>>()?;
        Ok(Page {
            items,
            next: out.next_token().map(str::to_owned),
        })
    }
}

/// ECR's description of one image → the core's (digest and tags re-validated).
pub(super) fn image_entry(
    d: &ImageDetail,
    operation: &'static str,
) -> Result<ImageEntry, PortError> {
    let time = |t: Option<&aws_smithy_types::DateTime>| {
        t.and_then(|t| chrono::DateTime::from_timestamp_millis(t.to_millis().ok()?))
    };
    Ok(ImageEntry {
        digest: Digest::new(d.image_digest().unwrap_or_default())
            .map_err(|e| invalid(operation, e))?,
        tags: tags_in(d.image_tags(), operation)?,
        pushed_at: time(d.image_pushed_at()),
        last_pull: time(d.last_recorded_pull_time()),
        size: d
            .image_size_in_bytes()
            .and_then(|s| u64::try_from(s).ok())
            .unwrap_or(0),
        manifest_media_type: d.image_manifest_media_type().map(str::to_owned),
        artifact_media_type: d.artifact_media_type().map(str::to_owned),
        status: d.image_status().map(|s| s.as_str().to_owned()),
        subject: d
            .subject_manifest_digest()
            .map(Digest::new)
            .transpose()
            .map_err(|e| invalid(operation, e))?,
        archived_at: time(d.last_archived_at()),
        activated_at: time(d.last_activated_at()),
    })
}

/// A setting's exclusion filters as ECR takes them (PutImageTagMutability, CreateRepository).
pub(super) fn exclusion_filters(
    setting: &TagMutability,
    operation: &'static str,
) -> Result<Vec<ImageTagMutabilityExclusionFilter>, PortError> {
    setting
        .exclusions
        .iter()
        .map(|f| {
            ImageTagMutabilityExclusionFilter::builder()
                .filter(f.as_str())
                .filter_type(ImageTagMutabilityExclusionFilterType::Wildcard)
                .build()
                .map_err(|e| invalid(operation, e))
        })
        .collect()
}
