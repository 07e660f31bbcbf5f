//! An image evaluated again as ECR describes it now, because its signature arrived (a cosign
//! `.sig` tag, or a referrer: a Notation signature) or its grace ended (docs/signatures.md).

use super::run::{Ports, evaluate_from};
use super::subject::ReferrerArrival;
use super::{Context, Facts, Report, image_subject};
use crate::manifest::{manifest_links, platform_children};
use crate::names::{Digest, RepositoryName};
use crate::plan::Plan;
use crate::policy::Policy;
use crate::ports::PortError;

/// A referrer's arrival: the image it names as `subject` evaluated again (1 BatchGetImage of the
/// referrer first). ECR's `ECR Referrer Action` does not say whether its digest is the referrer's
/// or the subject's: a manifest naming no subject is taken as the subject itself (both readings
/// lead to the same image; evaluation only decides from what ECR says now). An untagged push of
/// a manifest with no subject is an image, not a signature: nothing to do here.
pub(super) async fn recheck_subject_of(
    arrival: &ReferrerArrival,
    policy: &Policy,
    ctx: &Context,
    ports: &Ports<'_>,
    report: &mut Report,
) -> Result<(), PortError> {
    let (repository, digest) = (&arrival.repository, &arrival.digest);
    if policy.for_repository(repository).signatures.is_none() {
        return Ok(());
    }
    let manifests = ports
        .images
        .manifests(repository, std::slice::from_ref(digest))
        .await?;
    let subject = manifests.first().and_then(|m| manifest_links(&m.bytes).1);
    match subject {
        Some(subject) => recheck(repository, &subject, policy, ctx, ports, report).await,
        None if arrival.may_name_subject => {
            recheck(repository, digest, policy, ctx, ports, report).await
        }
        None => Ok(()),
    }
}

/// An image evaluated again as ECR describes it now, because its signature arrived or its grace
/// ended: its manifest (1 BatchGetImage), then 1 DescribeImages (+ 1 DescribeImageScanFindings when
/// it says nothing of a scan). An index is not scanned: its platform images are evaluated, each as
/// ECR describes it (a signature on an index covers them; their verdicts record the index's).
pub(super) async fn recheck(
    repository: &RepositoryName,
    digest: &Digest,
    policy: &Policy,
    ctx: &Context,
    ports: &Ports<'_>,
    report: &mut Report,
) -> Result<(), PortError> {
    let at = format!("{repository}@{}", digest.short());
    if policy.for_repository(repository).signatures.is_none() {
        let why = format!("{at}: no signatures policy covers {repository}: nothing to re-evaluate");
        report.plans.push(Plan::nothing(why, ctx.force_dry_run));
        return Ok(());
    }
    // The manifest first (1 BatchGetImage): an index is not scanned, its platform images are.
    let manifests = ports
        .images
        .manifests(repository, std::slice::from_ref(digest))
        .await?;
    let gone = || format!("{at}: no such image (deleted since?): nothing to decide");
    let Some(manifest) = manifests.first() else {
        report.plans.push(Plan::nothing(gone(), ctx.force_dry_run));
        return Ok(());
    };
    let children = platform_children(&manifest.bytes);
    if children.is_empty() {
        return match ports.status.image_state(repository, digest).await? {
            Some(state) => evaluate_state(state, repository, policy, ctx, ports, report).await,
            None => {
                report.plans.push(Plan::nothing(gone(), ctx.force_dry_run));
                Ok(())
            }
        };
    }
    for child in children {
        match ports.status.image_state(repository, &child).await? {
            Some(state) => evaluate_state(state, repository, policy, ctx, ports, report).await?,
            None => report.plans.push(Plan::nothing(
                format!("{at}: its platform image {} is gone", child.short()),
                ctx.force_dry_run,
            )),
        }
    }
    Ok(())
}

/// One image evaluated from what ECR says of it now (as `warden gate` does), its push time known.
async fn evaluate_state(
    state: crate::records::ImageState,
    repository: &RepositoryName,
    policy: &Policy,
    ctx: &Context,
    ports: &Ports<'_>,
    report: &mut Report,
) -> Result<(), PortError> {
    let pushed_at = state.entry.pushed_at;
    let subject = image_subject(
        repository.clone(),
        state.entry.digest,
        state.entry.tags,
        state.scan_status.as_deref(),
        state.counts,
        // What ECR says now: the read is the evidence's time.
        None,
    );
    match subject {
        Err(why) => {
            report.plans.push(Plan::nothing(why, ctx.force_dry_run));
            Ok(())
        }
        Ok(subject) => {
            let known = Facts {
                pushed_at: Some(pushed_at),
                ..Facts::default()
            };
            evaluate_from(&subject, known, policy, ctx, ports, report).await
        }
    }
}
