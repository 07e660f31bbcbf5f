//! tag-guard assembled: its adapters, its configuration, and its per-event handler.
//!
//! Environment: `WARDEN_TABLE` (ledger table, required), `WARDEN_TOPIC_ARN` (warden topic),
//! `WARDEN_DRY_RUN` (global dry-run), and the policy (`WARDEN_POLICY_FILE` or `WARDEN_POLICY_SSM`).

use serde_json::Value;
use warden_core::budget::{Budget, Unlimited};
use warden_core::event::Event;
use warden_core::fanout::{Job, Shard, ShardOutcome, ShardWork};
use warden_core::names::{AccountId, Region};
use warden_core::policy::Policy;
use warden_core::ports::PortError;
use warden_core::tag_guard::{self, Context, Input, Ports, Report};

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
use crate::runtime::pace::Pacer;

/// The sweep starts no repository within this much of the Lambda deadline; out of time, it
/// checkpoints in the state table and the next scheduled sweep continues there.
pub const SWEEP_MARGIN: std::time::Duration = std::time::Duration::from_secs(30);

use crate::runtime::env::StateConfig;

/// This function's configuration (see [`StateConfig`]).
pub type TagGuardConfig = StateConfig;

/// What tag-guard uses in one account (state stays in the deployment's table, keyed by account
/// for the accounts the policy names); its registry is paced while it sweeps a shard.
struct AccountClients {
    registry: EcrRegistry,
    ledger: DynamoLedger,
    verdicts: DynamoVerdicts,
    pacer: Pacer,
}

pub struct TagGuard {
    /// The region its clients act in (a shard for another region is not this function's).
    region: Option<String>,
    named: Vec<(String, AccountClients)>,
    named_ids: Vec<String>,
    table: String,
    here: AccountClients,
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
        let pacer = Pacer::new();
        Self {
            region: sdk.region().map(|r| r.to_string()),
            named: Vec::new(),
            named_ids: Vec::new(),
            table: config.table.clone(),
            here: AccountClients {
                registry: EcrRegistry::from_sdk(&pacer.paced(sdk), calls),
                ledger: DynamoLedger::new(dynamodb.clone(), config.table.clone()),
                verdicts: DynamoVerdicts::new(dynamodb.clone(), config.table.clone()),
                pacer,
            },
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
            let pacer = Pacer::new();
            let clients = AccountClients {
                registry: EcrRegistry::from_sdk(&pacer.paced(&assumed), &self.calls),
                ledger: DynamoLedger::new(self.dynamodb.clone(), self.table.clone())
                    .in_account(&account.id),
                verdicts: DynamoVerdicts::new(self.dynamodb.clone(), self.table.clone())
                    .in_account(&account.id),
                pacer,
            };
            self.named.push((account.id.clone(), clients));
            self.named_ids.push(account.id);
        }
        self
    }

    /// The clients of `account`: a named account's, or this deployment's own.
    fn clients(&self, account: &str) -> (&AccountClients, bool) {
        match self.named.iter().find(|(id, _)| id == account) {
            Some((_, there)) => (there, true),
            None => (&self.here, false),
        }
    }

    /// What tag-guard acts through in `there`; sweeps of named accounts checkpoint only when
    /// `checkpoints` (a shard's sweep always does: its key names the account).
    fn ports<'a>(&'a self, there: &'a AccountClients, checkpoints: bool) -> Ports<'a> {
        Ports {
            images: &there.registry,
            settings: &there.registry,
            mutability: &there.registry,
            catalog: &there.registry,
            ledger: &there.ledger,
            verdicts: &there.verdicts,
            publisher: &self.publisher,
            checkpoints: checkpoints.then_some(&self.checkpoints as _),
        }
    }

    fn context(&self, account: AccountId, region: Region, event_id: Option<String>) -> Context {
        Context {
            account,
            region,
            event_id,
            force_dry_run: self.dry_run,
            now: chrono::Utc::now(),
        }
    }

    async fn decide_and_act(
        &self,
        event: Event,
        budget: &dyn Budget,
    ) -> Result<Handled, PortError> {
        let envelope = &event.envelope;
        let ctx = self.context(
            envelope.account.clone(),
            envelope.region.clone(),
            envelope.id.clone(),
        );
        let (there, named) = self.clients(envelope.account.as_str());
        let ports = self.ports(there, !named);
        let report = tag_guard::handle(&event, &self.policy, &ctx, &ports, budget).await?;
        Ok(Handled::from_report(&report))
    }

    /// One shard of a fanned-out sweep, paced at the shard's pace in its account.
    async fn sweep_shard(&self, shard: &Shard, budget: &dyn Budget) -> Result<Handled, PortError> {
        super::shard_here("tag-guard", self.region.as_deref(), shard)?;
        let ctx = self.context(shard.at.account.clone(), shard.at.region.clone(), None);
        let (there, _) = self.clients(shard.at.account.as_str());
        let pacing = there.pacer.pacing(shard.pace);
        let ports = self.ports(there, true);
        let swept =
            tag_guard::sweep_shard(&shard.repositories, &self.policy, &ctx, &ports, budget).await;
        drop(pacing);
        let report = swept?;
        let mut handled = Handled::from_report(&report);
        handled.response = ShardOutcome::new(Job::Sweep, shard, shard_work(&report)).response();
        Ok(handled)
    }
}

/// A sweep's report in the numbers the fan-out adds up: actions decided, and carried out.
fn shard_work(report: &Report) -> ShardWork {
    let planned = report.plans.iter().map(|p| p.actions.len()).sum::<usize>();
    ShardWork {
        done: report.swept,
        planned: u64::try_from(planned).unwrap_or(u64::MAX),
        applied: ShardWork::applied_from(&report.outcomes),
        errors: report.errors.clone(),
        dry_run: report.plans.iter().any(|p| p.dry_run),
        stopped_after: report.stopped_after.clone(),
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
            |input| async move {
                match input {
                    Input::Event(event) => self.decide_and_act(*event, budget).await,
                    Input::Shard(shard) => self.sweep_shard(&shard, budget).await,
                }
            },
        )
        .await
    }
}
