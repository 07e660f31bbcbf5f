//! `warden plan cleanup` and `warden cleanup --apply`: janitor's run from a terminal, against the
//! AWS the environment points at (`AWS_PROFILE`, `AWS_REGION`, `AWS_ENDPOINT_URL`, ...).

use std::process::ExitCode;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use warden_aws::functions::janitor::{Janitor, JanitorConfig, RunOptions};
use warden_aws::{ApiCalls, load_sdk_config};
use warden_core::janitor::{Progress, Report, Unlimited};
use warden_core::names::RepositoryName;

use crate::aws::registry;
use crate::{CleanupArgs, emit, load_policy};

/// A spinner on stderr while repositories are listed; hidden when stderr is not a terminal.
struct Bar(ProgressBar);

impl Progress for Bar {
    fn repository(&self, name: &RepositoryName) {
        self.0.set_prefix(name.to_string());
        self.0.set_message("listing images");
        self.0.tick();
    }
    fn images_listed(&self, count: usize) {
        self.0.set_message(format!("{count} images listed"));
        self.0.tick();
    }
}

pub fn run(args: &CleanupArgs, apply: bool, calls: &ApiCalls) -> anyhow::Result<ExitCode> {
    let policy = load_policy(&args.policy)?;
    let only = args
        .repository
        .as_deref()
        .map(RepositoryName::new)
        .transpose()?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let report = runtime.block_on(async {
        let sdk = load_sdk_config().await?;
        let here = registry(&sdk, args.account.as_deref()).await?;
        let janitor = Janitor::new(&sdk, calls, policy, JanitorConfig::default());
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix}: {msg} [{elapsed}]")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        let report = janitor
            .run(
                here.account,
                here.region,
                &RunOptions {
                    only,
                    dry_run: !apply,
                    notify: false,
                },
                &Bar(bar.clone()),
                &Unlimited,
            )
            .await;
        bar.finish_and_clear();
        anyhow::Ok(report?)
    })?;
    if args.json {
        emit(&serde_json::to_string_pretty(&report)?)?;
    } else {
        emit(&summary(&report, apply))?;
    }
    Ok(if report.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn gib(bytes: u64) -> String {
    format!("{:.2} GiB", bytes as f64 / (1u64 << 30) as f64)
}

/// Per repository: kept and deleted counts, space freed, and why images are kept.
fn summary(report: &Report, apply: bool) -> String {
    let mut out = String::new();
    for r in &report.repositories {
        let verb = if r.applied { "deleted" } else { "would delete" };
        out.push_str(&format!(
            "{}: {} images, {verb} {}, keep {} ({} freed)\n",
            r.repository,
            r.images,
            r.plan.delete.len(),
            r.plan.keep.len(),
            gib(r.plan.bytes_freed)
        ));
        for (why, n) in r.plan.kept_because() {
            out.push_str(&format!("    keep {n:>6}  {why}\n"));
        }
    }
    for e in &report.errors {
        out.push_str(&format!("error: {e}\n"));
    }
    let total: usize = report
        .repositories
        .iter()
        .map(|r| r.plan.delete.len())
        .sum();
    let freed: u64 = report.repositories.iter().map(|r| r.plan.bytes_freed).sum();
    let mode = if apply {
        "applied where the policy allows (apply: true)"
    } else {
        "plan only: nothing was deleted"
    };
    out.push_str(&format!("total: {total} images, {} — {mode}", gib(freed)));
    out
}
