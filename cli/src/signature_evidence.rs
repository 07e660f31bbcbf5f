//! What an image's signatures prove, read as scan-gate reads them (docs/signatures.md): cosign
//! signatures against the policy's keys, Notation signatures against its trust and AWS Signer's
//! revocations — for `warden gate` (beside the scan) and `warden doctor` (what to do about it).

use chrono::{DateTime, Utc};
use warden_aws::ApiCalls;
use warden_aws::adapters::ecr::EcrRegistry;
use warden_aws::adapters::ecr::signatures::EcrSignatures;
use warden_aws::adapters::kms_keys::KmsPublicKeys;
use warden_aws::adapters::signer_revocations::SignerRevocations;
use warden_core::names::{Digest, RepositoryName};
use warden_core::policy::{SignatureKind, Signatures};
use warden_core::ports::ImageSignatures as _;
use warden_core::scan_gate::{kms_keys, revocations};
use warden_core::signature::{SignatureCheck, SignatureEvidence, cosign, evidence, notation};
use warden_core::trusted_key::TrustedKey;

use crate::aws::Place;

/// What the image's cosign and Notation signatures prove under its repository's `signatures`
/// policy, read as scan-gate reads them (an image pushed at `pushed_at`); `Err`: why nothing is
/// shown — neither kind required, or the signatures cannot be read (the scan's verdict stands
/// either way). ECR managed signing's status is the verdict's (listed as not checked here).
pub(crate) async fn signature_evidence(
    policy: &Signatures,
    read: &SignatureRead<'_>,
    repository: &RepositoryName,
    digest: &Digest,
    pushed_at: Option<DateTime<Utc>>,
) -> Result<SignatureEvidence, String> {
    let now = Utc::now();
    let mut checks = Vec::new();
    for kind in &policy.require {
        let check = match kind {
            SignatureKind::CosignKey => cosign_check(policy, read, repository, digest).await?,
            SignatureKind::Notation => {
                notation_check(policy, read, repository, digest, now).await?
            }
            SignatureKind::EcrManaged => continue,
        };
        checks.push((*kind, check));
    }
    if checks.is_empty() {
        return Err(
            "only cosign-key and notation signatures are shown here (the verdict checks \
                    ECR managed signing)"
                .into(),
        );
    }
    Ok(evidence(policy, &checks, pushed_at, now))
}

/// The image's cosign check against the policy's keys.
async fn cosign_check(
    policy: &Signatures,
    read: &SignatureRead<'_>,
    repository: &RepositoryName,
    digest: &Digest,
) -> Result<SignatureCheck, String> {
    let signed = EcrSignatures::new(read.registry.clone())
        .cosign_signatures(repository, digest)
        .await
        .map_err(|e| format!("the signatures could not be read: {e}"))?;
    let keys = trusted_keys(policy, &read.keys)
        .await
        .map_err(|e| format!("a trusted key could not be read: {e}"))?;
    Ok(cosign::check(digest, &signed, &keys))
}

/// The image's Notation check against the policy's trust, AWS Signer asked of each trusted
/// signature.
async fn notation_check(
    policy: &Signatures,
    read: &SignatureRead<'_>,
    repository: &RepositoryName,
    digest: &Digest,
    now: DateTime<Utc>,
) -> Result<SignatureCheck, String> {
    let Some(trust) = &policy.notation else {
        return Ok(SignatureCheck::UntrustedSigner);
    };
    let found = EcrSignatures::new(read.registry.clone())
        .notation_signatures(repository, digest)
        .await
        .map_err(|e| format!("the Notation signatures could not be read: {e}"))?;
    let examined = notation::examine(digest, &found, trust, now);
    let queries = examined
        .candidates
        .iter()
        .map(|c| c.query.clone())
        .collect();
    let answers = revocations(queries, &read.revocations)
        .await
        .map_err(|e| format!("AWS Signer could not be asked: {e}"))?;
    Ok(notation::check(&examined, &answers))
}

/// Where signatures are read (the image's registry), and the KMS keys' public halves and AWS
/// Signer's revocations (asked in the operator's home account, as the deployment asks them).
pub(crate) struct SignatureRead<'a> {
    registry: &'a EcrRegistry,
    keys: KmsPublicKeys,
    revocations: SignerRevocations,
}

impl<'a> SignatureRead<'a> {
    pub(crate) fn new(registry: &'a EcrRegistry, place: &Place, calls: &ApiCalls) -> Self {
        Self {
            registry,
            keys: KmsPublicKeys::from_sdk(&place.home, calls),
            revocations: SignerRevocations::from_sdk(&place.home, calls),
        }
    }
}

/// The policy's PEM keys and its KMS keys' public keys (1 kms:GetPublicKey each), as scan-gate
/// reads them.
pub(crate) async fn trusted_keys(
    policy: &Signatures,
    kms: &KmsPublicKeys,
) -> Result<Vec<TrustedKey>, String> {
    let mut keys = policy.pem_keys();
    let read = kms_keys(&policy.kms_keys(), kms).await;
    keys.extend(read.map_err(|e| e.to_string())?);
    Ok(keys)
}
