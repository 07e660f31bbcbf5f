//! Signature verification with a certificate's public key: ECDSA over P-256 or P-384, RSA PKCS #1
//! v1.5 and RSASSA-PSS (RustCrypto).

use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
use rsa::pkcs8::DecodePublicKey as _;
use rsa::traits::PublicKeyParts as _;
use sha2::{Sha256, Sha384, Sha512};

use super::{Algorithm, Hash};

/// The least RSA modulus the Notary Project accepts.
const MIN_RSA_BITS: u32 = 2048;

/// Verify `signature` over `message` with the public key `spki` (a DER SubjectPublicKeyInfo).
pub(super) fn verify_with_spki(
    spki: &[u8],
    algorithm: Algorithm,
    message: &[u8],
    signature: &[u8],
) -> Result<(), String> {
    match algorithm {
        Algorithm::Ecdsa { hash, jws } => verify_ecdsa(spki, hash, jws, message, signature),
        Algorithm::RsaPkcs1 { hash } => verify_rsa(spki, hash, false, message, signature),
        Algorithm::RsaPss { hash } => verify_rsa(spki, hash, true, message, signature),
    }
}

fn bad(e: &dyn std::fmt::Display) -> String {
    format!("signature does not verify: {e}")
}

/// An ECDSA signature by a P-256 or P-384 key (`jws`: R ‖ S, and the curve the hash names; else
/// DER).
fn verify_ecdsa(
    spki: &[u8],
    hash: Hash,
    jws: bool,
    message: &[u8],
    signature: &[u8],
) -> Result<(), String> {
    let prehash = hash.digest(message);
    let mismatch = |curve: &str| format!("a {curve} key does not sign {hash:?} in a JWS");
    if let Ok(key) = p256::ecdsa::VerifyingKey::from_public_key_der(spki) {
        if jws && hash != Hash::Sha256 {
            return Err(mismatch("P-256"));
        }
        let sig = if jws {
            p256::ecdsa::Signature::from_slice(signature)
        } else {
            p256::ecdsa::Signature::from_der(signature)
        }
        .map_err(|e| bad(&e))?;
        key.verify_prehash(&prehash, &sig).map_err(|e| bad(&e))
    } else if let Ok(key) = p384::ecdsa::VerifyingKey::from_public_key_der(spki) {
        if jws && hash != Hash::Sha384 {
            return Err(mismatch("P-384"));
        }
        let sig = if jws {
            p384::ecdsa::Signature::from_slice(signature)
        } else {
            p384::ecdsa::Signature::from_der(signature)
        }
        .map_err(|e| bad(&e))?;
        key.verify_prehash(&prehash, &sig).map_err(|e| bad(&e))
    } else {
        Err("the key is not an ECDSA P-256 or P-384 key".to_owned())
    }
}

/// An RSA signature (`pss`: RSASSA-PSS with a salt the hash's length, else PKCS #1 v1.5) by a key
/// of at least [`MIN_RSA_BITS`].
fn verify_rsa(
    spki: &[u8],
    hash: Hash,
    pss: bool,
    message: &[u8],
    signature: &[u8],
) -> Result<(), String> {
    let key = rsa::PublicKey::from_public_key_der(spki)
        .map_err(|_| "the key is not an RSA key".to_owned())?;
    if key.n().bit_width() < MIN_RSA_BITS {
        return Err(format!("the RSA key is under {MIN_RSA_BITS} bits"));
    }
    let hashed = hash.digest(message);
    let result = match (pss, hash) {
        (true, Hash::Sha256) => key.verify(rsa::pss::Pss::<Sha256>::new(), &hashed, signature),
        (true, Hash::Sha384) => key.verify(rsa::pss::Pss::<Sha384>::new(), &hashed, signature),
        (true, Hash::Sha512) => key.verify(rsa::pss::Pss::<Sha512>::new(), &hashed, signature),
        (false, Hash::Sha256) => key.verify(rsa::Pkcs1v15Sign::new::<Sha256>(), &hashed, signature),
        (false, Hash::Sha384) => key.verify(rsa::Pkcs1v15Sign::new::<Sha384>(), &hashed, signature),
        (false, Hash::Sha512) => key.verify(rsa::Pkcs1v15Sign::new::<Sha512>(), &hashed, signature),
    };
    result.map_err(|e| bad(&e))
}
