//! Organization scale against the local AWS (docs/organization.md, "Fan-out across accounts"):
//! the fan-out function's plan and summary (`plan`), tag-guard's sweep over shards (`sweep`), and
//! the 3 accounts × 2 regions × 300 repositories cleanup run by a local driver as the state machine
//! runs it (`simulation`). This file: the helpers they share.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed assertion

use aws_config::SdkConfig;
use warden_core::policy::Policy;
use warden_tests::TestAccount;

mod driver;
mod plan;
mod simulation;
mod sweep;
mod throttling;

/// The run bucket of `acct` (S3 names are global: one per account).
async fn bucket(acct: &TestAccount) -> String {
    let name = format!("ecr-warden-fanout-{}", acct.id);
    s3(&acct.sdk)
        .create_bucket()
        .bucket(&name)
        .send()
        .await
        .expect("create the run bucket");
    name
}

/// An S3 client as the functions build theirs against an endpoint (path-style).
fn s3(sdk: &SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(true)
            .build(),
    )
}

async fn put_json(sdk: &SdkConfig, bucket: &str, key: &str, value: &serde_json::Value) {
    s3(sdk)
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(value.to_string().into_bytes().into())
        .send()
        .await
        .expect("put object");
}

async fn get_json(sdk: &SdkConfig, bucket: &str, key: &str) -> serde_json::Value {
    let out = s3(sdk)
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .expect("get object");
    serde_json::from_slice(&out.body.collect().await.unwrap().into_bytes()).unwrap()
}

/// `base` with the accounts named `others` acted on through their role.
fn with_accounts(base: &str, others: &[&TestAccount]) -> Policy {
    let mut yaml = base.to_owned();
    if !others.is_empty() {
        yaml.push_str("accounts:\n");
        for other in others {
            yaml.push_str(&format!(
                "  - {{ id: '{id}', role_arn: 'arn:aws:iam::{id}:role/warden-test' }}\n",
                id = other.id
            ));
        }
    }
    Policy::from_yaml(&yaml).unwrap()
}
