//! The executor: the only code that carries out a [`Plan`]. In dry-run it changes nothing and still
//! publishes (people are told what would happen). Re-running a plan is safe: a tag already where the
//! plan puts it counts as done.

use std::collections::BTreeMap;

use crate::plan::{Action, Plan};
use crate::ports::{ImageManifests, PortError, Publisher, RepositorySettings};

/// The ports a plan may use.
pub struct Executor<'a> {
    pub settings: &'a dyn RepositorySettings,
    pub images: &'a dyn ImageManifests,
    pub publisher: &'a dyn Publisher,
}

/// Outcome counts of carried-out (or, in dry-run, planned) actions, for the summary metrics.
pub type Outcomes = BTreeMap<&'static str, u64>;

impl Executor<'_> {
    pub async fn run(&self, plan: &Plan, outcomes: &mut Outcomes) -> Result<(), PortError> {
        for action in &plan.actions {
            if plan.dry_run && action.is_change() {
                *outcomes.entry("DryRunActions").or_default() += 1;
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
                    *outcomes.entry("RepositoriesFixed").or_default() += 1;
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
                    *outcomes.entry("TagsPut").or_default() += 1;
                }
                Action::RemoveTags { repository, tags } => {
                    let failures = self.images.remove_tags(repository, tags).await?;
                    *outcomes.entry("TagsRemoved").or_default() +=
                        (tags.len() - failures.len().min(tags.len())) as u64;
                    if !failures.is_empty() {
                        return Err(PortError::Invalid {
                            operation: "ecr:BatchDeleteImage",
                            message: failures.join("; "),
                        });
                    }
                }
                Action::Publish { topic_arn, message } => {
                    self.publisher
                        .publish(topic_arn.as_deref(), message)
                        .await?;
                    *outcomes.entry("Notifications").or_default() += 1;
                    if !message.dry_run {
                        match message.action.as_str() {
                            "reverted" => *outcomes.entry("TagsReverted").or_default() += 1,
                            "quarantined" => *outcomes.entry("ImagesQuarantined").or_default() += 1,
                            "released" => *outcomes.entry("ImagesReleased").or_default() += 1,
                            _ => {}
                        }
                    }
                }
            }
        }
        Ok(())
    }
}
