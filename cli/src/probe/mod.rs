//! `warden probe`: settle on a real account what AWS's documentation leaves open.
//!
//! Where ECR's or Inspector's words fit more than one behaviour, ecr-warden is built to keep its
//! promises under every reading (docs/emulator.md). The probe shows which reading an account
//! actually has: in temporary repositories it pushes tiny images through the API, asks each
//! question, checks the promise live through the adapters the functions use where it can, and
//! deletes everything it created — also when a step fails or the run is interrupted (Ctrl-C).
//! Exit 0: every promise holds; 1: one does not; 2: a step or the clean-up could not be done.

mod image;
mod scans;
mod steps;

use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use aws_sdk_ecr::types::{
    ImageTagMutability, ImageTagMutabilityExclusionFilter, ImageTagMutabilityExclusionFilterType,
};
use serde_json::{Value, json};
use warden_aws::adapters::ecr::EcrRegistry;
use warden_aws::adapters::findings::Scanners;
use warden_aws::{ApiCalls, counted, load_sdk_config};
use warden_core::names::{AccountId, Region};

use crate::aws::{caller, configured_region};
use crate::emit;

#[derive(clap::Args)]
pub struct ProbeArgs {
    /// The region to probe (default: the configured one).
    #[arg(long)]
    region: Option<String>,
    /// Keep the temporary repositories (their names are printed) instead of deleting them.
    #[arg(long)]
    keep: bool,
    /// How long to wait for the basic scan the probe starts, in seconds.
    #[arg(long, default_value_t = 90)]
    scan_wait: u64,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
    /// The temporary repositories' prefix (default: `ecr-warden-probe-<8 random hex>`); a
    /// repository that exists already under it is never touched.
    #[arg(long)]
    prefix: Option<String>,
}

/// Whether ecr-warden's promise holds under the reading observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Promise {
    Holds,
    Broken,
    Unknown,
}

impl From<bool> for Promise {
    fn from(holds: bool) -> Self {
        if holds { Self::Holds } else { Self::Broken }
    }
}

impl Promise {
    fn as_str(self) -> &'static str {
        match self {
            Self::Holds => "holds",
            Self::Broken => "broken",
            Self::Unknown => "unknown",
        }
    }
}

/// One behaviour: the reading the account showed (`None`: not settled here) and the promise.
struct Observation {
    behaviour: &'static str,
    reading: Option<&'static str>,
    promise: Promise,
    detail: String,
    failed: bool,
}

impl Observation {
    fn new(
        behaviour: &'static str,
        reading: Option<&'static str>,
        promise: Promise,
        detail: String,
    ) -> Self {
        Self {
            behaviour,
            reading,
            promise,
            detail,
            failed: false,
        }
    }

    fn failed(behaviour: &'static str, error: &anyhow::Error) -> Self {
        Self {
            failed: true,
            ..Self::new(
                behaviour,
                None,
                Promise::Unknown,
                format!("could not run: {error:#}"),
            )
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "behaviour": self.behaviour,
            "reading": self.reading,
            "promise": self.promise.as_str(),
            "detail": self.detail,
            "failed": self.failed,
        })
    }
}

/// The clients and the temporary repositories of one probe run.
struct Probe {
    ecr: aws_sdk_ecr::Client,
    inspector: aws_sdk_inspector2::Client,
    registry: EcrRegistry,
    scanners: Scanners,
    account: AccountId,
    region: Region,
    /// `ecr-warden-probe-<8 hex>`: the run's repositories' prefix, and the value of their
    /// `RUN_TAG` tag.
    prefix: String,
    mutable: String,
    immutable: String,
    exclusion: String,
    /// Repositories whose CreateRepository was sent and not refused (the outcome may be unknown:
    /// an error or Ctrl-C in flight), and those ECR confirmed created.
    attempted: Mutex<Vec<String>>,
    created: Mutex<Vec<String>>,
}

/// The tag every repository the probe creates carries, valued with the run's prefix: clean-up
/// deletes a repository whose creation it did not see confirmed only when it carries it.
const RUN_TAG: &str = "ecr-warden-probe";

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Probe {
    fn new(
        sdk: &aws_config::SdkConfig,
        calls: &ApiCalls,
        prefix: &str,
        account: AccountId,
        region: Region,
    ) -> Self {
        Self {
            ecr: counted!(aws_sdk_ecr, sdk, calls),
            inspector: counted!(aws_sdk_inspector2, sdk, calls),
            registry: EcrRegistry::from_sdk(sdk, calls),
            scanners: Scanners::from_sdk(sdk, calls),
            account,
            region,
            prefix: prefix.to_owned(),
            mutable: format!("{prefix}/mutable"),
            immutable: format!("{prefix}/immutable"),
            exclusion: format!("{prefix}/exclusion"),
            attempted: Mutex::new(Vec::new()),
            created: Mutex::new(Vec::new()),
        }
    }

    fn repositories(&self) -> [&str; 3] {
        [&self.mutable, &self.immutable, &self.exclusion]
    }

    async fn create_repositories(&self) -> anyhow::Result<()> {
        let filter = ImageTagMutabilityExclusionFilter::builder()
            .filter(steps::EXCLUSION_FILTER)
            .filter_type(ImageTagMutabilityExclusionFilterType::Wildcard)
            .build()?;
        let settings = [
            (&self.mutable, ImageTagMutability::Mutable, None),
            (&self.immutable, ImageTagMutability::Immutable, None),
            (
                &self.exclusion,
                ImageTagMutability::ImmutableWithExclusion,
                Some(filter),
            ),
        ];
        let run = aws_sdk_ecr::types::Tag::builder()
            .key(RUN_TAG)
            .value(&self.prefix)
            .build()?;
        for (name, mode, filter) in settings {
            locked(&self.attempted).push(name.clone());
            let out = self
                .ecr
                .create_repository()
                .repository_name(name)
                .image_tag_mutability(mode)
                .set_image_tag_mutability_exclusion_filters(filter.map(|f| vec![f]))
                .tags(run.clone())
                .send()
                .await;
            match out {
                Ok(_) => locked(&self.created).push(name.clone()),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_repository_already_exists_exception()) =>
                {
                    // Not ours: never touched, never deleted.
                    locked(&self.attempted).retain(|n| n != name);
                    anyhow::bail!(
                        "{name} exists already: the probe works only in repositories it creates"
                    );
                }
                Err(e) => return Err(e).with_context(|| format!("ecr:CreateRepository {name}")),
            }
        }
        Ok(())
    }

    /// Every behaviour, in turn; a step that fails is reported and the others still run.
    async fn observe(&self, scan_wait: Duration) -> Vec<Observation> {
        let mut seen = Vec::new();
        macro_rules! step {
            ($name:literal, $call:expr) => {
                seen.push(
                    $call
                        .await
                        .unwrap_or_else(|e| Observation::failed($name, &e)),
                )
            };
        }
        step!(
            "batch_delete_digest_and_tag",
            self.batch_delete_digest_and_tag()
        );
        step!("batch_get_image_id", self.batch_get_image_id());
        step!(
            "put_image_same_tag_immutable",
            self.put_image_same_tag_immutable()
        );
        step!(
            "exclusion_filter_anchoring",
            self.exclusion_filter_anchoring()
        );
        step!(
            "scan_no_findings_counts",
            self.scan_no_findings_counts(scan_wait)
        );
        step!("artifact_media_type", self.artifact_media_type());
        step!(
            "unreferenced_layer_download",
            self.unreferenced_layer_download()
        );
        step!(
            "inspector_filter_combination",
            self.inspector_filter_combination()
        );
        step!(
            "overwrite_leaves_the_old_image",
            self.overwrite_leaves_the_old_image()
        );
        seen.push(Self::replication_rules_limit());
        seen
    }

    /// Delete every repository the probe created (with its images): those ECR confirmed, and
    /// those whose creation was in flight when a step failed or the run was interrupted, if they
    /// exist and carry this run's tag. One already gone counts as deleted. Returns those that
    /// could not be deleted, with why.
    async fn clean_up(&self) -> Vec<(String, String)> {
        let mut left = Vec::new();
        let attempted = locked(&self.attempted).clone();
        for name in &attempted {
            if !locked(&self.created).contains(name) {
                match self.carries_run_tag(name).await {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(e) => {
                        left.push((
                            name.clone(),
                            format!("cannot tell whether it is the probe's: {e:#}"),
                        ));
                        continue;
                    }
                }
            }
            let out = self
                .ecr
                .delete_repository()
                .repository_name(name)
                .force(true)
                .send()
                .await;
            match out {
                Ok(_) => {}
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_repository_not_found_exception()) => {}
                Err(e) => left.push((name.clone(), steps::one_line(&e))),
            }
        }
        left
    }

    /// Whether `name` exists and carries this run's tag (DescribeRepositories,
    /// ListTagsForResource); a missing repository does not.
    async fn carries_run_tag(&self, name: &str) -> anyhow::Result<bool> {
        let found = self
            .ecr
            .describe_repositories()
            .repository_names(name)
            .send()
            .await;
        let arn = match found {
            Ok(out) => out
                .repositories()
                .first()
                .and_then(|r| r.repository_arn())
                .map(str::to_owned),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_repository_not_found_exception()) =>
            {
                None
            }
            Err(e) => return Err(e).context("ecr:DescribeRepositories"),
        };
        let Some(arn) = arn else { return Ok(false) };
        let tags = self
            .ecr
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .context("ecr:ListTagsForResource")?;
        Ok(tags
            .tags()
            .iter()
            .any(|t| t.key() == RUN_TAG && t.value() == self.prefix))
    }
}

/// A prefix no other run shares: `ecr-warden-probe-<8 hex>`.
fn run_prefix() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let seed = format!("{nanos}-{}", std::process::id());
    let digest = warden_core::names::Digest::of_bytes(seed.as_bytes());
    let hex = digest.as_str().trim_start_matches("sha256:");
    format!("ecr-warden-probe-{}", &hex[..8])
}

pub fn run(args: &ProbeArgs, calls: &ApiCalls) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let sdk = load_sdk_config().await?;
        let sdk = match &args.region {
            Some(region) => sdk.to_builder().region(aws_config::Region::new(region.clone())).build(),
            None => sdk,
        };
        let region = configured_region(&sdk, " or pass --region")?;
        let account = caller(&sdk).await?;
        let prefix = args.prefix.clone().unwrap_or_else(run_prefix);
        let probe = Probe::new(&sdk, calls, &prefix, account.clone(), region.clone());
        let work = async {
            probe.create_repositories().await?;
            anyhow::Ok(probe.observe(Duration::from_secs(args.scan_wait)).await)
        };
        let outcome = tokio::select! {
            done = work => done,
            _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
        };
        let left = if args.keep { Vec::new() } else { probe.clean_up().await };
        let report = json!({
            "region": region.as_str(),
            "account": account.as_str(),
            "repositories": probe.repositories(),
            "kept": args.keep,
            "left_behind": left.iter().map(|(n, why)| json!({"repository": n, "why": why})).collect::<Vec<_>>(),
            "behaviours": outcome.as_ref().map(|seen| seen.iter().map(Observation::to_json).collect::<Vec<_>>()).unwrap_or_default(),
            "error": outcome.as_ref().err().map(|e| format!("{e:#}")),
        });
        if args.json {
            emit(&serde_json::to_string_pretty(&report)?)?;
        } else {
            emit(&summary(&report))?;
        }
        let seen = match outcome {
            Ok(seen) => seen,
            Err(_) => return Ok(ExitCode::from(2)),
        };
        if !left.is_empty() || seen.iter().any(|o| o.failed) {
            return Ok(ExitCode::from(2));
        }
        let broken = seen.iter().any(|o| o.promise == Promise::Broken);
        Ok(if broken { ExitCode::from(1) } else { ExitCode::SUCCESS })
    })
}

fn summary(report: &Value) -> String {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let mut out = format!(
        "warden probe: {} in account {}, repositories {}\n",
        text(&report["region"]),
        text(&report["account"]),
        report["repositories"]
            .as_array()
            .map(|r| r.iter().map(text).collect::<Vec<_>>().join(", "))
            .unwrap_or_default(),
    );
    for b in report["behaviours"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "  {:<32} {:<24} promise {:<7} {}\n",
            text(&b["behaviour"]),
            b["reading"].as_str().unwrap_or("(not settled)"),
            text(&b["promise"]),
            text(&b["detail"]),
        ));
    }
    if let Some(error) = report["error"].as_str() {
        out.push_str(&format!("stopped: {error}\n"));
    }
    let left = report["left_behind"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if report["kept"].as_bool() == Some(true) {
        out.push_str("kept: the repositories above (--keep); delete them with `aws ecr delete-repository --force`\n");
    } else if left.is_empty() {
        out.push_str("cleaned up: every repository the probe created is deleted\n");
    } else {
        for l in left {
            out.push_str(&format!(
                "NOT deleted: {} ({})\n",
                text(&l["repository"]),
                text(&l["why"])
            ));
        }
    }
    out
}
