//! `detail` of the events ECR itself sends (source `aws.ecr`).

use serde::{Deserialize, Serialize};

use super::lenient::{empty_as_none, null_as_default};
use crate::names::{Digest, RepositoryName, Tag};
use crate::severity::SeverityCounts;

/// `ECR Image Action`: PUSH, DELETE or UPDATE_STORAGE_CLASS of one image.
/// The push event has no previous digest and no pusher; `image-tag` may be absent or empty.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ImageAction {
    pub action_type: String,
    #[serde(default)]
    pub result: Option<String>,
    pub repository_name: RepositoryName,
    pub image_digest: Digest,
    #[serde(default, deserialize_with = "empty_as_none")]
    pub image_tag: Option<Tag>,
    #[serde(default)]
    pub manifest_media_type: Option<String>,
    #[serde(default)]
    pub artifact_media_type: Option<String>,
    /// UPDATE_STORAGE_CLASS only: `ARCHIVE` or `STANDARD`.
    #[serde(default)]
    pub target_storage_class: Option<String>,
}

impl ImageAction {
    pub fn succeeded(&self) -> bool {
        self.result.as_deref().is_none_or(|r| r == "SUCCESS")
    }
}

/// `ECR Image Scan` (basic scanning). Counts list only the severities present.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct BasicScan {
    pub scan_status: String,
    pub repository_name: RepositoryName,
    pub image_digest: Digest,
    #[serde(default, deserialize_with = "null_as_default")]
    pub image_tags: Vec<Tag>,
    /// `None` when the event leaves the counts out (or sends null): then they are unknown, not 0.
    #[serde(default)]
    pub finding_severity_counts: Option<SeverityCounts>,
}

/// `ECR Scan Resource Change`: scanning configuration of repositories changed.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ScanResourceChange {
    pub action_type: String,
    #[serde(default)]
    pub scan_type: Option<String>,
    #[serde(default)]
    pub resource_type: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub repositories: Vec<ScannedRepository>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ScannedRepository {
    pub repository_name: RepositoryName,
    #[serde(default)]
    pub repository_arn: Option<String>,
    #[serde(default)]
    pub scan_frequency: Option<String>,
    #[serde(default)]
    pub previous_scan_frequency: Option<String>,
}

/// `ECR Replication Action`: one image replicated into this registry (or failed to).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ReplicationAction {
    #[serde(default)]
    pub action_type: Option<String>,
    pub result: String,
    pub repository_name: RepositoryName,
    pub image_digest: Digest,
    #[serde(default, deserialize_with = "empty_as_none")]
    pub image_tag: Option<Tag>,
    #[serde(default)]
    pub source_account: Option<String>,
    #[serde(default)]
    pub source_region: Option<String>,
}

/// `ECR Pull Through Cache Action`: an upstream image synced into a cache repository.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct PullThroughCacheAction {
    pub sync_status: String,
    pub repository_name: RepositoryName,
    #[serde(default)]
    pub ecr_repository_prefix: Option<String>,
    #[serde(default)]
    pub upstream_registry_url: Option<String>,
    #[serde(default)]
    pub image_digest: Option<Digest>,
    #[serde(default, deserialize_with = "empty_as_none")]
    pub image_tag: Option<Tag>,
    #[serde(default)]
    pub failure_code: Option<String>,
    #[serde(default)]
    pub failure_reason: Option<String>,
}

/// `ECR Referrer Action`: a referrer (signature, SBOM, attestation) pushed or deleted.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ReferrerAction {
    pub action_type: String,
    #[serde(default)]
    pub result: Option<String>,
    pub repository_name: RepositoryName,
    pub image_digest: Digest,
    #[serde(default, deserialize_with = "empty_as_none")]
    pub image_tag: Option<Tag>,
    #[serde(default)]
    pub artifact_media_type: Option<String>,
    #[serde(default)]
    pub manifest_media_type: Option<String>,
}
