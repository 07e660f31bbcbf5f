//! replicator assembled: scan-gate's PASS verdicts (SNS) and, for repositories replicated without
//! gating, ECR pushes (EventBridge) become copies to the policy's destinations (docs/replicator.md).
//!
//! Environment: `WARDEN_TABLE` (scan-gate's verdicts, re-read before a gated copy; required),
//! `WARDEN_TOPIC_ARN`, `WARDEN_DRY_RUN`, `WARDEN_COPY_CONCURRENCY` (layers at once per image,
//! default 4), and the policy (`WARDEN_POLICY_FILE` or `WARDEN_POLICY_SSM`).

use std::time::Instant;

use aws_config::SdkConfig;
use serde::Serialize;
use serde_json::{Value, json};
use warden_core::event::{Detail, Event, Incoming, SnsRecord};
use warden_core::message::{Body, Did, Message, MessageAction, ReplicationBody, SCHEMA};
use warden_core::names::RepositoryName;
use warden_core::policy::Policy;
use warden_core::ports::{ImageManifests, PortError, Publisher, VerdictLookup};
use warden_core::replicate::image::CopyReport;
use warden_core::replicate::{self, CopyPlan, Decision, Registry, Trigger};

use crate::ApiCalls;
use crate::adapters::ecr::EcrRegistry;
use crate::adapters::publisher::SnsPublisher;
use crate::adapters::replication::{
    Copy, DEFAULT_CONCURRENCY, Destinations, ImageCopier, SourceImage,
};
use crate::adapters::verdicts::DynamoVerdicts;
use crate::runtime::env::{self, ConfigError};
use crate::runtime::lambda::{
    Function, Handled, Invocation, InvocationError, Payload, frame, not_for_me, stop_by,
};

mod backfill;
mod native;

pub use backfill::{BackfillItem, BackfillOptions, BackfillReport};
pub use native::{NativeError, NativeReport};

pub const FUNCTION: &str = "replicator";

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

/// What became of one trigger.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Skipped { reason: String },
    Planned { plan: CopyPlan },
    Replicated { body: Box<ReplicationBody> },
}

/// How one trigger is carried out: planned only (`dry_run`), and whether the outcome is published.
#[derive(Debug, Clone, Copy)]
pub struct Mode {
    pub dry_run: bool,
    pub notify: bool,
}

pub struct Replicator {
    source: EcrRegistry,
    copier: ImageCopier,
    destinations: Destinations,
    verdicts: Option<DynamoVerdicts>,
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
        Ok(Self {
            source: EcrRegistry::from_sdk(sdk, calls),
            copier: ImageCopier::new(config.concurrency)?,
            destinations: Destinations::new(sdk, calls),
            verdicts: config.table.map(|table| {
                DynamoVerdicts::new(crate::counted!(aws_sdk_dynamodb, sdk, calls), table)
            }),
            publisher: SnsPublisher::from_sdk(sdk, calls, config.topic_arn),
            calls: calls.clone(),
            policy,
            dry_run: config.dry_run,
        })
    }

    /// Decide and carry out one trigger for an image in `here`. A retryable failure of any
    /// destination fails the whole trigger (nothing is told; the retry finds what was copied and
    /// moves only what is missing); other failures are reported per destination.
    pub async fn replicate(
        &self,
        trigger: &Trigger,
        here: &Registry,
        event_id: Option<String>,
        mode: Mode,
    ) -> Result<Outcome, PortError> {
        let started = Instant::now();
        let calls_before = self.calls.snapshot();
        let plan = match self.confirmed_plan(trigger, here).await? {
            Ok(plan) => plan,
            Err(reason) => return Ok(Outcome::Skipped { reason }),
        };
        let resolved = self.policy.for_repository(&plan.repository);
        let dry_run = mode.dry_run || self.dry_run || resolved.dry_run;
        let mut body = ReplicationBody {
            digest: plan.digest.clone(),
            tags: plan.tags.clone(),
            copies: Vec::new(),
            planned: Vec::new(),
            failures: Vec::new(),
            api_calls: 0,
            duration_ms: 0,
            policy_pattern: plan.policy_pattern.clone(),
        };
        if dry_run {
            body.planned = plan
                .targets
                .iter()
                .map(|t| t.label(&here.account))
                .collect();
        } else if !plan.targets.is_empty() {
            self.copy_everywhere(&plan, here, &mut body).await?;
        }
        body.api_calls = self.calls.since(&calls_before).values().sum();
        body.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let message = replication_message(here, &plan.repository, dry_run, event_id, body);
        let topic = resolved.notify.and_then(|n| n.value.topic_arn.as_deref());
        if mode.notify {
            self.publisher.publish(topic, &message).await?;
        }
        if dry_run {
            return Ok(Outcome::Planned { plan });
        }
        match message.body {
            Body::Replication(body) => Ok(Outcome::Replicated { body }),
            _ => Ok(Outcome::Planned { plan }),
        }
    }

    /// The copy plan for `trigger`, once confirmed: a gated copy needs the PASS recorded for the
    /// digest now (1 GetItem), and the copy takes the tags the image holds now (1 DescribeImages
    /// by digest; a backfill lists them itself). `Ok(Err(reason))`: nothing to copy.
    async fn confirmed_plan(
        &self,
        trigger: &Trigger,
        here: &Registry,
    ) -> Result<Result<CopyPlan, String>, PortError> {
        let mut plan = match replicate::decide(trigger, &self.policy, here) {
            Decision::Skip { reason } => return Ok(Err(reason)),
            Decision::Copy(plan) => plan,
        };
        if plan.requires_pass {
            let Some(verdicts) = &self.verdicts else {
                return Ok(Err(
                    "gated, and no verdict table was given to check the verdict".into(),
                ));
            };
            let recorded = verdicts.verdict(&plan.repository, &plan.digest).await?;
            if let Err(reason) = replicate::confirm(&plan, recorded.as_ref()) {
                return Ok(Err(reason));
            }
        }
        if !matches!(trigger, Trigger::Backfill { .. }) {
            let current = self.source.tags_of(&plan.repository, &plan.digest).await?;
            if let Err(reason) = replicate::with_current_tags(&mut plan, current.as_deref()) {
                return Ok(Err(reason));
            }
        }
        Ok(Ok(plan))
    }

    /// Every copy of the plan, the source read once whatever the number of destinations: a
    /// destination that fails is in `body.failures`, and so is every one when the source cannot be
    /// read; `Err` only for retryable failures.
    async fn copy_everywhere(
        &self,
        plan: &CopyPlan,
        here: &Registry,
        body: &mut ReplicationBody,
    ) -> Result<(), PortError> {
        let image = match SourceImage::read(&self.source, &plan.repository, &plan.digest).await {
            Ok(image) => image,
            Err(e) if e.is_retryable() => return Err(e),
            Err(e) => {
                let labels = plan.targets.iter().map(|t| t.label(&here.account));
                body.failures
                    .extend(labels.map(|label| format!("{label}: {e}")));
                return Ok(());
            }
        };
        for target in &plan.targets {
            let label = target.label(&here.account);
            match self.copy_to(plan, &image, target).await {
                Ok(mut report) => {
                    // A tag the destination refused (IMMUTABLE, held by another image) is a
                    // failed copy, not a success with a footnote.
                    body.failures
                        .extend(report.problems.iter().map(|p| format!("{label}: {p}")));
                    report.target = label;
                    body.copies.push(report);
                }
                Err(e) if e.is_retryable() => return Err(e),
                Err(e) => body.failures.push(format!("{label}: {e}")),
            }
        }
        Ok(())
    }

    async fn copy_to(
        &self,
        plan: &CopyPlan,
        image: &SourceImage,
        target: &replicate::Target,
    ) -> Result<CopyReport, PortError> {
        let destination = self.destinations.registry(target).await;
        let setting = self.policy.for_repository(&target.repository).immutability;
        self.copier
            .copy_read(
                &self.source,
                image,
                &Copy {
                    repository: &plan.repository,
                    digest: &plan.digest,
                    tags: &plan.tags,
                    destination: &destination,
                    destination_repository: &target.repository,
                    mutability: setting.map(|s| s.value),
                },
            )
            .await
    }

    async fn on_event(&self, event: &Event) -> Result<Handled, PortError> {
        let Detail::ImagePush(push) = &event.detail else {
            return Ok(not_for_me(FUNCTION, "events other than ECR pushes"));
        };
        if !push.succeeded() {
            return Ok(summarise(vec![Outcome::Skipped {
                reason: "the push failed".into(),
            }]));
        }
        let here = Registry {
            account: event.envelope.account.clone(),
            region: event.envelope.region.clone(),
        };
        let trigger = Trigger::Push {
            repository: push.repository_name.clone(),
            digest: push.image_digest.clone(),
            tag: push.image_tag.clone(),
        };
        let outcome = self
            .replicate(&trigger, &here, event.envelope.id.clone(), LAMBDA)
            .await?;
        Ok(summarise(vec![outcome]))
    }

    async fn on_records(&self, records: &[SnsRecord]) -> Result<Handled, PortError> {
        let mut outcomes = Vec::new();
        for record in records {
            let message: Message = match serde_json::from_str(&record.sns.message) {
                Ok(m) => m,
                Err(e) => {
                    outcomes.push(Outcome::Skipped {
                        reason: format!(
                            "SNS message {} is not a warden message: {e}",
                            record.sns.message_id
                        ),
                    });
                    continue;
                }
            };
            let Body::Verdict(verdict) = &message.body else {
                outcomes.push(Outcome::Skipped {
                    reason: format!("a {} message, not a verdict", message.body.kind()),
                });
                continue;
            };
            let mut tags = verdict.tags.clone();
            tags.extend(verdict.restored_tags.iter().cloned());
            tags.sort();
            tags.dedup();
            let trigger = Trigger::Verdict {
                repository: message.repository.clone(),
                digest: verdict.digest.clone(),
                tags,
                verdict: verdict.verdict,
            };
            let here = Registry {
                account: message.account.clone(),
                region: message.region.clone(),
            };
            outcomes.push(
                self.replicate(&trigger, &here, message.event_id.clone(), LAMBDA)
                    .await?,
            );
        }
        Ok(summarise(outcomes))
    }
}

/// The Lambda's mode: the deployment's and the policy's dry-run decide; outcomes are published.
const LAMBDA: Mode = Mode {
    dry_run: false,
    notify: true,
};

fn summarise(outcomes: Vec<Outcome>) -> Handled {
    let mut handled = Handled::default();
    for outcome in &outcomes {
        match outcome {
            Outcome::Skipped { .. } => *handled.outcomes.entry("Skipped").or_default() += 1,
            Outcome::Planned { .. } => {
                handled.dry_run = true;
                *handled.outcomes.entry("Planned").or_default() += 1;
            }
            Outcome::Replicated { body } => {
                *handled.outcomes.entry("Copies").or_default() += body.copies.len() as u64;
                *handled.outcomes.entry("LayersCopied").or_default() +=
                    body.copies.iter().map(|c| c.layers_copied).sum::<u64>();
                *handled.outcomes.entry("BytesCopied").or_default() +=
                    body.copies.iter().map(|c| c.bytes_copied).sum::<u64>();
                handled.errors.extend(body.failures.iter().cloned());
            }
        }
    }
    handled.decision = outcomes
        .iter()
        .map(|o| match o {
            Outcome::Skipped { reason } => format!("skipped: {reason}"),
            Outcome::Planned { plan } => {
                format!("would copy to {} destination(s)", plan.targets.len())
            }
            Outcome::Replicated { body } => format!(
                "copied to {} destination(s) ({} failed): {} layer(s), {} bytes uploaded, {} layer(s) already there",
                body.copies.len(),
                body.failures.len(),
                body.copies.iter().map(|c| c.layers_copied).sum::<u64>(),
                body.copies.iter().map(|c| c.bytes_copied).sum::<u64>(),
                body.copies.iter().map(|c| c.layers_skipped).sum::<u64>(),
            ),
        })
        .collect::<Vec<_>>()
        .join("; ");
    handled.response = json!({"status": "ok", "decision": handled.decision, "outcomes": outcomes});
    handled
}

/// An SNS delivery of verdicts, or an ECR push from EventBridge.
impl Function for Replicator {
    async fn invoke(
        &self,
        payload: Payload,
        invocation: Invocation,
    ) -> Result<Value, InvocationError> {
        frame(
            FUNCTION,
            &self.calls,
            payload,
            None,
            stop_by(&invocation),
            |input| async move {
                match input {
                    Incoming::Sns(delivery) => self.on_records(&delivery.records).await,
                    Incoming::Event(event) => self.on_event(&event).await,
                    Incoming::Queue(_) => Ok(not_for_me(FUNCTION, "SQS batches")),
                }
            },
        )
        .await
    }
}

/// The replication message: `replicated` (or `would_replicated`), `replication_failed` when a copy
/// failed.
fn replication_message(
    here: &Registry,
    repository: &RepositoryName,
    dry_run: bool,
    event_id: Option<String>,
    body: ReplicationBody,
) -> Message {
    let action = match (dry_run, body.failures.is_empty()) {
        (true, _) => MessageAction::new(Did::Replicated, true),
        (false, true) => MessageAction::done(Did::Replicated),
        (false, false) => MessageAction::done(Did::ReplicationFailed),
    };
    Message {
        schema: SCHEMA.into(),
        function: FUNCTION.into(),
        account: here.account.clone(),
        region: here.region.clone(),
        repository: repository.clone(),
        action,
        dry_run,
        event_id,
        body: Body::Replication(Box::new(body)),
    }
}
