//! The executor: the only code that carries out a [`Plan`]. In dry-run it changes nothing and still
//! publishes (people are told what would happen). Re-running a plan is safe: a tag already where the
//! plan puts it, or an image already deleted, counts as done.
//!
//! Changes run first, in plan order; then the plan's messages are published, after the caller has
//! had the chance to correct them with what could not be done ([`Executed`]) — a message never
//! claims an action that was refused.

use std::collections::BTreeMap;

use crate::message::{Did, Message};
use crate::names::{Digest, RepositoryName, Tag};
use crate::plan::{Action, ListedImage, Plan, TagMove};
use crate::ports::{
    ImageDeletion, ImageManifests, LifecycleControl, MutabilityControl, PortError, Publisher,
};
use crate::records::{Manifest, TagRemoval};

/// ECR's BatchDeleteImage limit on image ids per call.
pub const DELETE_BATCH: usize = 100;

/// The ports a plan may use. Tag moves and messages are every function's; the other writes are
/// granted only to the function whose job they are, so a plan asking for one it was not granted
/// fails (non-retryable) instead of acting.
pub struct Executor<'a> {
    pub images: &'a dyn ImageManifests,
    pub publisher: &'a dyn Publisher,
    pub grants: Grants<'a>,
}

/// The writes beyond tag moves a function may make; `None` means not granted.
#[derive(Clone, Copy, Default)]
pub struct Grants<'a> {
    /// tag-guard: `PutImageTagMutability`.
    pub mutability: Option<&'a dyn MutabilityControl>,
    /// janitor: `PutLifecyclePolicy`.
    pub lifecycle: Option<&'a dyn LifecycleControl>,
    /// janitor: `BatchDeleteImage` of whole images.
    pub deletion: Option<&'a dyn ImageDeletion>,
}

fn granted<'a, T: ?Sized>(
    grant: Option<&'a T>,
    operation: &'static str,
) -> Result<&'a T, PortError> {
    grant.ok_or(PortError::Invalid {
        operation,
        message: "not granted to this function".to_owned(),
    })
}

/// Outcome counts of carried-out (or, in dry-run, planned) actions, for the summary metrics.
pub type Outcomes = BTreeMap<&'static str, u64>;

/// A tag a [`Action::MoveTags`] left where it was, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotMoved {
    /// The move that did not happen.
    pub tag_move: TagMove,
    pub reason: String,
    /// `true`: the tag still points at the image (its new name was refused); `false`: it points at
    /// another image now (it moved meanwhile) and was left alone.
    pub still_on_image: bool,
}

/// What carrying out a plan could not do. Failures are per-item refusals AWS reported without
/// failing the call (e.g. an image ECR refused to delete): reported, not retried.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Executed {
    pub failures: Vec<String>,
    pub not_moved: Vec<NotMoved>,
}

/// The Lambda error contract in one place: a retryable failure propagates (Lambda retries the
/// event); any other is recorded in `errors` and acknowledged, because retrying cannot fix it.
pub fn absorb(error: PortError, errors: &mut Vec<String>) -> Result<(), PortError> {
    if error.is_retryable() {
        return Err(error);
    }
    errors.push(error.to_string());
    Ok(())
}

fn count(outcomes: &mut Outcomes, name: &'static str, n: usize) {
    *outcomes.entry(name).or_default() += n as u64;
}

impl Executor<'_> {
    /// Carry out `plan` and publish its messages as planned.
    pub async fn run(&self, plan: &Plan, outcomes: &mut Outcomes) -> Result<Executed, PortError> {
        self.run_then_tell(plan, outcomes, |_, _| {}).await
    }

    /// Carry out `plan`'s changes, then let `correct` amend each message with what could not be
    /// done, then publish. A retryable failure stops the plan (Lambda retries it; every action is
    /// idempotent); a refusal retrying cannot fix is carried in [`Executed`].
    pub async fn run_then_tell(
        &self,
        plan: &Plan,
        outcomes: &mut Outcomes,
        correct: impl Fn(&Executed, &mut Message),
    ) -> Result<Executed, PortError> {
        let mut executed = Executed::default();
        for action in plan.actions.iter().filter(|a| a.is_change()) {
            if plan.dry_run {
                count(outcomes, "DryRunActions", 1);
                continue;
            }
            self.change(action, outcomes, &mut executed).await?;
        }
        for action in &plan.actions {
            if let Action::Publish { topic_arn, message } = action {
                let mut message = message.clone();
                correct(&executed, &mut message);
                self.publisher
                    .publish(topic_arn.as_deref(), &message)
                    .await?;
                count(outcomes, "Notifications", 1);
                if !message.dry_run {
                    match message.action.did {
                        Did::Reverted => count(outcomes, "TagsReverted", 1),
                        Did::Quarantined => count(outcomes, "ImagesQuarantined", 1),
                        Did::QuarantineFailed => count(outcomes, "QuarantinesFailed", 1),
                        Did::Released => count(outcomes, "ImagesReleased", 1),
                        _ => {}
                    }
                }
            }
        }
        Ok(executed)
    }

    async fn change(
        &self,
        action: &Action,
        outcomes: &mut Outcomes,
        executed: &mut Executed,
    ) -> Result<(), PortError> {
        match action {
            Action::SetTagMutability {
                repository,
                setting,
            } => {
                granted(self.grants.mutability, "ecr:PutImageTagMutability")?
                    .set_tag_mutability(repository, setting)
                    .await?;
                count(outcomes, "RepositoriesFixed", 1);
            }
            Action::PutLifecyclePolicy { repository, text } => {
                granted(self.grants.lifecycle, "ecr:PutLifecyclePolicy")?
                    .put_lifecycle_policy(repository, text)
                    .await?;
                count(outcomes, "LifecyclePoliciesSet", 1);
            }
            Action::PutTag {
                repository,
                tag,
                manifest,
            } => {
                match self.images.put_tag(repository, manifest, tag).await {
                    Ok(_) | Err(PortError::ImageAlreadyExists { .. }) => {}
                    Err(e) => return Err(e),
                }
                count(outcomes, "TagsPut", 1);
            }
            Action::MoveTags {
                repository,
                manifest,
                moves,
            } => {
                self.move_tags(repository, manifest, moves, outcomes, executed)
                    .await?
            }
            Action::DeleteImages { repository, images } => {
                self.delete_images(repository, images, outcomes, executed)
                    .await?
            }
            Action::Publish { .. } => {}
        }
        Ok(())
    }
    /// Move tags: a tag is removed only once its new name is in place, so the image is never
    /// left without a tag by a half-done move; what could not move is in `executed.not_moved`.
    async fn move_tags(
        &self,
        repository: &RepositoryName,
        manifest: &Manifest,
        moves: &[TagMove],
        outcomes: &mut Outcomes,
        executed: &mut Executed,
    ) -> Result<(), PortError> {
        let mut placed: Vec<&TagMove> = Vec::new();
        for m in moves {
            match self.images.put_tag(repository, manifest, &m.to).await {
                Ok(_) | Err(PortError::ImageAlreadyExists { .. }) => placed.push(m),
                Err(e) if e.is_retryable() => return Err(e),
                Err(e) => executed.not_moved.push(NotMoved {
                    tag_move: m.clone(),
                    reason: format!("{} refused: {e}", m.to),
                    still_on_image: true,
                }),
            }
        }
        count(outcomes, "TagsPut", placed.len());
        let from: Vec<Tag> = placed.iter().map(|m| m.from.clone()).collect();
        if from.is_empty() {
            return Ok(());
        }
        let removal = self
            .images
            .remove_tags(repository, &manifest.digest, &from)
            .await?;
        count(
            outcomes,
            "TagsRemoved",
            from.len()
                .saturating_sub(removal.moved.len() + removal.refused.len() + removal.raced.len()),
        );
        not_removed(removal, &placed, outcomes, executed);
        Ok(())
    }

    /// Delete the images batch by batch, each batch re-read just before: an image tagged since
    /// it was listed stays (`DeletesSkipped`), and what ECR refused is a failure.
    async fn delete_images(
        &self,
        repository: &RepositoryName,
        images: &[ListedImage],
        outcomes: &mut Outcomes,
        executed: &mut Executed,
    ) -> Result<(), PortError> {
        let deletion = granted(self.grants.deletion, "ecr:BatchDeleteImage")?;
        for batch in images.chunks(DELETE_BATCH) {
            let digests: Vec<Digest> = batch.iter().map(|i| i.digest.clone()).collect();
            let now = self.images.tags_now(repository, &digests).await?;
            let mut go = Vec::new();
            for (listed, current) in batch.iter().zip(now) {
                match current {
                    None => {} // gone already: what was wanted
                    Some(tags) => match tags.iter().find(|t| !listed.tags.contains(t)) {
                        Some(gained) => {
                            count(outcomes, "DeletesSkipped", 1);
                            executed.failures.push(format!(
                                "{}: kept, tagged {gained} since it was listed",
                                listed.digest
                            ));
                        }
                        None => go.push(listed.digest.clone()),
                    },
                }
            }
            let refused = deletion.delete_images(repository, &go).await?;
            count(
                outcomes,
                "ImagesDeleted",
                go.len().saturating_sub(refused.len()),
            );
            count(outcomes, "DeleteFailures", refused.len());
            executed.failures.extend(refused);
        }
        Ok(())
    }
}

/// What a tag-only removal did not remove, each as the move it belonged to: moved meanwhile (left
/// alone), raced onto another image (reported, `TagsRemovedElsewhere`), or refused.
fn not_removed(
    removal: TagRemoval,
    placed: &[&TagMove],
    outcomes: &mut Outcomes,
    executed: &mut Executed,
) {
    let move_of = |tag: &Tag| placed.iter().find(|m| &m.from == tag).copied();
    for tag in removal.moved {
        if let Some(m) = move_of(&tag) {
            executed.not_moved.push(NotMoved {
                tag_move: m.clone(),
                reason: format!("{tag} is no longer on this image: left alone"),
                still_on_image: false,
            });
        }
    }
    for (tag, other) in removal.raced {
        if let Some(m) = move_of(&tag) {
            count(outcomes, "TagsRemovedElsewhere", 1);
            executed.not_moved.push(NotMoved {
                tag_move: m.clone(),
                reason: format!(
                    "{tag} was pushed onto {other} just before it was removed, and was removed \
                     from {other} (ECR deletes an image with its last tag): push {tag} again"
                ),
                still_on_image: false,
            });
        }
    }
    for (tag, reason) in removal.refused {
        if let Some(m) = move_of(&tag) {
            executed.not_moved.push(NotMoved {
                tag_move: m.clone(),
                reason: format!("{tag} not removed: {reason}"),
                still_on_image: true,
            });
        }
    }
}
