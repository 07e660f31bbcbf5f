//! Time left in a long run (janitor, the tag-guard sweep, a backfill shard): before each repository
//! the run asks; out of time, it checkpoints and the next invocation continues after the last one
//! done. [`Walk`] is that rule, once for every run that walks repositories in name order.

use crate::names::{AccountId, Region, RepositoryName};
use crate::ports::{Checkpoints, PortError};

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

/// The checkpoint key of one shard of a fanned-out run: `<job>#<account>#<region>#shard#<first>#<count>`
/// (`job` e.g. `janitor`, `tag-guard#sweep`), the shard named by its first repository in name order
/// and how many it holds, so that two shards of one plan never share a checkpoint.
pub fn shard_key(
    job: &str,
    account: &AccountId,
    region: &Region,
    first: &RepositoryName,
    count: usize,
) -> String {
    format!("{job}#{account}#{region}#shard#{first}#{count}")
}

/// A walk over repositories in name order that keeps its place under one checkpoint key: it
/// resumes after the checkpoint, stops before a repository once the budget says time is up
/// (saving the last one done), and clears the checkpoint when it reaches the end.
///
/// The caller offers the repositories in ascending name order:
/// ```text
/// for name in names {
///     if !walk.pending(name) { continue }
///     if let Some(stopped) = walk.stop_if_out_of_time().await? { return stopped }
///     ... the repository's work ...
///     walk.done(name);
/// }
/// walk.finish().await?
/// ```
pub struct Walk<'a> {
    checkpoints: Option<&'a dyn Checkpoints>,
    key: String,
    budget: &'a dyn Budget,
    /// The checkpoint read at the start: the last repository an earlier invocation finished.
    resume: Option<String>,
    last_done: Option<RepositoryName>,
}

/// Where a walk stopped for lack of time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stopped {
    /// The last repository done (this invocation's or, when it finished none, the checkpoint's),
    /// after which the next invocation continues; `None` when none was done at all.
    pub after: Option<RepositoryName>,
}

impl<'a> Walk<'a> {
    /// Start or resume the walk under `key`: one `GetItem` when there is a checkpoint store.
    pub async fn resume(
        checkpoints: Option<&'a dyn Checkpoints>,
        key: String,
        budget: &'a dyn Budget,
    ) -> Result<Self, PortError> {
        let resume = match checkpoints {
            Some(c) => c.get(&key).await?,
            None => None,
        };
        Ok(Self {
            checkpoints,
            key,
            budget,
            resume,
            last_done: None,
        })
    }

    /// Whether `name` is still to do: after the checkpoint (all are, without one).
    pub fn pending(&self, name: &RepositoryName) -> bool {
        self.resume
            .as_deref()
            .is_none_or(|done| name.as_str() > done)
    }

    /// Before starting a repository: `None` while there is time; once there is none, the
    /// checkpoint saved at the last repository done (one `PutItem`, when this invocation did one)
    /// and where the walk stopped.
    pub async fn stop_if_out_of_time(&mut self) -> Result<Option<Stopped>, PortError> {
        if self.budget.time_left() {
            return Ok(None);
        }
        if let (Some(c), Some(done)) = (self.checkpoints, &self.last_done) {
            c.set(&self.key, Some(done.as_str())).await?;
        }
        let after = match &self.last_done {
            Some(done) => Some(done.clone()),
            None => self
                .resume
                .as_deref()
                .and_then(|r| RepositoryName::new(r).ok()),
        };
        Ok(Some(Stopped { after }))
    }

    /// `name` is done (whatever its outcome): the place to continue after.
    pub fn done(&mut self, name: &RepositoryName) {
        self.last_done = Some(name.clone());
    }

    /// The end of the walk: the checkpoint cleared (one `DeleteItem`) when it had resumed from one.
    pub async fn finish(self) -> Result<(), PortError> {
        if let (Some(c), Some(_)) = (self.checkpoints, self.resume) {
            c.set(&self.key, None).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;

    use super::*;

    /// A checkpoint table in memory, counting writes.
    #[derive(Default)]
    struct Table {
        rows: Mutex<BTreeMap<String, String>>,
        writes: AtomicUsize,
    }

    #[async_trait]
    impl Checkpoints for Table {
        async fn get(&self, key: &str) -> Result<Option<String>, PortError> {
            Ok(self.rows.lock().unwrap().get(key).cloned())
        }

        async fn set(&self, key: &str, value: Option<&str>) -> Result<(), PortError> {
            self.writes.fetch_add(1, Ordering::SeqCst);
            let mut rows = self.rows.lock().unwrap();
            match value {
                Some(v) => rows.insert(key.to_owned(), v.to_owned()),
                None => rows.remove(key),
            };
            Ok(())
        }
    }

    /// Time for `n` more repositories.
    struct Repositories(AtomicUsize);

    impl Budget for Repositories {
        fn time_left(&self) -> bool {
            self.0
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
        }
    }

    fn names(all: &[&str]) -> Vec<RepositoryName> {
        all.iter()
            .map(|n| RepositoryName::new(*n).unwrap())
            .collect()
    }

    /// Walk `all` with time for `time` repositories: those done, and where it stopped.
    async fn walk(
        table: &Table,
        all: &[RepositoryName],
        time: usize,
    ) -> (Vec<String>, Option<Stopped>) {
        let budget = Repositories(AtomicUsize::new(time));
        let mut walk = Walk::resume(Some(table), "k".into(), &budget)
            .await
            .unwrap();
        let mut done = Vec::new();
        for name in all {
            if !walk.pending(name) {
                continue;
            }
            if let Some(stopped) = walk.stop_if_out_of_time().await.unwrap() {
                return (done, Some(stopped));
            }
            done.push(name.to_string());
            walk.done(name);
        }
        walk.finish().await.unwrap();
        (done, None)
    }

    #[tokio::test]
    async fn a_walk_out_of_time_resumes_after_the_last_repository_done_and_ends_clean() {
        let table = Table::default();
        let all = names(&["aa", "bb", "cc", "dd", "ee"]);
        let (done, stopped) = walk(&table, &all, 2).await;
        assert_eq!(done, ["aa", "bb"]);
        assert_eq!(
            stopped,
            Some(Stopped {
                after: Some(all[1].clone())
            })
        );
        let (done, stopped) = walk(&table, &all, 10).await;
        assert_eq!(done, ["cc", "dd", "ee"]);
        assert_eq!(stopped, None);
        assert!(table.rows.lock().unwrap().is_empty(), "cleared at the end");
        // One PutItem at the stop, one DeleteItem at the end.
        assert_eq!(table.writes.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_resumed_walk_with_no_time_reports_the_checkpoint_it_keeps() {
        let table = Table::default();
        let all = names(&["aa", "bb", "cc"]);
        walk(&table, &all, 1).await;
        let (done, stopped) = walk(&table, &all, 0).await;
        assert!(done.is_empty());
        assert_eq!(
            stopped,
            Some(Stopped {
                after: Some(all[0].clone())
            })
        );
        assert_eq!(
            table.rows.lock().unwrap().get("k").map(String::as_str),
            Some("aa")
        );
    }

    #[tokio::test]
    async fn an_uninterrupted_walk_writes_no_checkpoint() {
        let table = Table::default();
        let (done, stopped) = walk(&table, &names(&["aa", "bb"]), 10).await;
        assert_eq!(done, ["aa", "bb"]);
        assert_eq!(stopped, None);
        assert_eq!(table.writes.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_shard_key_names_job_place_first_repository_and_count() {
        let key = shard_key(
            "tag-guard#sweep",
            &AccountId::new("123456789012").unwrap(),
            &Region::new("eu-west-1").unwrap(),
            &RepositoryName::new("team/api").unwrap(),
            50,
        );
        assert_eq!(
            key,
            "tag-guard#sweep#123456789012#eu-west-1#shard#team/api#50"
        );
    }
}
