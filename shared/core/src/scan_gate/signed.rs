//! The signature gate's part in an image's one verdict (docs/signatures.md).
//!
//! A scan FAIL decides alone: no signature is read. A scan PASS under a `signatures` policy reads
//! the image's cosign signatures; when none by a trusted key signs it, the indexes naming it as a
//! platform image (a signature on an index covers its platform images), then when it was pushed:
//! - a valid trusted signature: PASS, recorded with the key that signed;
//! - none, inside `grace_seconds` after the push: PENDING — nothing recorded, nothing moves, and
//!   the image is evaluated again at the grace's end ([`pending_until`]: the driver schedules it)
//!   or on the next event for it (its signature's push among them);
//! - none, past the grace: FAIL with the check's reason, quarantined unless the section says
//!   `on_fail: notify`.
//!
//! The signature's outcome joins the recorded fingerprint, so the same outcome again is
//! `Unchanged`, and a signature arriving after a FAIL records PASS and releases the image.

use chrono::{DateTime, Utc};

use super::decide::{Context, Facts, Need};
use super::subject::{Source, Subject};
use crate::names::Digest;
use crate::policy::{OnFail, Policy, SignatureKind, Signatures};
use crate::signature::{SignatureCheck, SignatureVerdict, cosign, gate};
use crate::verdict::{Evaluation, Verdict};

/// What the signature gate adds to a scan's evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum SignaturePart {
    /// Signed by a trusted key (`via`: the index whose signature covers the image).
    Pass { key: String, via: Option<Digest> },
    /// Past the grace without a valid trusted signature.
    Fail {
        check: SignatureCheck,
        quarantine: bool,
        expected: String,
    },
}

impl SignaturePart {
    /// The scan's evaluation with the signature's outcome joined: its verdict, reason and
    /// fingerprint.
    pub(super) fn joined(&self, scan: &Evaluation) -> Evaluation {
        let mut joined = scan.clone();
        match self {
            Self::Pass { key, .. } => {
                joined.fingerprint = format!("{}|signed:{key}", scan.fingerprint);
            }
            Self::Fail {
                check, expected, ..
            } => {
                let reason = check.reason().unwrap_or("unsigned");
                joined.verdict = Verdict::Fail;
                joined.reasons.push(format!(
                    "signature {reason}{}: expected {expected}",
                    detail(check)
                ));
                joined.fingerprint = format!("{}|signature:{reason}", scan.fingerprint);
            }
        }
        joined
    }

    /// Whether this part's FAIL quarantines.
    pub(super) fn quarantines(&self) -> bool {
        matches!(
            self,
            Self::Fail {
                quarantine: true,
                ..
            }
        )
    }
}

fn detail(check: &SignatureCheck) -> String {
    match check {
        SignatureCheck::DigestMismatch { signed } => format!(" (it signs {signed})"),
        SignatureCheck::SigningFailed { profile } => format!(" ({profile})"),
        SignatureCheck::Revoked { by } => format!(" ({by})"),
        _ => String::new(),
    }
}

/// What stops the signature part from being known yet.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Unknown {
    /// A read to make first.
    Need(Box<Need>),
    /// Inside the grace window: nothing moves until `until`.
    Pending {
        until: DateTime<Utc>,
        reason: &'static str,
    },
}

/// The signatures policy of the subject's repository, when its verdict includes one: an image a
/// scan evaluated (a pushed tag acts on the recorded verdict, which already includes it; an index
/// pushed with none takes its platform images' verdicts, which do).
fn policy_for<'p>(subject: &Subject, policy: &'p Policy) -> Option<&'p Signatures> {
    if matches!(subject.source, Source::Pushed { .. }) {
        return None;
    }
    let signatures = policy.for_repository(&subject.repository).signatures?;
    signatures
        .value
        .require
        .contains(&SignatureKind::CosignKey)
        .then_some(signatures.value)
}

/// The signature gate's part in `scan`'s verdict: `Ok(None)` when it has none (no `signatures`
/// policy, or the scan failed: a FAIL needs no signature read).
pub(super) fn part(
    subject: &Subject,
    policy: &Policy,
    ctx: &Context,
    scan: &Evaluation,
    facts: &Facts,
) -> Result<Option<SignaturePart>, Unknown> {
    let Some(signatures) = policy_for(subject, policy) else {
        return Ok(None);
    };
    if scan.verdict == Verdict::Fail {
        return Ok(None);
    }
    let keys = signatures.pem_keys();
    let need = |need: Need| Unknown::Need(Box::new(need));
    let Some(own) = &facts.signatures else {
        return Err(need(Need::Signatures {
            repository: subject.repository.clone(),
            digest: subject.digest.clone(),
        }));
    };
    let check = cosign::check(&subject.digest, own, &keys);
    if let SignatureCheck::Signed { key } = check {
        return Ok(Some(SignaturePart::Pass { key, via: None }));
    }
    let Some(parents) = &facts.parents else {
        return Err(need(Need::ParentIndexes {
            repository: subject.repository.clone(),
            digest: subject.digest.clone(),
        }));
    };
    if !parents.indexes.is_empty() {
        let Some(index_signatures) = &facts.index_signatures else {
            return Err(need(Need::IndexSignatures {
                repository: subject.repository.clone(),
                digests: parents
                    .indexes
                    .iter()
                    .map(|p| p.manifest.digest.clone())
                    .collect(),
            }));
        };
        for (index, signed) in index_signatures {
            if let SignatureCheck::Signed { key } = cosign::check(index, signed, &keys) {
                return Ok(Some(SignaturePart::Pass {
                    key,
                    via: Some(index.clone()),
                }));
            }
        }
    }
    let Some(pushed_at) = &facts.pushed_at else {
        return Err(need(Need::PushedAt {
            repository: subject.repository.clone(),
            digest: subject.digest.clone(),
        }));
    };
    // An image whose push time is unknown has no grace left.
    let pushed_at = pushed_at.unwrap_or(DateTime::<Utc>::MIN_UTC);
    match gate(&check, pushed_at, ctx.now, signatures.grace_seconds()) {
        SignatureVerdict::Pass { key } => Ok(Some(SignaturePart::Pass { key, via: None })),
        SignatureVerdict::Pending { until } => Err(Unknown::Pending {
            until,
            reason: check.reason().unwrap_or("unsigned"),
        }),
        SignatureVerdict::Fail { .. } => Ok(Some(SignaturePart::Fail {
            expected: expected(signatures),
            check,
            quarantine: signatures.on_fail() == OnFail::Quarantine,
        })),
    }
}

/// What the policy trusts, for the message: the names of the trusted keys.
fn expected(signatures: &Signatures) -> String {
    let names: Vec<&str> = signatures.keys.iter().map(|k| k.name.as_str()).collect();
    format!("a cosign signature by {}", names.join(" or "))
}

/// When the image's verdict waits for its signature: the end of its grace (the driver schedules
/// an evaluation then). `None` when it does not wait (or the facts do not say yet).
pub fn pending_until(
    subject: &Subject,
    policy: &Policy,
    ctx: &Context,
    facts: &Facts,
) -> Option<DateTime<Utc>> {
    let gate = policy.for_repository(&subject.repository).gate?;
    let scan = super::decide::scan_evaluation(subject, gate.value, facts, ctx)?;
    match part(subject, policy, ctx, &scan, facts) {
        Err(Unknown::Pending { until, .. }) => Some(until),
        _ => None,
    }
}
