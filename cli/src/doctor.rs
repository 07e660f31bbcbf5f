//! `warden doctor IMAGE [--principal ARN]`: why a pull of IMAGE fails, checked in the order a pull
//! meets them (the checks themselves: `warden_core::operator::doctor`). Read-only: one
//! DescribeRepositories; then DescribeImages, or, when something is missing,
//! DescribePullThroughCacheRules, DescribeRepositories in the other regions and the listing that
//! finds quarantine tags; GetRepositoryPolicy with --principal.
//!
//! Exit: 0 nothing found wrong, 1 a problem found (each with its fix), 2 input or AWS errors.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use warden_aws::adapters::ecr::EcrRegistry;
use warden_aws::{ApiCalls, load_sdk_config};
use warden_core::image_ref::Reference;
use warden_core::names::{Region, RepositoryName, Tag};
use warden_core::operator::doctor::{Check, Facts, ImageFacts, SignatureFacts, Status, diagnose};
use warden_core::operator::image_arg::{ImageArg, parse_image_arg};
use warden_core::operator::resource_policy::Principal;
use warden_core::policy::{DEFAULT_QUARANTINE_PREFIX, Policy, SignatureKind, Signatures};
use warden_core::ports::ImageCatalog;
use warden_core::scan_gate::original_tag;
use warden_core::signature::expected;

use crate::aws::for_image;
use crate::signature_evidence::{SignatureRead, signature_evidence};
use crate::{emit, load_policy};

/// The commercial regions ECR serves, looked in when the repository is not where it was asked for.
const REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "af-south-1",
    "ap-east-1",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "sa-east-1",
];

#[derive(clap::Args)]
pub(crate) struct DoctorArgs {
    /// The image that does not pull: repo:tag, repo@sha256:<digest>, or the full URI the task
    /// definition or pod spec names (which names the account and region).
    image: String,
    /// The principal that pulls (ECS task execution role, EKS node role, CI role), by ARN: checks
    /// the repository policy for it.
    #[arg(long)]
    principal: Option<String>,
    /// The policy file (for scan-gate's quarantine prefix; default `quarantine-`).
    #[arg(long, env = "WARDEN_POLICY_FILE")]
    policy: Option<PathBuf>,
    /// Regions to look in when the repository is missing (default: every commercial region).
    #[arg(long, value_delimiter = ',')]
    regions: Vec<String>,
    /// Print the checks as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &DoctorArgs, calls: &ApiCalls) -> anyhow::Result<ExitCode> {
    let image = parse_image_arg(&args.image).map_err(anyhow::Error::msg)?;
    let principal = args
        .principal
        .as_deref()
        .map(Principal::parse)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let policy = args.policy.as_deref().map(load_policy).transpose()?;
    let prefix = quarantine_prefix(policy.as_ref(), &image.repository);
    let regions = regions_to_search(&args.regions);
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let checks = runtime.block_on(async {
        let sdk = load_sdk_config().await?;
        let place = for_image(&sdk, &image, policy.as_ref()).await?;
        let mut facts = gather(&place, &image, principal, &prefix, &regions, calls).await?;
        if let Some(signatures) = policy
            .as_ref()
            .and_then(|p| p.for_repository(&image.repository).signatures)
        {
            facts.signature = signature(&place, &facts, signatures.value, calls).await?;
        }
        anyhow::Ok(diagnose(&facts))
    })?;
    report(args, &checks)
}

/// What the cosign and Notation signatures of the image prove (the image found, else the one
/// quarantined under the tag), when the policy requires them, read as `warden gate` reads them
/// (signature_evidence.rs).
async fn signature(
    place: &crate::aws::Place,
    facts: &Facts,
    policy: &Signatures,
    calls: &ApiCalls,
) -> anyhow::Result<Option<SignatureFacts>> {
    let cosign = policy.require.contains(&SignatureKind::CosignKey);
    let notation = policy.require.contains(&SignatureKind::Notation);
    if !cosign && !notation {
        return Ok(None);
    }
    let registry = EcrRegistry::from_sdk(&place.sdk, calls).in_registry(&place.account);
    let repository = &facts.image.repository;
    let (digest, pushed_at) = match (&facts.found, facts.quarantined_as.first()) {
        (Some(found), _) => (found.digest.clone(), found.pushed_at),
        (None, Some(tag)) => match registry
            .image_state(repository, &Reference::Tag(tag.clone()))
            .await?
        {
            Some(state) => (state.entry.digest, state.entry.pushed_at),
            None => return Ok(None),
        },
        (None, None) => return Ok(None),
    };
    let read = SignatureRead::new(&registry, place, calls);
    let evidence = signature_evidence(policy, &read, repository, &digest, pushed_at)
        .await
        .map_err(anyhow::Error::msg)?;
    let notation_profiles = match (&policy.notation, notation) {
        (Some(trust), true) => trust.signing_profiles.clone(),
        _ => Vec::new(),
    };
    Ok(Some(SignatureFacts {
        digest,
        evidence,
        expected: expected(policy),
        cosign,
        notation_profiles,
    }))
}

/// scan-gate's quarantine prefix for the repository: the policy's, else the default.
fn quarantine_prefix(policy: Option<&Policy>, repository: &RepositoryName) -> String {
    policy
        .and_then(|p| p.for_repository(repository).gate)
        .and_then(|g| g.value.quarantine_prefix.clone())
        .unwrap_or_else(|| DEFAULT_QUARANTINE_PREFIX.to_owned())
}

/// The regions `--regions` names, or every commercial region when it names none.
fn regions_to_search(asked: &[String]) -> Vec<String> {
    if asked.is_empty() {
        REGIONS.iter().map(|r| (*r).to_owned()).collect()
    } else {
        asked.to_vec()
    }
}

/// The facts of the image's pull, asked of the registry in the order a pull meets them.
async fn gather(
    place: &crate::aws::Place,
    image: &ImageArg,
    principal: Option<Principal>,
    prefix: &str,
    regions: &[String],
    calls: &ApiCalls,
) -> anyhow::Result<Facts> {
    let registry = EcrRegistry::from_sdk(&place.sdk, calls).in_registry(&place.account);
    let repository_exists = registry.repository_exists(&image.repository).await?;
    let mut facts = Facts {
        image: image.clone(),
        account: place.account.clone(),
        region: place.region.clone(),
        repository_exists,
        found_in: Vec::new(),
        found: None,
        quarantined_as: Vec::new(),
        pull_through: None,
        principal: None,
        signature: None,
    };
    if !repository_exists {
        facts.pull_through = registry.pull_through_rule(&image.repository).await?;
        if facts.pull_through.is_none() {
            facts.found_in = elsewhere(place, &image.repository, regions, calls).await;
        }
        return Ok(facts);
    }
    in_repository(&registry, &mut facts, principal, prefix).await?;
    Ok(facts)
}

/// The facts inside an existing repository: the image or what became of it; its policy.
async fn in_repository(
    registry: &EcrRegistry,
    facts: &mut Facts,
    principal: Option<Principal>,
    prefix: &str,
) -> anyhow::Result<()> {
    let image = &facts.image;
    facts.found = registry
        .image_state(&image.repository, &image.reference)
        .await?
        .map(|s| ImageFacts {
            digest: s.entry.digest,
            tags: s.entry.tags,
            status: s.entry.status,
            archived_at: s.entry.archived_at,
            pushed_at: s.entry.pushed_at,
        });
    if facts.found.is_none() {
        facts.pull_through = registry.pull_through_rule(&image.repository).await?;
    }
    if let (None, Reference::Tag(tag)) = (&facts.found, &image.reference) {
        facts.quarantined_as = quarantined(registry, &image.repository, tag, prefix).await?;
    }
    if let Some(principal) = principal {
        let text = registry.repository_policy(&image.repository).await?;
        facts.principal = Some((principal, text));
    }
    Ok(())
}

/// Print the checks (as JSON with `--json`); exit 1 when one found a problem.
fn report(args: &DoctorArgs, checks: &[Check]) -> anyhow::Result<ExitCode> {
    if args.json {
        emit(&serde_json::to_string_pretty(checks)?)?;
    } else {
        emit(&format!("warden doctor {}", args.image))?;
        emit(&render(checks))?;
    }
    Ok(if checks.iter().any(|c| c.status == Status::Problem) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Each check on a line: mark, name, what was found; the fix indented below.
fn render(checks: &[Check]) -> String {
    let mut out = String::new();
    for check in checks {
        out.push_str(&format!(
            "{} {:<18} {}\n",
            check.status.mark(),
            check.check,
            check.found
        ));
        if let Some(fix) = &check.fix {
            out.push_str(&format!("  {:<18} fix: {fix}\n", ""));
        }
    }
    out.trim_end().to_owned()
}

/// The other regions with a repository of this name (a region that cannot be asked — not
/// enabled, access denied — is left out). One DescribeRepositories per region, all at once.
async fn elsewhere(
    place: &crate::aws::Place,
    repository: &RepositoryName,
    regions: &[String],
    calls: &ApiCalls,
) -> Vec<Region> {
    let asks = regions
        .iter()
        .filter(|r| r.as_str() != place.region.as_str())
        .filter_map(|r| Region::new(r.as_str()).ok())
        .map(|region| async move {
            let there = place
                .sdk
                .to_builder()
                .region(aws_config::Region::new(region.as_str().to_owned()))
                .build();
            let registry = EcrRegistry::from_sdk(&there, calls).in_registry(&place.account);
            matches!(registry.repository_exists(repository).await, Ok(true)).then_some(region)
        });
    futures_util::future::join_all(asks)
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// The tags scan-gate's quarantine made from `tag` (`<prefix><tag>-<short digest>`), on any image
/// of the repository. DescribeImages pages.
async fn quarantined(
    registry: &EcrRegistry,
    repository: &RepositoryName,
    tag: &Tag,
    prefix: &str,
) -> anyhow::Result<Vec<Tag>> {
    let mut found = Vec::new();
    let mut next = None;
    loop {
        let page = registry.images(repository, next).await?;
        for image in page.items {
            for t in &image.tags {
                if original_tag(prefix, t, &image.digest)
                    .ok()
                    .flatten()
                    .as_ref()
                    == Some(tag)
                {
                    found.push(t.clone());
                }
            }
        }
        next = page.next;
        if next.is_none() {
            return Ok(found);
        }
    }
}
