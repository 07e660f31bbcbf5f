//! The shard planner. Rules:
//! - A shard is repositories of one account-region, at most `Limits::shard_size` of them, never
//!   none; each repository of the listing is in exactly one shard (a repository listed twice, once).
//! - An account-region's shards are dealt round-robin, in repository-name order, onto at most
//!   its budget's number of **lanes**; a lane's shards run one after another, lanes run in
//!   parallel. So at most `budget` shards of one account-region run at once, however many
//!   lanes the engine starts together (a Distributed Map item is a lane).
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

/// How a run is cut: repositories per shard, and how many shards of one account-region may run
/// at once (its API budget: ECR throttles per account and region).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub shard_size: usize,
    /// Shards of one account-region running at once, unless `budgets` names it.
    pub default_budget: usize,
    pub budgets: BTreeMap<AccountRegion, usize>,
}

impl Limits {
    fn budget(&self, at: &AccountRegion) -> usize {
        self.budgets.get(at).copied().unwrap_or(self.default_budget)
    }
}

/// Limits that plan nothing sensible.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("shard_size is 0: a shard holds at least one repository")]
    ZeroShardSize,
    #[error("the budget of {0:?} is 0: nothing of it could ever run")]
    ZeroBudget(AccountRegion),
}

/// Repositories of one account-region that one worker takes in one go (a Distributed Map item,
/// `{"shard": {"at": {"account", "region"}, "repositories": [...]}}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub at: AccountRegion,
    pub repositories: Vec<RepositoryName>,
}

/// Shards of one account-region run one after another by one worker at a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
        if budget == 0 {
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
    budget: usize,
) -> Vec<Lane> {
    let names: Vec<RepositoryName> = repositories.into_iter().cloned().collect();
    let shards: Vec<Shard> = names
        .chunks(shard_size)
        .map(|chunk| Shard {
            at: at.clone(),
            repositories: chunk.to_vec(),
        })
        .collect();
    let count = budget.min(shards.len());
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
