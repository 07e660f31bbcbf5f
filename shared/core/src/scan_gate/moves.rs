//! What a verdict does to tags: quarantine of the failing image (or of the indexes an untagged
//! child is pulled through), release when it passes again, and the message saying what was done.

use super::naming::{candidates, original_tag, quarantine_tag};
use super::*;

/// Tag moves a plan made, for the message.
#[derive(Default)]
pub(super) struct Moves {
    /// Indexes whose tags moved because this image, their child, failed (or passed again).
    via: Vec<Digest>,
    quarantined: Vec<Tag>,
    restored: Vec<Tag>,
    taken: Vec<Tag>,
    still_deployable: Vec<Tag>,
    problems: Vec<String>,
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
        let body = VerdictBody {
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
}

pub(super) fn quarantine_step(o: &Outcome<'_>, prefix: &str, facts: &Facts) -> Step {
    let candidates = candidates(o.subject, prefix);
    if candidates.is_empty() && o.subject.tags.is_empty() {
        return quarantine_parents(o, prefix, facts);
    }
    if candidates.is_empty() {
        return Step::Done(o.plan(
            Vec::new(),
            Did::None,
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
            Did::None,
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
            Did::None,
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
    let note = format!("; quarantine {}", joined(&originals));
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
        Did::QuarantineFailed
    } else {
        Did::Quarantined
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
            Did::None,
            Moves::default(),
            "; untagged, and no tagged index names it: nothing to move".to_owned(),
        ));
    }
    let note = format!(
        "; quarantine the index{} naming it: {}",
        if moves.via.len() == 1 { "" } else { "es" },
        joined(&moves.quarantined)
    );
    Step::Done(o.plan(actions, Did::Quarantined, moves, note))
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
        return Step::Done(o.plan(Vec::new(), Did::None, Moves::default(), String::new()));
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
        Did::None
    } else {
        Did::Released
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
    if !body.still_deployable.is_empty() && message.action.is(&Did::Quarantined) {
        message.action = MessageAction::done(Did::QuarantineFailed);
    }
}

pub(super) fn release_step(o: &Outcome<'_>, prefix: &str, facts: &Facts) -> Step {
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
                Did::None,
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
        return Step::Done(o.plan(Vec::new(), Did::None, moves, String::new()));
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
            Did::None,
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
        note.push_str(&format!("; release {}", joined(&moves.restored)));
    }
    if !moves.taken.is_empty() {
        note.push_str(&format!(
            "; not restored (a newer image has it): {}",
            joined(&moves.taken)
        ));
    }
    Step::Done(o.plan(actions, Did::Released, moves, note))
}

/// Tags as a reader sees them in a decision line: `v1, latest`.
fn joined(tags: &[Tag]) -> String {
    tags.iter().map(Tag::as_str).collect::<Vec<_>>().join(", ")
}
