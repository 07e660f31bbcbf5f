//! A tag pushed onto an image: no new evidence, so no new verdict. When the image's recorded
//! verdict is FAIL and its gate quarantines, the new tag is taken away like the image's others
//! were — a failing image does not become deployable by being re-tagged. scan-gate's own
//! quarantine tags (and the tags a release puts back, which ECR reports as pushes too) are not
//! taken: a quarantine tag is left alone, and a released image's record is PASS. An index pushed
//! with no verdict recorded takes its platform images' ([`index_evaluation`]).

use super::decide::{Pending, prefix};
use super::moves::{Outcome, quarantine_step};
use super::*;

use crate::names::Digest;
use crate::plan::{Action, Plan};
use crate::policy::Gate;
use crate::records::VerdictRecord;
use crate::verdict::{Evaluation, Verdict};

use crate::manifest::platform_children;
use crate::ports::MAX_INDEX_RESTS_ON;
use crate::severity::SeverityCounts;

/// The evaluation a recorded verdict stands for.
fn recorded_evaluation(record: &VerdictRecord) -> Evaluation {
    Evaluation {
        verdict: record.verdict,
        max_severity: record.max_severity.clone(),
        counted: SeverityCounts::default(),
        reasons: match record.verdict {
            Verdict::Fail => vec![format!(
                "a tag pushed onto an image scan-gate failed (verdict recorded {})",
                record.decided_at.to_rfc3339()
            )],
            Verdict::Pass => Vec::new(),
        },
        exceptions_applied: Vec::new(),
        exceptions_expired: Vec::new(),
        findings: Vec::new(),
        fingerprint: record.fingerprint.clone(),
    }
}

/// A pushed tag's evaluation: the verdict recorded for the image (1 GetItem); with none, an index
/// (or a push that does not say) is judged by its platform images, anything else waits for its
/// own scan.
pub(super) fn evaluation(
    subject: &Subject,
    gate: &Gate,
    facts: &Facts,
    index: Option<bool>,
) -> Result<Evaluation, Pending> {
    match &facts.recorded {
        None => Err(Pending::Need(Box::new(Need::RecordedVerdict {
            repository: subject.repository.clone(),
            digest: subject.digest.clone(),
        }))),
        Some(Some(record)) => Ok(recorded_evaluation(record)),
        Some(None) if index != Some(false) => index_evaluation(subject, gate, facts),
        Some(None) => Err(nothing(
            subject,
            "no verdict recorded yet: its verdict will quarantine every tag it holds then",
        )),
    }
}

/// An index pushed with no verdict recorded for it (a new index over platform images already
/// judged: `docker buildx imagetools create`, a re-push with other annotations): its verdict is
/// theirs, as when one of them is judged (index.rs) — FAIL when one failed, PASS when all passed,
/// nothing yet while one is unjudged (its verdict will record the index's). Reads: the index's
/// tags now, its manifest with where those tags point, and each platform image's record.
fn index_evaluation(subject: &Subject, gate: &Gate, facts: &Facts) -> Result<Evaluation, Pending> {
    let children = platform_images(subject, gate, facts)?;
    let Some(verdicts) = &facts.child_verdicts else {
        return Err(Pending::Need(Box::new(Need::ChildVerdicts {
            repository: subject.repository.clone(),
            digests: children,
        })));
    };
    let Some((verdict, rests_on)) = derive(&children, verdicts) else {
        return Err(nothing(
            subject,
            "an index, a platform image of which is not judged yet: its verdict will decide the index's",
        ));
    };
    let reason = match verdict {
        Verdict::Fail => format!("its platform image {} failed", rests_on[0].short()),
        Verdict::Pass => format!("every platform image passed ({} of them)", rests_on.len()),
    };
    Ok(Evaluation {
        verdict,
        max_severity: None,
        counted: SeverityCounts::default(),
        reasons: vec![reason],
        exceptions_applied: Vec::new(),
        exceptions_expired: Vec::new(),
        findings: Vec::new(),
        fingerprint: super::index::fingerprint(verdict, &rests_on),
    })
}

/// Nothing to evaluate for a pushed image, and why.
fn nothing(subject: &Subject, why: &str) -> Pending {
    Pending::Nothing(format!(
        "{}@{}: pushed; {why}",
        subject.repository,
        subject.digest.short()
    ))
}

/// The pushed image's platform images, once its tags now (1 DescribeImages) and its manifest with
/// where those tags point (1 BatchGetImage) are read; `Err`: the read to make first, or nothing to
/// evaluate (the image is gone, or is no index of platform images).
fn platform_images(subject: &Subject, gate: &Gate, facts: &Facts) -> Result<Vec<Digest>, Pending> {
    let current = match &facts.current_tags {
        None => {
            return Err(Pending::Need(Box::new(Need::CurrentTags {
                repository: subject.repository.clone(),
                digest: subject.digest.clone(),
            })));
        }
        Some(None) => return Err(nothing(subject, "it is gone")),
        Some(Some(tags)) => tags,
    };
    let Some(view) = &facts.image else {
        return Err(Pending::Need(Box::new(Need::ImageTags {
            repository: subject.repository.clone(),
            digest: subject.digest.clone(),
            tags: current
                .iter()
                .filter(|t| !t.as_str().starts_with(prefix(gate)))
                .cloned()
                .collect(),
        })));
    };
    let Some(manifest) = &view.manifest else {
        return Err(nothing(subject, "it is gone"));
    };
    let children = platform_children(&manifest.bytes);
    if children.is_empty() {
        return Err(nothing(
            subject,
            "no verdict recorded yet (not an index of platform images): its verdict will quarantine every tag it holds then",
        ));
    }
    Ok(children)
}

/// What a pushed tag asks: nothing unless the recorded verdict is FAIL under a quarantining gate;
/// then the quarantine of the tags the image holds now (and of the indexes naming it). Nothing is
/// claimed or told unless a tag moves.
pub(super) fn pushed_step(o: &Outcome<'_>, gate: &Gate, facts: &Facts) -> Step {
    let nothing = |why: &str| Step::Done(Plan::nothing(format!("{}: {why}", o.at), o.dry));
    let prefix = prefix(gate);
    // The part that failed the recorded verdict says whether it quarantines: the signature's
    // `on_fail` for a signature FAIL, the gate's otherwise.
    let signatures = o.resolved.signatures.map(|s| s.value);
    if !super::signed::recorded_fail_quarantines(&o.evaluation.fingerprint, gate, signatures) {
        return nothing("pushed; the failing gate does not quarantine: nothing to take away");
    }
    if o.subject
        .tags
        .iter()
        .all(|t| t.as_str().starts_with(prefix))
    {
        return nothing("a quarantine tag: left alone");
    }
    if o.evaluation.verdict != Verdict::Fail {
        return nothing("pushed onto an image scan-gate has not failed: nothing to take away");
    }
    match quarantine_step(o, prefix, facts) {
        Step::Done(plan)
            if !plan
                .actions
                .iter()
                .any(|a| matches!(a, Action::MoveTags { .. })) =>
        {
            Step::Done(Plan::nothing(plan.decision, o.dry))
        }
        step => step,
    }
}

/// An index's verdict from its platform images' recorded verdicts, and the images it rests on:
/// FAIL on the first that failed, PASS on all once all passed; `None` while one is unjudged (or
/// for a PASS over more platform images than one transaction can check).
fn derive<'c>(
    children: &'c [Digest],
    verdicts: &[(Digest, Option<Verdict>)],
) -> Option<(Verdict, Vec<&'c Digest>)> {
    let verdict_of = |d: &Digest| verdicts.iter().find(|(c, _)| c == d).and_then(|(_, v)| *v);
    if let Some(failed) = children
        .iter()
        .find(|c| verdict_of(c) == Some(Verdict::Fail))
    {
        return Some((Verdict::Fail, vec![failed]));
    }
    // One transaction holds 100 items: an index of more platform images gets no PASS record.
    (children.len() <= MAX_INDEX_RESTS_ON
        && children
            .iter()
            .all(|c| verdict_of(c) == Some(Verdict::Pass)))
    .then(|| (Verdict::Pass, children.iter().collect()))
}

/// For a pushed index with no record whose verdict [`index_evaluation`] derived: the platform
/// images' verdicts it rests on, so that its claim holds only while they do. `None` otherwise.
pub(super) fn index_rests_on(subject: &Subject, facts: &Facts) -> Option<Vec<(Digest, Verdict)>> {
    if !matches!(subject.source, Source::Pushed { .. }) || !matches!(facts.recorded, Some(None)) {
        return None;
    }
    let manifest = facts.image.as_ref()?.manifest.as_ref()?;
    let children = platform_children(&manifest.bytes);
    let (verdict, rests_on) = derive(&children, facts.child_verdicts.as_ref()?)?;
    Some(rests_on.into_iter().map(|d| (d.clone(), verdict)).collect())
}
