//! Ports: the narrow capabilities the decisions need from the outside world, named after intent.
//! `warden-aws` implements them with the AWS SDK; tests may implement them in memory. Each method
//! says which AWS call it stands for, so per-event call floors can be read off the trait.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::message::Message;
use crate::mutability::TagMutability;
use crate::names::{Digest, RepositoryName, Tag};
use crate::scan_gate::verdict::{Finding, Verdict};
use crate::severity::Severity;

/// Why a port call failed. [`PortError::is_retryable`] decides the Lambda error contract:
/// retryable errors fail the invocation (Lambda retries, then the DLQ); the others are reported
/// and acknowledged, because retrying cannot help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    #[error("{operation}: not found: {what}")]
    NotFound {
        operation: &'static str,
        what: String,
    },
    /// ECR `ImageTagAlreadyExistsException`: the tag is immutable and points elsewhere.
    #[error("{operation}: tag {tag} already exists in {repository} and is immutable")]
    TagAlreadyExists {
        operation: &'static str,
        repository: String,
        tag: String,
    },
    /// ECR `ImageAlreadyExistsException`: this exact manifest already carries this tag.
    #[error("{operation}: image already exists with that tag in {repository}")]
    ImageAlreadyExists {
        operation: &'static str,
        repository: String,
    },
    /// A conditional write lost: someone else wrote first.
    #[error("{operation}: condition failed: {what}")]
    ConditionFailed {
        operation: &'static str,
        what: String,
    },
    #[error("{operation}: throttled")]
    Throttled { operation: &'static str },
    #[error("{operation}: transient failure: {message}")]
    Transient {
        operation: &'static str,
        message: String,
    },
    #[error("{operation}: access denied: {message}")]
    Denied {
        operation: &'static str,
        message: String,
    },
    #[error("{operation}: rejected: {message}")]
    Invalid {
        operation: &'static str,
        message: String,
    },
}

impl PortError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Throttled { .. } | Self::Transient { .. })
    }
}

/// One page of a listing and the token for the next, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

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

/// What a conditional tag removal did not do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagRemoval {
    /// Tags that point at another image now: left alone.
    pub moved: Vec<Tag>,
    /// Per-tag refusals, `tag: code reason`.
    pub refused: Vec<(Tag, String)>,
}

/// ECR's BatchGetImage limit on image ids per call.
pub const MAX_BATCH_GET_IMAGE_IDS: usize = 100;

#[async_trait]
pub trait ImageManifests: Send + Sync {
    /// The manifests of these images, as stored; missing images are absent from the result.
    /// One `BatchGetImage` call; at most [`MAX_BATCH_GET_IMAGE_IDS`] digests.
    async fn manifests(
        &self,
        repository: &RepositoryName,
        digests: &[Digest],
    ) -> Result<Vec<Manifest>, PortError>;

    /// The digest `tag` points to now, or `None` when no image has it. One `BatchGetImage` call.
    async fn tag_target(
        &self,
        repository: &RepositoryName,
        tag: &Tag,
    ) -> Result<Option<Digest>, PortError>;

    /// The image's manifest (`None` if it is gone) and where each of `tags` points now, in one
    /// `BatchGetImage` (at most [`MAX_BATCH_GET_IMAGE_IDS`] ids in all).
    async fn image_and_tags(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
        tags: &[Tag],
    ) -> Result<ImageView, PortError>;

    /// The current tags of each image (`None` for one that is gone), in the order asked. One
    /// `DescribeImages` by image ids (at most 100); ECR refuses the whole call when one id is
    /// missing, and then each image is read on its own (one call each).
    async fn tags_now(
        &self,
        repository: &RepositoryName,
        digests: &[Digest],
    ) -> Result<Vec<Option<Vec<Tag>>>, PortError>;

    /// The image's current tags (`None` if it is gone). One `DescribeImages` by digest.
    async fn tags_of(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> Result<Option<Vec<Tag>>, PortError>;

    /// Remove `tags` from the image `digest`, each only while it still points there: one
    /// `BatchDeleteImage` with digest + tag ids (at most 100). A tag gone already counts as removed;
    /// a tag that points at another image now (`ImageTagDoesNotMatchDigest`) is left alone and
    /// reported in `moved`; other per-tag refusals come back in `refused`. Removing an image's
    /// *last* tag deletes the image: callers make sure it keeps another.
    async fn remove_tags(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
        tags: &[Tag],
    ) -> Result<TagRemoval, PortError>;

    /// Delete images by digest. One `BatchDeleteImage` (at most 100 ids); an image already gone
    /// counts as deleted; other per-image failures (e.g. `ImageReferencedByManifestList`) come back
    /// in the result.
    async fn delete_images(
        &self,
        repository: &RepositoryName,
        digests: &[Digest],
    ) -> Result<Vec<String>, PortError>;

    /// Point `tag` at the image stored as `manifest`, digest-preserving. One `PutImage` call
    /// (ECR allows 10 PutImage per second per repository; callers pace bulk work).
    /// Errors: `TagAlreadyExists` when the tag is immutable and elsewhere; `ImageAlreadyExists`
    /// when the tag already points here (callers treat that as done).
    async fn put_tag(
        &self,
        repository: &RepositoryName,
        manifest: &Manifest,
        tag: &Tag,
    ) -> Result<Digest, PortError>;
}

/// A repository as listed, with its tag-mutability setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryState {
    pub name: RepositoryName,
    pub mutability: TagMutability,
}

/// ECR's page limit for DescribeRepositories / DescribeImages / ListImages.
pub const MAX_PAGE: i32 = 1000;

/// Repository-level settings.
#[async_trait]
pub trait RepositorySettings: Send + Sync {
    /// One page of repositories (`DescribeRepositories`, [`MAX_PAGE`] per page).
    async fn repositories(&self, next: Option<String>) -> Result<Page<RepositoryState>, PortError>;

    /// The repository's lifecycle policy text, or `None` when it has none. One
    /// `GetLifecyclePolicy`.
    async fn lifecycle_policy(
        &self,
        repository: &RepositoryName,
    ) -> Result<Option<String>, PortError>;

    /// Set the repository's lifecycle policy. One `PutLifecyclePolicy`.
    async fn put_lifecycle_policy(
        &self,
        repository: &RepositoryName,
        text: &str,
    ) -> Result<(), PortError>;

    /// Set a repository's tag mutability. One `PutImageTagMutability` call.
    async fn set_tag_mutability(
        &self,
        repository: &RepositoryName,
        setting: &TagMutability,
    ) -> Result<(), PortError>;
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
    pub archived_at: Option<DateTime<Utc>>,
}

/// Listing a repository's images.
#[async_trait]
pub trait ImageCatalog: Send + Sync {
    /// One page of images in every storage state — ACTIVE, ARCHIVED and ACTIVATING (`DescribeImages`
    /// with image status ANY: ECR lists ACTIVE only by default), [`MAX_PAGE`] per page.
    async fn images(
        &self,
        repository: &RepositoryName,
        next: Option<String>,
    ) -> Result<Page<ImageEntry>, PortError>;
}

/// A ledger entry: the digest a protected tag pointed to first, and when that was observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    pub digest: Digest,
    pub observed_at: DateTime<Utc>,
}

/// What a claim found, and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The tag had no entry: this digest is now recorded.
    Recorded,
    /// The tag had an entry observed no later than this one: it stands.
    Existing(Digest),
    /// The tag had an entry observed *later* (events arrived out of order): this digest replaced it.
    Replaced { previous: Digest },
}

impl Claim {
    /// What a claim would do, given the entry there is (dry-run decides with this, writing nothing).
    pub fn would(
        existing: Option<&LedgerEntry>,
        digest: &Digest,
        observed_at: DateTime<Utc>,
    ) -> Self {
        match existing {
            None => Self::Recorded,
            Some(e) if e.observed_at > observed_at && &e.digest != digest => Self::Replaced {
                previous: e.digest.clone(),
            },
            Some(e) => Self::Existing(e.digest.clone()),
        }
    }
}

/// The protected-tag ledger: the earliest-observed digest of each protected tag. Keeping the
/// earliest (not the first to arrive) makes out-of-order deliveries converge on the same state.
#[async_trait]
pub trait TagLedger: Send + Sync {
    /// Record `digest` (observed at `observed_at`) for `tag` unless an entry observed no later
    /// exists; say what happened. One conditional write (DynamoDB `PutItem`, condition
    /// `attribute_not_exists OR observed_at > :t`, returning the old item either way).
    async fn claim(
        &self,
        repository: &RepositoryName,
        tag: &Tag,
        digest: &Digest,
        observed_at: DateTime<Utc>,
    ) -> Result<Claim, PortError>;

    /// The entry, without writing (dry-run). One `GetItem`.
    async fn entry(
        &self,
        repository: &RepositoryName,
        tag: &Tag,
    ) -> Result<Option<LedgerEntry>, PortError>;

    /// Make the tag's legitimate digest `to` (observed at `observed_at`), but only while the entry
    /// still says `from`: one conditional `PutItem`. `false` when the entry changed meanwhile.
    async fn follow(
        &self,
        repository: &RepositoryName,
        tag: &Tag,
        from: &Digest,
        to: &Digest,
        observed_at: DateTime<Utc>,
    ) -> Result<bool, PortError>;
}

/// Publishing outcomes on the warden SNS topic.
#[async_trait]
pub trait Publisher: Send + Sync {
    /// One SNS `Publish` with the message's subject and filterable attributes, to `topic_arn` or,
    /// when `None`, the deployment's warden topic.
    async fn publish(&self, topic_arn: Option<&str>, message: &Message) -> Result<(), PortError>;
}

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

/// The verdict last recorded for an image: what the replicator and the CLI ask ("did D pass?").
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VerdictRecord {
    pub repository: RepositoryName,
    pub digest: Digest,
    pub verdict: Verdict,
    pub max_severity: Option<Severity>,
    /// (verdict, finding set) identity; see `scan_gate::verdict::Evaluation::fingerprint`.
    pub fingerprint: String,
    /// The policy rule whose gate decided.
    pub policy_pattern: Option<String>,
    pub decided_at: DateTime<Utc>,
}

/// What a verdict claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerdictClaim {
    /// Recorded; `previous` is what it replaced.
    Recorded { previous: Option<VerdictRecord> },
    /// The same verdict and finding set were recorded already: nothing new to act on or tell.
    Unchanged,
}

impl VerdictClaim {
    /// What a claim would do given the stored record (dry-run decides with this, writing nothing).
    pub fn would(stored: Option<VerdictRecord>, fingerprint: &str) -> Self {
        match stored {
            Some(s) if s.fingerprint == fingerprint => Self::Unchanged,
            previous => Self::Recorded { previous },
        }
    }
}

/// Reading scan-gate's recorded verdicts (tag-guard asks before re-pointing a protected tag).
#[async_trait]
pub trait VerdictLookup: Send + Sync {
    /// The stored record. One `GetItem` (consistent read).
    async fn verdict(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> Result<Option<VerdictRecord>, PortError>;
}

/// Recorded verdicts, one per image (scan-gate's).
#[async_trait]
pub trait VerdictStore: VerdictLookup {
    /// Record unless the stored fingerprint is this one. One conditional `PutItem` returning the
    /// old item.
    async fn claim(&self, record: &VerdictRecord) -> Result<VerdictClaim, PortError>;

    /// Put `previous` back (or remove the record) after acting on a claim failed, so the retry
    /// acts again. One `PutItem` or `DeleteItem`.
    async fn restore(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
        previous: Option<&VerdictRecord>,
    ) -> Result<(), PortError>;
}

/// A chat webhook URL. It is a credential: `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    /// `https://…`, or `http://` to a loopback address (a local stand-in); anything else is refused.
    pub fn new(url: &str) -> Option<Self> {
        let url = url.trim();
        let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
            .iter()
            .any(|p| {
                url.strip_prefix(p)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/']))
            });
        let https = url
            .strip_prefix("https://")
            .is_some_and(|rest| !rest.is_empty() && !rest.contains(char::is_whitespace));
        (https || loopback).then(|| Self(url.to_owned()))
    }

    /// The URL itself, for the HTTP client only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookUrl(<redacted>)")
    }
}

impl std::fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted webhook URL>")
    }
}

/// Webhook URLs kept in a secret store.
#[async_trait]
pub trait WebhookSecrets: Send + Sync {
    /// The webhook URL in secret `secret_id`. One `GetSecretValue` per secret per container
    /// (cached). A value that is not a webhook URL is an `Invalid` error naming the secret, never
    /// quoting its value.
    async fn webhook(&self, secret_id: &str) -> Result<WebhookUrl, PortError>;
}

/// Posting a chat message.
#[async_trait]
pub trait ChatWebhook: Send + Sync {
    /// One HTTP POST of `payload`. A 4xx is `Invalid` (retrying cannot help); a 5xx, a timeout or a
    /// connection failure is `Transient`. Errors never contain the URL.
    async fn post(&self, url: &WebhookUrl, payload: &serde_json::Value) -> Result<(), PortError>;
}

/// What was posted where, for deduplication.
#[async_trait]
pub trait NotificationLog: Send + Sync {
    /// Claim (route, fingerprint) until `until`: `true` when it was not claimed (or its claim has
    /// lapsed), so the message should be posted. One conditional `PutItem`.
    async fn claim(
        &self,
        route: &str,
        fingerprint: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, PortError>;

    /// Drop a claim after a failed post, so that the retry posts. One `DeleteItem`.
    async fn release(&self, route: &str, fingerprint: &str) -> Result<(), PortError>;
}

/// Where images are in use, across the account and region.
#[async_trait]
pub trait Workloads: Send + Sync {
    /// Every image reference in use, with who uses it: the task definitions of every ECS service
    /// (desired count 0 included) and of running and pending tasks, the newest `keep_revisions`
    /// ACTIVE revisions of each task definition family, and every version of each Lambda function
    /// packaged as an image (its resolved digest). ECS: ListClusters, ListServices,
    /// DescribeServices (10 per call), DescribeServiceRevisions (20 per call: the digest each
    /// service's current deployment pinned), ListTasks, DescribeTasks (100 per call),
    /// ListTaskDefinitionFamilies, ListTaskDefinitions, and DescribeTaskDefinition once per
    /// distinct ARN. Lambda: ListFunctions, ListVersionsByFunction, GetFunction per image version.
    async fn image_references(
        &self,
        keep_revisions: u32,
    ) -> Result<Vec<(String, String)>, PortError>;
}

/// Where a long run stopped, so the next invocation continues there.
#[async_trait]
pub trait Checkpoints: Send + Sync {
    /// The checkpoint under `key`. One `GetItem`.
    async fn get(&self, key: &str) -> Result<Option<String>, PortError>;

    /// Save (`Some`) or clear (`None`) the checkpoint under `key`. One `PutItem` or `DeleteItem`.
    async fn set(&self, key: &str, value: Option<&str>) -> Result<(), PortError>;
}
