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
use crate::records::{Claim, Manifest};
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
    let guarded = Guarded {
        repository,
        tag,
        pushed,
        observed_at,
        resolved: &resolved,
        ctx,
        facts,
        dry,
        at: format!("{repository}:{tag}"),
    };
    guarded
        .steps(&protection.offender)
        .unwrap_or_else(|step| *step)
}

/// One protected tag's decision: the tag, the push seen, and the facts read so far.
pub(super) struct Guarded<'a> {
    pub(super) repository: &'a RepositoryName,
    pub(super) tag: &'a Tag,
    /// The digest the tag was seen pointing at.
    pub(super) pushed: &'a Digest,
    pub(super) observed_at: DateTime<Utc>,
    pub(super) resolved: &'a Resolved<'a>,
    pub(super) ctx: &'a Context,
    pub(super) facts: &'a TagFacts,
    pub(super) dry: bool,
    /// `<repository>:<tag>`, as decisions name the tag.
    pub(super) at: String,
}

impl<'a> Guarded<'a> {
    /// The protected tag's decision in order; `Err`: a step decided on the way.
    fn steps(&self, offender: &Offender) -> Result<Step, Box<Step>> {
        let legit = self.legit(self.claim()?)?;
        let offending = self.offending(legit)?;
        if let Some(accepted) = self.accepted(legit, offending) {
            return Ok(accepted);
        }
        Ok(self.revert(offender, legit, offending))
    }

    /// The ledger's claim on the tag; `Err`: the claim to make (in dry-run, the entry to read).
    fn claim(&self) -> Result<&'a Claim, Box<Step>> {
        match &self.facts.ledger {
            None if self.dry => Err(Box::new(Step::Need(Need::LedgerRead {
                repository: self.repository.clone(),
                tag: self.tag.clone(),
            }))),
            None => Err(Box::new(Step::Need(Need::LedgerClaim {
                repository: self.repository.clone(),
                tag: self.tag.clone(),
                digest: self.pushed.clone(),
                observed_at: self.observed_at,
            }))),
            Some(claim) => Ok(claim),
        }
    }

    /// The digest the tag must point to; `Err`: the plan when the ledger's claim settles it.
    fn legit(&self, claim: &'a Claim) -> Result<&'a Digest, Box<Step>> {
        let (at, pushed, dry) = (&self.at, self.pushed, self.dry);
        // The digest the tag must point to: the earliest observed.
        match claim {
            Claim::Recorded => {
                let verb = if dry { "would record" } else { "recorded" };
                Err(Box::new(Step::Done(Plan::nothing(
                    format!("{at} first seen: {verb} {}", pushed.short()),
                    dry,
                ))))
            }
            Claim::Existing(recorded) | Claim::Replaced { previous: recorded }
                if recorded == pushed =>
            {
                Err(Box::new(Step::Done(Plan::nothing(
                    format!("{at} → {}: as recorded", pushed.short()),
                    dry,
                ))))
            }
            Claim::Existing(recorded) => Ok(recorded),
            // This push was observed before the recorded one (events arrived out of order): it is
            // the original, and the later digest is the overwrite.
            Claim::Replaced { .. } => Ok(pushed),
        }
    }

    /// Where the tag points now, away from `legit`; `Err`: the read, or nothing to revert.
    fn offending(&self, legit: &Digest) -> Result<&'a Digest, Box<Step>> {
        let (at, dry) = (&self.at, self.dry);
        // Re-read where the tag points now: act on the world as it is, not on the event's news.
        match &self.facts.current {
            None => Err(Box::new(Step::Need(Need::CurrentTarget {
                repository: self.repository.clone(),
                tag: self.tag.clone(),
            }))),
            Some(None) => Err(Box::new(Step::Done(Plan::nothing(
                format!("{at} no longer exists: nothing to revert"),
                dry,
            )))),
            Some(Some(current)) if current == legit => Err(Box::new(Step::Done(Plan::nothing(
                format!(
                    "{at} points to the recorded {}: nothing to revert",
                    legit.short()
                ),
                dry,
            )))),
            Some(Some(current)) => Ok(current),
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
