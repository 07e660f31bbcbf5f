//! `warden run --wait`: poll the execution until it ends. Each poll is one DescribeExecution; while
//! no map run is known, one ListMapRuns; once one is, one DescribeMapRun (its item counts: each
//! item is a lane). The plan's counts come from one GetExecutionHistory, made when the map run is
//! first seen (the Plan state has exited by then): the `plan` in the output of the Plan state's
//! `TaskStateExited` event. Ctrl-C stops following, never the execution.

use std::time::Duration;

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEventType, MapRunItemCounts};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use super::aws_error;

/// What following the execution saw; `status` is `None` when it was interrupted first.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    pub status: Option<String>,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub map_run: Option<String>,
    pub lanes: Option<Lanes>,
    pub plan: Option<Value>,
}

/// A map run's item counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Lanes {
    pub total: i64,
    pub pending: i64,
    pub running: i64,
    pub succeeded: i64,
    pub failed: i64,
    pub timed_out: i64,
    pub aborted: i64,
}

impl From<&MapRunItemCounts> for Lanes {
    fn from(c: &MapRunItemCounts) -> Self {
        Lanes {
            total: c.total(),
            pending: c.pending(),
            running: c.running(),
            succeeded: c.succeeded(),
            failed: c.failed(),
            timed_out: c.timed_out(),
            aborted: c.aborted(),
        }
    }
}

impl Lanes {
    fn done(&self) -> i64 {
        self.succeeded + self.failed + self.timed_out + self.aborted
    }

    fn message(&self) -> String {
        let mut text = format!(
            "{} succeeded, {} failed, {} running, {} pending",
            self.succeeded, self.failed, self.running, self.pending
        );
        if self.timed_out + self.aborted > 0 {
            text.push_str(&format!(
                ", {} timed out, {} aborted",
                self.timed_out, self.aborted
            ));
        }
        text
    }
}

impl Seen {
    /// `lanes 3/4: 3 succeeded, 1 failed, ...`, or that no map run was seen.
    pub fn lanes_line(&self) -> String {
        match &self.lanes {
            Some(l) => format!("lanes {}/{}: {}", l.done(), l.total, l.message()),
            None => "no map run seen (no lanes started)".into(),
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "status": self.status,
            "output": self.output,
            "error": self.error,
            "cause": self.cause,
            "mapRunArn": self.map_run,
            "lanes": self.lanes.map(|l| json!({
                "total": l.total, "pending": l.pending, "running": l.running,
                "succeeded": l.succeeded, "failed": l.failed, "timedOut": l.timed_out,
                "aborted": l.aborted,
            })),
            "plan": self.plan,
        })
    }
}

/// The plan's counts, as the bar's prefix.
fn plan_prefix(plan: &Value) -> String {
    let n = |k: &str| plan.get(k).and_then(Value::as_u64).unwrap_or(0);
    format!(
        "plan: {} shards, {} repositories, {} accounts",
        n("shards"),
        n("repositories"),
        n("accounts")
    )
}

/// The bar over lanes on stderr; where stderr is no terminal (a log, a test) it is hidden and
/// each change of the counts is a line instead.
struct Bar {
    bar: ProgressBar,
    last: Option<String>,
}

impl Bar {
    fn new() -> Self {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix} {msg} [{elapsed}]")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message("waiting for the plan");
        Bar { bar, last: None }
    }

    fn show(&mut self, seen: &Seen) {
        if let Some(plan) = &seen.plan {
            self.bar.set_prefix(plan_prefix(plan));
        }
        if let Some(lanes) = &seen.lanes {
            if self.bar.length().is_none() {
                self.bar.set_style(
                    ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} lanes: {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
            }
            self.bar.set_length(u64::try_from(lanes.total).unwrap_or(0));
            self.bar
                .set_position(u64::try_from(lanes.done()).unwrap_or(0));
            self.bar.set_message(lanes.message());
        }
        self.bar.tick();
        if self.bar.is_hidden() {
            let mut line = seen.lanes_line();
            if let Some(plan) = &seen.plan {
                line = format!("{}; {line}", plan_prefix(plan));
            }
            if self.last.as_ref() != Some(&line) {
                eprintln!("{line}");
                self.last = Some(line);
            }
        }
    }
}

/// Poll until the execution ends, or Ctrl-C.
pub(crate) async fn follow(
    sfn: &aws_sdk_sfn::Client,
    execution: &str,
    every: Duration,
) -> anyhow::Result<Seen> {
    let mut seen = Seen::default();
    let mut bar = Bar::new();
    let work = async {
        loop {
            poll(sfn, execution, &mut seen).await?;
            bar.show(&seen);
            if seen.status.as_deref() != Some("RUNNING") {
                return anyhow::Ok(());
            }
            tokio::time::sleep(every).await;
        }
    };
    let outcome = tokio::select! {
        done = work => done.map(|()| true),
        _ = tokio::signal::ctrl_c() => Ok(false),
    };
    bar.bar.finish_and_clear();
    if !outcome? {
        seen.status = None;
    }
    Ok(seen)
}

/// One poll: the execution, then its map run (found, then described), the plan once.
async fn poll(sfn: &aws_sdk_sfn::Client, execution: &str, seen: &mut Seen) -> anyhow::Result<()> {
    let described = sfn
        .describe_execution()
        .execution_arn(execution)
        .send()
        .await
        .map_err(|e| aws_error("states:DescribeExecution", e))?;
    let status = described.status();
    seen.status = Some(status.as_str().to_owned());
    if *status == ExecutionStatus::Succeeded {
        seen.output = described
            .output()
            .map(|o| serde_json::from_str(o).unwrap_or_else(|_| Value::String(o.to_owned())));
    }
    seen.error = described.error().map(str::to_owned);
    seen.cause = described.cause().map(str::to_owned);
    if seen.map_run.is_none() {
        let runs = sfn
            .list_map_runs()
            .execution_arn(execution)
            .send()
            .await
            .map_err(|e| aws_error("states:ListMapRuns", e))?;
        seen.map_run = runs.map_runs().first().map(|r| r.map_run_arn().to_owned());
        if seen.map_run.is_some() {
            seen.plan = plan(sfn, execution).await?;
        }
    }
    if let Some(map_run) = &seen.map_run {
        let run = sfn
            .describe_map_run()
            .map_run_arn(map_run)
            .send()
            .await
            .map_err(|e| aws_error("states:DescribeMapRun", e))?;
        seen.lanes = run.item_counts().map(Lanes::from);
    }
    Ok(())
}

/// The plan's counts: the `plan` of the Plan state's output (its result path is `$.plan`), from the
/// first page of the execution's history; `None` when it is not there.
async fn plan(sfn: &aws_sdk_sfn::Client, execution: &str) -> anyhow::Result<Option<Value>> {
    let history = sfn
        .get_execution_history()
        .execution_arn(execution)
        .max_results(100)
        .send()
        .await
        .map_err(|e| aws_error("states:GetExecutionHistory", e))?;
    Ok(history
        .events()
        .iter()
        .filter(|e| *e.r#type() == HistoryEventType::TaskStateExited)
        .filter_map(|e| e.state_exited_event_details())
        .filter(|d| d.name() == "Plan")
        .find_map(|d| serde_json::from_str::<Value>(d.output()?).ok())
        .and_then(|output| output.get("plan").cloned()))
}
