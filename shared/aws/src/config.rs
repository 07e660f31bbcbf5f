//! The SDK configured once per container; adapters build their clients from it with the call
//! counter ([`counted!`](crate::counted)).
//!
//! Endpoints, region and credentials come from the standard AWS environment, so the same binary runs
//! against AWS and against the local emulator: `AWS_ENDPOINT_URL` (and per-service variants such as
//! `AWS_ENDPOINT_URL_ECR`), `AWS_REGION`, `AWS_MAX_ATTEMPTS`. Timeouts are explicit, because a hung
//! call would otherwise burn the whole Lambda timeout:
//! `WARDEN_ATTEMPT_TIMEOUT_MS` (default 5000) and `WARDEN_OPERATION_TIMEOUT_MS` (default 20000).

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

fn millis_from_env(name: &str, default: u64) -> Duration {
    let ms = std::env::var(name)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(default);
    Duration::from_millis(ms)
}

/// Load the shared SDK configuration from the environment, with ecr-warden's timeouts.
pub async fn load_sdk_config() -> SdkConfig {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3))
        .operation_attempt_timeout(millis_from_env("WARDEN_ATTEMPT_TIMEOUT_MS", 5_000))
        .operation_timeout(millis_from_env("WARDEN_OPERATION_TIMEOUT_MS", 20_000))
        .build();
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts)
        .load()
        .await
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
