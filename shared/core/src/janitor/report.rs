//! What a janitor run did: per repository its plan and whether it was applied, outcome counts,
//! failures, and where a run out of time stopped.

use serde::Serialize;

use super::RepositoryPlan;
use crate::execute::Outcomes;
use crate::names::RepositoryName;
use crate::report::FunctionReport;

#[derive(Debug, Serialize)]
pub struct RepositoryReport {
    pub repository: RepositoryName,
    pub images: usize,
    pub applied: bool,
    pub plan: RepositoryPlan,
}

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub repositories: Vec<RepositoryReport>,
    pub outcomes: Outcomes,
    pub errors: Vec<String>,
    /// The run stopped for time after this repository; the next run continues after it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_after: Option<RepositoryName>,
}

impl Report {
    pub fn decision(&self) -> String {
        let deleted: usize = self.repositories.iter().map(|r| r.plan.delete.len()).sum();
        let applied = self.repositories.iter().filter(|r| r.applied).count();
        format!(
            "{} repositories, {deleted} images to delete ({applied} repositories applied)",
            self.repositories.len()
        )
    }
}

impl FunctionReport for Report {
    fn decision(&self) -> String {
        Report::decision(self)
    }

    /// Planned only unless some repository's plan was applied.
    fn dry_run(&self) -> bool {
        self.repositories.iter().all(|r| !r.applied)
    }

    fn outcomes(&self) -> Outcomes {
        self.outcomes.clone()
    }

    fn failures(&self) -> Vec<String> {
        self.errors.clone()
    }
}
