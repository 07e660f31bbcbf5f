//! What the registry ports read and write: manifests, image views, listing entries, repository state.

use crate::mutability::TagMutability;
use crate::names::{Digest, RepositoryName, Tag};
use crate::severity::SeverityCounts;
use chrono::{DateTime, Utc};

/// An image manifest exactly as stored: re-putting these bytes preserves the digest.
/// (Plans print it as digest and media type; the bytes are not worth showing.)
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Manifest {
    pub digest: Digest,
    pub media_type: Option<String>,
    #[serde(skip)]
    pub bytes: String,
}

/// Reads and writes image manifests and tags in one registry.
/// An image's manifest (`None` if it is gone) and where some tags point now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageView {
    pub manifest: Option<Manifest>,
    pub tags: Vec<(Tag, Option<Digest>)>,
}

/// What a conditional tag removal did not do, or did elsewhere.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagRemoval {
    /// Tags the image no longer held just before the removal (moved to another image, or gone):
    /// left alone.
    pub moved: Vec<Tag>,
    /// Per-tag refusals, `tag: code reason`; the tag is still on the image.
    pub refused: Vec<(Tag, String)>,
    /// Tags pushed onto another image between the check and the removal, and removed from that
    /// image (the residual race, docs/invariants.md #3): the other image's digest.
    pub raced: Vec<(Tag, Digest)>,
}

/// A repository as listed, with its tag-mutability setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryState {
    pub name: RepositoryName,
    pub mutability: TagMutability,
}

/// One image as listed by DescribeImages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageEntry {
    pub digest: Digest,
    pub tags: Vec<Tag>,
    pub pushed_at: Option<DateTime<Utc>>,
    pub last_pull: Option<DateTime<Utc>>,
    pub size: u64,
    pub manifest_media_type: Option<String>,
    pub artifact_media_type: Option<String>,
    /// `ACTIVE`, `ARCHIVED` or `ACTIVATING` (ECR's archive storage class).
    pub status: Option<String>,
    /// DescribeImages' `subjectManifestDigest`: "The digest of the subject manifest for images
    /// that are referrers" (when ECR reports it; the manifest's own `subject` says the same).
    pub subject: Option<Digest>,
    pub archived_at: Option<DateTime<Utc>>,
    /// When the image was last restored from archive to standard (`lastActivatedAt`).
    pub activated_at: Option<DateTime<Utc>>,
}

/// One image as DescribeImages describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageState {
    pub entry: ImageEntry,
    /// `imageScanStatus.status`: `COMPLETE`, `FAILED`, `IN_PROGRESS` (basic); `ACTIVE`,
    /// `PENDING`, `SCAN_ELIGIBILITY_EXPIRED`, `FINDINGS_UNAVAILABLE`, … (enhanced). `None`: never
    /// scanned.
    pub scan_status: Option<String>,
    pub scan_description: Option<String>,
    /// `imageScanFindingsSummary.findingSeverityCounts`, when the scan finished and ECR gave them
    /// (`None` otherwise: unknown, not 0).
    pub counts: Option<SeverityCounts>,
}

/// One signing job's status, as ECR's DescribeImageSigningStatus reports it for an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningStatus {
    /// The AWS Signer signing profile the job signs with.
    pub profile_arn: String,
    /// `IN_PROGRESS`, `COMPLETE` or `FAILED`.
    pub status: String,
    pub failure_code: Option<String>,
    pub failure_reason: Option<String>,
}
