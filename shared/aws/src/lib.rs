//! ecr-warden's AWS adapters: the core's ports implemented with the AWS SDK, the SDK configured
//! once per container, and the Lambda-side plumbing (logs, the per-event summary line, policy
//! loading). Everything that touches AWS lives here; decisions stay in `warden-core`.

// Plumbing every function shares.
pub mod calls;
pub mod config;
mod errors;
pub mod lambda;
pub mod policy_source;
pub mod telemetry;

// Service adapters, each compiled only for the functions that use its service.
#[cfg(any(feature = "tag-guard", feature = "janitor"))]
pub mod checkpoints;
#[cfg(any(feature = "tag-guard", feature = "scan-gate", feature = "janitor"))]
pub mod ecr;
#[cfg(feature = "scan-gate")]
pub mod findings;
#[cfg(feature = "tag-guard")]
pub mod ledger;
#[cfg(any(feature = "tag-guard", feature = "scan-gate", feature = "janitor"))]
pub mod publisher;
#[cfg(feature = "notifier")]
pub mod slack;
#[cfg(any(feature = "tag-guard", feature = "scan-gate"))]
pub mod verdicts;
#[cfg(feature = "janitor")]
pub mod workloads;

// The functions, assembled from their adapters.
#[cfg(feature = "janitor")]
pub mod janitor;
#[cfg(feature = "notifier")]
pub mod notifier;
#[cfg(feature = "scan-gate")]
pub mod scan_gate;
#[cfg(feature = "tag-guard")]
pub mod tag_guard;

pub use calls::ApiCalls;
pub use config::{assume_role, load_sdk_config};
