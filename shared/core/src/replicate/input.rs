//! What the replicator takes: scan-gate's messages from SNS (verdicts), or an ECR push from
//! EventBridge (repositories replicated without gating).

use serde_json::Value;

use super::FUNCTION;
use crate::event::{
    Detail, Envelope, FunctionInput, ImageAction, Incoming, InputSummary, Refusal, SnsRecord,
    incoming,
};
use crate::fanout::Shard;

/// The summary's kind of a push (the same word as [`Detail::kind`]'s).
const IMAGE_PUSH: &str = "image_push";

#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Push(Box<Push>),
    Verdicts(Vec<SnsRecord>),
    /// One shard of a fanned-out backfill (`{"shard": ...}`, docs/organization.md).
    Shard(Shard),
}

/// An ECR push: the event's envelope and its detail.
#[derive(Debug, Clone, PartialEq)]
pub struct Push {
    pub envelope: Envelope,
    pub push: ImageAction,
}

impl FunctionInput for Input {
    const FUNCTION: &'static str = FUNCTION;

    fn take(incoming: Incoming) -> Result<Self, Refusal> {
        match incoming {
            Incoming::Sns(delivery) => Ok(Self::Verdicts(delivery.records)),
            Incoming::Event(event) => match event.detail {
                Detail::ImagePush(push) => Ok(Self::Push(Box::new(Push {
                    envelope: event.envelope,
                    push,
                }))),
                _ => Err(Self::not_taken("events other than ECR pushes")),
            },
            Incoming::Queue(_) => Err(Self::not_taken("SQS batches")),
        }
    }

    /// A shard item when the payload is one, else a delivery or event as [`FunctionInput::take`]
    /// takes it.
    fn parse(value: Value) -> Result<Self, Refusal> {
        match value.get("shard") {
            Some(shard) => Shard::from_item(shard, "a replicator shard").map(Self::Shard),
            None => Self::take(incoming(value)?),
        }
    }

    fn summary(&self) -> InputSummary {
        match self {
            Self::Shard(shard) => shard.summary(),
            Self::Push(pushed) => InputSummary {
                kind: IMAGE_PUSH.into(),
                account: Some(pushed.envelope.account.to_string()),
                repository: Some(pushed.push.repository_name.clone()),
                digest: Some(pushed.push.image_digest.clone()),
            },
            Self::Verdicts(records) => InputSummary::of_batch("sns", records.len()),
        }
    }
}
