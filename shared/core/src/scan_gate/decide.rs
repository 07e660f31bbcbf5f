//! scan-gate's pure decision: an image's subject, the policy and the facts read so far become the
//! next [`Step`] — a read to make ([`Need`]) or the plan ([`Step::Done`]).

use super::facts::{Facts, Need};
use super::moves::{Moves, Outcome, quarantine_step};
use super::naming::candidates;
use super::release::release_step;
use super::signed::{SignaturePart, Unknown};
use super::subject::{Source, Subject};
use chrono::{DateTime, Utc};

use crate::manifest::artifact_type;
use crate::message::Did;
use crate::names::{AccountId, Region};
use crate::plan::Plan;
use crate::policy::{DEFAULT_QUARANTINE_PREFIX, Gate, OnFail, Policy, Section};
use crate::records::{ImageResource, IndexRecord, ScanCoverage, VerdictClaim, VerdictRecord};
use crate::verdict::{self, Evaluation, Verdict};

pub const FUNCTION: &str = "scan-gate";

#[derive(Debug, Clone)]
pub struct Context {
    pub account: AccountId,
    pub region: Region,
    pub event_id: Option<String>,
    pub force_dry_run: bool,
    pub now: DateTime<Utc>,
}

/// The verdict the facts read for `subject` give, as scan-gate would act on it: `None` when no
/// gate applies, when the facts do not decide yet, and for a PASS from Inspector findings on an
/// image Inspector no longer scans (closed findings are no fix).
pub fn verdict_of(
    subject: &Subject,
    policy: &Policy,
    ctx: &Context,
    facts: &Facts,
) -> Option<Verdict> {
    let gate = policy.for_repository(&subject.repository).gate?;
    if matches!(subject.source, Source::Pushed { .. }) {
        return None;
    }
    let scan = evaluate(subject, gate.value, facts, ctx).ok()?;
    let verdict = match super::signed::part(subject, policy, ctx, &scan, facts) {
        Ok(Some(part)) => part.joined(&scan).verdict,
        Ok(None) => scan.verdict,
        Err(_) => return None,
    };
    let unscanned = matches!(subject.source, Source::InspectorFindings)
        && verdict == Verdict::Pass
        && !facts
            .coverage
            .as_ref()
            .is_some_and(|c| c.as_ref().is_some_and(ScanCoverage::is_active));
    (!unscanned).then_some(verdict)
}

#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Need(Need),
    /// The evidence is not complete yet: retry later (nothing recorded, nothing moved).
    Wait(Wait),
    Done(Plan),
}

pub(super) fn prefix(gate: &Gate) -> &str {
    gate.quarantine_prefix
        .as_deref()
        .unwrap_or(DEFAULT_QUARANTINE_PREFIX)
}

fn resource(subject: &Subject, ctx: &Context) -> ImageResource {
    ImageResource {
        account: ctx.account.clone(),
        region: ctx.region.clone(),
        repository: subject.repository.clone(),
        digest: subject.digest.clone(),
    }
}

/// Why an evaluation has no result yet.
pub(super) enum Pending {
    /// A fact to read first.
    Need(Box<Need>),
    /// The evidence read is not complete (a listing short of the counts): try again later.
    Wait(Wait),
    /// Nothing to evaluate (a tag pushed onto an image with no verdict yet), and why.
    Nothing(String),
}

/// Evidence that is not complete yet: the evaluation is retried (a retryable failure), never
/// decided on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wait {
    /// The read whose answer fell short.
    pub operation: &'static str,
    pub reason: String,
}

/// The scan's evaluation of the image, when the facts read decide it.
pub(super) fn scan_evaluation(
    subject: &Subject,
    gate: &Gate,
    facts: &Facts,
    ctx: &Context,
) -> Option<Evaluation> {
    evaluate(subject, gate, facts, ctx).ok()
}

/// The evaluation, or what it needs first.
fn evaluate(
    subject: &Subject,
    gate: &Gate,
    facts: &Facts,
    ctx: &Context,
) -> Result<Evaluation, Pending> {
    let today = ctx.now.date_naive();
    let need_findings = |enhanced| {
        Pending::Need(Box::new(Need::Findings {
            image: resource(subject, ctx),
            enhanced,
        }))
    };
    match &subject.source {
        Source::ScanFailed { status } => Ok(verdict::from_scan_failure(gate, status)),
        Source::Counts { counts, enhanced } => {
            from_counts(subject, gate, counts, *enhanced, facts, ctx)
        }
        Source::Unlisted => match &facts.findings {
            Some(findings) => Ok(verdict::from_findings(gate, findings, today)),
            None => Err(need_findings(false)),
        },
        Source::InspectorFindings => match &facts.findings {
            Some(findings) => Ok(verdict::from_findings(gate, findings, today)),
            None => Err(need_findings(true)),
        },
        Source::Pushed { index } => super::pushed::evaluation(subject, gate, facts, *index),
    }
}

/// A finished scan's counts: alone when they account for every finding and decide (a PASS, or a
/// gate no individual finding changes), else the whole listing — which, short of the counts,
/// is no PASS but a retry.
fn from_counts(
    subject: &Subject,
    gate: &Gate,
    counts: &crate::severity::SeverityCounts,
    enhanced: bool,
    facts: &Facts,
    ctx: &Context,
) -> Result<Evaluation, Pending> {
    let complete = verdict::counts_complete(counts, enhanced);
    let quick = verdict::from_counts(gate, counts);
    if complete && (quick.verdict == Verdict::Pass || !verdict::findings_matter(gate)) {
        return Ok(quick);
    }
    let Some(findings) = &facts.findings else {
        return Err(Pending::Need(Box::new(Need::Findings {
            image: resource(subject, ctx),
            enhanced,
        })));
    };
    let evaluation = verdict::from_findings(gate, findings, ctx.now.date_naive());
    match verdict::listing_shortfall(counts, findings) {
        Some(short) if evaluation.verdict == Verdict::Pass => Err(Pending::Wait(Wait {
            operation: if enhanced {
                "inspector2:ListFindings"
            } else {
                "ecr:DescribeImageScanFindings"
            },
            reason: format!(
                "{}@{}: the listing falls short of the scan's counts ({short}){}: no verdict on missing evidence",
                subject.repository,
                subject.digest.short(),
                if findings.is_empty() {
                    "; none are listed yet"
                } else {
                    ""
                }
            ),
        })),
        _ => Ok(evaluation),
    }
}

/// When the evidence a verdict rests on was produced: a listing of Inspector's current findings
/// is as new as its read (`ctx.now`); counts, and a basic scan's findings, are as old as the event
/// that announced the scan.
fn evidence_at(subject: &Subject, facts: &Facts, ctx: &Context) -> DateTime<Utc> {
    let live = match &subject.source {
        Source::InspectorFindings => true,
        Source::Counts { enhanced, .. } => *enhanced && facts.findings.is_some(),
        Source::Unlisted | Source::ScanFailed { .. } | Source::Pushed { .. } => false,
    };
    if live {
        ctx.now
    } else {
        subject.observed_at.unwrap_or(ctx.now)
    }
}

/// The verdict decision for one image.
pub fn decide(subject: &Subject, policy: &Policy, ctx: &Context, facts: &Facts) -> Step {
    let resolved = policy.for_repository(&subject.repository);
    let dry = ctx.force_dry_run || resolved.dry_run;
    let at = match subject.tags.first() {
        Some(tag) => format!("{}:{tag}", subject.repository),
        None => format!("{}@{}", subject.repository, subject.digest.short()),
    };
    let Some(gate) = resolved.gate else {
        return Step::Done(Plan::nothing(format!("{at}: no gate policy"), dry));
    };
    let evaluation = match evaluate(subject, gate.value, facts, ctx) {
        Ok(e) => e,
        Err(Pending::Need(need)) => return Step::Need(*need),
        Err(Pending::Wait(wait)) => return Step::Wait(wait),
        Err(Pending::Nothing(why)) => return Step::Done(Plan::nothing(why, dry)),
    };
    let outcome = Outcome {
        subject,
        resolved: &resolved,
        evaluation: &evaluation,
        ctx,
        dry,
        at: &at,
    };
    // A tag pushed onto an image with a recorded verdict acts on that record; an index pushed
    // with none gets its platform images' verdict recorded and acted on like a scan's.
    if matches!(subject.source, Source::Pushed { .. }) && matches!(facts.recorded, Some(Some(_))) {
        return super::pushed::pushed_step(&outcome, gate.value, facts);
    }
    verdict_steps(&outcome, gate, policy, facts).unwrap_or_else(|step| *step)
}

/// The evaluated image's decision in order; `Err`: a step decided on the way.
fn verdict_steps(
    o: &Outcome<'_>,
    gate: Section<'_, Gate>,
    policy: &Policy,
    facts: &Facts,
) -> Result<Step, Box<Step>> {
    gated_kind(o, gate.value, facts)?;
    still_scanned(o, facts)?;
    let signed = signature(o, policy, facts)?;
    let joined = signed.as_ref().map(|s| s.joined(o.evaluation));
    let o = &Outcome {
        evaluation: joined.as_ref().unwrap_or(o.evaluation),
        ..*o
    };
    let quarantine = match &signed {
        Some(part) => part.quarantines(),
        None => gate.value.on_fail == Some(OnFail::Quarantine),
    };
    let previous = previous(o, claim(o, gate, facts)?, facts)?;
    Ok(act(o, gate.value, previous, facts, quarantine))
}

/// The signature gate's part in the verdict; `Err`: a read to make, or the image waiting for its
/// signature (nothing recorded, nothing moves).
fn signature(
    o: &Outcome<'_>,
    policy: &Policy,
    facts: &Facts,
) -> Result<Option<SignaturePart>, Box<Step>> {
    match super::signed::part(o.subject, policy, o.ctx, o.evaluation, facts) {
        Ok(part) => Ok(part),
        Err(Unknown::Need(need)) => Err(Box::new(Step::Need(*need))),
        Err(Unknown::Pending { until, reason }) => Err(Box::new(Step::Done(Plan::nothing(
            format!(
                "{}: scan {}, signature PENDING ({reason}) until {}: nothing recorded or moved before then",
                o.at,
                o.evaluation.verdict.as_str(),
                until.to_rfc3339()
            ),
            o.dry,
        )))),
    }
}

/// Whether a failed scan's image is a container image (gated); `Err`: the read, or no gate.
fn gated_kind(o: &Outcome<'_>, gate: &Gate, facts: &Facts) -> Result<(), Box<Step>> {
    let (subject, evaluation, at) = (o.subject, o.evaluation, o.at);
    // Only container images are gated: a signature, SBOM or attestation has nothing to scan (basic
    // scanning ends UNSUPPORTED_IMAGE) and quarantining it would break its subject's verification.
    if let (Source::ScanFailed { status }, Verdict::Fail) = (&subject.source, evaluation.verdict) {
        match &facts.image {
            None => {
                return Err(Box::new(Step::Need(Need::ImageTags {
                    repository: subject.repository.clone(),
                    digest: subject.digest.clone(),
                    tags: candidates(subject, prefix(gate)),
                })));
            }
            Some(view) => {
                if let Some(kind) = view.manifest.as_ref().and_then(|m| artifact_type(&m.bytes)) {
                    return Err(Box::new(Step::Done(Plan::nothing(
                        format!("{at}: not a container image ({kind}); scan {status}: not gated"),
                        o.dry,
                    ))));
                }
            }
        }
    }
    Ok(())
}

/// Whether Inspector still scans an image its findings PASS; `Err`: the read, or no PASS.
fn still_scanned(o: &Outcome<'_>, facts: &Facts) -> Result<(), Box<Step>> {
    let (subject, evaluation, at) = (o.subject, o.evaluation, o.at);
    // A PASS from findings rests on Inspector still scanning the image: Inspector also closes
    // findings when an image stops being eligible for scanning or is deleted, and that is no fix.
    if matches!(subject.source, Source::InspectorFindings) && evaluation.verdict == Verdict::Pass {
        match &facts.coverage {
            None => {
                return Err(Box::new(Step::Need(Need::Coverage {
                    image: resource(subject, o.ctx),
                })));
            }
            Some(coverage) if !coverage.as_ref().is_some_and(ScanCoverage::is_active) => {
                let why = coverage.as_ref().map_or_else(
                    || "no longer covered (deleted or never eligible)".to_owned(),
                    |c| {
                        format!(
                            "no longer scanned ({} {})",
                            c.status,
                            c.reason.as_deref().unwrap_or_default()
                        )
                    },
                );
                return Err(Box::new(Step::Done(Plan::nothing(
                    format!(
                        "{at}: no ACTIVE findings, but Inspector {why}: closed findings are not a fix — no PASS, nothing released"
                    ),
                    o.dry,
                ))));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// The claim of the image's verdict record; `Err`: the record to claim (in dry-run, read).
fn claim<'f>(
    o: &Outcome<'_>,
    gate: Section<'_, Gate>,
    facts: &'f Facts,
) -> Result<&'f VerdictClaim, Box<Step>> {
    let (subject, evaluation, ctx) = (o.subject, o.evaluation, o.ctx);
    match &facts.claim {
        Some(claim) => Ok(claim),
        None => {
            let record = VerdictRecord {
                repository: subject.repository.clone(),
                digest: subject.digest.clone(),
                verdict: evaluation.verdict,
                max_severity: evaluation.max_severity.clone(),
                fingerprint: evaluation.fingerprint.clone(),
                policy_pattern: gate.pattern.map(str::to_owned),
                decided_at: ctx.now,
                evidence_at: evidence_at(subject, facts, ctx),
            };
            Err(Box::new(Step::Need(
                match super::pushed::index_rests_on(subject, facts) {
                    _ if o.dry => Need::VerdictRead { record },
                    Some(rests_on) => Need::IndexClaim {
                        index: IndexRecord { record, rests_on },
                    },
                    None => Need::VerdictClaim { record },
                },
            )))
        }
    }
}

/// The verdict recorded before this one; `Err`: the plan when the claim changed nothing.
fn previous<'f>(
    o: &Outcome<'_>,
    claim: &'f VerdictClaim,
    facts: &Facts,
) -> Result<Option<&'f VerdictRecord>, Box<Step>> {
    let (subject, evaluation, ctx, at, dry) = (o.subject, o.evaluation, o.ctx, o.at, o.dry);
    match claim {
        VerdictClaim::Unchanged => Err(Box::new(Step::Done(Plan::nothing(
            format!(
                "{at}: {} again, same findings: already decided and told",
                evaluation.verdict.as_str()
            ),
            dry,
        )))),
        VerdictClaim::Superseded { current } => Err(Box::new(Step::Done(Plan::nothing(
            format!(
                "{at}: {} on evidence of {}, but the recorded {} rests on newer evidence ({}): late, changes nothing",
                evaluation.verdict.as_str(),
                evidence_at(subject, facts, ctx).to_rfc3339(),
                current.verdict.as_str(),
                current.evidence_at.to_rfc3339()
            ),
            dry,
        )))),
        VerdictClaim::Stale { changed } => Err(Box::new(Step::Done(Plan::nothing(
            format!(
                "{at}: {} from its platform images, but the record of {} changed meanwhile: the evaluation that changed it decides",
                evaluation.verdict.as_str(),
                changed.short()
            ),
            dry,
        )))),
        VerdictClaim::Recorded { previous } => Ok(previous.as_ref()),
    }
}

/// What the recorded verdict does: quarantine, release or neither; then the indexes' verdicts.
fn act(
    o: &Outcome<'_>,
    gate: &Gate,
    previous: Option<&VerdictRecord>,
    facts: &Facts,
    quarantine: bool,
) -> Step {
    let step = match o.evaluation.verdict {
        Verdict::Fail if quarantine => quarantine_step(o, prefix(gate), facts),
        Verdict::Pass if previous.is_some_and(|p| p.verdict == Verdict::Fail) => {
            release_step(o, prefix(gate), facts)
        }
        _ => Step::Done(o.plan(Vec::new(), Did::None, Moves::default(), String::new())),
    };
    match step {
        Step::Done(plan) => super::index::index_verdicts(o, facts, plan),
        other => other,
    }
}
