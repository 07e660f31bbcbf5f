//! Slack delivery: webhook URLs from Secrets Manager ([`WebhookSecrets`], cached per container,
//! never logged), the HTTP post ([`ChatWebhook`]), and the dedupe log in DynamoDB
//! ([`NotificationLog`]: `notified#<route>#<fingerprint>` with `until` and a `ttl` for DynamoDB TTL).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde_json::Value;
use warden_core::ports::{ChatWebhook, NotificationLog, PortError, WebhookSecrets};
use warden_core::records::WebhookUrl;

use crate::runtime::errors::port_error;
use crate::runtime::tls;

/// Secrets Manager, with each secret read once per container.
#[derive(Debug)]
pub struct SecretsManagerWebhooks {
    client: aws_sdk_secretsmanager::Client,
    cache: Mutex<HashMap<String, WebhookUrl>>,
}

impl SecretsManagerWebhooks {
    pub fn new(client: aws_sdk_secretsmanager::Client) -> Self {
        Self {
            client,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn cached(&self, id: &str) -> Option<WebhookUrl> {
        self.cache.lock().ok()?.get(id).cloned()
    }
}

/// A secret holds the URL itself, or JSON with a `url` / `webhook_url` field.
fn webhook_in(value: &str) -> Option<WebhookUrl> {
    if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(value) {
        return ["url", "webhook_url"]
            .iter()
            .find_map(|k| map.get(*k)?.as_str())
            .and_then(WebhookUrl::new);
    }
    WebhookUrl::new(value)
}

#[async_trait]
impl WebhookSecrets for SecretsManagerWebhooks {
    async fn webhook(&self, secret_id: &str) -> Result<WebhookUrl, PortError> {
        const OP: &str = "secretsmanager:GetSecretValue";
        if let Some(url) = self.cached(secret_id) {
            return Ok(url);
        }
        let out = self
            .client
            .get_secret_value()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| port_error(OP, e))?;
        let url = out.secret_string().and_then(webhook_in).ok_or_else(|| PortError::Invalid {
            operation: OP,
            message: format!(
                "secret {secret_id} does not hold a webhook URL (expected https://… or JSON {{\"url\": \"https://…\"}})"
            ),
        })?;
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(secret_id.to_owned(), url.clone());
        }
        Ok(url)
    }
}

/// Incoming-webhook posts over HTTPS, with a timeout.
#[derive(Debug, Clone)]
pub struct SlackWebhook {
    http: reqwest::Client,
}

impl SlackWebhook {
    /// Webhook posts use the SDK's TLS stack and roots ([`tls::reqwest_builder`]).
    pub fn new(timeout: Duration) -> Result<Self, PortError> {
        let http = tls::reqwest_builder()
            .timeout(timeout)
            .build()
            .map_err(|e| PortError::Invalid {
                operation: "slack:post",
                message: e.without_url().to_string(),
            })?;
        Ok(Self { http })
    }
}

#[async_trait]
impl ChatWebhook for SlackWebhook {
    async fn post(&self, url: &WebhookUrl, payload: &Value) -> Result<(), PortError> {
        const OP: &str = "slack:post";
        // reqwest puts the URL in its errors: strip it, the URL is a credential.
        let response = self
            .http
            .post(url.expose())
            .json(payload)
            .send()
            .await
            .map_err(|e| PortError::Transient {
                operation: OP,
                message: e.without_url().to_string(),
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body: String = response
            .text()
            .await
            .unwrap_or_default()
            .chars()
            .take(200)
            .collect();
        let message = format!("webhook answered HTTP {} ({body})", status.as_u16());
        if status.is_server_error() || status.as_u16() == 429 {
            Err(PortError::Transient {
                operation: OP,
                message,
            })
        } else {
            Err(PortError::Invalid {
                operation: OP,
                message,
            })
        }
    }
}

#[derive(Debug, Clone)]
pub struct DynamoNotificationLog {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoNotificationLog {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

fn key(route: &str, fingerprint: &str) -> AttributeValue {
    AttributeValue::S(format!("notified#{route}#{fingerprint}"))
}

#[async_trait]
impl NotificationLog for DynamoNotificationLog {
    async fn claim(
        &self,
        route: &str,
        fingerprint: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, PortError> {
        const OP: &str = "dynamodb:PutItem";
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", key(route, fingerprint))
            .item("until", AttributeValue::N(until.timestamp().to_string()))
            // DynamoDB TTL removes lapsed claims (a day after, to keep the condition authoritative).
            .item(
                "ttl",
                AttributeValue::N((until.timestamp() + 86_400).to_string()),
            )
            .condition_expression("attribute_not_exists(pk) OR #until < :now")
            .expression_attribute_names("#until", "until")
            .expression_attribute_values(":now", AttributeValue::N(now.timestamp().to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(PutItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(port_error(OP, e)),
        }
    }

    async fn release(&self, route: &str, fingerprint: &str) -> Result<(), PortError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", key(route, fingerprint))
            .send()
            .await
            .map_err(|e| port_error("dynamodb:DeleteItem", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_hold_a_url_or_json_with_one() {
        assert!(webhook_in("https://hooks.slack.com/services/T/B/x").is_some());
        assert!(webhook_in(r#"{"url": "https://hooks.slack.com/services/T/B/x"}"#).is_some());
        assert!(
            webhook_in("http://hooks.slack.com/services/T/B/x").is_none(),
            "plain http only to loopback"
        );
        assert!(webhook_in("http://127.0.0.1:8080/hook").is_some());
        assert!(webhook_in("http://127.0.0.1.evil.example/hook").is_none());
        assert!(webhook_in("not a url").is_none());
        let url = webhook_in("https://hooks.slack.com/services/T/B/secret").unwrap();
        assert!(!format!("{url} {url:?}").contains("secret"));
    }
}
