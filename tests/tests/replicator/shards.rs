//! The replicator as the backfill's shard worker: a shard of the planner copies the images of its
//! repositories the policy replicates (gated ones only with a PASS), paced, answering the fan-out's
//! shard outcome; run again it copies nothing; another account's shard is refused (the replicator
//! copies from its own registry); stopped for time, it continues after its checkpoint.

use warden_aws::adapters::checkpoints::DynamoCheckpoints;
use warden_aws::runtime::lambda::Invocation;
use warden_core::budget::{Unlimited, shard_key};
use warden_core::fanout::{ApiBudget, Shard};
use warden_core::ports::Checkpoints;
use warden_tests::plans::{After, plan_of};

use super::*;

#[tokio::test]
async fn a_backfill_shard_copies_what_passed_once_and_only_in_its_own_account() {
    let s = setup().await;
    s.acct.create_repository("open/tool").await;
    s.acct.create_repository("team-a/api").await;
    s.acct.create_repository("plain/none").await;
    let (open, _) = s
        .acct
        .push_layers(SOURCE, "open/tool", "o", &[layer(1, 1500)], Some("1.0"))
        .await;
    let (passed, _) = s
        .acct
        .push_layers(SOURCE, "team-a/api", "p", &[layer(2, 1500)], Some("v1"))
        .await;
    let (unjudged, _) = s
        .acct
        .push_layers(SOURCE, "team-a/api", "u", &[layer(3, 1500)], Some("v2"))
        .await;
    s.acct
        .push_layers(SOURCE, "plain/none", "n", &[layer(4, 1500)], Some("1"))
        .await;
    record(&s, "team-a/api", &passed, Verdict::Pass).await;
    let shard = one_shard(&s, &["open/tool", "team-a/api", "plain/none"]);
    let here = || Invocation::local().in_account(s.acct.id.clone());
    let invoke = |shard: &warden_core::fanout::Shard| {
        s.replicator.invoke(json!({"shard": shard}).into(), here())
    };

    let answer = invoke(&shard).await.unwrap();
    assert_eq!(answer["status"], "ok", "{answer}");
    assert_eq!(answer["job"], "backfill", "{answer}");
    assert_eq!(
        answer["done"], 2,
        "plain/none has no replication rule: {answer}"
    );
    assert_eq!(
        answer["applied"], 2,
        "the open image and the passed one: {answer}"
    );
    assert!(answer["stopped_after"].is_null(), "{answer}");
    let eu = s.acct.ecr_in(EU);
    let copied = |repo: &'static str| {
        let eu = eu.clone();
        async move {
            eu.describe_images()
                .repository_name(repo)
                .send()
                .await
                .map(|o| {
                    o.image_details()
                        .iter()
                        .map(|d| d.image_digest().unwrap_or_default().to_owned())
                        .collect::<Vec<_>>()
                })
        }
    };
    assert_eq!(copied("open/tool").await.unwrap(), vec![open.to_string()]);
    assert_eq!(
        copied("team-a/api").await.unwrap(),
        vec![passed.to_string()],
        "{unjudged} has no verdict"
    );

    let again = invoke(&shard).await.unwrap();
    assert_eq!(again["applied"], 0, "everything is there already: {again}");

    let mut elsewhere = shard.clone();
    elsewhere.at.account = AccountId::new(s.other.id.as_str()).unwrap();
    let refused = invoke(&elsewhere).await.unwrap_err();
    assert_eq!(refused.error_type, "NonRetryable", "{refused}");
    assert!(refused.message.contains("its own registry"), "{refused}");
}

/// The one shard the planner makes of `names` in the setup's account and source region.
fn one_shard(s: &Setup, names: &[&str]) -> Shard {
    let budget = ApiBudget {
        lanes: 1,
        calls_per_second: 50,
    };
    let planned = plan_of(&s.acct, SOURCE, names, 10, budget);
    let mut shards = planned.shards();
    let shard = shards.next().cloned().unwrap();
    assert!(shards.next().is_none());
    shard
}

#[tokio::test]
async fn a_backfill_shard_stopped_for_time_continues_after_its_checkpoint_and_clears_it() {
    let s = setup().await;
    let names = ["open/one", "open/three", "open/two"];
    let mut pushed = Vec::new();
    for (i, name) in names.iter().enumerate() {
        s.acct.create_repository(name).await;
        let seed = u8::try_from(i).unwrap() + 10;
        let (digest, _) = s
            .acct
            .push_layers(SOURCE, name, name, &[layer(seed, 1500)], Some("1.0"))
            .await;
        pushed.push(digest.to_string());
    }
    let shard = one_shard(&s, &names);
    let checkpoints = DynamoCheckpoints::new(s.acct.clients.dynamodb.clone(), s.table.clone());
    let key = shard_key(
        "replicator#backfill",
        &shard.at.account,
        &shard.at.region,
        &RepositoryName::new(names[0]).unwrap(),
        names.len(),
    );
    let calls = &s.acct.clients.calls;
    let before = calls.snapshot();

    let stopped = s
        .replicator
        .backfill_shard(&shard, Some(&checkpoints), &After::repositories(1))
        .await
        .unwrap();
    assert_eq!(stopped.repositories, 1, "{stopped:?}");
    assert_eq!(stopped.copied, 1, "{stopped:?}");
    assert_eq!(
        stopped.stopped_after.as_ref().map(|n| n.as_str()),
        Some(names[0])
    );
    assert_eq!(
        checkpoints.get(&key).await.unwrap().as_deref(),
        Some(names[0])
    );

    let rest = s
        .replicator
        .backfill_shard(&shard, Some(&checkpoints), &Unlimited)
        .await
        .unwrap();
    assert_eq!(
        rest.repositories, 2,
        "only those after the checkpoint: {rest:?}"
    );
    assert_eq!(rest.copied, 2, "{rest:?}");
    assert!(rest.stopped_after.is_none(), "{rest:?}");
    assert_eq!(
        checkpoints.get(&key).await.unwrap(),
        None,
        "cleared at the end"
    );
    let eu = s.acct.ecr_in(EU);
    for (name, digest) in names.iter().zip(&pushed) {
        let listed = eu
            .describe_images()
            .repository_name(*name)
            .send()
            .await
            .unwrap();
        let digests: Vec<_> = listed
            .image_details()
            .iter()
            .map(|d| d.image_digest().unwrap_or_default())
            .collect();
        assert_eq!(digests, [digest.as_str()], "{name}");
    }
    // The calls are the function's own: its handler logs each invocation's so (runtime/lambda.rs).
    calls.log_since("replicator", &before);
}
