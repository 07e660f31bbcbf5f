//! What scan-gate takes: an EventBridge event (scans, pushes), an SQS batch of Inspector findings
//! (answered with per-message batch item failures), or the end of an image's signature grace
//! (`{"signature_deadline": ...}`, what its one-time schedule sends).

use serde_json::Value;

use super::FUNCTION;
use crate::event::{
    Event, EventError, FunctionInput, Incoming, InputSummary, Refusal, SqsMessage, incoming,
};
use crate::records::GraceDeadline;

#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Event(Box<Event>),
    Batch(Vec<SqsMessage>),
    /// An image whose signature grace ended: evaluated again as ECR describes it now.
    Deadline(GraceDeadline),
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

    /// A grace deadline when the payload is one, else what [`FunctionInput::take`] takes.
    fn parse(value: Value) -> Result<Self, Refusal> {
        match value.get("signature_deadline") {
            Some(deadline) => serde_json::from_value(deadline.clone())
                .map(Self::Deadline)
                .map_err(|e| {
                    Refusal::Malformed(EventError::Field {
                        context: "a signature grace deadline".into(),
                        path: "signature_deadline".into(),
                        message: e.to_string(),
                    })
                }),
            None => Self::take(incoming(value)?),
        }
    }

    fn summary(&self) -> InputSummary {
        match self {
            Self::Event(event) => InputSummary::of_event(event),
            Self::Batch(records) => InputSummary::of_batch("sqs_batch", records.len()),
            Self::Deadline(deadline) => InputSummary {
                kind: "signature_deadline".to_owned(),
                account: Some(deadline.account.to_string()),
                repository: Some(deadline.repository.clone()),
                digest: Some(deadline.digest.clone()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the grace deadline's schedule sends (events/scan-gate.signature-deadline.json) is
    /// taken as a deadline; one naming no digest is refused as malformed, naming the field.
    #[test]
    fn the_schedules_payload_is_a_deadline_and_a_broken_one_is_malformed() {
        let fixture: Value = serde_json::from_str(include_str!(
            "../../../../events/scan-gate.signature-deadline.json"
        ))
        .expect("fixture JSON");
        let Ok(Input::Deadline(deadline)) = Input::parse(fixture.clone()) else {
            panic!("not a deadline");
        };
        assert_eq!(deadline.repository.as_str(), "payments/api");
        assert_eq!(deadline.at.to_rfc3339(), "2026-12-06T21:10:00+00:00");
        let mut broken = fixture;
        broken["signature_deadline"]["digest"] = Value::from("latest");
        let refused = Input::parse(broken).err().map(|r| r.to_string());
        assert!(
            refused
                .as_deref()
                .is_some_and(|r| r.contains("signature_deadline")),
            "{refused:?}"
        );
    }
}
