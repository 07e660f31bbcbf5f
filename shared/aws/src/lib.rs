//! ecr-warden's AWS side, in three rooms a reader can tell apart by path:
//! - [`runtime`]: Lambda plumbing every function shares — environment, SDK configuration, the
//!   per-invocation frame and its error contract, logs and the summary line, policy loading.
//! - [`adapters`]: the core's ports implemented with the AWS SDK (and Slack), one file per
//!   service concern, each compiled only for the functions that use its service.
//! - [`functions`]: each Lambda assembled from its adapters; its binary's `main.rs` only wires.
//!
//! Everything that touches AWS lives here; decisions stay in `warden-core`.

pub mod adapters;
pub mod functions;
pub mod runtime;

pub use runtime::calls::ApiCalls;
pub use runtime::config::{assume_role, load_sdk_config};
