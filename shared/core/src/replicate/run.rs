//! The replicator driven through its ports: confirm the plan (the verdict re-read, the tags the
//! image holds now), copy to every destination with the source read once, and tell.

use super::{CopyPlan, Decision, Outcome, Push, Registry, Report, Target, Trigger};
use crate::event::SnsRecord;
use crate::message::{Body, Did, Message, MessageAction, ReplicationBody, SCHEMA};
use crate::names::RepositoryName;
use crate::policy::Policy;
use crate::ports::{CallMeter, ImageCopies, ImageManifests, PortError, Publisher, VerdictLookup};
use crate::records::CopyOrder;

pub const FUNCTION: &str = "replicator";

/// What the replicator acts through.
pub struct Ports<'a, C: ImageCopies> {
    /// The source registry, for the tags an image holds now (1 DescribeImages by digest).
    pub images: &'a dyn ImageManifests,
    /// scan-gate's verdicts, re-read before a gated copy; without them gated copies are not made.
    pub verdicts: Option<&'a dyn VerdictLookup>,
    pub copies: &'a C,
    pub publisher: &'a dyn Publisher,
    /// The calls made so far, for the message's `api_calls`.
    pub meter: &'a dyn CallMeter,
}

/// How one trigger is carried out: planned only (`dry_run`), and whether the outcome is published.
#[derive(Debug, Clone, Copy)]
pub struct Mode {
    pub dry_run: bool,
    pub notify: bool,
}

impl Mode {
    /// The Lambda's mode: the deployment's and the policy's dry-run decide; outcomes are told.
    pub const LAMBDA: Mode = Mode {
        dry_run: false,
        notify: true,
    };
}

/// Where and how one trigger is carried out.
#[derive(Debug, Clone)]
pub struct Context {
    /// The registry the image is in.
    pub here: Registry,
    pub event_id: Option<String>,
    pub mode: Mode,
    /// The deployment's dry-run (`WARDEN_DRY_RUN`): it wins over the policy and the mode.
    pub force_dry_run: bool,
}

/// An ECR push (repositories replicated without gating, or a tag added to a passed image).
pub async fn handle_push<C: ImageCopies>(
    pushed: &Push,
    policy: &Policy,
    force_dry_run: bool,
    ports: &Ports<'_, C>,
) -> Result<Report, PortError> {
    let Push { envelope, push } = pushed;
    if !push.succeeded() {
        return Ok(Report {
            outcomes: vec![Outcome::Skipped {
                reason: "the push failed".into(),
            }],
        });
    }
    let trigger = Trigger::Push {
        repository: push.repository_name.clone(),
        digest: push.image_digest.clone(),
        tag: push.image_tag.clone(),
    };
    let ctx = Context {
        here: Registry {
            account: envelope.account.clone(),
            region: envelope.region.clone(),
        },
        event_id: envelope.id.clone(),
        mode: Mode::LAMBDA,
        force_dry_run,
    };
    let outcome = replicate(&trigger, policy, &ctx, ports).await?;
    Ok(Report {
        outcomes: vec![outcome],
    })
}

/// scan-gate's messages from SNS: each verdict is a trigger; other messages are skipped.
pub async fn handle_verdicts<C: ImageCopies>(
    records: &[SnsRecord],
    policy: &Policy,
    force_dry_run: bool,
    ports: &Ports<'_, C>,
) -> Result<Report, PortError> {
    let mut report = Report::default();
    for record in records {
        let outcome = match verdict_trigger(record) {
            Err(reason) => Outcome::Skipped { reason },
            Ok((trigger, here, event_id)) => {
                let ctx = Context {
                    here,
                    event_id,
                    mode: Mode::LAMBDA,
                    force_dry_run,
                };
                replicate(&trigger, policy, &ctx, ports).await?
            }
        };
        report.outcomes.push(outcome);
    }
    Ok(report)
}

/// The trigger a verdict message makes, with the tags it names (restored ones too), the registry
/// it is about and its event id; or why it makes none.
fn verdict_trigger(record: &SnsRecord) -> Result<(Trigger, Registry, Option<String>), String> {
    let message: Message = serde_json::from_str(&record.sns.message).map_err(|e| {
        format!(
            "SNS message {} is not a warden message: {e}",
            record.sns.message_id
        )
    })?;
    let Body::Verdict(verdict) = &message.body else {
        return Err(format!("a {} message, not a verdict", message.body.kind()));
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
    Ok((trigger, here, message.event_id.clone()))
}

/// Decide and carry out one trigger. A retryable failure of any destination fails the whole
/// trigger (nothing is told; the retry finds what was copied and moves only what is missing);
/// other failures are reported per destination.
#[tracing::instrument(name = "replicate::replicate", skip_all, fields(repository = %trigger.repository(), digest = %trigger.digest()))]
pub async fn replicate<C: ImageCopies>(
    trigger: &Trigger,
    policy: &Policy,
    ctx: &Context,
    ports: &Ports<'_, C>,
) -> Result<Outcome, PortError> {
    let started = ports.meter.millis();
    let calls_before = ports.meter.calls_made();
    let plan = match confirmed_plan(trigger, policy, &ctx.here, ports).await? {
        Ok(plan) => plan,
        Err(reason) => return Ok(Outcome::Skipped { reason }),
    };
    let resolved = policy.for_repository(&plan.repository);
    let dry_run = ctx.mode.dry_run || ctx.force_dry_run || resolved.dry_run;
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
            .map(|t| t.label(&ctx.here.account))
            .collect();
    } else if !plan.targets.is_empty() {
        copy_everywhere(&plan, policy, &ctx.here, ports, &mut body).await?;
    }
    body.api_calls = ports.meter.calls_made().saturating_sub(calls_before);
    body.duration_ms = ports.meter.millis().saturating_sub(started);
    let message = replication_message(ctx, &plan.repository, dry_run, body);
    let topic = resolved.notify.and_then(|n| n.value.topic_arn.as_deref());
    if ctx.mode.notify {
        ports.publisher.publish(topic, &message).await?;
    }
    Ok(match message.body {
        Body::Replication(body) if !dry_run => Outcome::Replicated { body },
        _ => Outcome::Planned { plan },
    })
}

/// The copy plan for `trigger`, once confirmed: a gated copy needs the PASS recorded for the
/// digest now (1 GetItem), and the copy takes the tags the image holds now (1 DescribeImages by
/// digest; a backfill lists them itself). `Ok(Err(reason))`: nothing to copy.
async fn confirmed_plan<C: ImageCopies>(
    trigger: &Trigger,
    policy: &Policy,
    here: &Registry,
    ports: &Ports<'_, C>,
) -> Result<Result<CopyPlan, String>, PortError> {
    let mut plan = match super::decide(trigger, policy, here) {
        Decision::Skip { reason } => return Ok(Err(reason)),
        Decision::Copy(plan) => plan,
    };
    if plan.requires_pass {
        let Some(verdicts) = ports.verdicts else {
            return Ok(Err(
                "gated, and no verdict table was given to check the verdict".into(),
            ));
        };
        let recorded = verdicts.verdict(&plan.repository, &plan.digest).await?;
        if let Err(reason) = super::confirm(&plan, recorded.as_ref()) {
            return Ok(Err(reason));
        }
    }
    if !matches!(trigger, Trigger::Backfill { .. }) {
        let current = ports.images.tags_of(&plan.repository, &plan.digest).await?;
        if let Err(reason) = super::with_current_tags(&mut plan, current.as_deref()) {
            return Ok(Err(reason));
        }
    }
    Ok(Ok(plan))
}

/// Every copy of the plan, the source read once whatever the number of destinations: a
/// destination that fails is in `body.failures`, and so is every one when the source cannot be
/// read; `Err` only for retryable failures.
async fn copy_everywhere<C: ImageCopies>(
    plan: &CopyPlan,
    policy: &Policy,
    here: &Registry,
    ports: &Ports<'_, C>,
    body: &mut ReplicationBody,
) -> Result<(), PortError> {
    let image = match ports.copies.read(&plan.repository, &plan.digest).await {
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
        match copy_to(plan, policy, &image, target, ports).await {
            Ok(mut report) => {
                // A tag the destination refused (IMMUTABLE, held by another image) is a failed
                // copy, not a success with a footnote.
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

/// One destination's copy, with the policy's tag mutability for the destination's name.
async fn copy_to<C: ImageCopies>(
    plan: &CopyPlan,
    policy: &Policy,
    image: &C::Source,
    target: &Target,
    ports: &Ports<'_, C>,
) -> Result<crate::message::CopyReport, PortError> {
    let setting = policy.for_repository(&target.repository).immutability;
    let order = CopyOrder {
        repository: &plan.repository,
        digest: &plan.digest,
        tags: &plan.tags,
        target,
        mutability: setting.map(|s| s.value),
    };
    ports.copies.copy(image, &order).await
}

/// The replication message: `replicated` (or `would_replicated`), `replication_failed` when a
/// copy failed.
fn replication_message(
    ctx: &Context,
    repository: &RepositoryName,
    dry_run: bool,
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
        account: ctx.here.account.clone(),
        region: ctx.here.region.clone(),
        repository: repository.clone(),
        action,
        dry_run,
        event_id: ctx.event_id.clone(),
        body: Body::Replication(Box::new(body)),
    }
}
