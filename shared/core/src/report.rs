//! What every function's handling of one input leaves: its decision in one line, outcome counts,
//! failures, and the response its invoker gets. The Lambda frame turns any report into its
//! response and its summary line through this one trait.

use serde::Serialize;
use serde_json::{Value, json};

use crate::execute::Outcomes;

pub trait FunctionReport: Serialize {
    /// The decision in one line (the summary line's `decision`).
    fn decision(&self) -> String;

    /// Whether what was decided was only planned.
    fn dry_run(&self) -> bool;

    /// Outcome counts, by metric name (the summary line's metrics).
    fn outcomes(&self) -> Outcomes;

    /// Failures retrying cannot fix: reported, and the input acknowledged.
    fn failures(&self) -> Vec<String>;

    /// What the invoker gets back (and `cargo lambda invoke` shows).
    fn response(&self) -> Value {
        json!({"status": "ok", "decision": self.decision(), "report": self})
    }
}
