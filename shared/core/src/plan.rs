//! A plan: what a decision wants done, as plain data. `warden explain` prints it, dry-run records it,
//! tests assert on it, and the executor (`crate::execute`) is the only place that carries it out.

use serde::Serialize;

use crate::message::Message;
use crate::mutability::TagMutability;
use crate::names::{Digest, RepositoryName, Tag};
use crate::records::Manifest;

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
    /// Move tags of one image to new names (quarantine and release): put each `to` on the image
    /// stored as `manifest` (digest-preserving `PutImage`), then remove each `from` whose `to` is
    /// in place, by tag only, after checking the image still holds it (a `from` that moved to
    /// another image meanwhile is left alone; `ImageManifests::remove_tags`). The image always
    /// keeps a tag.
    MoveTags {
        repository: RepositoryName,
        manifest: Manifest,
        moves: Vec<TagMove>,
    },
    /// Delete images by digest, in this order, in `BatchDeleteImage` batches of 100 (a batch
    /// never mixes an index with the images after it). Just before each batch the images are
    /// read again: one that gained a tag since it was listed, or is gone, is left out.
    DeleteImages {
        repository: RepositoryName,
        images: Vec<ListedImage>,
    },
    /// Publish an outcome (also in dry-run: people are told what would happen), to the policy's
    /// topic for the repository or else the warden topic.
    Publish {
        #[serde(skip_serializing_if = "Option::is_none")]
        topic_arn: Option<String>,
        message: Message,
    },
}

/// An image as the plan saw it: its digest and the tags it had when listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListedImage {
    pub digest: Digest,
    pub tags: Vec<Tag>,
}

/// One tag renamed on one image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagMove {
    pub from: Tag,
    pub to: Tag,
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
