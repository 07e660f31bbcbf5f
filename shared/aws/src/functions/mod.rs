//! The functions, each assembled from its adapters and handed only the capabilities it uses.

#[cfg(feature = "fanout")]
pub mod fanout;
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

/// A shard is worked in the region its worker's clients act in: another region's repositories of
/// the same names are not these. `Err` (non-retryable) for a misrouted shard, naming both regions.
#[cfg(any(feature = "janitor", feature = "tag-guard", feature = "replicator"))]
fn shard_here(
    function: &'static str,
    here: Option<&str>,
    shard: &warden_core::fanout::Shard,
) -> Result<(), warden_core::ports::PortError> {
    match here.filter(|r| *r != shard.at.region.as_str()) {
        None => Ok(()),
        Some(here) => Err(warden_core::ports::PortError::Invalid {
            operation: "lambda:shard",
            message: format!(
                "a shard for {}, sent to the {function} in {here}: each region's shards go to that region's {function}",
                shard.at.region
            ),
        }),
    }
}
