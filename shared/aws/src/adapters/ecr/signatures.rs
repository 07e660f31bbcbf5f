//! cosign's signatures read from ECR ([`ImageSignatures`], docs/signatures.md): the signature
//! manifest by its `sha256-<hex>.sig` tag, then each signature layer's payload downloaded from the
//! pre-signed URL ECR gives for it (at most 64 KiB read; a layer past it, or gone, is skipped).
//! scan-gate's verdict includes what they prove; `warden gate` shows it.

use std::sync::OnceLock;

use async_trait::async_trait;
use aws_sdk_ecr::types::ImageIdentifier;
use warden_core::names::{Digest, RepositoryName};
use warden_core::ports::{ImageSignatures, PortError};
use warden_core::records::SigningStatus;
use warden_core::replicate::image::referrer_tags;
use warden_core::signature::cosign::{LayerRef, SignedPayload, signature_layers};

use super::EcrRegistry;
use super::download::{DOWNLOAD, download_error, success};
use crate::runtime::errors::port_error;
use crate::runtime::tls;

/// A simple-signing payload is a few hundred bytes; anything over this is no signature payload.
const MAX_PAYLOAD_BYTES: usize = 64 * 1024;

/// One registry's signatures, with the HTTPS client for their payloads (made on first use: a
/// function whose policy requires no signature never loads it).
pub struct EcrSignatures {
    registry: EcrRegistry,
    http: OnceLock<Result<reqwest::Client, String>>,
}

impl EcrSignatures {
    /// Payloads are fetched with the SDK's TLS stack and roots ([`tls::reqwest_builder`]).
    pub fn new(registry: EcrRegistry) -> Self {
        Self {
            registry,
            http: OnceLock::new(),
        }
    }

    fn http(&self) -> Result<&reqwest::Client, PortError> {
        self.http
            .get_or_init(|| {
                tls::reqwest_builder()
                    .connect_timeout(std::time::Duration::from_secs(5))
                    .timeout(std::time::Duration::from_secs(30))
                    .build()
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|message| PortError::Invalid {
                operation: DOWNLOAD,
                message: message.clone(),
            })
    }

    /// One layer's payload: 1 GetDownloadUrlForLayer and one GET (the URL is a credential: never
    /// named in an error).
    async fn payload(
        &self,
        repository: &RepositoryName,
        layer: &LayerRef,
    ) -> Result<Vec<u8>, PortError> {
        let url = self
            .registry
            .layer_download_url(repository, &layer.digest)
            .await?;
        let too_big = || PortError::Invalid {
            operation: DOWNLOAD,
            message: format!(
                "{repository}@{}: more than a signature payload ({MAX_PAYLOAD_BYTES} bytes)",
                layer.digest
            ),
        };
        // The copier's download mapping: a 4xx other than an expired URL (403) is no payload (it
        // is skipped); 5xx, 429, 403 and transport failures are transient.
        let sent = self.http()?.get(url).send().await;
        let sent = sent.map_err(|e| download_error(&layer.digest, e))?;
        let mut response = success(&layer.digest, sent)?;
        if response
            .content_length()
            .is_some_and(|n| n > MAX_PAYLOAD_BYTES as u64)
        {
            return Err(too_big());
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| download_error(&layer.digest, e))?
        {
            bytes.extend_from_slice(&chunk);
            if bytes.len() > MAX_PAYLOAD_BYTES {
                return Err(too_big());
            }
        }
        Ok(bytes)
    }
}

#[async_trait]
impl ImageSignatures for EcrSignatures {
    async fn cosign_signatures(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> Result<Vec<SignedPayload>, PortError> {
        let Some(tag) = referrer_tags(digest)
            .into_iter()
            .find(|t| t.as_str().ends_with(".sig"))
        else {
            return Ok(Vec::new());
        };
        let id = ImageIdentifier::builder().image_tag(tag.as_str()).build();
        let images = self.registry.batch_get(repository, vec![id]).await?;
        let Some(manifest) = images.first().and_then(|i| i.image_manifest()) else {
            return Ok(Vec::new());
        };
        let layers = signature_layers(manifest).map_err(|message| PortError::Invalid {
            operation: "ecr:BatchGetImage",
            message: format!("{repository}:{tag}: {message}"),
        })?;
        let mut signed = Vec::with_capacity(layers.len());
        for layer in layers {
            // A layer that cannot be a payload (too big, gone) is no signature; the others are
            // still read. A transient failure fails the read: a retry may see them all.
            match self.payload(repository, &layer).await {
                Ok(payload) => signed.push(SignedPayload { layer, payload }),
                Err(e) if e.is_retryable() => return Err(e),
                Err(e) => tracing::warn!(error = %e, "a signature layer skipped"),
            }
        }
        Ok(signed)
    }

    async fn managed_signing(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> Result<Vec<SigningStatus>, PortError> {
        const OP: &str = "ecr:DescribeImageSigningStatus";
        let out = self
            .registry
            .client
            .describe_image_signing_status()
            .set_registry_id(self.registry.registry_id.clone())
            .repository_name(repository.as_str())
            .image_id(
                ImageIdentifier::builder()
                    .image_digest(digest.as_str())
                    .build(),
            )
            .send()
            .await
            .map_err(|e| port_error(OP, e))?;
        Ok(out
            .signing_statuses()
            .iter()
            .map(|s| SigningStatus {
                profile_arn: s.signing_profile_arn().unwrap_or_default().to_owned(),
                status: s
                    .status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                failure_code: s.failure_code().map(str::to_owned),
                failure_reason: s.failure_reason().map(str::to_owned),
            })
            .collect())
    }
}
