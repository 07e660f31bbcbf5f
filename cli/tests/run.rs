//! `warden run`, run as an operator runs it, against the local AWS emulator. No state machine runs
//! there (no Lambdas): each test plays the engine through `/_warden/seed/stepfunctions-map-run` —
//! the Plan state's exit, the map run's lanes, the execution's end — while `warden run --wait`
//! follows it.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed assertion

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{command_in, stdout_json, text, warden, warden_in};
use warden_tests::{Emulator, REGION, TestAccount, http};

/// A fan-out state machine in `acct` (its definition is never run here).
async fn state_machine(acct: &TestAccount) -> String {
    let sfn = aws_sdk_sfn::Client::new(&acct.sdk);
    let definition = json!({"StartAt": "Plan", "States": {"Plan": {"Type": "Succeed"}}});
    sfn.create_state_machine()
        .name("fanout")
        .definition(definition.to_string())
        .role_arn(format!("arn:aws:iam::{}:role/fanout", acct.id))
        .send()
        .await
        .unwrap()
        .state_machine_arn()
        .to_owned()
}

fn execution_arn(acct: &TestAccount, name: &str) -> String {
    format!(
        "arn:aws:states:{REGION}:{}:execution:fanout:{name}",
        acct.id
    )
}

/// The engine's next step on an execution (the emulator's seed route).
async fn engine(acct: &TestAccount, execution: &str, step: Value) {
    let mut body = json!({"account": acct.id, "region": REGION, "executionArn": execution});
    body.as_object_mut()
        .unwrap()
        .extend(step.as_object().unwrap().clone());
    let url = format!("{}/_warden/seed/stepfunctions-map-run", acct.emulator_url);
    let resp = http().post(url).json(&body).send().await.unwrap();
    let status = resp.status();
    assert!(status.is_success(), "seed: {}", resp.text().await.unwrap());
}

/// `warden ARGS` running, its stderr lines arriving on a channel as it writes them.
fn spawn(acct: &TestAccount, args: &[&str]) -> (Child, Receiver<String>) {
    let mut child = command_in(acct, args, &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    (child, rx)
}

/// Wait for a stderr line containing `needle` (what the bar shows where stderr is no terminal);
/// the lines read on the way are returned too.
fn saw(rx: &Receiver<String>, needle: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut lines = Vec::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) if line.contains(needle) => return lines,
            Ok(line) => lines.push(line),
            Err(_) => break,
        }
    }
    panic!("warden never printed {needle:?}; it printed {lines:#?}");
}

/// Wait for the execution to exist (warden started it).
async fn started(acct: &TestAccount, execution: &str) {
    let sfn = aws_sdk_sfn::Client::new(&acct.sdk);
    let deadline = Instant::now() + Duration::from_secs(20);
    while sfn
        .describe_execution()
        .execution_arn(execution)
        .send()
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "{execution} was never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `warden run JOB --wait --interval 0.1 --name NAME [EXTRA]` on a new state machine in `acct`,
/// once it has started the execution: the execution's ARN, the process, its stderr lines.
async fn following(
    acct: &TestAccount,
    job: &str,
    name: &str,
    extra: &[&str],
) -> (String, Child, Receiver<String>) {
    let machine = state_machine(acct).await;
    let execution = execution_arn(acct, name);
    let mut args = vec![
        "run",
        job,
        "--state-machine",
        &machine,
        "--name",
        name,
        "--wait",
    ];
    args.extend(["--interval", "0.1"]);
    args.extend_from_slice(extra);
    let (child, rx) = spawn(acct, &args);
    started(acct, &execution).await;
    (execution, child, rx)
}

const PLAN: &str = r#"{"job": "backfill", "plan": {"job": "backfill", "run": "b", "accounts": 2, "repositories": 9, "shards": 3, "lanes": 4}}"#;

fn plan_exited() -> Value {
    json!({"events": [{"type": "TaskStateExited",
                       "stateExitedEventDetails": {"name": "Plan", "output": PLAN}}]})
}

#[tokio::test]
async fn run_starts_one_execution_whose_input_is_only_the_job() {
    let acct = Emulator::shared().account().await;
    let machine = state_machine(&acct).await;
    let args = [
        "run",
        "cleanup",
        "--state-machine",
        &machine,
        "--name",
        "cleanup-t1",
        "--json",
    ];
    let out = warden_in(&acct, &args, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let shown = stdout_json(&out);
    let execution = execution_arn(&acct, "cleanup-t1");
    assert_eq!(shown["executionArn"], execution.as_str());
    assert_eq!(shown["api_calls"], json!({"SFN.StartExecution": 1}));

    let sfn = aws_sdk_sfn::Client::new(&acct.sdk);
    let described = sfn
        .describe_execution()
        .execution_arn(&execution)
        .send()
        .await
        .unwrap();
    assert_eq!(described.input(), Some(r#"{"job":"cleanup"}"#));
    assert_eq!(described.status().as_str(), "RUNNING");
    let listed = sfn
        .list_executions()
        .state_machine_arn(&machine)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.executions().len(), 1, "one StartExecution, one run");

    // The same name for another job: AWS refuses it, and warden names AWS's error.
    let again = [
        "run",
        "backfill",
        "--state-machine",
        &machine,
        "--name",
        "cleanup-t1",
    ];
    let out = warden_in(&acct, &again, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("ExecutionAlreadyExists"),
        "{}",
        text(&out)
    );
}

#[tokio::test]
async fn the_default_name_is_the_job_and_the_utc_time() {
    let acct = Emulator::shared().account().await;
    let machine = state_machine(&acct).await;
    // The ARN alone on stdout.
    let out = warden_in(&acct, &["run", "sweep", "--state-machine", &machine], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let arn = String::from_utf8(out.stdout.clone()).unwrap();
    let name = arn.trim().rsplit(':').next().unwrap().to_owned();
    let stamp = name
        .strip_prefix("sweep-")
        .unwrap_or_else(|| panic!("{arn}"));
    assert!(
        stamp.len() == 16 && stamp.as_bytes()[8] == b'T' && stamp.ends_with('Z'),
        "{arn}"
    );
}

#[tokio::test]
async fn wait_follows_the_lanes_to_success_and_prints_the_summary() {
    let acct = Emulator::shared().account().await;
    let (execution, child, rx) = following(&acct, "backfill", "b-ok", &[]).await;
    saw(&rx, "no map run seen");

    let first = json!({"mapRun": {"itemCounts": {"pending": 4}}});
    let mut step = plan_exited();
    step.as_object_mut()
        .unwrap()
        .extend(first.as_object().unwrap().clone());
    engine(&acct, &execution, step).await;
    saw(
        &rx,
        "plan: 3 shards, 9 repositories, 2 accounts; lanes 0/4: 0 succeeded, 0 failed, 0 running, 4 pending",
    );
    let counts = json!({"succeeded": 2, "running": 1, "pending": 1});
    engine(&acct, &execution, json!({"mapRun": {"itemCounts": counts}})).await;
    saw(
        &rx,
        "lanes 2/4: 2 succeeded, 0 failed, 1 running, 1 pending",
    );

    let summary = json!({"job": "backfill", "accounts": {
        "111111111111": {"planned": 5, "applied": 4, "failed": 1},
        "222222222222": {"planned": 2, "applied": 2, "failed": 0}}});
    let end = json!({"mapRun": {"itemCounts": {"succeeded": 4}, "status": "SUCCEEDED"},
                     "end": {"status": "SUCCEEDED", "output": summary}});
    engine(&acct, &execution, end).await;
    let out = child.wait_with_output().unwrap();
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(0), "{shown}");
    assert!(shown.contains(&execution), "{shown}");
    assert!(
        shown.contains("execution SUCCEEDED: lanes 4/4: 4 succeeded, 0 failed"),
        "{shown}"
    );
    assert!(
        shown.contains("111111111111: planned 5, applied 4, failed 1"),
        "{shown}"
    );
    assert!(
        shown.contains("222222222222: planned 2, applied 2, failed 0"),
        "{shown}"
    );
}

#[tokio::test]
async fn wait_ends_with_the_error_and_cause_of_a_failed_run() {
    let acct = Emulator::shared().account().await;
    let (execution, child, rx) = following(&acct, "cleanup", "c-bad", &["--json"]).await;
    let mut step = plan_exited();
    let lanes =
        json!({"mapRun": {"itemCounts": {"succeeded": 1, "failed": 3}, "status": "FAILED"}});
    step.as_object_mut()
        .unwrap()
        .extend(lanes.as_object().unwrap().clone());
    engine(&acct, &execution, step).await;
    saw(&rx, "lanes 4/4: 1 succeeded, 3 failed");
    let cause = "The specified tolerated failure threshold was exceeded.";
    let end = json!({"end": {"status": "FAILED", "error": "States.ExceedToleratedFailureThreshold", "cause": cause}});
    engine(&acct, &execution, end).await;
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let shown = stdout_json(&out);
    assert_eq!(shown["status"], "FAILED");
    assert_eq!(shown["error"], "States.ExceedToleratedFailureThreshold");
    assert_eq!(shown["cause"], cause);
    assert_eq!(shown["lanes"]["failed"], 3);
    assert_eq!(shown["plan"]["shards"], 3);
    let calls = &shown["api_calls"];
    assert_eq!(calls["SFN.StartExecution"], 1, "{calls}");
    assert_eq!(
        calls["SFN.GetExecutionHistory"], 1,
        "the plan is read once: {calls}"
    );
    // Each poll: one DescribeExecution; ListMapRuns until the map run is found, DescribeMapRun from
    // that poll on.
    let n = |op: &str| calls[op].as_u64().unwrap();
    assert_eq!(
        n("SFN.ListMapRuns") + n("SFN.DescribeMapRun"),
        n("SFN.DescribeExecution") + 1,
        "{calls}"
    );
}

#[tokio::test]
async fn wait_says_error_and_cause_in_text_when_the_run_timed_out() {
    let acct = Emulator::shared().account().await;
    let (execution, child, rx) = following(&acct, "sweep", "s-late", &[]).await;
    saw(&rx, "no map run seen");
    let end = json!({"end": {"status": "TIMED_OUT", "error": "States.Timeout", "cause": "the run outlived TimeoutSeconds"}});
    engine(&acct, &execution, end).await;
    let out = child.wait_with_output().unwrap();
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    assert!(
        shown.contains("execution TIMED_OUT: no map run seen"),
        "{shown}"
    );
    assert!(shown.contains("error: States.Timeout"), "{shown}");
    assert!(
        shown.contains("cause: the run outlived TimeoutSeconds"),
        "{shown}"
    );
}

#[tokio::test]
async fn ctrl_c_stops_following_and_leaves_the_execution_running() {
    let acct = Emulator::shared().account().await;
    let (execution, child, rx) = following(&acct, "cleanup", "c-int", &[]).await;
    saw(&rx, "no map run seen");
    let signal = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(signal.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    // stderr is the reader thread's: its last line says following stopped, not the run.
    saw(
        &rx,
        &format!("stopped following {execution}; the execution goes on"),
    );
    let sfn = aws_sdk_sfn::Client::new(&acct.sdk);
    let described = sfn
        .describe_execution()
        .execution_arn(&execution)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.status().as_str(),
        "RUNNING",
        "only following stopped"
    );
}

#[tokio::test]
async fn a_wrong_state_machine_is_refused_with_what_is_wrong() {
    let acct = Emulator::shared().account().await;
    let machine = state_machine(&acct).await;
    let not_a_machine = execution_arn(&acct, "x");
    let out = warden_in(
        &acct,
        &["run", "cleanup", "--state-machine", &not_a_machine],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8(out.stderr.clone()).unwrap();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(
        err.contains("not a state machine ARN: it names a execution"),
        "{err}"
    );

    let missing = machine.replace(":fanout", ":gone");
    let out = warden_in(&acct, &["run", "cleanup", "--state-machine", &missing], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("StateMachineDoesNotExist"),
        "{}",
        text(&out)
    );

    let sfn = aws_sdk_sfn::Client::new(&acct.sdk);
    let listed = sfn
        .list_executions()
        .state_machine_arn(&machine)
        .send()
        .await
        .unwrap();
    assert!(listed.executions().is_empty(), "nothing was started");
}

#[test]
fn an_unknown_job_is_a_usage_error() {
    let out = warden(&[
        "run",
        "purge",
        "--state-machine",
        "arn:aws:states:us-east-1:123456789012:stateMachine:f",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8(out.stderr.clone()).unwrap();
    assert!(err.contains("invalid value 'purge'"), "{err}");
    assert!(
        err.contains("cleanup") && err.contains("sweep") && err.contains("backfill"),
        "{err}"
    );
}
