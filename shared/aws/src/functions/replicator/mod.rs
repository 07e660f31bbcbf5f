//! replicator assembled: scan-gate's PASS verdicts (SNS) and, for repositories replicated without
//! gating, ECR pushes (EventBridge) become copies to the policy's destinations (docs/replicator.md).
//!
//! Environment: `WARDEN_TABLE` (scan-gate's verdicts, re-read before a gated copy; required),
//! `WARDEN_TOPIC_ARN`, `WARDEN_DRY_RUN`, `WARDEN_COPY_CONCURRENCY` (layers at once per image,
//! default 4), and the policy (`WARDEN_POLICY_FILE` or `WARDEN_POLICY_SSM`).

use aws_config::SdkConfig;
use serde_json::Value;
use warden_core::event::SnsRecord;
use warden_core::policy::Policy;
use warden_core::ports::PortError;
use warden_core::replicate::{self, Context, Input, Ports, Push, Registry, Trigger};
pub use warden_core::replicate::{Mode, Outcome};

use crate::ApiCalls;
use crate::adapters::checkpoints::DynamoCheckpoints;
use crate::adapters::ecr::EcrRegistry;
use crate::adapters::publisher::SnsPublisher;
use crate::adapters::replication::{DEFAULT_CONCURRENCY, Destinations, EcrCopies, ImageCopier};
use crate::adapters::verdicts::DynamoVerdicts;
use crate::runtime::env::{self, ConfigError};
use crate::runtime::lambda::{
    Deadline, Function, Handled, Invocation, InvocationError, Payload, frame, stop_by,
};
use crate::runtime::pace::Pacer;
use warden_core::fanout::{Job, Shard, ShardOutcome};

mod backfill;
mod native;

pub use backfill::{BackfillItem, BackfillOptions, BackfillReport};
pub use native::{NativeError, NativeReport};

#[derive(Debug, Clone)]
pub struct ReplicatorConfig {
    /// scan-gate's verdict table. Without it (the CLI, when not given) gated copies are not made.
    pub table: Option<String>,
    pub topic_arn: Option<String>,
    pub dry_run: bool,
    pub concurrency: usize,
}

impl ReplicatorConfig {
    /// The Lambda's configuration: the verdict table is required.
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            table: Some(env::required("WARDEN_TABLE")?),
            topic_arn: env::optional("WARDEN_TOPIC_ARN"),
            dry_run: env::flag("WARDEN_DRY_RUN")?,
            concurrency: env::number(
                "WARDEN_COPY_CONCURRENCY",
                DEFAULT_CONCURRENCY,
                "a whole number of layers",
            )?,
        })
    }
}

/// A backfill shard starts no repository within this much of the deadline (a repository's images
/// are copied one at a time; a layer copy is bounded by the SDK's timeouts).
const SHARD_MARGIN: std::time::Duration = std::time::Duration::from_secs(60);

/// Without a known deadline (a local runtime), the longest a Lambda may run.
const SHARD_LONGEST: std::time::Duration = std::time::Duration::from_secs(15 * 60);

pub struct Replicator {
    /// The region its clients act in (a shard for another region is not this function's).
    region: Option<String>,
    source: EcrRegistry,
    /// Paces the source registry while a shard is backfilled.
    pacer: Pacer,
    copies: EcrCopies,
    verdicts: Option<DynamoVerdicts>,
    /// Where a shard's backfill stopped for time (the verdict table).
    checkpoints: Option<DynamoCheckpoints>,
    publisher: SnsPublisher,
    calls: ApiCalls,
    policy: Policy,
    dry_run: bool,
}

impl Replicator {
    /// The replicator's adapters, counting into `calls`: ECR here (the source) and in each
    /// destination (built on first use), DynamoDB (verdicts), SNS, and the HTTPS client for layers.
    pub fn new(
        sdk: &SdkConfig,
        calls: &ApiCalls,
        policy: Policy,
        config: ReplicatorConfig,
    ) -> Result<Self, PortError> {
        let pacer = Pacer::new();
        let source = EcrRegistry::from_sdk(&pacer.paced(sdk), calls);
        let dynamodb = config
            .table
            .map(|table| (crate::counted!(aws_sdk_dynamodb, sdk, calls), table));
        Ok(Self {
            region: sdk.region().map(|r| r.to_string()),
            pacer,
            checkpoints: dynamodb
                .clone()
                .map(|(client, table)| DynamoCheckpoints::new(client, table)),
            copies: EcrCopies::new(
                source.clone(),
                ImageCopier::new(config.concurrency)?,
                Destinations::new(sdk, calls),
            ),
            verdicts: dynamodb.map(|(client, table)| DynamoVerdicts::new(client, table)),
            publisher: SnsPublisher::from_sdk(sdk, calls, config.topic_arn),
            source,
            calls: calls.clone(),
            policy,
            dry_run: config.dry_run,
        })
    }

    /// The ports the replicator acts through.
    fn ports(&self) -> Ports<'_, EcrCopies> {
        Ports {
            images: &self.source,
            verdicts: self
                .verdicts
                .as_ref()
                .map(|v| v as &dyn warden_core::ports::VerdictLookup),
            copies: &self.copies,
            publisher: &self.publisher,
            meter: &self.calls,
        }
    }

    /// Decide and carry out one trigger for an image in `here` (the backfill's and `warden`'s
    /// entry; see [`replicate::replicate`]).
    pub async fn replicate(
        &self,
        trigger: &Trigger,
        here: &Registry,
        event_id: Option<String>,
        mode: Mode,
    ) -> Result<Outcome, PortError> {
        let ctx = Context {
            here: here.clone(),
            event_id,
            mode,
            force_dry_run: self.dry_run,
        };
        replicate::replicate(trigger, &self.policy, &ctx, &self.ports()).await
    }

    async fn on_push(&self, pushed: &Push) -> Result<Handled, PortError> {
        let ports = self.ports();
        let report = replicate::handle_push(pushed, &self.policy, self.dry_run, &ports).await?;
        Ok(Handled::from_report(&report))
    }

    /// One shard of a fanned-out backfill, in this function's own account and region only (its
    /// source registry is its own), paced at the shard's pace.
    async fn on_shard(
        &self,
        shard: &Shard,
        own: Option<&str>,
        budget: &Deadline,
    ) -> Result<Handled, PortError> {
        super::shard_here("replicator", self.region.as_deref(), shard)?;
        if let Some(own) = own.filter(|own| *own != shard.at.account.as_str()) {
            return Err(PortError::Invalid {
                operation: "lambda:shard",
                message: format!(
                    "a backfill shard for account {}, sent to the replicator of {own}: the replicator copies from its own registry only",
                    shard.at.account
                ),
            });
        }
        let pacing = self.pacer.pacing(shard.pace);
        let checkpoints = self
            .checkpoints
            .as_ref()
            .map(|c| c as &dyn warden_core::ports::Checkpoints);
        let backfilled = self.backfill_shard(shard, checkpoints, budget).await;
        drop(pacing);
        let report = backfilled?;
        Ok(Handled {
            decision: format!(
                "backfill shard: {} repositories, {} images copied",
                report.repositories, report.copied
            ),
            dry_run: report.dry_run,
            outcomes: std::collections::BTreeMap::from([("copied", report.copied)]),
            errors: report.errors.clone(),
            response: ShardOutcome::new(Job::Backfill, shard, report.shard_work()).response(),
        })
    }

    async fn on_records(&self, records: &[SnsRecord]) -> Result<Handled, PortError> {
        let report =
            replicate::handle_verdicts(records, &self.policy, self.dry_run, &self.ports()).await?;
        Ok(Handled::from_report(&report))
    }
}

/// An SNS delivery of verdicts, or an ECR push from EventBridge.
impl Function for Replicator {
    type Input = Input;

    async fn invoke(
        &self,
        payload: Payload<Input>,
        invocation: Invocation,
    ) -> Result<Value, InvocationError> {
        // A shard stops starting repositories this long before the deadline.
        let budget = Deadline {
            at: invocation
                .deadline()
                .unwrap_or_else(|| std::time::SystemTime::now() + SHARD_LONGEST),
            margin: SHARD_MARGIN,
        };
        let own = invocation.account();
        frame(
            &self.calls,
            payload,
            None,
            stop_by(&invocation),
            |input| async move {
                match input {
                    Input::Verdicts(records) => self.on_records(&records).await,
                    Input::Push(pushed) => self.on_push(&pushed).await,
                    Input::Shard(shard) => self.on_shard(&shard, own, &budget).await,
                }
            },
        )
        .await
    }
}
