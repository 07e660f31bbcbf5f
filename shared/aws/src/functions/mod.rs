//! The functions, each assembled from its adapters and handed only the capabilities it uses.

#[cfg(feature = "janitor")]
pub mod janitor;
#[cfg(feature = "notifier")]
pub mod notifier;
#[cfg(feature = "replicator")]
pub mod replicator;
#[cfg(feature = "scan-gate")]
pub mod scan_gate;
#[cfg(feature = "tag-guard")]
pub mod tag_guard;
