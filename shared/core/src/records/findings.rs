//! What the findings ports say of an image: its resource identity and its scan coverage.

use crate::names::{Digest, RepositoryName};

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
