//! The revert of a protected tag an overwrite moved: the tag pointed back at the recorded image
//! (same manifest, so the same digest), the offending image kept reachable as the policy says.

use super::decide::Guarded;
use super::decide::publish;
use super::{Need, Step};
use crate::message::{Body, Did};
use crate::names::{Digest, Tag};
use crate::plan::{Action, Plan};
use crate::policy::Offender;

impl Guarded<'_> {
    /// The tag pointed back at the recorded image, or only told when that image is gone.
    pub(super) fn revert(&self, offender: &Offender, legit: &Digest, offending: &Digest) -> Step {
        let Some(manifests) = &self.facts.manifests else {
            return Step::Need(Need::Manifests {
                repository: self.repository.clone(),
                digests: vec![legit.clone(), offending.clone()],
            });
        };
        let find = |d: &Digest| manifests.iter().find(|m| &m.digest == d);
        let Some(original) = find(legit) else {
            return self.revert_impossible(legit, offending);
        };
        let (repository, tag, at, dry) = (self.repository, self.tag, &self.at, self.dry);
        let mut actions = Vec::new();
        // Keep the offending image reachable first, so that moving the tag never leaves it
        // untagged.
        let kept_as = match (offender, find(offending)) {
            (Offender::Keep { keep_as }, Some(image)) => {
                let rendered = keep_as
                    .replace("{tag}", tag.as_str())
                    .replace("{short_digest}", offending.short());
                Tag::new(rendered).ok().inspect(|keep| {
                    actions.push(Action::PutTag {
                        repository: repository.clone(),
                        tag: keep.clone(),
                        manifest: image.clone(),
                    });
                })
            }
            _ => None,
        };
        actions.push(Action::PutTag {
            repository: repository.clone(),
            tag: tag.clone(),
            manifest: original.clone(),
        });
        let body = Body::TagReverted {
            tag: tag.clone(),
            restored_digest: legit.clone(),
            offending_digest: offending.clone(),
            offender_kept_as: kept_as.clone(),
        };
        actions.push(publish(self.resolved, self.ctx, Did::Reverted, dry, body));
        let kept = kept_as.map_or_else(|| "left untagged".to_owned(), |k| format!("kept as {k}"));
        Step::Done(Plan {
            decision: format!(
                "{at} moved {} → {}: revert to {}, offending image {kept}",
                legit.short(),
                offending.short(),
                legit.short()
            ),
            dry_run: dry,
            actions,
        })
    }

    /// No revert once the recorded image is gone: the move is told, nothing changes.
    fn revert_impossible(&self, legit: &Digest, offending: &Digest) -> Step {
        let at = &self.at;
        let body = Body::TagRevertImpossible {
            tag: self.tag.clone(),
            recorded_digest: legit.clone(),
            offending_digest: offending.clone(),
            reason: format!("the recorded image {legit} is no longer in the repository"),
        };
        Step::Done(Plan {
            decision: format!(
                "{at} moved to {} but the recorded image is gone: notify only",
                offending.short()
            ),
            dry_run: self.dry,
            actions: vec![publish(self.resolved, self.ctx, Did::None, self.dry, body)],
        })
    }
}
