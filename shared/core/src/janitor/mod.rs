//! janitor: scheduled cleanup that never deletes what is in use.
//!
//! One run: discover what is in use once (ECS, Lambda) through [`Workloads`]; then per repository
//! with a `cleanup` section: list its images (DescribeImages, pages of 1000), read the manifests of
//! indexes and artifacts (to know children and referrer subjects), plan ([`plan_repository`]),
//! tell (one cleanup message), and — only where the policy says `apply: true` and the run is not a
//! dry-run — delete, indexes first, in batches of 100.
//!
//! Layout, as in every function module: the pure decision in `decide.rs` (ECR's lifecycle evaluation
//! and the extra keeps), what is read in `facts.rs`, the I/O driver in `run.rs`, what a run did in `report.rs`;
//! image references are [`crate::image_ref`]'s.

mod decide;
mod facts;
mod input;
mod report;
mod run;
pub mod safety;

pub use crate::budget::{Budget, Unlimited};
pub use decide::{
    ARCHIVE_MINIMUM_DAYS, DEFAULT_KEEP_REVISIONS, FUNCTION, ImageRecord, InUse, RepositoryPlan,
    RuleClaim, Storage, Structure, deletion_group, plan_repository, pull_clock, push_clock,
    rule_claims, selects,
};
pub use facts::{RepositoryRefs, refs_by_repository};
pub use input::Input;
pub use report::{Report, RepositoryReport};
pub use run::{Context, Ports, Progress, Quiet, run, run_shard};
