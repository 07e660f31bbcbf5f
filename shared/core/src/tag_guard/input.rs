//! What tag-guard takes: one EventBridge event (pushes, replications, CloudTrail calls, the sweep's
//! schedule, and any other it is routed, which it decides about), or one shard of an
//! organization-wide sweep (`{"shard": ...}`, docs/organization.md): the repositories it names.

use serde_json::Value;

use super::FUNCTION;
use crate::event::{Event, FunctionInput, Incoming, InputSummary, Refusal, incoming};
use crate::fanout::Shard;

#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Event(Box<Event>),
    /// One shard of a fanned-out sweep.
    Shard(Shard),
}

impl FunctionInput for Input {
    const FUNCTION: &'static str = FUNCTION;

    fn take(incoming: Incoming) -> Result<Self, Refusal> {
        match incoming {
            Incoming::Event(event) => Ok(Self::Event(event)),
            Incoming::Queue(_) => Err(Self::not_taken("SQS batches")),
            Incoming::Sns(_) => Err(Self::not_taken("SNS deliveries")),
        }
    }

    /// A shard item when the payload is one, else an event as [`FunctionInput::take`] takes it.
    fn parse(value: Value) -> Result<Self, Refusal> {
        match value.get("shard") {
            Some(shard) => Shard::from_item(shard, "a tag-guard shard").map(Self::Shard),
            None => Self::take(incoming(value)?),
        }
    }

    fn summary(&self) -> InputSummary {
        match self {
            Self::Event(event) => InputSummary::of_event(event),
            Self::Shard(shard) => shard.summary(),
        }
    }
}
