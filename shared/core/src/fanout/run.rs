//! The fan-out function's two steps through their ports: plan (list, cut, write the lanes) and
//! summarize (read the map run's results, add them up, tell once).

use super::{
    AccountRegion, Limits, Listing, PlanRequest, Planned, RunFiles, RunSummaries, SummarizeRequest,
    Summary, plan, touches,
};
use crate::policy::Policy;
use crate::ports::{PortError, RepositorySettings};

/// One account-region the planner lists, through its registry.
pub struct Place<'a> {
    pub at: AccountRegion,
    pub registry: &'a dyn RepositorySettings,
}

/// List the repositories `request.job` touches in each place (⌈R/1000⌉ `DescribeRepositories`
/// per place), plan the lanes under `limits` and write them at `runs/<job>/<run>/lanes.json`.
pub async fn plan_run(
    request: &PlanRequest,
    policy: &Policy,
    places: &[Place<'_>],
    limits: &Limits,
    files: &dyn RunFiles,
) -> Result<Planned, PortError> {
    let mut listings = Vec::new();
    for place in places {
        let mut repositories = Vec::new();
        let mut next = None;
        loop {
            let page = place.registry.repositories(next).await?;
            repositories.extend(
                page.items
                    .into_iter()
                    .map(|r| r.name)
                    .filter(|name| touches(request.job, policy, name)),
            );
            next = page.next;
            if next.is_none() {
                break;
            }
        }
        listings.push(Listing {
            at: place.at.clone(),
            repositories,
        });
    }
    let fan_out = plan(&listings, limits).map_err(|e| PortError::Invalid {
        operation: "fanout:plan",
        message: e.to_string(),
    })?;
    let key = format!("runs/{}/{}/lanes.json", request.job, request.run);
    let manifest = files.put_lanes(&key, &fan_out.lanes).await?;
    let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
    let accounts: std::collections::BTreeSet<_> =
        fan_out.lanes.iter().map(|l| &l.at.account).collect();
    Ok(Planned {
        job: request.job,
        run: request.run.to_string(),
        manifest,
        accounts: count(accounts.len()),
        repositories: count(fan_out.shards().map(|s| s.repositories.len()).sum()),
        shards: count(fan_out.shards().count()),
        lanes: count(fan_out.lanes.len()),
    })
}

/// Add up the map run's results (when it wrote any) with the plan and the map's failure, and
/// publish the one summary.
pub async fn summarize_run(
    request: &SummarizeRequest,
    files: &dyn RunFiles,
    summaries: &dyn RunSummaries,
) -> Result<Summary, PortError> {
    let mut summary = Summary::new(request.job, request.run.to_string(), request.plan.clone());
    if let Some(at) = &request.results {
        for lane in files.lane_results(at).await? {
            summary.add(&lane);
        }
    }
    if let Some(failure) = &request.failure {
        let field = |name: &str| failure.get(name).and_then(|v| v.as_str()).unwrap_or("");
        summary.failure = Some(format!("{}: {}", field("Error"), field("Cause")));
    }
    summaries.publish_summary(&summary).await?;
    Ok(summary)
}
