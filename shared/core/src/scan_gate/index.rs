//! An index's verdict is its platform images' verdict (attestations excluded): FAIL as soon as one
//! fails, PASS once every one has passed, none while one is still unjudged. scan-gate records it
//! for the index's digest when a platform image's verdict changes, so that the replicator promotes
//! an index (with its children) only on its own PASS record and tag-guard never points a protected
//! tag back at a failing index. A PASS that changes the index's record is told in a verdict message
//! about the index, with the tags it holds now: the replicator's trigger.

use super::decide::prefix;
use super::moves::{Outcome, parents};
use super::naming::original_tag;
use super::*;

use crate::message::{Body, Did, Message, MessageAction, SCHEMA, VerdictBody};
use crate::names::Digest;
use crate::plan::{Action, Plan};
use crate::policy::DEFAULT_QUARANTINE_PREFIX;
use crate::records::{IndexClaim, IndexRecord, VerdictRecord};
use crate::verdict::Verdict;

use crate::ports::MAX_INDEX_RESTS_ON;
use crate::severity::SeverityCounts;

/// One index's derived verdict: the index, its verdict, its fingerprint, and the verdicts of the
/// platform images it rests on.
struct Derived<'f> {
    parent: &'f ParentIndex,
    verdict: Verdict,
    rests_on: Vec<(Digest, Verdict)>,
}

/// The verdict each index naming the image gets from its platform images' records; `Err` is the
/// read to make first. Indexes whose verdict is not decided yet (a platform image without a
/// record, or a PASS while another one fails) are left out.
fn derived<'f>(o: &Outcome<'_>, facts: &'f Facts) -> Result<Vec<Derived<'f>>, Box<Step>> {
    let parents = parents(o, facts)?;
    let own = o.evaluation.verdict;
    if parents.indexes.is_empty() {
        return Ok(Vec::new());
    }
    if own == Verdict::Fail {
        return Ok(parents
            .indexes
            .iter()
            .map(|parent| Derived {
                parent,
                verdict: Verdict::Fail,
                rests_on: vec![(o.subject.digest.clone(), Verdict::Fail)],
            })
            .collect());
    }
    let Some(siblings) = &facts.sibling_verdicts else {
        return Err(Box::new(Step::Need(Need::Verdicts {
            repository: o.subject.repository.clone(),
            digests: siblings_of(o, parents),
        })));
    };
    let verdict_of = |d: &Digest| {
        if *d == o.subject.digest {
            return Some(own);
        }
        siblings.iter().find(|(s, _)| s == d).and_then(|(_, v)| *v)
    };
    Ok(parents
        .indexes
        .iter()
        // One transaction holds 100 items: an index of more platform images gets no PASS record
        // (it is never promoted; its FAIL, resting on one image, is recorded).
        .filter(|p| p.children.len() <= MAX_INDEX_RESTS_ON)
        .filter(|p| {
            p.children
                .iter()
                .all(|c| verdict_of(c) == Some(Verdict::Pass))
        })
        .map(|parent| Derived {
            parent,
            verdict: Verdict::Pass,
            rests_on: parent
                .children
                .iter()
                .map(|c| (c.clone(), Verdict::Pass))
                .collect(),
        })
        .collect())
}

/// Every platform image of every index naming the image, but the image itself (one record read
/// each), sorted and once each.
pub(super) fn siblings_of(o: &Outcome<'_>, parents: &Parents) -> Vec<Digest> {
    let mut digests: Vec<Digest> = parents
        .indexes
        .iter()
        .flat_map(|p| p.children.iter())
        .filter(|c| **c != o.subject.digest)
        .cloned()
        .collect();
    digests.sort();
    digests.dedup();
    digests
}

/// An index record's identity: its verdict and the platform images it rests on (the failing one,
/// or all of them).
pub(super) fn fingerprint(verdict: Verdict, children: &[&Digest]) -> String {
    let mut named: Vec<&str> = children.iter().map(|d| d.as_str()).collect();
    named.sort_unstable();
    format!("index {}: {}", verdict.as_str(), named.join(","))
}

/// Extend `plan` with the verdicts of the indexes naming the image: claim each index's record, and
/// tell each PASS that changed it.
pub(super) fn index_verdicts(o: &Outcome<'_>, facts: &Facts, mut plan: Plan) -> Step {
    let derived = match derived(o, facts) {
        Ok(derived) => derived,
        Err(step) => return *step,
    };
    if derived.is_empty() {
        return Step::Done(plan);
    }
    let Some(claims) = &facts.index_claims else {
        let records = derived
            .iter()
            .map(|d| {
                let children: Vec<&Digest> = d.rests_on.iter().map(|(c, _)| c).collect();
                IndexRecord {
                    record: VerdictRecord {
                        repository: o.subject.repository.clone(),
                        digest: d.parent.manifest.digest.clone(),
                        verdict: d.verdict,
                        max_severity: None,
                        fingerprint: fingerprint(d.verdict, &children),
                        policy_pattern: o.resolved.gate.and_then(|g| g.pattern.map(str::to_owned)),
                        decided_at: o.ctx.now,
                        evidence_at: o.ctx.now,
                    },
                    rests_on: d.rests_on.clone(),
                }
            })
            .collect();
        return Step::Need(Need::IndexVerdicts {
            records,
            dry: o.dry,
        });
    };
    let mut told = Vec::new();
    for (d, (_, claim, _)) in derived.iter().zip(claims) {
        if d.verdict == Verdict::Pass && matches!(claim, IndexClaim::Recorded { .. }) {
            plan.actions.push(index_pass(o, d.parent));
            told.push(d.parent.manifest.digest.short().to_owned());
        }
    }
    if !told.is_empty() {
        plan.decision
            .push_str(&format!("; index {} PASS", told.join(", ")));
    }
    Step::Done(plan)
}

/// The verdict message about an index that passed: its digest and its tags by their own names
/// (a quarantine tag this plan gives back is named as the tag it stands for).
fn index_pass(o: &Outcome<'_>, parent: &ParentIndex) -> Action {
    let index = &parent.manifest.digest;
    let prefix = o
        .resolved
        .gate
        .map_or(DEFAULT_QUARANTINE_PREFIX, |g| prefix(g.value));
    let tags = parent
        .tags
        .iter()
        .map(|t| match original_tag(prefix, t, index) {
            Ok(Some(original)) => original,
            _ => t.clone(),
        })
        .collect();
    let body = VerdictBody {
        digest: index.clone(),
        tags,
        verdict: Verdict::Pass,
        max_severity: None,
        scan: "index".to_owned(),
        counts: SeverityCounts::default(),
        reasons: vec![format!(
            "every platform image passed ({} of them)",
            parent.children.len()
        )],
        exceptions_applied: Vec::new(),
        exceptions_expired: Vec::new(),
        findings: Vec::new(),
        findings_total: 0,
        quarantined_tags: Vec::new(),
        restored_tags: Vec::new(),
        tags_taken: Vec::new(),
        via_indexes: Vec::new(),
        still_deployable: Vec::new(),
        moved_meanwhile: Vec::new(),
        problems: Vec::new(),
        policy_pattern: o.resolved.gate.and_then(|g| g.pattern.map(str::to_owned)),
    };
    Action::Publish {
        topic_arn: o.resolved.notify.and_then(|n| n.value.topic_arn.clone()),
        message: Message {
            schema: SCHEMA.to_owned(),
            function: FUNCTION.to_owned(),
            account: o.ctx.account.clone(),
            region: o.ctx.region.clone(),
            repository: o.subject.repository.clone(),
            action: MessageAction::new(Did::None, o.dry),
            dry_run: o.dry,
            event_id: o.ctx.event_id.clone(),
            body: Body::Verdict(Box::new(body)),
        },
    }
}
