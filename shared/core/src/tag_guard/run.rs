//! tag-guard driven through its ports: read the facts a decision asks for, carry out the plan.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::{
    Context, Need, Protection, Report, Start, Step, TagFacts, decide_repository, decide_tag,
    protection_for, start,
};
use crate::budget::{Budget, Walk, shard_key};
use crate::event::Event;
use crate::execute::{Executor, Grants, absorb};
use crate::names::{Digest, RepositoryName, Tag};
use crate::plan::Plan;
use crate::policy::Policy;
use crate::ports::{
    Checkpoints, ImageCatalog, ImageManifests, MutabilityControl, PortError, Publisher,
    RepositorySettings, TagLedger, VerdictLookup,
};
use crate::records::{Claim, RepositoryState};

/// Everything tag-guard talks to.
pub struct Ports<'a> {
    pub images: &'a dyn ImageManifests,
    pub settings: &'a dyn RepositorySettings,
    /// Setting a repository's tag mutability (the policy's mode).
    pub mutability: &'a dyn MutabilityControl,
    pub catalog: &'a dyn ImageCatalog,
    pub ledger: &'a dyn TagLedger,
    /// scan-gate's verdicts, read before a protected tag is pointed back at an image.
    pub verdicts: &'a dyn VerdictLookup,
    pub publisher: &'a dyn Publisher,
    /// Where a sweep that ran out of time stopped (`None`: sweeps always go to the end).
    pub checkpoints: Option<&'a dyn Checkpoints>,
}

/// Handle one event. `Err` only for retryable failures (Lambda retries the event); everything
/// else ends in the report.
#[tracing::instrument(name = "tag_guard::handle", skip_all, fields(kind = event.detail.kind()))]
pub async fn handle(
    event: &Event,
    policy: &Policy,
    ctx: &Context,
    ports: &Ports<'_>,
    budget: &dyn Budget,
) -> Result<Report, PortError> {
    let mut report = Report::default();
    match start(event, policy, ctx) {
        Start::Plan(plan) => run(plan, ports, &mut report).await?,
        Start::Tag {
            repository,
            tag,
            digest,
            observed_at,
            replicated_from,
        } => {
            let write = TagWrite {
                repository: &repository,
                tag: &tag,
                digest: &digest,
                observed_at,
                replicated_from,
            };
            let plan = resolve_tag(&write, policy, ctx, ports).await;
            match plan {
                Ok(plan) => run(plan, ports, &mut report).await?,
                Err(e) => absorb(e, &mut report.errors)?,
            }
        }
        Start::Sweep => sweep(policy, ctx, ports, budget, &mut report).await?,
    }
    Ok(report)
}

async fn run(plan: Plan, ports: &Ports<'_>, report: &mut Report) -> Result<(), PortError> {
    let executor = Executor {
        images: ports.images,
        publisher: ports.publisher,
        grants: Grants {
            mutability: Some(ports.mutability),
            ..Grants::default()
        },
    };
    let result = executor.run(&plan, &mut report.outcomes).await;
    report.plans.push(plan);
    match result {
        Ok(executed) => {
            report.errors.extend(executed.failures);
            Ok(())
        }
        Err(e) => absorb(e, &mut report.errors),
    }
}

/// One write of a protected tag to decide on: pushed (or seen by the sweep), or replicated here.
pub struct TagWrite<'a> {
    pub repository: &'a RepositoryName,
    pub tag: &'a Tag,
    pub digest: &'a Digest,
    pub observed_at: DateTime<Utc>,
    /// ECR's replication wrote it, from this source (`<region>/<account>`).
    pub replicated_from: Option<String>,
}

/// Run the tag decision to its plan, reading each fact it asks for (and nothing else).
pub async fn resolve_tag(
    write: &TagWrite<'_>,
    policy: &Policy,
    ctx: &Context,
    ports: &Ports<'_>,
) -> Result<Plan, PortError> {
    let (repository, tag, digest, observed_at) =
        (write.repository, write.tag, write.digest, write.observed_at);
    let mut facts = TagFacts {
        replicated_from: write.replicated_from.clone(),
        ..TagFacts::default()
    };
    loop {
        match decide_tag(repository, tag, digest, observed_at, policy, ctx, &facts) {
            Step::Done(plan) => return Ok(plan),
            Step::Need(need) => fill(need, write, ports, &mut facts).await?,
        }
    }
}

/// Read (or claim) what a tag decision asks for.
async fn fill(
    need: Need,
    write: &TagWrite<'_>,
    ports: &Ports<'_>,
    facts: &mut TagFacts,
) -> Result<(), PortError> {
    match need {
        Need::LedgerClaim {
            repository,
            tag,
            digest,
            observed_at,
        } => {
            facts.ledger = Some(
                ports
                    .ledger
                    .claim(&repository, &tag, &digest, observed_at)
                    .await?,
            );
        }
        Need::LedgerRead { repository, tag } => {
            let entry = ports.ledger.entry(&repository, &tag).await?;
            facts.ledger = Some(Claim::would(
                entry.as_ref(),
                write.digest,
                write.observed_at,
            ));
        }
        Need::CurrentTarget { repository, tag } => {
            facts.current = Some(ports.images.tag_target(&repository, &tag).await?);
        }
        Need::Manifests {
            repository,
            digests,
        } => {
            facts.manifests = Some(ports.images.manifests(&repository, &digests).await?);
        }
        Need::RecordedVerdict { repository, digest } => {
            let record = ports.verdicts.verdict(&repository, &digest).await?;
            facts.recorded_verdict = Some(record.map(|r| r.verdict));
        }
        Need::LedgerFollow {
            repository,
            tag,
            from,
            to,
            observed_at,
        } => {
            facts.ledger_followed = Some(
                ports
                    .ledger
                    .follow(&repository, &tag, &from, &to, observed_at)
                    .await?,
            );
        }
    }
    Ok(())
}

/// The reconciling sweep: every repository's setting, and every protected tag in mutable ones.
/// One failing repository does not stop the others. Repositories are taken in name order; before
/// each, `budget` is asked for time, and out of time the sweep checkpoints the last repository done
/// so that the next sweep continues after it (a sweep that reaches the end clears the checkpoint).
async fn sweep(
    policy: &Policy,
    ctx: &Context,
    ports: &Ports<'_>,
    budget: &dyn Budget,
    report: &mut Report,
) -> Result<(), PortError> {
    let mut repositories = Vec::new();
    let mut next = None;
    loop {
        let page = ports.settings.repositories(next).await?;
        repositories.extend(page.items);
        next = page.next;
        if next.is_none() {
            break;
        }
    }
    let key = format!("tag-guard#sweep#{}#{}", ctx.account, ctx.region);
    let sweep = Sweep {
        policy,
        ctx,
        ports,
        budget,
    };
    sweep.in_order(repositories, &key, report).await
}

/// The sweep over one shard of an organization-wide run (docs/organization.md): the repositories it
/// names that exist (⌈N/100⌉ `DescribeRepositories`, no listing of the registry), as the schedule's
/// sweep treats them, under a checkpoint of its own
/// (`tag-guard#sweep#<account>#<region>#shard#<first>#<count>`).
pub async fn sweep_shard(
    repositories: &[RepositoryName],
    policy: &Policy,
    ctx: &Context,
    ports: &Ports<'_>,
    budget: &dyn Budget,
) -> Result<Report, PortError> {
    let mut report = Report::default();
    let mut names = repositories.to_vec();
    names.sort();
    names.dedup();
    let (Some(first), count) = (names.first(), names.len()) else {
        return Ok(report);
    };
    let key = shard_key("tag-guard#sweep", &ctx.account, &ctx.region, first, count);
    let found = ports.settings.named_repositories(&names).await?;
    let sweep = Sweep {
        policy,
        ctx,
        ports,
        budget,
    };
    sweep.in_order(found, &key, &mut report).await?;
    Ok(report)
}

/// What one sweep works with.
struct Sweep<'a> {
    policy: &'a Policy,
    ctx: &'a Context,
    ports: &'a Ports<'a>,
    budget: &'a dyn Budget,
}

impl Sweep<'_> {
    /// Sweep `repositories` in name order from the checkpoint under `key`, checkpointing when out
    /// of time and clearing the checkpoint at the end.
    async fn in_order(
        &self,
        mut repositories: Vec<RepositoryState>,
        key: &str,
        report: &mut Report,
    ) -> Result<(), PortError> {
        let (policy, ctx, ports) = (self.policy, self.ctx, self.ports);
        repositories.sort_by(|a, b| a.name.cmp(&b.name));
        let mut walk = Walk::resume(ports.checkpoints, key.to_owned(), self.budget).await?;
        for repo in &repositories {
            if !walk.pending(&repo.name) {
                continue;
            }
            if let Some(stopped) = walk.stop_if_out_of_time().await? {
                report.stopped_after = stopped.after;
                return Ok(());
            }
            let plan = decide_repository(&repo.name, Some(&repo.mutability), "sweep", policy, ctx);
            run(plan, ports, report).await?;
            if let Err(e) = sweep_tags(&repo.name, policy, ctx, ports, report).await {
                absorb(e, &mut report.errors)?;
            }
            report.swept += 1;
            walk.done(&repo.name);
        }
        walk.finish().await
    }
}

async fn sweep_tags(
    repository: &RepositoryName,
    policy: &Policy,
    ctx: &Context,
    ports: &Ports<'_>,
    report: &mut Report,
) -> Result<(), PortError> {
    let resolved = policy.for_repository(repository);
    let Some(section) = resolved.protected_tags else {
        return Ok(());
    };
    let quick = Protection::new(section.value);
    // Tag → digest as listed now (a tag is on exactly one image).
    let mut seen: BTreeMap<Tag, Digest> = BTreeMap::new();
    let mut next = None;
    loop {
        let page = ports.catalog.images(repository, next).await?;
        for image in page.items {
            for tag in image.tags.into_iter().filter(|t| quick.protects(t)) {
                seen.insert(tag, image.digest.clone());
            }
        }
        next = page.next;
        if next.is_none() {
            break;
        }
    }
    for (tag, digest) in seen {
        if protection_for(&resolved, &tag).is_err() {
            continue;
        }
        // A tag first seen by a sweep is recorded at the sweep's time: the image's push time says
        // when the image arrived, not when the tag was put on it (a tag moved onto an old image
        // would otherwise claim to be the earliest observation).
        let write = TagWrite {
            repository,
            tag: &tag,
            digest: &digest,
            observed_at: ctx.now,
            replicated_from: None,
        };
        let plan = resolve_tag(&write, policy, ctx, ports).await?;
        run(plan, ports, report).await?;
    }
    Ok(())
}
