//! A tag pushed onto an image: no new evidence, so no new verdict. When the image's recorded
//! verdict is FAIL and its gate quarantines, the new tag is taken away like the image's others
//! were — a failing image does not become deployable by being re-tagged. scan-gate's own
//! quarantine tags (and the tags a release puts back, which ECR reports as pushes too) are not
//! taken: a quarantine tag is left alone, and a released image's record is PASS.

use super::moves::{Outcome, quarantine_step};
use super::*;
use crate::severity::SeverityCounts;

/// The evaluation a recorded verdict stands for (`None`: no verdict recorded yet).
pub(super) fn recorded_evaluation(record: Option<&VerdictRecord>) -> Option<Evaluation> {
    let record = record?;
    Some(Evaluation {
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
    })
}

/// What a pushed tag asks: nothing unless the recorded verdict is FAIL under a quarantining gate;
/// then the quarantine of the tags the image holds now (and of the indexes naming it). Nothing is
/// claimed or told unless a tag moves.
pub(super) fn pushed_step(o: &Outcome<'_>, gate: &Gate, facts: &Facts) -> Step {
    let nothing = |why: &str| Step::Done(Plan::nothing(format!("{}: {why}", o.at), o.dry));
    let prefix = prefix(gate);
    if gate.on_fail != Some(OnFail::Quarantine) {
        return nothing("pushed; the gate does not quarantine: nothing to take away");
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
