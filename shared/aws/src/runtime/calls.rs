//! Counting AWS API calls per operation, with an SDK interceptor attached to every client.
//!
//! The counts feed each event's summary line (and its metrics), and let tests assert the exact
//! number of calls a handler made. One operation counts once however many attempts it took.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Calls made since the last [`ApiCalls::take`], keyed `Service.Operation` (e.g. `ECR.PutImage`).
#[derive(Debug, Clone, Default)]
pub struct ApiCalls {
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl ApiCalls {
    pub fn new() -> Self {
        Self::default()
    }

    fn record(&self, key: String) {
        // A poisoned lock only means another thread panicked mid-increment; the map is still usable.
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        *counts.entry(key).or_default() += 1;
    }

    /// The counts so far.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The counts so far, and start again from zero.
    pub fn take(&self) -> BTreeMap<String, u64> {
        std::mem::take(&mut *self.counts.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Calls made since `before` (a [`ApiCalls::snapshot`]): one event's calls, without resetting
    /// the counter for anyone else reading it.
    pub fn since(&self, before: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
        self.snapshot()
            .into_iter()
            .filter_map(|(op, n)| {
                let delta = n - before.get(&op).copied().unwrap_or(0);
                (delta > 0).then_some((op, delta))
            })
            .collect()
    }

    /// Calls of one operation so far, e.g. `count("ECR.PutImage")`.
    pub fn count(&self, operation: &str) -> u64 {
        self.snapshot().get(operation).copied().unwrap_or(0)
    }

    /// All calls so far.
    pub fn total(&self) -> u64 {
        self.snapshot().values().sum()
    }
}

impl Intercept for ApiCalls {
    fn name(&self) -> &'static str {
        "warden-api-calls"
    }

    // Serialization runs once per operation (retries resend the same request), after the
    // operation has put its Metadata in the bag.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let key = match cfg.load::<Metadata>() {
            Some(m) => format!("{}.{}", m.service(), m.name()),
            None => "unknown.unknown".to_owned(),
        };
        self.record(key);
        Ok(())
    }
}

/// An audit trail of the operations each function calls, for comparing them with the IAM actions
/// the deployment grants (`tests/infra/iam_check.py`). Built only with the `call-log` feature (the tests
/// enable it; the Lambda binaries do not), and only writes when `WARDEN_CALL_LOG` names a folder:
/// one line `Service.Operation` per operation per event, appended to `<folder>/<function>.calls`.
#[cfg(feature = "call-log")]
pub fn log_calls(function: &str, calls: &BTreeMap<String, u64>) {
    use std::io::Write;
    let Some(folder) = std::env::var_os("WARDEN_CALL_LOG") else {
        return;
    };
    let lines: String = calls.keys().map(|op| format!("{op}\n")).collect();
    if lines.is_empty() {
        return;
    }
    let path = std::path::Path::new(&folder).join(format!("{function}.calls"));
    // One write per event with O_APPEND: lines from tests running in parallel do not interleave.
    let written = std::fs::create_dir_all(&folder).and_then(|()| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?
            .write_all(lines.as_bytes())
    });
    if let Err(error) = written {
        tracing::warn!(%error, path = %path.display(), "call log not written");
    }
}
