//! Release: a PASS after a FAIL gives the image, and the indexes naming it, their tags back.

use super::index::siblings_of;
use super::moves::{Moves, Outcome, Targets, current_tags, image_view, joined, move_tags, parents};
use super::naming::original_tag;
use super::*;

use crate::message::Did;
use crate::names::{Digest, Tag};
use crate::plan::{Action, TagMove};
use crate::records::Manifest;
use crate::verdict::Verdict;

/// A PASS after a FAIL gives back the quarantine tags the image holds now (unless a newer image
/// has taken the name) and those of the indexes naming it.
pub(super) fn release_step(o: &Outcome<'_>, prefix: &str, facts: &Facts) -> Step {
    let digest = &o.subject.digest;
    let current = match current_tags(o, facts) {
        Ok(tags) => tags,
        Err(step) => return *step,
    };
    // (quarantine tag, original tag) for each quarantine tag of this image it carries.
    let mut held: Vec<(Tag, Tag)> = Vec::new();
    let mut moves = Moves::default();
    for q in current {
        match original_tag(prefix, q, digest) {
            Ok(Some(original)) => held.push((q.clone(), original)),
            Ok(None) => {}
            Err(problem) => moves.problems.push(problem),
        }
    }
    let mut actions = Vec::new();
    if !held.is_empty() {
        let originals = held.iter().map(|(_, t)| t.clone()).collect();
        let (manifest, targets) = match image_view(o, facts, originals) {
            Ok(view) => view,
            Err(step) => return *step,
        };
        release_own(o, manifest, targets, &held, &mut actions, &mut moves);
    }
    if let Err(step) = release_parents(o, prefix, facts, &mut actions, &mut moves) {
        return *step;
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
    let action = if held.is_empty() && actions.is_empty() {
        Did::None
    } else {
        Did::Released
    };
    Step::Done(o.plan(actions, action, moves, note))
}

/// The image's own quarantine tags back to their names, where no other image holds the name now
/// (its quarantine tag then stays: the image keeps a tag, and it says where it came from).
fn release_own(
    o: &Outcome<'_>,
    manifest: &Manifest,
    targets: &Targets,
    held: &[(Tag, Tag)],
    actions: &mut Vec<Action>,
    moves: &mut Moves,
) {
    let target = |t: &Tag| {
        targets
            .iter()
            .find(|(x, _)| x == t)
            .and_then(|(_, d)| d.clone())
    };
    let mut release = Vec::new();
    for (q, t) in held {
        match target(t) {
            Some(other) if other != o.subject.digest => moves.taken.push(t.clone()),
            _ => {
                moves.restored.push(t.clone());
                release.push(TagMove {
                    from: q.clone(),
                    to: t.clone(),
                });
            }
        }
    }
    if !release.is_empty() {
        actions.push(move_tags(o, manifest, release));
    }
}

/// A child that passes again gives its indexes their tags back — each index only once every one
/// of its other platform images has passed, and each tag only where no other image has taken it.
/// `Err`: the step to take first.
fn release_parents(
    o: &Outcome<'_>,
    prefix: &str,
    facts: &Facts,
    actions: &mut Vec<Action>,
    moves: &mut Moves,
) -> Result<(), Box<Step>> {
    let parents = parents(o, facts)?;
    let held = quarantined_indexes(parents, prefix);
    if held.is_empty() {
        return Ok(());
    }
    // The same read the index verdicts ask for: every platform image of every parent.
    let Some(siblings) = &facts.sibling_verdicts else {
        return Err(Box::new(Step::Need(Need::Verdicts {
            repository: o.subject.repository.clone(),
            digests: siblings_of(o, parents),
        })));
    };
    // The index is released under the rule its verdict follows (index.rs): every other platform
    // image has passed. One that fails or has no verdict yet keeps it quarantined.
    let recorded = |d: &Digest| siblings.iter().find(|(s, _)| s == d).and_then(|(_, v)| *v);
    for (parent, pairs) in held {
        let index = &parent.manifest.digest;
        let holding = parent
            .children
            .iter()
            .filter(|c| **c != o.subject.digest)
            .find_map(|c| match recorded(c) {
                Some(Verdict::Pass) => None,
                Some(Verdict::Fail) => Some((c, "still fails")),
                None => Some((c, "has no verdict yet")),
            });
        if let Some((other, why)) = holding {
            moves.problems.push(format!(
                "index {} stays quarantined: its child {} {why}",
                index.short(),
                other.short()
            ));
            continue;
        }
        let release = give_back(parents, index, pairs, moves);
        if !release.is_empty() {
            moves.via.push(index.clone());
            actions.push(move_tags(o, &parent.manifest, release));
        }
    }
    Ok(())
}

/// The indexes naming the image that hold quarantine tags, each with (quarantine tag, original).
fn quarantined_indexes<'p>(
    parents: &'p Parents,
    prefix: &str,
) -> Vec<(&'p ParentIndex, Vec<(Tag, Tag)>)> {
    parents
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
        .collect()
}

/// The moves giving an index its tags back, each only where no other image has taken it since
/// (that one is reported in `taken`).
fn give_back(
    parents: &Parents,
    index: &Digest,
    pairs: Vec<(Tag, Tag)>,
    moves: &mut Moves,
) -> Vec<TagMove> {
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
    release
}
