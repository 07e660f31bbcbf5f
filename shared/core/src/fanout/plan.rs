//! The shard planner. Rules:
//! - A shard is repositories of one account-region, at most `Limits::shard_size` of them, never
//!   none; each repository of the listing is in exactly one shard (a repository listed twice, once).
//! - An account-region's shards are dealt round-robin, in repository-name order, onto at most
//!   its budget's number of **lanes**; a lane's shards run one after another, lanes run in
//!   parallel. So at most `budget.lanes` shards of one account-region run at once, however many
//!   lanes the engine starts together (a Distributed Map item is a lane).
//! - Each shard carries its **pace**: the account-region's calls per second divided among its
//!   lanes (rounded down, at least one: an account-region never gets more lanes than calls per
//!   second). The paces of the lanes running at once add up to no more than the budget.
//! - Lanes of one account-region differ by at most one shard.
//! - The plan is the same for the same listing and limits, whatever order they came in.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::names::{AccountId, Region, RepositoryName};

/// One account in one region.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AccountRegion {
    pub account: AccountId,
    pub region: Region,
}

/// The repositories listed in one account-region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    pub at: AccountRegion,
    pub repositories: Vec<RepositoryName>,
}

/// What one account-region may take: ECR throttles per account and region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiBudget {
    /// Shards of the account-region running at once.
    pub lanes: usize,
    /// ECR calls per second, all its running shards together.
    pub calls_per_second: u32,
}

/// How a run is cut: repositories per shard, and each account-region's budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub shard_size: usize,
    /// The budget of an account-region `budgets` does not name.
    pub default_budget: ApiBudget,
    pub budgets: BTreeMap<AccountRegion, ApiBudget>,
}

impl Limits {
    /// The budget of `at`.
    pub fn budget(&self, at: &AccountRegion) -> ApiBudget {
        self.budgets.get(at).copied().unwrap_or(self.default_budget)
    }
}

/// The calls per second one worker may make to ECR in its shard's account-region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pace {
    pub calls_per_second: u32,
}

/// Limits that plan nothing sensible.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("shard_size is 0: a shard holds at least one repository")]
    ZeroShardSize,
    #[error(
        "the budget of {0:?} has no lanes or no calls per second: nothing of it could ever run"
    )]
    ZeroBudget(AccountRegion),
}

/// Repositories of one account-region that one worker takes in one go (a worker's input,
/// `{"shard": {"at": {"account", "region"}, "repositories": [...], "pace": {...}}}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub at: AccountRegion,
    pub repositories: Vec<RepositoryName>,
    /// The worker's share of the account-region's budget (none: unpaced).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pace: Option<Pace>,
}

/// Shards of one account-region run one after another by one worker at a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lane {
    pub at: AccountRegion,
    pub shards: Vec<Shard>,
}

/// The plan: lanes ordered by account-region, then lane number.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FanOut {
    pub lanes: Vec<Lane>,
}

impl FanOut {
    /// Every shard, lane by lane.
    pub fn shards(&self) -> impl Iterator<Item = &Shard> {
        self.lanes.iter().flat_map(|l| l.shards.iter())
    }
}

/// Plan the shards and lanes for `listings` under `limits`.
pub fn plan(listings: &[Listing], limits: &Limits) -> Result<FanOut, PlanError> {
    if limits.shard_size == 0 {
        return Err(PlanError::ZeroShardSize);
    }
    let mut by_place: BTreeMap<&AccountRegion, BTreeSet<&RepositoryName>> = BTreeMap::new();
    for listing in listings {
        by_place
            .entry(&listing.at)
            .or_default()
            .extend(listing.repositories.iter());
    }
    let mut fan_out = FanOut::default();
    for (at, repositories) in by_place {
        if repositories.is_empty() {
            continue;
        }
        let budget = limits.budget(at);
        if budget.lanes == 0 || budget.calls_per_second == 0 {
            return Err(PlanError::ZeroBudget(at.clone()));
        }
        fan_out
            .lanes
            .extend(lanes(at, repositories, limits.shard_size, budget));
    }
    Ok(fan_out)
}

/// One account-region's repositories (sorted, once each) cut into shards, dealt onto lanes.
fn lanes(
    at: &AccountRegion,
    repositories: BTreeSet<&RepositoryName>,
    shard_size: usize,
    budget: ApiBudget,
) -> Vec<Lane> {
    let names: Vec<RepositoryName> = repositories.into_iter().cloned().collect();
    let chunks = names.chunks(shard_size);
    let rate = usize::try_from(budget.calls_per_second).unwrap_or(usize::MAX);
    let count = budget.lanes.min(chunks.len()).min(rate);
    let per_lane = u32::try_from(rate / count.max(1)).unwrap_or(u32::MAX);
    let pace = Some(Pace {
        calls_per_second: per_lane.max(1),
    });
    let shards: Vec<Shard> = chunks
        .map(|chunk| Shard {
            at: at.clone(),
            repositories: chunk.to_vec(),
            pace,
        })
        .collect();
    let mut lanes: Vec<Lane> = (0..count)
        .map(|_| Lane {
            at: at.clone(),
            shards: Vec::new(),
        })
        .collect();
    for (i, shard) in shards.into_iter().enumerate() {
        lanes[i % count].shards.push(shard);
    }
    lanes
}
