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
pub mod verdict;

pub use drive::{Ports, Report, handle_batch, handle_event};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::event::{Detail, Event, InspectorFinding};
use crate::execute::Executed;
use crate::manifest::artifact_type;
use crate::message::{Body, MAX_MESSAGE_FINDINGS, Message, SCHEMA, VerdictBody};
use crate::names::{AccountId, Digest, Region, RepositoryName, Tag, repository_from_name_or_arn};
use crate::plan::{Action, Plan, TagMove};
use crate::policy::{Gate, OnFail, Policy, Resolved};
use crate::ports::{ImageResource, ImageView, Manifest, ScanCoverage, VerdictClaim, VerdictRecord};
use crate::severity::SeverityCounts;
use verdict::{Evaluation, Finding, Verdict};

pub const FUNCTION: &str = "scan-gate";
pub const DEFAULT_QUARANTINE_PREFIX: &str = "quarantine-";

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
            source: if scan.scan_status == "COMPLETE" {
                Source::Counts {
                    counts: scan.finding_severity_counts.clone(),
                    enhanced: false,
                }
            } else {
                Source::ScanFailed {
                    status: scan.scan_status.clone(),
                }
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

/// ECR's longest tag.
const MAX_TAG: usize = 128;

fn suffix(digest: &Digest) -> String {
    format!("-{}", digest.short())
}

/// The quarantine name of `tag` on image `digest`: `<prefix><tag>-<short digest>`. Unique per
/// image, so two images' quarantines never collide (in an immutable repository a reused name would
/// be refused; in a mutable one it would steal the other image's tag). A tag too long for ECR's 128
/// characters is cut to fit. `None` only when the prefix leaves no room.
pub fn quarantine_tag(prefix: &str, tag: &Tag, digest: &Digest) -> Option<Tag> {
    let suffix = suffix(digest);
    let room = MAX_TAG.checked_sub(prefix.len() + suffix.len())?;
    let kept: String = tag.as_str().chars().take(room).collect();
    Tag::new(format!("{prefix}{kept}{suffix}")).ok()
}

/// Which original tag a quarantine tag of image `digest` stands for. `Err` for one of this image's
/// quarantine tags whose original name was cut to fit (it cannot be told); `Ok(None)` for any other
/// tag.
pub fn original_tag(prefix: &str, tag: &Tag, digest: &Digest) -> Result<Option<Tag>, String> {
    let suffix = suffix(digest);
    let Some(middle) = tag
        .as_str()
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_suffix(suffix.as_str()))
    else {
        return Ok(None);
    };
    if prefix.len() + middle.len() + suffix.len() >= MAX_TAG {
        return Err(format!(
            "{tag}: the original name was cut to fit 128 characters; restore it by hand"
        ));
    }
    Ok(Tag::new(middle).ok())
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
        _ => Step::Done(outcome.plan(Vec::new(), "none", Moves::default(), String::new())),
    }
}

/// Tag moves a plan made, for the message.
#[derive(Default)]
struct Moves {
    /// Indexes whose tags moved because this image, their child, failed (or passed again).
    via: Vec<Digest>,
    quarantined: Vec<Tag>,
    restored: Vec<Tag>,
    taken: Vec<Tag>,
    still_deployable: Vec<Tag>,
    problems: Vec<String>,
}

struct Outcome<'a> {
    subject: &'a Subject,
    resolved: &'a Resolved<'a>,
    evaluation: &'a Evaluation,
    ctx: &'a Context,
    dry: bool,
    at: &'a str,
}

impl Outcome<'_> {
    fn plan(&self, mut actions: Vec<Action>, action: &str, moves: Moves, note: String) -> Plan {
        let e = self.evaluation;
        let body = VerdictBody {
            digest: self.subject.digest.clone(),
            tags: self.subject.tags.clone(),
            verdict: e.verdict,
            max_severity: e.max_severity.clone(),
            scan: match &self.subject.source {
                Source::Counts {
                    enhanced: false, ..
                }
                | Source::ScanFailed { .. } => "basic",
                Source::Counts { enhanced: true, .. } => "enhanced",
                Source::InspectorFindings => "inspector_finding",
            }
            .to_owned(),
            counts: e.counted.clone(),
            reasons: e.reasons.clone(),
            exceptions_applied: e.exceptions_applied.clone(),
            exceptions_expired: e.exceptions_expired.clone(),
            findings: e
                .findings
                .iter()
                .take(MAX_MESSAGE_FINDINGS)
                .cloned()
                .collect(),
            findings_total: e.findings.len(),
            quarantined_tags: moves.quarantined,
            restored_tags: moves.restored,
            tags_taken: moves.taken,
            still_deployable: moves.still_deployable,
            via_indexes: moves.via,
            moved_meanwhile: Vec::new(),
            problems: moves.problems,
            policy_pattern: self
                .resolved
                .gate
                .and_then(|g| g.pattern.map(str::to_owned)),
        };
        let message = Message {
            schema: SCHEMA.to_owned(),
            function: FUNCTION.to_owned(),
            account: self.ctx.account.clone(),
            region: self.ctx.region.clone(),
            repository: self.subject.repository.clone(),
            action: if self.dry {
                format!("would_{action}")
            } else {
                action.to_owned()
            },
            dry_run: self.dry,
            event_id: self.ctx.event_id.clone(),
            body: Body::Verdict(Box::new(body)),
        };
        actions.push(Action::Publish {
            topic_arn: self.resolved.notify.and_then(|n| n.value.topic_arn.clone()),
            message,
        });
        let why = if e.reasons.is_empty() {
            String::new()
        } else {
            format!(": {}", e.reasons.join("; "))
        };
        Plan {
            decision: format!("{}: {}{why}{note}", self.at, e.verdict.as_str()),
            dry_run: self.dry,
            actions,
        }
    }
}

/// The image's tags that a quarantine would move (not its quarantine tags).
fn candidates(subject: &Subject, prefix: &str) -> Vec<Tag> {
    subject
        .tags
        .iter()
        .filter(|t| !t.as_str().starts_with(prefix))
        .cloned()
        .collect()
}

fn quarantine_step(o: &Outcome<'_>, prefix: &str, facts: &Facts) -> Step {
    let candidates = candidates(o.subject, prefix);
    if candidates.is_empty() && o.subject.tags.is_empty() {
        return quarantine_parents(o, prefix, facts);
    }
    if candidates.is_empty() {
        return Step::Done(o.plan(
            Vec::new(),
            "none",
            Moves::default(),
            "; already quarantined".to_owned(),
        ));
    }
    let Some(ImageView {
        manifest,
        tags: targets,
    }) = &facts.image
    else {
        return Step::Need(Need::ImageTags {
            repository: o.subject.repository.clone(),
            digest: o.subject.digest.clone(),
            tags: candidates,
        });
    };
    let Some(manifest) = manifest else {
        return Step::Done(o.plan(
            Vec::new(),
            "none",
            Moves::default(),
            "; the image is gone".to_owned(),
        ));
    };
    // Only tags that still point at this image: a tag moved since the scan belongs to another image.
    let here: Vec<Tag> = targets
        .iter()
        .filter(|(_, d)| d.as_ref() == Some(&o.subject.digest))
        .map(|(t, _)| t.clone())
        .collect();
    let mut moves = Vec::new();
    let mut unnamed = Vec::new();
    for tag in here {
        match quarantine_tag(prefix, &tag, &o.subject.digest) {
            Some(to) => moves.push(TagMove { from: tag, to }),
            None => unnamed.push(tag),
        }
    }
    if moves.is_empty() && unnamed.is_empty() {
        return Step::Done(o.plan(
            Vec::new(),
            "none",
            Moves::default(),
            "; no tag points here any more".to_owned(),
        ));
    }
    let originals: Vec<Tag> = moves.iter().map(|m| m.from.clone()).collect();
    let mut actions = Vec::new();
    if !moves.is_empty() {
        actions.push(Action::MoveTags {
            repository: o.subject.repository.clone(),
            manifest: manifest.clone(),
            moves,
        });
    }
    let note = format!(
        "; quarantine {}",
        originals
            .iter()
            .map(Tag::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    );
    let failed = !unnamed.is_empty();
    let moves = Moves {
        quarantined: originals,
        problems: unnamed
            .iter()
            .map(|t| format!("{t}: no quarantine name fits with prefix `{prefix}`"))
            .collect(),
        still_deployable: unnamed,
        ..Moves::default()
    };
    let action = if failed {
        "quarantine_failed"
    } else {
        "quarantined"
    };
    Step::Done(o.plan(actions, action, moves, note))
}

/// An untagged image is pulled through the indexes that name it (a multi-arch image's platform
/// child): a failing child quarantines each such index by its own tags.
fn quarantine_parents(o: &Outcome<'_>, prefix: &str, facts: &Facts) -> Step {
    let Some(parents) = &facts.parents else {
        return Step::Need(Need::ParentIndexes {
            repository: o.subject.repository.clone(),
            digest: o.subject.digest.clone(),
        });
    };
    let mut actions = Vec::new();
    let mut moves = Moves::default();
    for parent in &parents.indexes {
        let index = &parent.manifest.digest;
        let tag_moves: Vec<TagMove> = parent
            .tags
            .iter()
            .filter(|t| !t.as_str().starts_with(prefix))
            .filter_map(|t| {
                Some(TagMove {
                    from: t.clone(),
                    to: quarantine_tag(prefix, t, index)?,
                })
            })
            .collect();
        if tag_moves.is_empty() {
            continue;
        }
        moves.via.push(index.clone());
        moves
            .quarantined
            .extend(tag_moves.iter().map(|m| m.from.clone()));
        actions.push(Action::MoveTags {
            repository: o.subject.repository.clone(),
            manifest: parent.manifest.clone(),
            moves: tag_moves,
        });
    }
    if actions.is_empty() {
        return Step::Done(o.plan(
            Vec::new(),
            "none",
            Moves::default(),
            "; untagged, and no tagged index names it: nothing to move".to_owned(),
        ));
    }
    let note = format!(
        "; quarantine the index{} naming it: {}",
        if moves.via.len() == 1 { "" } else { "es" },
        moves
            .quarantined
            .iter()
            .map(Tag::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    );
    Step::Done(o.plan(actions, "quarantined", moves, note))
}

/// A child that passes again gives its indexes their tags back — each index only once none of its
/// other children holds a FAIL verdict, and each tag only where no other image has taken it.
fn release_parents(o: &Outcome<'_>, prefix: &str, facts: &Facts) -> Step {
    let Some(parents) = &facts.parents else {
        return Step::Need(Need::ParentIndexes {
            repository: o.subject.repository.clone(),
            digest: o.subject.digest.clone(),
        });
    };
    let held: Vec<(&ParentIndex, Vec<(Tag, Tag)>)> = parents
        .indexes
        .iter()
        .map(|p| {
            let pairs = p
                .tags
                .iter()
                .filter_map(|q| {
                    Some((
                        q.clone(),
                        original_tag(prefix, q, &p.manifest.digest).ok()??,
                    ))
                })
                .collect::<Vec<_>>();
            (p, pairs)
        })
        .filter(|(_, pairs)| !pairs.is_empty())
        .collect();
    if held.is_empty() {
        return Step::Done(o.plan(Vec::new(), "none", Moves::default(), String::new()));
    }
    let Some(siblings) = &facts.sibling_verdicts else {
        let mut digests: Vec<Digest> = held
            .iter()
            .flat_map(|(p, _)| p.children.iter())
            .filter(|c| **c != o.subject.digest)
            .cloned()
            .collect();
        digests.sort();
        digests.dedup();
        return Step::Need(Need::Verdicts {
            repository: o.subject.repository.clone(),
            digests,
        });
    };
    let failing = |d: &Digest| {
        siblings
            .iter()
            .any(|(s, v)| s == d && *v == Some(Verdict::Fail))
    };
    let mut actions = Vec::new();
    let mut moves = Moves::default();
    for (parent, pairs) in held {
        let index = &parent.manifest.digest;
        if let Some(other) = parent.children.iter().find(|c| failing(c)) {
            moves.problems.push(format!(
                "index {} stays quarantined: its child {} still fails",
                index.short(),
                other.short()
            ));
            continue;
        }
        let mut release = Vec::new();
        for (q, original) in pairs {
            match parents.owners.get(&original) {
                Some(owner) if owner != index => moves.taken.push(original),
                _ => {
                    moves.restored.push(original.clone());
                    release.push(TagMove {
                        from: q,
                        to: original,
                    });
                }
            }
        }
        if !release.is_empty() {
            moves.via.push(index.clone());
            actions.push(Action::MoveTags {
                repository: o.subject.repository.clone(),
                manifest: parent.manifest.clone(),
                moves: release,
            });
        }
    }
    let action = if actions.is_empty() {
        "none"
    } else {
        "released"
    };
    Step::Done(o.plan(actions, action, moves, String::new()))
}

/// Correct a verdict message with what carrying out its plan could not do: a quarantine that left
/// a tag on the failing image becomes `quarantine_failed` naming what is still deployable; a tag
/// that moved to another image meanwhile is reported, not claimed; a release that could not give a
/// tag back says so.
pub fn amend(executed: &Executed, message: &mut Message) {
    let Body::Verdict(body) = &mut message.body else {
        return;
    };
    for not in &executed.not_moved {
        body.problems.push(not.reason.clone());
        let (from, to) = (&not.tag_move.from, &not.tag_move.to);
        if body.quarantined_tags.contains(from) {
            body.quarantined_tags.retain(|t| t != from);
            if not.still_on_image {
                body.still_deployable.push(from.clone());
            } else {
                body.moved_meanwhile.push(from.clone());
            }
        }
        body.restored_tags.retain(|t| t != to);
    }
    if !body.still_deployable.is_empty() && message.action == "quarantined" {
        message.action = "quarantine_failed".to_owned();
    }
}

fn release_step(o: &Outcome<'_>, prefix: &str, facts: &Facts) -> Step {
    let (repository, digest) = (&o.subject.repository, &o.subject.digest);
    let current = match &facts.current_tags {
        None => {
            return Step::Need(Need::CurrentTags {
                repository: repository.clone(),
                digest: digest.clone(),
            });
        }
        Some(None) => {
            return Step::Done(o.plan(
                Vec::new(),
                "none",
                Moves::default(),
                "; the image is gone".to_owned(),
            ));
        }
        Some(Some(tags)) => tags,
    };
    // (quarantine tag, original tag) for each quarantine tag of this image it carries.
    let mut held: Vec<(Tag, Tag)> = Vec::new();
    let mut problems = Vec::new();
    for q in current {
        match original_tag(prefix, q, digest) {
            Ok(Some(original)) => held.push((q.clone(), original)),
            Ok(None) => {}
            Err(problem) => problems.push(problem),
        }
    }
    if held.is_empty() && problems.is_empty() && current.is_empty() {
        return release_parents(o, prefix, facts);
    }
    if held.is_empty() {
        let moves = Moves {
            problems,
            ..Moves::default()
        };
        return Step::Done(o.plan(Vec::new(), "none", moves, String::new()));
    }
    let Some(ImageView {
        manifest,
        tags: targets,
    }) = &facts.image
    else {
        return Step::Need(Need::ImageTags {
            repository: repository.clone(),
            digest: digest.clone(),
            tags: held.iter().map(|(_, t)| t.clone()).collect(),
        });
    };
    let Some(manifest) = manifest else {
        return Step::Done(o.plan(
            Vec::new(),
            "none",
            Moves::default(),
            "; the image is gone".to_owned(),
        ));
    };
    let target = |t: &Tag| {
        targets
            .iter()
            .find(|(x, _)| x == t)
            .and_then(|(_, d)| d.clone())
    };
    let mut moves = Moves {
        problems,
        ..Moves::default()
    };
    let mut release = Vec::new();
    for (q, t) in &held {
        match target(t) {
            // Its quarantine tag stays: the image keeps a tag, and it says where it came from.
            Some(other) if &other != digest => moves.taken.push(t.clone()),
            _ => {
                moves.restored.push(t.clone());
                release.push(TagMove {
                    from: q.clone(),
                    to: t.clone(),
                });
            }
        }
    }
    let mut actions = Vec::new();
    if !release.is_empty() {
        actions.push(Action::MoveTags {
            repository: repository.clone(),
            manifest: manifest.clone(),
            moves: release,
        });
    }
    let mut note = String::new();
    if !moves.restored.is_empty() {
        note.push_str(&format!(
            "; release {}",
            moves
                .restored
                .iter()
                .map(Tag::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !moves.taken.is_empty() {
        note.push_str(&format!(
            "; not restored (a newer image has it): {}",
            moves
                .taken
                .iter()
                .map(Tag::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Step::Done(o.plan(actions, "released", moves, note))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::Manifest;
    use crate::severity::Severity;

    const POLICY: &str = r#"
version: 1
repositories:
  - match: "**"
    gate:
      max_findings: { CRITICAL: 0 }
      on_fail: quarantine
  - match: "noisy/*"
    gate:
      max_findings: { CRITICAL: 0 }
      exceptions: [{ cve: CVE-1, expires: 2030-01-01, reason: accepted }]
      on_fail: quarantine
"#;

    fn ctx() -> Context {
        Context {
            account: AccountId::new("123456789012").unwrap(),
            region: Region::new("us-east-1").unwrap(),
            event_id: None,
            force_dry_run: false,
            now: DateTime::from_timestamp(1_795_000_000, 0).unwrap(),
        }
    }
    fn digest(c: char) -> Digest {
        Digest::new(format!("sha256:{}", c.to_string().repeat(64))).unwrap()
    }
    fn tag(s: &str) -> Tag {
        Tag::new(s).unwrap()
    }
    fn subject(repo: &str, critical: u64, tags: &[&str]) -> Subject {
        Subject {
            repository: RepositoryName::new(repo).unwrap(),
            digest: digest('a'),
            tags: tags.iter().map(|t| tag(t)).collect(),
            source: Source::Counts {
                counts: SeverityCounts([(Severity::Critical, critical)].into()),
                enhanced: false,
            },
        }
    }
    fn recorded() -> Facts {
        Facts {
            claim: Some(VerdictClaim::Recorded { previous: None }),
            ..Facts::default()
        }
    }
    fn manifest() -> Manifest {
        Manifest {
            digest: digest('a'),
            media_type: None,
            bytes: "{}".into(),
        }
    }
    fn actions(plan: &Plan) -> Vec<String> {
        plan.actions
            .iter()
            .map(|a| match a {
                Action::PutTag { tag, .. } => format!("put {tag}"),
                Action::MoveTags { moves, .. } => format!(
                    "move {}",
                    moves
                        .iter()
                        .map(|m| format!("{}>{}", m.from, m.to))
                        .collect::<Vec<_>>()
                        .join(",")
                ),
                Action::Publish { message, .. } => format!("publish {}", message.action),
                Action::SetTagMutability { .. }
                | Action::DeleteImages { .. }
                | Action::PutLifecyclePolicy { .. } => "other".into(),
            })
            .collect()
    }

    #[test]
    fn the_message_says_what_a_quarantine_could_not_do() {
        use crate::execute::{Executed, NotMoved};
        let p = Policy::from_yaml(POLICY).unwrap();
        let s = subject("app/x", 1, &["v1", "latest", "edge"]);
        let facts = Facts {
            image: Some(ImageView {
                manifest: Some(manifest()),
                tags: ["v1", "latest", "edge"]
                    .iter()
                    .map(|t| (tag(t), Some(digest('a'))))
                    .collect(),
            }),
            ..recorded()
        };
        let Step::Done(plan) = decide(&s, &p, &ctx(), &facts) else {
            panic!()
        };
        let Some(Action::Publish { message, .. }) = plan.actions.last() else {
            panic!()
        };
        let moved = |from: &str| TagMove {
            from: tag(from),
            to: quarantine_tag("quarantine-", &tag(from), &digest('a')).unwrap(),
        };
        let executed = Executed {
            failures: Vec::new(),
            not_moved: vec![
                NotMoved {
                    tag_move: moved("latest"),
                    reason: "latest points at another image now: left alone".into(),
                    still_on_image: false,
                },
                NotMoved {
                    tag_move: moved("edge"),
                    reason: "quarantine-edge-aaaaaaaaaaaa refused".into(),
                    still_on_image: true,
                },
            ],
        };
        let mut told = message.clone();
        amend(&executed, &mut told);
        let Body::Verdict(body) = &told.body else {
            panic!()
        };
        assert_eq!(
            told.action, "quarantine_failed",
            "edge still deploys the failing image"
        );
        assert_eq!(body.quarantined_tags, [tag("v1")]);
        assert_eq!(body.moved_meanwhile, [tag("latest")]);
        assert_eq!(body.still_deployable, [tag("edge")]);
        assert_eq!(body.problems.len(), 2);
        // Only a tag that moved meanwhile: the quarantine of what is still this image's stands.
        let mut told = message.clone();
        amend(
            &Executed {
                failures: Vec::new(),
                not_moved: executed.not_moved[..1].to_vec(),
            },
            &mut told,
        );
        assert_eq!(told.action, "quarantined");
    }

    #[test]
    fn quarantine_tags_are_unique_per_image_and_name_their_original() {
        let (a, b) = (digest('a'), digest('b'));
        let qa = quarantine_tag("quarantine-", &tag("latest"), &a).unwrap();
        let qb = quarantine_tag("quarantine-", &tag("latest"), &b).unwrap();
        assert_eq!(qa.as_str(), "quarantine-latest-aaaaaaaaaaaa");
        assert_ne!(qa, qb, "two images' quarantines never share a name");
        assert_eq!(
            original_tag("quarantine-", &qa, &a),
            Ok(Some(tag("latest")))
        );
        assert_eq!(
            original_tag("quarantine-", &qb, &a),
            Ok(None),
            "not this image's"
        );
        assert_eq!(original_tag("quarantine-", &tag("latest"), &a), Ok(None));
        // A 128-character tag is cut to fit, and then cannot be restored by name.
        let long = tag(&"x".repeat(128));
        let q = quarantine_tag("quarantine-", &long, &a).unwrap();
        assert_eq!(q.as_str().len(), 128);
        assert!(original_tag("quarantine-", &q, &a).is_err());
    }

    #[test]
    fn counts_decide_with_no_read_unless_exceptions_could_matter() {
        let p = Policy::from_yaml(POLICY).unwrap();
        assert!(matches!(
            decide(&subject("app/x", 1, &["v1"]), &p, &ctx(), &Facts::default()),
            Step::Need(Need::VerdictClaim { .. })
        ));
        assert!(matches!(
            decide(
                &subject("noisy/x", 1, &["v1"]),
                &p,
                &ctx(),
                &Facts::default()
            ),
            Step::Need(Need::Findings { .. })
        ));
        assert!(matches!(
            decide(
                &subject("noisy/x", 0, &["v1"]),
                &p,
                &ctx(),
                &Facts::default()
            ),
            Step::Need(Need::VerdictClaim { .. })
        ));
    }

    #[test]
    fn fail_quarantines_the_tags_still_on_the_image() {
        let p = Policy::from_yaml(POLICY).unwrap();
        let s = subject("app/x", 1, &["v1", "latest"]);
        let mut facts = recorded();
        assert!(
            matches!(decide(&s, &p, &ctx(), &facts), Step::Need(Need::ImageTags { ref tags, .. }) if tags.len() == 2)
        );
        facts.image = Some(ImageView {
            manifest: Some(manifest()),
            tags: vec![
                (tag("v1"), Some(digest('a'))),
                (tag("latest"), Some(digest('b'))),
            ],
        });
        let Step::Done(plan) = decide(&s, &p, &ctx(), &facts) else {
            panic!()
        };
        assert_eq!(
            actions(&plan),
            ["move v1>quarantine-v1-aaaaaaaaaaaa", "publish quarantined"]
        );
    }

    #[test]
    fn pass_after_fail_releases_unless_a_tag_was_taken() {
        let p = Policy::from_yaml(POLICY).unwrap();
        let s = subject(
            "app/x",
            0,
            &[
                "quarantine-v1-aaaaaaaaaaaa",
                "quarantine-latest-aaaaaaaaaaaa",
            ],
        );
        let previous = VerdictRecord {
            repository: s.repository.clone(),
            digest: digest('a'),
            verdict: Verdict::Fail,
            max_severity: Some(Severity::Critical),
            fingerprint: "old".into(),
            policy_pattern: None,
            decided_at: ctx().now,
        };
        let mut facts = Facts {
            claim: Some(VerdictClaim::Recorded {
                previous: Some(previous),
            }),
            ..Facts::default()
        };
        assert!(matches!(
            decide(&s, &p, &ctx(), &facts),
            Step::Need(Need::CurrentTags { .. })
        ));
        facts.current_tags = Some(Some(vec![
            tag("quarantine-v1-aaaaaaaaaaaa"),
            tag("quarantine-latest-aaaaaaaaaaaa"),
            tag("quarantine-v2-bbbbbbbbbbbb"),
        ]));
        assert!(matches!(
            decide(&s, &p, &ctx(), &facts),
            Step::Need(Need::ImageTags { .. })
        ));
        facts.image = Some(ImageView {
            manifest: Some(manifest()),
            tags: vec![(tag("v1"), None), (tag("latest"), Some(digest('c')))],
        });
        let Step::Done(plan) = decide(&s, &p, &ctx(), &facts) else {
            panic!()
        };
        assert_eq!(
            actions(&plan),
            ["move quarantine-v1-aaaaaaaaaaaa>v1", "publish released"],
            "another image's quarantine tag is not this image's to release"
        );
        assert!(
            plan.decision
                .contains("not restored (a newer image has it): latest"),
            "{}",
            plan.decision
        );
    }

    #[test]
    fn unchanged_claims_and_untagged_images_do_nothing_more() {
        let p = Policy::from_yaml(POLICY).unwrap();
        let unchanged = Facts {
            claim: Some(VerdictClaim::Unchanged),
            ..Facts::default()
        };
        assert!(
            matches!(decide(&subject("app/x", 1, &["v1"]), &p, &ctx(), &unchanged), Step::Done(plan) if plan.actions.is_empty())
        );
        // An untagged image is deployable only through an index naming it: the indexes are asked
        // for; with none, there is nothing to move and people are told.
        let untagged = subject("app/x", 1, &[]);
        assert!(matches!(
            decide(&untagged, &p, &ctx(), &recorded()),
            Step::Need(Need::ParentIndexes { .. })
        ));
        let no_parents = Facts {
            parents: Some(Parents::default()),
            ..recorded()
        };
        let Step::Done(plan) = decide(&untagged, &p, &ctx(), &no_parents) else {
            panic!()
        };
        assert_eq!(actions(&plan), ["publish none"]);
    }
}
