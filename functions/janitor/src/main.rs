//! janitor Lambda: wiring only. Config from env, clients and policy once per container, then every
//! scheduled event through `warden_aws::functions::janitor::Janitor`.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use warden_aws::functions::janitor::{Janitor, JanitorConfig};
use warden_aws::runtime::lambda::Function;
use warden_aws::runtime::lambda::Payload;
use warden_aws::runtime::{policy_source, telemetry};
use warden_aws::{ApiCalls, load_sdk_config};

// One invocation at a time per container: one thread is all a Lambda needs (and what it starts).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    telemetry::init_logging()?;
    let config = JanitorConfig::from_env()?;
    let sdk = load_sdk_config().await?;
    let calls = ApiCalls::new();
    let policy = policy_source::load_policy(&sdk, &calls).await?;
    let janitor = Janitor::new(&sdk, &calls, policy, config)
        .with_named_accounts(&sdk)
        .await;
    lambda_runtime::run(service_fn(|event: LambdaEvent<Payload<_>>| {
        janitor.handle_invocation(event)
    }))
    .await
}
