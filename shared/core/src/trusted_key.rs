//! A key a policy trusts for cosign signatures (shared by the policy's validation and the
//! signature checks): SPKI PEM public keys on the P-256 curve
//! (`cosign generate-key-pair` writes them as `cosign.pub`), parsed once when the policy loads,
//! and AWS KMS keys (`cosign sign --key awskms:///<key>`), whose public key KMS gives.

use p256::ecdsa::VerifyingKey;
use p256::pkcs8::DecodePublicKey;

/// One trusted key, under the name the policy gives it (reports name the key, never print it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey {
    pub name: String,
    pub key: VerifyingKey,
}

impl TrustedKey {
    /// Parse `pem` (`-----BEGIN PUBLIC KEY-----`, an ECDSA P-256 key) as the key `name`, or say
    /// what is wrong with it.
    pub fn from_pem(name: &str, pem: &str) -> Result<Self, String> {
        let key = VerifyingKey::from_public_key_pem(pem.trim()).map_err(|e| {
            format!("not an ECDSA P-256 public key in PEM (`-----BEGIN PUBLIC KEY-----`): {e}")
        })?;
        Ok(Self {
            name: name.to_owned(),
            key,
        })
    }

    /// The KMS key `name` trusts, from what kms:GetPublicKey gave: it must be an
    /// `ECC_NIST_P256` key signing with `ECDSA_SHA_256` (cosign's keys), its public key a DER
    /// SubjectPublicKeyInfo. Else what is wrong with it.
    pub fn from_kms(name: &str, public: &KmsPublicKey) -> Result<Self, String> {
        if public.key_spec.as_deref() != Some("ECC_NIST_P256") {
            return Err(format!(
                "KMS key {} is {}, not ECC_NIST_P256 (cosign's ECDSA P-256)",
                public.key_id,
                public.key_spec.as_deref().unwrap_or("of no key spec")
            ));
        }
        if !public
            .signing_algorithms
            .iter()
            .any(|a| a == "ECDSA_SHA_256")
        {
            return Err(format!(
                "KMS key {} does not sign with ECDSA_SHA_256",
                public.key_id
            ));
        }
        let key = VerifyingKey::from_public_key_der(&public.der).map_err(|e| {
            format!(
                "KMS key {}: its public key does not parse: {e}",
                public.key_id
            )
        })?;
        Ok(Self {
            name: name.to_owned(),
            key,
        })
    }
}

/// A KMS key's public half, as kms:GetPublicKey gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KmsPublicKey {
    /// The key as the policy names it (key id, key ARN, alias name or alias ARN).
    pub key_id: String,
    /// `KeySpec`, e.g. `ECC_NIST_P256`.
    pub key_spec: Option<String>,
    /// `SigningAlgorithms`, e.g. `ECDSA_SHA_256`.
    pub signing_algorithms: Vec<String>,
    /// The public key, a DER-encoded SubjectPublicKeyInfo.
    pub der: Vec<u8>,
}
