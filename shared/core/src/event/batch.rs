//! The Lambda envelopes around messages, as `aws_lambda_events` defines them: SNS deliveries (the
//! notifier, the replicator) and SQS batches (scan-gate's Inspector finding queue). Each record is
//! kept raw: one bad record must fail alone (a batch item failure), never the batch.

use aws_lambda_events::event::sns::SnsEvent;
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use serde_json::Value;

use super::{Event, EventError, parse_event, strip_location, typed_at};

/// Whatever a function was invoked with.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    Event(Box<Event>),
    Sns(SnsEvent),
    Queue(SqsEvent),
}

/// An SQS message carrying an EventBridge event (EventBridge → SQS puts the event in `body`).
/// Lambda always sets `messageId` and `body`; [`Incoming`] rejects a batch where one is missing, so
/// a record's failure can always be reported by its id.
pub trait QueuedEvent {
    /// The message id, the batch item failure's `itemIdentifier`.
    fn id(&self) -> &str;
    /// The EventBridge event in the body.
    fn event(&self) -> Result<Event, EventError>;
}

impl QueuedEvent for SqsMessage {
    fn id(&self) -> &str {
        self.message_id.as_deref().unwrap_or_default()
    }

    fn event(&self) -> Result<Event, EventError> {
        let body = self.body.as_deref().unwrap_or_default();
        let value: Value = serde_json::from_str(body).map_err(|e| EventError::Malformed {
            line: e.line(),
            column: e.column(),
            message: format!(
                "SQS message {}: {}",
                self.id(),
                strip_location(&e.to_string())
            ),
        })?;
        parse_event(value)
    }
}

pub(super) fn from_value(value: Value) -> Result<Incoming, EventError> {
    let Some(records) = value.get("Records").and_then(Value::as_array) else {
        return parse_event(value).map(|e| Incoming::Event(Box::new(e)));
    };
    let source = records.first().and_then(|r| {
        r.get("EventSource")
            .or_else(|| r.get("eventSource"))
            .and_then(Value::as_str)
    });
    match source {
        Some("aws:sns") => Ok(Incoming::Sns(typed_at("", "SNS delivery", value)?)),
        Some("aws:sqs") => {
            let batch: SqsEvent = typed_at("", "SQS batch", value)?;
            for (i, message) in batch.records.iter().enumerate() {
                let missing = |field: &str| EventError::Field {
                    context: "SQS batch".to_owned(),
                    path: format!("Records[{i}].{field}"),
                    message: "is missing".to_owned(),
                };
                if message.message_id.as_deref().is_none_or(str::is_empty) {
                    return Err(missing("messageId"));
                }
                if message.body.is_none() {
                    return Err(missing("body"));
                }
            }
            Ok(Incoming::Queue(batch))
        }
        other => Err(EventError::NotAnEvent(format!(
            "`Records` from unknown source {}",
            other.unwrap_or("(none)")
        ))),
    }
}
