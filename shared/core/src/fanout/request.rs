//! What the fan-out function takes: the state machine's `{"plan": ...}` (list, cut, write the lanes)
//! or `{"summarize": ...}` (add the map run's results up, tell once), and which repositories a job
//! touches.

use serde::Deserialize;
use serde_json::Value;

use super::{Job, Planned};
use crate::event::{EventError, FunctionInput, Incoming, InputSummary, Refusal};
use crate::names::RepositoryName;
use crate::policy::Policy;

/// The function's name, as summary lines and refusals give it.
pub const FUNCTION: &str = "fanout";

#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    Plan(PlanRequest),
    Summarize(Box<SummarizeRequest>),
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanRequest {
    pub job: Job,
    pub run: RunName,
}

/// Where the Distributed Map wrote its results (`ResultWriterDetails`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ResultLocation {
    #[serde(rename = "Bucket")]
    pub bucket: String,
    /// The map run's `manifest.json`.
    #[serde(rename = "Key")]
    pub key: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SummarizeRequest {
    pub job: Job,
    pub run: RunName,
    /// The planner's answer (`null` when planning failed).
    #[serde(default)]
    pub plan: Option<Planned>,
    /// `null` when the map did not finish.
    #[serde(default)]
    pub results: Option<ResultLocation>,
    /// The map's caught failure (`{"Error", "Cause"}`), when it failed.
    #[serde(default)]
    pub failure: Option<Value>,
}

/// A Step Functions execution name as runs are keyed in S3: 1–80 of `A-Za-z0-9-_`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct RunName(String);

impl RunName {
    pub fn new(name: impl Into<String>) -> Result<Self, String> {
        let name = name.into();
        let fits = (1..=80).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if fits {
            Ok(Self(name))
        } else {
            Err(format!(
                "run name {name:?}: 1-80 letters, digits, '-' or '_' (it names S3 keys)"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for RunName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::new(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Display for RunName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl FunctionInput for Request {
    const FUNCTION: &'static str = FUNCTION;

    fn take(incoming: Incoming) -> Result<Self, Refusal> {
        let what = match incoming {
            Incoming::Event(_) => "EventBridge events",
            Incoming::Queue(_) => "SQS batches",
            Incoming::Sns(_) => "SNS deliveries",
        };
        Err(Self::not_taken(what))
    }

    fn parse(value: Value) -> Result<Self, Refusal> {
        let malformed = |path: &str, e: serde_json::Error| {
            Refusal::Malformed(EventError::Field {
                context: "a fan-out request".into(),
                path: path.into(),
                message: e.to_string(),
            })
        };
        if let Some(plan) = value.get("plan") {
            return serde_json::from_value(plan.clone())
                .map(Self::Plan)
                .map_err(|e| malformed("plan", e));
        }
        if let Some(summarize) = value.get("summarize") {
            return serde_json::from_value(summarize.clone())
                .map(|s| Self::Summarize(Box::new(s)))
                .map_err(|e| malformed("summarize", e));
        }
        Self::take(crate::event::incoming(value)?)
    }

    fn summary(&self) -> InputSummary {
        let kind = match self {
            Self::Plan(p) => format!("plan({})", p.job),
            Self::Summarize(s) => format!("summarize({})", s.job),
        };
        InputSummary {
            kind,
            ..InputSummary::default()
        }
    }
}

/// Whether `job` touches `repository` under `policy`: a cleanup the repositories with a cleanup
/// policy, a backfill those with a replication rule, a sweep every repository (each one's
/// mutability setting is checked against the policy).
pub fn touches(job: Job, policy: &Policy, repository: &RepositoryName) -> bool {
    match job {
        Job::Sweep => true,
        Job::Cleanup => policy.for_repository(repository).cleanup.is_some(),
        Job::Backfill => policy.for_repository(repository).replication.is_some(),
    }
}
