//! tag-guard's decisions: tag immutability, enforced.
//!
//! - **Repository conformance** ([`decide_repository`]): a repository's tag-mutability setting must be
//!   the policy's. CloudTrail events are decided from the event alone (0 reads); the sweep from the
//!   listing.
//! - **Protected tags in mutable repositories** ([`decide_tag`]): the ledger keeps the first digest a
//!   protected tag pointed to; a push that moves the tag is reverted, digest-preserving, and the
//!   offending image kept reachable.
//!
//! Decisions are pure and re-run as facts arrive: each call returns either the next fact it needs
//! ([`Step::Need`]) or the finished [`Plan`](crate::plan::Plan). Only facts a decision actually needs are read, which is
//! what gives the call floors (unprotected push: 0; first push: 1; overwrite: 1+1+1+puts+publish).

mod accept;
mod decide;
mod input;
mod report;
mod repository;
mod revert;
mod run;
#[cfg(test)]
mod tests;

pub use decide::{
    Context, FUNCTION, Need, Protection, Start, Step, TagFacts, decide_tag, is_semver,
    protection_for, start,
};
pub use input::Input;
pub use report::Report;
pub use repository::{decide_cloudtrail, decide_repository};
pub use run::{Ports, handle, sweep_shard};
