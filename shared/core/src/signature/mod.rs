//! Image signatures: whether an image carries a signature by a key the policy trusts, and what the
//! signature gate makes of that (docs/signatures.md).
//!
//! - [`cosign`]: cosign's keyed signatures — the `sha256-<hex>.sig` manifest (or an OCI 1.1
//!   referrer whose `subject` is the image), each layer a simple-signing payload with its ECDSA
//!   P-256 / SHA-256 signature in the `dev.cosignproject.cosign/signature` annotation. The payload
//!   names the digest it signs: a valid signature over another digest is `digest_mismatch`.
//! - [`keys`]: the trusted keys, parsed once from the policy's PEM.
//! - [`gate`]: a check becomes a verdict: a signature may arrive after its image, so an unsigned
//!   image is PENDING for `grace_seconds` after its push (nothing moves), then FAIL.

pub mod cosign;
pub mod keys;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

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
}

impl SignatureCheck {
    /// The reason a failing check gives (a verdict message's and the Slack message's words).
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            Self::Signed { .. } => None,
            Self::Unsigned => Some("unsigned"),
            Self::UntrustedSigner => Some("untrusted_signer"),
            Self::DigestMismatch { .. } => Some("digest_mismatch"),
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

/// The default time a signature may arrive after its image.
pub const DEFAULT_GRACE_SECONDS: u64 = 600;

/// The verdict `check` gives an image pushed at `pushed_at`, at `now`. Only an unsigned image
/// waits: a signature that is there and wrong (untrusted, over another digest) fails at once, and
/// a valid one passes whenever it arrives.
pub fn gate(
    check: &SignatureCheck,
    pushed_at: DateTime<Utc>,
    now: DateTime<Utc>,
    grace_seconds: u64,
) -> SignatureVerdict {
    match check {
        SignatureCheck::Signed { key } => SignatureVerdict::Pass { key: key.clone() },
        SignatureCheck::Unsigned => {
            let grace = Duration::seconds(i64::try_from(grace_seconds).unwrap_or(i64::MAX));
            let until = pushed_at.checked_add_signed(grace).unwrap_or(pushed_at);
            if now < until {
                SignatureVerdict::Pending { until }
            } else {
                SignatureVerdict::Fail { reason: "unsigned" }
            }
        }
        other => SignatureVerdict::Fail {
            reason: other.reason().unwrap_or("unsigned"),
        },
    }
}
