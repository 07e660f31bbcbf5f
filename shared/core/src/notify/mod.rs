//! The notifier's decisions: which Slack routes a message goes to, and when it is news.
//!
//! - Routes: every rule whose pattern matches the repository contributes its `notify.slack` routes,
//!   plus `defaults.notify.slack` — unlike other sections, routes add up, so a platform-wide channel
//!   and a team channel can both hear about a repository. Routes are deduplicated by name.
//! - `min_severity` filters verdicts by their maximum severity (a FAIL without one — a failed
//!   scan — passes every filter); outcomes that are actions (tag reverted, repository fixed,
//!   cleanup) always go.
//! - Dedupe: [`fingerprint`] identifies (repository, image, outcome, finding set); the same
//!   fingerprint is posted once per route within the dedupe window, a changed finding set again.

mod decide;
mod input;
mod report;
mod run;
pub mod slack;

pub use decide::{fingerprint, routes};
pub use input::Input;
pub use report::{Delivery, Posting, Report};
pub use run::{FUNCTION, Ports, deliver, handle_messages};
