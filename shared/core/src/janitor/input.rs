//! What janitor takes: its schedule's EventBridge event, nothing else.

use super::FUNCTION;
use crate::event::{Detail, Envelope, FunctionInput, Incoming, InputSummary, Refusal};

/// The schedule's event: its envelope says the account and region to clean.
#[derive(Debug, Clone, PartialEq)]
pub struct Input(pub Envelope);

impl FunctionInput for Input {
    const FUNCTION: &'static str = FUNCTION;

    fn take(incoming: Incoming) -> Result<Self, Refusal> {
        match incoming {
            Incoming::Event(event) if matches!(event.detail, Detail::Schedule) => {
                Ok(Self(event.envelope))
            }
            Incoming::Event(event) => {
                Err(Self::not_taken(format!("{} events", event.detail.kind())))
            }
            Incoming::Queue(_) => Err(Self::not_taken("SQS batches")),
            Incoming::Sns(_) => Err(Self::not_taken("SNS deliveries")),
        }
    }

    fn summary(&self) -> InputSummary {
        InputSummary {
            kind: Detail::Schedule.kind().to_owned(),
            account: Some(self.0.account.to_string()),
            ..InputSummary::default()
        }
    }
}
