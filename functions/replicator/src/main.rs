//! replicator Lambda: wiring only. Config from env, adapters and policy once per container, then
//! every verdict delivery (SNS) and push event (EventBridge) through
//! `warden_aws::functions::replicator::Replicator`.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use warden_aws::functions::replicator::{Replicator, ReplicatorConfig};
use warden_aws::runtime::lambda::{Function, Payload};
use warden_aws::runtime::{policy_source, telemetry};
use warden_aws::{ApiCalls, load_sdk_config};

// One invocation at a time per container; layer copies within it overlap on this one thread.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    telemetry::init_logging()?;
    let config = ReplicatorConfig::from_env()?;
    let sdk = load_sdk_config().await?;
    let calls = ApiCalls::new();
    let policy = policy_source::load_policy(&sdk, &calls).await?;
    let replicator = Replicator::new(&sdk, &calls, policy, config)?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<Payload<_>>| {
        replicator.handle_invocation(event)
    }))
    .await
}
