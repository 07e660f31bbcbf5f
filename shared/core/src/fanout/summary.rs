//! One run's summary: the plan's counts and, per account, what its shards' answers add up to —
//! read from the Distributed Map's results (`ResultWriter`, each child execution's status, input
//! and output as JSON text).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Job, Lane, ShardOutcome};
use crate::names::AccountId;

/// Where the planner left the lanes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub bucket: String,
    pub key: String,
}

/// The planner's answer (the state machine's `$.plan`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Planned {
    pub job: Job,
    pub run: String,
    pub manifest: Manifest,
    pub accounts: u64,
    pub repositories: u64,
    pub shards: u64,
    pub lanes: u64,
}

/// One child execution (a lane) as the map run's result files list it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LaneResult {
    pub status: String,
    /// The lane item as the child received it, as JSON text.
    #[serde(default)]
    pub input: Option<String>,
    /// The child's output, as JSON text (its shards' answers).
    #[serde(default)]
    pub output: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub cause: Option<String>,
}

/// One account's totals.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AccountTotals {
    /// Shard invocations answered (a shard run again after a stop answers twice).
    pub invocations: u64,
    pub repositories_done: u64,
    pub planned: u64,
    pub applied: u64,
    pub failed: u64,
    /// Lanes whose execution failed, and the shards they held.
    pub lanes_failed: u64,
    pub shards_in_failed_lanes: u64,
    /// The first failure messages.
    pub errors: Vec<String>,
}

/// The run's summary (one message per run).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub job: Job,
    pub run: String,
    pub planned: Option<Planned>,
    pub lanes_succeeded: u64,
    pub lanes_failed: u64,
    pub accounts: BTreeMap<AccountId, AccountTotals>,
    /// The map's own failure (e.g. the tolerated failure percentage exceeded), when it failed.
    pub failure: Option<String>,
}

const MAX_ERRORS: usize = 10;

impl Summary {
    pub fn new(job: Job, run: String, planned: Option<Planned>) -> Self {
        Self {
            job,
            run,
            planned,
            lanes_succeeded: 0,
            lanes_failed: 0,
            accounts: BTreeMap::new(),
            failure: None,
        }
    }

    /// Add one lane's result.
    pub fn add(&mut self, lane: &LaneResult) {
        if lane.status == "SUCCEEDED" {
            self.lanes_succeeded += 1;
            let output = lane.output.as_deref().unwrap_or("null");
            let value: Value = serde_json::from_str(output).unwrap_or(Value::Null);
            let mut outcomes = Vec::new();
            collect(&value, &mut outcomes);
            for outcome in outcomes {
                self.add_outcome(&outcome);
            }
        } else {
            self.lanes_failed += 1;
            let input = lane.input.as_deref().unwrap_or("null");
            let item: Option<LaneItem> = serde_json::from_str(input).ok();
            let why = format!(
                "{} lane: {}: {}",
                lane.status,
                lane.error.as_deref().unwrap_or("no error named"),
                lane.cause.as_deref().unwrap_or("no cause given")
            );
            match item {
                Some(item) => {
                    let totals = self.accounts.entry(item.lane.at.account).or_default();
                    totals.lanes_failed += 1;
                    totals.shards_in_failed_lanes +=
                        u64::try_from(item.lane.shards.len()).unwrap_or(u64::MAX);
                    push_error(&mut totals.errors, why);
                }
                None => self.failure = Some(format!("a lane without a readable input: {why}")),
            }
        }
    }

    fn add_outcome(&mut self, outcome: &ShardOutcome) {
        let totals = self.accounts.entry(outcome.account.clone()).or_default();
        totals.invocations += 1;
        totals.repositories_done += outcome.done;
        totals.planned += outcome.planned;
        totals.applied += outcome.applied;
        totals.failed += outcome.failed;
        for error in &outcome.errors {
            push_error(&mut totals.errors, error.clone());
        }
    }
}

/// A child execution's input: `{"job", "lane"}`.
#[derive(Deserialize)]
struct LaneItem {
    lane: Lane,
}

fn push_error(errors: &mut Vec<String>, error: String) {
    if errors.len() < MAX_ERRORS {
        errors.push(error);
    }
}

/// Every shard answer in a lane's output, however deep (`done` nests one array per invocation).
fn collect(value: &Value, into: &mut Vec<ShardOutcome>) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| collect(v, into)),
        Value::Object(_) => {
            if let Ok(outcome) = serde_json::from_value::<ShardOutcome>(value.clone()) {
                into.push(outcome);
            } else if let Some(inner) = value.get("done") {
                collect(inner, into);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn outcome(account: &str, done: u64, stopped: Option<&str>) -> Value {
        json!({"job": "cleanup", "account": account, "region": "us-east-1", "repositories": 2,
               "done": done, "planned": 3, "applied": 2, "failed": 1, "errors": ["x: gone"],
               "dry_run": false, "stopped_after": stopped})
    }

    /// A lane's output is one `done` per shard, nesting one array per invocation as the state
    /// machine's `States.Array` builds it: every answer counts once, a stopped shard's too.
    #[test]
    fn every_invocation_of_every_shard_counts_once() {
        let a = "111111111111";
        let first_shard = json!([
            json!([json!([]), outcome(a, 1, Some("r/a"))]),
            outcome(a, 1, None)
        ]);
        let second_shard = json!([json!([]), outcome(a, 2, None)]);
        let lane = LaneResult {
            status: "SUCCEEDED".into(),
            input: None,
            output: Some(json!([first_shard, second_shard]).to_string()),
            error: None,
            cause: None,
        };
        let mut summary = Summary::new(Job::Cleanup, "run".into(), None);
        summary.add(&lane);
        let totals = &summary.accounts[&AccountId::new(a).unwrap()];
        assert_eq!(totals.invocations, 3);
        assert_eq!(totals.repositories_done, 4);
        assert_eq!((totals.planned, totals.applied, totals.failed), (9, 6, 3));
        assert_eq!(summary.lanes_succeeded, 1);
    }

    /// A failed lane counts against the account its input names, with every shard it held and
    /// Step Functions' error and cause; one without a readable input is the run's failure.
    #[test]
    fn a_failed_lane_is_charged_to_its_account() {
        let input = json!({"job": "cleanup", "lane": {"at": {"account": "222222222222", "region": "eu-west-1"},
            "shards": [{"at": {"account": "222222222222", "region": "eu-west-1"}, "repositories": ["r/a"]},
                       {"at": {"account": "222222222222", "region": "eu-west-1"}, "repositories": ["r/b"]}]}});
        let failed = LaneResult {
            status: "FAILED".into(),
            input: Some(input.to_string()),
            output: None,
            error: Some("NonRetryable".into()),
            cause: Some("a shard for eu-west-1, sent to the janitor in us-east-1".into()),
        };
        let mut summary = Summary::new(Job::Cleanup, "run".into(), None);
        summary.add(&failed);
        let totals = &summary.accounts[&AccountId::new("222222222222").unwrap()];
        assert_eq!((totals.lanes_failed, totals.shards_in_failed_lanes), (1, 2));
        assert!(
            totals.errors[0].contains("NonRetryable"),
            "{:?}",
            totals.errors
        );
        assert_eq!(summary.failure, None);
        summary.add(&LaneResult {
            input: Some("not json".into()),
            ..failed
        });
        assert_eq!(summary.lanes_failed, 2);
        assert!(summary.failure.is_some());
    }
}
