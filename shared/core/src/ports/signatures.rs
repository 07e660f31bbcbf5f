//! Reading the signatures stored beside an image (docs/signatures.md).

use async_trait::async_trait;

use super::PortError;
use crate::names::{Digest, RepositoryName};
use crate::signature::cosign::SignedPayload;

/// cosign's signatures of an image, as cosign stores them by tag.
#[async_trait]
pub trait ImageSignatures: Send + Sync {
    /// The signatures of `digest` in `repository`: the `sha256-<hex>.sig` manifest (1
    /// BatchGetImage; none: no signature), and for each of its signature layers (at most
    /// [`crate::signature::cosign::MAX_SIGNATURE_LAYERS`]) the payload blob (1
    /// GetDownloadUrlForLayer and one download each).
    async fn cosign_signatures(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> Result<Vec<SignedPayload>, PortError>;
}
