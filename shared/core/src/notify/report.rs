//! What the notifier did with one SNS delivery: per message, the routes posted to and those
//! that had the news already.

use serde::Serialize;
use serde_json::{Value, json};

use crate::execute::Outcomes;
use crate::report::FunctionReport;

#[derive(Debug, Default, Serialize)]
pub struct Delivery {
    pub posted: Vec<String>,
    /// Routes that had this news already within the window.
    pub duplicates: Vec<String>,
    /// Non-retryable failures (a 4xx from Slack, a bad secret), reported and acknowledged.
    pub errors: Vec<String>,
}

/// One message's delivery.
#[derive(Debug, Serialize)]
pub struct Posting {
    /// The SNS message id.
    pub message: String,
    pub subject: String,
    pub delivery: Delivery,
}

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub results: Vec<Posting>,
    /// Messages that were not warden messages, and every delivery's failures.
    pub errors: Vec<String>,
}

impl Report {
    fn count(&self, of: impl Fn(&Delivery) -> usize) -> u64 {
        self.results.iter().map(|p| of(&p.delivery) as u64).sum()
    }
}

impl FunctionReport for Report {
    fn decision(&self) -> String {
        format!(
            "posted {}, duplicates {}, errors {}",
            self.count(|d| d.posted.len()),
            self.count(|d| d.duplicates.len()),
            self.errors.len()
        )
    }

    fn dry_run(&self) -> bool {
        false
    }

    /// `Posted` and `Duplicates` once a message was delivered.
    fn outcomes(&self) -> Outcomes {
        let mut outcomes = Outcomes::new();
        if !self.results.is_empty() {
            outcomes.insert("Posted", self.count(|d| d.posted.len()));
            outcomes.insert("Duplicates", self.count(|d| d.duplicates.len()));
        }
        outcomes
    }

    fn failures(&self) -> Vec<String> {
        self.errors.clone()
    }

    fn response(&self) -> Value {
        json!({"status": "ok", "decision": self.decision(), "results": self.results, "errors": self.errors})
    }
}
