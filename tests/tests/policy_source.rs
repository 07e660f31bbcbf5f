//! The policy read from an SSM parameter, as functions do with `WARDEN_POLICY_SSM`.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed assertion

use warden_aws::runtime::policy_source::{PolicySource, PolicySourceError};
use warden_tests::{Emulator, repo_root};

#[tokio::test]
async fn a_policy_loads_from_ssm_and_a_bad_one_is_refused_by_name() {
    let acct = Emulator::shared().account().await;
    let ssm = aws_sdk_ssm::Client::new(&acct.sdk);
    let text = std::fs::read_to_string(repo_root().join("infra/policy.yaml")).unwrap();
    ssm.put_parameter()
        .name("/ecr-warden/policy")
        .value(&text)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    acct.clients.calls.take();
    let policy = PolicySource::Ssm("/ecr-warden/policy".into())
        .load(&acct.clients.ssm)
        .await
        .unwrap();
    assert_eq!(
        policy.document().repositories.len(),
        4,
        "the example policy's four rules"
    );
    // What every function with WARDEN_POLICY_SSM calls at init, for the IAM check.
    acct.clients.calls.log_as("policy-load");
    let init = acct.clients.calls.take();
    assert_eq!(init.get("SSM.GetParameter"), Some(&1), "{init:?}");

    let bad = "version: 1\nrepositories:\n  - match: a\n    gatee: {}\n";
    ssm.put_parameter()
        .name("/ecr-warden/bad")
        .value(bad)
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .unwrap();
    let err = PolicySource::Ssm("/ecr-warden/bad".into())
        .load(&acct.clients.ssm)
        .await
        .unwrap_err();
    assert!(matches!(err, PolicySourceError::Invalid { .. }));
    let message = err.to_string();
    assert!(
        message.contains("ssm:/ecr-warden/bad") && message.contains("repositories[0].gatee"),
        "{message}"
    );

    let missing = PolicySource::Ssm("/ecr-warden/none".into())
        .load(&acct.clients.ssm)
        .await
        .unwrap_err();
    assert!(
        missing
            .to_string()
            .contains("cannot read policy parameter /ecr-warden/none"),
        "{missing}"
    );
}
