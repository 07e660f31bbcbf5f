//! janitor Lambda: wiring only. Config from env, clients and policy once per container, then every
//! scheduled event through `warden_aws::janitor::Janitor`.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use warden_aws::janitor::{Janitor, JanitorConfig};
use warden_aws::{ApiCalls, load_sdk_config, policy_source, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_logging();
    let config = JanitorConfig::from_env()?;
    let sdk = load_sdk_config().await;
    let calls = ApiCalls::new();
    let policy = policy_source::load_policy(&sdk, &calls).await?;
    let janitor = Janitor::new(&sdk, &calls, policy, config);
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        janitor.handle_invocation(event)
    }))
    .await
}
