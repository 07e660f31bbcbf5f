//! Downloading a layer's bytes from ECR: the pre-signed URL (GetDownloadUrlForLayer) and the
//! mapping of a download's failures to port errors, shared by the replicator's copies and the
//! signature payloads scan-gate and the CLI read.

use warden_core::names::{Digest, RepositoryName};
use warden_core::ports::PortError;

use super::{EcrRegistry, invalid};
use crate::runtime::errors::port_error;

impl EcrRegistry {
    /// A URL the layer's bytes can be fetched from (pre-signed: a credential, never logged).
    /// One GetDownloadUrlForLayer.
    pub async fn layer_download_url(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> Result<String, PortError> {
        const OP: &str = "ecr:GetDownloadUrlForLayer";
        let out = self
            .client
            .get_download_url_for_layer()
            .set_registry_id(self.registry_id.clone())
            .repository_name(repository.as_str())
            .layer_digest(digest.as_str())
            .send()
            .await
            .map_err(|e| port_error(OP, e))?;
        out.download_url
            .ok_or_else(|| invalid(OP, format!("no URL for layer {digest}")))
    }
}

/// What a blob download error names: the operation, the blob (never a URL: ECR's are credentials).
pub(crate) const DOWNLOAD: &str = "layer download";

#[cfg(feature = "replicator")]
pub(crate) fn download_error(digest: &Digest, error: reqwest::Error) -> PortError {
    PortError::Transient {
        operation: DOWNLOAD,
        message: format!("layer {digest}: {}", error.without_url()),
    }
}

/// A download's HTTP status as a port error, `None` when it succeeded: 5xx, 429 and 403 (an
/// expired pre-signed URL: a retry asks for a new one) are retryable, the rest are not (`shown`:
/// the status as the client prints it).
pub(crate) fn status_error(digest: &Digest, status: u16, shown: &str) -> Option<PortError> {
    if (200..300).contains(&status) {
        return None;
    }
    let message = format!("layer {digest}: HTTP {shown}");
    Some(if status >= 500 || status == 429 || status == 403 {
        PortError::Transient {
            operation: DOWNLOAD,
            message,
        }
    } else {
        PortError::Invalid {
            operation: DOWNLOAD,
            message,
        }
    })
}

/// The response, or a typed error for its status ([`status_error`]).
#[cfg(feature = "replicator")]
pub(crate) fn success(
    digest: &Digest,
    response: reqwest::Response,
) -> Result<reqwest::Response, PortError> {
    let status = response.status();
    match status_error(digest, status.as_u16(), &status.to_string()) {
        None => Ok(response),
        Some(error) => Err(error),
    }
}
