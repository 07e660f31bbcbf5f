//! Scanning: an image as a resource, its scan coverage and findings.

use async_trait::async_trait;

use super::{Page, PortError};
use crate::names::{Digest, RepositoryName};
use crate::verdict::Finding;

/// One image as an AWS resource (account, region, repository, digest).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImageResource {
    pub account: crate::names::AccountId,
    pub region: crate::names::Region,
    pub repository: RepositoryName,
    pub digest: Digest,
}

impl ImageResource {
    /// Inspector's resource id for the image: its ARN,
    /// `arn:<partition>:ecr:<region>:<account>:repository/<name>/<digest>`.
    pub fn arn(&self) -> String {
        let region = self.region.as_str();
        let partition = if region.starts_with("cn-") {
            "aws-cn"
        } else if region.starts_with("us-gov-") {
            "aws-us-gov"
        } else {
            "aws"
        };
        format!(
            "arn:{partition}:ecr:{region}:{}:repository/{}/{}",
            self.account, self.repository, self.digest
        )
    }
}

/// Inspector's scan status for a covered resource.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ScanCoverage {
    pub status: String,
    pub reason: Option<String>,
}

impl ScanCoverage {
    pub fn is_active(&self) -> bool {
        self.status == "ACTIVE"
    }
}

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
