//! Organization scale (docs/organization.md, "Fan-out"): a sweep, a cleanup or a backfill over
//! many accounts, regions and repositories cut into shards that workers run in parallel, within
//! each account-region's API budget. The plan is pure: from the listing and the budgets to the
//! shards, deterministic whatever order the listing came in.

mod plan;

pub use plan::{AccountRegion, FanOut, Lane, Limits, Listing, PlanError, Shard, plan};
