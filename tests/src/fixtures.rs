//! Events: fixtures from events/, SNS deliveries, event times.

use serde_json::{Value, json};

use crate::repo_root;

/// A Lambda SNS event delivering `messages` (each a message body), as SNS hands them to a
/// subscribed function.
pub fn sns_delivery(messages: &[(String, String)]) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .enumerate()
        .map(|(i, (subject, body))| {
            json!({"EventSource": "aws:sns", "EventVersion": "1.0",
                "EventSubscriptionArn": "arn:aws:sns:eu-west-1:123456789012:ecr-warden:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55", "Sns": {
                "Type": "Notification", "MessageId": format!("msg-{i}"), "TopicArn": "arn:aws:sns:eu-west-1:123456789012:ecr-warden",
                "Subject": subject, "Message": body, "Timestamp": "2026-11-28T10:00:00.000Z",
                "SignatureVersion": "1", "Signature": "EXAMPLE", "SigningCertUrl": "EXAMPLE", "UnsubscribeUrl": "EXAMPLE",
                "MessageAttributes": {}}})
        })
        .collect();
    json!({"Records": records})
}

/// A JSON fixture from events/.
pub fn load_fixture(name: &str) -> Value {
    let path = repo_root().join("events").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("fixture JSON")
}

/// An RFC 3339 time `seconds` after a fixed base: event times that order pushes.
pub fn at(seconds: i64) -> String {
    (chrono::DateTime::from_timestamp(1_795_000_000, 0).expect("base")
        + chrono::Duration::seconds(seconds))
    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
