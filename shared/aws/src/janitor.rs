//! janitor assembled: adapters, configuration, the scheduled handler, and the entry point the
//! `warden plan cleanup` / `warden cleanup` commands share with it.
//!
//! Environment: `WARDEN_TOPIC_ARN`, `WARDEN_DRY_RUN`, and the policy. Deletion happens only in
//! repositories whose policy says `cleanup.apply: true`, and never in dry-run.

use serde_json::{Value, json};
use warden_core::event::{Detail, Incoming};
use warden_core::janitor::{self, Context, FUNCTION, Ports, Progress, Quiet, Report};
use warden_core::names::{AccountId, Region, RepositoryName};
use warden_core::policy::Policy;
use warden_core::ports::PortError;

use crate::calls::ApiCalls;
use crate::config::Clients;
use crate::ecr::EcrRegistry;
use crate::lambda::{ConfigError, Handled, env_bool, env_topic, frame, not_for_me};
use crate::publisher::SnsPublisher;
use crate::workloads::AccountWorkloads;

#[derive(Debug, Clone, Default)]
pub struct JanitorConfig {
    pub topic_arn: Option<String>,
    pub dry_run: bool,
}

impl JanitorConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            topic_arn: env_topic(),
            dry_run: env_bool("WARDEN_DRY_RUN")?,
        })
    }
}

pub struct Janitor {
    registry: EcrRegistry,
    workloads: AccountWorkloads,
    publisher: SnsPublisher,
    calls: ApiCalls,
    policy: Policy,
    dry_run: bool,
}

impl Janitor {
    pub fn new(clients: &Clients, policy: Policy, config: JanitorConfig) -> Self {
        Self {
            registry: EcrRegistry::new(clients.ecr.clone()),
            workloads: AccountWorkloads::new(clients.ecs.clone(), clients.lambda.clone()),
            publisher: SnsPublisher::new(clients.sns.clone(), config.topic_arn),
            calls: clients.calls.clone(),
            policy,
            dry_run: config.dry_run,
        }
    }

    /// One run: plan every repository with a cleanup policy (or only `only`), apply where the policy
    /// says so unless `dry_run` (or the function's global dry-run) holds, and with `notify` publish
    /// one cleanup message per repository.
    pub async fn run(
        &self,
        account: AccountId,
        region: Region,
        only: Option<&RepositoryName>,
        dry_run: bool,
        notify: bool,
        progress: &dyn Progress,
    ) -> Result<Report, PortError> {
        let ctx = Context {
            account,
            region,
            force_dry_run: dry_run || self.dry_run,
            notify,
            now: chrono::Utc::now(),
        };
        let ports = Ports {
            settings: &self.registry,
            catalog: &self.registry,
            images: &self.registry,
            workloads: &self.workloads,
            publisher: &self.publisher,
        };
        janitor::run(&self.policy, &ctx, &ports, only, progress).await
    }

    /// Handle one invocation: the schedule.
    pub async fn handle(&self, payload: Value) -> Result<Value, lambda_runtime::Error> {
        frame(FUNCTION, &self.calls, payload, |input| async move {
            match input {
                Incoming::Event(event) if matches!(event.detail, Detail::Schedule) => {
                    let report = self.run(event.envelope.account.clone(), event.envelope.region.clone(), None, false, true, &Quiet).await?;
                    Ok(Handled {
                        decision: report.decision(),
                        dry_run: report.repositories.iter().all(|r| !r.applied),
                        outcomes: report.outcomes.clone(),
                        errors: report.errors.clone(),
                        response: json!({"status": "ok", "decision": report.decision(), "report": report}),
                    })
                }
                Incoming::Event(event) => Ok(not_for_me(FUNCTION, &format!("{} events", event.detail.kind()))),
                Incoming::Queue(_) => Ok(not_for_me(FUNCTION, "SQS batches")),
                Incoming::Sns(_) => Ok(not_for_me(FUNCTION, "SNS deliveries")),
            }
        })
        .await
    }
}

/// The account the SDK's credentials act in (the CLI's registry). One `GetCallerIdentity`.
pub async fn caller_account(sdk: &aws_config::SdkConfig) -> Result<AccountId, PortError> {
    const OP: &str = "sts:GetCallerIdentity";
    let out = aws_sdk_sts::Client::new(sdk)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| crate::errors::port_error(OP, e))?;
    AccountId::new(out.account().unwrap_or_default()).map_err(|e| PortError::Invalid {
        operation: OP,
        message: e.to_string(),
    })
}
