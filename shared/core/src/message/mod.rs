//! The one message model for every warden outcome, published on the warden SNS topic.
//!
//! Schema `ecr-warden/message/v1` (versioned: a breaking change gets a new version string). The JSON
//! body carries `kind` and the kind's fields; SNS message attributes repeat what subscribers filter
//! on (`kind`, `repository`, `account`, `region`, `action`, and for verdicts `verdict`,
//! `max_severity`), and the subject is a short human line (≤ 100 characters, SNS's limit).

use serde::{Deserialize, Serialize};

mod action;

pub use action::{Did, MessageAction};

use crate::mutability::TagMutability;
use crate::names::{AccountId, Digest, Region, RepositoryName, Tag};
use crate::severity::{Severity, SeverityCounts};
use crate::verdict::{ExceptionUse, Finding, Verdict};

pub const SCHEMA: &str = "ecr-warden/message/v1";
/// SNS's limit on `Subject`.
pub const MAX_SUBJECT: usize = 100;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub schema: String,
    /// The function that decided (`tag-guard`, ...).
    pub function: String,
    pub account: AccountId,
    pub region: Region,
    pub repository: RepositoryName,
    /// What was done: `reverted`, `fixed`, `none`, ...; `would_…` in dry-run.
    pub action: MessageAction,
    pub dry_run: bool,
    /// The EventBridge event that led here, when there was one (the sweep has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    #[serde(flatten)]
    pub body: Body,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Body {
    /// A protected tag was moved and has been pointed back at the digest first recorded for it.
    TagReverted {
        tag: Tag,
        restored_digest: Digest,
        offending_digest: Digest,
        /// The tag the offending image is kept under; `None` when left untagged.
        offender_kept_as: Option<Tag>,
    },
    /// A protected tag was moved away from an image scan-gate failed: the new push stands and the
    /// ledger now records it.
    TagAccepted {
        tag: Tag,
        previous_digest: Digest,
        accepted_digest: Digest,
        reason: String,
    },
    /// A protected tag was moved but cannot be reverted: the recorded image is gone.
    TagRevertImpossible {
        tag: Tag,
        recorded_digest: Digest,
        offending_digest: Digest,
        reason: String,
    },
    /// A repository's tag mutability did not match the policy and was set to it.
    RepositoryFixed {
        before: Option<TagMutability>,
        after: TagMutability,
        trigger: String,
    },
    /// janitor's cleanup of one repository: planned (dry-run) or applied.
    Cleanup(Box<CleanupBody>),
    /// scan-gate's verdict on one image, and what it did about it.
    Verdict(Box<VerdictBody>),
    /// The replicator's copies of one image (planned in dry-run).
    Replication(Box<ReplicationBody>),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplicationBody {
    pub digest: Digest,
    /// The tags the copies got (empty: by digest only).
    pub tags: Vec<Tag>,
    /// One report per destination that was copied to (none in dry-run).
    pub copies: Vec<CopyReport>,
    /// Destinations (`account/region/repository`) planned in dry-run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub planned: Vec<String>,
    /// Destinations that failed, each with the reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<String>,
    pub api_calls: u64,
    pub duration_ms: u64,
    pub policy_pattern: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CleanupBody {
    /// False: a plan only (nothing was deleted).
    pub applied: bool,
    pub images_total: u64,
    pub images_kept: u64,
    pub images_deleted: u64,
    pub bytes_freed: u64,
    /// Why images were kept, with how many each (`in use by ECS`, `kept by rule 1`, ...).
    pub kept_because: Vec<(String, u64)>,
    /// Deletions ECR refused (e.g. `ImageReferencedByManifestList`), reported not retried.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<String>,
}

/// At most this many findings travel in a message; `findings_total` says how many there were.
pub const MAX_MESSAGE_FINDINGS: usize = 50;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerdictBody {
    pub digest: Digest,
    /// The image's tags as the event gave them (before any quarantine).
    pub tags: Vec<Tag>,
    pub verdict: Verdict,
    pub max_severity: Option<Severity>,
    /// `basic`, `enhanced` or `inspector_finding`.
    pub scan: String,
    pub counts: SeverityCounts,
    pub reasons: Vec<String>,
    pub exceptions_applied: Vec<ExceptionUse>,
    pub exceptions_expired: Vec<ExceptionUse>,
    pub findings: Vec<Finding>,
    pub findings_total: usize,
    /// Tags moved to `<prefix><tag>` by a quarantine.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quarantined_tags: Vec<Tag>,
    /// Tags given back by a release.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restored_tags: Vec<Tag>,
    /// Tags a release could not give back: a newer image has them now.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags_taken: Vec<Tag>,
    /// Multi-arch indexes whose own tags were quarantined (or released) because this image, an
    /// untagged child of theirs, failed (or passed again).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub via_indexes: Vec<Digest>,
    /// A failed quarantine: tags the failing image can still be pulled and deployed by.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub still_deployable: Vec<Tag>,
    /// Tags that pointed at another image by the time the quarantine removed them: left alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moved_meanwhile: Vec<Tag>,
    /// What could not be done, each naming the tag and the reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// The policy rule whose gate decided.
    pub policy_pattern: Option<String>,
}

impl Body {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::TagReverted { .. } => "tag_reverted",
            Self::TagAccepted { .. } => "tag_accepted",
            Self::TagRevertImpossible { .. } => "tag_revert_impossible",
            Self::RepositoryFixed { .. } => "repository_fixed",
            Self::Verdict(_) => "verdict",
            Self::Cleanup(_) => "cleanup",
            Self::Replication(_) => "replication",
        }
    }
}

impl Message {
    /// A short human line for SNS `Subject` and e-mail subscribers (at most 100 characters).
    pub fn subject(&self) -> String {
        let would = if self.dry_run {
            "[dry-run] would: "
        } else {
            ""
        };
        let text = match &self.body {
            Body::TagReverted {
                tag,
                offending_digest,
                ..
            } => {
                format!(
                    "{would}reverted {}:{tag} (moved to {})",
                    self.repository,
                    offending_digest.short()
                )
            }
            Body::TagRevertImpossible { tag, .. } => {
                format!(
                    "{would}cannot revert {}:{tag}: original image gone",
                    self.repository
                )
            }
            Body::TagAccepted {
                tag,
                accepted_digest,
                ..
            } => format!(
                "{would}kept {}:{tag} on {}: the recorded image failed its scan",
                self.repository,
                accepted_digest.short()
            ),
            Body::RepositoryFixed { after, .. } => {
                format!("{would}set {} to {}", self.repository, after.mode.as_str())
            }
            Body::Cleanup(c) => {
                let verb = if c.applied { "deleted" } else { "would delete" };
                format!(
                    "{would}cleanup {}: {verb} {} of {} images",
                    self.repository, c.images_deleted, c.images_total
                )
            }
            Body::Verdict(v) => format!("{would}{}", self.verdict_subject(v)),
            Body::Replication(r) => {
                let image = self.image_named(&r.tags, &r.digest);
                let bytes = r
                    .copies
                    .iter()
                    .map(|c| c.bytes_copied)
                    .fold(0, u64::saturating_add);
                let count = r.copies.len().max(r.planned.len());
                format!("{would}replicated {image} to {count} destination(s), {bytes} bytes")
            }
        };
        truncate(&text, MAX_SUBJECT)
    }

    /// `FAIL team-a/api:v1 (HIGH), quarantined`.
    fn verdict_subject(&self, v: &VerdictBody) -> String {
        let image = self.image_named(&v.tags, &v.digest);
        let max = v
            .max_severity
            .as_ref()
            .map(|s| format!(" ({s})"))
            .unwrap_or_default();
        let did = match self.action.did {
            Did::Quarantined => ", quarantined",
            Did::Released => ", released",
            _ => "",
        };
        format!("{} {image}{max}{did}", v.verdict.as_str())
    }

    /// `repository:tag` by the first tag, else `repository@<short digest>`.
    fn image_named(&self, tags: &[Tag], digest: &Digest) -> String {
        match tags.first() {
            Some(tag) => format!("{}:{tag}", self.repository),
            None => format!("{}@{}", self.repository, digest.short()),
        }
    }

    /// SNS message attributes (all `String`), for subscription filter policies.
    pub fn attributes(&self) -> Vec<(&'static str, String)> {
        let mut attributes = vec![
            ("kind", self.body.kind().to_owned()),
            ("repository", self.repository.to_string()),
            ("account", self.account.to_string()),
            ("region", self.region.to_string()),
            ("action", self.action.to_string()),
            ("function", self.function.clone()),
        ];
        if let Body::Verdict(v) = &self.body {
            attributes.push(("verdict", v.verdict.as_str().to_owned()));
            let max = v
                .max_severity
                .as_ref()
                .map_or_else(|| "NONE".to_owned(), |s| s.as_str().to_owned());
            attributes.push(("max_severity", max));
        }
        attributes
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// What one copy of one image to one destination did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyReport {
    /// `account/region/repository`.
    pub target: String,
    /// Manifests put (children, referrers, the image; once per tag).
    pub manifests_put: u64,
    /// Manifest puts the destination already had ("already exists" is success).
    pub manifests_present: u64,
    pub layers_copied: u64,
    pub layers_skipped: u64,
    /// Layer bytes uploaded (manifests not counted).
    pub bytes_copied: u64,
    pub tags: Vec<Tag>,
    /// Referrer tags (cosign) that travelled with the image.
    pub referrers: Vec<Tag>,
    /// OCI 1.1 referrers (artifacts naming the image or one of its children as `subject`) that
    /// travelled with it, by digest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attached: Vec<Digest>,
    /// The destination repository was created by this copy.
    pub created_repository: bool,
    /// The prefix of the destination registry's creation template it was created by (absent:
    /// created like its source, or not created).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_template: Option<String>,
    /// What was not done, each naming the tag and why (an immutable tag pointing elsewhere), or
    /// the setting of the creation template that could not be applied.
    pub problems: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mutability::MutabilityMode;

    #[test]
    fn subject_stays_within_sns_limits() {
        let long = format!("team/{}", "x".repeat(200));
        let m = Message {
            schema: SCHEMA.into(),
            function: "tag-guard".into(),
            account: AccountId::new("123456789012").unwrap(),
            region: Region::new("us-east-1").unwrap(),
            repository: RepositoryName::new(long).unwrap(),
            action: MessageAction::done(Did::Fixed),
            dry_run: false,
            event_id: None,
            body: Body::RepositoryFixed {
                before: None,
                after: TagMutability {
                    mode: MutabilityMode::Immutable,
                    exclusions: vec![],
                },
                trigger: "sweep".into(),
            },
        };
        assert_eq!(m.subject().chars().count(), MAX_SUBJECT);
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["kind"], "repository_fixed");
        assert_eq!(json["schema"], SCHEMA);
        assert!(
            m.attributes()
                .iter()
                .any(|(k, v)| *k == "kind" && v == "repository_fixed")
        );
    }
}
