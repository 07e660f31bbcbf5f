//! The replicator's decision: which image is copied, under which tags, to which registries.
//!
//! Rules (docs/replicator.md):
//! - A repository replicates only when its policy has a `replication` section.
//! - `require_pass` (default true): only scan-gate's PASS verdicts trigger a copy, and the verdict
//!   recorded for the digest is re-read before copying — a PASS message that a later FAIL
//!   superseded promotes nothing (events arrive in any order). scan-gate never records a PASS on
//!   incomplete evidence, so none promotes. A push in a gated repository is copied when the
//!   verdict already recorded for its digest is PASS (a tag added to a passed image, or put back
//!   by tag-guard, travels); otherwise it waits for the verdict.
//! - Tags follow the image, not the event: the tags a copy gets are those the source image holds
//!   when copying (one read by digest, [`with_current_tags`]), filtered as below.
//!   `require_pass: false`: pushes trigger the copy; verdicts are ignored (the push copied).
//! - Tags: with a `tags` filter, only matching tags travel and an image with none is not copied;
//!   without one, every tag travels (an untagged image is copied by digest).
//! - `native: true`: ECR's own replication copies (the registry's configuration is reconciled
//!   from the policy by `warden replicate --native`); the replicator skips the repository.
//! - No loops: a registry that is itself one of the repository's destinations (same account,
//!   region and repository) does not replicate that repository — a copy arriving there is not copied
//!   again — and a destination equal to the source is never one.

mod decide;
pub mod image;
mod input;
pub mod native;
mod report;
mod run;
pub mod template;
#[cfg(test)]
mod tests;

pub use crate::destination::{Registry, Target};
pub use decide::{CopyPlan, Decision, Trigger, confirm, decide, tags_to_copy, with_current_tags};
pub use input::{Input, Push};
pub use report::{Outcome, Report};
pub use run::{Context, FUNCTION, Mode, Ports, handle_push, handle_verdicts, replicate};
