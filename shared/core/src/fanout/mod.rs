//! Organization scale (docs/organization.md, "Fan-out"): a sweep, a cleanup or a backfill over
//! many accounts, regions and repositories cut into shards that workers run in parallel, within
//! each account-region's API budget. The plan is pure: from the listing and the budgets to the
//! shards, deterministic whatever order the listing came in.

mod item;
mod outcome;
mod plan;
mod ports;
mod request;
mod run;
mod summary;

pub use outcome::{Job, MAX_ERRORS, ShardOutcome, ShardWork};
pub use plan::{
    AccountRegion, ApiBudget, FanOut, Lane, Limits, Listing, Pace, PlanError, Shard, plan,
};
pub use ports::{RunFiles, RunSummaries};
pub use request::{
    FUNCTION, PlanRequest, Request, ResultLocation, RunName, SummarizeRequest, touches,
};
pub use run::{Place, plan_run, summarize_run};
pub use summary::{AccountTotals, LaneResult, Manifest, Planned, Summary};
