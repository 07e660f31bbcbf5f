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
use crate::message::{Body, MAX_MESSAGE_FINDINGS, Message, SCHEMA, VerdictBody};
use crate::names::{AccountId, Digest, Region, RepositoryName, Tag, repository_from_name_or_arn};
use crate::plan::{Action, Plan};
use crate::policy::{Gate, OnFail, Policy, Resolved};
use crate::ports::{ImageView, VerdictClaim, VerdictRecord};
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
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "need", rename_all = "snake_case")]
pub enum Need {
    /// All the image's findings: basic (`DescribeImageScanFindings` pages of 1000) or Inspector's
    /// ACTIVE ones (`ListFindings` pages).
    Findings {
        repository: RepositoryName,
        digest: Digest,
        enhanced: bool,
    },
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

fn with_prefix(prefix: &str, tag: &Tag) -> Option<Tag> {
    Tag::new(format!("{prefix}{tag}")).ok()
}

/// The evaluation, or the findings it needs first.
fn evaluate(
    subject: &Subject,
    gate: &Gate,
    facts: &Facts,
    today: chrono::NaiveDate,
) -> Result<Evaluation, Box<Need>> {
    let need_findings = |enhanced| {
        Box::new(Need::Findings {
            repository: subject.repository.clone(),
            digest: subject.digest.clone(),
            enhanced,
        })
    };
    match &subject.source {
        Source::ScanFailed { status } => Ok(verdict::from_scan_failure(gate, status)),
        Source::Counts { counts, enhanced } => {
            let quick = verdict::from_counts(gate, counts);
            if quick.verdict == Verdict::Pass || !verdict::findings_matter(gate) {
                return Ok(quick);
            }
            match &facts.findings {
                Some(findings) => Ok(verdict::from_findings(gate, findings, today)),
                None => Err(need_findings(*enhanced)),
            }
        }
        Source::InspectorFindings => match &facts.findings {
            Some(findings) => Ok(verdict::from_findings(gate, findings, today)),
            None => Err(need_findings(true)),
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
    let evaluation = match evaluate(subject, gate.value, facts, ctx.now.date_naive()) {
        Ok(e) => e,
        Err(need) => return Step::Need(*need),
    };
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
    quarantined: Vec<Tag>,
    restored: Vec<Tag>,
    taken: Vec<Tag>,
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

fn quarantine_step(o: &Outcome<'_>, prefix: &str, facts: &Facts) -> Step {
    let candidates: Vec<Tag> = o
        .subject
        .tags
        .iter()
        .filter(|t| !t.as_str().starts_with(prefix))
        .cloned()
        .collect();
    if candidates.is_empty() {
        let note = if o.subject.tags.is_empty() {
            "; untagged: nothing to move"
        } else {
            "; already quarantined"
        };
        return Step::Done(o.plan(Vec::new(), "none", Moves::default(), note.to_owned()));
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
    let moves: Vec<(Tag, Tag)> = here
        .iter()
        .filter_map(|t| Some((t.clone(), with_prefix(prefix, t)?)))
        .collect();
    if moves.is_empty() {
        return Step::Done(o.plan(
            Vec::new(),
            "none",
            Moves::default(),
            "; no tag points here any more".to_owned(),
        ));
    }
    let repository = &o.subject.repository;
    let mut actions: Vec<Action> = moves
        .iter()
        .map(|(_, q)| Action::PutTag {
            repository: repository.clone(),
            tag: q.clone(),
            manifest: manifest.clone(),
        })
        .collect();
    let originals: Vec<Tag> = moves.iter().map(|(t, _)| t.clone()).collect();
    actions.push(Action::RemoveTags {
        repository: repository.clone(),
        tags: originals.clone(),
    });
    let note = format!(
        "; quarantine {}",
        originals
            .iter()
            .map(Tag::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    );
    Step::Done(o.plan(
        actions,
        "quarantined",
        Moves {
            quarantined: originals,
            ..Moves::default()
        },
        note,
    ))
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
    // (quarantine tag, original tag) for each quarantine tag the image carries.
    let held: Vec<(Tag, Tag)> = current
        .iter()
        .filter_map(|q| Some((q.clone(), Tag::new(q.as_str().strip_prefix(prefix)?).ok()?)))
        .collect();
    if held.is_empty() {
        return Step::Done(o.plan(Vec::new(), "none", Moves::default(), String::new()));
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
    let mut moves = Moves::default();
    let mut actions = Vec::new();
    let mut release = Vec::new();
    for (q, t) in &held {
        match target(t) {
            Some(other) if &other != digest => moves.taken.push(t.clone()),
            here => {
                if here.is_none() {
                    actions.push(Action::PutTag {
                        repository: repository.clone(),
                        tag: t.clone(),
                        manifest: manifest.clone(),
                    });
                }
                moves.restored.push(t.clone());
                release.push(q.clone());
            }
        }
    }
    // Quarantine tags of taken tags stay: the image must keep a tag, and they say where it came from.
    if !release.is_empty() {
        actions.push(Action::RemoveTags {
            repository: repository.clone(),
            tags: release,
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
                Action::RemoveTags { tags, .. } => format!(
                    "remove {}",
                    tags.iter().map(Tag::as_str).collect::<Vec<_>>().join(",")
                ),
                Action::Publish { message, .. } => format!("publish {}", message.action),
                Action::SetTagMutability { .. }
                | Action::DeleteImages { .. }
                | Action::PutLifecyclePolicy { .. } => "other".into(),
            })
            .collect()
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
            ["put quarantine-v1", "remove v1", "publish quarantined"]
        );
    }

    #[test]
    fn pass_after_fail_releases_unless_a_tag_was_taken() {
        let p = Policy::from_yaml(POLICY).unwrap();
        let s = subject("app/x", 0, &["quarantine-v1", "quarantine-latest"]);
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
        facts.current_tags = Some(Some(vec![tag("quarantine-v1"), tag("quarantine-latest")]));
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
            ["put v1", "remove quarantine-v1", "publish released"]
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
        let Step::Done(plan) = decide(&subject("app/x", 1, &[]), &p, &ctx(), &recorded()) else {
            panic!()
        };
        assert_eq!(actions(&plan), ["publish none"]);
    }
}
