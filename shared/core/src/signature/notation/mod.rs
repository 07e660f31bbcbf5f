//! Notation signatures made with AWS Signer (docs/signatures.md). A signature is an OCI 1.1
//! referrer of the image (artifact type `application/vnd.cncf.notary.signature`) whose layer is
//! the signature envelope ([`jws`]). It is trusted when:
//! - the envelope's signature verifies with its signing certificate, every critical attribute is
//!   understood, and it has not expired;
//! - its certificate chain ([`crate::certificate`]) is valid at AWS Signer's authentic signing time and holds
//!   a certificate of the policy's trust store (the AWS Signer root);
//! - its signing profile version (`com.amazonaws.signer.signingProfileVersion`) is one the policy
//!   trusts, as AWS Signer's Notation plugin matches it: a profile ARN trusts each of its
//!   versions, a version ARN itself;
//! - AWS Signer does not report it revoked: `GetRevocationStatus` with its profile version, its
//!   signing job, the chain's certificate hashes and its signing time ([`RevocationQuery`]).
//!
//! The payload names the artifact signed: a trusted signature over another digest is
//! `digest_mismatch`. Only JWS envelopes are read; a COSE envelope counts as a signature by no
//! trusted signer.

pub mod jws;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::SignatureCheck;
use crate::certificate::{Cert, Chain};
use crate::names::Digest;
use crate::policy::NotationTrust;
use jws::Envelope;

/// The artifact type of a Notation signature referrer.
pub const ARTIFACT_TYPE: &str = "application/vnd.cncf.notary.signature";
/// The AWS Signer attributes of a signature: its signing profile version and signing job.
pub const SIGNING_PROFILE_VERSION: &str = "com.amazonaws.signer.signingProfileVersion";
pub const SIGNING_JOB: &str = "com.amazonaws.signer.signingJob";
/// The AWS Signer platform Notation signs on (GetRevocationStatus's `platformId`).
pub const PLATFORM: &str = "Notation-OCI-SHA384-ECDSA";
/// The verification plugin AWS Signer's signatures name.
const SIGNER_PLUGIN: &str = "com.amazonaws.signer.notation.plugin";
const VERIFICATION_PLUGIN: &str = "io.cncf.notary.verificationPlugin";
/// The most signatures read for one image.
pub const MAX_SIGNATURES: usize = 16;

/// One Notation signature as the registry holds it: the referrer, its envelope layer's media type
/// and bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotationSignature {
    pub referrer: Digest,
    pub media_type: String,
    pub envelope: Vec<u8>,
}

/// What AWS Signer is asked of one signature (GetRevocationStatus's parameters).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct RevocationQuery {
    pub signature_timestamp: DateTime<Utc>,
    pub platform_id: String,
    pub profile_version_arn: String,
    pub job_arn: String,
    /// Per certificate, signing certificate first: the SHA-384 of its to-be-signed part and of
    /// its issuer's, in hex (the root's own twice), as AWS Signer's reference describes.
    pub certificate_hashes: Vec<String>,
}

/// A signature trusted but for its revocation status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The trusted profile (as the policy names it) the signature matched.
    pub profile: String,
    pub query: RevocationQuery,
}

/// What `subject`'s Notation signatures show before revocation is asked: the candidates (trusted
/// signatures over `subject`) and the check they give when none remains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Examined {
    pub candidates: Vec<Candidate>,
    pub otherwise: SignatureCheck,
}

/// Examine `subject`'s signatures against `trust` at `now`.
pub fn examine(
    subject: &Digest,
    signatures: &[NotationSignature],
    trust: &NotationTrust,
    now: DateTime<Utc>,
) -> Examined {
    let mut candidates = Vec::new();
    let mut elsewhere = None;
    let anchors = trust.anchors();
    for signature in signatures {
        match one(signature, trust, &anchors, now) {
            Ok((candidate, target)) if target == subject.as_str() => candidates.push(candidate),
            Ok((_, target)) => {
                elsewhere.get_or_insert(target);
            }
            // Why, in the log: `untrusted_signer` alone does not say what failed.
            Err(reason) => tracing::info!(
                referrer = %signature.referrer,
                reason = %reason,
                "a Notation signature is not trusted"
            ),
        }
    }
    let otherwise = match elsewhere {
        Some(signed) => SignatureCheck::DigestMismatch { signed },
        None if signatures.is_empty() => SignatureCheck::Unsigned,
        None => SignatureCheck::UntrustedSigner,
    };
    Examined {
        candidates,
        otherwise,
    }
}

/// The check once AWS Signer answered for each candidate (`revoked`: the entities it reported
/// revoked, per query): the first candidate nothing of which is revoked signs; all revoked is
/// `revoked` (by the first entity reported).
pub fn check(examined: &Examined, revoked: &[(RevocationQuery, Vec<String>)]) -> SignatureCheck {
    let mut first_revoked = None;
    for candidate in &examined.candidates {
        let entities = revoked
            .iter()
            .find(|(q, _)| *q == candidate.query)
            .map(|(_, e)| e.as_slice());
        match entities {
            Some([]) => {
                return SignatureCheck::Signed {
                    key: candidate.profile.clone(),
                };
            }
            Some([by, ..]) => {
                first_revoked.get_or_insert_with(|| by.clone());
            }
            // Not asked: never trusted without asking.
            None => {}
        }
    }
    match first_revoked {
        Some(by) => SignatureCheck::Revoked { by },
        None => examined.otherwise.clone(),
    }
}

/// Open and check one envelope as the Notary Project verifies it, trust store `anchors`: its
/// signature, critical attributes, expiry at `now`, and chain (valid at the authority's signing
/// time, or at `now` for the `notary.x509` scheme) holding an anchor.
pub fn verified(
    envelope: &[u8],
    anchors: &[Cert],
    now: DateTime<Utc>,
) -> Result<(Envelope, Chain), String> {
    let opened = jws::open(envelope)?;
    if opened.expiry.is_some_and(|e| e < now) {
        return Err("the signature has expired".to_owned());
    }
    let chain = Chain::check(opened.certificates.clone(), opened.signed_at.unwrap_or(now))?;
    if !chain.anchored_in(anchors) {
        return Err(format!(
            "the chain of `{}` holds no certificate of the trust store",
            chain.signer()
        ));
    }
    Ok((opened, chain))
}

/// One signature, its chain checked against the trust store's `anchors`: the candidate it makes
/// and the digest it signs, or why it is no trusted AWS Signer signature.
fn one(
    signature: &NotationSignature,
    trust: &NotationTrust,
    anchors: &[Cert],
    now: DateTime<Utc>,
) -> Result<(Candidate, String), String> {
    if signature.media_type != jws::MEDIA_TYPE {
        return Err(format!("a {} envelope is not read", signature.media_type));
    }
    let (envelope, chain) = verified(&signature.envelope, anchors, now)?;
    if envelope.scheme != jws::SCHEME_AUTHORITY {
        return Err(format!("scheme {} is not AWS Signer's", envelope.scheme));
    }
    let attribute = |name: &str| envelope.attributes.get(name).and_then(Value::as_str);
    if attribute(VERIFICATION_PLUGIN).is_some_and(|p| p != SIGNER_PLUGIN) {
        return Err("it names another verification plugin than AWS Signer's".to_owned());
    }
    let missing = |name: &str| format!("no `{name}` attribute");
    let version =
        attribute(SIGNING_PROFILE_VERSION).ok_or_else(|| missing(SIGNING_PROFILE_VERSION))?;
    let profile = trust
        .signing_profiles
        .iter()
        .find(|p| profile_matches(p, version))
        .ok_or_else(|| format!("signed by {version}, no trusted profile"))?;
    let query = RevocationQuery {
        signature_timestamp: envelope
            .signed_at
            .ok_or_else(|| missing("authenticSigningTime"))?,
        platform_id: PLATFORM.to_owned(),
        profile_version_arn: version.to_owned(),
        job_arn: attribute(SIGNING_JOB)
            .ok_or_else(|| missing(SIGNING_JOB))?
            .to_owned(),
        certificate_hashes: certificate_hashes(&chain),
    };
    let candidate = Candidate {
        profile: profile.clone(),
        query,
    };
    Ok((candidate, envelope.target))
}

/// AWS Signer's Notation plugin's identity match: a profile ARN
/// (`…:/signing-profiles/<name>`) trusts every version of it, a version ARN
/// (`…:/signing-profiles/<name>/<version>`) itself; case-insensitively, as the plugin compares
/// them (`strings.EqualFold` in aws/aws-signer-notation-plugin's verifier).
pub fn profile_matches(trusted: &str, version_arn: &str) -> bool {
    let segments = trusted
        .split_once(":/signing-profiles/")
        .map(|(_, rest)| rest.split('/').count());
    match segments {
        Some(1) => version_arn
            .rsplit_once('/')
            .is_some_and(|(profile, _)| profile.eq_ignore_ascii_case(trusted)),
        Some(2) => version_arn.eq_ignore_ascii_case(trusted),
        _ => false,
    }
}

/// The chain's certificate hashes as GetRevocationStatus takes them.
fn certificate_hashes(chain: &Chain) -> Vec<String> {
    let hashes: Vec<String> = chain
        .certificates()
        .iter()
        .map(Cert::tbs_sha384_hex)
        .collect();
    hashes
        .iter()
        .enumerate()
        .map(|(i, own)| format!("{own}{}", hashes.get(i + 1).unwrap_or(own)))
        .collect()
}
