//! A plan: what a decision wants done, as plain data. `warden explain` prints it, dry-run records it,
//! tests assert on it, and the executor (`crate::execute`) is the only place that carries it out.

use serde::Serialize;

use crate::message::Message;
use crate::mutability::TagMutability;
use crate::names::{Digest, RepositoryName, Tag};
use crate::ports::Manifest;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// `PutImageTagMutability` with the policy's setting.
    SetTagMutability {
        repository: RepositoryName,
        setting: TagMutability,
    },
    /// `PutLifecyclePolicy` with the policy's native rules.
    PutLifecyclePolicy {
        repository: RepositoryName,
        text: String,
    },
    /// Point `tag` at the image stored as `manifest` (digest-preserving `PutImage`).
    PutTag {
        repository: RepositoryName,
        tag: Tag,
        manifest: Manifest,
    },
    /// Remove tags from their images (`BatchDeleteImage` by tag). Plans only remove tags from an
    /// image that keeps another.
    RemoveTags {
        repository: RepositoryName,
        tags: Vec<Tag>,
    },
    /// Delete images by digest, in this order, in `BatchDeleteImage` batches of 100 (a batch
    /// never mixes an index with the images after it).
    DeleteImages {
        repository: RepositoryName,
        digests: Vec<Digest>,
    },
    /// Publish an outcome (also in dry-run: people are told what would happen), to the policy's
    /// topic for the repository or else the warden topic.
    Publish {
        #[serde(skip_serializing_if = "Option::is_none")]
        topic_arn: Option<String>,
        message: Message,
    },
}

impl Action {
    /// Whether the action changes AWS state (skipped in dry-run).
    pub fn is_change(&self) -> bool {
        !matches!(self, Self::Publish { .. })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// One line saying what was decided and why.
    pub decision: String,
    pub dry_run: bool,
    pub actions: Vec<Action>,
}

impl Plan {
    /// Nothing to do, and why.
    pub fn nothing(decision: impl Into<String>, dry_run: bool) -> Self {
        Self {
            decision: decision.into(),
            dry_run,
            actions: Vec::new(),
        }
    }
}
