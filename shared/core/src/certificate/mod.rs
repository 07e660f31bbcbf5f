//! X.509 certificates, as a Notation signature carries them (the Notary Project signature
//! specification; docs/signatures.md): parsed from the JWS `x5c` header or a trust store's PEM,
//! with what a chain check asks of each ([`chain`]) and signature verification ([`verify`]).
//!
//! The signature algorithms read: ECDSA with SHA-256/384/512 over P-256 or P-384 keys, RSA
//! PKCS #1 v1.5 and RSASSA-PSS with SHA-256/384/512 (RSA keys of 2048 bits or more), the
//! algorithms the Notary Project allows and AWS Signer uses (ECDSA P-384 / SHA-384).

mod chain;
mod verify;

pub use chain::Chain;

use chrono::{DateTime, Utc};
use sha2::{Digest as _, Sha256, Sha384, Sha512};
use x509_cert::Certificate;
use x509_cert::der::{Decode as _, Encode as _};
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage};

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
    /// ECDSA. `jws`: the JWS form — R ‖ S of fixed size, and the curve bound to the hash (ES256 is
    /// P-256, ES384 P-384); else a certificate's (ASN.1 DER, any hash).
    Ecdsa {
        hash: Hash,
        jws: bool,
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
const KEY_USAGE: &str = "2.5.29.15";
const SUBJECT_ALT_NAME: &str = "2.5.29.17";
const BASIC_CONSTRAINTS: &str = "2.5.29.19";
const EXTENDED_KEY_USAGE: &str = "2.5.29.37";
/// The critical extensions a chain check understands; a certificate with another one is refused
/// (RFC 5280 §4.2: a critical extension not recognised must be rejected).
const UNDERSTOOD_CRITICAL: [&str; 4] = [
    KEY_USAGE,
    SUBJECT_ALT_NAME,
    BASIC_CONSTRAINTS,
    EXTENDED_KEY_USAGE,
];

impl Algorithm {
    /// A certificate's `signatureAlgorithm` (RSASSA-PSS certificates are not read).
    fn of_certificate(oid: &str) -> Option<Self> {
        let ecdsa = |hash| Some(Self::Ecdsa { hash, jws: false });
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

/// One certificate, with its DER and its to-be-signed part's bytes as they were signed.
#[derive(Debug, Clone)]
pub struct Cert {
    der: Vec<u8>,
    tbs: Vec<u8>,
    parsed: Certificate,
}

impl PartialEq for Cert {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}

impl Cert {
    /// Parse one DER certificate, or say why not.
    pub fn from_der(der: &[u8]) -> Result<Self, String> {
        let parsed =
            Certificate::from_der(der).map_err(|e| format!("not an X.509 certificate: {e}"))?;
        let tbs = first_element(der)
            .ok_or("a certificate whose to-be-signed part cannot be found")?
            .to_vec();
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

    /// SHA-384 of the to-be-signed part as signed, in hex (AWS Signer's certificate hashes).
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
        verify::verify_with_spki(&spki, algorithm, message, signature)
    }

    /// Whether this is a trust anchor a store may hold: a CA that issued itself (names and
    /// signature).
    pub fn is_self_signed_ca(&self) -> bool {
        matches!(self.basic_constraints(), Ok(Some(c)) if c.ca) && self.issued_by(self).is_ok()
    }

    fn valid_at(&self, at: DateTime<Utc>) -> bool {
        let validity = self.parsed.tbs_certificate().validity();
        let secs = |t: &x509_cert::time::Time| {
            i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
        };
        let at = at.timestamp();
        secs(&validity.not_before) <= at && at <= secs(&validity.not_after)
    }

    fn basic_constraints(&self) -> Result<Option<BasicConstraints>, String> {
        self.parsed
            .tbs_certificate()
            .get_extension::<BasicConstraints>()
            .map(|found| found.map(|(_, c)| c))
            .map_err(|e| format!("`{}`: basic constraints do not parse: {e}", self.subject()))
    }

    fn key_usage(&self) -> Result<Option<KeyUsage>, String> {
        self.parsed
            .tbs_certificate()
            .get_extension::<KeyUsage>()
            .map(|found| found.map(|(_, usage)| usage))
            .map_err(|e| format!("`{}`: key usage does not parse: {e}", self.subject()))
    }

    /// The extended key usage's purposes (`None`: no such extension), as dotted OIDs.
    fn extended_key_usage(&self) -> Result<Option<Vec<String>>, String> {
        self.parsed
            .tbs_certificate()
            .get_extension::<ExtendedKeyUsage>()
            .map(|found| found.map(|(_, u)| u.0.iter().map(ToString::to_string).collect()))
            .map_err(|e| {
                format!(
                    "`{}`: extended key usage does not parse: {e}",
                    self.subject()
                )
            })
    }

    /// A critical extension the chain check does not understand, if any.
    fn unknown_critical(&self) -> Option<String> {
        let extensions = self.parsed.tbs_certificate().extensions()?;
        extensions
            .iter()
            .filter(|e| e.critical)
            .map(|e| e.extn_id.to_string())
            .find(|oid| !UNDERSTOOD_CRITICAL.contains(&oid.as_str()))
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

/// The first element inside the DER SEQUENCE `der` (a certificate's to-be-signed part), as
/// encoded: the bytes its signature covers, not a re-encoding.
fn first_element(der: &[u8]) -> Option<&[u8]> {
    let (_, inner) = tlv(der)?;
    let (header, body) = tlv(inner)?;
    inner.get(..header + body.len())
}

/// A DER tag-length-value at the start of `bytes`: its header's length and its value.
fn tlv(bytes: &[u8]) -> Option<(usize, &[u8])> {
    let first = *bytes.get(1)?;
    let (header, length) = if first < 0x80 {
        (2, usize::from(first))
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let length = bytes
            .get(2..2 + count)?
            .iter()
            .fold(0usize, |n, b| (n << 8) | usize::from(*b));
        (2 + count, length)
    };
    Some((header, bytes.get(header..header.checked_add(length)?)?))
}
