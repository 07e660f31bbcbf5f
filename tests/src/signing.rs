//! cosign keyed signatures made at test time (no cosign binary): a P-256 key pair as
//! `cosign generate-key-pair` makes one, and a signature as `cosign sign --key` stores it.

use base64::Engine as _;
use p256::ecdsa::signature::Signer as _;
use p256::elliptic_curve::Generate as _;
use p256::pkcs8::EncodePublicKey as _;
use serde_json::json;
use warden_core::names::Digest;

pub use p256::ecdsa::SigningKey;

/// A cosign key pair made now, and its public key as `cosign.pub` holds it (SPKI PEM).
pub fn cosign_key() -> (SigningKey, String) {
    let key = SigningKey::generate();
    let pem = key
        .verifying_key()
        .to_public_key_pem(p256::pkcs8::LineEnding::LF)
        .expect("a P-256 public key encodes as PEM");
    (key, pem)
}

/// `key`'s cosign signature over `digest`: the simple-signing payload and its
/// `dev.cosignproject.cosign/signature` annotation (base64 of the DER signature).
pub fn cosign_sign(key: &SigningKey, digest: &Digest) -> (Vec<u8>, String) {
    let payload = serde_json::to_vec(&json!({
        "critical": {"identity": {"docker-reference": "registry/signed"},
                     "image": {"docker-manifest-digest": digest.as_str()},
                     "type": "cosign container image signature"},
        "optional": null
    }))
    .expect("a JSON payload");
    let signature: p256::ecdsa::Signature = key.sign(&payload);
    let encoded = base64::engine::general_purpose::STANDARD.encode(signature.to_der().as_bytes());
    (payload, encoded)
}
