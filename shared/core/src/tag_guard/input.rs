//! What tag-guard takes: one EventBridge event (pushes, replications, CloudTrail calls, the sweep's
//! schedule, and any other it is routed, which it decides about).

use super::FUNCTION;
use crate::event::{Event, FunctionInput, Incoming, InputSummary, Refusal};

#[derive(Debug, Clone, PartialEq)]
pub struct Input(pub Event);

impl FunctionInput for Input {
    const FUNCTION: &'static str = FUNCTION;

    fn take(incoming: Incoming) -> Result<Self, Refusal> {
        match incoming {
            Incoming::Event(event) => Ok(Self(*event)),
            Incoming::Queue(_) => Err(Self::not_taken("SQS batches")),
            Incoming::Sns(_) => Err(Self::not_taken("SNS deliveries")),
        }
    }

    fn summary(&self) -> InputSummary {
        InputSummary::of_event(&self.0)
    }
}
