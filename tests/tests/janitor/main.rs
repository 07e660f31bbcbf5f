//! janitor against the local AWS: in-use images (ECS, Lambda, by digest and by tag) survive
//! (`in_use`), multi-arch images and referrers go together and in order (`together`), rules select
//! images as ECR's do (`rules`), and the call floors, checkpoints and races of a run (`runs`). This
//! file: the helpers they share.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed assertion

use std::collections::BTreeMap;

use aws_sdk_ecs::types::ContainerDefinition;
use serde_json::{Value, json};
use warden_aws::functions::janitor::{Janitor, JanitorConfig, RunOptions};
use warden_core::janitor::{Quiet, Unlimited};
use warden_core::names::{AccountId, Digest, Region};
use warden_core::policy::Policy;
use warden_tests::{Emulator, OCI_INDEX, OCI_MANIFEST, REGION, TestAccount, image_index};

mod in_use;
mod rules;
mod runs;
mod shards;
mod together;

const DAY: i64 = 86_400;

fn policy(rules: &str) -> Policy {
    policy_keeping_revisions(rules, 0)
}

fn policy_keeping_revisions(rules: &str, ecs_keep_revisions: u32) -> Policy {
    Policy::from_yaml(&format!(
        r#"
version: 1
repositories:
  - match: "**"
    cleanup:
      apply: true
      grace_days: 0
      ecs_keep_revisions: {ecs_keep_revisions}
      rules:
{rules}
"#
    ))
    .unwrap()
}

/// The ECR idiom for "keep `latest`": a higher-priority rule that matches it (a lower rule can
/// never expire an image a higher one matched), then the build rule, then untagged images.
const KEEP_ONE_BUILD: &str = r#"        - { priority: 1, select: { tag_status: tagged, tags: ["latest"] }, keep_newest: 1 }
        - { priority: 2, select: { tag_status: tagged, tags: ["build-*"] }, keep_newest: 1 }
        - { priority: 3, select: { tag_status: untagged }, older_than_days: 1 }"#;

async fn run(
    acct: &TestAccount,
    policy: Policy,
    only: Option<&str>,
) -> (Value, BTreeMap<String, u64>) {
    let (topic, _) = acct.topic_with_queue(None).await;
    let janitor = Janitor::new(
        &acct.sdk,
        &acct.clients.calls,
        policy,
        JanitorConfig {
            topic_arn: Some(topic),
            ..JanitorConfig::default()
        },
    );
    let before = acct.clients.calls.snapshot();
    let only = only.map(|r| warden_core::names::RepositoryName::new(r).unwrap());
    let report = janitor
        .run(
            AccountId::new(acct.id.as_str()).unwrap(),
            Region::new(REGION).unwrap(),
            &RunOptions {
                only,
                dry_run: false,
                notify: true,
            },
            &Quiet,
            &Unlimited,
        )
        .await
        .unwrap();
    (
        serde_json::to_value(&report).unwrap(),
        acct.clients.calls.since(&before),
    )
}

fn digests_left(state: &[(String, Vec<String>)]) -> Vec<String> {
    state.iter().map(|(d, _)| d.clone()).collect()
}
