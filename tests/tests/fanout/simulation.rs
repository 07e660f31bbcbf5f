//! The issue's simulation: 3 accounts × 2 regions × 300 repositories (one per account-region with
//! 110 images), cleaned by the planner's lanes run by the local driver in a shuffled order, 8 at a
//! time, each lane in a worker of its own (a Lambda container), one worker killed while its
//! `BatchDeleteImage` is in flight and its lane redriven: the registry ends as one sequential run
//! leaves the twin organization, and the wire (the proxy every call of the run goes through) shows
//! no account-region above its budget. Figures: `target/fanout-simulation.json`, docs/benchmarks.md.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_config::{Region, SdkConfig};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use serde_json::{Value, json};
use warden_aws::functions::fanout::{FanOut, FanOutConfig};
use warden_aws::functions::janitor::{Janitor, JanitorConfig, RunOptions};
use warden_aws::runtime::lambda::{Function, Invocation};
use warden_core::fanout::{ApiBudget, Job, Lane};
use warden_core::janitor::{Quiet, Unlimited};
use warden_core::names::{AccountId, Region as RegionName};
use warden_core::policy::Policy;
use warden_tests::faults::{Fault, FaultProxy, Seen};
use warden_tests::{Emulator, REGION, TestAccount};

use super::driver::{LaneRun, run_lane, write_results};
use super::{bucket, get_json, with_accounts};

const REGIONS: [&str; 2] = [REGION, "eu-west-1"];
const AT_ONCE: usize = 8;
const BUDGET: ApiBudget = ApiBudget {
    lanes: 2,
    calls_per_second: 80,
};
const SHARD_SIZE: usize = 25;
/// The services whose calls a worker's pace covers in its shard's account-region.
const PACED: [&str; 3] = ["ECR.", "ECS.", "Lambda."];

const POLICY: &str = r#"version: 1
repositories:
  - match: "**"
    cleanup:
      apply: true
      grace_days: 0
      rules:
        - { priority: 1, select: { tag_status: tagged, tags: ["build-*"] }, keep_newest: 1 }
        - { priority: 2, select: { tag_status: untagged }, older_than_days: 1 }
"#;

/// Repositories per account-region (`WARDEN_SIM_REPOSITORIES` for a quicker local run).
fn repositories() -> usize {
    std::env::var("WARDEN_SIM_REPOSITORIES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(300)
}

fn name(account: usize, region: usize, k: usize) -> String {
    format!("a{account}/r{region}/app-{k:03}")
}

fn in_region(sdk: &SdkConfig, region: &str) -> SdkConfig {
    sdk.to_builder()
        .region(Region::new(region.to_owned()))
        .build()
}

/// One repository: builds (110 in the first of each account-region, else 3) and an untagged
/// image, each pushed at its own second (the emulator's bulk seed: PutImage's model call).
async fn repository(
    acct: &TestAccount,
    ecr: &aws_sdk_ecr::Client,
    region: &str,
    repo: String,
    builds: usize,
) {
    ecr.create_repository()
        .repository_name(&repo)
        .send()
        .await
        .expect("create repository");
    let age = |i: usize| 400_000 - i64::try_from(i).unwrap() * 10;
    let mut images: Vec<(String, Option<String>, i64)> = (0..builds)
        .map(|build| {
            (
                format!("{repo}-{build}"),
                Some(format!("build-{build}")),
                age(build),
            )
        })
        .collect();
    images.push((format!("{repo}-untagged"), None, age(builds)));
    acct.push_many_in(region, &repo, &images).await;
}

/// The same registry in `acct` as account number `account` of the organization.
async fn organization_member(acct: &TestAccount, account: usize) {
    let clients: Vec<_> = REGIONS.iter().map(|r| acct.ecr_in(r)).collect();
    let mut work = FuturesUnordered::new();
    for (r, region) in REGIONS.iter().enumerate() {
        for k in 0..repositories() {
            let builds = if k == 0 { 110 } else { 3 };
            work.push(repository(
                acct,
                &clients[r],
                region,
                name(account, r, k),
                builds,
            ));
            if work.len() >= 16 {
                work.next().await;
            }
        }
    }
    while work.next().await.is_some() {}
}

/// Every repository's images as (digest, tags), region by region.
async fn registry_state(
    acct: &TestAccount,
) -> BTreeMap<(String, String), Vec<(String, Vec<String>)>> {
    let mut state = BTreeMap::new();
    for region in REGIONS {
        let ecr = acct.ecr_in(region);
        let mut names = ecr.describe_repositories().into_paginator().items().send();
        while let Some(repo) = names.next().await {
            let repo = repo
                .unwrap()
                .repository_name()
                .unwrap_or_default()
                .to_owned();
            let mut images = ecr
                .describe_images()
                .repository_name(&repo)
                .into_paginator()
                .items()
                .send();
            let mut listed = Vec::new();
            while let Some(image) = images.next().await {
                let image = image.unwrap();
                let mut tags = image.image_tags().to_vec();
                tags.sort();
                listed.push((image.image_digest().unwrap_or_default().to_owned(), tags));
            }
            listed.sort();
            state.insert((region.to_owned(), repo), listed);
        }
    }
    state
}

/// One sequential run over the twin organization: each account-region in turn, unpaced.
async fn sequential(twins: &[TestAccount], policy: &Policy) -> Duration {
    let started = Instant::now();
    for twin in twins {
        for region in REGIONS {
            let sdk = in_region(&twin.sdk, region);
            // That region's deployment (the call log's `home`), as the fanned-out run's workers.
            let calls = warden_aws::ApiCalls::deployed_in(region);
            let janitor = Janitor::new(&sdk, &calls, policy.clone(), JanitorConfig::default());
            let options = RunOptions {
                only: None,
                dry_run: false,
                notify: false,
            };
            let (account, region) = (
                AccountId::new(twin.id.as_str()).unwrap(),
                RegionName::new(region).unwrap(),
            );
            let report = janitor
                .run(account, region, &options, &Quiet, &Unlimited)
                .await
                .unwrap();
            assert!(report.errors.is_empty(), "{:?}", report.errors);
        }
    }
    started.elapsed()
}

/// Each region's plan (its own state machine's), read back from S3 as the Distributed Map reads it.
async fn plans(
    hub: &TestAccount,
    proxy: &FaultProxy,
    policy: &Policy,
    bucket: &str,
) -> Vec<(usize, Lane)> {
    let mut lanes = Vec::new();
    for (r, region) in REGIONS.iter().enumerate() {
        let sdk = in_region(&proxy.sdk(&hub.sdk), region);
        let config = FanOutConfig {
            bucket: bucket.to_owned(),
            topic_arn: None,
            shard_size: SHARD_SIZE,
            budget: BUDGET,
        };
        let calls = warden_aws::ApiCalls::deployed_in(region);
        let fanout = FanOut::new(&sdk, &calls, policy.clone(), config)
            .with_named_accounts(&sdk)
            .await
            .unwrap();
        let run = format!("simulation-{region}");
        let payload = json!({"plan": {"job": "cleanup", "run": run}});
        let planned = fanout
            .invoke(payload.into(), Invocation::local().in_account(&hub.id))
            .await
            .unwrap();
        assert_eq!(planned["repositories"], 3 * repositories(), "{planned}");
        let key = planned["manifest"]["key"].as_str().unwrap().to_owned();
        let read: Vec<Lane> =
            serde_json::from_value(get_json(&hub.sdk, bucket, &key).await).unwrap();
        lanes.extend(read.into_iter().map(|l| (r, l)));
    }
    lanes
}

/// Run `lanes` as the Distributed Map does, [`AT_ONCE`] at a time in the order given, each in a
/// thread of its own with a worker of its own (a Lambda container: one process, one invocation at
/// a time). The worker of lane `doomed` dies once its held `BatchDeleteImage` reached AWS.
fn run_lanes(
    lanes: Vec<(usize, Lane)>,
    doomed: usize,
    hub: &TestAccount,
    proxy: &FaultProxy,
    policy: &Policy,
    topics: &[String],
) -> Vec<(LaneRun, u64)> {
    let queue = Mutex::new(lanes.into_iter().enumerate().collect::<VecDeque<_>>());
    let runs = Mutex::new(Vec::new());
    let killed = || proxy.served("ECR.BatchDeleteImage") >= 1;
    std::thread::scope(|scope| {
        for _ in 0..AT_ONCE {
            scope.spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                loop {
                    let next = queue.lock().unwrap().pop_front();
                    let Some((i, (r, lane))) = next else { break };
                    let kill: Option<&dyn Fn() -> bool> = (i == doomed).then_some(&killed);
                    let run = runtime.block_on(async {
                        let (janitor, calls) = worker(hub, proxy, policy, (r, topics)).await;
                        let run = run_lane(&janitor, Job::Cleanup, lane, kill).await;
                        (run, calls.total())
                    });
                    runs.lock().unwrap().push(run);
                }
            });
        }
    });
    runs.into_inner().unwrap()
}

/// A shuffle that is the same every run (a linear congruential generator, seeded).
fn shuffled<T>(mut items: Vec<T>, mut seed: u64) -> Vec<T> {
    for i in (1..items.len()).rev() {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let j = usize::try_from(seed >> 33).unwrap() % (i + 1);
        items.swap(i, j);
    }
    items
}

/// The hub's warden topic in each region (a regional deployment publishes to its own).
async fn topics(hub: &TestAccount) -> Vec<String> {
    let mut topics = Vec::new();
    for region in REGIONS {
        let sns = aws_sdk_sns::Client::new(&in_region(&hub.sdk, region));
        let topic = sns.create_topic().name("ecr-warden").send().await.unwrap();
        topics.push(topic.topic_arn().unwrap().to_owned());
    }
    topics
}

/// A worker of its own (one Lambda container) in region `r` of the hub, through the proxy.
async fn worker(
    hub: &TestAccount,
    proxy: &FaultProxy,
    policy: &Policy,
    (r, topics): (usize, &[String]),
) -> (Janitor, warden_aws::ApiCalls) {
    let sdk = in_region(&proxy.sdk(&hub.sdk), REGIONS[r]);
    // Each region's functions are that region's deployment (the call log's `home`).
    let calls = warden_aws::ApiCalls::deployed_in(REGIONS[r]);
    let config = JanitorConfig {
        topic_arn: Some(topics[r].clone()),
        ..JanitorConfig::default()
    };
    let janitor = Janitor::new(&sdk, &calls, policy.clone(), config)
        .with_named_accounts(&sdk)
        .await;
    (janitor, calls)
}

#[tokio::test]
async fn three_accounts_two_regions_cleaned_in_lanes_end_as_one_sequential_run() {
    let emulator = Emulator::shared();
    let mut org = Vec::new();
    let mut twins = Vec::new();
    for _ in 0..3 {
        org.push(emulator.account().await);
        twins.push(emulator.account().await);
    }
    let seeding = Instant::now();
    for (i, (acct, twin)) in org.iter().zip(&twins).enumerate() {
        organization_member(acct, i).await;
        organization_member(twin, i).await;
    }
    let seeded_in = seeding.elapsed();
    let sequential_time = sequential(&twins, &with_accounts(POLICY, &[])).await;

    let hub = &org[0];
    let policy = with_accounts(POLICY, &[&org[1], &org[2]]);
    let proxy = FaultProxy::start(&hub.emulator_url);
    let key = hub
        .env
        .iter()
        .find(|(k, _)| k == "AWS_ACCESS_KEY_ID")
        .unwrap()
        .1
        .clone();
    proxy.name_account(&key, &hub.id);
    let bucket = bucket(hub).await;
    let topics = topics(hub).await;
    let lanes = shuffled(plans(hub, &proxy, &policy, &bucket).await, 26);
    let shards: usize = lanes.iter().map(|(_, l)| l.shards.len()).sum();

    // The worker of a lane of account 2 in the second region dies while its delete is in flight.
    let doomed = lanes
        .iter()
        .position(|(r, l)| *r == 1 && l.at.account.as_str() == org[1].id)
        .unwrap();
    let doomed_shards = &lanes[doomed].1.shards;
    let victim = doomed_shards[doomed_shards.len().min(2) - 1].repositories[0].to_string();
    let marker = format!("\"repositoryName\":\"{victim}\"");
    proxy.inject_where(
        "ECR.BatchDeleteImage",
        Some(&marker),
        Fault::Hold(Duration::from_secs(3)),
        0,
        Some(1),
    );
    let started = Instant::now();
    let work_from = std::time::Instant::now();
    let runs = run_lanes(lanes, doomed, hub, &proxy, &policy, &topics);
    let failed: Vec<&LaneRun> = runs
        .iter()
        .map(|(r, _)| r)
        .filter(|r| r.result["Status"] == "FAILED")
        .collect();
    assert_eq!(failed.len(), 1, "the killed lane, and only it, failed");
    assert_eq!(failed[0].result["Error"], "Lambda.Unknown");
    let results: Vec<Value> = runs.iter().map(|(r, _)| r.result.clone()).collect();
    let details = write_results(&hub.sdk, &bucket, "results/cleanup/simulation", &results).await;
    let summarizer = FanOut::new(
        &hub.sdk,
        &hub.clients.calls,
        policy.clone(),
        FanOutConfig {
            bucket: bucket.clone(),
            topic_arn: None,
            shard_size: SHARD_SIZE,
            budget: BUDGET,
        },
    );
    let summary = summarizer.handle(json!({"summarize": {"job": "cleanup", "run": "simulation", "plan": null, "results": details, "failure": null}})).await.unwrap();
    assert_eq!(summary["lanes_failed"], 1, "{summary}");
    assert_eq!(
        summary["accounts"][&org[1].id]["lanes_failed"], 1,
        "{summary}"
    );

    // The failed lane redriven from its killed shard, by a new worker.
    let left = failed[0].left.clone();
    let redriven_lane = Lane {
        at: failed[0].lane.at.clone(),
        shards: left,
    };
    let (janitor, calls) = worker(hub, &proxy, &policy, (1, &topics)).await;
    let redriven = run_lane(&janitor, Job::Cleanup, redriven_lane, None).await;
    assert_eq!(
        redriven.result["Status"], "SUCCEEDED",
        "{}",
        redriven.result
    );
    let fanned_time = started.elapsed();

    for (i, (acct, twin)) in org.iter().zip(&twins).enumerate() {
        let (fanned, whole) = (registry_state(acct).await, registry_state(twin).await);
        assert_eq!(fanned.len(), 2 * repositories(), "account {i}");
        assert!(
            fanned == whole,
            "account {i}: the fanned-out run leaves what one sequential run leaves"
        );
    }
    let budgets = within_budget(&proxy.seen(), work_from, &org);
    let total_calls: u64 = runs.iter().map(|(_, c)| c).sum::<u64>() + calls.total();
    let figures = json!({
        "accounts": 3, "regions": 2, "repositories_per_account_region": repositories(),
        "shards": shards, "lanes": runs.len(), "at_once": AT_ONCE,
        "budget_calls_per_second": BUDGET.calls_per_second, "lanes_per_account_region": BUDGET.lanes,
        "seconds_seeding": seeded_in.as_secs_f64(),
        "seconds_sequential_unpaced": sequential_time.as_secs_f64(),
        "seconds_fanned_out": fanned_time.as_secs_f64(),
        "worker_calls": total_calls,
        "calls_per_shard": total_calls as f64 / shards as f64,
        "peak_paced_calls_in_one_second": budgets,
    });
    println!("fanout-simulation: {figures}");
    let out =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/fanout-simulation.json");
    std::fs::write(out, serde_json::to_string_pretty(&figures).unwrap()).unwrap();
}

/// The calls the wire saw in the workers' account-regions from `from` on (ECR; ECS and Lambda,
/// what is in use: the shard's pace covers them all), per account-region: each must fit a token bucket of
/// the budget's rate holding one call per lane (each lane's gate lets one call through at once)
/// and one more: the slack between a call passing its worker's gate and reaching the wire (hyper's
/// connection task, the proxy's accept), where two calls a gate spaced can arrive closer. Answers
/// the peak calls in any one second per account-region.
fn within_budget(seen: &[Seen], from: std::time::Instant, org: &[TestAccount]) -> Value {
    let ids: Vec<&str> = org.iter().map(|a| a.id.as_str()).collect();
    let mut by_place: BTreeMap<(String, String), Vec<std::time::Instant>> = BTreeMap::new();
    for call in seen
        .iter()
        .filter(|c| c.at >= from && PACED.iter().any(|s| c.operation.starts_with(s)))
    {
        let account = call.account.clone().unwrap_or_default();
        assert!(
            ids.contains(&account.as_str()),
            "a call in an unknown account {account}: {call:?}"
        );
        by_place
            .entry((account, call.region.clone()))
            .or_default()
            .push(call.at);
    }
    assert_eq!(
        by_place.len(),
        6,
        "every account-region was worked: {:?}",
        by_place.keys()
    );
    let rate = f64::from(BUDGET.calls_per_second);
    let capacity = BUDGET.lanes as f64 + 1.0;
    let mut peaks = serde_json::Map::new();
    for ((account, region), times) in &by_place {
        let (mut tokens, mut last) = (capacity, times[0]);
        for at in times {
            tokens = (tokens + at.duration_since(last).as_secs_f64() * rate).min(capacity) - 1.0;
            last = *at;
            assert!(
                tokens >= 0.0,
                "{account}/{region}: above its budget of {rate} calls a second"
            );
        }
        let peak = times
            .iter()
            .enumerate()
            .map(|(i, t)| {
                times[i..]
                    .iter()
                    .take_while(|u| u.duration_since(*t) < Duration::from_secs(1))
                    .count()
            })
            .max()
            .unwrap_or(0);
        peaks.insert(format!("{account}/{region}"), json!(peak));
    }
    Value::Object(peaks)
}
