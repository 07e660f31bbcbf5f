//! ecr-warden's own state: the protected-tag ledger, recorded verdicts, run checkpoints.

use crate::records::{Claim, IndexClaim, IndexRecord, LedgerEntry, VerdictClaim, VerdictRecord};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::PortError;
use crate::names::{Digest, RepositoryName, Tag};

/// The protected-tag ledger: the earliest-observed digest of each protected tag. Keeping the
/// earliest (not the first to arrive) makes out-of-order deliveries converge on the same state.
#[async_trait]
pub trait TagLedger: Send + Sync {
    /// Record `digest` (observed at `observed_at`) for `tag` unless an entry observed no later
    /// exists; say what happened. One conditional write (DynamoDB `PutItem`, condition
    /// `attribute_not_exists OR observed_at > :t`, returning the old item either way).
    async fn claim(
        &self,
        repository: &RepositoryName,
        tag: &Tag,
        digest: &Digest,
        observed_at: DateTime<Utc>,
    ) -> Result<Claim, PortError>;

    /// The entry, without writing (dry-run). One `GetItem`.
    async fn entry(
        &self,
        repository: &RepositoryName,
        tag: &Tag,
    ) -> Result<Option<LedgerEntry>, PortError>;

    /// Make the tag's legitimate digest `to` (observed at `observed_at`), but only while the entry
    /// still says `from`: one conditional `PutItem`. `false` when the entry changed meanwhile.
    async fn follow(
        &self,
        repository: &RepositoryName,
        tag: &Tag,
        from: &Digest,
        to: &Digest,
        observed_at: DateTime<Utc>,
    ) -> Result<bool, PortError>;
}

/// The most records an index verdict may rest on: DynamoDB's TransactWriteItems takes 100 items,
/// one of which is the index's own.
pub const MAX_INDEX_RESTS_ON: usize = 99;

/// Reading scan-gate's recorded verdicts (tag-guard asks before re-pointing a protected tag).
#[async_trait]
pub trait VerdictLookup: Send + Sync {
    /// The stored record. One `GetItem` (consistent read).
    async fn verdict(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> Result<Option<VerdictRecord>, PortError>;
}

/// Recorded verdicts, one per image (scan-gate's).
#[async_trait]
pub trait VerdictStore: VerdictLookup {
    /// Write when [`VerdictClaim::writes`] says so, answering as [`VerdictClaim::would`] says.
    /// One conditional `PutItem` returning the old item.
    async fn claim(&self, record: &VerdictRecord) -> Result<VerdictClaim, PortError>;

    /// Record an index's derived verdict only while every record it rests on still holds the
    /// verdict it was derived from, atomically: the index's verdict is always one its platform
    /// images' records gave at one moment, whatever evaluations run at once. Not ordered by
    /// evidence time (the platform images' own claims are). At most [`MAX_INDEX_RESTS_ON`] records.
    /// One `TransactWriteItems` (a condition check per record it rests on, a put of the index's).
    async fn claim_index(&self, index: &IndexRecord) -> Result<IndexClaim, PortError>;

    /// Put `previous` back (or remove the record) after acting on a claim failed, so the retry
    /// acts again — only while the stored record is still the one this claim wrote (fingerprint
    /// `written`): a decision another evaluation recorded since stands. One conditional `PutItem`
    /// or `DeleteItem`.
    async fn restore(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
        previous: Option<&VerdictRecord>,
        written: &str,
    ) -> Result<(), PortError>;
}

/// Where a long run stopped, so the next invocation continues there.
#[async_trait]
pub trait Checkpoints: Send + Sync {
    /// The checkpoint under `key`. One `GetItem`.
    async fn get(&self, key: &str) -> Result<Option<String>, PortError>;

    /// Save (`Some`) or clear (`None`) the checkpoint under `key`. One `PutItem` or `DeleteItem`.
    async fn set(&self, key: &str, value: Option<&str>) -> Result<(), PortError>;
}
