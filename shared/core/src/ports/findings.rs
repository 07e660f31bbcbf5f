//! Scanning: an image as a resource, its scan coverage and findings.

use crate::records::{ImageResource, ScanCoverage};
use async_trait::async_trait;

use super::{Page, PortError};
use crate::names::{Digest, RepositoryName};
use crate::verdict::Finding;

/// An image's vulnerability findings.
#[async_trait]
pub trait ImageFindings: Send + Sync {
    /// One page of the image's basic-scan findings (`DescribeImageScanFindings`, 1000 per page).
    /// A scan that is not COMPLETE is a retryable error, never an empty listing.
    async fn scan_findings(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
        next: Option<String>,
    ) -> Result<Page<Finding>, PortError>;

    /// Whether Inspector still scans the image: its coverage scan status (`ACTIVE`, or `INACTIVE`
    /// with a reason such as `SCAN_ELIGIBILITY_EXPIRED`), `None` when it is not covered at all
    /// (deleted, or never eligible). One `ListCoverage` filtered by the image's resource id.
    async fn coverage(&self, image: &ImageResource) -> Result<Option<ScanCoverage>, PortError>;

    /// One page of the image's ACTIVE Inspector findings (`ListFindings` filtered by the image's
    /// account and registry — a delegated administrator sees other accounts' findings for images
    /// of the same name — repository name, image hash and status; 100 per page).
    async fn inspector_findings(
        &self,
        image: &ImageResource,
        next: Option<String>,
    ) -> Result<Page<Finding>, PortError>;
}
