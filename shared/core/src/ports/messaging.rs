//! Telling people: the warden topic, chat webhooks and their secrets, the deduplication log.

use crate::records::WebhookUrl;
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
