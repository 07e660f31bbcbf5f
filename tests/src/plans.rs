//! What the shard workers' tests hand the functions: the planner's plan of a test account's
//! repositories in one region, and a deadline counted in repositories.

use std::sync::atomic::{AtomicUsize, Ordering};

use warden_core::budget::Budget;
use warden_core::fanout::{AccountRegion, ApiBudget, FanOut, Limits, Listing, plan};
use warden_core::names::{AccountId, Region, RepositoryName};

use crate::TestAccount;

/// The planner's plan of `names` in `acct`'s registry in `region`: shards of `shard_size`, each
/// account-region within `budget`.
pub fn plan_of(
    acct: &TestAccount,
    region: &str,
    names: &[&str],
    shard_size: usize,
    budget: ApiBudget,
) -> FanOut {
    let listing = Listing {
        at: AccountRegion {
            account: AccountId::new(acct.id.as_str()).expect("a test account's id"),
            region: Region::new(region).expect("a region name"),
        },
        repositories: names
            .iter()
            .map(|n| RepositoryName::new(*n).expect("a repository name"))
            .collect(),
    };
    let limits = Limits {
        shard_size,
        default_budget: budget,
        budgets: Default::default(),
    };
    plan(&[listing], &limits).expect("a plan")
}

/// Time for `n` more repositories: a worker's deadline, counted in repositories.
pub struct After(AtomicUsize);

impl After {
    pub fn repositories(n: usize) -> Self {
        Self(AtomicUsize::new(n))
    }
}

impl Budget for After {
    fn time_left(&self) -> bool {
        self.0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }
}
