//! Repository conformance: a repository's tag-mutability setting must be the policy's.

use super::Context;
use super::decide::{dry_run, publish};
use crate::event::CloudTrailCall;
use crate::message::{Body, Did};
use crate::mutability::TagMutability;
use crate::names::RepositoryName;
use crate::plan::{Action, Plan};
use crate::policy::Policy;

/// Does the repository's setting match the policy? `current` is the setting it has now (from a
/// CloudTrail event or the sweep's listing). Conformant or no policy: nothing to do.
pub fn decide_repository(
    repository: &RepositoryName,
    current: Option<&TagMutability>,
    trigger: &str,
    policy: &Policy,
    ctx: &Context,
) -> Plan {
    let resolved = policy.for_repository(repository);
    let dry = dry_run(&resolved, ctx);
    let Some(wanted) = resolved.immutability else {
        return Plan::nothing(format!("{repository}: no immutability policy"), dry);
    };
    if current.is_some_and(|c| c.same_as(wanted.value)) {
        return Plan::nothing(
            format!("{repository}: conforms ({})", wanted.value.mode.as_str()),
            dry,
        );
    }
    let body = Body::RepositoryFixed {
        before: current.cloned(),
        after: wanted.value.clone(),
        trigger: trigger.to_owned(),
    };
    Plan {
        decision: format!(
            "{repository}: {} → {} (policy `{}`)",
            current.map_or("unknown", |c| c.mode.as_str()),
            wanted.value.mode.as_str(),
            wanted.pattern.unwrap_or("defaults"),
        ),
        dry_run: dry,
        actions: vec![
            Action::SetTagMutability {
                repository: repository.clone(),
                setting: wanted.value.clone(),
            },
            publish(&resolved, ctx, Did::Fixed, dry, body),
        ],
    }
}

/// The tag-guard decision for a CloudTrail call, from the event alone.
pub fn decide_cloudtrail(call: &CloudTrailCall, policy: &Policy, ctx: &Context) -> Plan {
    let dry = ctx.force_dry_run;
    if !matches!(
        call.event_name.as_str(),
        "CreateRepository" | "PutImageTagMutability"
    ) {
        return Plan::nothing(
            format!("{} does not change tag mutability", call.event_name),
            dry,
        );
    }
    if !call.succeeded() {
        let code = call.error_code.as_deref().unwrap_or_default();
        return Plan::nothing(
            format!("{} failed ({code}): nothing changed", call.event_name),
            dry,
        );
    }
    let Some(repository) = call.repository() else {
        return Plan::nothing(format!("{} names no repository", call.event_name), dry);
    };
    decide_repository(
        repository,
        call.resulting_mutability().as_ref(),
        &call.event_name,
        policy,
        ctx,
    )
}
