//! janitor assembled: adapters, configuration, the scheduled handler, and the entry point the
//! `warden plan cleanup` / `warden cleanup` commands share with it.
//!
//! Environment: `WARDEN_TOPIC_ARN`, `WARDEN_DRY_RUN`, `WARDEN_TABLE` (where a run that runs out of
//! time leaves its checkpoint; without it every run starts from the first repository),
//! `WARDEN_RUN_MARGIN_SECONDS` (time kept back before the Lambda deadline, default 60), and the
//! policy. Deletion happens only in repositories whose policy says `cleanup.apply: true`, and never
//! in dry-run.

use std::time::{Duration, SystemTime};

use serde_json::Value;
use warden_core::fanout::{Job, Shard, ShardOutcome, ShardWork};
use warden_core::janitor::{self, Budget, Context, Input, Ports, Progress, Quiet, Report};
use warden_core::names::{AccountId, Region, RepositoryName};
use warden_core::policy::Policy;
use warden_core::ports::PortError;

use crate::adapters::checkpoints::DynamoCheckpoints;
use crate::adapters::ecr::EcrRegistry;
use crate::adapters::publisher::SnsPublisher;
use crate::adapters::workloads::AccountWorkloads;
use crate::runtime::calls::ApiCalls;
use crate::runtime::config::assume_role;
use crate::runtime::env::{self, ConfigError};
use crate::runtime::lambda::{
    Deadline, Function, Handled, Invocation, InvocationError, Payload, frame,
};
use crate::runtime::pace::Pacer;
use aws_config::SdkConfig;

#[derive(Debug, Clone, Default)]
pub struct JanitorConfig {
    pub topic_arn: Option<String>,
    pub dry_run: bool,
    /// The state table, for checkpoints.
    pub table: Option<String>,
    /// Stop starting repositories this long before the Lambda deadline.
    pub margin: Duration,
}

impl JanitorConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        let margin = env::number("WARDEN_RUN_MARGIN_SECONDS", 60, "a whole number of seconds")?;
        Ok(Self {
            table: env::optional("WARDEN_TABLE"),
            margin: Duration::from_secs(margin),
            topic_arn: env::optional("WARDEN_TOPIC_ARN"),
            dry_run: env::flag("WARDEN_DRY_RUN")?,
        })
    }
}

/// What one run covers and does.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Only this repository (the CLI's `--repository`).
    pub only: Option<RepositoryName>,
    /// Plan only, whatever the policy says.
    pub dry_run: bool,
    /// Publish one cleanup message per repository.
    pub notify: bool,
}

impl RunOptions {
    /// The schedule's run: every repository, the policy decides, people are told.
    pub fn scheduled() -> Self {
        Self {
            only: None,
            dry_run: false,
            notify: true,
        }
    }
}

/// Where janitor acts in one account: its registry and what runs there, both paced for shards
/// (one gate: the shard's calls per second cover every call it makes in its account-region).
struct AccountClients {
    registry: EcrRegistry,
    workloads: AccountWorkloads,
    pacer: Pacer,
}

impl AccountClients {
    fn new(sdk: &SdkConfig, calls: &ApiCalls) -> Self {
        let pacer = Pacer::new();
        let paced = pacer.paced(sdk);
        Self {
            registry: EcrRegistry::from_sdk(&paced, calls),
            workloads: AccountWorkloads::from_sdk(&paced, calls),
            pacer,
        }
    }
}

pub struct Janitor {
    /// The region its clients act in (a shard for another region is not this function's).
    region: Option<String>,
    checkpoints: Option<DynamoCheckpoints>,
    margin: Duration,
    here: AccountClients,
    /// The accounts the policy names, each through its role (shards of theirs).
    named: Vec<(String, AccountClients)>,
    named_ids: Vec<String>,
    publisher: SnsPublisher,
    calls: ApiCalls,
    policy: Policy,
    dry_run: bool,
}

impl Janitor {
    /// janitor's adapters, each with its own client from `sdk`, counting into `calls`: ECR, ECS and
    /// Lambda (what is in use), SNS, and DynamoDB only when checkpoints are kept (`WARDEN_TABLE`).
    pub fn new(sdk: &SdkConfig, calls: &ApiCalls, policy: Policy, config: JanitorConfig) -> Self {
        Self {
            region: sdk.region().map(|r| r.to_string()),
            checkpoints: config
                .table
                .map(|t| DynamoCheckpoints::new(crate::counted!(aws_sdk_dynamodb, sdk, calls), t)),
            margin: config.margin,
            here: AccountClients::new(sdk, calls),
            named: Vec::new(),
            named_ids: Vec::new(),
            publisher: SnsPublisher::from_sdk(sdk, calls, config.topic_arn),
            calls: calls.clone(),
            policy,
            dry_run: config.dry_run,
        }
    }

    /// Act on shards of the accounts the policy names too, each through its role (credentials
    /// fetched on first use), with its own pace. Their calls count with this function's.
    pub async fn with_named_accounts(mut self, sdk: &SdkConfig) -> Self {
        for account in self.policy.accounts().to_vec() {
            let assumed = assume_role(sdk, &account.role_arn, account.external_id.as_deref()).await;
            self.named.push((
                account.id.clone(),
                AccountClients::new(&assumed, &self.calls),
            ));
            self.named_ids.push(account.id);
        }
        self
    }

    /// One run: plan every repository with a cleanup policy (or only `options.only`), apply
    /// where the policy says so unless `options.dry_run` (or the function's global dry-run) holds,
    /// and with `options.notify` publish one cleanup message per repository.
    pub async fn run(
        &self,
        account: AccountId,
        region: Region,
        options: &RunOptions,
        progress: &dyn Progress,
        budget: &dyn Budget,
    ) -> Result<Report, PortError> {
        let ctx = self.context(account, region, options);
        #[cfg(feature = "call-log")]
        let before = self.calls.snapshot();
        let only = options.only.as_ref();
        let ports = self.ports(&self.here);
        let report = janitor::run(&self.policy, &ctx, &ports, only, progress, budget).await;
        // The CLI and the tests call `run` without the invocation frame, which logs for the rest.
        #[cfg(feature = "call-log")]
        self.calls.log_since(janitor::FUNCTION, &before);
        report
    }

    /// One shard of an organization-wide run, as the schedule's run would treat its repositories
    /// (`janitor::run_shard`: its own checkpoint, the same deadline rules).
    pub async fn run_shard(
        &self,
        shard: &Shard,
        progress: &dyn Progress,
        budget: &dyn Budget,
    ) -> Result<Report, PortError> {
        // Its clients act here: another region's repositories of the same names would be cleaned
        // with none of that region's in-use images known. A misrouted item fails.
        super::shard_here("janitor", self.region.as_deref(), shard)?;
        let (account, region) = (shard.at.account.clone(), shard.at.region.clone());
        let ctx = self.context(account, region, &RunOptions::scheduled());
        let there = self
            .named
            .iter()
            .find(|(id, _)| id == shard.at.account.as_str())
            .map_or(&self.here, |(_, clients)| clients);
        let _pacing = there.pacer.pacing(shard.pace);
        let ports = self.ports(there);
        let repositories = &shard.repositories;
        janitor::run_shard(&self.policy, &ctx, &ports, repositories, progress, budget).await
    }

    /// Where and how a run acts: `options`' dry-run or the function's, and whether it tells.
    fn context(&self, account: AccountId, region: Region, options: &RunOptions) -> Context {
        Context {
            account,
            region,
            force_dry_run: options.dry_run || self.dry_run,
            notify: options.notify,
            now: chrono::Utc::now(),
        }
    }

    /// What janitor acts through, in the account of `there`.
    fn ports<'a>(&'a self, there: &'a AccountClients) -> Ports<'a> {
        Ports {
            settings: &there.registry,
            lifecycle: &there.registry,
            deletion: &there.registry,
            catalog: &there.registry,
            images: &there.registry,
            workloads: &there.workloads,
            publisher: &self.publisher,
            checkpoints: self
                .checkpoints
                .as_ref()
                .map(|c| c as &dyn warden_core::ports::Checkpoints),
        }
    }

    /// Handle one invocation (the schedule, or a shard). Starts no repository within the margin of
    /// `deadline`.
    pub async fn handle_until(
        &self,
        payload: impl Into<Payload<Input>>,
        deadline: SystemTime,
    ) -> Result<Value, InvocationError> {
        self.invoke(payload.into(), Invocation::local().until(deadline))
            .await
    }
}

/// The schedule or one shard, with the invocation's deadline; either for another account than the
/// function's own is ignored.
impl Function for Janitor {
    type Input = Input;

    async fn invoke(
        &self,
        payload: Payload<Input>,
        invocation: Invocation,
    ) -> Result<Value, InvocationError> {
        // Without a known deadline (a local runtime), allow the longest a Lambda may run.
        let deadline = invocation
            .deadline()
            .unwrap_or_else(|| SystemTime::now() + Duration::from_secs(15 * 60));
        // janitor keeps its own budget (it stops starting repositories and checkpoints).
        frame(
            &self.calls,
            payload,
            invocation.scope(&self.named_ids),
            None,
            |input| async move { self.started(&input, deadline).await },
        )
        .await
    }
}

impl Janitor {
    /// The schedule's run in the account and region its event names, or the shard's, starting no
    /// repository within the margin of `deadline`.
    async fn started(&self, input: &Input, deadline: SystemTime) -> Result<Handled, PortError> {
        let budget = Deadline {
            at: deadline,
            margin: self.margin,
        };
        if !budget.time_left() {
            // A timeout within the margin could start no repository: say so, loudly, rather than
            // report an empty run.
            let left = deadline
                .duration_since(SystemTime::now())
                .unwrap_or_default()
                .as_secs();
            return Err(PortError::Invalid {
                operation: "lambda:Invoke",
                message: format!(
                    "only {left} s left at start, within WARDEN_RUN_MARGIN_SECONDS={}: no repository can start; raise the function's timeout (janitor is sized for 15 minutes) or lower the margin",
                    self.margin.as_secs()
                ),
            });
        }
        match input {
            Input::Schedule(schedule) => {
                let (account, region) = (schedule.account.clone(), schedule.region.clone());
                let options = RunOptions::scheduled();
                let report = self.run(account, region, &options, &Quiet, &budget).await?;
                Ok(Handled::from_report(&report))
            }
            Input::Shard(shard) => {
                let report = self.run_shard(shard, &Quiet, &budget).await?;
                let mut handled = Handled::from_report(&report);
                handled.response =
                    ShardOutcome::new(Job::Cleanup, shard, shard_work(&report)).response();
                Ok(handled)
            }
        }
    }
}

/// A shard's report in the numbers the fan-out adds up: images to delete, and deleted.
fn shard_work(report: &Report) -> ShardWork {
    let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
    let repositories = &report.repositories;
    ShardWork {
        done: count(repositories.len()),
        planned: count(repositories.iter().map(|r| r.plan.delete.len()).sum()),
        applied: count(
            repositories
                .iter()
                .filter(|r| r.applied)
                .map(|r| r.plan.delete.len())
                .sum(),
        ),
        errors: report.errors.clone(),
        dry_run: !repositories.is_empty() && repositories.iter().all(|r| !r.applied),
        stopped_after: report.stopped_after.clone(),
    }
}

/// The account the SDK's credentials act in (the CLI's registry). One `GetCallerIdentity`.
#[cfg(feature = "cli")]
pub async fn caller_account(sdk: &aws_config::SdkConfig) -> Result<AccountId, PortError> {
    const OP: &str = "sts:GetCallerIdentity";
    let out = aws_sdk_sts::Client::new(sdk)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| crate::runtime::errors::port_error(OP, e))?;
    AccountId::new(out.account().unwrap_or_default()).map_err(|e| PortError::Invalid {
        operation: OP,
        message: e.to_string(),
    })
}
