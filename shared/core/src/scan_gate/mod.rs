//! scan-gate's decisions: a verdict per image, and quarantine of that image only.
//!
//! Like tag-guard, [`decide`] is pure and re-run as facts arrive ([`Step::Need`] until
//! [`Step::Done`]), so only the reads a verdict needs are made:
//! 1. the verdict — from the event's counts (0 reads) unless exceptions or the fixable filter could
//!    change a FAIL; from the findings otherwise (always for an Inspector finding event: the image's
//!    current ACTIVE findings decide, not the one event);
//! 2. a conditional write of (verdict, finding-set fingerprint): unchanged means a duplicate or
//!    re-emitted finding — nothing to do, nothing to tell;
//! 3. on FAIL with `on_fail: quarantine`, each tag still on the image moves to `<prefix><tag>` (same
//!    manifest bytes, so the digest is kept) and the original tags are removed — the image survives
//!    under its quarantine tags; on a later PASS the original tags come back unless a newer image
//!    has taken one (reported).

mod drive;
mod moves;
mod naming;
#[cfg(test)]
mod tests;

pub use drive::{Ports, Report, gate_image, handle_batch, handle_event};
pub use moves::amend;
use moves::{Moves, Outcome, quarantine_step, release_step};
use naming::candidates;
pub use naming::{original_tag, quarantine_tag};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::event::{Detail, Event, InspectorFinding};
use crate::execute::Executed;
use crate::manifest::artifact_type;
use crate::message::{
    Body, Did, MAX_MESSAGE_FINDINGS, Message, MessageAction, SCHEMA, VerdictBody,
};
use crate::names::{AccountId, Digest, Region, RepositoryName, Tag, repository_from_name_or_arn};
use crate::plan::{Action, Plan, TagMove};
use crate::policy::{DEFAULT_QUARANTINE_PREFIX, Gate, OnFail, Policy, Resolved};
use crate::ports::{ImageResource, ImageView, Manifest, ScanCoverage, VerdictClaim, VerdictRecord};
use crate::severity::SeverityCounts;
use crate::verdict::{self, Evaluation, Finding, Verdict};

pub const FUNCTION: &str = "scan-gate";

#[derive(Debug, Clone)]
pub struct Context {
    pub account: AccountId,
    pub region: Region,
    pub event_id: Option<String>,
    pub force_dry_run: bool,
    pub now: DateTime<Utc>,
}

/// Where the verdict's input comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum Source {
    /// A finished scan with its counts (basic, or Inspector's first scan when `enhanced`).
    Counts {
        counts: SeverityCounts,
        enhanced: bool,
    },
    /// A finished basic scan whose counts ECR left out (AWS does not say a scan that found nothing
    /// reports `{}`: docs/emulator.md, `scan_no_findings_counts`): the whole findings listing
    /// decides, never the absence of counts.
    Unlisted,
    /// A scan that did not finish (`FAILED`, `UNSUPPORTED_IMAGE`, ...).
    ScanFailed { status: String },
    /// An Inspector finding changed: the image's current ACTIVE findings decide.
    InspectorFindings,
}

/// The image a verdict is about.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Subject {
    pub repository: RepositoryName,
    pub digest: Digest,
    pub tags: Vec<Tag>,
    pub source: Source,
}

/// What an event asks scan-gate to evaluate, or why nothing.
pub fn subject(event: &Event) -> Result<Subject, String> {
    match &event.detail {
        Detail::BasicScan(scan) => Ok(Subject {
            repository: scan.repository_name.clone(),
            digest: scan.image_digest.clone(),
            tags: scan.image_tags.clone(),
            source: match (&scan.finding_severity_counts, scan.scan_status.as_str()) {
                (Some(counts), "COMPLETE") => Source::Counts {
                    counts: counts.clone(),
                    enhanced: false,
                },
                (None, "COMPLETE") => Source::Unlisted,
                _ => Source::ScanFailed {
                    status: scan.scan_status.clone(),
                },
            },
        }),
        Detail::InspectorScan(scan) => Ok(Subject {
            repository: scan.repository().map_err(|e| e.to_string())?,
            digest: scan.image_digest.clone(),
            tags: scan.image_tags.clone(),
            source: if matches!(
                scan.scan_status.as_str(),
                "INITIAL_SCAN_COMPLETE" | "COMPLETE" | "ACTIVE"
            ) {
                Source::Counts {
                    counts: scan.finding_severity_counts.clone(),
                    enhanced: true,
                }
            } else {
                Source::ScanFailed {
                    status: scan.scan_status.clone(),
                }
            },
        }),
        Detail::InspectorFinding(finding) => finding_subject(finding),
        other => Err(format!("{} events are not scan-gate's", other.kind())),
    }
}

fn finding_subject(finding: &InspectorFinding) -> Result<Subject, String> {
    let image = finding
        .ecr_image()
        .ok_or("the finding is not about an ECR image")?;
    Ok(Subject {
        repository: repository_from_name_or_arn(&image.repository_name)
            .map_err(|e| e.to_string())?,
        digest: image.image_hash.clone(),
        tags: image.image_tags.clone(),
        source: Source::InspectorFindings,
    })
}

/// An existing image to evaluate now (`warden gate`), from its scan status as DescribeImages
/// reports it: basic scanning's `COMPLETE` decides from its counts, enhanced scanning's `ACTIVE`
/// from the image's current Inspector findings, a scan that cannot finish (`FAILED`,
/// `UNSUPPORTED_IMAGE`, `SCAN_ELIGIBILITY_EXPIRED`, `FINDINGS_UNAVAILABLE`, …) is a scan failure,
/// and one still running or never made gives no verdict yet (`Err`, saying so).
pub fn image_subject(
    repository: RepositoryName,
    digest: Digest,
    tags: Vec<Tag>,
    scan_status: Option<&str>,
    counts: Option<SeverityCounts>,
) -> Result<Subject, String> {
    let source = match scan_status {
        None => {
            return Err(format!(
                "{repository}@{}: never scanned: no verdict yet (start a scan, or enable scan on push)",
                digest.short()
            ));
        }
        Some(status @ ("IN_PROGRESS" | "PENDING")) => {
            return Err(format!(
                "{repository}@{}: scan {status}: no verdict yet",
                digest.short()
            ));
        }
        Some("COMPLETE") => match counts {
            Some(counts) => Source::Counts {
                counts,
                enhanced: false,
            },
            None => Source::Unlisted,
        },
        Some("ACTIVE") => Source::InspectorFindings,
        Some(other) => Source::ScanFailed {
            status: other.to_owned(),
        },
    };
    Ok(Subject {
        repository,
        digest,
        tags,
        source,
    })
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
    let verdict = evaluate(subject, gate.value, facts, ctx).ok()?.verdict;
    let unscanned = matches!(subject.source, Source::InspectorFindings)
        && verdict == Verdict::Pass
        && !facts
            .coverage
            .as_ref()
            .is_some_and(|c| c.as_ref().is_some_and(ScanCoverage::is_active));
    (!unscanned).then_some(verdict)
}

/// Facts read so far. `None` = not read yet.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub findings: Option<Vec<Finding>>,
    pub claim: Option<VerdictClaim>,
    /// The image's current tags (release only).
    pub current_tags: Option<Option<Vec<Tag>>>,
    /// The image's manifest and where the asked tags point.
    pub image: Option<ImageView>,
    /// Inspector's coverage of the image (`Some(None)`: not covered).
    pub coverage: Option<Option<ScanCoverage>>,
    /// The repository's indexes that name the image as a child, and where every tag points.
    pub parents: Option<Parents>,
    /// The recorded verdicts of the parents' other children (release of an index).
    pub sibling_verdicts: Option<Vec<(Digest, Option<Verdict>)>>,
}

/// A multi-arch index naming the image as one of its children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParentIndex {
    pub manifest: Manifest,
    pub tags: Vec<Tag>,
    pub children: Vec<Digest>,
}

/// The image's parent indexes, and the owner of every tag in the repository (read in one listing).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parents {
    pub indexes: Vec<ParentIndex>,
    pub owners: std::collections::BTreeMap<Tag, Digest>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "need", rename_all = "snake_case")]
pub enum Need {
    /// All the image's findings: basic (`DescribeImageScanFindings` pages of 1000) or Inspector's
    /// ACTIVE ones (`ListFindings` pages).
    Findings {
        image: ImageResource,
        enhanced: bool,
        /// How many findings the scan's counts announced: a read that lists none of them is not
        /// evidence of a clean image (the listing lags the counts), so it is retried.
        expected: u64,
    },
    /// The indexes naming this image as a child: the repository listed (DescribeImages pages of
    /// 1000) and its indexes' manifests read (BatchGetImage, 100 per call).
    ParentIndexes {
        repository: RepositoryName,
        digest: Digest,
    },
    /// The recorded verdicts of these images (1 GetItem each).
    Verdicts {
        repository: RepositoryName,
        digests: Vec<Digest>,
    },
    /// Whether Inspector still scans the image (1 ListCoverage).
    Coverage { image: ImageResource },
    /// Record the verdict unless unchanged (1 conditional write).
    VerdictClaim { record: VerdictRecord },
    /// Read the recorded verdict and compare with this fingerprint (dry-run; 1 read).
    VerdictRead {
        repository: RepositoryName,
        digest: Digest,
        fingerprint: String,
    },
    /// The image's current tags (1 DescribeImages).
    CurrentTags {
        repository: RepositoryName,
        digest: Digest,
    },
    /// The image's manifest and where these tags point (1 BatchGetImage).
    ImageTags {
        repository: RepositoryName,
        digest: Digest,
        tags: Vec<Tag>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Need(Need),
    Done(Plan),
}

fn prefix(gate: &Gate) -> &str {
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

/// The evaluation, or the findings it needs first.
fn evaluate(
    subject: &Subject,
    gate: &Gate,
    facts: &Facts,
    ctx: &Context,
) -> Result<Evaluation, Box<Need>> {
    let today = ctx.now.date_naive();
    let need_findings = |enhanced, expected| {
        Box::new(Need::Findings {
            image: resource(subject, ctx),
            enhanced,
            expected,
        })
    };
    match &subject.source {
        Source::ScanFailed { status } => Ok(verdict::from_scan_failure(gate, status)),
        Source::Counts { counts, enhanced } => {
            // A PASS rests only on complete evidence: counts that leave findings out are not one.
            let complete = verdict::counts_complete(counts, *enhanced);
            let quick = verdict::from_counts(gate, counts);
            if complete && (quick.verdict == Verdict::Pass || !verdict::findings_matter(gate)) {
                return Ok(quick);
            }
            match &facts.findings {
                Some(findings) => Ok(verdict::from_findings(gate, findings, today)),
                None => Err(need_findings(*enhanced, verdict::counted_findings(counts))),
            }
        }
        Source::Unlisted => match &facts.findings {
            Some(findings) => Ok(verdict::from_findings(gate, findings, today)),
            None => Err(need_findings(false, 0)),
        },
        Source::InspectorFindings => match &facts.findings {
            Some(findings) => Ok(verdict::from_findings(gate, findings, today)),
            None => Err(need_findings(true, 0)),
        },
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
        Err(need) => return Step::Need(*need),
    };
    // Only container images are gated: a signature, SBOM or attestation has nothing to scan (basic
    // scanning ends UNSUPPORTED_IMAGE) and quarantining it would break its subject's verification.
    if let (Source::ScanFailed { status }, Verdict::Fail) = (&subject.source, evaluation.verdict) {
        match &facts.image {
            None => {
                return Step::Need(Need::ImageTags {
                    repository: subject.repository.clone(),
                    digest: subject.digest.clone(),
                    tags: candidates(subject, prefix(gate.value)),
                });
            }
            Some(view) => {
                if let Some(kind) = view.manifest.as_ref().and_then(|m| artifact_type(&m.bytes)) {
                    return Step::Done(Plan::nothing(
                        format!("{at}: not a container image ({kind}); scan {status}: not gated"),
                        dry,
                    ));
                }
            }
        }
    }
    // A PASS from findings rests on Inspector still scanning the image: Inspector also closes
    // findings when an image stops being eligible for scanning or is deleted, and that is no fix.
    if matches!(subject.source, Source::InspectorFindings) && evaluation.verdict == Verdict::Pass {
        match &facts.coverage {
            None => {
                return Step::Need(Need::Coverage {
                    image: resource(subject, ctx),
                });
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
                return Step::Done(Plan::nothing(
                    format!(
                        "{at}: no ACTIVE findings, but Inspector {why}: closed findings are not a fix — no PASS, nothing released"
                    ),
                    dry,
                ));
            }
            Some(_) => {}
        }
    }
    let claim = match &facts.claim {
        Some(claim) => claim,
        None if dry => {
            return Step::Need(Need::VerdictRead {
                repository: subject.repository.clone(),
                digest: subject.digest.clone(),
                fingerprint: evaluation.fingerprint.clone(),
            });
        }
        None => {
            let record = VerdictRecord {
                repository: subject.repository.clone(),
                digest: subject.digest.clone(),
                verdict: evaluation.verdict,
                max_severity: evaluation.max_severity.clone(),
                fingerprint: evaluation.fingerprint.clone(),
                policy_pattern: gate.pattern.map(str::to_owned),
                decided_at: ctx.now,
            };
            return Step::Need(Need::VerdictClaim { record });
        }
    };
    let previous = match claim {
        VerdictClaim::Unchanged => {
            return Step::Done(Plan::nothing(
                format!(
                    "{at}: {} again, same findings: already decided and told",
                    evaluation.verdict.as_str()
                ),
                dry,
            ));
        }
        VerdictClaim::Recorded { previous } => previous.as_ref(),
    };
    let outcome = Outcome {
        subject,
        resolved: &resolved,
        evaluation: &evaluation,
        ctx,
        dry,
        at: &at,
    };
    let quarantine = gate.value.on_fail == Some(OnFail::Quarantine);
    match evaluation.verdict {
        Verdict::Fail if quarantine => quarantine_step(&outcome, prefix(gate.value), facts),
        Verdict::Pass if previous.is_some_and(|p| p.verdict == Verdict::Fail) => {
            release_step(&outcome, prefix(gate.value), facts)
        }
        _ => Step::Done(outcome.plan(Vec::new(), Did::None, Moves::default(), String::new())),
    }
}
