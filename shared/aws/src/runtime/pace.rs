//! Pacing a worker's calls to its shard's account-region (docs/organization.md, "Rate budgets"):
//! the planner gives each shard a share of the account-region's calls per second, and every request
//! a paced client sends — each attempt, retries included — waits at a gate first: no request
//! passes it within `1 / calls_per_second` of the one before (no burst, and a worker that stalled
//! does not catch up in a rush), so any one second holds at most `calls_per_second` requests of
//! this worker.
//!
//! The pace is set per invocation ([`Pacer::set`]): a Lambda container runs one invocation at a
//! time, and a schedule's invocation runs unpaced.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use tokio::time::Instant;
use warden_core::fanout::Pace;

/// One worker's pace in one account-region, shared by the clients that act there.
#[derive(Debug, Clone, Default)]
pub struct Pacer {
    state: Arc<Mutex<Slots>>,
}

#[derive(Debug, Default)]
struct Slots {
    /// Time between two requests; `None`: unpaced.
    interval: Option<Duration>,
    /// When the last request passed the gate.
    last: Option<Instant>,
}

impl Pacer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Pace the requests at `pace` (`None`: as fast as they come) until the returned guard is
    /// dropped — at the end of the shard, or when its handler is cancelled at the deadline — so
    /// that the container's next invocation (a schedule's) never inherits a shard's pace.
    pub fn pacing(&self, pace: Option<Pace>) -> Pacing<'_> {
        self.set(pace);
        Pacing(self)
    }

    fn set(&self, pace: Option<Pace>) {
        let mut slots = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        slots.interval = pace
            .filter(|p| p.calls_per_second > 0)
            .map(|p| Duration::from_secs(1) / p.calls_per_second);
    }

    /// Wait until this request may go: `interval` after the last one that went.
    async fn slot(&self) {
        loop {
            let wait = {
                let mut slots = self.state.lock().unwrap_or_else(PoisonError::into_inner);
                let Some(interval) = slots.interval else {
                    return;
                };
                let now = Instant::now();
                match slots.last.map(|last| last + interval) {
                    Some(earliest) if now < earliest => earliest,
                    _ => {
                        slots.last = Some(now);
                        return;
                    }
                }
            };
            tokio::time::sleep_until(wait).await;
        }
    }

    /// `sdk` with its HTTP client paced by this pacer. Its retry settings stay the SDK's standard
    /// mode: the SDK's adaptive mode, tried here, starts its client-side rate from the calls it
    /// has measured, so a worker throttled early in a shard crawled at a fraction of a call per
    /// second for over a minute (80 s against 4.5 s for the same shard in
    /// tests/tests/fanout/throttling.rs); the pace is already the budget, and what AWS still
    /// throttles comes back as a `Throttled` invocation error that the state machine retries
    /// with backoff.
    pub fn paced(&self, sdk: &SdkConfig) -> SdkConfig {
        let mut builder = sdk.to_builder();
        if let Some(client) = sdk.http_client() {
            builder.set_http_client(Some(SharedHttpClient::new(PacedClient {
                inner: client,
                pacer: self.clone(),
            })));
        }
        builder.build()
    }
}

/// A shard's pace in force; unpaced again when dropped.
#[must_use = "the pace ends when this guard is dropped"]
pub struct Pacing<'a>(&'a Pacer);

impl Drop for Pacing<'_> {
    fn drop(&mut self) {
        self.0.set(None);
    }
}

#[derive(Debug)]
struct PacedClient {
    inner: SharedHttpClient,
    pacer: Pacer,
}

impl HttpClient for PacedClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(PacedConnector {
            inner: self.inner.http_connector(settings, components),
            pacer: self.pacer.clone(),
        })
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.inner.connector_metadata()
    }
}

#[derive(Debug)]
struct PacedConnector {
    inner: SharedHttpConnector,
    pacer: Pacer,
}

impl HttpConnector for PacedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let (inner, pacer) = (self.inner.clone(), self.pacer.clone());
        HttpConnectorFuture::new(async move {
            pacer.slot().await;
            inner.call(request).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Requests an interval apart: n in a row take (n-1) intervals, and an unpaced pacer none.
    #[tokio::test(start_paused = true)]
    async fn requests_wait_for_evenly_spaced_slots() {
        let pacer = Pacer::new();
        let start = Instant::now();
        for _ in 0..5 {
            pacer.slot().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO, "unpaced");
        pacer.set(Some(Pace {
            calls_per_second: 4,
        }));
        let start = Instant::now();
        for _ in 0..9 {
            pacer.slot().await;
        }
        assert_eq!(
            start.elapsed(),
            Duration::from_millis(2_000),
            "9 slots 250 ms apart"
        );
    }
}
