//! What janitor takes: its schedule's EventBridge event (every repository of the account-region
//! it names), or one shard of an organization-wide run (`{"shard": ...}`, a Distributed Map item
//! from the planner, docs/organization.md): the repositories it lists, nothing else.

use serde_json::Value;

use super::FUNCTION;
use crate::event::{Detail, Envelope, FunctionInput, Incoming, InputSummary, Refusal, incoming};
use crate::fanout::Shard;

#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// The schedule's event: its envelope says the account and region to clean.
    Schedule(Box<Envelope>),
    /// One shard: its account-region and repositories.
    Shard(Shard),
}

impl FunctionInput for Input {
    const FUNCTION: &'static str = FUNCTION;

    fn take(incoming: Incoming) -> Result<Self, Refusal> {
        match incoming {
            Incoming::Event(event) if matches!(event.detail, Detail::Schedule) => {
                Ok(Self::Schedule(Box::new(event.envelope)))
            }
            Incoming::Event(event) => {
                Err(Self::not_taken(format!("{} events", event.detail.kind())))
            }
            Incoming::Queue(_) => Err(Self::not_taken("SQS batches")),
            Incoming::Sns(_) => Err(Self::not_taken("SNS deliveries")),
        }
    }

    /// A shard item when the payload is one, else an envelope as [`FunctionInput::take`] takes it.
    fn parse(value: Value) -> Result<Self, Refusal> {
        match value.get("shard") {
            Some(shard) => Shard::from_item(shard, "a janitor shard").map(Self::Shard),
            None => Self::take(incoming(value)?),
        }
    }

    fn summary(&self) -> InputSummary {
        match self {
            Self::Schedule(envelope) => InputSummary {
                kind: Detail::Schedule.kind().to_owned(),
                account: Some(envelope.account.to_string()),
                ..InputSummary::default()
            },
            Self::Shard(shard) => shard.summary(),
        }
    }
}
