//! Telling people: the warden topic, chat webhooks and their secrets, the deduplication log.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::PortError;
use crate::message::Message;

/// Publishing outcomes on the warden SNS topic.
#[async_trait]
pub trait Publisher: Send + Sync {
    /// One SNS `Publish` with the message's subject and filterable attributes, to `topic_arn` or,
    /// when `None`, the deployment's warden topic.
    async fn publish(&self, topic_arn: Option<&str>, message: &Message) -> Result<(), PortError>;
}

/// A chat webhook URL. It is a credential: `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    /// `https://…`, or `http://` to a loopback address (a local stand-in); anything else is refused.
    pub fn new(url: &str) -> Option<Self> {
        let url = url.trim();
        let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
            .iter()
            .any(|p| {
                url.strip_prefix(p)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/']))
            });
        let https = url
            .strip_prefix("https://")
            .is_some_and(|rest| !rest.is_empty() && !rest.contains(char::is_whitespace));
        (https || loopback).then(|| Self(url.to_owned()))
    }

    /// The URL itself, for the HTTP client only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookUrl(<redacted>)")
    }
}

impl std::fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted webhook URL>")
    }
}

/// Webhook URLs kept in a secret store.
#[async_trait]
pub trait WebhookSecrets: Send + Sync {
    /// The webhook URL in secret `secret_id`. One `GetSecretValue` per secret per container
    /// (cached). A value that is not a webhook URL is an `Invalid` error naming the secret, never
    /// quoting its value.
    async fn webhook(&self, secret_id: &str) -> Result<WebhookUrl, PortError>;
}

/// Posting a chat message.
#[async_trait]
pub trait ChatWebhook: Send + Sync {
    /// One HTTP POST of `payload`. A 4xx is `Invalid` (retrying cannot help); a 5xx, a timeout or a
    /// connection failure is `Transient`. Errors never contain the URL.
    async fn post(&self, url: &WebhookUrl, payload: &serde_json::Value) -> Result<(), PortError>;
}

/// What was posted where, for deduplication.
#[async_trait]
pub trait NotificationLog: Send + Sync {
    /// Claim (route, fingerprint) until `until`: `true` when it was not claimed (or its claim has
    /// lapsed), so the message should be posted. One conditional `PutItem`.
    async fn claim(
        &self,
        route: &str,
        fingerprint: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, PortError>;

    /// Drop a claim after a failed post, so that the retry posts. One `DeleteItem`.
    async fn release(&self, route: &str, fingerprint: &str) -> Result<(), PortError>;
}
