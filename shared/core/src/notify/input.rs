//! What the notifier takes: an SNS delivery from the warden topic.

use super::FUNCTION;
use crate::event::{FunctionInput, Incoming, InputSummary, Refusal, SnsRecord};

#[derive(Debug, Clone, PartialEq)]
pub struct Input(pub Vec<SnsRecord>);

impl FunctionInput for Input {
    const FUNCTION: &'static str = FUNCTION;

    fn take(incoming: Incoming) -> Result<Self, Refusal> {
        match incoming {
            Incoming::Sns(delivery) => Ok(Self(delivery.records)),
            Incoming::Event(_) => Err(Self::not_taken("EventBridge events")),
            Incoming::Queue(_) => Err(Self::not_taken("SQS batches")),
        }
    }

    fn summary(&self) -> InputSummary {
        InputSummary::of_batch("sns", self.0.len())
    }
}
