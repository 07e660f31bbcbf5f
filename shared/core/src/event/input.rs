//! Each function's own input: the kinds of payload it takes, parsed once. A kind it does not take
//! is refused here, at parse time — the Lambda frame acknowledges and summarises the refusal
//! (retrying cannot help) — so a function never turns wrong kinds away itself.

use serde_json::Value;

use super::{Detail, Event, EventError, Incoming, incoming};
use crate::names::{Digest, RepositoryName};

/// Why a payload is not a function's input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    /// Not a valid event (the field that is wrong is named).
    #[error(transparent)]
    Malformed(#[from] EventError),
    /// A valid payload of a kind this function does not take.
    #[error("{function} does not take {what}")]
    NotTaken {
        function: &'static str,
        what: String,
    },
}

impl Refusal {
    /// The words a summary line gives the refusal.
    pub fn decision(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "rejected: not a valid event",
            Self::NotTaken { .. } => "rejected: not for this function",
        }
    }
}

/// A function's input type: what it takes of an [`Incoming`] payload.
pub trait FunctionInput: Sized {
    /// The function's name, as refusals and summary lines give it.
    const FUNCTION: &'static str;

    /// Take `incoming` as this function's input, or refuse it.
    fn take(incoming: Incoming) -> Result<Self, Refusal>;

    /// What the summary line says the input is: its kind, and the image it is about.
    fn summary(&self) -> InputSummary;

    /// Parse a payload as this function's input, once.
    fn parse(value: Value) -> Result<Self, Refusal> {
        Self::take(incoming(value)?)
    }

    /// The refusal of a kind this function does not take.
    fn not_taken(what: impl Into<String>) -> Refusal {
        Refusal::NotTaken {
            function: Self::FUNCTION,
            what: what.into(),
        }
    }
}

/// What a summary line says of an input.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InputSummary {
    pub kind: String,
    /// The account an EventBridge event is about (an account-scoped function checks it).
    pub account: Option<String>,
    pub repository: Option<RepositoryName>,
    pub digest: Option<Digest>,
}

impl InputSummary {
    /// An EventBridge event's: its kind, account, and image where it is about one.
    pub fn of_event(event: &Event) -> Self {
        let (repository, digest) = event.detail.image();
        Self {
            kind: event.detail.kind().to_owned(),
            account: Some(event.envelope.account.to_string()),
            repository,
            digest,
        }
    }

    /// A batch's: `sqs_batch(n)` or `sns(n)`.
    pub fn of_batch(kind: &str, records: usize) -> Self {
        Self {
            kind: format!("{kind}({records})"),
            ..Self::default()
        }
    }
}

impl Detail {
    /// The repository and the digest an event is about, where it names them.
    pub fn image(&self) -> (Option<RepositoryName>, Option<Digest>) {
        match self {
            Self::ImagePush(a) | Self::ImageDelete(a) | Self::ImageStorageClass(a) => (
                Some(a.repository_name.clone()),
                Some(a.image_digest.clone()),
            ),
            Self::BasicScan(s) => (
                Some(s.repository_name.clone()),
                Some(s.image_digest.clone()),
            ),
            Self::InspectorScan(s) => (s.repository().ok(), Some(s.image_digest.clone())),
            Self::InspectorFinding(f) => match f.ecr_image() {
                Some(image) => (
                    crate::names::repository_from_name_or_arn(&image.repository_name).ok(),
                    Some(image.image_hash.clone()),
                ),
                None => (None, None),
            },
            Self::Replication(r) => (
                Some(r.repository_name.clone()),
                Some(r.image_digest.clone()),
            ),
            Self::PullThroughCache(p) => (Some(p.repository_name.clone()), p.image_digest.clone()),
            Self::Referrer(r) => (
                Some(r.repository_name.clone()),
                Some(r.image_digest.clone()),
            ),
            Self::CloudTrail(c) => (c.repository().cloned(), None),
            Self::ScanResourceChange(_) | Self::Schedule | Self::Ignored { .. } => (None, None),
        }
    }
}
