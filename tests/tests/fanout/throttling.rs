//! ECR throttling a shard's worker slows the shard down, never fails it: the SDK's retries (standard
//! mode, with backoff) absorb what they can, the rest comes back as a `Throttled`
//! invocation error, which the state machine retries with backoff (the driver as the ASL does);
//! the shard then ends as an unthrottled one would.

use warden_aws::functions::janitor::{Janitor, JanitorConfig};
use warden_core::fanout::{ApiBudget, Job};
use warden_tests::faults::{Fault, FaultProxy};
use warden_tests::plans::plan_of;
use warden_tests::{Emulator, REGION};

use super::driver::run_lane;
use super::with_accounts;

const POLICY: &str = r#"version: 1
repositories:
  - match: "**"
    cleanup:
      apply: true
      grace_days: 0
      rules:
        - { priority: 1, select: { tag_status: tagged, tags: ["build-*"] }, keep_newest: 1 }
"#;

#[tokio::test]
async fn a_throttled_shard_is_retried_and_ends_as_an_unthrottled_one() {
    let acct = Emulator::shared().account().await;
    for name in ["t/a", "t/b"] {
        acct.create_repository(name).await;
        for build in 1..=2 {
            let (digest, _) = acct
                .push(
                    name,
                    &format!("{name}-{build}"),
                    Some(&format!("build-{build}")),
                )
                .await;
            acct.age_images(name, &[(&digest, 1000 - build, None)])
                .await;
        }
    }
    let budget = ApiBudget {
        lanes: 1,
        calls_per_second: 20,
    };
    let lane = plan_of(&acct, REGION, &["t/a", "t/b"], 10, budget)
        .lanes
        .remove(0);
    let proxy = FaultProxy::start(&acct.emulator_url);
    // More throttles than the SDK's three attempts: one invocation fails `Throttled`.
    proxy.inject("ECR.DescribeImages", Fault::Throttle, 0, Some(5));
    let (topic, _) = acct.topic_with_queue(None).await;
    let config = JanitorConfig {
        topic_arn: Some(topic),
        ..JanitorConfig::default()
    };
    let janitor = Janitor::new(
        &proxy.sdk(&acct.sdk),
        &acct.clients.calls,
        with_accounts(POLICY, &[]),
        config,
    );

    let run = run_lane(&janitor, Job::Cleanup, lane, None).await;
    assert_eq!(run.result["Status"], "SUCCEEDED", "{}", run.result);
    assert_eq!(
        proxy.served("ECR.DescribeImages"),
        5,
        "every throttle was met and outlasted"
    );
    let output: serde_json::Value =
        serde_json::from_str(run.result["Output"].as_str().unwrap()).unwrap();
    let answer = &output[0][1];
    assert_eq!(
        (answer["done"].clone(), answer["failed"].clone()),
        (2.into(), 0.into()),
        "{output}"
    );
    for name in ["t/a", "t/b"] {
        assert_eq!(
            acct.tags_by_digest(name).await.len(),
            1,
            "{name}: the old build went"
        );
    }
}
