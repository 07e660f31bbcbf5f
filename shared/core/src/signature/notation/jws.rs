//! Notation's JWS signature envelope (`application/jose+json`, the Notary Project's JWS
//! signature envelope specification): the JSON serialization with one signature — `payload` and
//! `protected` base64url, `header.x5c` the certificate chain (standard base64 DER, signing
//! certificate first), `signature` base64url over `protected.payload`. The protected header names
//! the algorithm, the signing scheme and its times, and lists in `crit` the attributes a verifier
//! must understand; the payload names the signed artifact (`targetArtifact`).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::certificate::{Algorithm, Cert, Hash};

/// The media type of a JWS envelope layer.
pub const MEDIA_TYPE: &str = "application/jose+json";
/// The payload's content type.
const PAYLOAD_TYPE: &str = "application/vnd.cncf.notary.payload.v1+json";

/// The signing schemes: a certificate's own signing time, or a signing authority's
/// authenticated one.
pub const SCHEME_X509: &str = "notary.x509";
pub const SCHEME_AUTHORITY: &str = "notary.x509.signingAuthority";

const SIGNING_SCHEME: &str = "io.cncf.notary.signingScheme";
const SIGNING_TIME: &str = "io.cncf.notary.signingTime";
const AUTHENTIC_TIME: &str = "io.cncf.notary.authenticSigningTime";
const EXPIRY: &str = "io.cncf.notary.expiry";

/// The critical attributes this verifier understands (any other in `crit` fails the signature,
/// as the specification asks), with the AWS Signer plugin's, which [`super`] reads itself.
const UNDERSTOOD: &[&str] = &[
    SIGNING_SCHEME,
    AUTHENTIC_TIME,
    EXPIRY,
    "io.cncf.notary.verificationPlugin",
    "io.cncf.notary.verificationPluginMinVersion",
    super::SIGNING_PROFILE_VERSION,
    super::SIGNING_JOB,
];

/// An envelope whose signature verified with its signing certificate.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// The signed artifact's digest (`targetArtifact.digest`).
    pub target: String,
    pub scheme: String,
    /// The time the chain must be valid at (the authority's time, else when it was checked).
    pub signed_at: Option<DateTime<Utc>>,
    pub expiry: Option<DateTime<Utc>>,
    /// The protected header's attributes.
    pub attributes: Map<String, Value>,
    /// The certificates, signing certificate first (not checked as a chain yet).
    pub certificates: Vec<Cert>,
}

/// Parse `bytes` as a JWS envelope and verify its signature with its signing certificate, or say
/// what is wrong (a malformed or unverifiable envelope is no signature).
pub fn open(bytes: &[u8]) -> Result<Envelope, String> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not a JWS envelope: {e}"))?;
    let field = |name: &str| {
        value
            .get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("the envelope has no `{name}`"))
    };
    let (protected_b64, payload_b64) = (field("protected")?, field("payload")?);
    let signature = url_decode(field("signature")?, "signature")?;
    let protected: Map<String, Value> =
        serde_json::from_slice(&url_decode(protected_b64, "protected")?)
            .map_err(|e| format!("the protected header is not a JSON object: {e}"))?;
    let certificates = certificates(&value)?;
    let algorithm = algorithm(&protected)?;
    let leaf = certificates
        .first()
        .ok_or_else(|| "`x5c` holds no certificate".to_owned())?;
    let signing_input = format!("{protected_b64}.{payload_b64}");
    leaf.verify(algorithm, signing_input.as_bytes(), &signature)?;
    understood(&protected)?;
    if protected.get("cty").and_then(Value::as_str) != Some(PAYLOAD_TYPE) {
        return Err(format!("the payload is not {PAYLOAD_TYPE}"));
    }
    let payload: Value = serde_json::from_slice(&url_decode(payload_b64, "payload")?)
        .map_err(|e| format!("the payload is not JSON: {e}"))?;
    let target = payload
        .pointer("/targetArtifact/digest")
        .and_then(Value::as_str)
        .ok_or("the payload names no `targetArtifact.digest`")?
        .to_owned();
    let scheme = text(&protected, SIGNING_SCHEME)?.ok_or("no signing scheme")?;
    let signed_at = match scheme.as_str() {
        SCHEME_X509 => {
            time(&protected, SIGNING_TIME)?.ok_or("no `io.cncf.notary.signingTime`")?;
            None
        }
        SCHEME_AUTHORITY => Some(
            time(&protected, AUTHENTIC_TIME)?.ok_or("no `io.cncf.notary.authenticSigningTime`")?,
        ),
        other => {
            return Err(format!(
                "signing scheme `{other}` is not one Notary defines"
            ));
        }
    };
    Ok(Envelope {
        target,
        scheme,
        signed_at,
        expiry: time(&protected, EXPIRY)?,
        attributes: protected,
        certificates,
    })
}

fn url_decode(text: &str, what: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|e| format!("`{what}` is not base64url: {e}"))
}

fn certificates(envelope: &Value) -> Result<Vec<Cert>, String> {
    let x5c = envelope
        .pointer("/header/x5c")
        .and_then(Value::as_array)
        .ok_or("the envelope has no `header.x5c` certificate chain")?;
    x5c.iter()
        .map(|c| {
            let der = STANDARD
                .decode(c.as_str().unwrap_or_default())
                .map_err(|e| format!("an `x5c` entry is not base64: {e}"))?;
            Cert::from_der(&der)
        })
        .collect()
}

/// The JWS `alg` values the Notary Project allows, but ES512 (P-521 keys are not read).
fn algorithm(protected: &Map<String, Value>) -> Result<Algorithm, String> {
    let ecdsa = |hash| Ok(Algorithm::Ecdsa { hash, jws: true });
    match protected.get("alg").and_then(Value::as_str) {
        Some("ES256") => ecdsa(Hash::Sha256),
        Some("ES384") => ecdsa(Hash::Sha384),
        // ES512 is P-521, which this verifier does not read.
        Some("PS256") => Ok(Algorithm::RsaPss { hash: Hash::Sha256 }),
        Some("PS384") => Ok(Algorithm::RsaPss { hash: Hash::Sha384 }),
        Some("PS512") => Ok(Algorithm::RsaPss { hash: Hash::Sha512 }),
        other => Err(format!(
            "algorithm {} is not one Notary allows",
            other.unwrap_or("(none)")
        )),
    }
}

/// `crit` is a list of names, every one understood; it lists the signing scheme, and the
/// authentic signing time and the expiry when they are given (the specification makes them
/// critical).
fn understood(protected: &Map<String, Value>) -> Result<(), String> {
    let listed = protected
        .get("crit")
        .and_then(Value::as_array)
        .ok_or("the protected header has no `crit` list")?;
    let crit: Vec<&str> = listed.iter().filter_map(Value::as_str).collect();
    if crit.len() != listed.len() {
        return Err("`crit` holds something other than names".to_owned());
    }
    if let Some(unknown) = crit.iter().find(|c| !UNDERSTOOD.contains(c)) {
        return Err(format!("critical attribute `{unknown}` is not understood"));
    }
    let must = [SIGNING_SCHEME, AUTHENTIC_TIME, EXPIRY];
    match must.iter().find(|name| {
        (**name == SIGNING_SCHEME || protected.contains_key(**name)) && !crit.contains(name)
    }) {
        Some(missing) => Err(format!("`crit` does not list `{missing}`")),
        None => Ok(()),
    }
}

fn text(protected: &Map<String, Value>, name: &str) -> Result<Option<String>, String> {
    match protected.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("`{name}` is not a string")),
    }
}

fn time(protected: &Map<String, Value>, name: &str) -> Result<Option<DateTime<Utc>>, String> {
    text(protected, name)?
        .map(|t| {
            DateTime::parse_from_rfc3339(&t)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| format!("`{name}` is not an RFC 3339 time: {e}"))
        })
        .transpose()
}
