//! Ports: the narrow capabilities the decisions need from the outside world, named after intent.
//! `warden-aws` implements them with the AWS SDK; tests may implement them in memory. Each method
//! says which AWS call it stands for, so per-event call floors can be read off the trait.

use async_trait::async_trait;

use crate::names::{Digest, RepositoryName, Tag};

/// Why a port call failed. [`PortError::is_retryable`] decides the Lambda error contract:
/// retryable errors fail the invocation (Lambda retries, then the DLQ); the others are reported
/// and acknowledged, because retrying cannot help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    #[error("{operation}: not found: {what}")]
    NotFound {
        operation: &'static str,
        what: String,
    },
    /// ECR `ImageTagAlreadyExistsException`: the tag is immutable and points elsewhere.
    #[error("{operation}: tag {tag} already exists in {repository} and is immutable")]
    TagAlreadyExists {
        operation: &'static str,
        repository: String,
        tag: String,
    },
    /// ECR `ImageAlreadyExistsException`: this exact manifest already carries this tag.
    #[error("{operation}: image already exists with that tag in {repository}")]
    ImageAlreadyExists {
        operation: &'static str,
        repository: String,
    },
    /// A conditional write lost: someone else wrote first.
    #[error("{operation}: condition failed: {what}")]
    ConditionFailed {
        operation: &'static str,
        what: String,
    },
    #[error("{operation}: throttled")]
    Throttled { operation: &'static str },
    #[error("{operation}: transient failure: {message}")]
    Transient {
        operation: &'static str,
        message: String,
    },
    #[error("{operation}: access denied: {message}")]
    Denied {
        operation: &'static str,
        message: String,
    },
    #[error("{operation}: rejected: {message}")]
    Invalid {
        operation: &'static str,
        message: String,
    },
}

impl PortError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Throttled { .. } | Self::Transient { .. })
    }
}

/// One page of a listing and the token for the next, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// An image manifest exactly as stored: re-putting these bytes preserves the digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub digest: Digest,
    pub media_type: Option<String>,
    pub bytes: String,
}

/// Reads and writes image manifests and tags in one registry.
#[async_trait]
pub trait ImageManifests: Send + Sync {
    /// The manifest an image is stored with, by digest. One `BatchGetImage` call.
    /// `Ok(None)` when the image does not exist.
    async fn manifest(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> Result<Option<Manifest>, PortError>;

    /// The digest `tag` points to now, or `None` when no image has it. One `BatchGetImage` call.
    async fn tag_target(
        &self,
        repository: &RepositoryName,
        tag: &Tag,
    ) -> Result<Option<Digest>, PortError>;

    /// Point `tag` at the image stored as `manifest`, digest-preserving. One `PutImage` call
    /// (ECR allows 10 PutImage per second per repository; callers pace bulk work).
    /// Errors: `TagAlreadyExists` when the tag is immutable and elsewhere; `ImageAlreadyExists`
    /// when the tag already points here (callers treat that as done).
    async fn put_tag(
        &self,
        repository: &RepositoryName,
        manifest: &Manifest,
        tag: &Tag,
    ) -> Result<Digest, PortError>;
}
