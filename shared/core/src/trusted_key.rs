//! A key a policy trusts for cosign signatures (shared by the policy's validation and the
//! signature checks): SPKI PEM public keys on the P-256 curve
//! (`cosign generate-key-pair` writes them as `cosign.pub`), parsed once when the policy loads.

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
}
