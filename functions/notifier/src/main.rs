//! notifier Lambda: wiring only. Config from env, clients and policy once per container, then
//! every SNS delivery from the warden topic through `warden_aws::functions::notifier::Notifier`.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use warden_aws::functions::notifier::{Notifier, NotifierConfig};
use warden_aws::runtime::lambda::Function;
use warden_aws::runtime::lambda::Payload;
use warden_aws::runtime::{policy_source, telemetry};
use warden_aws::{ApiCalls, load_sdk_config};

// One invocation at a time per container: one thread is all a Lambda needs (and what it starts).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    telemetry::init_logging()?;
    let config = NotifierConfig::from_env()?;
    let sdk = load_sdk_config().await?;
    let calls = ApiCalls::new();
    let policy = policy_source::load_policy(&sdk, &calls).await?;
    let notifier = Notifier::new(&sdk, &calls, policy, config)?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<Payload<_>>| {
        notifier.handle_invocation(event)
    }))
    .await
}
