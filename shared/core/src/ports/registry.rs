//! The registry: image manifests and tags, deletion, repositories and their settings, listings.

use crate::records::{ImageEntry, ImageView, Manifest, RepositoryState, TagRemoval};
use async_trait::async_trait;

use super::{Page, PortError};
use crate::mutability::TagMutability;
use crate::names::{Digest, RepositoryName, Tag};

/// ECR's BatchGetImage limit on image ids per call.
pub const MAX_BATCH_GET_IMAGE_IDS: usize = 100;

#[async_trait]
pub trait ImageManifests: Send + Sync {
    /// The manifests of these images, as stored; missing images are absent from the result.
    /// One `BatchGetImage` call; at most [`MAX_BATCH_GET_IMAGE_IDS`] digests.
    async fn manifests(
        &self,
        repository: &RepositoryName,
        digests: &[Digest],
    ) -> Result<Vec<Manifest>, PortError>;

    /// The digest `tag` points to now, or `None` when no image has it. One `DescribeImages` by tag
    /// (the image's `imageTags` say it holds the tag).
    async fn tag_target(
        &self,
        repository: &RepositoryName,
        tag: &Tag,
    ) -> Result<Option<Digest>, PortError>;

    /// The image's manifest (`None` if it is gone) and where each of `tags` points now: one
    /// `BatchGetImage` (at most [`MAX_BATCH_GET_IMAGE_IDS`] ids in all; results matched by digest),
    /// then, when `tags` is not empty, the found images' `imageTags` as [`Self::tags_now`] reads
    /// them.
    async fn image_and_tags(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
        tags: &[Tag],
    ) -> Result<ImageView, PortError>;

    /// The current tags of each image (`None` for one that is gone), in the order asked. One
    /// `DescribeImages` by image ids (at most 100); ECR refuses the whole call when one id is
    /// missing, and then each image is read on its own (one call each).
    async fn tags_now(
        &self,
        repository: &RepositoryName,
        digests: &[Digest],
    ) -> Result<Vec<Option<Vec<Tag>>>, PortError>;

    /// The image's current tags (`None` if it is gone). One `DescribeImages` by digest.
    async fn tags_of(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> Result<Option<Vec<Tag>>, PortError>;

    /// Remove `tags` from the image `digest`, each only while it still points there, never naming
    /// the digest in the delete (ECR: a digest deletes the image and all its tags). One
    /// `DescribeImages` by digest just before (tags the image no longer holds are left alone and
    /// reported in `moved`; none is removed if the image would be left without a tag, since ECR
    /// deletes an image with its last tag), one `BatchDeleteImage` of tag-only ids (at most 100),
    /// one `DescribeImages` by digest just after (a tag still there is `refused`). A tag another
    /// image took between the check and the delete loses it there: reported in `raced`.
    async fn remove_tags(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
        tags: &[Tag],
    ) -> Result<TagRemoval, PortError>;

    /// Point `tag` at the image stored as `manifest`, digest-preserving. One `PutImage` call
    /// (ECR allows 10 PutImage per second per repository; callers pace bulk work).
    /// Errors: `TagAlreadyExists` when the tag is immutable and elsewhere; `ImageAlreadyExists`
    /// when the tag already points here (callers treat that as done) — also when ECR answers that
    /// case with `ImageTagAlreadyExistsException` (then one `DescribeImages` by tag settles it).
    async fn put_tag(
        &self,
        repository: &RepositoryName,
        manifest: &Manifest,
        tag: &Tag,
    ) -> Result<Digest, PortError>;
}

/// Deleting images: janitor's alone. scan-gate and tag-guard are never given it.
#[async_trait]
pub trait ImageDeletion: Send + Sync {
    /// Delete images by digest. One `BatchDeleteImage` (at most 100 ids); an image already gone
    /// counts as deleted; other per-image failures (e.g. `ImageReferencedByManifestList`) come back
    /// in the result.
    async fn delete_images(
        &self,
        repository: &RepositoryName,
        digests: &[Digest],
    ) -> Result<Vec<String>, PortError>;
}

/// ECR's page limit for DescribeRepositories / DescribeImages / ListImages.
pub const MAX_PAGE: i32 = 1000;

/// ECR's limit of repository names in one `DescribeRepositories`.
pub const MAX_NAMED_REPOSITORIES: usize = 100;

/// Reading repository-level settings.
#[async_trait]
pub trait RepositorySettings: Send + Sync {
    /// One page of repositories (`DescribeRepositories`, [`MAX_PAGE`] per page).
    async fn repositories(&self, next: Option<String>) -> Result<Page<RepositoryState>, PortError>;

    /// The named repositories that exist, with their settings: ⌈N/100⌉ `DescribeRepositories`
    /// ([`MAX_NAMED_REPOSITORIES`] names each). ECR refuses a whole request when one name names no
    /// repository; such a batch is asked again name by name, and the missing ones are left out.
    async fn named_repositories(
        &self,
        names: &[RepositoryName],
    ) -> Result<Vec<RepositoryState>, PortError>;

    /// The repository's lifecycle policy text, or `None` when it has none. One
    /// `GetLifecyclePolicy`.
    async fn lifecycle_policy(
        &self,
        repository: &RepositoryName,
    ) -> Result<Option<String>, PortError>;
}

/// Writing a repository's lifecycle policy: janitor's alone.
#[async_trait]
pub trait LifecycleControl: Send + Sync {
    /// Set the repository's lifecycle policy. One `PutLifecyclePolicy`.
    async fn put_lifecycle_policy(
        &self,
        repository: &RepositoryName,
        text: &str,
    ) -> Result<(), PortError>;
}

/// Writing a repository's tag mutability: tag-guard's alone.
#[async_trait]
pub trait MutabilityControl: Send + Sync {
    /// Set a repository's tag mutability. One `PutImageTagMutability` call.
    async fn set_tag_mutability(
        &self,
        repository: &RepositoryName,
        setting: &TagMutability,
    ) -> Result<(), PortError>;
}

/// Listing a repository's images.
#[async_trait]
pub trait ImageCatalog: Send + Sync {
    /// One page of images in every storage state — ACTIVE, ARCHIVED and ACTIVATING (`DescribeImages`
    /// with image status ANY: ECR lists ACTIVE only by default), [`MAX_PAGE`] per page.
    async fn images(
        &self,
        repository: &RepositoryName,
        next: Option<String>,
    ) -> Result<Page<ImageEntry>, PortError>;
}
