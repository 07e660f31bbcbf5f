//! What loading a policy costs at a Lambda's init: the first `Policy::from_yaml` in a process
//! (YAML, the JSON Schema validation — generated at compile time, nothing built at init — ECR's
//! rules, globs), a later one, and what building jsonschema's run-time validator for the same
//! schema would add (it checks the schema against the 2020-12 meta-schema first).
//!
//! usage: cargo run --release -p warden-core --example bench_policy_load -- infra/policy.yaml

use std::time::Instant;

use warden_core::policy::{Policy, SCHEMA};

fn millis(elapsed: std::time::Duration) -> f64 {
    elapsed.as_secs_f64() * 1e3
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "infra/policy.yaml".to_owned());
    let text = std::fs::read_to_string(&path)?;
    let started = Instant::now();
    let yaml: serde_json::Value = serde_norway::from_str(&text)?;
    let yaml_only = started.elapsed();
    drop(yaml);
    let started = Instant::now();
    Policy::from_yaml(&text)?;
    let first = started.elapsed();
    let started = Instant::now();
    Policy::from_yaml(&text)?;
    let second = started.elapsed();
    let schema: serde_json::Value = serde_json::from_str(SCHEMA)?;
    let started = Instant::now();
    jsonschema::validator_for(&schema)?;
    let validator = started.elapsed();
    println!(
        "{path}: YAML parse {:.2} ms; first Policy::from_yaml {:.2} ms; second {:.2} ms; \
         jsonschema::validator_for on the schema (a run-time validator, not built by the \
         functions), with its meta-schema check, {:.2} ms",
        millis(yaml_only),
        millis(first),
        millis(second),
        millis(validator)
    );
    Ok(())
}
