//! Logs and the one summary line per event.
//!
//! Logs are `tracing` events; [`init_logging`] honours Lambda's `AWS_LAMBDA_LOG_FORMAT` (JSON or
//! text) and `AWS_LAMBDA_LOG_LEVEL`, and `RUST_LOG`'s per-target directives. The summary is a
//! CloudWatch Embedded Metric Format object on one stdout line: CloudWatch turns its metrics (API
//! calls, duration, and each outcome count such as TagsReverted or ImagesDeleted) into metrics with
//! no extra API call, and its properties keep what was decided for Logs Insights.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt;
use tracing_subscriber::prelude::*;

use super::env::{self, ConfigError};

/// Install the log subscriber (once, at init; a second call keeps the first). Lines go to stdout,
/// without timestamps (Lambda stamps every line): JSON objects when `AWS_LAMBDA_LOG_FORMAT` is
/// `JSON` (any case), text otherwise. Which events are written: see [`log_filter`].
///
/// The filter is a [`Targets`] list, not an `EnvFilter`: its span and field directives are not
/// offered, and so not linked: `EnvFilter` brings a regex engine that builds full DFAs, which
/// made every regex the process compiles at init (the policy schema's patterns) slower.
pub fn init_logging() -> Result<(), ConfigError> {
    let filter = log_filter(
        env::optional("AWS_LAMBDA_LOG_LEVEL"),
        env::optional("RUST_LOG"),
    )?;
    let json =
        env::optional("AWS_LAMBDA_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json"));
    let text_lines = (!json).then(|| {
        fmt::layer()
            .with_target(false)
            .without_time()
            .with_ansi(false)
    });
    let json_lines = json.then(|| fmt::layer().json().with_target(false).without_time());
    // Err only when a subscriber is already installed: that one stays.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(text_lines)
        .with(json_lines)
        .try_init();
    Ok(())
}

/// Which events are logged. `AWS_LAMBDA_LOG_LEVEL` (Lambda's advanced logging controls: `TRACE`,
/// `DEBUG`, `INFO`, `WARN`, `ERROR` or `FATAL`; FATAL logs errors, the most severe level `tracing`
/// has) sets the level; when it is unset, `RUST_LOG`'s bare level does; else `INFO`. `RUST_LOG`'s
/// `target=level` directives (comma-separated, e.g. `warden_aws=debug,aws_smithy_runtime=warn`)
/// set the level of their targets either way. A value that does not parse fails init, naming the
/// variable.
fn log_filter(
    lambda_level: Option<String>,
    rust_log: Option<String>,
) -> Result<Targets, ConfigError> {
    let targets = match rust_log {
        None => Targets::new(),
        Some(value) => value.parse::<Targets>().map_err(|_| ConfigError::Invalid {
            name: "RUST_LOG",
            value,
            expected: "a level or target=level directives, comma-separated",
        })?,
    };
    let level = match lambda_level {
        None => targets.default_level(),
        Some(value) => {
            let level = if value.eq_ignore_ascii_case("fatal") {
                Ok(LevelFilter::ERROR)
            } else {
                value.parse::<LevelFilter>()
            };
            Some(level.map_err(|_| ConfigError::Invalid {
                name: "AWS_LAMBDA_LOG_LEVEL",
                value,
                expected: "one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL",
            })?)
        }
    };
    Ok(targets.with_default(level.unwrap_or(LevelFilter::INFO)))
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
    use tracing::Level;

    fn filter(lambda_level: Option<&str>, rust_log: Option<&str>) -> Result<Targets, ConfigError> {
        log_filter(lambda_level.map(str::to_owned), rust_log.map(str::to_owned))
    }

    #[test]
    fn without_settings_info_and_above_are_logged() {
        let f = filter(None, None).unwrap();
        assert!(f.would_enable("warden_aws", &Level::INFO));
        assert!(!f.would_enable("warden_aws", &Level::DEBUG));
    }

    #[test]
    fn lambdas_log_level_sets_the_level_and_fatal_logs_errors_only() {
        let f = filter(Some("DEBUG"), None).unwrap();
        assert!(f.would_enable("aws_smithy_runtime", &Level::DEBUG));
        assert!(!f.would_enable("aws_smithy_runtime", &Level::TRACE));
        let f = filter(Some("FATAL"), None).unwrap();
        assert!(f.would_enable("warden_aws", &Level::ERROR));
        assert!(!f.would_enable("warden_aws", &Level::WARN));
    }

    #[test]
    fn lambdas_log_level_wins_over_rust_logs_bare_level_but_target_directives_refine_it() {
        let f = filter(Some("WARN"), Some("trace,warden_aws=debug")).unwrap();
        assert!(!f.would_enable("aws_smithy_runtime", &Level::INFO));
        assert!(f.would_enable("aws_smithy_runtime", &Level::WARN));
        assert!(f.would_enable("warden_aws::adapters", &Level::DEBUG));
        let f = filter(None, Some("error,warden_aws=info")).unwrap();
        assert!(!f.would_enable("hyper", &Level::WARN));
        assert!(f.would_enable("warden_aws", &Level::INFO));
    }

    #[test]
    fn a_level_that_does_not_parse_fails_init_naming_the_variable() {
        let err = filter(Some("LOUD"), None).unwrap_err().to_string();
        assert!(
            err.contains("AWS_LAMBDA_LOG_LEVEL") && err.contains("LOUD"),
            "{err}"
        );
        let err = filter(None, Some("warden_aws=loud"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("RUST_LOG") && err.contains("warden_aws=loud"),
            "{err}"
        );
    }

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
