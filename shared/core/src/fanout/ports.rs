//! What a fan-out run talks to: its files and its one summary (docs/organization.md, "The engine
//! contract"). Here rather than in `ports`: they carry the fan-out's own types.

use async_trait::async_trait;

use super::{Lane, LaneResult, Manifest, ResultLocation, Summary};
use crate::ports::PortError;

/// Where the planner leaves a run's lanes and the Distributed Map its results (an S3 bucket).
#[async_trait]
pub trait RunFiles: Send + Sync {
    /// Write `lanes` as one JSON array at `key` (one `PutObject`, replacing what a retried plan
    /// left there); answers where they are.
    async fn put_lanes(&self, key: &str, lanes: &[Lane]) -> Result<Manifest, PortError>;

    /// Every child execution's result of a map run: its `manifest.json` at `at`, then each result
    /// file it lists, SUCCEEDED and FAILED (one `GetObject` each).
    async fn lane_results(&self, at: &ResultLocation) -> Result<Vec<LaneResult>, PortError>;
}

/// Telling people how a run went: one message per run.
#[async_trait]
pub trait RunSummaries: Send + Sync {
    /// One SNS `Publish` of `summary` (attributes `kind` = `fanout_summary`, `job`).
    async fn publish_summary(&self, summary: &Summary) -> Result<(), PortError>;
}
