//! tag-guard as the sweep's shard worker: the planner's shards of a hub and a named account, run
//! through the Lambda's entry in reverse order, leave every repository's setting as one scheduled
//! sweep of each account leaves its twin's; a shard for a repository deleted since the plan sweeps
//! the others; another region's shard is refused.

use serde_json::json;
use warden_aws::functions::tag_guard::{TagGuard, TagGuardConfig};
use warden_aws::runtime::lambda::Function;
use warden_core::fanout::ApiBudget;
use warden_tests::plans::plan_of;
use warden_tests::{Emulator, REGION, TestAccount};

use super::with_accounts;

const POLICY: &str = r#"version: 1
repositories:
  - match: "**"
    immutability: { mode: IMMUTABLE_WITH_EXCLUSION, exclusions: ["latest"] }
  - match: "team/mutable-*"
    immutability: { mode: MUTABLE }
"#;

const NAMES: [&str; 5] = ["team/a", "team/b", "team/c", "team/mutable-d", "team/e"];

async fn registry(acct: &TestAccount) {
    for name in NAMES {
        acct.create_repository(name).await;
    }
}

fn shards(acct: &TestAccount) -> Vec<warden_core::fanout::Shard> {
    let budget = ApiBudget {
        lanes: 2,
        calls_per_second: 20,
    };
    plan_of(acct, REGION, &NAMES, 2, budget)
        .shards()
        .cloned()
        .collect()
}

fn guard(acct: &TestAccount, table: &str, policy: warden_core::policy::Policy) -> TagGuard {
    let config = TagGuardConfig {
        table: table.to_owned(),
        topic_arn: None,
        dry_run: false,
    };
    TagGuard::new(&acct.sdk, &acct.clients.calls, policy, config)
}

#[tokio::test]
async fn sweep_shards_in_any_order_leave_what_one_sweep_leaves() {
    let emulator = Emulator::shared();
    let (hub, member) = (emulator.account().await, emulator.account().await);
    let (hub_twin, member_twin) = (emulator.account().await, emulator.account().await);
    for acct in [&hub, &member, &hub_twin, &member_twin] {
        registry(acct).await;
    }
    for twin in [&hub_twin, &member_twin] {
        let table = twin.state_table().await;
        let policy = with_accounts(POLICY, &[]);
        let schedule = twin.event("scheduled-event.json", |_| {});
        let response = guard(twin, &table, policy).handle(schedule).await.unwrap();
        assert_eq!(response["status"], "ok", "{response}");
    }

    let table = hub.state_table().await;
    let worker = guard(&hub, &table, with_accounts(POLICY, &[&member]))
        .with_named_accounts(&hub.sdk)
        .await;
    // A repository deleted after the plan: its shard sweeps the rest.
    member
        .clients
        .ecr
        .delete_repository()
        .repository_name("team/e")
        .send()
        .await
        .unwrap();
    member_twin
        .clients
        .ecr
        .delete_repository()
        .repository_name("team/e")
        .send()
        .await
        .unwrap();
    let mut all: Vec<_> = shards(&hub).into_iter().chain(shards(&member)).collect();
    all.reverse();
    for shard in &all {
        let answer = worker.handle(json!({"shard": shard})).await.unwrap();
        assert_eq!(answer["status"], "ok", "{answer}");
        assert!(answer["stopped_after"].is_null(), "{answer}");
        assert_eq!(answer["job"], "sweep", "{answer}");
    }
    for (sharded, whole) in [(&hub, &hub_twin), (&member, &member_twin)] {
        for name in sharded.repository_names().await {
            assert_eq!(
                sharded.mutability(&name).await,
                whole.mutability(&name).await,
                "{name}"
            );
        }
    }
    assert_eq!(
        hub.mutability("team/a").await.0,
        "IMMUTABLE_WITH_EXCLUSION",
        "the sweep did fix"
    );

    let elsewhere = json!({"shard": {"at": {"account": hub.id, "region": "eu-west-1"}, "repositories": ["team/a"]}});
    let misrouted = worker.handle(elsewhere).await.unwrap_err();
    assert_eq!(misrouted.error_type, "NonRetryable", "{misrouted}");
}
