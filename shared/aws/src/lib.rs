//! ecr-warden's AWS adapters: the core's ports implemented with the AWS SDK, the SDK configured
//! once per container, and the Lambda-side plumbing (logs, the per-event summary line, policy
//! loading). Everything that touches AWS lives here; decisions stay in `warden-core`.

pub mod calls;
pub mod checkpoints;
pub mod config;
pub mod ecr;
mod errors;
pub mod findings;
pub mod janitor;
pub mod lambda;
pub mod ledger;
pub mod notifier;
pub mod policy_source;
pub mod publisher;
pub mod scan_gate;
pub mod slack;
pub mod tag_guard;
pub mod telemetry;
pub mod verdicts;
pub mod workloads;

pub use calls::ApiCalls;
pub use config::{assume_role, load_sdk_config};
