//! `warden`: the operator's side of ecr-warden, on the same core the Lambdas run.
//!
//! Exit codes (also in `warden --help`): 0 success; 1 the input is understood but not acceptable
//! (an invalid policy, a FAIL verdict, a problem `doctor` found, a handler that failed); 2 the
//! input cannot be read or parsed, or AWS cannot be asked (no credentials, no region, an error);
//! 3 `gate`: no verdict yet.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use serde_json::{Value, json};
use warden_aws::ApiCalls;
use warden_aws::runtime::errors::one_line;
use warden_core::event::{Event, Incoming, parse_incoming};
use warden_core::explain::describe;
use warden_core::names::repository_from_name_or_arn;
use warden_core::policy::{Policy, SCHEMA};
use warden_core::tag_guard::{self, Start, Step, TagFacts};

#[derive(Parser)]
#[command(
    name = "warden",
    version,
    about = "Event-driven guardrails for Amazon ECR",
    after_help = "Exit codes: 0 success; 1 understood but not acceptable (an invalid policy, a FAIL \
verdict, a problem doctor found, a handler that failed); 2 input that cannot be read or parsed, or \
AWS that cannot be asked (credentials, region, an error); 3 gate: no verdict yet.\n\n\
AWS: the standard credential chain and region (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL, ...)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Say what an event is and, with --policy, which policy sections apply to it.
    Explain {
        /// An EventBridge event, SNS delivery or SQS batch, as JSON (`-` for stdin).
        event: PathBuf,
        /// The policy file to evaluate the event against.
        #[arg(long, env = "WARDEN_POLICY_FILE")]
        policy: Option<PathBuf>,
    },
    /// Check a policy file against its schema and ECR's limits; list every problem.
    Validate { policy: PathBuf },
    /// Print the policy's JSON Schema (for editors and CI).
    Schema,
    /// Plan without changing anything.
    Plan {
        #[command(subcommand)]
        what: PlanWhat,
    },
    /// Copy existing images the policy replicates (`--backfill`, `--dry-run` to list them), or
    /// reconcile ECR's own replication with the policy's `native` rules (`--native`, `--apply`).
    ///
    /// Examples: warden replicate --backfill --policy policy.yaml --table ecr-warden-state --dry-run
    ///           warden replicate --native --policy policy.yaml --apply
    Replicate(replicate::ReplicateArgs),
    /// Evaluate an existing image now: its scan, the verdict and what scan-gate would do.
    ///
    /// Example: warden gate team-a/api:v1.2.3 --policy policy.yaml --table ecr-warden-state
    ///          (exit 0 PASS, 1 FAIL, 3 no verdict yet; --apply acts as scan-gate would)
    Gate(gate::GateArgs),
    /// Why does this image not pull? Repository, region, tag, quarantine, archive, repository
    /// policy — each checked, with the fix.
    ///
    /// Example: warden doctor 123456789012.dkr.ecr.us-east-1.amazonaws.com/team-a/api:v1
    ///          --principal arn:aws:iam::210987654321:role/ecsTaskExecutionRole
    Doctor(doctor::DoctorArgs),
    /// Run one function's handler here on one event, against the configured AWS (or emulator).
    ///
    /// Example: WARDEN_TABLE=ecr-warden-state warden invoke tag-guard events/ecr-image-action.push.json
    ///          --policy policy.yaml --dry-run
    Invoke(invoke::InvokeArgs),
    /// Settle on a real account what AWS's documentation leaves open: in temporary repositories,
    /// which reading of each undocumented behaviour the account shows, and whether ecr-warden's
    /// promises hold under it (exit 1 if one does not). Everything it creates is deleted, also on
    /// failure or Ctrl-C. Run it once per partition before turning DryRun off.
    ///
    /// Example: warden probe --region eu-west-1
    Probe(probe::ProbeArgs),
    /// Start the fan-out engine (the Step Functions state machine) on a job across every account
    /// and region of the plan; with --wait, follow it: lanes done and failed, then its summary
    /// (exit 0 SUCCEEDED, 1 FAILED/TIMED_OUT/ABORTED, 130 Ctrl-C: the execution goes on).
    ///
    /// Example: warden run cleanup --state-machine arn:aws:states:us-east-1:123456789012:stateMachine:FanOut --wait
    Run(run::RunArgs),
    /// Clean up: plan, and with --apply delete where the policy says `cleanup.apply: true`.
    Cleanup {
        #[command(flatten)]
        args: CleanupArgs,
        /// Delete for real (only in repositories whose policy has `apply: true`).
        #[arg(long)]
        apply: bool,
    },
}

#[derive(Subcommand)]
enum PlanWhat {
    /// What janitor would delete and keep, and why (reads ECR, ECS and Lambda; changes nothing).
    Cleanup(CleanupArgs),
}

#[derive(clap::Args)]
pub(crate) struct CleanupArgs {
    /// The policy file.
    #[arg(long, env = "WARDEN_POLICY_FILE")]
    policy: PathBuf,
    /// Print the plan as JSON instead of a summary.
    #[arg(long)]
    json: bool,
    /// Only this repository.
    #[arg(long)]
    repository: Option<String>,
    /// The registry's account (default: the credentials' account, from STS).
    #[arg(long)]
    account: Option<String>,
}

mod aws;
mod cleanup;
mod doctor;
mod gate;
mod invoke;
mod probe;
mod replicate;
mod run;
mod signature_evidence;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Every AWS call the command makes counts here; with the `call-log` feature (the CLI's tests)
    // they go to $WARDEN_CALL_LOG/warden-<command>.calls, which docs/cli-policy.json is checked
    // against (tests/infra/cli_policy_check.py).
    let calls = ApiCalls::new();
    let name = format!("warden-{}", cli.command.name());
    let result = run(cli, &calls);
    calls.log_as(&name);
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("warden: {}", one_line(err.as_ref()));
            ExitCode::from(2)
        }
    }
}

impl Command {
    /// The command as the call log names it: `gate`, `plan-cleanup`, `replicate-native`,
    /// `invoke-tag-guard`, ...
    fn name(&self) -> String {
        match self {
            Command::Explain { .. } => "explain".into(),
            Command::Validate { .. } => "validate".into(),
            Command::Schema => "schema".into(),
            Command::Plan {
                what: PlanWhat::Cleanup(_),
            } => "plan-cleanup".into(),
            Command::Replicate(args) => args.name().into(),
            Command::Gate(_) => "gate".into(),
            Command::Doctor(_) => "doctor".into(),
            Command::Invoke(args) => args.name(),
            Command::Probe(_) => "probe".into(),
            Command::Run(_) => "run".into(),
            Command::Cleanup { .. } => "cleanup".into(),
        }
    }
}

fn run(cli: Cli, calls: &ApiCalls) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Explain { event, policy } => explain(&event, policy.as_deref()),
        Command::Validate { policy } => Ok(validate(&policy)?),
        Command::Schema => {
            emit(SCHEMA)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Plan {
            what: PlanWhat::Cleanup(args),
        } => cleanup::run(&args, false, calls),
        Command::Cleanup { args, apply } => cleanup::run(&args, apply, calls),
        Command::Replicate(args) => replicate::run(&args, calls),
        Command::Gate(args) => gate::run(&args, calls),
        Command::Doctor(args) => doctor::run(&args, calls),
        Command::Invoke(args) => invoke::run(&args, calls),
        Command::Probe(args) => probe::run(&args, calls),
        Command::Run(args) => run::run(&args, calls),
    }
}

/// Print to stdout; a closed pipe (`warden explain x | head`) ends quietly instead of panicking.
pub(crate) fn emit(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing to stdout"),
    }
}

pub(crate) fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf).context("reading stdin")?;
        return Ok(buf);
    }
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

pub(crate) fn load_policy(path: &Path) -> anyhow::Result<Policy> {
    let text = String::from_utf8(read(path)?)
        .with_context(|| format!("{} is not UTF-8", path.display()))?;
    Policy::from_yaml(&text).with_context(|| format!("policy {}", path.display()))
}

fn explain(event: &Path, policy: Option<&Path>) -> anyhow::Result<ExitCode> {
    let bytes = read(event)?;
    if let Some(deadline) = grace_deadline(&bytes) {
        emit(&serde_json::to_string_pretty(&deadline)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let incoming = parse_incoming(&bytes).with_context(|| format!("{}", event.display()))?;
    let mut out = describe(&incoming);
    if let Some(path) = policy {
        let policy = load_policy(path)?;
        if let (Incoming::Event(event), Some(obj)) = (&incoming, out.as_object_mut()) {
            let repository = obj
                .get("repository")
                .and_then(Value::as_str)
                .and_then(|r| repository_from_name_or_arn(r).ok());
            if let Some(repository) = repository {
                obj.insert("policy".into(), json!(policy.for_repository(&repository)));
            }
            obj.insert("tag_guard".into(), explain_tag_guard(event, &policy));
            obj.insert("scan_gate".into(), explain_scan_gate(event, &policy));
        }
    }
    emit(&serde_json::to_string_pretty(&out)?)?;
    Ok(ExitCode::SUCCESS)
}

/// What the end of a signature grace asks of scan-gate (the payload its one-time schedule
/// sends), when `bytes` is one: the image it evaluates again.
fn grace_deadline(bytes: &[u8]) -> Option<Value> {
    use warden_core::event::FunctionInput as _;
    let value: Value = serde_json::from_slice(bytes).ok()?;
    value.get("signature_deadline")?;
    match warden_core::scan_gate::Input::parse(value) {
        Ok(warden_core::scan_gate::Input::Deadline(d)) => Some(json!({
            "kind": "signature_deadline",
            "function": "scan-gate",
            "account": d.account,
            "region": d.region,
            "repository": d.repository,
            "digest": d.digest,
            "at": d.at,
            "does": "evaluates the image again as ECR describes it now (its signature's grace ended)",
        })),
        Ok(_) => None,
        Err(refused) => {
            Some(json!({"kind": "signature_deadline", "malformed": refused.to_string()}))
        }
    }
}

fn validate(path: &Path) -> anyhow::Result<ExitCode> {
    let text = String::from_utf8(read(path)?)
        .with_context(|| format!("{} is not UTF-8", path.display()))?;
    match Policy::from_yaml(&text) {
        Ok(policy) => {
            let rules = policy.document().repositories.len();
            let plural = if rules == 1 { "" } else { "s" };
            emit(&format!(
                "{}: valid ({rules} repository rule{plural})",
                path.display()
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            for problem in &err.problems {
                emit(&format!("{}: {problem}", path.display()))?;
            }
            eprintln!(
                "{}: {} problem{}",
                path.display(),
                err.problems.len(),
                if err.problems.len() == 1 { "" } else { "s" }
            );
            Ok(ExitCode::from(1))
        }
    }
}

/// What tag-guard would do with the event: the plan when the event alone decides, otherwise the
/// first fact it would read and what each answer leads to. Nothing is read from AWS here.
fn explain_tag_guard(event: &Event, policy: &Policy) -> Value {
    let ctx = tag_guard::Context {
        account: event.envelope.account.clone(),
        region: event.envelope.region.clone(),
        event_id: event.envelope.id.clone(),
        force_dry_run: false,
        now: chrono::Utc::now(),
    };
    match tag_guard::start(event, policy, &ctx) {
        Start::Plan(plan) => json!({ "plan": plan }),
        Start::Sweep => json!({
            "sweep": "every repository: set tag mutability to the policy's; every protected tag: record or revert"
        }),
        Start::Tag {
            repository,
            tag,
            digest,
            observed_at,
            replicated_from,
        } => {
            let moved = if replicated_from.is_some() {
                "an earlier digest is recorded and the tag no longer points to it: the tag follows its source (ECR replication), the ledger follows it, notify"
            } else {
                "an earlier digest is recorded and the tag no longer points to it: keep the pushed image under the offender tag, point the tag back, notify"
            };
            let facts = TagFacts {
                replicated_from,
                ..TagFacts::default()
            };
            match tag_guard::decide_tag(
                &repository,
                &tag,
                &digest,
                observed_at,
                policy,
                &ctx,
                &facts,
            ) {
                Step::Done(plan) => json!({ "plan": plan }),
                Step::Need(need) => json!({
                    "needs": need,
                    "then": [
                        "no entry for the tag: record this digest (nothing else)",
                        "the entry is this digest: nothing (a duplicate event)",
                        moved,
                        "the tag already points to the recorded digest: nothing",
                    ],
                }),
            }
        }
    }
}

/// What explain assumes of an image it does not read: its tags still point to it.
fn assumed_image(
    digest: warden_core::names::Digest,
    tags: Vec<warden_core::names::Tag>,
) -> warden_core::records::ImageView {
    let manifest = warden_core::records::Manifest {
        digest: digest.clone(),
        media_type: None,
        bytes: String::new(),
    };
    let tags = tags
        .into_iter()
        .map(|t| (t, Some(digest.clone())))
        .collect();
    warden_core::records::ImageView {
        manifest: Some(manifest),
        tags,
    }
}

/// What scan-gate would decide: the verdict and its actions, assuming a first verdict for the image
/// and that the event's tags still point to it. When the findings decide, says so (nothing is read).
fn explain_scan_gate(event: &Event, policy: &Policy) -> Value {
    use warden_core::records::VerdictClaim;
    use warden_core::scan_gate::{self, Facts, Need, Step};
    let subject = match scan_gate::subject(event) {
        Ok(subject) => subject,
        Err(reason) => return json!({ "skip": reason }),
    };
    let ctx = scan_gate::Context {
        account: event.envelope.account.clone(),
        region: event.envelope.region.clone(),
        event_id: event.envelope.id.clone(),
        force_dry_run: false,
        now: chrono::Utc::now(),
    };
    let mut facts = Facts::default();
    loop {
        match scan_gate::decide(&subject, policy, &ctx, &facts) {
            Step::Done(plan) => {
                return json!({
                    "plan": plan,
                    "assuming": "no earlier verdict for this image, its tags are the event's and still point to it, and no index names it",
                });
            }
            Step::Wait(wait) => return json!({ "wait": wait.reason }),
            Step::Need(Need::CurrentTags { .. }) => {
                facts.current_tags = Some(Some(subject.tags.clone()))
            }
            Step::Need(Need::ParentIndexes { .. }) => {
                facts.parents = Some(scan_gate::Parents::default())
            }
            Step::Need(Need::VerdictClaim { .. }) => {
                facts.claim = Some(VerdictClaim::Recorded { previous: None })
            }
            Step::Need(Need::ImageTags { digest, tags, .. }) => {
                facts.image = Some(assumed_image(digest, tags))
            }
            Step::Need(need @ Need::RecordedVerdict { .. }) => {
                return json!({
                    "needs": need,
                    "why": "a pushed tag is taken away only when the image's recorded verdict is FAIL, which explain does not read",
                });
            }
            Step::Need(need) => {
                return json!({
                    "needs": need,
                    "why": "the verdict depends on the individual findings (exceptions or the fixable filter), which explain does not read",
                });
            }
        }
    }
}
