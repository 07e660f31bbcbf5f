//! `warden run cleanup|sweep|backfill [--wait]`: start the fan-out engine (the Step Functions state
//! machine of docs/organization.md, "The engine contract") with `{"job": <job>}`, and with `--wait`
//! follow the execution to its end: its Distributed Map's lanes as a bar, the plan's counts, and
//! the Summarize answer (or the error and cause) at the end.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use aws_sdk_sfn::error::{ProvideErrorMetadata, SdkError};
use serde_json::{Value, json};
use warden_aws::runtime::errors::one_line;
use warden_aws::{ApiCalls, counted, load_sdk_config};

use crate::emit;

mod follow;

/// The jobs the engine runs, each by its worker (janitor, tag-guard, replicator).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Job {
    /// janitor's cleanup, shard by shard.
    Cleanup,
    /// tag-guard's sweep.
    Sweep,
    /// the replicator's backfill.
    Backfill,
}

impl Job {
    fn as_str(self) -> &'static str {
        match self {
            Job::Cleanup => "cleanup",
            Job::Sweep => "sweep",
            Job::Backfill => "backfill",
        }
    }
}

#[derive(clap::Args)]
pub(crate) struct RunArgs {
    /// The job the engine runs across every account and region of the plan.
    job: Job,
    /// The fan-out state machine (`FanOutStateMachine`'s ARN; its region is the one asked).
    #[arg(long, env = "WARDEN_STATE_MACHINE_ARN")]
    state_machine: String,
    /// The execution's name (default `<job>-<UTC yyyymmddThhmmssZ>`); unique per state machine
    /// for 90 days.
    #[arg(long)]
    name: Option<String>,
    /// Follow the execution until it ends: lanes done and failed, then its summary.
    #[arg(long)]
    wait: bool,
    /// With --wait: seconds between polls (fractions allowed).
    #[arg(long, default_value = "5", value_parser = interval)]
    interval: Duration,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// A poll interval: a number of seconds above 0 and at most an hour.
fn interval(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !(seconds > 0.0 && seconds <= 3600.0) {
        return Err(format!("{text}: between 0 and 3600 seconds"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// A state machine's ARN: `arn:<partition>:states:<region>:<account>:stateMachine:<name>`, with
/// `:<version or alias>` after it when qualified (StartExecution takes both).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct StateMachineArn {
    pub region: String,
    pub name: String,
}

impl std::str::FromStr for StateMachineArn {
    type Err = String;

    fn from_str(arn: &str) -> Result<Self, String> {
        let parts: Vec<&str> = arn.split(':').collect();
        let [
            prefix,
            partition,
            service,
            region,
            account,
            kind,
            name,
            rest @ ..,
        ] = parts.as_slice()
        else {
            return Err(format!(
                "{arn}: not a state machine ARN (arn:aws:states:<region>:<account>:stateMachine:<name>)"
            ));
        };
        let wrong = |what: String| Err(format!("{arn}: not a state machine ARN: {what}"));
        if *prefix != "arn" || partition.is_empty() {
            return wrong("it does not start with arn:<partition>:".into());
        }
        if *service != "states" {
            return wrong(format!("its service is {service:?}, not \"states\""));
        }
        if region.is_empty() {
            return wrong("it names no region".into());
        }
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return wrong(format!("its account {account:?} is not 12 digits"));
        }
        if *kind != "stateMachine" {
            return wrong(format!("it names a {kind}, not a stateMachine"));
        }
        if name.is_empty() || rest.len() > 1 || rest.iter().any(|q| q.is_empty()) {
            return wrong(
                "it names no state machine (…:stateMachine:<name>[:<version or alias>])".into(),
            );
        }
        Ok(StateMachineArn {
            region: (*region).to_owned(),
            name: (*name).to_owned(),
        })
    }
}

/// Whether Step Functions takes `name` as an execution's name: 1 to 80 characters, none of white
/// space, brackets, wildcards, the special characters it lists, or control characters.
pub(crate) fn check_name(name: &str) -> Result<(), String> {
    const SPECIAL: &str = "<>{}[]?*\"#%\\^|~`$&,;:/";
    let length = name.chars().count();
    if !(1..=80).contains(&length) {
        return Err(format!("--name {name:?}: 1 to 80 characters, not {length}"));
    }
    match name
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || SPECIAL.contains(*c))
    {
        Some(c) => Err(format!(
            "--name {name:?}: Step Functions refuses {c:?} in an execution's name"
        )),
        None => Ok(()),
    }
}

/// The default execution name: the job and the UTC time, e.g. `cleanup-20260102T030405Z`.
pub(crate) fn default_name(job: Job, now: chrono::DateTime<chrono::Utc>) -> String {
    format!("{}-{}", job.as_str(), now.format("%Y%m%dT%H%M%SZ"))
}

/// An SDK error as one line naming AWS's error code (`ExecutionAlreadyExists: ...`).
pub(crate) fn aws_error<E>(doing: &str, err: SdkError<E>) -> anyhow::Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match (err.code(), err.message()) {
        (Some(code), Some(message)) => anyhow::anyhow!("{doing}: {code}: {message}"),
        (Some(code), None) => anyhow::anyhow!("{doing}: {code}"),
        _ => anyhow::anyhow!("{doing}: {}", one_line(&err)),
    }
}

pub fn run(args: &RunArgs, calls: &ApiCalls) -> anyhow::Result<ExitCode> {
    let machine: StateMachineArn = args
        .state_machine
        .parse()
        .map_err(|e: String| anyhow::anyhow!("--state-machine {e}"))?;
    let name = match &args.name {
        Some(name) => name.clone(),
        None => default_name(args.job, chrono::Utc::now()),
    };
    check_name(&name).map_err(anyhow::Error::msg)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let sdk = load_sdk_config().await?;
        let sdk = sdk
            .to_builder()
            .region(aws_config::Region::new(machine.region.clone()))
            .build();
        let sfn = counted!(aws_sdk_sfn, &sdk, calls);
        let input = json!({ "job": args.job.as_str() }).to_string();
        let started = sfn
            .start_execution()
            .state_machine_arn(&args.state_machine)
            .name(&name)
            .input(input)
            .send()
            .await
            .map_err(|e| aws_error("states:StartExecution", e))?;
        let execution = started.execution_arn().to_owned();
        if !args.wait {
            return started_only(args, &execution, calls);
        }
        if !args.json {
            emit(&execution)?;
        }
        let seen = follow::follow(&sfn, &execution, args.interval).await?;
        finished(args, &execution, &seen, calls)
    })
}

/// Without --wait: the execution's ARN (and the job, name and calls with --json).
fn started_only(args: &RunArgs, execution: &str, calls: &ApiCalls) -> anyhow::Result<ExitCode> {
    if args.json {
        let out = json!({
            "job": args.job.as_str(),
            "executionArn": execution,
            "api_calls": calls.snapshot(),
        });
        emit(&serde_json::to_string_pretty(&out)?)?;
    } else {
        emit(execution)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The end of a followed execution: its summary (0), its error and cause (1), or, interrupted
/// (Ctrl-C), that it goes on (130, the shell's code for SIGINT).
fn finished(
    args: &RunArgs,
    execution: &str,
    seen: &follow::Seen,
    calls: &ApiCalls,
) -> anyhow::Result<ExitCode> {
    let code = match seen.status.as_deref() {
        Some("SUCCEEDED") => ExitCode::SUCCESS,
        None => ExitCode::from(130),
        Some(_) => ExitCode::from(1),
    };
    if args.json {
        let mut out = seen.to_json();
        if let Some(obj) = out.as_object_mut() {
            obj.insert("job".into(), json!(args.job.as_str()));
            obj.insert("executionArn".into(), json!(execution));
            obj.insert("api_calls".into(), json!(calls.snapshot()));
        }
        emit(&serde_json::to_string_pretty(&out)?)?;
        return Ok(code);
    }
    match seen.status.as_deref() {
        None => eprintln!(
            "stopped following {execution}; the execution goes on \
             (aws stepfunctions describe-execution --execution-arn {execution})"
        ),
        Some("SUCCEEDED") => emit(&succeeded(seen))?,
        Some(status) => {
            let error = seen.error.as_deref().unwrap_or("(no error given)");
            let cause = seen.cause.as_deref().unwrap_or("(no cause given)");
            emit(&format!(
                "execution {status}: {}\nerror: {error}\ncause: {cause}",
                seen.lanes_line()
            ))?;
        }
    }
    Ok(code)
}

/// A succeeded run: the lanes, then the Summarize answer — a line per account where it has
/// per-account counts, and the answer itself.
fn succeeded(seen: &follow::Seen) -> String {
    let mut out = format!("execution SUCCEEDED: {}\n", seen.lanes_line());
    let output = seen.output.clone().unwrap_or(Value::Null);
    for (account, counts) in per_account(&output) {
        let n = |k: &str| counts.get(k).and_then(Value::as_u64).unwrap_or(0);
        out.push_str(&format!(
            "{account}: planned {}, applied {}, failed {}\n",
            n("planned"),
            n("applied"),
            n("failed")
        ));
    }
    out.push_str(&serde_json::to_string_pretty(&output).unwrap_or_default());
    out
}

/// The Summarize answer's per-account counts: `accounts` as an object keyed by account, or as a
/// list of objects that name their `account`.
fn per_account(output: &Value) -> Vec<(String, Value)> {
    match output.get("accounts") {
        Some(Value::Object(by_id)) => by_id.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(|v| Some((v.get("account")?.as_str()?.to_owned(), v.clone())))
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_machine_arn_is_read_and_anything_else_is_named() {
        let ok: StateMachineArn = "arn:aws:states:eu-west-1:123456789012:stateMachine:fanout"
            .parse()
            .expect("a state machine ARN");
        assert_eq!(ok.region, "eu-west-1");
        assert_eq!(ok.name, "fanout");
        assert!(
            "arn:aws:states:eu-west-1:123456789012:stateMachine:fanout:live"
                .parse::<StateMachineArn>()
                .is_ok()
        );
        let refused = |arn: &str| arn.parse::<StateMachineArn>().expect_err(arn);
        assert!(
            refused("arn:aws:states:us-east-1:123456789012:execution:fanout:x")
                .contains("names a execution, not a stateMachine")
        );
        assert!(
            refused("arn:aws:lambda:us-east-1:123456789012:function:f:1")
                .contains("its service is \"lambda\"")
        );
        assert!(refused("arn:aws:states:us-east-1:1234:stateMachine:f").contains("12 digits"));
        assert!(refused("fanout").contains("not a state machine ARN"));
        assert!(refused("arn:aws:states::123456789012:stateMachine:f").contains("no region"));
    }

    #[test]
    fn names_follow_step_functions_rules() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .expect("a time")
            .with_timezone(&chrono::Utc);
        let name = default_name(Job::Backfill, at);
        assert_eq!(name, "backfill-20260102T030405Z");
        assert!(check_name(&name).is_ok());
        assert!(check_name("a b").is_err());
        assert!(check_name("a:b").is_err());
        assert!(check_name(&"x".repeat(81)).is_err());
        assert!(check_name("").is_err());
    }

    #[test]
    fn intervals_are_positive_seconds() {
        assert_eq!(interval("0.25"), Ok(Duration::from_millis(250)));
        assert!(interval("0").is_err());
        assert!(interval("soon").is_err());
        assert!(interval("NaN").is_err());
    }
}
