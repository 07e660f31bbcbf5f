//! What scan-gate takes: an EventBridge event (scans, pushes) or an SQS batch of Inspector findings
//! (answered with per-message batch item failures).

use super::FUNCTION;
use crate::event::{Event, FunctionInput, Incoming, InputSummary, Refusal, SqsMessage};

#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Event(Box<Event>),
    Batch(Vec<SqsMessage>),
}

impl FunctionInput for Input {
    const FUNCTION: &'static str = FUNCTION;

    fn take(incoming: Incoming) -> Result<Self, Refusal> {
        match incoming {
            Incoming::Event(event) => Ok(Self::Event(event)),
            Incoming::Queue(batch) => Ok(Self::Batch(batch.records)),
            Incoming::Sns(_) => Err(Self::not_taken("SNS deliveries")),
        }
    }

    fn summary(&self) -> InputSummary {
        match self {
            Self::Event(event) => InputSummary::of_event(event),
            Self::Batch(records) => InputSummary::of_batch("sqs_batch", records.len()),
        }
    }
}
