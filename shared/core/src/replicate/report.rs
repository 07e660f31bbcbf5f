//! What the replicator did with one input: an outcome per trigger.

use serde::Serialize;
use serde_json::{Value, json};

use super::CopyPlan;
use crate::execute::Outcomes;
use crate::message::ReplicationBody;
use crate::report::FunctionReport;

/// What became of one trigger.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Skipped { reason: String },
    Planned { plan: CopyPlan },
    Replicated { body: Box<ReplicationBody> },
}

impl Outcome {
    /// The outcome in words, as the decision line joins them.
    fn describe(&self) -> String {
        match self {
            Outcome::Skipped { reason } => format!("skipped: {reason}"),
            Outcome::Planned { plan } => {
                format!("would copy to {} destination(s)", plan.targets.len())
            }
            Outcome::Replicated { body } => format!(
                "copied to {} destination(s) ({} failed): {} layer(s), {} bytes uploaded, {} layer(s) already there",
                body.copies.len(),
                body.failures.len(),
                body.copies.iter().map(|c| c.layers_copied).sum::<u64>(),
                body.copies.iter().map(|c| c.bytes_copied).sum::<u64>(),
                body.copies.iter().map(|c| c.layers_skipped).sum::<u64>(),
            ),
        }
    }
}

/// The outcomes of one input's triggers, in their order.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Report {
    pub outcomes: Vec<Outcome>,
}

impl FunctionReport for Report {
    fn decision(&self) -> String {
        let described: Vec<String> = self.outcomes.iter().map(Outcome::describe).collect();
        described.join("; ")
    }

    fn dry_run(&self) -> bool {
        self.outcomes
            .iter()
            .any(|o| matches!(o, Outcome::Planned { .. }))
    }

    fn outcomes(&self) -> Outcomes {
        let mut counts = Outcomes::new();
        for outcome in &self.outcomes {
            match outcome {
                Outcome::Skipped { .. } => *counts.entry("Skipped").or_default() += 1,
                Outcome::Planned { .. } => *counts.entry("Planned").or_default() += 1,
                Outcome::Replicated { body } => {
                    *counts.entry("Copies").or_default() += body.copies.len() as u64;
                    *counts.entry("LayersCopied").or_default() +=
                        body.copies.iter().map(|c| c.layers_copied).sum::<u64>();
                    *counts.entry("BytesCopied").or_default() +=
                        body.copies.iter().map(|c| c.bytes_copied).sum::<u64>();
                }
            }
        }
        counts
    }

    fn failures(&self) -> Vec<String> {
        self.outcomes
            .iter()
            .flat_map(|o| match o {
                Outcome::Replicated { body } => body.failures.clone(),
                _ => Vec::new(),
            })
            .collect()
    }

    fn response(&self) -> Value {
        json!({"status": "ok", "decision": self.decision(), "outcomes": self.outcomes})
    }
}
