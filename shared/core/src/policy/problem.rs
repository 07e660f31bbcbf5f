//! What is wrong with a policy: each problem with its key path, and the error that carries them
//! all (validation collects every problem; none stops the others from being found).

use std::fmt;

/// One thing wrong with a policy: where (`repositories[0].immutability.exclusions`) and what.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "(top level)"
        } else {
            &self.path
        };
        write!(f, "{path}: {}", self.message)
    }
}

/// A policy that must not be acted on, with every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid policy ({} problem{}): {}", .problems.len(), if .problems.len() == 1 { "" } else { "s" },
        .problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct PolicyError {
    pub problems: Vec<Problem>,
}
