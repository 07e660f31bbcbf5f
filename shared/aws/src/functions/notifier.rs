//! notifier assembled: subscribed to the warden topic, it posts each message to its Slack routes.
//!
//! Environment: `WARDEN_TABLE` (dedupe log, required), `WARDEN_DEDUPE_WINDOW_SECONDS` (default
//! 86400), `WARDEN_WEBHOOK_TIMEOUT_MS` (default 5000), and the policy (its `notify.slack` routes).

use std::time::Duration;

use serde_json::Value;
use warden_core::event::SnsRecord;
use warden_core::notify::{self, Ports};
use warden_core::policy::Policy;
use warden_core::ports::PortError;

use crate::adapters::slack::{DynamoNotificationLog, SecretsManagerWebhooks, SlackWebhook};
use crate::runtime::calls::ApiCalls;
use crate::runtime::env::{self, ConfigError};
use crate::runtime::lambda::{
    Function, Handled, Invocation, InvocationError, Payload, frame, stop_by,
};
use aws_config::SdkConfig;

#[derive(Debug, Clone)]
pub struct NotifierConfig {
    pub table: String,
    pub dedupe_window: chrono::Duration,
    pub webhook_timeout: Duration,
}

impl NotifierConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        let window: u32 = env::number(
            "WARDEN_DEDUPE_WINDOW_SECONDS",
            86_400,
            "a whole number of seconds",
        )?;
        let timeout = env::number(
            "WARDEN_WEBHOOK_TIMEOUT_MS",
            5_000,
            "a whole number of milliseconds",
        )?;
        Ok(Self {
            table: env::required("WARDEN_TABLE")?,
            dedupe_window: chrono::Duration::seconds(i64::from(window)),
            webhook_timeout: Duration::from_millis(timeout),
        })
    }
}

pub struct Notifier {
    secrets: SecretsManagerWebhooks,
    webhook: SlackWebhook,
    log: DynamoNotificationLog,
    calls: ApiCalls,
    policy: Policy,
    window: chrono::Duration,
}

impl Notifier {
    /// notifier's adapters, each with its own client from `sdk`, counting into `calls`: Secrets
    /// Manager (webhook URLs), DynamoDB (dedupe) and the HTTPS client for Slack.
    pub fn new(
        sdk: &SdkConfig,
        calls: &ApiCalls,
        policy: Policy,
        config: NotifierConfig,
    ) -> Result<Self, PortError> {
        Ok(Self {
            secrets: SecretsManagerWebhooks::new(crate::counted!(
                aws_sdk_secretsmanager,
                sdk,
                calls
            )),
            webhook: SlackWebhook::new(config.webhook_timeout)?,
            log: DynamoNotificationLog::new(
                crate::counted!(aws_sdk_dynamodb, sdk, calls),
                config.table,
            ),
            calls: calls.clone(),
            policy,
            window: config.dedupe_window,
        })
    }

    async fn on_records(&self, records: &[SnsRecord]) -> Result<Handled, PortError> {
        let ports = Ports {
            secrets: &self.secrets,
            webhook: &self.webhook,
            log: &self.log,
        };
        let report = notify::handle_messages(
            records,
            &self.policy,
            &chrono::Utc::now,
            self.window,
            &ports,
        )
        .await?;
        Ok(Handled::from_report(&report))
    }
}

/// An SNS delivery from the warden topic.
impl Function for Notifier {
    type Input = notify::Input;

    async fn invoke(
        &self,
        payload: Payload<notify::Input>,
        invocation: Invocation,
    ) -> Result<Value, InvocationError> {
        frame(
            &self.calls,
            payload,
            None,
            stop_by(&invocation),
            |notify::Input(records)| async move { self.on_records(&records).await },
        )
        .await
    }
}
