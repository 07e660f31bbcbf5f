//! `detail` of the events Amazon Inspector sends (source `aws.inspector2`) about ECR images.

use serde::{Deserialize, Serialize};

use super::lenient::null_as_default;
use super::timestamp::Timestamp;
use crate::names::{Digest, InvalidName, RepositoryName, Tag, repository_from_name_or_arn};
use crate::severity::{Severity, SeverityCounts};

/// `Inspector2 Scan`: the first enhanced scan of an image finished (sent once per image).
/// Inspector puts the repository *ARN* in `repository-name` and adds a `TOTAL` count.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct InspectorScan {
    pub scan_status: String,
    /// As sent: a plain name or a repository ARN; see [`InspectorScan::repository`].
    pub repository_name: String,
    pub image_digest: Digest,
    #[serde(default, deserialize_with = "null_as_default")]
    pub image_tags: Vec<Tag>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub finding_severity_counts: SeverityCounts,
}

impl InspectorScan {
    pub fn repository(&self) -> Result<RepositoryName, InvalidName> {
        repository_from_name_or_arn(&self.repository_name)
    }
}

/// `Inspector2 Finding`: one finding created, updated, suppressed or closed. Only the fields ecr-warden
/// reads are typed; the rest of Inspector's (large) finding is ignored.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InspectorFinding {
    pub finding_arn: String,
    #[serde(default)]
    pub aws_account_id: Option<String>,
    pub severity: Severity,
    pub status: String,
    #[serde(rename = "type", default)]
    pub finding_type: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub fix_available: Option<String>,
    #[serde(default)]
    pub exploit_available: Option<String>,
    #[serde(default)]
    pub inspector_score: Option<f64>,
    #[serde(default)]
    pub first_observed_at: Option<Timestamp>,
    #[serde(default)]
    pub last_observed_at: Option<Timestamp>,
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
    #[serde(default)]
    pub package_vulnerability_details: Option<PackageVulnerability>,
    pub resources: Vec<FindingResource>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageVulnerability {
    pub vulnerability_id: String,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub source_url: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub vulnerable_packages: Vec<VulnerablePackage>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VulnerablePackage {
    pub name: String,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub fixed_in_version: Option<String>,
    #[serde(default)]
    pub package_manager: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FindingResource {
    #[serde(rename = "type")]
    pub resource_type: String,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub details: Option<ResourceDetails>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceDetails {
    #[serde(default)]
    pub aws_ecr_container_image: Option<EcrContainerImage>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EcrContainerImage {
    pub repository_name: String,
    pub image_hash: Digest,
    #[serde(default, deserialize_with = "null_as_default")]
    pub image_tags: Vec<Tag>,
    #[serde(default)]
    pub registry: Option<String>,
    #[serde(default)]
    pub architecture: Option<String>,
    #[serde(default)]
    pub pushed_at: Option<Timestamp>,
}

impl InspectorFinding {
    /// The ECR image this finding is about, if it is about one.
    pub fn ecr_image(&self) -> Option<&EcrContainerImage> {
        self.resources
            .iter()
            .filter(|r| r.resource_type == "AWS_ECR_CONTAINER_IMAGE")
            .find_map(|r| r.details.as_ref()?.aws_ecr_container_image.as_ref())
    }

    pub fn vulnerability_id(&self) -> Option<&str> {
        self.package_vulnerability_details
            .as_ref()
            .map(|p| p.vulnerability_id.as_str())
    }
}
