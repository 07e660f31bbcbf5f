//! The notifier driven through its ports: each message of an SNS delivery to its Slack routes
//! (dedupe claim, webhook from its secret, post).

use chrono::{DateTime, Duration, Utc};

use super::{Delivery, Posting, Report, fingerprint, routes, slack};
use crate::event::SnsRecord;
use crate::message::Message;
use crate::policy::Policy;
use crate::ports::{ChatWebhook, NotificationLog, PortError, WebhookSecrets};

pub const FUNCTION: &str = "notifier";

pub struct Ports<'a> {
    pub secrets: &'a dyn WebhookSecrets,
    pub webhook: &'a dyn ChatWebhook,
    pub log: &'a dyn NotificationLog,
}

/// Post `message` to every route it goes to. `Err` only for retryable failures; the routes posted
/// before it keep their claims, so the retry posts only what is missing.
#[tracing::instrument(name = "notify::deliver", skip_all, fields(repository = %message.repository))]
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

/// Every message of an SNS delivery, in order, each at the time `now` gives when it is reached. A
/// message that is not a warden message is a failure (reported, acknowledged); `Err` only for
/// retryable failures.
pub async fn handle_messages(
    records: &[SnsRecord],
    policy: &Policy,
    now: &(dyn Fn() -> DateTime<Utc> + Sync),
    window: Duration,
    ports: &Ports<'_>,
) -> Result<Report, PortError> {
    let mut report = Report::default();
    for record in records {
        let record = &record.sns;
        let message: Message = match serde_json::from_str(&record.message) {
            Ok(m) => m,
            Err(e) => {
                report.errors.push(format!(
                    "SNS message {} is not a warden message: {e}",
                    record.message_id
                ));
                continue;
            }
        };
        let delivery = deliver(&message, policy, now(), window, ports).await?;
        report.errors.extend(delivery.errors.iter().cloned());
        report.results.push(Posting {
            message: record.message_id.clone(),
            subject: message.subject(),
            delivery,
        });
    }
    Ok(report)
}
