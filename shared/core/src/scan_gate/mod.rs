//! scan-gate's decisions: a verdict per image, and quarantine of that image only.
//!
//! Like tag-guard, [`decide`] is pure and re-run as facts arrive ([`Step::Need`] until
//! [`Step::Done`]), so only the reads a verdict needs are made:
//! 1. the verdict — from the event's counts (0 reads) unless exceptions or the fixable filter could
//!    change a FAIL; from the findings otherwise (always for an Inspector finding event: the image's
//!    current ACTIVE findings decide, not the one event);
//! 2. a conditional write of (verdict, finding-set fingerprint): unchanged means a duplicate or
//!    re-emitted finding — nothing to do, nothing to tell;
//! 3. on FAIL with `on_fail: quarantine`, each tag still on the image moves to `<prefix><tag>` (same
//!    manifest bytes, so the digest is kept) and the original tags are removed — the image survives
//!    under its quarantine tags; on a later PASS the original tags come back unless a newer image
//!    has taken one (reported).

mod decide;
mod facts;
mod index;
mod input;
mod moves;
mod naming;
mod pushed;
mod recheck;
mod release;
mod report;
mod run;
mod signature_reads;
mod signed;
mod subject;
#[cfg(test)]
mod tests;

pub use decide::{Context, FUNCTION, Step, Wait, decide, verdict_of};
pub use facts::{Facts, Need, ParentIndex, Parents};
pub use input::Input;
pub use moves::amend;
pub use naming::{original_tag, quarantine_tag};
pub use report::{BatchReport, Report};
pub use run::{Ports, gate_image, handle_batch, handle_deadline, handle_event};
pub use signature_reads::{kms_keys, revocations};
pub use signed::pending_until;
pub use subject::{
    ReferrerArrival, Source, Subject, image_subject, referrer_arrival, signature_push, subject,
};
