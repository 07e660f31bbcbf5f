//! A local driver that runs a plan's lanes as the state machine does (infra/fanout.asl.json): a
//! lane's shards one after another, each invoked with `{"shard": ...}` until its answer's
//! `stopped_after` is null, `Throttled` / `Retryable` retried with backoff, anything else failing
//! the lane; each shard's answers kept as the `Record` state keeps them (`States.Array` nesting),
//! the lane's output as a child execution's. Then the results written as `ResultWriter` writes
//! them, for the summary to read.

use std::time::Duration;

use aws_config::SdkConfig;
use serde_json::{Value, json};
use warden_aws::runtime::lambda::{Function, InvocationError};
use warden_core::fanout::{Job, Lane};

/// How one lane ended: a child execution's status, input, output or error (as `ResultWriter`
/// lists it).
pub struct LaneRun {
    pub lane: Lane,
    pub result: Value,
    /// Shards not finished (a failed lane stops at its failing shard).
    pub left: Vec<warden_core::fanout::Shard>,
}

/// Run `lane`'s shards in order through `worker`; `kill` ends the shard it is polled during, as
/// a Lambda that dies does (the lane fails there, the rest of its shards unrun).
pub async fn run_lane<W: Function>(
    worker: &W,
    job: Job,
    lane: Lane,
    kill: Option<&dyn Fn() -> bool>,
) -> LaneRun {
    let input = json!({"job": job, "lane": lane}).to_string();
    let mut outputs = Vec::new();
    for (i, shard) in lane.shards.iter().enumerate() {
        match run_shard(worker, shard, kill).await {
            Ok(done) => outputs.push(done),
            Err((error, cause)) => {
                let left = lane.shards[i..].to_vec();
                let result =
                    json!({"Status": "FAILED", "Input": input, "Error": error, "Cause": cause});
                return LaneRun { lane, result, left };
            }
        }
    }
    let output = Value::Array(outputs).to_string();
    let result = json!({"Status": "SUCCEEDED", "Input": input, "Output": output});
    LaneRun {
        lane,
        result,
        left: Vec::new(),
    }
}

/// One shard to its end: its `done` (`[[[], first], second]`...), or the lane's failure.
async fn run_shard<W: Function>(
    worker: &W,
    shard: &warden_core::fanout::Shard,
    kill: Option<&dyn Fn() -> bool>,
) -> Result<Value, (String, String)> {
    let mut done = json!([]);
    let mut attempt = 0u32;
    loop {
        let invoked = invoke_or_die(worker, json!({"shard": shard}), kill).await;
        match invoked {
            Some(Ok(outcome)) => {
                attempt = 0;
                let stopped = !outcome["stopped_after"].is_null();
                done = json!([done, outcome]);
                if !stopped {
                    return Ok(done);
                }
            }
            Some(Err(e)) if retried(&e) && attempt < 6 => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
            }
            Some(Err(e)) => return Err((e.error_type.to_owned(), e.message.clone())),
            None => return Err(("Lambda.Unknown".into(), "the worker died".into())),
        }
    }
}

/// The ASL's worker retries: `Throttled`, `Retryable` (the Lambda service errors never happen here).
fn retried(error: &InvocationError) -> bool {
    matches!(error.error_type, "Throttled" | "Retryable")
}

/// The invocation, or `None` when `kill` said so while it ran.
async fn invoke_or_die<W: Function>(
    worker: &W,
    payload: Value,
    kill: Option<&dyn Fn() -> bool>,
) -> Option<Result<Value, InvocationError>> {
    let Some(kill) = kill else {
        return Some(worker.handle(payload).await);
    };
    let watch = async {
        while !kill() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::select! {
        answer = worker.handle(payload) => Some(answer),
        () = watch => None,
    }
}

/// Write `results` as the map run's `ResultWriter` output under `prefix`: one file per status and
/// a `manifest.json` listing them; answers the `ResultWriterDetails`.
pub async fn write_results(
    sdk: &SdkConfig,
    bucket: &str,
    prefix: &str,
    results: &[Value],
) -> Value {
    let mut files = serde_json::Map::new();
    for status in ["SUCCEEDED", "FAILED"] {
        let these: Vec<&Value> = results.iter().filter(|r| r["Status"] == status).collect();
        let mut listed = Vec::new();
        if !these.is_empty() {
            let key = format!("{prefix}/{status}_0.json");
            super::put_json(sdk, bucket, &key, &json!(these)).await;
            listed.push(json!({"Key": key, "Size": 0}));
        }
        files.insert(status.into(), Value::Array(listed));
    }
    files.insert("PENDING".into(), json!([]));
    let key = format!("{prefix}/manifest.json");
    let manifest = json!({"DestinationBucket": bucket, "MapRunArn": "arn:aws:states:us-east-1:000000000000:mapRun:fanout/run:1", "ResultFiles": files});
    super::put_json(sdk, bucket, &key, &manifest).await;
    json!({"Bucket": bucket, "Key": key})
}
