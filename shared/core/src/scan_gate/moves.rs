//! What a verdict does to tags: quarantine of the failing image (or of the indexes an untagged
//! child is pulled through), release when it passes again, and the message saying what was done.

use super::naming::quarantine_tag;
use super::*;

use crate::execute::Executed;
use crate::message::{
    Body, Did, MAX_MESSAGE_FINDINGS, Message, MessageAction, SCHEMA, VerdictBody,
};
use crate::names::{Digest, Tag};
use crate::plan::{Action, Plan, TagMove};
use crate::policy::Resolved;
use crate::records::{ImageView, Manifest};
use crate::verdict::Evaluation;

/// Tag moves a plan made, for the message.
#[derive(Default)]
pub(super) struct Moves {
    /// Indexes whose tags moved because this image, their child, failed (or passed again).
    pub(super) via: Vec<Digest>,
    pub(super) quarantined: Vec<Tag>,
    pub(super) restored: Vec<Tag>,
    pub(super) taken: Vec<Tag>,
    pub(super) still_deployable: Vec<Tag>,
    pub(super) problems: Vec<String>,
}

pub(super) struct Outcome<'a> {
    pub(super) subject: &'a Subject,
    pub(super) resolved: &'a Resolved<'a>,
    pub(super) evaluation: &'a Evaluation,
    pub(super) ctx: &'a Context,
    pub(super) dry: bool,
    pub(super) at: &'a str,
}

impl Outcome<'_> {
    pub(super) fn plan(
        &self,
        mut actions: Vec<Action>,
        action: Did,
        moves: Moves,
        note: String,
    ) -> Plan {
        let e = self.evaluation;
        let body = self.body(moves);
        let message = Message {
            schema: SCHEMA.to_owned(),
            function: FUNCTION.to_owned(),
            account: self.ctx.account.clone(),
            region: self.ctx.region.clone(),
            repository: self.subject.repository.clone(),
            action: MessageAction::new(action, self.dry),
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
    /// The verdict message's body: the evaluation and the tag moves made.
    fn body(&self, moves: Moves) -> VerdictBody {
        let e = self.evaluation;
        VerdictBody {
            digest: self.subject.digest.clone(),
            tags: self.subject.tags.clone(),
            verdict: e.verdict,
            max_severity: e.max_severity.clone(),
            scan: match &self.subject.source {
                Source::Counts {
                    enhanced: false, ..
                }
                | Source::Unlisted
                | Source::ScanFailed { .. } => "basic",
                Source::Counts { enhanced: true, .. } => "enhanced",
                Source::InspectorFindings => "inspector_finding",
                Source::Pushed { .. } => "push",
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
        }
    }
}

/// The image's tags now (one read by digest): quarantine and release act on the tags the image
/// holds when acting, not on those its event named. `Err`: the step to take first.
pub(super) fn current_tags<'f>(o: &Outcome<'_>, facts: &'f Facts) -> Result<&'f [Tag], Box<Step>> {
    match &facts.current_tags {
        None => Err(Box::new(Step::Need(Need::CurrentTags {
            repository: o.subject.repository.clone(),
            digest: o.subject.digest.clone(),
        }))),
        Some(None) => Err(Box::new(Step::Done(o.plan(
            Vec::new(),
            Did::None,
            Moves::default(),
            "; the image is gone".to_owned(),
        )))),
        Some(Some(tags)) => Ok(tags),
    }
}

/// Where each asked tag points (`None`: nowhere).
pub(super) type Targets = [(Tag, Option<Digest>)];

/// The image's manifest and where the asked `tags` point, once read. `Err`: the step to read them,
/// or the plan when the image is gone.
pub(super) fn image_view<'f>(
    o: &Outcome<'_>,
    facts: &'f Facts,
    tags: Vec<Tag>,
) -> Result<(&'f Manifest, &'f Targets), Box<Step>> {
    let Some(ImageView {
        manifest,
        tags: targets,
    }) = &facts.image
    else {
        return Err(Box::new(Step::Need(Need::ImageTags {
            repository: o.subject.repository.clone(),
            digest: o.subject.digest.clone(),
            tags,
        })));
    };
    match manifest {
        Some(manifest) => Ok((manifest, targets)),
        None => Err(Box::new(Step::Done(o.plan(
            Vec::new(),
            Did::None,
            Moves::default(),
            "; the image is gone".to_owned(),
        )))),
    }
}

/// The parent indexes, once read. `Err`: the step to read them.
pub(super) fn parents<'f>(o: &Outcome<'_>, facts: &'f Facts) -> Result<&'f Parents, Box<Step>> {
    facts.parents.as_ref().ok_or_else(|| {
        Box::new(Step::Need(Need::ParentIndexes {
            repository: o.subject.repository.clone(),
            digest: o.subject.digest.clone(),
        }))
    })
}

/// A FAIL quarantines every tag the image holds now and the tags of every index naming it as a
/// platform image (an untagged platform child, or one with its own tag like `v1-amd64`, is
/// deployable through its index).
pub(super) fn quarantine_step(o: &Outcome<'_>, prefix: &str, facts: &Facts) -> Step {
    let current = match current_tags(o, facts) {
        Ok(tags) => tags,
        Err(step) => return *step,
    };
    let candidates: Vec<Tag> = current
        .iter()
        .filter(|t| !t.as_str().starts_with(prefix))
        .cloned()
        .collect();
    let mut actions = Vec::new();
    let mut moves = Moves::default();
    if !candidates.is_empty() {
        let (manifest, targets) = match image_view(o, facts, candidates.clone()) {
            Ok(view) => view,
            Err(step) => return *step,
        };
        quarantine_own(o, prefix, manifest, targets, &mut actions, &mut moves);
    }
    let parents = match parents(o, facts) {
        Ok(parents) => parents,
        Err(step) => return *step,
    };
    quarantine_parents(o, prefix, parents, &mut actions, &mut moves);
    if actions.is_empty() && moves.problems.is_empty() {
        let note = if current.is_empty() {
            "; untagged, and no tagged index names it: nothing to move"
        } else {
            "; already quarantined"
        };
        return Step::Done(o.plan(Vec::new(), Did::None, Moves::default(), note.to_owned()));
    }
    let note = quarantine_note(&moves, &candidates);
    let action = if moves.still_deployable.is_empty() {
        Did::Quarantined
    } else {
        Did::QuarantineFailed
    };
    Step::Done(o.plan(actions, action, moves, note))
}

/// What a quarantine moved, for the decision line: the image's own tags, then the indexes'.
fn quarantine_note(moves: &Moves, own_candidates: &[Tag]) -> String {
    let mut note = String::new();
    let own: Vec<Tag> = moves
        .quarantined
        .iter()
        .filter(|t| own_candidates.contains(t))
        .cloned()
        .collect();
    if !own.is_empty() {
        note.push_str(&format!("; quarantine {}", joined(&own)));
    }
    if !moves.via.is_empty() {
        let of_indexes: Vec<Tag> = moves
            .quarantined
            .iter()
            .filter(|t| !own.contains(t))
            .cloned()
            .collect();
        note.push_str(&format!(
            "; quarantine the index{} naming it: {}",
            if moves.via.len() == 1 { "" } else { "es" },
            joined(&of_indexes)
        ));
    }
    note
}

/// The image's own tags, those that still point at it (a tag moved since belongs to another image).
fn quarantine_own(
    o: &Outcome<'_>,
    prefix: &str,
    manifest: &Manifest,
    targets: &Targets,
    actions: &mut Vec<Action>,
    moves: &mut Moves,
) {
    let mut tag_moves = Vec::new();
    for (tag, _) in targets
        .iter()
        .filter(|(_, d)| d.as_ref() == Some(&o.subject.digest))
    {
        match quarantine_tag(prefix, tag, &o.subject.digest) {
            Some(to) => tag_moves.push(TagMove {
                from: tag.clone(),
                to,
            }),
            None => {
                moves.problems.push(format!(
                    "{tag}: no quarantine name fits with prefix `{prefix}`"
                ));
                moves.still_deployable.push(tag.clone());
            }
        }
    }
    if tag_moves.is_empty() {
        return;
    }
    moves
        .quarantined
        .extend(tag_moves.iter().map(|m| m.from.clone()));
    actions.push(move_tags(o, manifest, tag_moves));
}

/// Each index naming the failing image is quarantined by its own tags.
fn quarantine_parents(
    o: &Outcome<'_>,
    prefix: &str,
    parents: &Parents,
    actions: &mut Vec<Action>,
    moves: &mut Moves,
) {
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
        actions.push(move_tags(o, &parent.manifest, tag_moves));
    }
}

/// Move these tags of `manifest` (the image, or an index naming it) in the subject's repository.
pub(super) fn move_tags(o: &Outcome<'_>, manifest: &Manifest, moves: Vec<TagMove>) -> Action {
    Action::MoveTags {
        repository: o.subject.repository.clone(),
        manifest: manifest.clone(),
        moves,
    }
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
    if !body.still_deployable.is_empty() && message.action.is(&Did::Quarantined) {
        message.action = MessageAction::done(Did::QuarantineFailed);
    }
}

/// Tags as a reader sees them in a decision line: `v1, latest`.
pub(super) fn joined(tags: &[Tag]) -> String {
    tags.iter().map(Tag::as_str).collect::<Vec<_>>().join(", ")
}
