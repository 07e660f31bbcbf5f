//! What a copy needs of the registries at either end, whatever API they speak: ECR's API
//! (`ecr_api.rs`) or the OCI distribution API (`oci.rs`). Contracts say which calls each makes.

use std::collections::BTreeSet;

use async_trait::async_trait;
use warden_core::names::{Digest, RepositoryName, Tag};
use warden_core::ports::PortError;
use warden_core::records::Manifest;
use warden_core::replicate::image::NewRepository;
use warden_core::replicate::template::CreationTemplate;

/// What one manifest put did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Put {
    Put,
    /// The destination had this manifest (under this tag): success, nothing changed.
    Present,
    /// The tag is immutable there and points at another image: reported, not forced.
    TagTaken,
}

/// The registry a copy reads from.
#[async_trait]
pub trait CopySource: Send + Sync {
    /// The image `digest` (`None` when gone) and whichever of `tags` exist, with their tags.
    async fn image_and_tagged(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
        tags: &[Tag],
    ) -> Result<(Option<Manifest>, Vec<(Tag, Manifest)>), PortError>;

    /// How `repository` is set up, for a copy of it created elsewhere (`None`: nothing to say).
    async fn repository_setup(
        &self,
        repository: &RepositoryName,
    ) -> Result<Option<NewRepository>, PortError>;

    /// The digests of the OCI 1.1 referrers of `digest` (artifacts naming it as `subject`).
    async fn referrers(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> Result<Vec<Digest>, PortError>;

    /// These manifests by digest (an index's children, at most 100); missing ones are absent.
    async fn manifests(
        &self,
        repository: &RepositoryName,
        digests: &[Digest],
    ) -> Result<Vec<Manifest>, PortError>;

    /// A response streaming the blob's bytes (unverified: the caller hashes what it reads).
    async fn open_blob(
        &self,
        http: &reqwest::Client,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> Result<reqwest::Response, PortError>;
}

/// The registry a copy writes to.
#[async_trait]
pub trait CopyTarget: Send + Sync {
    /// Which of `digests` the repository has; `None` when the repository does not exist.
    async fn available(
        &self,
        repository: &RepositoryName,
        digests: &[Digest],
    ) -> Result<Option<BTreeSet<Digest>>, PortError>;

    /// The registry's repository creation templates (empty where it has none).
    async fn creation_templates(&self) -> Result<Vec<CreationTemplate>, PortError>;

    /// Create the repository as `settings` say, where the registry has such settings; what of
    /// them could not be applied to the repository just created, as problems.
    async fn create_repository(
        &self,
        repository: &RepositoryName,
        settings: &NewRepository,
    ) -> Result<Vec<String>, PortError>;

    /// Start uploading one blob.
    async fn start_upload(
        &self,
        repository: &RepositoryName,
    ) -> Result<Box<dyn UploadSession>, PortError>;

    /// Put the exact manifest bytes, under `tag` or by digest.
    async fn put(
        &self,
        repository: &RepositoryName,
        manifest: &Manifest,
        tag: Option<&Tag>,
    ) -> Result<Put, PortError>;
}

/// One blob upload in progress: parts in order, then finished under its digest, or abandoned.
#[async_trait]
pub trait UploadSession: Send {
    /// The part size the registry expects (the last part may be shorter).
    fn part_size(&self) -> usize;

    /// Bytes `first..first + bytes.len()` of the blob.
    async fn part(&mut self, first: u64, bytes: Vec<u8>) -> Result<(), PortError>;

    /// Finish as `digest` (the registry checks it against the bytes).
    async fn finish(self: Box<Self>, digest: &Digest) -> Result<(), PortError>;

    /// Give up: nothing refers to the bytes sent (a registry may also expire them itself).
    async fn abandon(self: Box<Self>);
}
