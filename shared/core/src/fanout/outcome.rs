//! What a worker answers for one shard (the state machine reads `stopped_after` to run it again),
//! and the jobs a fan-out runs.

use serde::{Deserialize, Serialize};

use super::Shard;
use crate::execute::Outcomes;
use crate::names::{AccountId, Region, RepositoryName};

/// What an organization-wide run does, and which function works its shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Job {
    /// janitor: the cleanup policy's deletions.
    Cleanup,
    /// tag-guard: the reconciling sweep (tag mutability, protected tags).
    Sweep,
    /// replicator: copies of the images that existed before the replicator did.
    Backfill,
}

impl Job {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cleanup => "cleanup",
            Self::Sweep => "sweep",
            Self::Backfill => "backfill",
        }
    }
}

impl std::fmt::Display for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// At most this many of a shard's failure messages travel in its answer (a Step Functions state
/// holds 256 KiB; the function's log line has them all).
pub const MAX_ERRORS: usize = 5;

/// A worker's answer to one shard invocation, every field always present (the state machine's
/// `Choice` reads `stopped_after`; the summary adds the counts up).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardOutcome {
    pub job: Job,
    pub account: AccountId,
    pub region: Region,
    /// Repositories the shard names.
    pub repositories: u64,
    /// Repositories finished by this invocation.
    pub done: u64,
    /// Actions decided (images to delete, tags or settings to correct, images to copy).
    pub planned: u64,
    /// Actions carried out (none in dry-run).
    pub applied: u64,
    /// Failures reported (each repository's or image's, not retried).
    pub failed: u64,
    /// The first [`MAX_ERRORS`] failure messages.
    pub errors: Vec<String>,
    pub dry_run: bool,
    /// Out of time after this repository: run the shard again, it continues there.
    pub stopped_after: Option<RepositoryName>,
}

/// What one worker made of a shard, in the numbers [`ShardOutcome`] carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShardWork {
    pub done: u64,
    pub planned: u64,
    pub applied: u64,
    pub errors: Vec<String>,
    pub dry_run: bool,
    pub stopped_after: Option<RepositoryName>,
}

impl ShardWork {
    /// The actions carried out, as a function's outcome counts add up.
    pub fn applied_from(outcomes: &Outcomes) -> u64 {
        outcomes.values().sum()
    }
}

impl ShardOutcome {
    /// `work` on `shard`, for `job`.
    pub fn new(job: Job, shard: &Shard, work: ShardWork) -> Self {
        let failed = u64::try_from(work.errors.len()).unwrap_or(u64::MAX);
        let mut errors = work.errors;
        errors.truncate(MAX_ERRORS);
        Self {
            job,
            account: shard.at.account.clone(),
            region: shard.at.region.clone(),
            repositories: u64::try_from(shard.repositories.len()).unwrap_or(u64::MAX),
            done: work.done,
            planned: work.planned,
            applied: work.applied,
            failed,
            errors,
            dry_run: work.dry_run,
            stopped_after: work.stopped_after,
        }
    }

    /// The answer the state machine reads: `{"status": "ok", ...every field}`.
    pub fn response(&self) -> serde_json::Value {
        let mut value = serde_json::json!({"status": "ok"});
        if let (Some(out), Ok(serde_json::Value::Object(fields))) =
            (value.as_object_mut(), serde_json::to_value(self))
        {
            out.extend(fields);
        }
        value
    }
}
