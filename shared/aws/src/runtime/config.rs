//! The SDK configured once per container; adapters build their clients from it with the call
//! counter ([`counted!`](crate::counted)).
//!
//! Endpoints, region and credentials come from the standard AWS environment, so the same binary runs
//! against AWS and against the local emulator: `AWS_ENDPOINT_URL` (and per-service variants such as
//! `AWS_ENDPOINT_URL_ECR`), `AWS_REGION`, `AWS_MAX_ATTEMPTS`. Timeouts are explicit, because a hung
//! call would otherwise burn the whole Lambda timeout:
//! `WARDEN_ATTEMPT_TIMEOUT_MS` (default 5000) and `WARDEN_OPERATION_TIMEOUT_MS` (default 20000).

use std::time::Duration;

use aws_config::Region;
use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls::{self, TlsContext, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

use crate::runtime::env::{self, ConfigError};
use crate::runtime::tls::TrustRoots;

/// The one HTTPS client every SDK client shares: hyper 1 with rustls 0.23 on *ring*, trusting
/// `roots`. The SDK crates' default features would link two TLS stacks (and aws-lc's C library)
/// into every binary. The TLS connector is built on the first call and then reused by every
/// client (one per timeout setting, cached by smithy).
pub fn https_client(roots: &TrustRoots) -> SharedHttpClient {
    let mut builder = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring));
    // Building a context only stores its parts; were it ever to fail, the platform's roots.
    if let Ok(context) = TlsContext::builder()
        .with_trust_store(roots.sdk_trust_store())
        .build()
    {
        builder = builder.tls_context(context);
    }
    SharedHttpClient::new(ConnectorOnFirstCall(builder.build_https()))
}

/// smithy's HTTPS client, without its check at client construction: that check builds a TLS
/// connector and throws it away, so that the platform's root certificates are read at init rather
/// than at the first call — once for *every* service client, each time parsing every root
/// certificate again (3 clients: ~2 ms of tag-guard's cold start, docs/benchmarks.md). The roots
/// are already read and checked at init by [`TrustRoots`]; the one connector every client uses is
/// built by the first call.
#[derive(Debug)]
struct ConnectorOnFirstCall(SharedHttpClient);

impl HttpClient for ConnectorOnFirstCall {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

/// Load the shared SDK configuration from the environment, with ecr-warden's timeouts and HTTPS
/// client (trusting the process's [`TrustRoots::shared`]). A timeout variable that does not parse
/// fails init, naming it.
pub async fn load_sdk_config() -> Result<SdkConfig, ConfigError> {
    let millis = |name, default| {
        env::number(name, default, "a whole number of milliseconds").map(Duration::from_millis)
    };
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3))
        .operation_attempt_timeout(millis("WARDEN_ATTEMPT_TIMEOUT_MS", 5_000)?)
        .operation_timeout(millis("WARDEN_OPERATION_TIMEOUT_MS", 20_000)?)
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client(TrustRoots::shared()))
        .timeout_config(timeouts);
    // The default chains' first links, taken directly when they answer: the chains build all their
    // later links up front (an STS client for web identity, IMDS clients), ~0.5 ms of a cold
    // start, and on Lambda the environment always holds the region and the role's credentials.
    // Unset, the default chains decide (profiles, SSO, web identity, containers, IMDS).
    if let Some(region) =
        env::optional("AWS_REGION").or_else(|| env::optional("AWS_DEFAULT_REGION"))
    {
        loader = loader.region(Region::new(region));
    }
    if env::optional("AWS_ACCESS_KEY_ID").is_some()
        && env::optional("AWS_SECRET_ACCESS_KEY").is_some()
    {
        loader = loader.credentials_provider(EnvironmentVariableCredentialsProvider::new());
    }
    Ok(loader.load().await)
}

/// A service client from the shared SDK configuration, counting its calls into an [`ApiCalls`]:
/// `counted!(aws_sdk_ecr, &sdk, &calls)`. Every adapter builds its own client(s) this way, so a
/// function links and builds only the clients it uses.
#[macro_export]
macro_rules! counted {
    ($service:ident, $sdk:expr, $calls:expr) => {
        $service::Client::from_conf(
            $service::config::Builder::from($sdk)
                .interceptor($calls.clone())
                .build(),
        )
    };
}

/// The SDK configuration for acting in another account: `sdk`'s settings with credentials from
/// `sts:AssumeRole` on `role_arn` (with `external_id` when the role demands one), fetched on first
/// use and refreshed before they expire.
pub async fn assume_role(sdk: &SdkConfig, role_arn: &str, external_id: Option<&str>) -> SdkConfig {
    let mut provider = aws_config::sts::AssumeRoleProvider::builder(role_arn)
        .session_name("ecr-warden")
        .configure(sdk);
    if let Some(id) = external_id {
        provider = provider.external_id(id);
    }
    let provider = provider.build().await;
    sdk.to_builder()
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(provider),
        )
        .build()
}
