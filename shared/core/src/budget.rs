//! Time left in a long run (janitor, the tag-guard sweep): before each repository the run asks;
//! out of time, it checkpoints and the next invocation continues after the last one done.

/// Whether there is time to start another repository (the Lambda checks its deadline).
pub trait Budget: Send + Sync {
    fn time_left(&self) -> bool;
}

/// No deadline (the CLI, tests).
pub struct Unlimited;

impl Budget for Unlimited {
    fn time_left(&self) -> bool {
        true
    }
}
