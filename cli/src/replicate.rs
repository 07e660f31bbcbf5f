//! `warden replicate --backfill`: copy what the policy replicates and the destinations lack — the
//! images that existed before the replicator did (ECR's own replication never copies them) — or,
//! with `--dry-run`, list what would be copied. Same decision and copy as the replicator Lambda.

use std::process::ExitCode;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use warden_aws::adapters::replication::DEFAULT_CONCURRENCY;
use warden_aws::functions::replicator::{
    BackfillOptions, BackfillReport, NativeReport, Outcome, Replicator, ReplicatorConfig,
};
use warden_aws::{ApiCalls, load_sdk_config};
use warden_core::names::{AccountId, RepositoryName};
use warden_core::replicate::native::NativeConfiguration;

use crate::aws::registry;
use crate::{emit, load_policy};

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("mode").required(true).args(["backfill", "native"])))]
pub(crate) struct ReplicateArgs {
    /// Copy the images that already exist (new images are the replicator Lambda's).
    #[arg(long)]
    backfill: bool,
    /// Reconcile the registry's own replication configuration with the policy's `native` rules
    /// (a plan; `--apply` puts it).
    #[arg(long)]
    native: bool,
    /// With --native: put the configuration when it differs.
    #[arg(long, requires = "native")]
    apply: bool,
    /// The policy file.
    #[arg(long, env = "WARDEN_POLICY_FILE")]
    policy: std::path::PathBuf,
    /// Only this repository (default: every repository with a replication rule).
    #[arg(long)]
    repository: Option<String>,
    /// List what would be copied; copy nothing.
    #[arg(long, conflicts_with = "native")]
    dry_run: bool,
    /// scan-gate's verdict table: gated repositories copy only images it recorded a PASS for
    /// (without it, gated images are skipped).
    #[arg(long, env = "WARDEN_TABLE")]
    table: Option<String>,
    /// Publish a message per image on this topic, as the Lambda does.
    #[arg(long)]
    topic_arn: Option<String>,
    /// Layers copied at once per image.
    #[arg(long, default_value_t = DEFAULT_CONCURRENCY)]
    concurrency: usize,
    /// Print the report as JSON instead of a summary.
    #[arg(long)]
    json: bool,
    /// The registry's account (default: the credentials' account, from STS).
    #[arg(long)]
    account: Option<String>,
}

impl ReplicateArgs {
    /// The command as the call log names it.
    pub(crate) fn name(&self) -> &'static str {
        if self.native {
            "replicate-native"
        } else {
            "replicate-backfill"
        }
    }
}

pub fn run(args: &ReplicateArgs, calls: &ApiCalls) -> anyhow::Result<ExitCode> {
    if args.native {
        return native(args, calls);
    }
    let policy = load_policy(&args.policy)?;
    let only = args
        .repository
        .as_deref()
        .map(RepositoryName::new)
        .transpose()?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let (report, account) = runtime.block_on(async {
        let sdk = load_sdk_config().await?;
        let here = registry(&sdk, args.account.as_deref()).await?;
        let config = ReplicatorConfig {
            table: args.table.clone(),
            topic_arn: args.topic_arn.clone(),
            dry_run: args.dry_run,
            concurrency: args.concurrency,
        };
        let replicator = Replicator::new(&sdk, calls, policy, config)?;
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix}: {msg} [{elapsed}]")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        let options = BackfillOptions {
            only,
            dry_run: args.dry_run,
            notify: args.topic_arn.is_some(),
        };
        let report = replicator
            .backfill(&here, &options, &|repository, n| {
                bar.set_prefix(repository.to_string());
                bar.set_message(format!("image {n}"));
                bar.tick();
            })
            .await;
        bar.finish_and_clear();
        anyhow::Ok((report?, here.account))
    })?;
    if args.json {
        emit(&serde_json::to_string_pretty(&report)?)?;
    } else {
        emit(&summary(&report, &account))?;
    }
    Ok(if report.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn mib(bytes: u64) -> String {
    format!("{:.2} MiB", bytes as f64 / (1u64 << 20) as f64)
}

/// One line per image copied or planned, then the totals.
fn summary(report: &BackfillReport, account: &AccountId) -> String {
    let mut out = String::new();
    for item in &report.items {
        let tags = item
            .tags
            .iter()
            .map(|t| t.as_str())
            .collect::<Vec<_>>()
            .join(",");
        let image = format!("{}@sha256:{} {tags}", item.repository, item.digest.short());
        match &item.outcome {
            Outcome::Planned { plan } => {
                let targets: Vec<String> = plan.targets.iter().map(|t| t.label(account)).collect();
                out.push_str(&format!("{image} → {}: would copy\n", targets.join(", ")));
            }
            Outcome::Replicated { body } => {
                for copy in &body.copies {
                    out.push_str(&format!(
                        "{image} → {}: {} layer(s) copied ({}), {} present\n",
                        copy.target,
                        copy.layers_copied,
                        mib(copy.bytes_copied),
                        copy.layers_skipped
                    ));
                }
            }
            Outcome::Skipped { .. } => {}
        }
    }
    for e in &report.errors {
        out.push_str(&format!("error: {e}\n"));
    }
    let mode = if report.dry_run {
        "plan only: nothing was copied"
    } else {
        "copied"
    };
    out.push_str(&format!(
        "total: {} of {} images in {} repositories, {} skipped ({} archived; --json says why), {} layers copied, {} present, {} — {mode}",
        report.copied,
        report.images,
        report.repositories,
        report.skipped,
        report.archived,
        report.layers_copied,
        report.layers_skipped,
        mib(report.bytes_copied)
    ));
    out
}

/// `--native`: the registry's replication configuration against the policy's.
fn native(args: &ReplicateArgs, calls: &ApiCalls) -> anyhow::Result<ExitCode> {
    let policy = load_policy(&args.policy)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let report = runtime.block_on(async {
        let sdk = load_sdk_config().await?;
        let here = registry(&sdk, args.account.as_deref()).await?;
        let config = ReplicatorConfig {
            table: None,
            topic_arn: None,
            dry_run: !args.apply,
            concurrency: DEFAULT_CONCURRENCY,
        };
        let replicator = Replicator::new(&sdk, calls, policy, config)?;
        anyhow::Ok(replicator.reconcile_native(&here, args.apply).await?)
    })?;
    if args.json {
        emit(&serde_json::to_string_pretty(&report)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    emit(&native_summary(&report))?;
    Ok(ExitCode::SUCCESS)
}

/// The registry's configuration now, and what the policy's native rules make of it.
fn native_summary(report: &NativeReport) -> String {
    let mut out = format!("registry replication now:\n{}", show_rules(&report.current));
    if !report.managed {
        out.push_str("no rule of the policy is `native`: the configuration is left alone");
    } else if report.in_place {
        out.push_str(
            "in place: the registry already replicates what the policy's native rules say",
        );
    } else {
        out.push_str(&format!(
            "the policy's native rules:\n{}",
            show_rules(&report.desired)
        ));
        out.push_str(if report.applied {
            "applied: PutReplicationConfiguration"
        } else {
            "plan only: nothing was changed (--apply puts it)"
        });
    }
    out
}

/// A configuration's rules, a line each: the repositories it takes → its destinations.
fn show_rules(config: &NativeConfiguration) -> String {
    if config.rules.is_empty() {
        return "    (no rules)\n".into();
    }
    config
        .rules
        .iter()
        .map(|r| {
            let to: Vec<String> = r
                .destinations
                .iter()
                .map(|d| format!("{}/{}", d.registry_id, d.region))
                .collect();
            let which = if r.prefixes.is_empty() {
                "every repository".to_owned()
            } else {
                r.prefixes
                    .iter()
                    .map(|p| format!("{p}*"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            format!("    {which} → {}\n", to.join(", "))
        })
        .collect()
}
