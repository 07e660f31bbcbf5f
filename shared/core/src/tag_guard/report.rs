//! What tag-guard did with one event or sweep: its plans, outcome counts and failures.

use crate::execute::Outcomes;
use crate::names::RepositoryName;
use crate::plan::Plan;
use crate::report::FunctionReport;

/// What one event led to.
#[derive(Debug, Default, serde::Serialize)]
pub struct Report {
    /// Every plan decided (the sweep decides one per repository and per protected tag).
    pub plans: Vec<Plan>,
    pub outcomes: Outcomes,
    /// Non-retryable failures, reported and acknowledged (retrying cannot fix them).
    pub errors: Vec<String>,
    /// Repositories the sweep went through.
    #[serde(skip_serializing_if = "is_zero")]
    pub swept: u64,
    /// The sweep stopped for time after this repository; the next sweep continues after it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_after: Option<RepositoryName>,
}

impl Report {
    /// The decisions in one line (the summary's `decision`).
    pub fn decision(&self) -> String {
        match self.plans.as_slice() {
            [] => "nothing to decide".to_owned(),
            [one] => one.decision.clone(),
            many => {
                let acting = many.iter().filter(|p| !p.actions.is_empty()).count();
                format!("sweep: {} decisions, {acting} with actions", many.len())
            }
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

fn is_zero(n: &u64) -> bool {
    *n == 0
}
