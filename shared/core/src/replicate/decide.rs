//! The replicator's pure decision: a trigger and the policy become a copy plan, or a reason to
//! skip (see the rules in this module's parent).

use globset::{GlobBuilder, GlobSetBuilder};
use serde::Serialize;

use crate::destination::{Registry, Target};
use crate::names::{AccountId, Digest, Region, RepositoryName, Tag};
use crate::policy::{Destination, Policy, Replication};
use crate::records::VerdictRecord;
use crate::verdict::Verdict;

/// What asks for a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// scan-gate's verdict message for one image.
    Verdict {
        repository: RepositoryName,
        digest: Digest,
        tags: Vec<Tag>,
        verdict: Verdict,
    },
    /// `ECR Image Action` PUSH.
    Push {
        repository: RepositoryName,
        digest: Digest,
        tag: Option<Tag>,
    },
    /// `warden replicate --backfill`: an image that already exists, with its tags now.
    Backfill {
        repository: RepositoryName,
        digest: Digest,
        tags: Vec<Tag>,
    },
}

impl Trigger {
    pub fn repository(&self) -> &RepositoryName {
        match self {
            Self::Verdict { repository, .. }
            | Self::Push { repository, .. }
            | Self::Backfill { repository, .. } => repository,
        }
    }

    pub fn digest(&self) -> &Digest {
        match self {
            Self::Verdict { digest, .. }
            | Self::Push { digest, .. }
            | Self::Backfill { digest, .. } => digest,
        }
    }

    fn tags(&self) -> Vec<Tag> {
        match self {
            Self::Verdict { tags, .. } | Self::Backfill { tags, .. } => tags.clone(),
            Self::Push { tag, .. } => tag.iter().cloned().collect(),
        }
    }
}

/// A copy to carry out: one image (with its children and referrers) to each target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CopyPlan {
    pub repository: RepositoryName,
    pub digest: Digest,
    /// The tags the copies get (empty: by digest only).
    pub tags: Vec<Tag>,
    /// The replication rule's tag filter (empty: every tag travels).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tag_filter: Vec<String>,
    pub targets: Vec<Target>,
    /// Copy only if the verdict recorded for the digest is PASS (see [`confirm`]).
    pub requires_pass: bool,
    /// The policy rule whose `replication` decided.
    pub policy_pattern: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    Copy(CopyPlan),
    Skip { reason: String },
}

fn skip(reason: impl Into<String>) -> Decision {
    Decision::Skip {
        reason: reason.into(),
    }
}

/// Decide what `trigger` asks of the replicator running in `here`.
pub fn decide(trigger: &Trigger, policy: &Policy, here: &Registry) -> Decision {
    let repository = trigger.repository();
    let resolved = policy.for_repository(repository);
    let Some(section) = resolved.replication else {
        return skip(format!("{repository} has no replication rule"));
    };
    let rule: &Replication = section.value;
    let targets = match rule
        .destinations
        .iter()
        .map(|d| target(d, repository))
        .collect::<Result<Vec<Target>, String>>()
    {
        Ok(targets) => targets,
        Err(reason) => return skip(reason),
    };
    if targets.iter().any(|t| t.is(here, repository)) {
        return skip(format!(
            "{}/{}/{repository} is itself a destination of {repository}'s replication: a copy arriving here is not replicated again",
            here.account, here.region
        ));
    }
    if rule.native == Some(true) {
        return skip(format!(
            "{repository} is replicated by ECR's own replication (native: true): nothing to copy"
        ));
    }
    let gated = rule.require_pass.unwrap_or(true);
    match (trigger, gated) {
        (Trigger::Verdict { .. }, false) => {
            return skip(format!(
                "{repository} replicates on push, without gating: the push copied it"
            ));
        }
        (Trigger::Verdict { verdict, .. }, true) if *verdict != Verdict::Pass => {
            return skip(format!(
                "verdict {}: only a PASS promotes",
                verdict.as_str()
            ));
        }
        _ => {}
    }
    let tags = match tags_to_copy(&trigger.tags(), &rule.tags) {
        Ok(tags) => tags,
        Err(reason) => return skip(reason),
    };
    Decision::Copy(CopyPlan {
        repository: repository.clone(),
        digest: trigger.digest().clone(),
        tags,
        tag_filter: rule.tags.clone(),
        targets,
        requires_pass: gated,
        policy_pattern: section.pattern.map(str::to_owned),
    })
}

/// A gated plan goes ahead only when the verdict recorded for its digest now is PASS; `Err` says
/// why not.
pub fn confirm(plan: &CopyPlan, recorded: Option<&VerdictRecord>) -> Result<(), String> {
    if !plan.requires_pass {
        return Ok(());
    }
    match recorded {
        Some(r) if r.verdict == Verdict::Pass => Ok(()),
        Some(r) => Err(format!(
            "the verdict recorded for {} is {} now: not promoted",
            plan.digest.short(),
            r.verdict.as_str()
        )),
        None => Err(format!(
            "no verdict is recorded for {}: waiting for the verdict, only a PASS promotes",
            plan.digest.short()
        )),
    }
}

/// The plan's tags from the tags the source image holds now (`None`: the image is gone): those the
/// filter matches. `Err` says why nothing is copied.
pub fn with_current_tags(plan: &mut CopyPlan, current: Option<&[Tag]>) -> Result<(), String> {
    let current = current.ok_or_else(|| {
        format!(
            "{}@{} is gone from the source: nothing to copy",
            plan.repository,
            plan.digest.short()
        )
    })?;
    plan.tags = tags_to_copy(current, &plan.tag_filter)?;
    Ok(())
}

/// The tags that travel: those matching `filter` (every tag when it is empty). `Err` when a filter
/// matches none of the image's tags (the image is not copied).
pub fn tags_to_copy(tags: &[Tag], filter: &[String]) -> Result<Vec<Tag>, String> {
    if filter.is_empty() {
        return Ok(tags.to_vec());
    }
    let mut set = GlobSetBuilder::new();
    for pattern in filter {
        // The policy validated every pattern; one that still does not compile matches nothing.
        if let Ok(glob) = GlobBuilder::new(pattern).literal_separator(true).build() {
            set.add(glob);
        }
    }
    let set = set.build().unwrap_or_else(|_| globset::GlobSet::empty());
    let kept: Vec<Tag> = tags
        .iter()
        .filter(|t| set.is_match(t.as_str()))
        .cloned()
        .collect();
    if kept.is_empty() {
        let shown: Vec<&str> = tags.iter().map(Tag::as_str).collect();
        return Err(format!(
            "no tag of the image ({}) matches the replication tags {filter:?}",
            if shown.is_empty() {
                "untagged".to_owned()
            } else {
                shown.join(", ")
            }
        ));
    }
    Ok(kept)
}

fn target(destination: &Destination, repository: &RepositoryName) -> Result<Target, String> {
    let invalid = |e: crate::names::InvalidName| format!("destination {}: {e}", destination.region);
    Ok(Target {
        region: Region::new(destination.region.as_str()).map_err(invalid)?,
        account: destination
            .account
            .as_deref()
            .map(AccountId::new)
            .transpose()
            .map_err(invalid)?,
        role_arn: destination.role_arn.clone(),
        external_id: destination.external_id.clone(),
        repository: match destination.repository.as_deref() {
            Some(name) => RepositoryName::new(name).map_err(invalid)?,
            None => repository.clone(),
        },
    })
}
