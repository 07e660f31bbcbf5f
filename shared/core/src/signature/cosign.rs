//! cosign's keyed signatures. A signature manifest (`sha256-<hex>.sig`, or an OCI 1.1 referrer
//! whose `subject` is the image) has one layer per signature: the layer's blob is the
//! simple-signing payload (`application/vnd.dev.cosign.simplesigning.v1+json`), its
//! `dev.cosignproject.cosign/signature` annotation the base64 of an ASN.1 DER ECDSA signature
//! over the payload's bytes (P-256, SHA-256). The payload's `critical.image.docker-manifest-digest`
//! is the digest that was signed.

use base64::Engine as _;
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{DerSignature, Signature};
use serde_json::Value;

use super::SignatureCheck;
use crate::names::Digest;
use crate::trusted_key::TrustedKey;

/// The media type of a simple-signing payload layer.
pub const SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// The artifact type of a cosign signature stored as an OCI 1.1 referrer of the image
/// (`cosign sign --registry-referrers-mode=oci-1-1`): the same simple-signing layers.
pub const REFERRER_ARTIFACT_TYPE: &str = "application/vnd.dev.cosign.artifact.sig.v1+json";
/// The layer annotation holding the signature.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// The `critical.type` of a payload signing a container image.
pub const PAYLOAD_TYPE: &str = "cosign container image signature";
/// The most signature layers read from one manifest (each costs a download and a verification
/// per key); layers past it are not read.
pub const MAX_SIGNATURE_LAYERS: usize = 64;

/// One signature layer as the manifest names it: its blob's digest and the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerRef {
    pub digest: Digest,
    pub signature: String,
}

/// One signature layer with its payload read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedPayload {
    pub layer: LayerRef,
    pub payload: Vec<u8>,
}

/// The signature layers of a signature manifest: the simple-signing layers carrying a signature
/// annotation and a valid digest (others — an attestation, a layer without a signature — are not
/// signatures), at most [`MAX_SIGNATURE_LAYERS`].
pub fn signature_layers(manifest: &str) -> Result<Vec<LayerRef>, String> {
    let value: Value =
        serde_json::from_str(manifest).map_err(|e| format!("not a manifest: {e}"))?;
    let layers = value
        .get("layers")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut found = Vec::new();
    for layer in layers {
        if layer.get("mediaType").and_then(Value::as_str) != Some(SIMPLE_SIGNING) {
            continue;
        }
        let signature = layer
            .get("annotations")
            .and_then(|a| a.get(SIGNATURE_ANNOTATION))
            .and_then(Value::as_str);
        let digest = layer.get("digest").and_then(Value::as_str);
        let digest = digest.and_then(|d| Digest::new(d).ok());
        if let (Some(signature), Some(digest)) = (signature, digest) {
            found.push(LayerRef {
                digest,
                signature: signature.to_owned(),
            });
        }
        if found.len() == MAX_SIGNATURE_LAYERS {
            break;
        }
    }
    Ok(found)
}

/// What one signature layer shows of `subject` under `keys`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Layer {
    /// Signed by this key over the subject.
    Signed(String),
    /// Signed by a trusted key over this other digest.
    Elsewhere(String),
    /// Not by a trusted key, or not a valid signature at all.
    Untrusted,
}

/// Check `subject`'s signatures against `keys`: [`SignatureCheck::Signed`] if any layer is a valid
/// signature by a trusted key over `subject`; else `DigestMismatch` if one is over another digest;
/// else `UntrustedSigner` if there are signatures; else `Unsigned`. A layer whose payload bytes do
/// not hash to its digest (a swapped blob), or whose payload signs no container image, counts as
/// a signature by no trusted key.
pub fn check(subject: &Digest, signed: &[SignedPayload], keys: &[TrustedKey]) -> SignatureCheck {
    if signed.is_empty() {
        return SignatureCheck::Unsigned;
    }
    let layers: Vec<Layer> = signed.iter().map(|s| layer(subject, s, keys)).collect();
    if let Some(key) = layers.iter().find_map(|l| match l {
        Layer::Signed(key) => Some(key.clone()),
        _ => None,
    }) {
        return SignatureCheck::Signed { key };
    }
    match layers.into_iter().find_map(|l| match l {
        Layer::Elsewhere(digest) => Some(digest),
        _ => None,
    }) {
        Some(signed) => SignatureCheck::DigestMismatch { signed },
        None => SignatureCheck::UntrustedSigner,
    }
}

/// One layer: its payload's integrity, the first trusted key its signature verifies under, and
/// the digest its payload signs.
fn layer(subject: &Digest, signed: &SignedPayload, keys: &[TrustedKey]) -> Layer {
    if Digest::of_bytes(&signed.payload) != signed.layer.digest {
        return Layer::Untrusted;
    }
    let Some(signature) = decode_signature(&signed.layer.signature) else {
        return Layer::Untrusted;
    };
    let Some(key) = keys
        .iter()
        .find(|k| k.key.verify(&signed.payload, &signature).is_ok())
    else {
        return Layer::Untrusted;
    };
    match signed_digest(&signed.payload) {
        Some(digest) if digest == subject.as_str() => Layer::Signed(key.name.clone()),
        Some(digest) => Layer::Elsewhere(digest),
        None => Layer::Untrusted,
    }
}

/// The annotation's signature: standard base64 (line breaks allowed, as Go's decoder allows them)
/// of an ASN.1 DER ECDSA signature, what cosign writes and accepts.
fn decode_signature(encoded: &str) -> Option<Signature> {
    let compact: String = encoded
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .ok()?;
    let der = DerSignature::try_from(bytes.as_slice()).ok()?;
    Signature::try_from(der).ok()
}

/// The digest a simple-signing payload signs (`critical.image.docker-manifest-digest`), when the
/// payload is one signing a container image (`critical.type`).
pub fn signed_digest(payload: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(payload).ok()?;
    let critical = value.get("critical")?;
    if critical.get("type").and_then(Value::as_str) != Some(PAYLOAD_TYPE) {
        return None;
    }
    critical
        .pointer("/image/docker-manifest-digest")
        .and_then(Value::as_str)
        .map(str::to_owned)
}
