//! notifier Lambda: wiring only. Config from env, clients and policy once per container, then
//! every SNS delivery from the warden topic through `warden_aws::notifier::Notifier`.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use warden_aws::notifier::{Notifier, NotifierConfig};
use warden_aws::{ApiCalls, load_sdk_config, policy_source, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_logging();
    let config = NotifierConfig::from_env()?;
    let sdk = load_sdk_config().await;
    let calls = ApiCalls::new();
    let policy = policy_source::load_policy(&sdk, &calls).await?;
    let notifier = Notifier::new(&sdk, &calls, policy, config)?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        notifier.handle(event.payload)
    }))
    .await
}
