//! The Lambda envelopes around messages: SNS deliveries (the notifier, the replicator) and SQS
//! batches (scan-gate's Inspector finding queue). Each record is kept raw: one bad record must fail
//! alone (a batch item failure), never the batch.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Event, EventError, parse_event, strip_location, typed};

/// Whatever a function was invoked with.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    Event(Box<Event>),
    Sns(Vec<SnsRecord>),
    Queue(Vec<QueueRecord>),
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SnsRecord {
    pub message_id: String,
    #[serde(default)]
    pub topic_arn: Option<String>,
    #[serde(default)]
    pub subject: Option<String>,
    pub message: String,
    #[serde(default)]
    pub timestamp: Option<String>,
    #[serde(default)]
    pub message_attributes: BTreeMap<String, SnsAttribute>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SnsAttribute {
    #[serde(rename = "Type")]
    pub data_type: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueRecord {
    pub message_id: String,
    pub body: String,
    #[serde(default, rename = "eventSourceARN")]
    pub event_source_arn: Option<String>,
}

impl QueueRecord {
    /// The EventBridge event this SQS message carries (EventBridge → SQS puts the event in `body`).
    pub fn event(&self) -> Result<Event, EventError> {
        let value: Value = serde_json::from_str(&self.body).map_err(|e| EventError::Malformed {
            line: e.line(),
            column: e.column(),
            message: format!(
                "SQS message {}: {}",
                self.message_id,
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
        Some("aws:sns") => {
            #[derive(Deserialize)]
            struct Wrapped {
                #[serde(rename = "Sns")]
                sns: SnsRecord,
            }
            let wrapped: Vec<Wrapped> = typed("SNS delivery", Value::Array(records.clone()))
                .map_err(|e| rename_root(e, "Records"))?;
            Ok(Incoming::Sns(wrapped.into_iter().map(|w| w.sns).collect()))
        }
        Some("aws:sqs") => {
            let records: Vec<QueueRecord> = typed("SQS batch", Value::Array(records.clone()))
                .map_err(|e| rename_root(e, "Records"))?;
            Ok(Incoming::Queue(records))
        }
        other => Err(EventError::NotAnEvent(format!(
            "`Records` from unknown source {}",
            other.unwrap_or("(none)")
        ))),
    }
}

/// `typed` names paths under `detail`; for a batch they are under `Records`.
fn rename_root(err: EventError, root: &str) -> EventError {
    match err {
        EventError::Field {
            context,
            path,
            message,
        } => EventError::Field {
            context,
            path: path.replacen("detail", root, 1),
            message,
        },
        other => other,
    }
}
