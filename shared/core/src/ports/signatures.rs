//! Reading the signatures stored beside an image, what ECR says of the image now, and the
//! evaluation at the end of its signature grace (docs/signatures.md).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::PortError;
use crate::names::{Digest, RepositoryName};
use crate::records::{GraceDeadline, ImageState, SigningStatus};
use crate::signature::cosign::SignedPayload;
use crate::signature::notation::{NotationSignature, RevocationQuery};
use crate::trusted_key::KmsPublicKey;

/// cosign's signatures of an image, as cosign stores them by tag.
#[async_trait]
pub trait ImageSignatures: Send + Sync {
    /// The signatures of `digest` in `repository`: its referrers of artifact type
    /// [`crate::signature::cosign::REFERRER_ARTIFACT_TYPE`] (1 ListImageReferrers per 50), then
    /// the `sha256-<hex>.sig` manifest and those referrers' (one BatchGetImage; none found: no
    /// signature), and for each of their signature layers (at most
    /// [`crate::signature::cosign::MAX_SIGNATURE_LAYERS`]) the payload blob (1
    /// GetDownloadUrlForLayer and one download each).
    async fn cosign_signatures(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> Result<Vec<SignedPayload>, PortError>;

    /// The Notation signatures of `digest` in `repository`: its referrers of artifact type
    /// [`crate::signature::notation::ARTIFACT_TYPE`] (1 ListImageReferrers per 50), their
    /// manifests (1 BatchGetImage per 100) and each one's envelope layer (1 GetDownloadUrlForLayer
    /// and one download each), at most [`crate::signature::notation::MAX_SIGNATURES`].
    async fn notation_signatures(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> Result<Vec<NotationSignature>, PortError>;

    /// ECR managed signing's status of `digest`, one per signing profile whose rule matched its
    /// push (none: no rule matched). 1 DescribeImageSigningStatus.
    async fn managed_signing(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> Result<Vec<SigningStatus>, PortError>;
}

/// One image as ECR describes it now.
#[async_trait]
pub trait ImageStatus: Send + Sync {
    /// Its entry, scan status and counts (`None`: no such image): 1 DescribeImages by digest, and
    /// 1 DescribeImageScanFindings (one finding) when DescribeImages says nothing of a scan.
    async fn image_state(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> Result<Option<ImageState>, PortError>;

    /// When it was pushed (`None`: no such image, or ECR does not say). 1 DescribeImages.
    async fn pushed_at(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> Result<Option<DateTime<Utc>>, PortError>;
}

/// Evaluations scheduled for the end of an image's signature grace.
#[async_trait]
pub trait GraceDeadlines: Send + Sync {
    /// Have scan-gate evaluate the image at `deadline.at`: one one-time EventBridge Scheduler
    /// schedule (1 CreateSchedule), named after the image and the time, deleted once it ran. One
    /// that exists already (the same deadline scheduled before) counts as made.
    async fn schedule(&self, deadline: &GraceDeadline) -> Result<(), PortError>;
}

/// The public keys of the KMS keys a policy trusts.
#[async_trait]
pub trait PublicKeys: Send + Sync {
    /// `key_id`'s public key: 1 kms:GetPublicKey the first time this container asks for the key,
    /// none after (a key's public half never changes) — except for an alias, read each time (it
    /// can be pointed at another key).
    async fn public_key(&self, key_id: &str) -> Result<KmsPublicKey, PortError>;
}

/// What AWS Signer says of the signatures it made.
#[async_trait]
pub trait SignatureRevocations: Send + Sync {
    /// The entities of `query` (its profile version, job, certificate hashes) AWS Signer reports
    /// revoked; none: not revoked. 1 GetRevocationStatus.
    async fn revoked(&self, query: &RevocationQuery) -> Result<Vec<String>, PortError>;
}
