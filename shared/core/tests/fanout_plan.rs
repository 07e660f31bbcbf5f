//! Properties of the organization-scale shard planner (`warden_core::fanout::plan`), over random
//! organizations: accounts × regions × repositories (names repeated across account-regions and
//! within a listing), random shard sizes and per-account-region budgets.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed assertion

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use warden_core::fanout::{AccountRegion, ApiBudget, FanOut, Limits, Listing, PlanError, plan};
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

fn budget() -> impl Strategy<Value = ApiBudget> {
    (1usize..6, 1u32..30).prop_map(|(lanes, calls_per_second)| ApiBudget {
        lanes,
        calls_per_second,
    })
}

fn limits() -> impl Strategy<Value = Limits> {
    (
        1usize..40,
        budget(),
        prop::collection::vec((0u8..4, 0usize..3, budget()), 0..5),
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
    /// within one shard of each other, no lane idle; and the paces of its lanes add up to no more
    /// than its calls per second, each lane's shards at one pace of at least one call a second.
    #[test]
    fn concurrency_and_calls_per_account_region_stay_within_its_budget(
        listings in listings(),
        limits in limits(),
    ) {
        let fan_out = plan(&listings, &limits).unwrap();
        let mut lanes: BTreeMap<&AccountRegion, Vec<(usize, u32)>> = BTreeMap::new();
        for lane in &fan_out.lanes {
            prop_assert!(!lane.shards.is_empty(), "an idle lane");
            let paces: BTreeSet<_> = lane.shards.iter().map(|s| s.pace.map(|p| p.calls_per_second)).collect();
            prop_assert_eq!(paces.len(), 1, "a lane at several paces");
            let pace = lane.shards[0].pace.map(|p| p.calls_per_second).unwrap_or(0);
            prop_assert!(pace >= 1, "{:?}: an unpaced lane", lane.at);
            lanes.entry(&lane.at).or_default().push((lane.shards.len(), pace));
        }
        for (at, sizes) in lanes {
            let budget = limits.budget(at);
            prop_assert!(sizes.len() <= budget.lanes, "{:?}: {} lanes, budget {:?}", at, sizes.len(), budget);
            let calls: u32 = sizes.iter().map(|(_, pace)| pace).sum();
            prop_assert!(calls <= budget.calls_per_second, "{:?}: {} calls/s, budget {:?}", at, calls, budget);
            let counts: Vec<usize> = sizes.iter().map(|(n, _)| *n).collect();
            let (min, max) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
            prop_assert!(max - min <= 1, "{:?}: lanes of {:?} shards", at, counts);
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
    let one = ApiBudget {
        lanes: 1,
        calls_per_second: 1,
    };
    let zero_size = Limits {
        shard_size: 0,
        default_budget: one,
        budgets: BTreeMap::new(),
    };
    assert_eq!(plan(&listing, &zero_size), Err(PlanError::ZeroShardSize));
    for zero in [
        ApiBudget { lanes: 0, ..one },
        ApiBudget {
            calls_per_second: 0,
            ..one
        },
    ] {
        let zero_budget = Limits {
            shard_size: 10,
            default_budget: one,
            budgets: BTreeMap::from([(place(1, 0), zero)]),
        };
        assert_eq!(
            plan(&listing, &zero_budget),
            Err(PlanError::ZeroBudget(place(1, 0)))
        );
    }
}

/// The scale: 100,000 repositories in one account-region, 500 per shard,
/// budget 8 lanes and 20 calls a second — 200 shards on 8 lanes of 25, each lane at 2 calls a second.
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
        default_budget: ApiBudget {
            lanes: 8,
            calls_per_second: 20,
        },
        budgets: BTreeMap::new(),
    };
    let fan_out = plan(&listing, &limits).unwrap();
    assert_eq!(fan_out.shards().count(), 200);
    assert_eq!(fan_out.lanes.len(), 8);
    assert!(fan_out.lanes.iter().all(|l| l.shards.len() == 25));
    assert!(
        fan_out
            .shards()
            .all(|s| s.pace.is_some_and(|p| p.calls_per_second == 2))
    );
}
