//! scan-gate assembled: adapters, configuration, and the handler for both EventBridge events
//! (basic and Inspector scans) and SQS batches (Inspector findings, answered with per-message
//! batch item failures).
//!
//! Environment: `WARDEN_TABLE` (verdicts, required), `WARDEN_TOPIC_ARN`, `WARDEN_DRY_RUN`, the
//! policy (`WARDEN_POLICY_FILE` or `WARDEN_POLICY_SSM`), and where a policy requires signatures,
//! the grace deadlines' schedules ([`GraceDeadlineConfig`]).

use std::collections::BTreeMap;

use serde_json::Value;
use warden_core::event::{Event, QueuedEvent, SqsMessage};
use warden_core::names::{AccountId, Region};
use warden_core::policy::Policy;
use warden_core::ports::PortError;
use warden_core::records::GraceDeadline;
use warden_core::scan_gate::{self, BatchReport, Context, Input, Ports, Report, Subject};
use warden_core::verdict::Verdict;

use aws_config::SdkConfig;

use crate::ApiCalls;
use crate::adapters::deadlines::{ScheduleTarget, SchedulerDeadlines};
use crate::adapters::ecr::EcrRegistry;
use crate::adapters::ecr::signatures::EcrSignatures;
use crate::adapters::findings::Scanners;
use crate::adapters::kms_keys::KmsPublicKeys;
use crate::adapters::publisher::SnsPublisher;
use crate::adapters::signer_revocations::SignerRevocations;
use crate::adapters::verdicts::DynamoVerdicts;
use crate::runtime::config::assume_role;
use crate::runtime::lambda::{
    AccountScope, Function, Handled, Invocation, InvocationError, Payload, frame, stop_by,
};

use crate::runtime::env::{ConfigError, StateConfig, optional};

/// This function's configuration (see [`StateConfig`]).
pub type ScanGateConfig = StateConfig;

/// Where the ends of signature graces are scheduled (docs/signatures.md):
/// `WARDEN_GRACE_SCHEDULER_ROLE_ARN` (the role EventBridge Scheduler invokes scan-gate with;
/// required when a policy rule has a `signatures` section), `WARDEN_GRACE_SCHEDULE_GROUP`
/// (default `default`), `WARDEN_GRACE_TARGET_ARN` (scan-gate's ARN; in Lambda, the invoked
/// function's own ARN when unset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraceDeadlineConfig {
    pub role_arn: String,
    pub group: String,
    pub function_arn: Option<String>,
}

impl GraceDeadlineConfig {
    /// `None` when no policy rule requires signatures; an error when one does and the role is
    /// not configured (an unsigned image would wait for a deadline nothing brings).
    pub fn from_env(policy: &Policy) -> Result<Option<Self>, ConfigError> {
        if !policy.requires_signatures() {
            return Ok(None);
        }
        let Some(role_arn) = optional("WARDEN_GRACE_SCHEDULER_ROLE_ARN") else {
            return Err(ConfigError::Missing("WARDEN_GRACE_SCHEDULER_ROLE_ARN"));
        };
        Ok(Some(Self {
            role_arn,
            group: optional("WARDEN_GRACE_SCHEDULE_GROUP").unwrap_or_else(|| "default".to_owned()),
            function_arn: optional("WARDEN_GRACE_TARGET_ARN"),
        }))
    }
}

/// What scan-gate uses in an account the policy names (verdicts stay in the deployment's table).
struct NamedAccount {
    id: String,
    registry: EcrRegistry,
    signatures: EcrSignatures,
    scanners: Scanners,
    verdicts: DynamoVerdicts,
}

pub struct ScanGate {
    named: Vec<NamedAccount>,
    named_ids: Vec<String>,
    table: String,
    registry: EcrRegistry,
    signatures: EcrSignatures,
    scanners: Scanners,
    verdicts: DynamoVerdicts,
    dynamodb: aws_sdk_dynamodb::Client,
    /// The public keys of the KMS keys the policy trusts (read in this deployment's account).
    public_keys: KmsPublicKeys,
    /// AWS Signer's revocations of Notation signatures (asked in this deployment's account).
    revocations: SignerRevocations,
    /// The client and settings of the grace deadlines' schedules, when a policy requires
    /// signatures.
    deadlines: Option<(aws_sdk_scheduler::Client, GraceDeadlineConfig)>,
    publisher: SnsPublisher,
    calls: ApiCalls,
    policy: Policy,
    dry_run: bool,
}

impl ScanGate {
    /// scan-gate's adapters, each with its own client from `sdk`, counting into `calls`: ECR
    /// (images, tags, basic-scan findings), Inspector (findings, coverage), DynamoDB (verdicts)
    /// and SNS.
    pub fn new(sdk: &SdkConfig, calls: &ApiCalls, policy: Policy, config: ScanGateConfig) -> Self {
        let dynamodb = crate::counted!(aws_sdk_dynamodb, sdk, calls);
        let registry = EcrRegistry::from_sdk(sdk, calls);
        Self {
            named: Vec::new(),
            named_ids: Vec::new(),
            table: config.table.clone(),
            signatures: EcrSignatures::new(registry.clone()),
            registry,
            public_keys: KmsPublicKeys::from_sdk(sdk, calls),
            revocations: SignerRevocations::from_sdk(sdk, calls),
            deadlines: None,
            scanners: Scanners::from_sdk(sdk, calls),
            verdicts: DynamoVerdicts::new(dynamodb.clone(), config.table),
            dynamodb,
            publisher: SnsPublisher::from_sdk(sdk, calls, config.topic_arn),
            calls: calls.clone(),
            policy,
            dry_run: config.dry_run,
        }
    }

    /// Act in the accounts the policy names too, each through its role (credentials are fetched
    /// on first use). Their calls count with this function's; their verdicts are kept in this
    /// deployment's table under keys scoped by account.
    pub async fn with_named_accounts(mut self, sdk: &SdkConfig) -> Self {
        for account in self.policy.accounts().to_vec() {
            let assumed = assume_role(sdk, &account.role_arn, account.external_id.as_deref()).await;
            let registry = EcrRegistry::from_sdk(&assumed, &self.calls);
            self.named.push(NamedAccount {
                signatures: EcrSignatures::new(registry.clone()),
                registry,
                scanners: Scanners::from_sdk(&assumed, &self.calls),
                verdicts: DynamoVerdicts::new(self.dynamodb.clone(), self.table.clone())
                    .in_account(&account.id),
                id: account.id.clone(),
            });
            self.named_ids.push(account.id);
        }
        self
    }

    /// Schedule the ends of signature graces as `config` says (the schedules are made in this
    /// deployment's account, whichever account the image is in).
    pub fn with_grace_deadlines(
        mut self,
        sdk: &SdkConfig,
        config: Option<GraceDeadlineConfig>,
    ) -> Self {
        self.deadlines = config.map(|c| (crate::counted!(aws_sdk_scheduler, sdk, &self.calls), c));
        self
    }

    /// The schedules of grace deadlines, targeting `function_arn` unless the configuration names
    /// the target.
    fn deadlines(&self, function_arn: Option<&str>) -> Option<SchedulerDeadlines> {
        let (client, config) = self.deadlines.as_ref()?;
        let function_arn = config.function_arn.as_deref().or(function_arn)?;
        Some(SchedulerDeadlines::new(
            client.clone(),
            ScheduleTarget {
                group: config.group.clone(),
                role_arn: config.role_arn.clone(),
                function_arn: function_arn.to_owned(),
            },
        ))
    }

    /// The ports for an account: a named account's, or this deployment's own.
    fn ports<'a>(&'a self, account: &str, deadlines: Option<&'a SchedulerDeadlines>) -> Ports<'a> {
        let deadlines = deadlines.map(|d| d as &dyn warden_core::ports::GraceDeadlines);
        match self.named.iter().find(|n| n.id == account) {
            Some(there) => Ports {
                images: &there.registry,
                catalog: &there.registry,
                findings: &there.scanners,
                verdicts: &there.verdicts,
                publisher: &self.publisher,
                status: &there.registry,
                signatures: &there.signatures,
                public_keys: &self.public_keys,
                revocations: &self.revocations,
                deadlines,
            },
            None => Ports {
                images: &self.registry,
                catalog: &self.registry,
                findings: &self.scanners,
                verdicts: &self.verdicts,
                publisher: &self.publisher,
                status: &self.registry,
                signatures: &self.signatures,
                public_keys: &self.public_keys,
                revocations: &self.revocations,
                deadlines,
            },
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

    /// Evaluate one existing image now (`warden gate`) in `account`'s registry in `region`:
    /// planned only unless `apply` (the global dry-run still wins), with the verdict the findings
    /// gave. Same decision and, with `apply`, the same actions as an event would bring.
    pub async fn gate(
        &self,
        subject: &Subject,
        account: AccountId,
        region: Region,
        apply: bool,
    ) -> Result<(Report, Option<Verdict>), PortError> {
        let ctx = Context {
            account,
            region,
            event_id: None,
            force_dry_run: self.dry_run || !apply,
            now: chrono::Utc::now(),
        };
        let ports = self.ports(ctx.account.as_str(), None);
        scan_gate::gate_image(subject, &self.policy, &ctx, &ports, apply).await
    }

    async fn on_event(&self, event: &Event, arn: Option<&str>) -> Result<Handled, PortError> {
        let deadlines = self.deadlines(arn);
        let report = scan_gate::handle_event(
            event,
            &self.policy,
            &self.context(event),
            &self.ports(event.envelope.account.as_str(), deadlines.as_ref()),
        )
        .await?;
        Ok(Handled::from_report(&report))
    }

    /// The end of an image's signature grace: the image evaluated again.
    async fn on_deadline(
        &self,
        deadline: &GraceDeadline,
        arn: Option<&str>,
    ) -> Result<Handled, PortError> {
        let deadlines = self.deadlines(arn);
        let ctx = Context {
            account: deadline.account.clone(),
            region: deadline.region.clone(),
            event_id: None,
            force_dry_run: self.dry_run,
            now: chrono::Utc::now(),
        };
        let ports = self.ports(deadline.account.as_str(), deadlines.as_ref());
        let report = scan_gate::handle_deadline(deadline, &self.policy, &ctx, &ports).await?;
        Ok(Handled::from_report(&report))
    }

    /// A batch, split by the account each finding is about: each account's findings go through
    /// that account's ports; findings for an account outside `scope` are acknowledged and ignored.
    /// A message that does not parse names no account: it goes to `handle_batch` with this
    /// deployment's ports, which reports it as a batch item failure (never "ignored").
    async fn on_batch(
        &self,
        records: &[SqsMessage],
        scope: Option<AccountScope<'_>>,
        arn: Option<&str>,
    ) -> Handled {
        let deadlines = self.deadlines(arn);
        let mut by_account: BTreeMap<Option<String>, Vec<SqsMessage>> = BTreeMap::new();
        for record in records {
            let account = record.event().ok().map(|e| e.envelope.account.to_string());
            by_account.entry(account).or_default().push(record.clone());
        }
        let now = chrono::Utc::now();
        let mut report = Report::default();
        for (account, group) in by_account {
            let outside = |a: &String| scope.is_some_and(|s| a != s.own && !s.named.contains(a));
            let account = match account {
                Some(account) if outside(&account) => {
                    report.errors.extend(group.iter().map(|r| {
                        format!(
                            "message {}: a finding for account {account}: ignored",
                            r.id()
                        )
                    }));
                    continue;
                }
                Some(account) => account,
                None => String::new(),
            };
            let part = scan_gate::handle_batch(
                &group,
                &self.policy,
                self.dry_run,
                now,
                &self.ports(&account, deadlines.as_ref()),
            )
            .await;
            report.plans.extend(part.plans);
            for (name, n) in part.outcomes {
                *report.outcomes.entry(name).or_default() += n;
            }
            report.errors.extend(part.errors);
            report.failed_messages.extend(part.failed_messages);
        }
        Handled::from_report(&BatchReport(report))
    }
}

/// An EventBridge event or an SQS batch per invocation; events (and queued findings) for accounts other than the one the
/// function runs in and those the policy names are ignored.
impl Function for ScanGate {
    type Input = Input;

    async fn invoke(
        &self,
        payload: Payload<Input>,
        invocation: Invocation,
    ) -> Result<Value, InvocationError> {
        let scope = invocation.scope(&self.named_ids);
        let arn = invocation.function_arn();
        frame(
            &self.calls,
            payload,
            scope,
            stop_by(&invocation),
            |input| async move {
                match input {
                    Input::Event(event) => self.on_event(&event, arn).await,
                    Input::Batch(records) => Ok(self.on_batch(&records, scope, arn).await),
                    Input::Deadline(deadline) => self.on_deadline(&deadline, arn).await,
                }
            },
        )
        .await
    }
}
