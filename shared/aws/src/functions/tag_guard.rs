//! tag-guard assembled: its adapters, its configuration, and its per-event handler.
//!
//! Environment: `WARDEN_TABLE` (ledger table, required), `WARDEN_TOPIC_ARN` (warden topic),
//! `WARDEN_DRY_RUN` (global dry-run), and the policy (`WARDEN_POLICY_FILE` or `WARDEN_POLICY_SSM`).

use serde_json::Value;
use warden_core::budget::{Budget, Unlimited};
use warden_core::event::Event;
use warden_core::policy::Policy;
use warden_core::tag_guard::{self, Context, Input, Ports};

use crate::adapters::checkpoints::DynamoCheckpoints;
use aws_config::SdkConfig;

use crate::ApiCalls;
use crate::adapters::ecr::EcrRegistry;
use crate::adapters::ledger::DynamoLedger;
use crate::adapters::publisher::SnsPublisher;
use crate::adapters::verdicts::DynamoVerdicts;
use crate::runtime::config::assume_role;
use crate::runtime::lambda::{
    Deadline, Function, Handled, Invocation, InvocationError, Payload, frame, stop_by,
};

/// The sweep starts no repository within this much of the Lambda deadline; out of time, it
/// checkpoints in the state table and the next scheduled sweep continues there.
pub const SWEEP_MARGIN: std::time::Duration = std::time::Duration::from_secs(30);

use crate::runtime::env::StateConfig;

/// This function's configuration (see [`StateConfig`]).
pub type TagGuardConfig = StateConfig;

/// What tag-guard uses in an account the policy names (state stays in the deployment's table).
struct NamedAccount {
    id: String,
    registry: EcrRegistry,
    ledger: DynamoLedger,
    verdicts: DynamoVerdicts,
}

pub struct TagGuard {
    named: Vec<NamedAccount>,
    named_ids: Vec<String>,
    table: String,
    registry: EcrRegistry,
    ledger: DynamoLedger,
    verdicts: DynamoVerdicts,
    checkpoints: DynamoCheckpoints,
    dynamodb: aws_sdk_dynamodb::Client,
    publisher: SnsPublisher,
    calls: ApiCalls,
    policy: Policy,
    dry_run: bool,
}

impl TagGuard {
    /// tag-guard's adapters, each with its own client from `sdk`, counting into `calls`: ECR (images,
    /// tags, repository settings), DynamoDB (ledger, scan-gate's verdicts, sweep checkpoints) and SNS.
    pub fn new(sdk: &SdkConfig, calls: &ApiCalls, policy: Policy, config: TagGuardConfig) -> Self {
        let dynamodb = crate::counted!(aws_sdk_dynamodb, sdk, calls);
        Self {
            named: Vec::new(),
            named_ids: Vec::new(),
            table: config.table.clone(),
            registry: EcrRegistry::from_sdk(sdk, calls),
            ledger: DynamoLedger::new(dynamodb.clone(), config.table.clone()),
            verdicts: DynamoVerdicts::new(dynamodb.clone(), config.table.clone()),
            checkpoints: DynamoCheckpoints::new(dynamodb.clone(), config.table),
            dynamodb,
            publisher: SnsPublisher::from_sdk(sdk, calls, config.topic_arn),
            calls: calls.clone(),
            policy,
            dry_run: config.dry_run,
        }
    }

    /// Act in the accounts the policy names too, each through its role (credentials are fetched
    /// on first use). Their calls count with this function's; their state is kept in this
    /// deployment's table under keys scoped by account.
    pub async fn with_named_accounts(mut self, sdk: &SdkConfig) -> Self {
        for account in self.policy.accounts().to_vec() {
            let assumed = assume_role(sdk, &account.role_arn, account.external_id.as_deref()).await;
            self.named.push(NamedAccount {
                registry: EcrRegistry::from_sdk(&assumed, &self.calls),
                ledger: DynamoLedger::new(self.dynamodb.clone(), self.table.clone())
                    .in_account(&account.id),
                verdicts: DynamoVerdicts::new(self.dynamodb.clone(), self.table.clone())
                    .in_account(&account.id),
                id: account.id.clone(),
            });
            self.named_ids.push(account.id);
        }
        self
    }

    async fn decide_and_act(
        &self,
        event: Event,
        budget: &dyn Budget,
    ) -> Result<Handled, warden_core::ports::PortError> {
        let ctx = Context {
            account: event.envelope.account.clone(),
            region: event.envelope.region.clone(),
            event_id: event.envelope.id.clone(),
            force_dry_run: self.dry_run,
            now: chrono::Utc::now(),
        };
        let named = self
            .named
            .iter()
            .find(|n| n.id == event.envelope.account.as_str());
        let ports = match named {
            Some(there) => Ports {
                images: &there.registry,
                settings: &there.registry,
                mutability: &there.registry,
                catalog: &there.registry,
                ledger: &there.ledger,
                verdicts: &there.verdicts,
                publisher: &self.publisher,
                checkpoints: None,
            },
            None => Ports {
                images: &self.registry,
                settings: &self.registry,
                mutability: &self.registry,
                catalog: &self.registry,
                ledger: &self.ledger,
                verdicts: &self.verdicts,
                publisher: &self.publisher,
                checkpoints: Some(&self.checkpoints),
            },
        };
        let report = tag_guard::handle(&event, &self.policy, &ctx, &ports, budget).await?;
        Ok(Handled::from_report(&report))
    }
}

/// An EventBridge event per invocation; events (and queued findings) for accounts other than the one the
/// function runs in and those the policy names are ignored.
impl Function for TagGuard {
    type Input = Input;

    async fn invoke(
        &self,
        payload: Payload<Input>,
        invocation: Invocation,
    ) -> Result<Value, InvocationError> {
        let budget: Box<dyn Budget> = match invocation.deadline() {
            Some(at) => Box::new(Deadline {
                at,
                margin: SWEEP_MARGIN,
            }),
            None => Box::new(Unlimited),
        };
        let budget = budget.as_ref();
        frame(
            &self.calls,
            payload,
            invocation.scope(&self.named_ids),
            stop_by(&invocation),
            |Input(event)| async move { self.decide_and_act(event, budget).await },
        )
        .await
    }
}
