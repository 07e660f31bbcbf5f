//! `warden invoke FUNCTION EVENT_FILE`: one function's Lambda handler run here, in-process, on one
//! event, against whatever the standard AWS configuration points at (`AWS_ENDPOINT_URL`, profile,
//! region). Configured from the same environment variables as the Lambda (`WARDEN_TABLE`, …);
//! `--policy` and `--dry-run` override theirs.
//!
//! Prints what the Lambda would log (its summary line) and its response. Exit: 0 handled, 1 the
//! handler failed (the Lambda error type and message on stderr: Lambda would retry a `Retryable`),
//! 2 input or configuration errors.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::ValueEnum;
use serde_json::{Value, json};
use warden_aws::functions::janitor::{Janitor, JanitorConfig};
use warden_aws::functions::notifier::{Notifier, NotifierConfig};
use warden_aws::functions::replicator::{Replicator, ReplicatorConfig};
use warden_aws::functions::scan_gate::{ScanGate, ScanGateConfig};
use warden_aws::functions::tag_guard::{TagGuard, TagGuardConfig};
use warden_aws::runtime::lambda::{Function, InvocationError};
use warden_aws::runtime::policy_source;
use warden_aws::{ApiCalls, load_sdk_config};

use crate::{emit, load_policy, read};

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum FunctionName {
    TagGuard,
    ScanGate,
    Notifier,
    Janitor,
    Replicator,
}

#[derive(clap::Args)]
pub(crate) struct InvokeArgs {
    /// The function whose handler runs.
    #[arg(value_enum)]
    function: FunctionName,
    /// The event: EventBridge, SNS delivery or SQS batch, as JSON (`-` for stdin); `events/` has
    /// one of each kind.
    event: PathBuf,
    /// The policy file (default: the function's own source, WARDEN_POLICY_FILE or WARDEN_POLICY_SSM).
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Plan only, as with WARDEN_DRY_RUN=true (notifier has no dry run: it only posts).
    #[arg(long)]
    dry_run: bool,
}

impl InvokeArgs {
    /// The command as the call log names it: `invoke-tag-guard`, ...
    pub(crate) fn name(&self) -> String {
        let function = self.function.to_possible_value();
        format!("invoke-{}", function.as_ref().map_or("", |f| f.get_name()))
    }
}

pub fn run(args: &InvokeArgs, calls: &ApiCalls) -> anyhow::Result<ExitCode> {
    let payload = event(&args.event)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let (result, api_calls) = runtime.block_on(async {
        let sdk = load_sdk_config().await?;
        let policy = match &args.policy {
            Some(path) => load_policy(path)?,
            None => policy_source::load_policy(&sdk, calls)
                .await
                .context("the policy (or pass --policy)")?,
        };
        let result = handle(args.function, args.dry_run, &sdk, calls, policy, payload).await?;
        anyhow::Ok((result, calls.snapshot()))
    })?;
    match result {
        Ok(response) => {
            emit(&serde_json::to_string_pretty(
                &json!({"response": response, "api_calls": api_calls}),
            )?)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(InvocationError {
            error_type,
            message,
        }) => {
            eprintln!("warden: the handler failed: {error_type}: {message}");
            Ok(ExitCode::from(1))
        }
    }
}

/// Run `function`'s handler in-process on `payload`, configured from the environment as the
/// Lambda is (`dry_run` forces its dry run).
async fn handle(
    function: FunctionName,
    dry: bool,
    sdk: &aws_config::SdkConfig,
    calls: &ApiCalls,
    policy: warden_core::policy::Policy,
    payload: Value,
) -> anyhow::Result<Result<serde_json::Value, InvocationError>> {
    Ok(match function {
        FunctionName::TagGuard => {
            let mut config = TagGuardConfig::from_env()?;
            config.dry_run |= dry;
            let f = TagGuard::new(sdk, calls, policy, config)
                .with_named_accounts(sdk)
                .await;
            f.handle(payload).await
        }
        FunctionName::ScanGate => {
            let mut config = ScanGateConfig::from_env()?;
            config.dry_run |= dry;
            let f = ScanGate::new(sdk, calls, policy, config)
                .with_named_accounts(sdk)
                .await;
            f.handle(payload).await
        }
        FunctionName::Notifier => {
            anyhow::ensure!(!dry, "notifier has no dry run: it only posts messages");
            let f = Notifier::new(sdk, calls, policy, NotifierConfig::from_env()?)?;
            f.handle(payload).await
        }
        FunctionName::Janitor => {
            let mut config = JanitorConfig::from_env()?;
            config.dry_run |= dry;
            Janitor::new(sdk, calls, policy, config)
                .handle(payload)
                .await
        }
        FunctionName::Replicator => {
            let mut config = ReplicatorConfig::from_env()?;
            config.dry_run |= dry;
            Replicator::new(sdk, calls, policy, config)?
                .handle(payload)
                .await
        }
    })
}

fn event(path: &Path) -> anyhow::Result<Value> {
    let bytes = read(path)?;
    let value: Value =
        serde_json::from_slice(&bytes).with_context(|| format!("{}: not JSON", path.display()))?;
    Ok(value)
}
