//! `warden gate`, `warden doctor` and `warden invoke`, run as an operator runs them, against the
//! local AWS emulator: each a subprocess with only the environment a user would have.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed assertion

mod support;

use serde_json::{Value, json};
use support::{policy_file, text, warden_in as warden};
use warden_core::names::Digest;
use warden_tests::Emulator;
use warden_tests::notation::SignerAuthority;
use warden_tests::signing::{cosign_key, cosign_sign};

const GATED: &str = "version: 1\nrepositories:\n  - match: 'op/*'\n    gate:\n      max_findings: { CRITICAL: 0 }\n      on_fail: quarantine\n";

fn critical(cve: &str) -> Value {
    json!({"name": cve, "severity": "CRITICAL", "uri": format!("https://nvd.nist.gov/vuln/detail/{cve}"),
           "attributes": [{"key": "package_name", "value": "openssl"}, {"key": "package_version", "value": "3.0.12"}]})
}

fn quarantine_tag(tag: &str, digest: &Digest) -> String {
    format!("quarantine-{tag}-{}", digest.short())
}

#[tokio::test]
async fn gate_plans_a_quarantine_then_applies_it_and_doctor_finds_it() {
    let acct = Emulator::shared().account().await;
    let table = acct.state_table().await;
    let policy = policy_file("gate", GATED);
    acct.create_repository("op/api").await;
    let (bad, _) = acct.push("op/api", "bad", Some("v1")).await;
    acct.seed_scan(
        "op/api",
        &bad,
        "COMPLETE",
        vec![critical("CVE-2026-0099")],
        false,
    )
    .await;
    let gate = |extra: &[&str]| {
        let mut args = vec!["gate", "op/api:v1", "--policy", &policy, "--table", &table];
        args.extend_from_slice(extra);
        warden(&acct, &args, &[])
    };

    let plan = gate(&[]);
    let shown = text(&plan);
    assert_eq!(plan.status.code(), Some(1), "FAIL exits 1: {shown}");
    assert!(shown.contains("verdict   FAIL"), "{shown}");
    assert!(shown.contains("scan      COMPLETE CRITICAL 1"), "{shown}");
    assert!(
        shown.contains(&format!("move tag v1 → {}", quarantine_tag("v1", &bad))),
        "{shown}"
    );
    assert!(shown.contains("plan only: nothing was changed"), "{shown}");
    let untouched = vec![(bad.to_string(), vec!["v1".to_owned()])];
    assert_eq!(
        acct.tags_by_digest("op/api").await,
        untouched,
        "a plan changes nothing"
    );
    assert!(
        acct.table_items(&table).await.is_empty(),
        "a plan records no verdict"
    );

    let applied = gate(&["--apply", "--json"]);
    assert_eq!(applied.status.code(), Some(1), "{}", text(&applied));
    let json: Value = serde_json::from_slice(&applied.stdout).unwrap();
    assert_eq!(json["verdict"], "FAIL");
    assert_eq!(json["applied"], true);
    let quarantined = vec![(bad.to_string(), vec![quarantine_tag("v1", &bad)])];
    assert_eq!(acct.tags_by_digest("op/api").await, quarantined);

    // The pull that now fails, explained: the tag is gone because scan-gate quarantined it.
    let doctor = warden(&acct, &["doctor", "op/api:v1", "--policy", &policy], &[]);
    let shown = text(&doctor);
    assert_eq!(
        doctor.status.code(),
        Some(1),
        "a problem found exits 1: {shown}"
    );
    assert!(shown.contains("✓ repository"), "{shown}");
    assert!(
        shown.contains("✗ image              no tag v1 in op/api: scan-gate moved it"),
        "{shown}"
    );
    assert!(
        shown.contains(&format!(
            "✗ quarantine         scan-gate quarantined the image that had this tag: now {}",
            quarantine_tag("v1", &bad)
        )),
        "{shown}"
    );
}

#[tokio::test]
async fn gate_says_when_there_is_no_verdict_yet_and_refuses_what_it_cannot_find() {
    let acct = Emulator::shared().account().await;
    let table = acct.state_table().await;
    let policy = policy_file("gate-none", GATED);
    acct.create_repository("op/new").await;
    let (clean, _) = acct.push("op/new", "clean", Some("v1")).await;
    acct.push("op/new", "unscanned", Some("v2")).await;
    acct.seed_scan("op/new", &clean, "COMPLETE", vec![], false)
        .await;
    let args = |image: &'static str| -> Vec<String> {
        ["gate", image, "--policy", &policy, "--table", &table]
            .map(str::to_owned)
            .to_vec()
    };
    let run = |image: &'static str, env: &[(&str, &str)]| {
        let a = args(image);
        warden(
            &acct,
            &a.iter().map(String::as_str).collect::<Vec<_>>(),
            env,
        )
    };

    let pass = run("op/new:v1", &[]);
    assert_eq!(pass.status.code(), Some(0), "PASS exits 0: {}", text(&pass));
    assert!(text(&pass).contains("verdict   PASS"));

    let unscanned = run("op/new:v2", &[]);
    assert_eq!(unscanned.status.code(), Some(3), "{}", text(&unscanned));
    assert!(text(&unscanned).contains("never scanned: no verdict yet"));

    let unknown = run("op/new:v9", &[]);
    assert_eq!(unknown.status.code(), Some(2), "{}", text(&unknown));
    assert!(
        text(&unknown).contains("op/new:v9: no such image"),
        "{}",
        text(&unknown)
    );

    let no_repo = run("op/none:v1", &[]);
    assert_eq!(no_repo.status.code(), Some(2), "{}", text(&no_repo));
    assert!(
        text(&no_repo).contains("RepositoryNotFound") || text(&no_repo).contains("does not exist"),
        "{}",
        text(&no_repo)
    );

    let no_region = run(
        "op/new:v1",
        &[("AWS_REGION", ""), ("AWS_DEFAULT_REGION", "")],
    );
    assert_eq!(no_region.status.code(), Some(2), "{}", text(&no_region));
    assert!(
        text(&no_region).contains("no AWS region: set AWS_REGION"),
        "{}",
        text(&no_region)
    );

    let no_credentials = run(
        "op/new:v1",
        &[
            ("AWS_ACCESS_KEY_ID", ""),
            ("AWS_SECRET_ACCESS_KEY", ""),
            ("AWS_SESSION_TOKEN", ""),
        ],
    );
    assert_eq!(
        no_credentials.status.code(),
        Some(2),
        "{}",
        text(&no_credentials)
    );
    assert!(
        text(&no_credentials).contains("no AWS credentials found")
            && String::from_utf8_lossy(&no_credentials.stderr)
                .trim_end()
                .lines()
                .count()
                == 1,
        "{}",
        text(&no_credentials)
    );

    let missing_policy = warden(
        &acct,
        &[
            "gate",
            "op/new:v1",
            "--policy",
            "/nonexistent/policy.yaml",
            "--table",
            &table,
        ],
        &[],
    );
    assert_eq!(missing_policy.status.code(), Some(2));
    assert!(
        text(&missing_policy).contains("cannot read /nonexistent/policy.yaml"),
        "{}",
        text(&missing_policy)
    );
}

#[tokio::test]
async fn doctor_finds_a_repository_in_another_region() {
    let acct = Emulator::shared().account().await;
    acct.ecr_in("eu-west-1")
        .create_repository()
        .repository_name("op/far")
        .send()
        .await
        .unwrap();
    let out = warden(
        &acct,
        &["doctor", "op/far:v1", "--regions", "eu-west-1,us-west-2"],
        &[],
    );
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    assert!(
        shown.contains(
            "✗ repository         no repository op/far in us-east-1; it exists in eu-west-1"
        ),
        "{shown}"
    );
    assert!(
        shown.contains(&format!(
            "{}.dkr.ecr.eu-west-1.amazonaws.com/op/far:v1",
            acct.id
        )),
        "{shown}"
    );
    assert!(
        shown.contains("– image              the repository is missing"),
        "{shown}"
    );
}

#[tokio::test]
async fn doctor_finds_a_missing_tag() {
    let acct = Emulator::shared().account().await;
    acct.create_repository("op/tags").await;
    acct.push("op/tags", "one", Some("v1")).await;
    let ok = warden(&acct, &["doctor", "op/tags:v1"], &[]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
    let out = warden(&acct, &["doctor", "op/tags:v2", "--json"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let checks: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(checks[1]["check"], "image");
    assert_eq!(checks[1]["status"], "problem");
    assert_eq!(checks[1]["found"], "no tag v2 in op/tags");
    assert_eq!(checks[2]["status"], "ok", "not quarantined");
}

#[tokio::test]
async fn doctor_finds_an_archived_image_and_says_how_to_restore_it() {
    let acct = Emulator::shared().account().await;
    acct.create_repository("op/old").await;
    let (old, _) = acct.push("op/old", "old", Some("v1")).await;
    acct.archive_image("op/old", &old, 10, false).await;
    let out = warden(&acct, &["doctor", "op/old:v1"], &[]);
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    assert!(
        shown.contains("✗ storage class      archived on"),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("aws ecr update-image-storage-class --repository-name op/old --image-id imageDigest={old} --target-storage-class STANDARD")),
        "{shown}"
    );
}

#[tokio::test]
async fn doctor_finds_a_repository_policy_that_denies_the_principal() {
    let acct = Emulator::shared().account().await;
    acct.create_repository("op/locked").await;
    acct.push("op/locked", "l", Some("v1")).await;
    let role = format!("arn:aws:iam::{}:role/ecs-task-execution", acct.id);
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "team", "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{}:root", acct.id)}, "Action": "ecr:*"},
        {"Sid": "no-ecs", "Effect": "Deny", "Principal": {"AWS": role}, "Action": ["ecr:BatchGetImage"]}
    ]});
    acct.clients
        .ecr
        .set_repository_policy()
        .repository_name("op/locked")
        .policy_text(policy.to_string())
        .send()
        .await
        .unwrap();
    let out = warden(
        &acct,
        &["doctor", "op/locked:v1", "--principal", &role],
        &[],
    );
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    assert!(
        shown.contains(&format!(
            "✗ repository policy  statement \"no-ecs\" denies {role} ecr:BatchGetImage"
        )),
        "{shown}"
    );
    assert!(
        shown.contains("aws iam simulate-principal-policy"),
        "{shown}"
    );

    let other = format!("arn:aws:iam::{}:role/ci", acct.id);
    let fine = warden(
        &acct,
        &["doctor", "op/locked:v1", "--principal", &other],
        &[],
    );
    assert_eq!(fine.status.code(), Some(0), "{}", text(&fine));

    let bad = warden(
        &acct,
        &["doctor", "op/locked:v1", "--principal", "ecs-role"],
        &[],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad).contains("not an IAM principal ARN"),
        "{}",
        text(&bad)
    );
}

#[tokio::test]
async fn invoke_runs_a_handler_in_process_on_a_fixture() {
    let acct = Emulator::shared().account().await;
    let table = acct.state_table().await;
    acct.create_repository("team-a/api").await;
    let (digest, _) = acct.push("team-a/api", "invoked", Some("v1.2.3")).await;
    let event = acct.event("ecr-image-action.push.json", |e| {
        e["detail"]["image-digest"] = json!(digest);
        e["detail"]["image-tag"] = json!("v1.2.3");
    });
    let dir = std::env::temp_dir().join(format!("warden-cli-invoke-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("push.json");
    std::fs::write(&file, event.to_string()).unwrap();
    let args = [
        "invoke",
        "tag-guard",
        file.to_str().unwrap(),
        "--policy",
        "infra/policy.yaml",
    ];

    let out = warden(&acct, &args, &[("WARDEN_TABLE", &table)]);
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(0), "{shown}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let response: Value = serde_json::from_str(&stdout[stdout.find("{\n").unwrap()..]).unwrap();
    assert_eq!(response["response"]["status"], "ok", "{shown}");
    assert!(
        !response["response"]["decision"]
            .as_str()
            .unwrap()
            .is_empty(),
        "{shown}"
    );
    assert!(
        response["api_calls"]
            .as_object()
            .unwrap()
            .keys()
            .any(|k| k.ends_with(".PutItem")),
        "{shown}"
    );
    assert_eq!(
        acct.table_items(&table).await.len(),
        1,
        "the tag is recorded, as the Lambda records it"
    );

    let malformed = warden(
        &acct,
        &[
            "invoke",
            "scan-gate",
            "events/malformed/missing-detail.json",
            "--policy",
            "infra/policy.yaml",
        ],
        &[("WARDEN_TABLE", &table)],
    );
    assert_eq!(
        malformed.status.code(),
        Some(0),
        "rejected and acknowledged, as the Lambda does: {}",
        text(&malformed)
    );
    assert!(
        text(&malformed).contains("\"status\": \"rejected\""),
        "{}",
        text(&malformed)
    );

    let unconfigured = warden(&acct, &args, &[("WARDEN_TABLE", "")]);
    assert_eq!(unconfigured.status.code(), Some(2));
    assert!(
        text(&unconfigured).contains("environment variable WARDEN_TABLE is required"),
        "{}",
        text(&unconfigured)
    );
}

#[tokio::test]
async fn doctor_explains_a_pull_through_cache_repository_not_created_yet() {
    let acct = Emulator::shared().account().await;
    acct.clients
        .ecr
        .create_pull_through_cache_rule()
        .ecr_repository_prefix("ecr-public")
        .upstream_registry_url("public.ecr.aws")
        .send()
        .await
        .unwrap();
    let out = warden(
        &acct,
        &[
            "doctor",
            "ecr-public/nginx/nginx:1.27",
            "--regions",
            "eu-west-1",
        ],
        &[],
    );
    let shown = text(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "not a problem: the first pull creates it: {shown}"
    );
    assert!(shown.contains("✓ pull through cache"), "{shown}");
    assert!(
        shown.contains("cached from public.ecr.aws by the pull through cache rule for ecr-public/"),
        "{shown}"
    );
    assert!(shown.contains("ecr:BatchImportUpstreamImage"), "{shown}");
}

/// `warden gate` shows what an image's cosign signatures prove under its repository's
/// `signatures` policy, beside the scan: signed by the trusted key; signed by another key; a
/// signature copied from another image; none yet (PENDING within the grace). The calls it adds
/// (BatchGetImage of the `.sig` manifest, GetDownloadUrlForLayer per signature) are in
/// docs/cli-policy.json, checked against the call log.
#[tokio::test]
async fn gate_shows_the_signature_evidence_beside_the_scan() {
    let acct = Emulator::shared().account().await;
    let table = acct.state_table().await;
    let (trusted, pem) = cosign_key();
    let (stranger, _) = cosign_key();
    let pem: Vec<String> = pem.lines().map(|l| format!("            {l}")).collect();
    let policy = policy_file(
        "signed",
        &format!(
            "version: 1\nrepositories:\n  - match: 'op/*'\n    gate: {{ max_findings: {{ CRITICAL: 0 }} }}\n    signatures:\n      require: [cosign-key]\n      keys:\n        - name: release\n          pem: |\n{}\n",
            pem.join("\n")
        ),
    );
    acct.create_repository("op/signed").await;
    let mut images = Vec::new();
    for (seed, tag) in [
        ("good", "v1"),
        ("other", "v2"),
        ("copied", "v3"),
        ("none", "v4"),
    ] {
        let (digest, _) = acct.push("op/signed", seed, Some(tag)).await;
        acct.seed_scan("op/signed", &digest, "COMPLETE", vec![], false)
            .await;
        images.push(digest);
    }
    for (digest, key, over) in [
        (&images[0], &trusted, &images[0]),
        (&images[1], &stranger, &images[1]),
        (&images[2], &trusted, &images[0]),
    ] {
        let (payload, signature) = cosign_sign(key, over);
        acct.push_cosign_signature("op/signed", digest, &payload, &signature)
            .await;
    }
    let gate = |tag: &str| {
        let image = format!("op/signed:{tag}");
        let out = warden(
            &acct,
            &[
                "gate", &image, "--policy", &policy, "--table", &table, "--json",
            ],
            &[],
        );
        let json: Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", text(&out)));
        json["signature"].clone()
    };
    assert_eq!(
        gate("v1")["verdict"],
        json!({"verdict": "PASS", "key": "release"})
    );
    assert_eq!(gate("v1")["check"]["result"], "signed");
    assert_eq!(gate("v2")["check"]["result"], "untrusted_signer");
    let copied = gate("v3");
    assert_eq!(copied["check"]["result"], "digest_mismatch");
    assert_eq!(copied["check"]["signed"], images[0].as_str());
    let none = gate("v4");
    assert_eq!(none["check"]["result"], "unsigned");
    assert_eq!(
        none["verdict"]["verdict"], "PENDING",
        "just pushed: within the grace"
    );

    let shown = text(&warden(
        &acct,
        &[
            "gate",
            "op/signed:v1",
            "--policy",
            &policy,
            "--table",
            &table,
        ],
        &[],
    ));
    assert!(
        shown.contains("signature PASS signed by release\n"),
        "{shown}"
    );
}

/// `warden doctor` under a `signatures` policy: an image signed by a key the policy does not
/// trust (its grace over) is a problem naming the key to sign with and the cosign command; one
/// signed by the trusted key is fine.
#[tokio::test]
async fn doctor_explains_an_untrusted_signature_and_how_to_sign() {
    let acct = Emulator::shared().account().await;
    let (trusted, pem) = cosign_key();
    let (stranger, _) = cosign_key();
    let pem: Vec<String> = pem.lines().map(|l| format!("            {l}")).collect();
    let policy = policy_file(
        "doctor-signed",
        &format!(
            "version: 1\nrepositories:\n  - match: 'op/*'\n    gate: {{ max_findings: {{ CRITICAL: 0 }} }}\n    signatures:\n      require: [cosign-key]\n      keys:\n        - name: release\n          pem: |\n{}\n",
            pem.join("\n")
        ),
    );
    acct.create_repository("op/sig").await;
    let mut checks = Vec::new();
    for (seed, tag, key) in [("foreign", "v1", &stranger), ("ours", "v2", &trusted)] {
        let (digest, _) = acct.push("op/sig", seed, Some(tag)).await;
        acct.age_images("op/sig", &[(&digest, 3_600, None)]).await;
        let (payload, signature) = cosign_sign(key, &digest);
        acct.push_cosign_signature("op/sig", &digest, &payload, &signature)
            .await;
        let image = format!("op/sig:{tag}");
        let out = warden(
            &acct,
            &["doctor", &image, "--policy", &policy, "--json"],
            &[],
        );
        let json: Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", text(&out)));
        let check = json
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == "signature")
            .cloned()
            .unwrap_or_else(|| panic!("no signature check: {json}"));
        checks.push((digest, check));
    }
    let (digest, foreign) = &checks[0];
    assert_eq!(foreign["status"], "problem", "{foreign}");
    assert!(
        foreign["found"]
            .as_str()
            .unwrap()
            .starts_with("signed, but by no key the policy trusts"),
        "{foreign}"
    );
    let fix = foreign["fix"].as_str().unwrap();
    assert!(fix.contains("a cosign signature by release"), "{fix}");
    assert!(fix.contains(&format!("op/sig@{digest}")), "{fix}");
    assert_eq!(checks[1].1["status"], "ok", "{}", checks[1].1);
    assert_eq!(checks[1].1["found"], "signed by release");
}

/// Notation signatures by AWS Signer, shown as scan-gate judges them: signed by the trusted profile
/// and not revoked, revoked once AWS Signer says so (GetRevocationStatus asked by gate and doctor),
/// and doctor's `notation sign` command for the trusted profile.
#[tokio::test]
async fn gate_and_doctor_show_notation_evidence_and_a_revocation() {
    const PROFILE: &str = "arn:aws:signer:us-east-1:123456789012:/signing-profiles/release";
    let acct = Emulator::shared().account().await;
    let table = acct.state_table().await;
    let authority = SignerAuthority::new("AWS Signer");
    let root: Vec<String> = authority
        .root_pem()
        .lines()
        .map(|l| format!("            {l}"))
        .collect();
    let policy = policy_file(
        "notation",
        &format!(
            "version: 1\nrepositories:\n  - match: 'op/*'\n    gate: {{ max_findings: {{ CRITICAL: 0 }} }}\n    signatures:\n      require: [notation]\n      notation:\n        signing_profiles: ['{PROFILE}']\n        trust_store:\n          - |\n{}\n",
            root.join("\n")
        ),
    );
    acct.create_repository("op/notation").await;
    let (digest, _) = acct.push("op/notation", "n", Some("v1")).await;
    acct.seed_scan("op/notation", &digest, "COMPLETE", vec![], false)
        .await;
    let job = format!("arn:aws:signer:us-east-1:{}:/signing-jobs/cli-job", acct.id);
    let envelope = authority.sign(
        &digest,
        &format!("{PROFILE}/a1B2c3D4e5"),
        &job,
        chrono::Utc::now(),
    );
    acct.push_notation_signature("op/notation", &digest, &envelope)
        .await;
    let gate = || {
        let out = warden(
            &acct,
            &[
                "gate",
                "op/notation:v1",
                "--policy",
                &policy,
                "--table",
                &table,
                "--json",
            ],
            &[],
        );
        let json: Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", text(&out)));
        json["signature"].clone()
    };
    let doctor = || {
        let out = warden(
            &acct,
            &["doctor", "op/notation:v1", "--policy", &policy, "--json"],
            &[],
        );
        let json: Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", text(&out)));
        json.as_array()
            .and_then(|c| c.iter().find(|c| c["check"] == "signature").cloned())
            .unwrap_or_else(|| panic!("no signature check: {json}"))
    };
    let signed = gate();
    assert_eq!(
        signed["verdict"],
        json!({"verdict": "PASS", "key": PROFILE}),
        "{signed}"
    );
    assert_eq!(doctor()["status"], "ok");
    acct.revoke_signing_job("cli-job").await;
    let revoked = gate();
    assert_eq!(
        revoked["check"],
        json!({"result": "revoked", "by": job}),
        "{revoked}"
    );
    // doctor says what was revoked and how to sign again (just pushed: within the grace).
    let explained = doctor();
    assert_eq!(explained["status"], "problem", "{explained}");
    assert!(
        explained["found"].as_str().unwrap().contains(&job),
        "{explained}"
    );
    let fix = explained["fix"].as_str().unwrap();
    let command =
        format!("notation sign --plugin com.amazonaws.signer.notation.plugin --id {PROFILE}");
    assert!(fix.contains(&command), "{fix}");
}
