//! What scan-gate did with one event or batch: its plans, outcome counts and failures.

use crate::execute::Outcomes;
use crate::plan::Plan;

#[derive(Debug, Default, serde::Serialize)]
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
