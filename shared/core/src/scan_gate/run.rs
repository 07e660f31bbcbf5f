//! scan-gate driven through its ports: read what a verdict asks for, carry out the plan, and for
//! SQS batches collapse the messages to one evaluation per image.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::recheck::{recheck, recheck_subject_of};
use super::signature_reads::fill_signed;
use super::{
    Context, Facts, Need, ParentIndex, Parents, Report, Step, Subject, decide, pending_until,
    referrer_arrival, signature_push, subject, verdict_of,
};
use crate::event::{Event, QueuedEvent, SqsMessage};
use crate::execute::{Executor, Grants, absorb};
use crate::manifest::{INDEX_TYPES, platform_children};
use crate::names::{Digest, RepositoryName, Tag};
use crate::plan::Plan;
use crate::policy::Policy;
use crate::ports::{
    GraceDeadlines, ImageCatalog, ImageFindings, ImageManifests, ImageSignatures, ImageStatus,
    MAX_BATCH_GET_IMAGE_IDS, PortError, PublicKeys, Publisher, SignatureRevocations, VerdictStore,
};
use crate::records::{GraceDeadline, ImageResource, IndexClaim, IndexRecord, VerdictClaim};
use crate::verdict::{Finding, Verdict};

pub struct Ports<'a> {
    pub images: &'a dyn ImageManifests,
    /// Listing the repository, to find the indexes an untagged image belongs to.
    pub catalog: &'a dyn ImageCatalog,
    pub findings: &'a dyn ImageFindings,
    pub verdicts: &'a dyn VerdictStore,
    pub publisher: &'a dyn Publisher,
    /// The image as ECR describes it now: its push time (the signature grace runs from it), and
    /// its scan state when its signature arrives or its grace ends.
    pub status: &'a dyn ImageStatus,
    /// Its cosign signatures, and its indexes'.
    pub signatures: &'a dyn ImageSignatures,
    /// The public keys of the KMS keys the policy trusts.
    pub public_keys: &'a dyn PublicKeys,
    /// AWS Signer's revocations of the Notation signatures it made.
    pub revocations: &'a dyn SignatureRevocations,
    /// The evaluation at the end of an image's signature grace; `None` where nothing schedules
    /// (`warden gate`): the image is evaluated again on its next event.
    pub deadlines: Option<&'a dyn GraceDeadlines>,
}

/// One EventBridge event. `Err` only for retryable failures.
pub async fn handle_event(
    event: &Event,
    policy: &Policy,
    ctx: &Context,
    ports: &Ports<'_>,
) -> Result<Report, PortError> {
    let mut report = Report::default();
    // A signature's arrival re-evaluates the image it signs (a cosign `.sig` tag, or a referrer:
    // recheck.rs); the push is still a push of that tag (a failed image's manifest pushed under a
    // `.sig`-shaped tag is taken away like any other).
    let rechecked = if let Some((repository, digest)) = signature_push(event) {
        recheck(&repository, &digest, policy, ctx, ports, &mut report).await
    } else if let Some(arrival) = referrer_arrival(event) {
        recheck_subject_of(&arrival, policy, ctx, ports, &mut report).await
    } else {
        Ok(())
    };
    if let Err(e) = rechecked {
        absorb(e, &mut report.errors)?;
    }
    match subject(event) {
        Err(reason) => report.plans.push(Plan::nothing(reason, ctx.force_dry_run)),
        Ok(subject) => {
            if let Err(e) = evaluate(&subject, policy, ctx, ports, &mut report).await {
                absorb(e, &mut report.errors)?;
            }
        }
    }
    Ok(report)
}

/// The end of an image's signature grace: the image evaluated again as ECR describes it now, as of
/// no earlier than the deadline. `Err` only for retryable failures.
pub async fn handle_deadline(
    deadline: &GraceDeadline,
    policy: &Policy,
    ctx: &Context,
    ports: &Ports<'_>,
) -> Result<Report, PortError> {
    let mut report = Report::default();
    let (repository, digest) = (&deadline.repository, &deadline.digest);
    // The schedule fires at or after `at`; a clock a little behind must not find the grace still
    // running (the schedule that just fired would not fire again).
    let ctx = &Context {
        now: ctx.now.max(deadline.at),
        ..ctx.clone()
    };
    if let Err(e) = recheck(repository, digest, policy, ctx, ports, &mut report).await {
        absorb(e, &mut report.errors)?;
    }
    Ok(report)
}

/// One existing image evaluated now (`warden gate`): the plan (carried out only when `act`, with
/// `ctx.force_dry_run` off; otherwise nothing is written or published) and the verdict the facts
/// gave ([`verdict_of`]). `Err` only for retryable failures.
pub async fn gate_image(
    subject: &Subject,
    policy: &Policy,
    ctx: &Context,
    ports: &Ports<'_>,
    act: bool,
) -> Result<(Report, Option<Verdict>), PortError> {
    let mut report = Report::default();
    *report.outcomes.entry("Evaluations").or_default() += 1;
    let (plan, facts) = match plan_for(subject, Facts::default(), policy, ctx, ports).await {
        Ok(planned) => planned,
        Err(e) => {
            absorb(e, &mut report.errors)?;
            return Ok((report, None));
        }
    };
    let verdict = verdict_of(subject, policy, ctx, &facts);
    count_verdict(verdict, &mut report);
    if act {
        if let Err(e) = carry_out(subject, plan, &facts, ports, &mut report).await {
            absorb(e, &mut report.errors)?;
        }
    } else {
        report.plans.push(plan);
    }
    Ok((report, verdict))
}

/// An SQS batch of `Inspector2 Finding` events: one evaluation per image however many messages
/// name it. A message that does not parse, or whose image's evaluation failed retryably, is
/// reported in `failed_messages` (the batch item failures); the others succeed.
pub async fn handle_batch(
    records: &[SqsMessage],
    policy: &Policy,
    force_dry_run: bool,
    now: DateTime<Utc>,
    ports: &Ports<'_>,
) -> Report {
    let mut report = Report::default();
    let mut groups: BTreeMap<(RepositoryName, Digest), (Subject, Context, Vec<String>)> =
        BTreeMap::new();
    for record in records {
        let parsed = record.event().map_err(|e| e.to_string()).and_then(|event| {
            let subject = subject(&event)?;
            Ok((subject, event))
        });
        match parsed {
            Err(error) => {
                report
                    .errors
                    .push(format!("message {}: {error}", record.id()));
                report.failed_messages.push(record.id().to_owned());
            }
            Ok((subject, event)) => {
                let key = (subject.repository.clone(), subject.digest.clone());
                let event_ctx = Context {
                    account: event.envelope.account.clone(),
                    region: event.envelope.region.clone(),
                    event_id: event.envelope.id.clone(),
                    force_dry_run,
                    now,
                };
                let entry = groups
                    .entry(key)
                    .or_insert_with(|| (subject.clone(), event_ctx, Vec::new()));
                entry.0 = subject; // the last message's tags are the freshest
                entry.2.push(record.id().to_owned());
            }
        }
    }
    for (subject, group_ctx, message_ids) in groups.into_values() {
        if let Err(e) = evaluate(&subject, policy, &group_ctx, ports, &mut report).await {
            if e.is_retryable() {
                report.failed_messages.extend(message_ids);
            }
            report.errors.push(e.to_string());
        }
    }
    report
}

/// One evaluation: read the facts the verdict asks for, then carry out the plan.
#[tracing::instrument(name = "scan_gate::evaluate", skip_all, fields(repository = %subject.repository, digest = %subject.digest))]
async fn evaluate(
    subject: &Subject,
    policy: &Policy,
    ctx: &Context,
    ports: &Ports<'_>,
    report: &mut Report,
) -> Result<(), PortError> {
    evaluate_from(subject, Facts::default(), policy, ctx, ports, report).await
}

/// [`evaluate`], some facts known already. An image waiting for its signature gets its evaluation
/// at the grace's end scheduled (not in a dry run: the plan says until when it waits).
pub(super) async fn evaluate_from(
    subject: &Subject,
    known: Facts,
    policy: &Policy,
    ctx: &Context,
    ports: &Ports<'_>,
    report: &mut Report,
) -> Result<(), PortError> {
    *report.outcomes.entry("Evaluations").or_default() += 1;
    let (plan, facts) = plan_for(subject, known, policy, ctx, ports).await?;
    count_verdict(verdict_of(subject, policy, ctx, &facts), report);
    let dry = plan.dry_run;
    if let Some(at) = pending_until(subject, policy, ctx, &facts).filter(|_| !dry) {
        schedule_deadline(subject, at, ctx, ports, report).await?;
    }
    carry_out(subject, plan, &facts, ports, report).await
}

/// Schedule the image's evaluation at the end of its grace, or say that nothing will.
async fn schedule_deadline(
    subject: &Subject,
    at: DateTime<Utc>,
    ctx: &Context,
    ports: &Ports<'_>,
    report: &mut Report,
) -> Result<(), PortError> {
    let Some(deadlines) = ports.deadlines else {
        report.errors.push(format!(
            "{}@{}: no grace deadline is scheduled here: the image is evaluated again on its next event",
            subject.repository,
            subject.digest.short()
        ));
        return Ok(());
    };
    let deadline = GraceDeadline {
        account: ctx.account.clone(),
        region: ctx.region.clone(),
        repository: subject.repository.clone(),
        digest: subject.digest.clone(),
        at,
    };
    deadlines.schedule(&deadline).await?;
    *report
        .outcomes
        .entry("GraceDeadlinesScheduled")
        .or_default() += 1;
    Ok(())
}

/// The verdict as a metric of the summary line (`VerdictsPass` / `VerdictsFail`), for the
/// dashboard; none where the image has no verdict (no gate, or evidence not complete).
fn count_verdict(verdict: Option<Verdict>, report: &mut Report) {
    let name = match verdict {
        Some(Verdict::Pass) => "VerdictsPass",
        Some(Verdict::Fail) => "VerdictsFail",
        None => return,
    };
    *report.outcomes.entry(name).or_default() += 1;
}

/// Decide, reading each fact the decision asks for, until there is a plan. A read that fails after
/// the verdict was claimed puts the claim back: a recorded verdict without its action would make
/// the retry see "unchanged" and never act (found with the fault proxy: a reset BatchGetImage).
async fn plan_for(
    subject: &Subject,
    known: Facts,
    policy: &Policy,
    ctx: &Context,
    ports: &Ports<'_>,
) -> Result<(Plan, Facts), PortError> {
    let mut facts = known;
    loop {
        match decide(subject, policy, ctx, &facts) {
            Step::Done(plan) => return Ok((plan, facts)),
            Step::Wait(wait) => {
                return Err(PortError::Transient {
                    operation: wait.operation,
                    message: wait.reason,
                });
            }
            Step::Need(need) => {
                if let Err(error) = fill(need, &mut facts, ports).await {
                    restore_claim(subject, &facts, ports).await?;
                    return Err(error);
                }
            }
        }
    }
}

/// Put the verdict records back as they were before this evaluation claimed them (the image's and
/// its indexes'), if it did and nobody recorded another since.
async fn restore_claim(
    subject: &Subject,
    facts: &Facts,
    ports: &Ports<'_>,
) -> Result<(), PortError> {
    if facts.read_only {
        return Ok(()); // a dry run's claims were read, never written: nothing to put back
    }
    for (digest, claim, written) in facts.index_claims.iter().flatten() {
        if let IndexClaim::Recorded { previous } = claim {
            ports
                .verdicts
                .restore(&subject.repository, digest, previous.as_ref(), written)
                .await?;
        }
    }
    if let (Some(VerdictClaim::Recorded { previous }), Some(written)) =
        (&facts.claim, &facts.claimed)
    {
        ports
            .verdicts
            .restore(
                &subject.repository,
                &subject.digest,
                previous.as_ref(),
                written,
            )
            .await?;
    }
    Ok(())
}

/// Carry out a plan decided on `facts`. If that fails, the verdict record is put back so that the
/// retry acts again.
async fn carry_out(
    subject: &Subject,
    plan: Plan,
    facts: &Facts,
    ports: &Ports<'_>,
    report: &mut Report,
) -> Result<(), PortError> {
    // scan-gate moves tags and publishes; it is granted no other write.
    let executor = Executor {
        images: ports.images,
        publisher: ports.publisher,
        grants: Grants::default(),
    };
    let result = executor
        .run_then_tell(&plan, &mut report.outcomes, super::amend)
        .await;
    report.plans.push(plan);
    match result {
        Ok(executed) => {
            report.errors.extend(executed.failures);
            report
                .errors
                .extend(executed.not_moved.into_iter().map(|n| n.reason));
            Ok(())
        }
        Err(error) => {
            // Put the verdict record back, so that the retry acts again.
            restore_claim(subject, facts, ports).await?;
            Err(error)
        }
    }
}

async fn fill(need: Need, facts: &mut Facts, ports: &Ports<'_>) -> Result<(), PortError> {
    match need {
        Need::Findings { image, enhanced } => {
            facts.findings = Some(all_findings(ports, &image, enhanced).await?)
        }
        Need::ParentIndexes { repository, digest } => {
            facts.parents = Some(parent_indexes(ports, &repository, &digest).await?)
        }
        Need::Verdicts {
            repository,
            digests,
        } => facts.sibling_verdicts = Some(recorded_verdicts(ports, &repository, digests).await?),
        Need::ChildVerdicts {
            repository,
            digests,
        } => facts.child_verdicts = Some(recorded_verdicts(ports, &repository, digests).await?),
        Need::Coverage { image } => facts.coverage = Some(ports.findings.coverage(&image).await?),
        Need::VerdictClaim { record } => {
            facts.claim = Some(ports.verdicts.claim(&record).await?);
            facts.claimed = Some(record.fingerprint);
        }
        Need::IndexClaim { index } => {
            facts.claimed = Some(index.record.fingerprint.clone());
            facts.claim = Some(as_verdict_claim(ports.verdicts.claim_index(&index).await?));
        }
        Need::RecordedVerdict { repository, digest } => {
            facts.recorded = Some(ports.verdicts.verdict(&repository, &digest).await?)
        }
        Need::IndexVerdicts { records, dry } => claim_indexes(ports, records, dry, facts).await?,
        Need::VerdictRead { record } => {
            let stored = ports
                .verdicts
                .verdict(&record.repository, &record.digest)
                .await?;
            facts.claim = Some(VerdictClaim::would(stored, &record));
            facts.read_only = true;
        }
        Need::CurrentTags { repository, digest } => {
            facts.current_tags = Some(ports.images.tags_of(&repository, &digest).await?)
        }
        Need::ImageTags {
            repository,
            digest,
            tags,
        } => {
            facts.image = Some(
                ports
                    .images
                    .image_and_tags(&repository, &digest, &tags)
                    .await?,
            )
        }
        // The rest are the signature gate's reads.
        need => fill_signed(need, facts, ports).await?,
    }
    Ok(())
}

/// Claim each index's derived verdict (in dry-run, read how it would go). Each claim is kept as
/// soon as it is made: a failure part-way puts back those made.
async fn claim_indexes(
    ports: &Ports<'_>,
    records: Vec<IndexRecord>,
    dry: bool,
    facts: &mut Facts,
) -> Result<(), PortError> {
    facts.index_claims = Some(Vec::with_capacity(records.len()));
    facts.read_only |= dry;
    for index in records {
        let record = &index.record;
        let claim = if dry {
            let stored = ports
                .verdicts
                .verdict(&record.repository, &record.digest)
                .await?;
            IndexClaim::would(stored, record)
        } else {
            ports.verdicts.claim_index(&index).await?
        };
        if let Some(claims) = facts.index_claims.as_mut() {
            claims.push((record.digest.clone(), claim, record.fingerprint.clone()));
        }
    }
    Ok(())
}

/// A pushed index's claim, as the image's own claim reads it.
fn as_verdict_claim(claim: IndexClaim) -> VerdictClaim {
    match claim {
        IndexClaim::Recorded { previous } => VerdictClaim::Recorded { previous },
        IndexClaim::Unchanged => VerdictClaim::Unchanged,
        IndexClaim::Stale { changed } => VerdictClaim::Stale { changed },
    }
}

/// Every finding of the image: basic scanning's (DescribeImageScanFindings pages) or Inspector's
/// ACTIVE ones (ListFindings pages).
async fn all_findings(
    ports: &Ports<'_>,
    image: &ImageResource,
    enhanced: bool,
) -> Result<Vec<Finding>, PortError> {
    let mut all = Vec::new();
    let mut next = None;
    loop {
        let page = if enhanced {
            ports.findings.inspector_findings(image, next).await?
        } else {
            ports
                .findings
                .scan_findings(&image.repository, &image.digest, next)
                .await?
        };
        all.extend(page.items);
        next = page.next;
        if next.is_none() {
            return Ok(all);
        }
    }
}

/// The repository's indexes naming `digest` as a platform image, and the owner of every tag: the
/// repository listed (DescribeImages pages), its indexes' manifests read (BatchGetImage per 100).
async fn parent_indexes(
    ports: &Ports<'_>,
    repository: &RepositoryName,
    digest: &Digest,
) -> Result<Parents, PortError> {
    let mut parents = Parents::default();
    let mut indexes: Vec<(Digest, Vec<Tag>)> = Vec::new();
    let mut next = None;
    loop {
        let page = ports.catalog.images(repository, next).await?;
        for entry in page.items {
            for tag in &entry.tags {
                parents.owners.insert(tag.clone(), entry.digest.clone());
            }
            if entry
                .manifest_media_type
                .as_deref()
                .is_some_and(|t| INDEX_TYPES.contains(&t))
            {
                indexes.push((entry.digest, entry.tags));
            }
        }
        next = page.next;
        if next.is_none() {
            break;
        }
    }
    for chunk in indexes.chunks(MAX_BATCH_GET_IMAGE_IDS) {
        let digests: Vec<Digest> = chunk.iter().map(|(d, _)| d.clone()).collect();
        for manifest in ports.images.manifests(repository, &digests).await? {
            let children = platform_children(&manifest.bytes);
            if !children.contains(digest) {
                continue;
            }
            let tags = chunk
                .iter()
                .find(|(d, _)| *d == manifest.digest)
                .map(|(_, t)| t.clone())
                .unwrap_or_default();
            parents.indexes.push(ParentIndex {
                manifest,
                tags,
                children,
            });
        }
    }
    Ok(parents)
}

/// The verdict recorded for each image (1 GetItem each).
async fn recorded_verdicts(
    ports: &Ports<'_>,
    repository: &RepositoryName,
    digests: Vec<Digest>,
) -> Result<Vec<(Digest, Option<Verdict>)>, PortError> {
    let mut verdicts = Vec::with_capacity(digests.len());
    for digest in digests {
        let record = ports.verdicts.verdict(repository, &digest).await?;
        verdicts.push((digest, record.map(|r| r.verdict)));
    }
    Ok(verdicts)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dashboard (infra/template.yaml, `Dashboard`) reads these two metric names.
    #[test]
    fn each_verdict_is_counted_under_its_metric_and_no_verdict_under_none() {
        let mut report = Report::default();
        count_verdict(Some(Verdict::Pass), &mut report);
        count_verdict(Some(Verdict::Fail), &mut report);
        count_verdict(Some(Verdict::Fail), &mut report);
        count_verdict(None, &mut report);
        let counted: Vec<_> = report.outcomes.iter().map(|(k, v)| (*k, *v)).collect();
        assert_eq!(counted, vec![("VerdictsFail", 2), ("VerdictsPass", 1)]);
    }
}
