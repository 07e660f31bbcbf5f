//! The replicator as the backfill's shard worker: a shard of the planner copies the images of its
//! repositories the policy replicates (gated ones only with a PASS), paced, answering the fan-out's
//! shard outcome; run again it copies nothing; another account's shard is refused (the replicator
//! copies from its own registry).

use warden_aws::runtime::lambda::Invocation;
use warden_core::fanout::{AccountRegion, ApiBudget, Limits, Listing, plan};

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
    let listing = Listing {
        at: AccountRegion {
            account: AccountId::new(s.acct.id.as_str()).unwrap(),
            region: Region::new(SOURCE).unwrap(),
        },
        repositories: ["open/tool", "team-a/api", "plain/none"]
            .iter()
            .map(|n| RepositoryName::new(*n).unwrap())
            .collect(),
    };
    let limits = Limits {
        shard_size: 10,
        default_budget: ApiBudget {
            lanes: 1,
            calls_per_second: 50,
        },
        budgets: BTreeMap::new(),
    };
    let shard = plan(&[listing], &limits)
        .unwrap()
        .shards()
        .next()
        .cloned()
        .unwrap();
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
