//! A protected tag's move that stands: ECR's replication wrote the tag, or scan-gate failed the
//! recorded image. The ledger follows the move instead of the tag being reverted.

use chrono::{DateTime, Utc};

use super::decide::Guarded;
use super::decide::publish;
use super::{Context, Need, Step, TagFacts};
use crate::message::{Body, Did};
use crate::names::{Digest, RepositoryName, Tag};
use crate::plan::Plan;
use crate::policy::Resolved;
use crate::verdict::Verdict;

impl Guarded<'_> {
    /// The step when the tag's move stands (or the read telling); `None`: it is reverted.
    pub(super) fn accepted(&self, legit: &Digest, offending: &Digest) -> Option<Step> {
        let (resolved, ctx, dry, facts) = (self.resolved, self.ctx, self.dry, self.facts);
        // A tag ECR's replication wrote follows its source: the source region's guard decides
        // there (its revert is a push there, replicated here in turn). Reverting here too would
        // make two ledgers fight, and with replication both ways, loop (docs/tag-guard.md,
        // "Replicated images").
        if let Some(source) = &facts.replicated_from {
            let accepted = Accepted {
                repository: self.repository,
                tag: self.tag,
                recorded: legit,
                current: offending,
                observed_at: self.observed_at,
                reason: format!(
                    "written by ECR replication from {source}: the tag follows its source, whose guard decides"
                ),
            };
            return Some(accepted.step(resolved, ctx, dry, facts));
        }
        // scan-gate ↔ tag-guard (docs/invariants.md): a protected tag is never re-pointed at an
        // image scan-gate failed (and so may have quarantined). The new push stands; the ledger
        // follows it.
        match &facts.recorded_verdict {
            None => Some(Step::Need(Need::RecordedVerdict {
                repository: self.repository.clone(),
                digest: legit.clone(),
            })),
            Some(Some(Verdict::Fail)) => {
                let accepted = Accepted {
                    repository: self.repository,
                    tag: self.tag,
                    recorded: legit,
                    current: offending,
                    // The accepted image was pushed at the event's time when it is this event's
                    // image.
                    observed_at: if offending == self.pushed {
                        self.observed_at
                    } else {
                        ctx.now
                    },
                    reason: format!(
                        "scan-gate failed the recorded image {}: the tag is not pointed back at it",
                        legit.short()
                    ),
                };
                Some(accepted.step(resolved, ctx, dry, facts))
            }
            Some(_) => None,
        }
    }
}

/// A move of a protected tag away from an image scan-gate failed: it stands.
struct Accepted<'a> {
    repository: &'a RepositoryName,
    tag: &'a Tag,
    recorded: &'a Digest,
    current: &'a Digest,
    observed_at: DateTime<Utc>,
    /// Why the move stands.
    reason: String,
}

impl Accepted<'_> {
    fn step(&self, resolved: &Resolved<'_>, ctx: &Context, dry: bool, facts: &TagFacts) -> Step {
        let at = format!("{}:{}", self.repository, self.tag);
        match facts.ledger_followed {
            None if !dry => Step::Need(Need::LedgerFollow {
                repository: self.repository.clone(),
                tag: self.tag.clone(),
                from: self.recorded.clone(),
                to: self.current.clone(),
                observed_at: self.observed_at,
            }),
            Some(false) => Step::Done(Plan::nothing(
                format!("{at}: the ledger changed meanwhile; the next event decides"),
                dry,
            )),
            _ => {
                let reason = self.reason.clone();
                let body = Body::TagAccepted {
                    tag: self.tag.clone(),
                    previous_digest: self.recorded.clone(),
                    accepted_digest: self.current.clone(),
                    reason: reason.clone(),
                };
                Step::Done(Plan {
                    decision: format!(
                        "{at} moved {} → {}: {reason}; the ledger follows",
                        self.recorded.short(),
                        self.current.short()
                    ),
                    dry_run: dry,
                    actions: vec![publish(resolved, ctx, Did::Accepted, dry, body)],
                })
            }
        }
    }
}
