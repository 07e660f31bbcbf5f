//! Properties of the organization-scale shard planner (`warden_core::fanout::plan`), over random
//! organizations: accounts × regions × repositories (names repeated across account-regions and
//! within a listing), random shard sizes and per-account-region budgets.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed assertion

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use warden_core::fanout::{AccountRegion, FanOut, Limits, Listing, PlanError, plan};
use warden_core::names::{AccountId, Region, RepositoryName};

const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-2"];

fn place(account: u8, region: usize) -> AccountRegion {
    AccountRegion {
        account: AccountId::new(format!("{:012}", 100_000_000_000u64 + u64::from(account)))
            .unwrap(),
        region: Region::new(REGIONS[region]).unwrap(),
    }
}

fn repository(n: u16) -> RepositoryName {
    RepositoryName::new(format!("team-{}/app-{n}", n % 7)).unwrap()
}

/// A listing: (account, region, repository numbers), possibly one account-region twice.
fn listings() -> impl Strategy<Value = Vec<Listing>> {
    prop::collection::vec(
        (0u8..4, 0usize..3, prop::collection::vec(0u16..400, 0..120)),
        0..8,
    )
    .prop_map(|raw| {
        raw.into_iter()
            .map(|(account, region, repos)| Listing {
                at: place(account, region),
                repositories: repos.into_iter().map(repository).collect(),
            })
            .collect()
    })
}

fn limits() -> impl Strategy<Value = Limits> {
    (
        1usize..40,
        1usize..6,
        prop::collection::vec((0u8..4, 0usize..3, 1usize..4), 0..5),
    )
        .prop_map(|(shard_size, default_budget, named)| Limits {
            shard_size,
            default_budget,
            budgets: named
                .into_iter()
                .map(|(a, r, b)| (place(a, r), b))
                .collect(),
        })
}

/// Every (account-region, repository) the listings name, once.
fn listed(listings: &[Listing]) -> BTreeSet<(AccountRegion, RepositoryName)> {
    listings
        .iter()
        .flat_map(|l| l.repositories.iter().map(|r| (l.at.clone(), r.clone())))
        .collect()
}

fn planned(fan_out: &FanOut) -> Vec<(AccountRegion, RepositoryName)> {
    fan_out
        .shards()
        .flat_map(|s| s.repositories.iter().map(|r| (s.at.clone(), r.clone())))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    /// Every listed repository lands in exactly one shard, of its own account-region.
    #[test]
    fn every_repository_lands_in_exactly_one_shard(listings in listings(), limits in limits()) {
        let fan_out = plan(&listings, &limits).unwrap();
        let planned = planned(&fan_out);
        let once: BTreeSet<_> = planned.iter().cloned().collect();
        prop_assert_eq!(planned.len(), once.len(), "a repository in two shards");
        prop_assert_eq!(once, listed(&listings));
        for lane in &fan_out.lanes {
            for shard in &lane.shards {
                prop_assert_eq!(&shard.at, &lane.at);
            }
        }
    }

    /// No shard is empty or over the size limit.
    #[test]
    fn no_shard_is_empty_or_over_the_limit(listings in listings(), limits in limits()) {
        let fan_out = plan(&listings, &limits).unwrap();
        for shard in fan_out.shards() {
            prop_assert!(!shard.repositories.is_empty());
            prop_assert!(shard.repositories.len() <= limits.shard_size);
        }
    }

    /// At most an account-region's budget of its shards run at once (one per lane), its lanes
    /// within one shard of each other, and no lane idle.
    #[test]
    fn concurrency_per_account_region_stays_within_its_budget(
        listings in listings(),
        limits in limits(),
    ) {
        let fan_out = plan(&listings, &limits).unwrap();
        let mut lanes: BTreeMap<&AccountRegion, Vec<usize>> = BTreeMap::new();
        for lane in &fan_out.lanes {
            prop_assert!(!lane.shards.is_empty(), "an idle lane");
            lanes.entry(&lane.at).or_default().push(lane.shards.len());
        }
        for (at, sizes) in lanes {
            let budget = limits.budgets.get(at).copied().unwrap_or(limits.default_budget);
            prop_assert!(sizes.len() <= budget, "{:?}: {} lanes, budget {}", at, sizes.len(), budget);
            let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
            prop_assert!(max - min <= 1, "{:?}: lanes of {:?} shards", at, sizes);
        }
    }

    /// The listing's order (and repetition) changes nothing.
    #[test]
    fn the_plan_is_the_same_whatever_order_the_listing_came_in(
        listings in listings(),
        limits in limits(),
        seed in any::<u64>(),
    ) {
        let mut shuffled = listings.clone();
        shuffled.reverse();
        for (i, listing) in shuffled.iter_mut().enumerate() {
            let n = listing.repositories.len();
            if n > 1 {
                listing.repositories.rotate_left((seed as usize + i) % n);
            }
        }
        if let Some(first) = listings.first() {
            shuffled.push(first.clone());
        }
        prop_assert_eq!(plan(&listings, &limits).unwrap(), plan(&shuffled, &limits).unwrap());
    }
}

#[test]
fn limits_that_could_never_run_are_refused() {
    let listing = vec![Listing {
        at: place(1, 0),
        repositories: vec![repository(1)],
    }];
    let zero_size = Limits {
        shard_size: 0,
        default_budget: 1,
        budgets: BTreeMap::new(),
    };
    assert_eq!(plan(&listing, &zero_size), Err(PlanError::ZeroShardSize));
    let zero_budget = Limits {
        shard_size: 10,
        default_budget: 1,
        budgets: BTreeMap::from([(place(1, 0), 0)]),
    };
    assert_eq!(
        plan(&listing, &zero_budget),
        Err(PlanError::ZeroBudget(place(1, 0)))
    );
}

/// The scale: 100,000 repositories in one account-region, 500 per shard,
/// budget 8 — 200 shards on 8 lanes of 25.
#[test]
fn a_registry_at_ecrs_repository_quota_plans_into_even_lanes() {
    let listing = vec![Listing {
        at: place(0, 0),
        repositories: (0..100_000u32)
            .map(|n| RepositoryName::new(format!("org/app-{n}")).unwrap())
            .collect(),
    }];
    let limits = Limits {
        shard_size: 500,
        default_budget: 8,
        budgets: BTreeMap::new(),
    };
    let fan_out = plan(&listing, &limits).unwrap();
    assert_eq!(fan_out.shards().count(), 200);
    assert_eq!(fan_out.lanes.len(), 8);
    assert!(fan_out.lanes.iter().all(|l| l.shards.len() == 25));
}
