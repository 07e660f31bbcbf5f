//! Organization scale (issue 26): janitor as the shard worker. A cleanup cut into the planner's
//! shards, run through the Lambda's entry as Distributed Map items in any order, one shard stopped
//! after its first repository and run again, leaves the registry as one uninterrupted run leaves
//! its twin.

use serde_json::json;
use warden_aws::functions::janitor::{Janitor, JanitorConfig};
use warden_core::fanout::{ApiBudget, Shard};
use warden_core::janitor::Quiet;
use warden_tests::plans::{After, plan_of};
use warden_tests::{Emulator, REGION, TestAccount};

use super::{KEEP_ONE_BUILD, policy, run};
use warden_aws::runtime::lambda::Function as _;

const NAMES: [&str; 5] = ["org/a", "org/b", "org/c", "org/d", "org/e"];

/// Each repository: three builds and an untagged image, pushed in the same order in each twin,
/// each at its own second (pushes within one second would tie, and "most recent" with them).
async fn registry(acct: &TestAccount) {
    for name in NAMES {
        acct.create_repository(name).await;
        let mut pushed = Vec::new();
        for build in 1..=3 {
            let (seed, tag) = (format!("{name}-build-{build}"), format!("build-{build}"));
            pushed.push(acct.push(name, &seed, Some(&tag)).await.0);
        }
        pushed.push(acct.push(name, &format!("{name}-untagged"), None).await.0);
        let ages: Vec<_> = pushed
            .iter()
            .zip([400, 300, 200, 100])
            .map(|(digest, age)| (digest, age, None))
            .collect();
        acct.age_images(name, &ages).await;
    }
}

/// The planner's shards of two repositories for the account's registry here.
fn shards(acct: &TestAccount) -> Vec<Shard> {
    let budget = ApiBudget {
        lanes: 8,
        calls_per_second: 50,
    };
    plan_of(acct, REGION, &NAMES, 2, budget)
        .shards()
        .cloned()
        .collect()
}

#[tokio::test]
async fn shards_in_any_order_with_one_stopped_and_run_again_converge_on_one_runs_result() {
    let (whole, sharded) = (
        Emulator::shared().account().await,
        Emulator::shared().account().await,
    );
    registry(&whole).await;
    registry(&sharded).await;
    run(&whole, policy(KEEP_ONE_BUILD), None).await;

    let table = sharded.state_table().await;
    let (topic, _) = sharded.topic_with_queue(None).await;
    let config = JanitorConfig {
        table: Some(table.clone()),
        topic_arn: Some(topic),
        ..JanitorConfig::default()
    };
    let calls = &sharded.clients.calls;
    let janitor = Janitor::new(&sharded.sdk, calls, policy(KEEP_ONE_BUILD), config);
    let mut shards = shards(&sharded);
    assert_eq!(shards.len(), 3, "5 repositories in shards of 2");
    shards.reverse();
    // A worker stopped after the first repository of its shard (out of time, or killed) ...
    let two = shards.iter().find(|s| s.repositories.len() == 2).unwrap();
    let stopped = janitor
        .run_shard(two, &Quiet, &After::repositories(1))
        .await
        .unwrap();
    assert_eq!(stopped.repositories.len(), 1, "{stopped:?}");
    assert!(stopped.stopped_after.is_some());
    assert_eq!(
        table_rows(&sharded, &table).await,
        1,
        "its checkpoint is kept"
    );
    // ... and every shard run through the Lambda's entry, as the Distributed Map would.
    for shard in &shards {
        let response = janitor.handle(json!({"shard": shard})).await.unwrap();
        assert_eq!(response["status"], "ok", "{response}");
    }
    for name in NAMES {
        assert_eq!(
            sharded.tags_by_digest(name).await,
            whole.tags_by_digest(name).await,
            "{name}: the sharded run leaves what one run leaves"
        );
    }
    assert_eq!(
        whole.tags_by_digest("org/a").await.len(),
        2,
        "one build and the untagged image are kept, so the runs did delete"
    );
    assert_eq!(
        table_rows(&sharded, &table).await,
        0,
        "the re-run shard cleared its checkpoint"
    );
    let refused = janitor.handle(json!({"shard": {"at": {}}})).await.unwrap();
    assert_eq!(refused["status"], "rejected", "{refused}");
    // Another region's shard is not this janitor's: its clients act here.
    let elsewhere = json!({"shard": {
        "at": {"account": sharded.id.as_str(), "region": "eu-west-1"},
        "repositories": ["org/a"],
    }});
    let misrouted = janitor.handle(elsewhere).await.unwrap_err();
    assert_eq!(misrouted.error_type, "NonRetryable", "{misrouted}");
    assert!(
        misrouted
            .message
            .contains("sent to the janitor in us-east-1"),
        "{misrouted}"
    );
}

async fn table_rows(acct: &TestAccount, table: &str) -> usize {
    acct.table_items(table).await.len()
}
