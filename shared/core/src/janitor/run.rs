//! janitor's I/O driver: list, read manifests, plan with `decide.rs`, tell, delete.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::decide::{
    ImageRecord, RepositoryPlan, Storage, Structure, deletion_group, plan_repository,
};
use super::facts;
use super::{
    Budget, DEFAULT_KEEP_REVISIONS, FUNCTION, Report, RepositoryRefs, RepositoryReport,
    refs_by_repository,
};
use crate::budget::{Walk, shard_key};
use crate::execute::{Executor, Grants, Outcomes};
use crate::message::{Body, CleanupBody, Did, Message, MessageAction, SCHEMA};
use crate::names::{AccountId, Digest, Region, RepositoryName, Tag};
use crate::plan::{Action, ListedImage, Plan};
use crate::policy::{DEFAULT_QUARANTINE_PREFIX, Policy, Resolved};
use crate::ports::{
    Checkpoints, ImageCatalog, ImageDeletion, ImageManifests, LifecycleControl, PortError,
    Publisher, RepositorySettings, Workloads,
};
use crate::records::ImageEntry;

fn record(entry: &ImageEntry, now: DateTime<Utc>) -> ImageRecord {
    ImageRecord {
        digest: entry.digest.clone(),
        tags: entry.tags.clone(),
        // An image without a push time is treated as new: never old enough to delete.
        pushed_at: entry.pushed_at.unwrap_or(now),
        last_pull: entry.last_pull,
        size: entry.size,
        storage: match entry.status.as_deref() {
            Some("ARCHIVED") => Storage::Archived,
            Some("ACTIVATING") => Storage::Activating,
            _ => Storage::Active,
        },
        archived_at: entry.archived_at,
        activated_at: entry.activated_at,
    }
}

#[derive(Debug, Clone)]
pub struct Context {
    pub account: AccountId,
    pub region: Region,
    pub force_dry_run: bool,
    /// Publish a cleanup message per repository (the Lambda does; a plan on a terminal does not).
    pub notify: bool,
    pub now: DateTime<Utc>,
}

pub struct Ports<'a> {
    pub settings: &'a dyn RepositorySettings,
    /// Setting a repository's native lifecycle policy.
    pub lifecycle: &'a dyn LifecycleControl,
    /// Deleting images (whole images: never given to scan-gate or tag-guard).
    pub deletion: &'a dyn ImageDeletion,
    pub catalog: &'a dyn ImageCatalog,
    pub images: &'a dyn ImageManifests,
    pub workloads: &'a dyn Workloads,
    pub publisher: &'a dyn Publisher,
    /// Where a run that ran out of time stopped (`None`: runs always go to the end, as the CLI).
    pub checkpoints: Option<&'a dyn Checkpoints>,
}

/// Progress, for a terminal's progress bar.
pub trait Progress: Send + Sync {
    fn repository(&self, name: &RepositoryName);
    fn images_listed(&self, count: usize);
}

/// No progress display (the Lambda).
pub struct Quiet;

impl Progress for Quiet {
    fn repository(&self, _: &RepositoryName) {}
    fn images_listed(&self, _: usize) {}
}

/// One janitor run over every repository with a cleanup policy (or only `only`, from the CLI).
///
/// Repositories are taken in name order. Before each, `budget` is asked for time; when it says no,
/// the run records a checkpoint (the last repository done) and stops, and the next run starts after
/// it. A run that reaches the end clears the checkpoint.
pub async fn run(
    policy: &Policy,
    ctx: &Context,
    ports: &Ports<'_>,
    only: Option<&RepositoryName>,
    progress: &dyn Progress,
    budget: &dyn Budget,
) -> Result<Report, PortError> {
    let names = cleaned_repositories(policy, ports, only).await?;
    let key = format!("janitor#{}#{}", ctx.account, ctx.region);
    let run = Run {
        policy,
        ctx,
        ports,
        progress,
        budget,
    };
    run.in_order(&names, &key).await
}

/// One shard of an organization-wide run: the repositories it names (those with a cleanup
/// policy, in name order; no listing), with the same deadline and checkpoint rules as [`run`]
/// under a checkpoint of its own, so a shard re-run after a crash continues where it stopped and
/// converges on what an uninterrupted run leaves.
pub async fn run_shard(
    policy: &Policy,
    ctx: &Context,
    ports: &Ports<'_>,
    repositories: &[RepositoryName],
    progress: &dyn Progress,
    budget: &dyn Budget,
) -> Result<Report, PortError> {
    let mut names: Vec<RepositoryName> = repositories
        .iter()
        .filter(|n| policy.for_repository(n).cleanup.is_some())
        .cloned()
        .collect();
    names.sort();
    names.dedup();
    let (Some(first), count) = (names.first(), names.len()) else {
        return Ok(Report::default());
    };
    let key = shard_key("janitor", &ctx.account, &ctx.region, first, count);
    let run = Run {
        policy,
        ctx,
        ports,
        progress,
        budget,
    };
    run.in_order(&names, &key).await
}

/// What one run works with.
struct Run<'a> {
    policy: &'a Policy,
    ctx: &'a Context,
    ports: &'a Ports<'a>,
    progress: &'a dyn Progress,
    budget: &'a dyn Budget,
}

impl Run<'_> {
    /// Clean `names` in order from the checkpoint under `key`, checkpointing when out of time.
    async fn in_order(&self, names: &[RepositoryName], key: &str) -> Result<Report, PortError> {
        let (policy, ctx, ports) = (self.policy, self.ctx, self.ports);
        let mut report = Report::default();
        let keep_revisions = policy
            .document()
            .repositories
            .iter()
            .filter_map(|r| r.cleanup.as_ref()?.ecs_keep_revisions)
            .max()
            .unwrap_or(DEFAULT_KEEP_REVISIONS);
        let mut walk = Walk::resume(ports.checkpoints, key.to_owned(), self.budget).await?;
        let refs = ports.workloads.image_references(keep_revisions).await?;
        let by_repo = refs_by_repository(&refs, &ctx.account, &ctx.region);
        for repo in names {
            if !walk.pending(repo) {
                continue;
            }
            if let Some(stopped) = walk.stop_if_out_of_time().await? {
                report.stopped_after = stopped.after;
                return Ok(report);
            }
            self.progress.repository(repo);
            let empty = RepositoryRefs::new();
            let refs = by_repo.get(repo).unwrap_or(&empty);
            let cleaned =
                clean_repository(repo, refs, policy, ctx, ports, self.progress, &mut report).await;
            match cleaned {
                Ok(()) => {}
                Err(e) if e.is_retryable() => return Err(e),
                Err(e) => report.errors.push(format!("{repo}: {e}")),
            }
            walk.done(repo);
        }
        walk.finish().await?;
        Ok(report)
    }
}

/// The repositories a cleanup applies to (`only`, when given), in name order: ⌈R/1000⌉
/// DescribeRepositories.
async fn cleaned_repositories(
    policy: &Policy,
    ports: &Ports<'_>,
    only: Option<&RepositoryName>,
) -> Result<Vec<RepositoryName>, PortError> {
    let mut names = Vec::new();
    let mut next = None;
    loop {
        let page = ports.settings.repositories(next).await?;
        names.extend(
            page.items.into_iter().map(|r| r.name).filter(|n| {
                only.is_none_or(|o| o == n) && policy.for_repository(n).cleanup.is_some()
            }),
        );
        next = page.next;
        if next.is_none() {
            names.sort();
            return Ok(names);
        }
    }
}

#[tracing::instrument(name = "janitor::clean_repository", skip_all, fields(repository = %repository))]
async fn clean_repository(
    repository: &RepositoryName,
    refs: &RepositoryRefs,
    policy: &Policy,
    ctx: &Context,
    ports: &Ports<'_>,
    progress: &dyn Progress,
    report: &mut Report,
) -> Result<(), PortError> {
    let resolved = policy.for_repository(repository);
    let Some(cleanup) = resolved.cleanup else {
        return Ok(());
    };
    let dry = ctx.force_dry_run || resolved.dry_run || !cleanup.value.apply;
    if !cleanup.value.lifecycle.is_empty() {
        reconcile_lifecycle(repository, &cleanup.value.lifecycle, dry, ports, report).await?;
    }
    if cleanup.value.rules.is_empty() {
        return Ok(()); // native rules only: nothing for janitor to list or delete itself
    }
    let entries = facts::listing(ports.catalog, repository, progress).await?;
    let structure = facts::structure(ports.images, repository, &entries).await?;
    let records: Vec<ImageRecord> = entries.iter().map(|e| record(e, ctx.now)).collect();
    let in_use = facts::in_use(&entries, refs);
    let prefix = quarantine_prefix(&resolved);
    let planned = plan_repository(
        &records,
        &structure,
        cleanup.value,
        &in_use,
        prefix,
        ctx.now,
    );
    let plan = Plan {
        decision: format!(
            "{repository}: delete {} of {} images",
            planned.delete.len(),
            records.len()
        ),
        dry_run: dry,
        actions: deletions(repository, &records, &structure, &planned),
    };
    let message = cleanup_message(repository, ctx, dry, records.len(), &planned);
    let topic_arn = resolved.notify.and_then(|n| n.value.topic_arn.clone());
    let failures = act_and_tell(&plan, message, topic_arn, ctx, ports, report).await?;
    let freed = report.outcomes.entry("BytesFreed").or_default();
    *freed = freed.saturating_add(if dry { 0 } else { planned.bytes_freed });
    report
        .errors
        .extend(failures.into_iter().map(|f| format!("{repository}: {f}")));
    let images = records.len();
    report.repositories.push(RepositoryReport {
        repository: repository.clone(),
        images,
        applied: !dry,
        plan: planned,
    });
    Ok(())
}

/// scan-gate's quarantine prefix for the repository (its quarantined images are kept).
fn quarantine_prefix<'p>(resolved: &Resolved<'p>) -> &'p str {
    resolved
        .gate
        .and_then(|g| g.value.quarantine_prefix.as_deref())
        .unwrap_or(DEFAULT_QUARANTINE_PREFIX)
}

/// The plan's deletions, one action per group: the plan lists them group by group, so no delete
/// batch mixes an index with what comes after it. Each image with the tags the listing gave it.
fn deletions(
    repository: &RepositoryName,
    records: &[ImageRecord],
    structure: &Structure,
    planned: &RepositoryPlan,
) -> Vec<Action> {
    let listed: HashMap<&Digest, &Vec<Tag>> =
        records.iter().map(|r| (&r.digest, &r.tags)).collect();
    planned
        .delete
        .chunk_by(|a, b| deletion_group(structure, a) == deletion_group(structure, b))
        .map(|digests| Action::DeleteImages {
            repository: repository.clone(),
            images: digests
                .iter()
                .map(|d| ListedImage {
                    digest: d.clone(),
                    tags: listed.get(d).map(|t| (*t).clone()).unwrap_or_default(),
                })
                .collect(),
        })
        .collect()
}

/// The cleanup message as planned (what acting changes is set after).
fn cleanup_message(
    repository: &RepositoryName,
    ctx: &Context,
    dry: bool,
    images_total: usize,
    planned: &RepositoryPlan,
) -> Message {
    let body = CleanupBody {
        applied: !dry,
        images_total: images_total as u64,
        images_kept: planned.keep.len() as u64,
        images_deleted: planned.delete.len() as u64,
        bytes_freed: planned.bytes_freed,
        kept_because: planned.kept_because(),
        failures: Vec::new(),
    };
    Message {
        schema: SCHEMA.to_owned(),
        function: FUNCTION.to_owned(),
        account: ctx.account.clone(),
        region: ctx.region.clone(),
        repository: repository.clone(),
        // janitor says "planned" in a dry run, without `would_`.
        action: MessageAction::done(if dry { Did::Planned } else { Did::Applied }),
        dry_run: dry,
        event_id: None,
        body: Body::Cleanup(Box::new(body)),
    }
}

/// Carry out the deletions, then tell (after acting, so the message reports what ECR refused):
/// the failures ECR reported. Cut off mid-way (the batches before went through), it tells what
/// was deleted, then fails; the next run plans again from what is left and tells about the rest.
async fn act_and_tell(
    plan: &Plan,
    mut message: Message,
    topic_arn: Option<String>,
    ctx: &Context,
    ports: &Ports<'_>,
    report: &mut Report,
) -> Result<Vec<String>, PortError> {
    let executor = Executor {
        images: ports.images,
        publisher: ports.publisher,
        grants: Grants {
            lifecycle: Some(ports.lifecycle),
            deletion: Some(ports.deletion),
            ..Grants::default()
        },
    };
    let deleted = |outcomes: &Outcomes| outcomes.get("ImagesDeleted").copied().unwrap_or(0);
    let deleted_before = deleted(&report.outcomes);
    let tell = |message: Message| Plan {
        decision: plan.decision.clone(),
        dry_run: plan.dry_run,
        actions: vec![Action::Publish {
            topic_arn: topic_arn.clone(),
            message,
        }],
    };
    let failures = match executor.run(plan, &mut report.outcomes).await {
        Ok(executed) => executed.failures,
        Err(error) => {
            let done = deleted(&report.outcomes).saturating_sub(deleted_before);
            if let Body::Cleanup(body) = &mut message.body {
                body.images_deleted = done;
                body.bytes_freed = 0;
                body.failures = vec![format!(
                    "interrupted after {done} deletions ({error}); the next run finishes"
                )];
            }
            if ctx.notify && done > 0 {
                // Best effort: the run fails with the first error either way.
                let _ = executor.run(&tell(message), &mut report.outcomes).await;
            }
            return Err(error);
        }
    };
    if let Body::Cleanup(body) = &mut message.body {
        body.failures.clone_from(&failures);
        body.images_deleted = body.images_deleted.saturating_sub(failures.len() as u64);
    }
    if ctx.notify {
        executor.run(&tell(message), &mut report.outcomes).await?;
    }
    Ok(failures)
}

/// Keep the repository's native lifecycle policy equal to the policy's rules: one
/// GetLifecyclePolicy, and a PutLifecyclePolicy only when they differ (and not in dry-run).
async fn reconcile_lifecycle(
    repository: &RepositoryName,
    rules: &[crate::policy::LifecycleRule],
    dry: bool,
    ports: &Ports<'_>,
    report: &mut Report,
) -> Result<(), PortError> {
    let wanted = crate::policy::lifecycle_policy_text(rules);
    let current = ports.settings.lifecycle_policy(repository).await?;
    if current
        .as_deref()
        .is_some_and(|c| crate::policy::same_lifecycle_policy(c, &wanted))
    {
        *report
            .outcomes
            .entry("LifecyclePoliciesInPlace")
            .or_default() += 1;
        return Ok(());
    }
    let plan = Plan {
        decision: format!(
            "{repository}: set the native lifecycle policy ({} rules)",
            rules.len()
        ),
        dry_run: dry,
        actions: vec![Action::PutLifecyclePolicy {
            repository: repository.clone(),
            text: wanted,
        }],
    };
    let executor = Executor {
        images: ports.images,
        publisher: ports.publisher,
        grants: Grants {
            lifecycle: Some(ports.lifecycle),
            deletion: Some(ports.deletion),
            ..Grants::default()
        },
    };
    executor.run(&plan, &mut report.outcomes).await?;
    Ok(())
}
