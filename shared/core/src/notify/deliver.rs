//! Delivering one message to its Slack routes: dedupe claim, webhook from its secret, post.

use chrono::{DateTime, Duration, Utc};

use super::{fingerprint, routes, slack};
use crate::message::Message;
use crate::policy::Policy;
use crate::ports::{ChatWebhook, NotificationLog, PortError, WebhookSecrets};

pub struct Ports<'a> {
    pub secrets: &'a dyn WebhookSecrets,
    pub webhook: &'a dyn ChatWebhook,
    pub log: &'a dyn NotificationLog,
}

#[derive(Debug, Default, serde::Serialize)]
pub struct Delivery {
    pub posted: Vec<String>,
    /// Routes that had this news already within the window.
    pub duplicates: Vec<String>,
    /// Non-retryable failures (a 4xx from Slack, a bad secret), reported and acknowledged.
    pub errors: Vec<String>,
}

/// Post `message` to every route it goes to. `Err` only for retryable failures; the routes posted
/// before it keep their claims, so the retry posts only what is missing.
pub async fn deliver(
    message: &Message,
    policy: &Policy,
    now: DateTime<Utc>,
    window: Duration,
    ports: &Ports<'_>,
) -> Result<Delivery, PortError> {
    let mut delivery = Delivery::default();
    let fp = fingerprint(message);
    let payload = slack::render(message);
    for route in routes(policy, message) {
        if !ports.log.claim(&route.name, &fp, now, now + window).await? {
            delivery.duplicates.push(route.name.clone());
            continue;
        }
        let posted = match ports.secrets.webhook(&route.webhook_secret).await {
            Ok(url) => ports.webhook.post(&url, &payload).await,
            Err(e) => Err(e),
        };
        match posted {
            Ok(()) => delivery.posted.push(route.name.clone()),
            Err(e) if e.is_retryable() => {
                ports.log.release(&route.name, &fp).await?;
                return Err(e);
            }
            Err(e) => delivery.errors.push(format!("route {}: {e}", route.name)),
        }
    }
    Ok(delivery)
}
