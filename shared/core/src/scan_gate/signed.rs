//! The signature gate's part in an image's one verdict (docs/signatures.md).
//!
//! A scan FAIL decides alone: no signature is read. A scan PASS under a `signatures` policy checks
//! every required kind: `cosign-key` reads the image's cosign signatures, and when none by a
//! trusted key signs it, the indexes naming it as a platform image (a signature on an index
//! covers its platform images); `ecr-managed` reads its signing status per profile. Then:
//! - every kind passes: PASS, recorded with the keys and profiles that signed;
//! - one does not, inside `grace_seconds` after the push (read then): PENDING — nothing recorded,
//!   nothing moves, and the image is evaluated again at the grace's end ([`pending_until`]: the
//!   driver schedules it) or on the next event for it (its signature's push among them);
//! - one does not, past the grace: FAIL with the check's reason (a failed signing job first),
//!   quarantined unless the section says `on_fail: notify`.
//!
//! The signature's outcome joins the recorded fingerprint, so the same outcome again is
//! `Unchanged`, and a signature arriving after a FAIL records PASS and releases the image.

use chrono::{DateTime, Utc};

use super::decide::Context;
use super::facts::{Facts, Need};
use super::subject::{Source, Subject};
use crate::names::Digest;
use crate::policy::{Gate, OnFail, Policy, SignatureKind, Signatures};
use crate::signature::notation::{self, NotationSignature};
use crate::signature::{SignatureCheck, SignatureVerdict, cosign, expected, gate, joined, managed};
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
                joined.fingerprint = format!("{}{SIGNATURE_FAIL}{reason}", scan.fingerprint);
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

/// Whether a recorded FAIL quarantines: one the signature gate decided (its fingerprint carries
/// the signature's reason) follows the `signatures` section's `on_fail`, any other the gate's.
pub(super) fn recorded_fail_quarantines(
    fingerprint: &str,
    gate: &Gate,
    signatures: Option<&Signatures>,
) -> bool {
    match signatures {
        Some(s) if fingerprint.contains(SIGNATURE_FAIL) => s.on_fail() == OnFail::Quarantine,
        _ => gate.on_fail == Some(OnFail::Quarantine),
    }
}

/// What a FAIL the signature decided adds to the recorded fingerprint, before its reason.
const SIGNATURE_FAIL: &str = "|signature:";

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
    (!signatures.value.require.is_empty()).then_some(signatures.value)
}

/// The signature gate's part in `scan`'s verdict: `Ok(None)` when it has none (no `signatures`
/// policy, or the scan failed: a FAIL needs no signature read). Every required kind must pass.
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
    let mut checks = Vec::with_capacity(signatures.require.len());
    let mut via = None;
    for kind in &signatures.require {
        let (check, covered_by) = match kind {
            SignatureKind::CosignKey => cosign_check(subject, signatures, facts)?,
            SignatureKind::EcrManaged => (managed_check(subject, signatures, facts)?, None),
            SignatureKind::Notation => notation_check(subject, signatures, ctx, facts)?,
        };
        if matches!(check, SignatureCheck::Signed { .. }) {
            via = via.or(covered_by);
        }
        checks.push(check);
    }
    let check = match joined(&checks) {
        SignatureCheck::Signed { key } => return Ok(Some(SignaturePart::Pass { key, via })),
        check => check,
    };
    past_grace(subject, signatures, ctx, facts, check)
}

/// A check that did not pass, against the grace after the push (read now): PENDING inside it,
/// FAIL past it.
fn past_grace(
    subject: &Subject,
    signatures: &Signatures,
    ctx: &Context,
    facts: &Facts,
    check: SignatureCheck,
) -> Result<Option<SignaturePart>, Unknown> {
    let Some(pushed_at) = &facts.pushed_at else {
        return Err(Unknown::Need(Box::new(Need::PushedAt {
            repository: subject.repository.clone(),
            digest: subject.digest.clone(),
        })));
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

/// The image's cosign check: its own signatures, else those of the indexes naming it as a
/// platform image (with the index whose signature covers it).
fn cosign_check(
    subject: &Subject,
    signatures: &Signatures,
    facts: &Facts,
) -> Result<(SignatureCheck, Option<Digest>), Unknown> {
    let need = |need: Need| Unknown::Need(Box::new(need));
    let mut keys = signatures.pem_keys();
    let kms = signatures.kms_keys();
    if !kms.is_empty() {
        let Some(read) = &facts.kms_keys else {
            return Err(need(Need::KmsKeys {
                keys: kms
                    .iter()
                    .map(|(name, id)| ((*name).to_owned(), (*id).to_owned()))
                    .collect(),
            }));
        };
        keys.extend(read.iter().cloned());
    }
    let Some(own) = &facts.signatures else {
        return Err(need(Need::Signatures {
            repository: subject.repository.clone(),
            digest: subject.digest.clone(),
        }));
    };
    let check = cosign::check(&subject.digest, own, &keys);
    covered_by_indexes(
        subject,
        facts,
        check,
        facts.index_signatures.as_deref(),
        |repository, digests| Need::IndexSignatures {
            repository,
            digests,
        },
        |index, signed| Ok(cosign::check(index, signed, &keys)),
    )
}

/// `check` (the image's own), unless it did not pass and an index naming the image as a platform
/// image is signed (`index_facts`: their signatures, read by the need `read_indexes` makes;
/// `check_index`: one index's check): then that one's, with the index.
fn covered_by_indexes<T>(
    subject: &Subject,
    facts: &Facts,
    check: SignatureCheck,
    index_facts: Option<&[(Digest, T)]>,
    read_indexes: impl Fn(crate::names::RepositoryName, Vec<Digest>) -> Need,
    check_index: impl Fn(&Digest, &T) -> Result<SignatureCheck, Unknown>,
) -> Result<(SignatureCheck, Option<Digest>), Unknown> {
    let need = |need: Need| Unknown::Need(Box::new(need));
    if matches!(check, SignatureCheck::Signed { .. }) {
        return Ok((check, None));
    }
    let Some(parents) = &facts.parents else {
        return Err(need(Need::ParentIndexes {
            repository: subject.repository.clone(),
            digest: subject.digest.clone(),
        }));
    };
    if parents.indexes.is_empty() {
        return Ok((check, None));
    }
    let Some(index_facts) = index_facts else {
        let digests = parents
            .indexes
            .iter()
            .map(|p| p.manifest.digest.clone())
            .collect();
        return Err(need(read_indexes(subject.repository.clone(), digests)));
    };
    for (index, found) in index_facts {
        if let covered @ SignatureCheck::Signed { .. } = check_index(index, found)? {
            return Ok((covered, Some(index.clone())));
        }
    }
    Ok((check, None))
}

/// The image's Notation check: its own signatures, else those of the indexes naming it as a
/// platform image (with the index whose signature covers it). A trusted signature counts once
/// AWS Signer reports nothing of it revoked.
fn notation_check(
    subject: &Subject,
    signatures: &Signatures,
    ctx: &Context,
    facts: &Facts,
) -> Result<(SignatureCheck, Option<Digest>), Unknown> {
    let need = |need: Need| Unknown::Need(Box::new(need));
    // Validation requires the trust for `require: [notation]`; without it nothing is trusted.
    let Some(trust) = &signatures.notation else {
        return Ok((SignatureCheck::UntrustedSigner, None));
    };
    let Some(own) = &facts.notation else {
        return Err(need(Need::NotationSignatures {
            repository: subject.repository.clone(),
            digest: subject.digest.clone(),
        }));
    };
    let check = signer_check(&subject.digest, own, trust, ctx, facts)?;
    covered_by_indexes(
        subject,
        facts,
        check,
        facts.index_notation.as_deref(),
        |repository, digests| Need::IndexNotationSignatures {
            repository,
            digests,
        },
        |index, found| signer_check(index, found, trust, ctx, facts),
    )
}

/// `digest`'s Notation signatures under `trust`: examined, then AWS Signer asked of each trusted
/// one not asked yet.
fn signer_check(
    digest: &Digest,
    found: &[NotationSignature],
    trust: &crate::policy::NotationTrust,
    ctx: &Context,
    facts: &Facts,
) -> Result<SignatureCheck, Unknown> {
    let examined = notation::examine(digest, found, trust, ctx.now);
    let unasked: Vec<_> = examined
        .candidates
        .iter()
        .map(|c| c.query.clone())
        .filter(|q| !facts.revocations.iter().any(|(asked, _)| asked == q))
        .collect();
    if !unasked.is_empty() {
        return Err(Unknown::Need(Box::new(Need::Revocations {
            queries: unasked,
        })));
    }
    Ok(notation::check(&examined, &facts.revocations))
}

/// The image's ECR managed signing check: its signing status per required profile.
fn managed_check(
    subject: &Subject,
    signatures: &Signatures,
    facts: &Facts,
) -> Result<SignatureCheck, Unknown> {
    let Some(statuses) = &facts.managed_signing else {
        return Err(Unknown::Need(Box::new(Need::ManagedSigning {
            repository: subject.repository.clone(),
            digest: subject.digest.clone(),
        })));
    };
    let required = signatures
        .ecr_managed
        .as_ref()
        .map(|p| p.signing_profiles.as_slice())
        .unwrap_or_default();
    Ok(managed::check(required, statuses))
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
