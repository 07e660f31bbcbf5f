//! X.509 certificates and chains, as a Notation signature carries them (the Notary Project
//! signature specification; docs/signatures.md): the JWS `x5c` header, the signing certificate first, each certificate signed by the next, the last
//! one self-signed (the root); every one valid at the time the scheme says; the issuers CAs, the
//! signing certificate made for signing. Whom it chains to is the trust store's business
//! ([`Chain::anchored_in`]).
//!
//! The signature algorithms read: ECDSA with SHA-256/384/512 over P-256 or P-384 keys, RSA
//! PKCS #1 v1.5 and RSASSA-PSS with SHA-256/384/512 (RSA keys of 2048 bits or more), the
//! algorithms the Notary Project allows and AWS Signer uses (ECDSA P-384 / SHA-384).

use chrono::{DateTime, Utc};
use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
use rsa::pkcs8::DecodePublicKey as _;
use rsa::traits::PublicKeyParts as _;
use sha2::{Digest as _, Sha256, Sha384, Sha512};
use x509_cert::Certificate;
use x509_cert::der::{Decode as _, Encode as _};
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage};

/// The hash an algorithm signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    fn digest(self, message: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha256 => Sha256::digest(message).to_vec(),
            Self::Sha384 => Sha384::digest(message).to_vec(),
            Self::Sha512 => Sha512::digest(message).to_vec(),
        }
    }
}

/// How a signature is made and encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// ECDSA; `raw`: the JWS encoding (R ‖ S, fixed size), else ASN.1 DER (certificates).
    Ecdsa {
        hash: Hash,
        raw: bool,
    },
    RsaPkcs1 {
        hash: Hash,
    },
    RsaPss {
        hash: Hash,
    },
}

const ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
const ECDSA_SHA384: &str = "1.2.840.10045.4.3.3";
const ECDSA_SHA512: &str = "1.2.840.10045.4.3.4";
const RSA_SHA256: &str = "1.2.840.113549.1.1.11";
const RSA_SHA384: &str = "1.2.840.113549.1.1.12";
const RSA_SHA512: &str = "1.2.840.113549.1.1.13";
const EKU_CODE_SIGNING: &str = "1.3.6.1.5.5.7.3.3";
const EXTENDED_KEY_USAGE: &str = "2.5.29.37";

/// The least RSA modulus the Notary Project accepts.
const MIN_RSA_BITS: u32 = 2048;

impl Algorithm {
    /// A certificate's `signatureAlgorithm` (RSASSA-PSS certificates are not read).
    fn of_certificate(oid: &str) -> Option<Self> {
        let ecdsa = |hash| Some(Self::Ecdsa { hash, raw: false });
        match oid {
            ECDSA_SHA256 => ecdsa(Hash::Sha256),
            ECDSA_SHA384 => ecdsa(Hash::Sha384),
            ECDSA_SHA512 => ecdsa(Hash::Sha512),
            RSA_SHA256 => Some(Self::RsaPkcs1 { hash: Hash::Sha256 }),
            RSA_SHA384 => Some(Self::RsaPkcs1 { hash: Hash::Sha384 }),
            RSA_SHA512 => Some(Self::RsaPkcs1 { hash: Hash::Sha512 }),
            _ => None,
        }
    }
}

/// One certificate of a chain, with its DER and its to-be-signed part's DER.
#[derive(Debug, Clone)]
pub struct Cert {
    pub der: Vec<u8>,
    tbs: Vec<u8>,
    parsed: Certificate,
}

impl Cert {
    /// Parse one DER certificate, or say why not.
    pub fn from_der(der: &[u8]) -> Result<Self, String> {
        let parsed =
            Certificate::from_der(der).map_err(|e| format!("not an X.509 certificate: {e}"))?;
        let tbs = parsed
            .tbs_certificate()
            .to_der()
            .map_err(|e| format!("certificate does not encode: {e}"))?;
        Ok(Self {
            der: der.to_vec(),
            tbs,
            parsed,
        })
    }

    /// Every certificate of a PEM text (`-----BEGIN CERTIFICATE-----` blocks), or why not.
    pub fn from_pem_chain(pem: &str) -> Result<Vec<Self>, String> {
        let parsed = Certificate::load_pem_chain(pem.trim().as_bytes())
            .map_err(|e| format!("not PEM certificates (`-----BEGIN CERTIFICATE-----`): {e}"))?;
        if parsed.is_empty() {
            return Err("no certificate in the PEM text".to_owned());
        }
        parsed
            .iter()
            .map(|c| {
                c.to_der()
                    .map_err(|e| format!("certificate does not encode: {e}"))
                    .and_then(|der| Self::from_der(&der))
            })
            .collect()
    }

    /// SHA-384 of the to-be-signed part, in hex (AWS Signer's certificate hashes).
    pub fn tbs_sha384_hex(&self) -> String {
        hex::encode(Sha384::digest(&self.tbs))
    }

    /// The subject's name, for messages.
    pub fn subject(&self) -> String {
        self.parsed.tbs_certificate().subject().to_string()
    }

    /// Verify `signature` over `message` with this certificate's public key.
    pub fn verify(
        &self,
        algorithm: Algorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), String> {
        let spki = self
            .parsed
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .map_err(|e| format!("public key does not encode: {e}"))?;
        verify_with_spki(&spki, algorithm, message, signature)
    }

    fn valid_at(&self, at: DateTime<Utc>) -> bool {
        let validity = self.parsed.tbs_certificate().validity();
        let secs = |t: &x509_cert::time::Time| {
            i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
        };
        let at = at.timestamp();
        secs(&validity.not_before) <= at && at <= secs(&validity.not_after)
    }

    fn is_ca(&self) -> bool {
        matches!(
            self.parsed
                .tbs_certificate()
                .get_extension::<BasicConstraints>(),
            Ok(Some((_, BasicConstraints { ca: true, .. })))
        )
    }

    fn key_usage(&self) -> Result<Option<KeyUsage>, String> {
        self.parsed
            .tbs_certificate()
            .get_extension::<KeyUsage>()
            .map(|found| found.map(|(_, usage)| usage))
            .map_err(|e| format!("key usage does not parse: {e}"))
    }

    /// The extended key usage's purposes (`None`: no such extension), as dotted OIDs.
    fn extended_key_usage(&self) -> Option<Vec<String>> {
        let extensions = self.parsed.tbs_certificate().extensions()?;
        let found = extensions
            .iter()
            .find(|e| e.extn_id.to_string() == EXTENDED_KEY_USAGE)?;
        let usage =
            x509_cert::ext::pkix::ExtendedKeyUsage::from_der(found.extn_value.as_bytes()).ok()?;
        Some(usage.0.iter().map(ToString::to_string).collect())
    }

    /// Whether `issuer` signed this certificate (names and signature).
    fn issued_by(&self, issuer: &Cert) -> Result<(), String> {
        let tbs = self.parsed.tbs_certificate();
        if tbs.issuer() != issuer.parsed.tbs_certificate().subject() {
            return Err(format!(
                "`{}` is not issued by the next certificate, `{}`",
                self.subject(),
                issuer.subject()
            ));
        }
        let oid = self.parsed.signature_algorithm().oid.to_string();
        let algorithm = Algorithm::of_certificate(&oid)
            .ok_or_else(|| format!("`{}` is signed with {oid}, not read", self.subject()))?;
        let signature = self.parsed.signature().raw_bytes();
        issuer
            .verify(algorithm, &self.tbs, signature)
            .map_err(|e| format!("`{}`'s signature: {e}", self.subject()))
    }
}

impl PartialEq for Cert {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}

/// A certificate chain as the signature carries it, checked.
#[derive(Debug, Clone)]
pub struct Chain(pub Vec<Cert>);

impl Chain {
    /// Check `certs` (signing certificate first) as a code-signing chain valid at `at`: each
    /// issued by the next, the last self-signed, the issuers CAs allowed to sign certificates,
    /// the signing certificate for digital signatures and, where it says, code signing.
    pub fn check(certs: Vec<Cert>, at: DateTime<Utc>) -> Result<Self, String> {
        let Some(leaf) = certs.first() else {
            return Err("no certificate in the signature".to_owned());
        };
        if let Some(usage) = leaf.key_usage()?
            && !usage.digital_signature()
        {
            return Err(format!(
                "`{}` is not for digital signatures",
                leaf.subject()
            ));
        }
        if let Some(purposes) = leaf.extended_key_usage()
            && !purposes.iter().any(|p| p == EKU_CODE_SIGNING)
        {
            return Err(format!("`{}` is not for code signing", leaf.subject()));
        }
        for (i, cert) in certs.iter().enumerate() {
            if !cert.valid_at(at) {
                return Err(format!("`{}` is not valid at {at}", cert.subject()));
            }
            let issuer = certs.get(i + 1).unwrap_or(cert);
            cert.issued_by(issuer)?;
            if i > 0 && !cert.is_ca() {
                return Err(format!("`{}` is not a CA", cert.subject()));
            }
            if i > 0 && cert.key_usage()?.is_some_and(|u| !u.key_cert_sign()) {
                return Err(format!("`{}` may not sign certificates", cert.subject()));
            }
        }
        Ok(Self(certs))
    }

    /// Whether one of its certificates is one of `anchors` (the trust store's certificates).
    pub fn anchored_in(&self, anchors: &[Cert]) -> bool {
        self.0.iter().any(|c| anchors.contains(c))
    }

    pub fn leaf(&self) -> &Cert {
        &self.0[0]
    }
}

/// Verify `signature` over `message` with the public key `spki` (a DER SubjectPublicKeyInfo).
pub fn verify_with_spki(
    spki: &[u8],
    algorithm: Algorithm,
    message: &[u8],
    signature: &[u8],
) -> Result<(), String> {
    match algorithm {
        Algorithm::Ecdsa { hash, raw } => verify_ecdsa(spki, &hash.digest(message), raw, signature),
        Algorithm::RsaPkcs1 { hash } => verify_rsa(spki, hash, false, message, signature),
        Algorithm::RsaPss { hash } => verify_rsa(spki, hash, true, message, signature),
    }
}

fn bad(e: &dyn std::fmt::Display) -> String {
    format!("signature does not verify: {e}")
}

/// An ECDSA signature over `prehash` by a P-256 or P-384 key (`raw`: R ‖ S, else DER).
fn verify_ecdsa(spki: &[u8], prehash: &[u8], raw: bool, signature: &[u8]) -> Result<(), String> {
    if let Ok(key) = p256::ecdsa::VerifyingKey::from_public_key_der(spki) {
        let sig = if raw {
            p256::ecdsa::Signature::from_slice(signature)
        } else {
            p256::ecdsa::Signature::from_der(signature)
        }
        .map_err(|e| bad(&e))?;
        key.verify_prehash(prehash, &sig).map_err(|e| bad(&e))
    } else if let Ok(key) = p384::ecdsa::VerifyingKey::from_public_key_der(spki) {
        let sig = if raw {
            p384::ecdsa::Signature::from_slice(signature)
        } else {
            p384::ecdsa::Signature::from_der(signature)
        }
        .map_err(|e| bad(&e))?;
        key.verify_prehash(prehash, &sig).map_err(|e| bad(&e))
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
    if key.n_bits_precision() < MIN_RSA_BITS {
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
