//! What scan-gate did with one event or batch: its plans, outcome counts and failures.

use serde::Serialize;
use serde_json::{Value, json};

use crate::event::SqsBatchResponse;
use crate::execute::Outcomes;
use crate::plan::Plan;
use crate::report::FunctionReport;

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub plans: Vec<Plan>,
    pub outcomes: Outcomes,
    pub errors: Vec<String>,
    /// SQS message ids to retry (a batch item failure each).
    pub failed_messages: Vec<String>,
}

impl Report {
    pub fn decision(&self) -> String {
        match self.plans.as_slice() {
            [] => "nothing to decide".to_owned(),
            [one] => one.decision.clone(),
            many => format!(
                "{} images evaluated, {} acted on",
                many.len(),
                many.iter().filter(|p| p.actions.len() > 1).count()
            ),
        }
    }
}

impl FunctionReport for Report {
    fn decision(&self) -> String {
        Report::decision(self)
    }

    fn dry_run(&self) -> bool {
        self.plans.iter().any(|p| p.dry_run)
    }

    fn outcomes(&self) -> Outcomes {
        self.outcomes.clone()
    }

    fn failures(&self) -> Vec<String> {
        self.errors.clone()
    }
}

/// An SQS batch's report: answered with Lambda's partial batch response (a batch item failure per
/// message to retry), the decision beside it for the invoker.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct BatchReport(pub Report);

impl FunctionReport for BatchReport {
    fn decision(&self) -> String {
        self.0.decision()
    }

    fn dry_run(&self) -> bool {
        FunctionReport::dry_run(&self.0)
    }

    fn outcomes(&self) -> Outcomes {
        self.0.outcomes.clone()
    }

    fn failures(&self) -> Vec<String> {
        self.0.errors.clone()
    }

    fn response(&self) -> Value {
        let mut response = SqsBatchResponse::default();
        for id in &self.0.failed_messages {
            response.add_failure(id.clone());
        }
        response
            .other
            .insert("decision".into(), json!(self.0.decision()));
        serde_json::to_value(response).unwrap_or_else(|e| json!({"error": e.to_string()}))
    }
}
