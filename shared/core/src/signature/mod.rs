//! Image signatures: whether an image carries a signature by a key the policy trusts, and what the
//! signature gate makes of that (docs/signatures.md).
//!
//! - [`cosign`]: cosign's keyed signatures — the `sha256-<hex>.sig` manifest (or an OCI 1.1
//!   referrer whose `subject` is the image), each layer a simple-signing payload with its ECDSA
//!   P-256 / SHA-256 signature in the `dev.cosignproject.cosign/signature` annotation. The payload
//!   names the digest it signs: a valid signature over another digest is `digest_mismatch`.
//! - [`managed`]: ECR managed signing — the image's signing status per required profile.
//! - the trusted keys are [`crate::trusted_key`]'s, parsed from the policy's PEM.
//! - [`gate`]: a check becomes a verdict: a signature may arrive after its image, so an image
//!   without a valid trusted signature is PENDING for `grace_seconds` after its push (nothing
//!   moves), then FAIL with the check's reason; a valid signature passes whenever it comes.
//!
//! Only cosign's legacy signature format is read (simple-signing layers: cosign ≤ 2.x, or v3 with
//! `--new-bundle-format=false`); cosign v3's default Sigstore bundle referrers are not yet
//! (docs/signatures.md).

pub mod cosign;
pub mod managed;
pub mod notation;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::policy::{SignatureKind, Signatures};

/// What the signatures on one image show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum SignatureCheck {
    /// A valid signature by a trusted key over this image's digest.
    Signed { key: String },
    /// No signature at all.
    Unsigned,
    /// Signatures, none by a trusted key (or none that verifies).
    UntrustedSigner,
    /// A trusted key's valid signature, over another image's digest (a signature copied across).
    DigestMismatch { signed: String },
    /// ECR's managed signing reported FAILED for a required profile.
    SigningFailed { profile: String },
    /// The signing certificate or profile was revoked (`signer:GetRevocationStatus`).
    Revoked { by: String },
}

impl SignatureCheck {
    /// The reason a failing check gives (a verdict message's and the Slack message's words).
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            Self::Signed { .. } => None,
            Self::Unsigned => Some("unsigned"),
            Self::UntrustedSigner => Some("untrusted_signer"),
            Self::DigestMismatch { .. } => Some("digest_mismatch"),
            Self::SigningFailed { .. } => Some("signing_failed"),
            Self::Revoked { .. } => Some("revoked"),
        }
    }
}

/// The signature gate's verdict for one image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SignatureVerdict {
    Pass {
        key: String,
    },
    /// Inside the grace window: nothing moves; decided again at `until` or on the next event.
    Pending {
        until: DateTime<Utc>,
    },
    Fail {
        reason: &'static str,
    },
}

pub use crate::policy::DEFAULT_GRACE_SECONDS;

/// The verdict `check` gives an image pushed at `pushed_at`, at `now`. A valid trusted signature
/// passes whenever it arrives; anything else waits until `grace_seconds` after the push (the
/// right signature may still come, and the order signatures arrive in must not matter), then
/// fails with its reason.
pub fn gate(
    check: &SignatureCheck,
    pushed_at: DateTime<Utc>,
    now: DateTime<Utc>,
    grace_seconds: u64,
) -> SignatureVerdict {
    if let SignatureCheck::Signed { key } = check {
        return SignatureVerdict::Pass { key: key.clone() };
    }
    let grace = i64::try_from(grace_seconds)
        .ok()
        .and_then(TimeDelta::try_seconds)
        .unwrap_or(TimeDelta::MAX);
    let until = pushed_at
        .checked_add_signed(grace)
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    if now < until {
        SignatureVerdict::Pending { until }
    } else {
        SignatureVerdict::Fail {
            reason: check.reason().unwrap_or("unsigned"),
        }
    }
}

/// What a repository's `signatures` policy makes of one image's signatures: the joined check of
/// the kinds read, the gate's verdict, and the required kinds not read here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignatureEvidence {
    pub check: SignatureCheck,
    pub verdict: SignatureVerdict,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_checked: Vec<SignatureKind>,
}

/// The checks of several required kinds as one: all signed is Signed by their keys (joined with
/// `+`); else a failed signing job, whatever else is missing; else the first that did not pass.
/// No check at all is unsigned.
pub fn joined(checks: &[SignatureCheck]) -> SignatureCheck {
    if checks.is_empty() {
        return SignatureCheck::Unsigned;
    }
    let mut keys = Vec::new();
    let mut failed = None;
    for check in checks {
        match check {
            SignatureCheck::Signed { key } => keys.push(key.as_str()),
            failing @ SignatureCheck::SigningFailed { .. } => failed = Some(failing),
            failing => {
                failed.get_or_insert(failing);
            }
        }
    }
    match failed {
        Some(check) => check.clone(),
        None => SignatureCheck::Signed {
            key: keys.join("+"),
        },
    }
}

/// The evidence of an image's signatures under `policy`: `checks` (the kinds read, each with its
/// check) joined and gated for an image pushed at `pushed_at` (unknown: no grace is left), at
/// `now`.
pub fn evidence(
    policy: &Signatures,
    checks: &[(SignatureKind, SignatureCheck)],
    pushed_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> SignatureEvidence {
    let read: Vec<SignatureCheck> = checks.iter().map(|(_, c)| c.clone()).collect();
    let check = joined(&read);
    let verdict = gate(
        &check,
        pushed_at.unwrap_or(DateTime::<Utc>::MIN_UTC),
        now,
        policy.grace_seconds(),
    );
    let not_checked = policy
        .require
        .iter()
        .copied()
        .filter(|k| !checks.iter().any(|(read, _)| read == k))
        .collect();
    SignatureEvidence {
        check,
        verdict,
        not_checked,
    }
}

/// What a `signatures` policy trusts, in words for messages and the operator: the names of its
/// keys, the signing profiles ECR must have signed with.
pub fn expected(signatures: &Signatures) -> String {
    let mut expected = Vec::new();
    for kind in &signatures.require {
        match kind {
            SignatureKind::CosignKey => {
                let names: Vec<&str> = signatures.keys.iter().map(|k| k.name.as_str()).collect();
                expected.push(format!("a cosign signature by {}", names.join(" or ")));
            }
            SignatureKind::EcrManaged => {
                let profiles = signatures
                    .ecr_managed
                    .as_ref()
                    .map(|p| p.signing_profiles.join(", "))
                    .unwrap_or_default();
                expected.push(format!("ECR managed signing COMPLETE with {profiles}"));
            }
            SignatureKind::Notation => {
                let profiles = signatures
                    .notation
                    .as_ref()
                    .map(|n| n.signing_profiles.join(" or "))
                    .unwrap_or_default();
                expected.push(format!(
                    "a Notation signature by {profiles} (AWS Signer), not revoked"
                ));
            }
        }
    }
    expected.join(" and ")
}
