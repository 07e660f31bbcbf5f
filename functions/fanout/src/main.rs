//! fan-out Lambda: wiring only. Config from env, clients and policy once per container, then the
//! state machine's plan and summarize requests through `warden_aws::functions::fanout::FanOut`.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use warden_aws::functions::fanout::{FanOut, FanOutConfig};
use warden_aws::runtime::lambda::{Function, Payload};
use warden_aws::runtime::{policy_source, telemetry};
use warden_aws::{ApiCalls, load_sdk_config};

// One invocation at a time per container: one thread is all a Lambda needs (and what it starts).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    telemetry::init_logging()?;
    let config = FanOutConfig::from_env()?;
    let sdk = load_sdk_config().await?;
    let calls = ApiCalls::new();
    let policy = policy_source::load_policy(&sdk, &calls).await?;
    let fanout = FanOut::new(&sdk, &calls, policy, config)
        .with_named_accounts(&sdk)
        .await?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<Payload<_>>| {
        fanout.handle_invocation(event)
    }))
    .await
}
