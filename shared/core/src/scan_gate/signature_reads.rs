//! The signature gate's reads, driven through scan-gate's ports: signatures (cosign's and
//! Notation's, the image's and its indexes'), trusted keys, AWS Signer's revocations, ECR's
//! managed signing status and the push time (docs/signatures.md).

use super::Need;
use super::facts::Facts;
use super::run::Ports;
use crate::ports::{PortError, PublicKeys, SignatureRevocations};
use crate::signature::notation::RevocationQuery;
use crate::trusted_key::TrustedKey;

/// The KMS keys a `signatures` policy trusts, (name, key id) each, as keys to verify with: each
/// one's public half read ([`PublicKeys::public_key`]) and checked to be a cosign key (an unusable
/// one is an error naming the policy's key, never skipped).
pub async fn kms_keys(
    keys: &[(&str, &str)],
    public_keys: &dyn PublicKeys,
) -> Result<Vec<TrustedKey>, PortError> {
    let mut trusted = Vec::with_capacity(keys.len());
    for (name, key_id) in keys {
        let public = public_keys.public_key(key_id).await?;
        let key = TrustedKey::from_kms(name, &public).map_err(|message| PortError::Invalid {
            operation: "kms:GetPublicKey",
            message: format!("signatures key `{name}`: {message}"),
        })?;
        trusted.push(key);
    }
    Ok(trusted)
}

/// AWS Signer's answer to each of `queries` (1 GetRevocationStatus each): the entities it reports
/// revoked, per query.
pub async fn revocations(
    queries: Vec<RevocationQuery>,
    signer: &dyn SignatureRevocations,
) -> Result<Vec<(RevocationQuery, Vec<String>)>, PortError> {
    let mut answers = Vec::with_capacity(queries.len());
    for query in queries {
        let revoked = signer.revoked(&query).await?;
        answers.push((query, revoked));
    }
    Ok(answers)
}

/// The facts of the signature gate: signatures, trusted keys, revocations, signing status, push
/// time.
pub(super) async fn fill_signed(
    need: Need,
    facts: &mut Facts,
    ports: &Ports<'_>,
) -> Result<(), PortError> {
    match need {
        Need::ManagedSigning { repository, digest } => {
            facts.managed_signing = Some(
                ports
                    .signatures
                    .managed_signing(&repository, &digest)
                    .await?,
            )
        }
        Need::PushedAt { repository, digest } => {
            facts.pushed_at = Some(ports.status.pushed_at(&repository, &digest).await?)
        }
        need @ (Need::NotationSignatures { .. }
        | Need::IndexNotationSignatures { .. }
        | Need::Revocations { .. }) => fill_notation(need, facts, ports).await?,
        need => fill_cosign(need, facts, ports).await?,
    }
    Ok(())
}

/// cosign's facts: the image's signatures, its indexes', the KMS keys' public halves.
async fn fill_cosign(need: Need, facts: &mut Facts, ports: &Ports<'_>) -> Result<(), PortError> {
    match need {
        Need::Signatures { repository, digest } => {
            facts.signatures = Some(
                ports
                    .signatures
                    .cosign_signatures(&repository, &digest)
                    .await?,
            )
        }
        Need::IndexSignatures {
            repository,
            digests,
        } => {
            let mut signed = Vec::with_capacity(digests.len());
            for digest in digests {
                let payloads = ports
                    .signatures
                    .cosign_signatures(&repository, &digest)
                    .await?;
                signed.push((digest, payloads));
            }
            facts.index_signatures = Some(signed);
        }
        Need::KmsKeys { keys } => {
            let keys: Vec<(&str, &str)> =
                keys.iter().map(|(n, k)| (n.as_str(), k.as_str())).collect();
            facts.kms_keys = Some(kms_keys(&keys, ports.public_keys).await?);
        }
        _ => {}
    }
    Ok(())
}

/// Notation's facts: the image's signatures, its indexes', AWS Signer's answers.
async fn fill_notation(need: Need, facts: &mut Facts, ports: &Ports<'_>) -> Result<(), PortError> {
    match need {
        Need::NotationSignatures { repository, digest } => {
            facts.notation = Some(
                ports
                    .signatures
                    .notation_signatures(&repository, &digest)
                    .await?,
            )
        }
        Need::IndexNotationSignatures {
            repository,
            digests,
        } => {
            let mut signed = Vec::with_capacity(digests.len());
            for digest in digests {
                let found = ports
                    .signatures
                    .notation_signatures(&repository, &digest)
                    .await?;
                signed.push((digest, found));
            }
            facts.index_notation = Some(signed);
        }
        Need::Revocations { queries } => {
            facts
                .revocations
                .extend(revocations(queries, ports.revocations).await?);
        }
        _ => {}
    }
    Ok(())
}
