//! tag-guard's pure decision: an event, the policy and the facts read so far become the next
//! [`Step`] — a read to make or the plan.

use super::repository::decide_cloudtrail;
use chrono::{DateTime, Utc};
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use serde::Serialize;

use crate::event::{Detail, Event, ReplicationAction};
use crate::message::{Body, Did, Message, MessageAction, SCHEMA};
use crate::names::{AccountId, Digest, Region, RepositoryName, Tag};
use crate::plan::{Action, Plan};
use crate::policy::{Offender, Policy, ProtectedTags, Resolved};
use crate::ports::{Claim, Manifest};
use crate::verdict::Verdict;

pub const FUNCTION: &str = "tag-guard";

/// Where and how tag-guard runs.
#[derive(Debug, Clone)]
pub struct Context {
    pub account: AccountId,
    pub region: Region,
    pub event_id: Option<String>,
    /// Global dry-run (`WARDEN_DRY_RUN=true`), on top of the policy's per-pattern dry_run.
    pub force_dry_run: bool,
    /// The clock, read once per event by the caller (the core reads none).
    pub now: DateTime<Utc>,
}

/// Facts read so far for one tag decision. `None` = not read yet.
#[derive(Debug, Clone, Default)]
pub struct TagFacts {
    /// What the ledger claim did (in dry-run: what it would do, from a read).
    pub ledger: Option<Claim>,
    /// What the tag points to now.
    pub current: Option<Option<Digest>>,
    /// Manifests of the recorded and the pushed image (whichever exist).
    pub manifests: Option<Vec<Manifest>>,
    /// scan-gate's verdict on the recorded image (`Some(None)`: none recorded).
    pub recorded_verdict: Option<Option<Verdict>>,
    /// Whether the ledger followed the accepted push (`false`: the entry changed meanwhile).
    pub ledger_followed: Option<bool>,
    /// From the event, not read: ECR's own replication wrote the tag here, from this source
    /// (`<region>/<account>`). Such a tag follows its source, never reverted here.
    pub replicated_from: Option<String>,
}

/// The next fact a decision needs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "need", rename_all = "snake_case")]
pub enum Need {
    /// Record the digest unless an entry observed no later exists (conditional write; 1 call).
    LedgerClaim {
        repository: RepositoryName,
        tag: Tag,
        digest: Digest,
        observed_at: DateTime<Utc>,
    },
    /// Read the entry only (dry-run; 1 call).
    LedgerRead {
        repository: RepositoryName,
        tag: Tag,
    },
    /// Where the tag points now (1 BatchGetImage).
    CurrentTarget {
        repository: RepositoryName,
        tag: Tag,
    },
    /// These images' manifests (1 BatchGetImage).
    Manifests {
        repository: RepositoryName,
        digests: Vec<Digest>,
    },
    /// scan-gate's recorded verdict on this image (1 GetItem).
    RecordedVerdict {
        repository: RepositoryName,
        digest: Digest,
    },
    /// Move the ledger from `from` to `to`, only while it still says `from` (1 conditional write).
    LedgerFollow {
        repository: RepositoryName,
        tag: Tag,
        from: Digest,
        to: Digest,
        observed_at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Need(Need),
    Done(Plan),
}

/// Compiled protected-tag patterns of one repository.
#[derive(Debug, Clone)]
pub struct Protection {
    globs: GlobSet,
    semver: bool,
    offender: Offender,
}

impl Protection {
    /// Patterns were validated with the policy; one that still fails to compile protects nothing
    /// rather than everything.
    pub fn new(section: &ProtectedTags) -> Self {
        let mut set = GlobSetBuilder::new();
        for pattern in &section.patterns {
            if let Ok(glob) = GlobBuilder::new(pattern).literal_separator(false).build() {
                set.add(glob);
            }
        }
        Self {
            globs: set.build().unwrap_or_else(|_| GlobSet::empty()),
            semver: section.semver,
            offender: section.offender.clone(),
        }
    }

    pub fn protects(&self, tag: &Tag) -> bool {
        self.globs.is_match(tag.as_str()) || (self.semver && is_semver(tag.as_str()))
    }
}

/// A semantic version, with an optional leading `v` (`v1.2.3`, `1.2.3-rc.1`).
pub fn is_semver(tag: &str) -> bool {
    semver::Version::parse(tag.strip_prefix('v').unwrap_or(tag)).is_ok()
}

pub(super) fn dry_run(resolved: &Resolved<'_>, ctx: &Context) -> bool {
    ctx.force_dry_run || resolved.dry_run
}

/// A Publish action for the repository's topic (policy `notify.topic_arn`, else the warden topic).
pub(super) fn publish(
    resolved: &Resolved<'_>,
    ctx: &Context,
    action: Did,
    dry_run: bool,
    body: Body,
) -> Action {
    Action::Publish {
        topic_arn: resolved.notify.and_then(|n| n.value.topic_arn.clone()),
        message: message(ctx, &resolved.repository, action, dry_run, body),
    }
}

fn message(
    ctx: &Context,
    repository: &RepositoryName,
    action: Did,
    dry_run: bool,
    body: Body,
) -> Message {
    Message {
        schema: SCHEMA.to_owned(),
        function: FUNCTION.to_owned(),
        account: ctx.account.clone(),
        region: ctx.region.clone(),
        repository: repository.clone(),
        action: MessageAction::new(action, dry_run),
        dry_run,
        event_id: ctx.event_id.clone(),
        body,
    }
}

/// Whether a (repository, tag) needs the ledger at all: the tag is protected and the repository's
/// policy setting does not already make ECR refuse to move it. `None` = not tag-guard's business,
/// with the reason.
pub fn protection_for(resolved: &Resolved<'_>, tag: &Tag) -> Result<Protection, String> {
    if let Some(setting) = resolved.immutability {
        if setting.value.is_tag_immutable(tag.as_str()) {
            return Err(format!(
                "{tag} is immutable under {}: ECR enforces it",
                setting.value.mode.as_str()
            ));
        }
    }
    let Some(section) = resolved.protected_tags else {
        return Err(format!("{}: no protected tags", resolved.repository));
    };
    let protection = Protection::new(section.value);
    if protection.protects(tag) {
        Ok(protection)
    } else {
        Err(format!("{tag} is not protected"))
    }
}

/// The decision for one protected tag seen pointing at `pushed`, observed at `observed_at` (the
/// push event's time, or the image's push time in the sweep).
pub fn decide_tag(
    repository: &RepositoryName,
    tag: &Tag,
    pushed: &Digest,
    observed_at: DateTime<Utc>,
    policy: &Policy,
    ctx: &Context,
    facts: &TagFacts,
) -> Step {
    let resolved = policy.for_repository(repository);
    let dry = dry_run(&resolved, ctx);
    let protection = match protection_for(&resolved, tag) {
        Ok(p) => p,
        Err(reason) => return Step::Done(Plan::nothing(reason, dry)),
    };
    let at = format!("{repository}:{tag}");
    let claim = match &facts.ledger {
        None if dry => {
            return Step::Need(Need::LedgerRead {
                repository: repository.clone(),
                tag: tag.clone(),
            });
        }
        None => {
            return Step::Need(Need::LedgerClaim {
                repository: repository.clone(),
                tag: tag.clone(),
                digest: pushed.clone(),
                observed_at,
            });
        }
        Some(claim) => claim,
    };
    // The digest the tag must point to: the earliest observed.
    let legit = match claim {
        Claim::Recorded => {
            let verb = if dry { "would record" } else { "recorded" };
            return Step::Done(Plan::nothing(
                format!("{at} first seen: {verb} {}", pushed.short()),
                dry,
            ));
        }
        Claim::Existing(recorded) | Claim::Replaced { previous: recorded }
            if recorded == pushed =>
        {
            return Step::Done(Plan::nothing(
                format!("{at} → {}: as recorded", pushed.short()),
                dry,
            ));
        }
        Claim::Existing(recorded) => recorded,
        // This push was observed before the recorded one (events arrived out of order): it is the
        // original, and the later digest is the overwrite.
        Claim::Replaced { .. } => pushed,
    };
    // Re-read where the tag points now: act on the world as it is, not on the event's news.
    let offending = match &facts.current {
        None => {
            return Step::Need(Need::CurrentTarget {
                repository: repository.clone(),
                tag: tag.clone(),
            });
        }
        Some(None) => {
            return Step::Done(Plan::nothing(
                format!("{at} no longer exists: nothing to revert"),
                dry,
            ));
        }
        Some(Some(current)) if current == legit => {
            return Step::Done(Plan::nothing(
                format!(
                    "{at} points to the recorded {}: nothing to revert",
                    legit.short()
                ),
                dry,
            ));
        }
        Some(Some(current)) => current,
    };
    // A tag ECR's replication wrote follows its source: the source region's guard decides there
    // (its revert is a push there, replicated here in turn). Reverting here too would make two
    // ledgers fight, and with replication both ways, loop (docs/tag-guard.md, "Replicated images").
    if let Some(source) = &facts.replicated_from {
        let accepted = Accepted {
            repository,
            tag,
            recorded: legit,
            current: offending,
            observed_at,
            reason: format!(
                "written by ECR replication from {source}: the tag follows its source, whose guard decides"
            ),
        };
        return accepted.step(&resolved, ctx, dry, facts);
    }
    // scan-gate ↔ tag-guard (docs/invariants.md): a protected tag is never re-pointed at an image
    // scan-gate failed (and so may have quarantined). The new push stands; the ledger follows it.
    match &facts.recorded_verdict {
        None => {
            return Step::Need(Need::RecordedVerdict {
                repository: repository.clone(),
                digest: legit.clone(),
            });
        }
        Some(Some(Verdict::Fail)) => {
            let accepted = Accepted {
                repository,
                tag,
                recorded: legit,
                current: offending,
                // The accepted image was pushed at the event's time when it is this event's image.
                observed_at: if offending == pushed {
                    observed_at
                } else {
                    ctx.now
                },
                reason: format!(
                    "scan-gate failed the recorded image {}: the tag is not pointed back at it",
                    legit.short()
                ),
            };
            return accepted.step(&resolved, ctx, dry, facts);
        }
        Some(_) => {}
    }
    let Some(manifests) = &facts.manifests else {
        return Step::Need(Need::Manifests {
            repository: repository.clone(),
            digests: vec![legit.clone(), offending.clone()],
        });
    };
    let find = |d: &Digest| manifests.iter().find(|m| &m.digest == d);
    let Some(original) = find(legit) else {
        let body = Body::TagRevertImpossible {
            tag: tag.clone(),
            recorded_digest: legit.clone(),
            offending_digest: offending.clone(),
            reason: format!("the recorded image {legit} is no longer in the repository"),
        };
        return Step::Done(Plan {
            decision: format!(
                "{at} moved to {} but the recorded image is gone: notify only",
                offending.short()
            ),
            dry_run: dry,
            actions: vec![publish(&resolved, ctx, Did::None, dry, body)],
        });
    };
    let mut actions = Vec::new();
    // Keep the offending image reachable first, so that moving the tag never leaves it untagged.
    let kept_as = match (&protection.offender, find(offending)) {
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
    actions.push(publish(&resolved, ctx, Did::Reverted, dry, body));
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

/// What tag-guard does with an event, before any fact is read: the plan when the event alone
/// decides, or the tag decision to run.
#[derive(Debug, Clone)]
pub enum Start {
    Plan(Plan),
    Tag {
        repository: RepositoryName,
        tag: Tag,
        digest: Digest,
        observed_at: DateTime<Utc>,
        /// ECR's replication wrote the tag, from this source (`<region>/<account>`).
        replicated_from: Option<String>,
    },
    Sweep,
}

pub fn start(event: &Event, policy: &Policy, ctx: &Context) -> Start {
    let dry = ctx.force_dry_run;
    let observed_at = event
        .envelope
        .time
        .as_ref()
        .and_then(|t| t.at)
        .unwrap_or(ctx.now);
    let written = Written { observed_at, dry };
    match &event.detail {
        Detail::ImagePush(push) => {
            if !push.succeeded() {
                return Start::Plan(Plan::nothing("push did not succeed", dry));
            }
            written.tagged(
                &push.repository_name,
                &push.image_tag,
                &push.image_digest,
                None,
            )
        }
        Detail::Replication(copy) => written.replicated(copy),
        Detail::CloudTrail(call) => Start::Plan(decide_cloudtrail(call, policy, ctx)),
        Detail::Schedule => Start::Sweep,
        other => Start::Plan(Plan::nothing(
            format!("{} events are not tag-guard's", other.kind()),
            dry,
        )),
    }
}

/// A tag ECR wrote (a push, or its own replication), at `observed_at`.
struct Written {
    observed_at: DateTime<Utc>,
    dry: bool,
}

impl Written {
    /// The tag to guard, or nothing for an untagged write.
    fn tagged(
        &self,
        repository: &RepositoryName,
        tag: &Option<Tag>,
        digest: &Digest,
        replicated_from: Option<String>,
    ) -> Start {
        match tag {
            None => Start::Plan(Plan::nothing(
                format!(
                    "untagged {}: no tag to guard",
                    if replicated_from.is_some() {
                        "replication"
                    } else {
                        "push"
                    }
                ),
                self.dry,
            )),
            Some(tag) => Start::Tag {
                repository: repository.clone(),
                tag: tag.clone(),
                digest: digest.clone(),
                observed_at: self.observed_at,
                replicated_from,
            },
        }
    }

    /// ECR's own replication writes the tag in this registry without a PUSH event: the ledger
    /// records it and follows it, the revert is the source region's (docs/tag-guard.md,
    /// "Replicated images").
    fn replicated(&self, copy: &ReplicationAction) -> Start {
        if copy.result != "SUCCESS"
            || copy
                .action_type
                .as_deref()
                .is_some_and(|a| a != "REPLICATE")
        {
            return Start::Plan(Plan::nothing(
                format!(
                    "replication {} {}: nothing written",
                    copy.action_type.as_deref().unwrap_or("REPLICATE"),
                    copy.result
                ),
                self.dry,
            ));
        }
        let source = format!(
            "{}/{}",
            copy.source_region.as_deref().unwrap_or("another region"),
            copy.source_account.as_deref().unwrap_or("an account")
        );
        self.tagged(
            &copy.repository_name,
            &copy.image_tag,
            &copy.image_digest,
            Some(source),
        )
    }
}
