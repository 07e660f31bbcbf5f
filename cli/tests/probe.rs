//! `warden probe` run as an operator runs it, against the local AWS under every reading the
//! emulator offers: it must name each reading as the emulator was told to answer, find every
//! promise holding, and leave nothing behind — also when AWS fails midway or the run is
//! interrupted.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed assertion

mod support;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{root, stdout_json, text, warden_in as warden};
use warden_tests::faults::{Fault, FaultProxy};
use warden_tests::{Emulator, REGION, TestAccount};

async fn repositories(acct: &TestAccount) -> Vec<String> {
    acct.repository_names().await
}

#[tokio::test]
async fn the_probe_names_every_reading_and_leaves_nothing_behind() {
    let emulator = Emulator::shared();
    let switches = emulator.switches().await;
    let sets = switches.iter().map(|(_, r)| r.len()).max().unwrap();
    for n in 0..sets {
        let acct = emulator.account().await;
        let chosen: BTreeMap<&str, &str> = switches
            .iter()
            .map(|(s, r)| (s.as_str(), r[n.min(r.len() - 1)].as_str()))
            .collect();
        acct.choose_readings(json!(chosen)).await;
        acct.create_repository("team/keep-me").await;
        let before = repositories(&acct).await;
        let out = warden(&acct, &["probe", "--region", REGION, "--json"], &[]);
        assert_eq!(out.status.code(), Some(0), "set {n}: {}", text(&out));
        let report = stdout_json(&out);
        let seen: BTreeMap<&str, &Value> = report["behaviours"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| (b["behaviour"].as_str().unwrap(), b))
            .collect();
        for (switch, reading) in &chosen {
            let b = seen
                .get(switch)
                .unwrap_or_else(|| panic!("{switch} not probed"));
            if *switch == "replication_rules_limit" {
                assert!(b["reading"].is_null(), "not probed: {b}");
            } else {
                assert_eq!(b["reading"], json!(reading), "set {n}, {switch}: {b}");
            }
        }
        assert_eq!(
            seen["overwrite_leaves_the_old_image"]["reading"],
            "untagged"
        );
        // Checked live through the adapters: holds. Not checkable here: unknown, never broken.
        for (name, b) in &seen {
            let unchecked = ["unreferenced_layer_download", "replication_rules_limit"];
            let expected = if unchecked.contains(name) {
                "unknown"
            } else {
                "holds"
            };
            assert_eq!(b["promise"], expected, "set {n}: {b}");
        }
        assert_eq!(
            repositories(&acct).await,
            before,
            "set {n}: nothing left behind"
        );
    }
}

#[tokio::test]
async fn a_probe_that_fails_midway_still_deletes_what_it_created() {
    let emulator = Emulator::shared();
    let acct = emulator.account().await;
    acct.create_repository("team/keep-me").await;
    let before = repositories(&acct).await;
    let proxy = FaultProxy::start(&emulator.url);
    proxy.inject("ECR.PutImage", Fault::ServerError, 4, None);
    let out = warden(
        &acct,
        &["probe", "--json"],
        &[("AWS_ENDPOINT_URL", proxy.url())],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let report = stdout_json(&out);
    let failed = report["behaviours"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["failed"] == true)
        .count();
    assert!(failed > 0, "{report}");
    assert_eq!(report["left_behind"], json!([]), "{report}");
    assert_eq!(repositories(&acct).await, before, "nothing left behind");
}

#[tokio::test]
async fn an_interrupted_probe_deletes_what_it_created() {
    let emulator = Emulator::shared();
    let acct = emulator.account().await;
    let before = repositories(&acct).await;
    let proxy = FaultProxy::start(&emulator.url);
    // Slow pushes: the probe is still working when it is interrupted.
    proxy.inject(
        "ECR.PutImage",
        Fault::Delay(Duration::from_millis(400)),
        0,
        None,
    );
    let child = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["probe", "--json"])
        .current_dir(root())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .envs(acct.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_ENDPOINT_URL", proxy.url())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while repositories(&acct).await.len() == before.len() {
        assert!(Instant::now() < deadline, "the probe created no repository");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let signal = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(signal.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let report = stdout_json(&out);
    assert_eq!(report["error"], "interrupted", "{report}");
    assert_eq!(repositories(&acct).await, before, "nothing left behind");
}

#[tokio::test]
async fn a_repository_that_exists_under_the_probes_name_is_never_touched() {
    let acct = Emulator::shared().account().await;
    let prefix = "ecr-warden-probe-collide";
    let theirs = format!("{prefix}/immutable");
    acct.create_repository(&theirs).await;
    let (image, _) = acct.push(&theirs, "precious", Some("v1")).await;
    let before = repositories(&acct).await;
    let out = warden(&acct, &["probe", "--prefix", prefix, "--json"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let report = stdout_json(&out);
    assert!(
        report["error"].as_str().unwrap().contains("exists already"),
        "{report}"
    );
    assert_eq!(
        repositories(&acct).await,
        before,
        "the probe's own mutable repository is gone, theirs stays"
    );
    assert_eq!(
        acct.tags_by_digest(&theirs).await,
        [(image.to_string(), vec!["v1".to_owned()])],
        "and keeps its image"
    );
}
