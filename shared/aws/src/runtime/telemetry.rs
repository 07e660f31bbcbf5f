//! Logs and the one summary line per event.
//!
//! Logs are `tracing` events; [`init_logging`] honours Lambda's `AWS_LAMBDA_LOG_FORMAT` (JSON or
//! text) and `AWS_LAMBDA_LOG_LEVEL`. The summary is a CloudWatch Embedded Metric Format object on one
//! stdout line: CloudWatch turns its metrics (API calls, duration, and each outcome count such as
//! TagsReverted or ImagesDeleted) into metrics with no extra API call, and its properties keep what
//! was decided for Logs Insights.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

/// Install the log subscriber (once, at init).
pub fn init_logging() {
    lambda_runtime::tracing::init_default_subscriber();
}

/// What one event led to. Build it while handling, then [`Summary::emit`] it once.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub function: &'static str,
    pub kind: String,
    pub decision: String,
    pub dry_run: bool,
    pub repository: Option<String>,
    pub digest: Option<String>,
    pub api_calls: BTreeMap<String, u64>,
    pub bytes: u64,
    pub duration: Duration,
    /// Outcome counts, emitted as metrics (e.g. `TagsReverted: 1`).
    pub outcomes: BTreeMap<&'static str, u64>,
    pub error: Option<String>,
}

impl Summary {
    pub fn new(function: &'static str) -> Self {
        Self {
            function,
            ..Self::default()
        }
    }

    /// The EMF object, as one line of JSON.
    pub fn to_emf(&self, at: SystemTime) -> String {
        let millis = at
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        let total_calls: u64 = self.api_calls.values().sum();
        let mut metrics = vec![
            json!({"Name": "ApiCalls", "Unit": "Count"}),
            json!({"Name": "DurationMs", "Unit": "Milliseconds"}),
            json!({"Name": "Bytes", "Unit": "Bytes"}),
        ];
        let mut root = Map::new();
        root.insert("function".into(), json!(self.function));
        root.insert("ApiCalls".into(), json!(total_calls));
        root.insert("DurationMs".into(), json!(self.duration.as_millis() as u64));
        root.insert("Bytes".into(), json!(self.bytes));
        for (name, value) in &self.outcomes {
            metrics.push(json!({"Name": name, "Unit": "Count"}));
            root.insert((*name).into(), json!(value));
        }
        if self.error.is_some() {
            metrics.push(json!({"Name": "Errors", "Unit": "Count"}));
            root.insert("Errors".into(), json!(1));
        }
        root.insert(
            "_aws".into(),
            json!({
                "Timestamp": millis as u64,
                "CloudWatchMetrics": [{
                    "Namespace": "ecr-warden",
                    "Dimensions": [["function"]],
                    "Metrics": metrics,
                }],
            }),
        );
        root.insert("summary".into(), json!(true));
        root.insert("kind".into(), json!(self.kind));
        root.insert("decision".into(), json!(self.decision));
        root.insert("dry_run".into(), json!(self.dry_run));
        root.insert("repository".into(), json!(self.repository));
        root.insert("digest".into(), json!(self.digest));
        root.insert("api_calls".into(), json!(self.api_calls));
        root.insert("error".into(), json!(self.error));
        Value::Object(root).to_string()
    }

    /// Write the summary line to stdout (where Lambda's log capture and EMF extraction read it).
    pub fn emit(&self) {
        let line = self.to_emf(SystemTime::now());
        let mut out = std::io::stdout().lock();
        // Nowhere to report a failed log write; the handler's result is unaffected.
        let _ = writeln!(out, "{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_line_declares_every_metric_it_carries() {
        let mut s = Summary::new("tag-guard");
        s.kind = "image_push".into();
        s.decision = "revert".into();
        s.api_calls.insert("ECR.PutImage".into(), 2);
        s.api_calls.insert("SNS.Publish".into(), 1);
        s.outcomes.insert("TagsReverted", 1);
        s.duration = Duration::from_millis(42);
        let line = s.to_emf(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
        assert!(!line.contains('\n'));
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["_aws"]["Timestamp"], 1_700_000_000_000u64);
        assert_eq!(v["ApiCalls"], 3);
        assert_eq!(v["TagsReverted"], 1);
        assert_eq!(v["DurationMs"], 42);
        let declared: Vec<&str> = v["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        for name in &declared {
            assert!(v.get(*name).is_some(), "{name} declared but missing");
        }
        assert!(declared.contains(&"TagsReverted"));
    }
}
