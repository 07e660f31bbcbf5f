//! cosign's signatures read from ECR ([`ImageSignatures`], docs/signatures.md): the signature
//! manifest by its `sha256-<hex>.sig` tag and the image's OCI 1.1 referrers of cosign's signature
//! artifact type, then each signature layer's payload downloaded from the
//! pre-signed URL ECR gives for it (at most 64 KiB read; a layer past it, or gone, is skipped).
//! scan-gate's verdict includes what they prove; `warden gate` shows it.

use std::sync::OnceLock;
use std::time::Duration;

use http_body_util::BodyExt as _;

use async_trait::async_trait;
use aws_sdk_ecr::types::ImageIdentifier;
use warden_core::names::{Digest, RepositoryName};
use warden_core::ports::{ImageSignatures, PortError};
use warden_core::records::SigningStatus;
use warden_core::replicate::image::referrer_tags;
use warden_core::signature::cosign::{self, SignedPayload, signature_layers};
use warden_core::signature::notation::{self, NotationSignature};

use super::EcrRegistry;
use super::download::{DOWNLOAD, status_error};
use crate::runtime::errors::port_error;
use crate::runtime::tls;

/// The most cosign signature referrers read for one image (each a manifest in the one
/// BatchGetImage, which takes 100 ids: the `.sig` tag and these).
const MAX_SIGNATURE_MANIFESTS: usize = 16;

/// A simple-signing payload is a few hundred bytes; anything over this is no signature payload.
const MAX_PAYLOAD_BYTES: usize = 64 * 1024;

/// The HTTP(S) client the payloads are fetched with: hyper on the SDK's own TLS stack (rustls on
/// *ring*, the roots of [`tls::TrustRoots::shared`]) — the crates the SDK's client already links,
/// so scan-gate carries no second HTTP client.
pub type PayloadClient = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    http_body_util::Empty<bytes::Bytes>,
>;

/// One registry's signatures, with the HTTPS client for their payloads (made on first use: a
/// function whose policy requires no signature never loads it).
pub struct EcrSignatures {
    registry: EcrRegistry,
    http: OnceLock<Result<PayloadClient, String>>,
}

/// How long one payload may take, connection included.
const PAYLOAD_TIMEOUT: Duration = Duration::from_secs(30);

/// The payloads' client, verifying servers against `roots` (the functions pass
/// [`tls::TrustRoots::shared`]).
pub fn payload_client(roots: &tls::TrustRoots) -> Result<PayloadClient, String> {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing this race to another thread installing *ring* first is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    let builder = hyper_rustls::HttpsConnectorBuilder::new();
    let builder = match roots.rustls_config() {
        Some(config) => builder.with_tls_config(config),
        None => builder
            .with_provider_and_native_roots(rustls::crypto::ring::default_provider())
            .map_err(|e| format!("the platform's root certificates: {e}"))?,
    };
    let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(Duration::from_secs(5)));
    let https = builder.https_or_http().enable_http1().wrap_connector(http);
    Ok(
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(https),
    )
}

impl EcrSignatures {
    pub fn new(registry: EcrRegistry) -> Self {
        Self {
            registry,
            http: OnceLock::new(),
        }
    }

    fn http(&self) -> Result<&PayloadClient, PortError> {
        self.http
            .get_or_init(|| payload_client(tls::TrustRoots::shared()))
            .as_ref()
            .map_err(|message| PortError::Invalid {
                operation: DOWNLOAD,
                message: message.clone(),
            })
    }

    /// One layer's payload: 1 GetDownloadUrlForLayer and one GET of at most
    /// [`MAX_PAYLOAD_BYTES`] (the URL is a credential: never named in an error). A 4xx other than
    /// an expired URL (403) is no payload (skipped by the caller); 5xx, 429, 403, a timeout and
    /// transport failures are transient.
    async fn payload(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> Result<Vec<u8>, PortError> {
        let url = self.registry.layer_download_url(repository, digest).await?;
        let transient = |what: String| PortError::Transient {
            operation: DOWNLOAD,
            message: format!("layer {digest}: {what}"),
        };
        let too_big = || PortError::Invalid {
            operation: DOWNLOAD,
            message: format!(
                "{repository}@{digest}: more than a signature payload ({MAX_PAYLOAD_BYTES} bytes)"
            ),
        };
        let uri: http::Uri = url.parse().map_err(|_| PortError::Invalid {
            operation: DOWNLOAD,
            message: format!("layer {digest}: ECR's download URL does not parse"),
        })?;
        let response = tokio::time::timeout(PAYLOAD_TIMEOUT, self.http()?.get(uri))
            .await
            .map_err(|_| transient(format!("no answer within {PAYLOAD_TIMEOUT:?}")))?
            .map_err(|e| transient(e.to_string()))?;
        let status = response.status();
        if let Some(error) = status_error(digest, status.as_u16(), &status.to_string()) {
            return Err(error);
        }
        let declared = response
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|n| n > MAX_PAYLOAD_BYTES as u64) {
            return Err(too_big());
        }
        let mut body = response.into_body();
        let mut bytes = Vec::new();
        while let Some(frame) = tokio::time::timeout(PAYLOAD_TIMEOUT, body.frame())
            .await
            .map_err(|_| transient(format!("no data within {PAYLOAD_TIMEOUT:?}")))?
        {
            let frame = frame.map_err(|e| transient(e.to_string()))?;
            if let Ok(data) = frame.into_data() {
                bytes.extend_from_slice(&data);
                if bytes.len() > MAX_PAYLOAD_BYTES {
                    return Err(too_big());
                }
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
        let mut ids: Vec<ImageIdentifier> = referrer_tags(digest)
            .into_iter()
            .filter(|t| t.as_str().ends_with(".sig"))
            .map(|t| ImageIdentifier::builder().image_tag(t.as_str()).build())
            .collect();
        let referrers = self
            .registry
            .image_referrers(repository, digest, &[cosign::REFERRER_ARTIFACT_TYPE])
            .await?;
        too_many(
            repository,
            digest,
            "cosign",
            referrers.len(),
            MAX_SIGNATURE_MANIFESTS,
        )?;
        ids.extend(
            referrers
                .iter()
                .map(|d| ImageIdentifier::builder().image_digest(d.as_str()).build()),
        );
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let images = self.registry.batch_get(repository, ids).await?;
        let mut layers = Vec::new();
        for manifest in images.iter().filter_map(|i| i.image_manifest()) {
            let found = signature_layers(manifest).map_err(|message| PortError::Invalid {
                operation: "ecr:BatchGetImage",
                message: format!("{repository}: a signature manifest of {digest}: {message}"),
            })?;
            layers.extend(found);
        }
        layers.truncate(cosign::MAX_SIGNATURE_LAYERS);
        let mut signed = Vec::with_capacity(layers.len());
        for layer in layers {
            // A layer that cannot be a payload (too big, gone) is no signature; the others are
            // still read. A transient failure fails the read: a retry may see them all.
            match self.payload(repository, &layer.digest).await {
                Ok(payload) => signed.push(SignedPayload { layer, payload }),
                Err(e) if e.is_retryable() => return Err(e),
                Err(e) => tracing::warn!(error = %e, "a signature layer skipped"),
            }
        }
        Ok(signed)
    }

    async fn notation_signatures(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> Result<Vec<NotationSignature>, PortError> {
        let referrers = self
            .registry
            .image_referrers(repository, digest, &[notation::ARTIFACT_TYPE])
            .await?;
        if referrers.is_empty() {
            return Ok(Vec::new());
        }
        too_many(
            repository,
            digest,
            "Notation",
            referrers.len(),
            notation::MAX_SIGNATURES,
        )?;
        let ids = referrers
            .iter()
            .map(|d| ImageIdentifier::builder().image_digest(d.as_str()).build())
            .collect();
        let images = self.registry.batch_get(repository, ids).await?;
        let mut found = Vec::with_capacity(images.len());
        for image in &images {
            let (Some(manifest), Some(referrer)) = (
                image.image_manifest(),
                image
                    .image_id()
                    .and_then(|i| i.image_digest())
                    .and_then(|d| Digest::new(d).ok()),
            ) else {
                continue;
            };
            let Some((media_type, layer)) = envelope_layer(manifest) else {
                continue;
            };
            // As with cosign's layers: one that cannot be an envelope is no signature; a
            // transient failure fails the read.
            match self.payload(repository, &layer).await {
                Ok(envelope) => found.push(NotationSignature {
                    referrer,
                    media_type,
                    envelope,
                }),
                Err(e) if e.is_retryable() => return Err(e),
                Err(e) => tracing::warn!(error = %e, "a Notation signature skipped"),
            }
        }
        Ok(found)
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

/// A Notation signature manifest's envelope layer: its media type and blob digest (the first
/// layer; Notation writes one).
fn envelope_layer(manifest: &str) -> Option<(String, Digest)> {
    let value: serde_json::Value = serde_json::from_str(manifest).ok()?;
    let layer = value.get("layers")?.as_array()?.first()?;
    let media_type = layer.get("mediaType")?.as_str()?.to_owned();
    let digest = Digest::new(layer.get("digest")?.as_str()?).ok()?;
    Some((media_type, digest))
}

/// More signatures than are read is no verdict, never a verdict on some of them: a pusher without
/// the signing key could otherwise hide the real signature behind junk ones (and a FAIL past the
/// grace would quarantine a signed image). The error names the cause; nothing moves.
fn too_many(
    repository: &RepositoryName,
    digest: &Digest,
    kind: &str,
    found: usize,
    read: usize,
) -> Result<(), PortError> {
    if found <= read {
        return Ok(());
    }
    Err(PortError::Invalid {
        operation: "ecr:ListImageReferrers",
        message: format!(
            "{repository}@{digest}: {found} {kind} signature referrers, more than the {read} read: no verdict until the extra ones are deleted"
        ),
    })
}
