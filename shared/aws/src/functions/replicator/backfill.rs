//! `warden replicate --backfill`: the images that already exist, through the same decision and
//! copy as the Lambda — ECR's own replication never copies them.

use serde::Serialize;
use warden_core::budget::{Budget, Walk, shard_key};
use warden_core::fanout::{Shard, ShardWork};
use warden_core::names::{Digest, RepositoryName, Tag};
use warden_core::ports::{Checkpoints, ImageCatalog, PortError, RepositorySettings};
use warden_core::replicate::{Registry, Trigger};

use super::{Mode, Outcome, Replicator};

#[derive(Debug, Clone, Default)]
pub struct BackfillOptions {
    /// Only this repository (default: every repository with a replication rule).
    pub only: Option<RepositoryName>,
    /// Plan only: nothing is copied.
    pub dry_run: bool,
    /// Publish a message per image (as the Lambda does).
    pub notify: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackfillItem {
    pub repository: RepositoryName,
    pub digest: Digest,
    pub tags: Vec<Tag>,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// What a backfill did (or, dry-run, would do), with totals.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BackfillReport {
    pub dry_run: bool,
    pub repositories: u64,
    pub images: u64,
    /// Images copied (to at least one destination) or, dry-run, planned.
    pub copied: u64,
    pub skipped: u64,
    pub layers_copied: u64,
    pub layers_skipped: u64,
    pub bytes_copied: u64,
    /// Archived images (ECR serves no layers until they are restored): not copied.
    pub archived: u64,
    pub items: Vec<BackfillItem>,
    pub errors: Vec<String>,
    /// A shard's backfill stopped for time after this repository; run again, it continues there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_after: Option<RepositoryName>,
}

impl BackfillReport {
    /// The numbers the fan-out adds up: images decided for copying, and those a destination
    /// received a manifest of (an image every destination already holds counts as decided only).
    pub fn shard_work(&self) -> ShardWork {
        let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        let decided = self
            .items
            .iter()
            .filter(|i| !matches!(i.outcome, Outcome::Skipped { .. }))
            .count();
        let put = self
            .items
            .iter()
            .filter(|i| match &i.outcome {
                Outcome::Replicated { body } => body.copies.iter().any(|c| c.manifests_put > 0),
                _ => false,
            })
            .count();
        ShardWork {
            done: self.repositories,
            planned: count(decided),
            applied: count(put),
            errors: self.errors.clone(),
            dry_run: self.dry_run,
            stopped_after: self.stopped_after.clone(),
        }
    }
}

impl Replicator {
    /// Every active image of the repositories in scope, decided and copied (or planned) one at a
    /// time. Calls: ⌈R/1000⌉ DescribeRepositories (none with `only`), ⌈I/1000⌉ DescribeImages per
    /// repository, then per image what the Lambda makes for one trigger. An image that fails is
    /// reported and the backfill goes on; `progress` hears of each image.
    pub async fn backfill(
        &self,
        here: &Registry,
        options: &BackfillOptions,
        progress: &(dyn Fn(&RepositoryName, u64) + Sync),
    ) -> Result<BackfillReport, PortError> {
        let mut report = BackfillReport {
            dry_run: options.dry_run,
            ..BackfillReport::default()
        };
        let repositories = match &options.only {
            Some(only) => vec![only.clone()],
            None => self.replicated_repositories().await?,
        };
        let mode = Mode {
            dry_run: options.dry_run,
            notify: options.notify,
        };
        for repository in repositories {
            self.backfill_repository(&repository, here, mode, &mut report, progress)
                .await?;
        }
        Ok(report)
    }

    /// The repositories of one shard of a fanned-out backfill that have a replication rule, in
    /// name order from the shard's checkpoint (`replicator#backfill#<account>#<region>#shard#<first>#<count>`),
    /// starting none once `budget` says time is up (then checkpointing the last one done). A
    /// repository that cannot be read (deleted since it was listed) is reported, not retried.
    pub async fn backfill_shard(
        &self,
        shard: &Shard,
        checkpoints: Option<&dyn Checkpoints>,
        budget: &dyn Budget,
    ) -> Result<BackfillReport, PortError> {
        let here = Registry {
            account: shard.at.account.clone(),
            region: shard.at.region.clone(),
        };
        let names = self.replicated_of(&shard.repositories);
        let mut report = BackfillReport {
            dry_run: self.dry_run,
            ..BackfillReport::default()
        };
        let (Some(first), count) = (names.first(), names.len()) else {
            return Ok(report);
        };
        let key = shard_key(
            "replicator#backfill",
            &here.account,
            &here.region,
            first,
            count,
        );
        let mut walk = Walk::resume(checkpoints, key, budget).await?;
        let mode = Mode {
            dry_run: false,
            notify: false,
        };
        for repository in names {
            if !walk.pending(repository) {
                continue;
            }
            if let Some(stopped) = walk.stop_if_out_of_time().await? {
                report.stopped_after = stopped.after;
                return Ok(report);
            }
            match self
                .backfill_repository(repository, &here, mode, &mut report, &|_, _| {})
                .await
            {
                Ok(()) => {}
                Err(e) if e.is_retryable() => return Err(e),
                Err(e) => report.errors.push(format!("{repository}: {e}")),
            }
            walk.done(repository);
        }
        walk.finish().await?;
        Ok(report)
    }

    /// Those of `names` the policy replicates, in name order, once each.
    fn replicated_of<'a>(&self, names: &'a [RepositoryName]) -> Vec<&'a RepositoryName> {
        let mut names: Vec<&RepositoryName> = names
            .iter()
            .filter(|n| self.policy.for_repository(n).replication.is_some())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Every image of one repository, decided and copied (or planned) one at a time.
    async fn backfill_repository(
        &self,
        repository: &RepositoryName,
        here: &Registry,
        mode: Mode,
        report: &mut BackfillReport,
        progress: &(dyn Fn(&RepositoryName, u64) + Sync),
    ) -> Result<(), PortError> {
        report.repositories += 1;
        let mut next = None;
        loop {
            let page = self.source.images(repository, next).await?;
            for image in page.items {
                report.images += 1;
                progress(repository, report.images);
                if image.status.as_deref().is_some_and(|s| s != "ACTIVE") {
                    report.archived += 1;
                    continue;
                }
                let trigger = Trigger::Backfill {
                    repository: repository.clone(),
                    digest: image.digest.clone(),
                    tags: image.tags.clone(),
                };
                match self.replicate(&trigger, here, None, mode).await {
                    Ok(outcome) => {
                        tally(report, &outcome);
                        report.items.push(BackfillItem {
                            repository: repository.clone(),
                            digest: image.digest,
                            tags: image.tags,
                            outcome,
                        });
                    }
                    Err(e) => report
                        .errors
                        .push(format!("{repository}@{}: {e}", image.digest)),
                }
            }
            next = page.next;
            if next.is_none() {
                return Ok(());
            }
        }
    }

    /// The registry's repositories that have a replication rule.
    async fn replicated_repositories(&self) -> Result<Vec<RepositoryName>, PortError> {
        let mut names = Vec::new();
        let mut next = None;
        loop {
            let page = self.source.repositories(next).await?;
            names.extend(
                page.items
                    .into_iter()
                    .map(|r| r.name)
                    .filter(|name| self.policy.for_repository(name).replication.is_some()),
            );
            next = page.next;
            if next.is_none() {
                return Ok(names);
            }
        }
    }
}

fn tally(report: &mut BackfillReport, outcome: &Outcome) {
    match outcome {
        Outcome::Skipped { .. } => report.skipped += 1,
        Outcome::Planned { .. } => report.copied += 1,
        Outcome::Replicated { body } => {
            if !body.copies.is_empty() {
                report.copied += 1;
            }
            for copy in &body.copies {
                report.layers_copied += copy.layers_copied;
                report.layers_skipped += copy.layers_skipped;
                report.bytes_copied += copy.bytes_copied;
            }
            report.errors.extend(
                body.failures
                    .iter()
                    .map(|f| format!("{}: {f}", body.digest)),
            );
        }
    }
}
