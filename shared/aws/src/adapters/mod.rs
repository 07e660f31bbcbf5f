//! Service adapters: SDK calls turned into the core's facts, plans carried out. Each is compiled
//! only for the functions that use its service (the features of `warden-aws`).

#[cfg(any(feature = "tag-guard", feature = "janitor", feature = "replicator"))]
pub mod checkpoints;
#[cfg(feature = "scan-gate")]
pub mod deadlines;
#[cfg(any(
    feature = "tag-guard",
    feature = "scan-gate",
    feature = "janitor",
    feature = "replicator",
    feature = "fanout"
))]
pub mod ecr;
#[cfg(feature = "scan-gate")]
pub mod findings;
#[cfg(feature = "scan-gate")]
pub mod kms_keys;
#[cfg(feature = "tag-guard")]
pub mod ledger;
#[cfg(any(
    feature = "tag-guard",
    feature = "scan-gate",
    feature = "janitor",
    feature = "replicator"
))]
pub mod publisher;
#[cfg(feature = "replicator")]
pub mod replication;
#[cfg(feature = "fanout")]
pub mod runs;
#[cfg(feature = "scan-gate")]
pub mod signer_revocations;
#[cfg(feature = "notifier")]
pub mod slack;
#[cfg(any(feature = "tag-guard", feature = "scan-gate", feature = "replicator"))]
pub mod verdicts;
#[cfg(feature = "janitor")]
pub mod workloads;
