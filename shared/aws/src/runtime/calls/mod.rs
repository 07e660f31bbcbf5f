//! Counting AWS API calls per operation, with an SDK interceptor attached to every client.
//!
//! The counts feed each event's summary line (and its metrics), and let tests assert the exact
//! number of calls a handler made. One operation counts once however many attempts it took.
//!
//! With the `call-log` feature (tests only), the interceptor also notes what each call names — its
//! repository, table and partition key, topic, parameter, secret, role or function, and its region
//! — for the call log `tests/infra/iam_check.py` compares with the IAM grants (see [`ApiCalls::log_since`]).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Calls made since the last [`ApiCalls::take`], keyed `Service.Operation` (e.g. `ECR.PutImage`).
#[derive(Debug, Clone, Default)]
pub struct ApiCalls {
    state: Arc<Mutex<State>>,
    /// The region the counting function is deployed in, when not the process's (the call log's
    /// `home`: a test standing in for another region's deployment).
    #[cfg(feature = "call-log")]
    home: Option<Arc<str>>,
}

#[derive(Debug, Default)]
struct State {
    counts: BTreeMap<String, u64>,
    /// Per operation, what each of its calls named, in the order they were counted.
    #[cfg(feature = "call-log")]
    named: log::Named,
}

/// What a replication message reports as its `api_calls` (every call so far) and its duration.
impl warden_core::ports::CallMeter for ApiCalls {
    fn calls_made(&self) -> u64 {
        self.total()
    }

    fn millis(&self) -> u64 {
        let since_start = PROCESS_START.get_or_init(std::time::Instant::now).elapsed();
        u64::try_from(since_start.as_millis()).unwrap_or(u64::MAX)
    }
}

/// The monotonic clock's origin for [`warden_core::ports::CallMeter::millis`].
static PROCESS_START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

impl ApiCalls {
    pub fn new() -> Self {
        Self::default()
    }

    /// Counting for a function deployed in `region` (the call log names it as the calls' `home`).
    #[cfg(feature = "call-log")]
    pub fn deployed_in(region: &str) -> Self {
        Self {
            home: Some(Arc::from(region)),
            ..Self::default()
        }
    }

    // A poisoned lock only means another thread panicked mid-increment; the map is still usable.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The counts so far.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.lock().counts.clone()
    }

    /// The counts so far, and start again from zero.
    pub fn take(&self) -> BTreeMap<String, u64> {
        let mut state = self.lock();
        let counts = std::mem::take(&mut state.counts);
        #[cfg(feature = "call-log")]
        state.named.clear();
        counts
    }

    /// Calls made since `before` (a [`ApiCalls::snapshot`]): one event's calls, without resetting
    /// the counter for anyone else reading it.
    pub fn since(&self, before: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
        delta(&self.lock().counts, before)
    }

    /// Calls of one operation so far, e.g. `count("ECR.PutImage")`.
    pub fn count(&self, operation: &str) -> u64 {
        self.lock().counts.get(operation).copied().unwrap_or(0)
    }

    /// All calls so far.
    pub fn total(&self) -> u64 {
        self.lock().counts.values().sum()
    }

    /// Append every call so far to the call log as `name` (`$WARDEN_CALL_LOG/<name>.calls`), each
    /// with what it named: the `warden` CLI logs its command's calls this way. A no-op without
    /// the `call-log` feature, or when `WARDEN_CALL_LOG` is unset.
    pub fn log_as(&self, name: &str) {
        self.log_since(name, &BTreeMap::new());
    }

    /// Append the calls made since `before` (a [`ApiCalls::snapshot`]) to the call log as `name`,
    /// each with what it named: one event's calls, for comparing them with the IAM grants
    /// (`tests/infra/iam_check.py`). A no-op without the `call-log` feature (the tests enable it;
    /// the Lambda binaries do not), or when `WARDEN_CALL_LOG` is unset.
    ///
    /// One line per operation and distinct set of fields, appended to
    /// `$WARDEN_CALL_LOG/<name>.calls`: `Service.Operation`, then what the calls named as
    /// `key=value` fields, e.g. `ECR.PutImage repository=team-a/api registry=123456789012
    /// region=us-east-1`.
    pub fn log_since(&self, name: &str, before: &BTreeMap<String, u64>) {
        #[cfg(feature = "call-log")]
        {
            let state = self.lock();
            let counts = delta(&state.counts, before);
            let named = state.named.since(before, &counts);
            drop(state);
            log::append(name, &log::lines(&counts, &named));
        }
        #[cfg(not(feature = "call-log"))]
        let _ = (name, before);
    }
}

/// The counts in `now` above those in `before`.
fn delta(now: &BTreeMap<String, u64>, before: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    now.iter()
        .filter_map(|(op, n)| {
            let delta = n.saturating_sub(before.get(op).copied().unwrap_or(0));
            (delta > 0).then(|| (op.clone(), delta))
        })
        .collect()
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
        #[cfg(feature = "call-log")]
        let logged = log::enabled().then(|| key.clone());
        let mut state = self.lock();
        let count = state.counts.entry(key).or_default();
        *count += 1;
        // The call log: which of the operation's calls this is, for the request it serializes.
        #[cfg(feature = "call-log")]
        if let Some(key) = logged {
            let index = *count - 1;
            let slot = state.named.reserve(key, index);
            cfg.interceptor_state().store_put(slot);
        }
        Ok(())
    }

    // The serialized request, once per operation: what the call names, for the call log.
    #[cfg(feature = "call-log")]
    fn read_after_serialization(
        &self,
        context: &aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(slot) = cfg.load::<log::Slot>() {
            let region = cfg.load::<aws_config::Region>().map(|r| r.as_ref());
            let home = self.home.as_deref().or(log::home_region());
            let named = log::describe(&slot.key, context.request(), region, home);
            self.lock().named.fill(slot, named);
        }
        Ok(())
    }
}

#[cfg(feature = "call-log")]
mod log;
