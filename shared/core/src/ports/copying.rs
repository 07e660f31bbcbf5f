//! Copying images between registries (the replicator's one write), and the calls and time its
//! messages report.

use crate::records::CopyOrder;
use async_trait::async_trait;

use super::PortError;
use crate::message::CopyReport;
use crate::names::{Digest, RepositoryName};

/// Copying one image to each of its destinations, the source read once whatever their number.
/// Its futures need not be `Send`: the replicator runs one invocation at a time on its runtime's
/// thread, and a copy's concurrent blob transfers borrow the image read.
#[async_trait(?Send)]
pub trait ImageCopies: Send + Sync {
    /// The image as read from the source: manifests, an index's children, referrers, blobs.
    type Source: Send + Sync;

    /// Read `repository@digest` from the source registry: 1 BatchGetImage (+1 for an index's
    /// children), 1 ListImageReferrers per manifest (+1 BatchGetImage when it finds any). An image
    /// gone is NotFound; a manifest that does not parse is Invalid.
    async fn read(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> Result<Self::Source, PortError>;

    /// Copy `source` as `order` says (the destination's floors in docs/replicator.md: ⌈L/100⌉
    /// BatchCheckLayerAvailability, per missing blob a download and a layer upload, 1 PutImage per
    /// manifest per tag; a missing destination repository is created from the destination
    /// registry's creation template). A tag the destination refused is one of the report's
    /// `problems`, not an error.
    async fn copy(
        &self,
        source: &Self::Source,
        order: &CopyOrder<'_>,
    ) -> Result<CopyReport, PortError>;
}

/// What a replication message measures: the AWS calls this function's clients have made so far
/// (`api_calls`) and a clock for its `duration_ms` (the core reads no clock itself).
pub trait CallMeter: Send + Sync {
    fn calls_made(&self) -> u64;

    /// Milliseconds on a clock that only moves forward; only differences mean anything.
    fn millis(&self) -> u64;
}
