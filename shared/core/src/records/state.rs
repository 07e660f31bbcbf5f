//! What the state ports keep: ledger entries and claims, verdict records and their claims, and
//! the evaluations scheduled for the end of an image's signature grace.

use crate::names::{AccountId, Digest, Region, RepositoryName};
use crate::severity::Severity;
use crate::verdict::Verdict;
use chrono::{DateTime, Utc};

/// A ledger entry: the digest a protected tag pointed to first, and when that was observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    pub digest: Digest,
    pub observed_at: DateTime<Utc>,
}

/// What a claim found, and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The tag had no entry: this digest is now recorded.
    Recorded,
    /// The tag had an entry observed no later than this one: it stands.
    Existing(Digest),
    /// The tag had an entry observed *later* (events arrived out of order): this digest replaced it.
    Replaced { previous: Digest },
}

impl Claim {
    /// What a claim would do, given the entry there is (dry-run decides with this, writing nothing).
    pub fn would(
        existing: Option<&LedgerEntry>,
        digest: &Digest,
        observed_at: DateTime<Utc>,
    ) -> Self {
        match existing {
            None => Self::Recorded,
            Some(e) if e.observed_at > observed_at && &e.digest != digest => Self::Replaced {
                previous: e.digest.clone(),
            },
            Some(e) => Self::Existing(e.digest.clone()),
        }
    }
}

/// The verdict last recorded for an image: what the replicator and the CLI ask ("did D pass?").
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VerdictRecord {
    pub repository: RepositoryName,
    pub digest: Digest,
    pub verdict: Verdict,
    pub max_severity: Option<Severity>,
    /// (verdict, finding set) identity; see `verdict::Evaluation::fingerprint`.
    pub fingerprint: String,
    /// The policy rule whose gate decided.
    pub policy_pattern: Option<String>,
    pub decided_at: DateTime<Utc>,
    /// When the evidence the verdict rests on was produced (the scan's completion or the finding's
    /// change as its event says; the read's time for a listing of current findings). Older evidence
    /// never replaces a record resting on newer evidence.
    pub evidence_at: DateTime<Utc>,
}

/// What a verdict claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerdictClaim {
    /// Recorded; `previous` is what it replaced.
    Recorded { previous: Option<VerdictRecord> },
    /// The same verdict and finding set were recorded already: nothing new to act on or tell.
    Unchanged,
    /// The stored record rests on newer evidence: this one is late, and changes nothing.
    Superseded { current: Box<VerdictRecord> },
    /// (A pushed index's verdict, claimed as [`VerdictStore::claim_index`] does.) A platform
    /// image's record it rests on changed meanwhile: nothing written.
    Stale { changed: Digest },
}

impl VerdictClaim {
    /// What claiming `new` does given the stored record: the one rule both the store and a
    /// dry-run follow. A record resting on newer evidence with another fingerprint is not
    /// replaced (`Superseded`); the same fingerprint is `Unchanged`; otherwise `Recorded` (equal
    /// evidence times replace: the later evaluation read at least as much).
    pub fn would(stored: Option<VerdictRecord>, new: &VerdictRecord) -> Self {
        match stored {
            Some(s) if s.fingerprint == new.fingerprint => Self::Unchanged,
            Some(s) if s.evidence_at > new.evidence_at => Self::Superseded {
                current: Box::new(s),
            },
            previous => Self::Recorded { previous },
        }
    }

    /// Whether claiming `new` writes it over `stored`: a first record; another fingerprint on
    /// evidence no older; the same fingerprint on newer evidence — its evidence time moves forward
    /// (`Unchanged`, nothing to act on), so evidence older than what was last *seen* never
    /// replaces it, whatever order the same news arrived in.
    pub fn writes(stored: Option<&VerdictRecord>, new: &VerdictRecord) -> bool {
        match stored {
            None => true,
            Some(s) if s.fingerprint == new.fingerprint => new.evidence_at > s.evidence_at,
            Some(s) => new.evidence_at >= s.evidence_at,
        }
    }
}

/// An index's verdict as derived from its platform images' records: the record, and the verdict
/// each record it rests on must still hold when it is written (the failing image's FAIL, or every
/// platform image's PASS).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IndexRecord {
    pub record: VerdictRecord,
    pub rests_on: Vec<(Digest, Verdict)>,
}

/// What claiming an index's derived verdict found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexClaim {
    /// Recorded; `previous` is what it replaced.
    Recorded { previous: Option<VerdictRecord> },
    /// The same verdict, resting on the same images, was recorded already.
    Unchanged,
    /// A record it rests on holds another verdict now (`changed`): another evaluation, which
    /// changed it, records the index; nothing written.
    Stale { changed: Digest },
}

impl IndexClaim {
    /// What a claim would find given the stored index record, its rests-on records unchanged (the
    /// dry run's reading).
    pub fn would(stored: Option<VerdictRecord>, new: &VerdictRecord) -> Self {
        match stored {
            Some(s) if s.fingerprint == new.fingerprint => Self::Unchanged,
            previous => Self::Recorded { previous },
        }
    }
}

/// scan-gate's evaluation of one image at the end of its signature grace (docs/signatures.md):
/// what the one-time schedule sends back to scan-gate as `{"signature_deadline": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraceDeadline {
    pub account: AccountId,
    pub region: Region,
    pub repository: RepositoryName,
    pub digest: Digest,
    /// When the grace ends: the image is evaluated at or after it.
    pub at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::{Digest, RepositoryName};

    fn record(fingerprint: &str, evidence_second: i64) -> VerdictRecord {
        VerdictRecord {
            repository: RepositoryName::new("app/x").expect("name"),
            digest: Digest::of_bytes(b"x"),
            verdict: Verdict::Pass,
            max_severity: None,
            fingerprint: fingerprint.to_owned(),
            policy_pattern: None,
            decided_at: DateTime::UNIX_EPOCH,
            evidence_at: DateTime::from_timestamp(evidence_second, 0).expect("time"),
        }
    }

    /// Every (stored, new) case: what is written and what the claim answers.
    #[test]
    fn older_evidence_never_replaces_and_the_same_news_only_moves_its_time_forward() {
        let cases = [
            (None, record("a", 5), true, "recorded"),
            (Some(record("a", 5)), record("b", 6), true, "recorded"),
            (Some(record("a", 5)), record("b", 5), true, "recorded"),
            (Some(record("a", 5)), record("b", 4), false, "superseded"),
            (Some(record("a", 5)), record("a", 6), true, "unchanged"),
            (Some(record("a", 5)), record("a", 5), false, "unchanged"),
            (Some(record("a", 5)), record("a", 4), false, "unchanged"),
        ];
        for (stored, new, writes, answer) in cases {
            let case = format!("{stored:?} <- {new:?}");
            assert_eq!(
                VerdictClaim::writes(stored.as_ref(), &new),
                writes,
                "{case}"
            );
            let got = match VerdictClaim::would(stored, &new) {
                VerdictClaim::Recorded { .. } => "recorded",
                VerdictClaim::Superseded { .. } => "superseded",
                VerdictClaim::Unchanged => "unchanged",
                VerdictClaim::Stale { .. } => "stale (never from a plain claim)",
            };
            assert_eq!(got, answer, "{case}");
        }
    }
}
