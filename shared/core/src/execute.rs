//! The executor: the only code that carries out a [`Plan`]. In dry-run it changes nothing and still
//! publishes (people are told what would happen). Re-running a plan is safe: a tag already where the
//! plan puts it, or an image already deleted, counts as done.

use std::collections::BTreeMap;

use crate::plan::{Action, Plan};
use crate::ports::{ImageManifests, PortError, Publisher, RepositorySettings};

/// ECR's BatchDeleteImage limit on image ids per call.
pub const DELETE_BATCH: usize = 100;

/// The ports a plan may use.
pub struct Executor<'a> {
    pub settings: &'a dyn RepositorySettings,
    pub images: &'a dyn ImageManifests,
    pub publisher: &'a dyn Publisher,
}

/// Outcome counts of carried-out (or, in dry-run, planned) actions, for the summary metrics.
pub type Outcomes = BTreeMap<&'static str, u64>;

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
    /// Carry out `plan`. `Ok` carries the per-item failures AWS reported without failing the call
    /// (e.g. an image ECR refused to delete); they are reported, not retried.
    pub async fn run(
        &self,
        plan: &Plan,
        outcomes: &mut Outcomes,
    ) -> Result<Vec<String>, PortError> {
        let mut failures = Vec::new();
        for action in &plan.actions {
            if plan.dry_run && action.is_change() {
                count(outcomes, "DryRunActions", 1);
                continue;
            }
            match action {
                Action::SetTagMutability {
                    repository,
                    setting,
                } => {
                    self.settings
                        .set_tag_mutability(repository, setting)
                        .await?;
                    count(outcomes, "RepositoriesFixed", 1);
                }
                Action::PutLifecyclePolicy { repository, text } => {
                    self.settings.put_lifecycle_policy(repository, text).await?;
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
                Action::RemoveTags { repository, tags } => {
                    let refused = self.images.remove_tags(repository, tags).await?;
                    count(
                        outcomes,
                        "TagsRemoved",
                        tags.len().saturating_sub(refused.len()),
                    );
                    if !refused.is_empty() {
                        // A tag that stayed would leave the plan half done: fail, so it is retried.
                        return Err(PortError::Invalid {
                            operation: "ecr:BatchDeleteImage",
                            message: refused.join("; "),
                        });
                    }
                }
                Action::DeleteImages {
                    repository,
                    digests,
                } => {
                    for batch in digests.chunks(DELETE_BATCH) {
                        let refused = self.images.delete_images(repository, batch).await?;
                        count(
                            outcomes,
                            "ImagesDeleted",
                            batch.len().saturating_sub(refused.len()),
                        );
                        count(outcomes, "DeleteFailures", refused.len());
                        failures.extend(refused);
                    }
                }
                Action::Publish { topic_arn, message } => {
                    self.publisher
                        .publish(topic_arn.as_deref(), message)
                        .await?;
                    count(outcomes, "Notifications", 1);
                    if !message.dry_run {
                        match message.action.as_str() {
                            "reverted" => count(outcomes, "TagsReverted", 1),
                            "quarantined" => count(outcomes, "ImagesQuarantined", 1),
                            "released" => count(outcomes, "ImagesReleased", 1),
                            _ => {}
                        }
                    }
                }
            }
        }
        Ok(failures)
    }
}
