//! The fan-out function: a plan lists this account and the named ones, cuts the repositories the
//! job touches into paced shards on lanes and writes them to S3; the summary adds up the map run's
//! results, per account, and publishes one message.

use serde_json::{Value, json};
use warden_aws::functions::fanout::{FanOut, FanOutConfig};
use warden_aws::functions::janitor::{Janitor, JanitorConfig};
use warden_aws::runtime::lambda::{Function, Invocation};
use warden_core::fanout::{ApiBudget, Job, Lane};
use warden_tests::{Emulator, TestAccount};

use super::driver::{run_lane, write_results};
use super::{bucket, get_json, with_accounts};

const POLICY: &str = r#"version: 1
repositories:
  - match: "svc/**"
    cleanup:
      apply: true
      grace_days: 0
      rules:
        - { priority: 1, select: { tag_status: tagged, tags: ["build-*"] }, keep_newest: 1 }
"#;

async fn registry(acct: &TestAccount, names: &[&str]) {
    for name in names {
        acct.create_repository(name).await;
        for build in 1..=2 {
            let tag = format!("build-{build}");
            let (digest, _) = acct
                .push(name, &format!("{}-{name}-{build}", acct.id), Some(&tag))
                .await;
            acct.age_images(name, &[(&digest, 1000 - i64::from(build), None)])
                .await;
        }
    }
}

async fn plan(fanout: &FanOut, own: &str, job: &str, run: &str) -> Value {
    let payload = json!({"plan": {"job": job, "run": run}});
    let invocation = Invocation::local().in_account(own);
    fanout.invoke(payload.into(), invocation).await.unwrap()
}

#[tokio::test]
async fn a_run_is_planned_across_accounts_and_summed_up_once() {
    let (a, b) = (
        Emulator::shared().account().await,
        Emulator::shared().account().await,
    );
    registry(&a, &["svc/a1", "svc/a2", "svc/a3", "other/x"]).await;
    registry(&b, &["svc/b1", "svc/b2"]).await;
    let policy = with_accounts(POLICY, &[&b]);
    let bucket = bucket(&a).await;
    let (topic, inbox) = a.topic_with_queue(None).await;
    let config = FanOutConfig {
        bucket: bucket.clone(),
        topic_arn: Some(topic.clone()),
        shard_size: 2,
        budget: ApiBudget {
            lanes: 2,
            calls_per_second: 10,
        },
    };
    let calls = &a.clients.calls;
    let fanout = FanOut::new(&a.sdk, calls, policy.clone(), config)
        .with_named_accounts(&a.sdk)
        .await
        .unwrap();

    let before = calls.snapshot();
    let planned = plan(&fanout, &a.id, "cleanup", "run-1").await;
    let made = calls.since(&before);
    assert_eq!(
        made.get("ECR.DescribeRepositories"),
        Some(&2),
        "one page per account: {made:?}"
    );
    assert_eq!(made.get("S3.PutObject"), Some(&1), "{made:?}");
    assert_eq!(
        planned["status"],
        Value::Null,
        "the plan itself is the answer: {planned}"
    );
    assert_eq!(planned["accounts"], 2, "{planned}");
    assert_eq!(
        planned["repositories"], 5,
        "other/x has no cleanup: {planned}"
    );
    assert_eq!(planned["shards"], 3, "a: 2 + 1, b: 2: {planned}");
    assert_eq!(planned["lanes"], 3, "{planned}");
    assert_eq!(planned["manifest"]["key"], "runs/cleanup/run-1/lanes.json");
    let lanes: Vec<Lane> =
        serde_json::from_value(get_json(&a.sdk, &bucket, "runs/cleanup/run-1/lanes.json").await)
            .unwrap();
    let pace = |acct: &TestAccount| -> Vec<u32> {
        lanes
            .iter()
            .filter(|l| l.at.account.as_str() == acct.id)
            .flat_map(|l| l.shards.iter().map(|s| s.pace.unwrap().calls_per_second))
            .collect()
    };
    assert_eq!(pace(&a), vec![5, 5], "10 calls a second over a's 2 lanes");
    assert_eq!(pace(&b), vec![10], "b's one lane has them all");

    // The sweep touches every repository; a backfill only this account's replicated ones (none).
    let sweep = plan(&fanout, &a.id, "sweep", "run-2").await;
    assert_eq!(sweep["repositories"], 6, "{sweep}");
    let backfill = plan(&fanout, &a.id, "backfill", "run-3").await;
    assert_eq!(
        (backfill["repositories"].clone(), backfill["lanes"].clone()),
        (json!(0), json!(0)),
        "{backfill}"
    );
    // Without its own account (no function ARN) nothing is planned, loudly.
    let unknown = fanout
        .handle(json!({"plan": {"job": "cleanup", "run": "run-4"}}))
        .await
        .unwrap_err();
    assert_eq!(unknown.error_type, "NonRetryable", "{unknown}");
    assert!(unknown.message.contains("own account"), "{unknown}");
    let refused = fanout
        .handle(json!({"plan": {"job": "cleanup", "run": "../x"}}))
        .await
        .unwrap();
    assert_eq!(refused["status"], "rejected", "{refused}");

    // The lanes run by janitor (b through its role), then the summary.
    let config = JanitorConfig {
        topic_arn: Some(topic),
        ..JanitorConfig::default()
    };
    let janitor = Janitor::new(&a.sdk, calls, policy, config)
        .with_named_accounts(&a.sdk)
        .await;
    let mut results = Vec::new();
    for lane in lanes {
        results.push(run_lane(&janitor, Job::Cleanup, lane, None).await.result);
    }
    assert!(
        results.iter().all(|r| r["Status"] == "SUCCEEDED"),
        "{results:?}"
    );
    let details = write_results(&a.sdk, &bucket, "results/cleanup/run-1", &results).await;
    let summary = fanout
        .handle(json!({"summarize": {"job": "cleanup", "run": "run-1", "plan": planned, "results": details, "failure": null}}))
        .await
        .unwrap();
    assert_eq!(summary["lanes_succeeded"], 3, "{summary}");
    for (acct, repositories) in [(&a, 3), (&b, 2)] {
        let totals = &summary["accounts"][&acct.id];
        assert_eq!(totals["repositories_done"], repositories, "{summary}");
        assert_eq!(
            totals["planned"], repositories,
            "one old build each: {summary}"
        );
        assert_eq!(totals["applied"], repositories, "{summary}");
        assert_eq!(totals["failed"], 0, "{summary}");
    }
    assert_eq!(
        b.tags_by_digest("svc/b1").await.len(),
        1,
        "b's old build went, through its role"
    );
    let messages = a.received(&inbox).await;
    let summaries: Vec<Value> = messages
        .iter()
        .filter(|m| m["MessageAttributes"]["kind"]["Value"] == "fanout_summary")
        .map(|m| serde_json::from_str(m["Message"].as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(summaries.len(), 1, "one message per run: {messages:?}");
    assert_eq!(summaries[0]["job"], "cleanup");
    assert_eq!(summaries[0]["schema"], "ecr-warden/fanout-summary/v1");
    assert_eq!(summaries[0]["accounts"][&b.id]["applied"], 2);
}
