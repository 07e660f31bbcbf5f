//! scan-gate assembled: adapters, configuration, and the handler for both EventBridge events
//! (basic and Inspector scans) and SQS batches (Inspector findings, answered with per-message
//! batch item failures).
//!
//! Environment: `WARDEN_TABLE` (verdicts, required), `WARDEN_TOPIC_ARN`, `WARDEN_DRY_RUN`, and the
//! policy (`WARDEN_POLICY_FILE` or `WARDEN_POLICY_SSM`).

use serde_json::{Value, json};
use warden_core::event::{Event, Incoming, QueueRecord};
use warden_core::policy::Policy;
use warden_core::ports::PortError;
use warden_core::scan_gate::{self, Context, FUNCTION, Ports, Report};

use crate::calls::ApiCalls;
use crate::config::Clients;
use crate::ecr::EcrRegistry;
use crate::findings::Scanners;
use crate::lambda::{Handled, StateConfig, frame, invoked_account, not_for_me};
use crate::publisher::SnsPublisher;
use crate::verdicts::DynamoVerdicts;

/// This function's configuration (see [`StateConfig`]).
pub type ScanGateConfig = StateConfig;

pub struct ScanGate {
    registry: EcrRegistry,
    scanners: Scanners,
    verdicts: DynamoVerdicts,
    publisher: SnsPublisher,
    calls: ApiCalls,
    policy: Policy,
    dry_run: bool,
}

impl ScanGate {
    pub fn new(clients: &Clients, policy: Policy, config: ScanGateConfig) -> Self {
        Self {
            registry: EcrRegistry::new(clients.ecr.clone()),
            scanners: Scanners::new(clients.ecr.clone(), clients.inspector.clone()),
            verdicts: DynamoVerdicts::new(clients.dynamodb.clone(), config.table),
            publisher: SnsPublisher::new(clients.sns.clone(), config.topic_arn),
            calls: clients.calls.clone(),
            policy,
            dry_run: config.dry_run,
        }
    }

    fn ports(&self) -> Ports<'_> {
        Ports {
            images: &self.registry,
            catalog: &self.registry,
            settings: &self.registry,
            findings: &self.scanners,
            verdicts: &self.verdicts,
            publisher: &self.publisher,
        }
    }

    fn context(&self, event: &Event) -> Context {
        Context {
            account: event.envelope.account.clone(),
            region: event.envelope.region.clone(),
            event_id: event.envelope.id.clone(),
            force_dry_run: self.dry_run,
            now: chrono::Utc::now(),
        }
    }

    /// Handle one invocation: an EventBridge event or an SQS batch.
    pub async fn handle(&self, payload: Value) -> Result<Value, lambda_runtime::Error> {
        self.handle_in(payload, None).await
    }

    /// Handle one Lambda invocation: as [`Self::handle`], and events for accounts other than the
    /// one the function runs in are ignored.
    pub async fn handle_invocation(
        &self,
        event: lambda_runtime::LambdaEvent<Value>,
    ) -> Result<Value, lambda_runtime::Error> {
        let own = invoked_account(&event.context);
        self.handle_in(event.payload, own.as_deref()).await
    }

    async fn handle_in(
        &self,
        payload: Value,
        own_account: Option<&str>,
    ) -> Result<Value, lambda_runtime::Error> {
        frame(
            FUNCTION,
            &self.calls,
            payload,
            own_account,
            |input| async move {
                match input {
                    Incoming::Event(event) => self.on_event(&event).await,
                    Incoming::Queue(records) => Ok(self.on_batch(&records).await),
                    Incoming::Sns(_) => Ok(not_for_me(FUNCTION, "SNS deliveries")),
                }
            },
        )
        .await
    }

    async fn on_event(&self, event: &Event) -> Result<Handled, PortError> {
        let report =
            scan_gate::handle_event(event, &self.policy, &self.context(event), &self.ports())
                .await?;
        Ok(handled(
            report,
            |r| json!({"status": "ok", "decision": r.decision(), "report": r}),
        ))
    }

    async fn on_batch(&self, records: &[QueueRecord]) -> Handled {
        let report = scan_gate::handle_batch(
            records,
            &self.policy,
            self.dry_run,
            chrono::Utc::now(),
            &self.ports(),
        )
        .await;
        handled(report, |r| {
            json!({
                "batchItemFailures": r.failed_messages.iter().map(|id| json!({"itemIdentifier": id})).collect::<Vec<_>>(),
                "decision": r.decision(),
            })
        })
    }
}

fn handled(report: Report, response: impl FnOnce(&Report) -> Value) -> Handled {
    Handled {
        decision: report.decision(),
        dry_run: report.plans.iter().any(|p| p.dry_run),
        outcomes: report.outcomes.clone(),
        errors: report.errors.clone(),
        response: response(&report),
    }
}
