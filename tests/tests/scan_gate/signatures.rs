//! The signature gate inside scan-gate's one verdict (docs/signatures.md), against the local AWS
//! with cosign signatures made here (keys generated at test time, no cosign binary): signed by the
//! trusted key → PASS; another key → `untrusted_signer`; a copied signature → `digest_mismatch`;
//! none past the grace → quarantined; a signature inside the grace → nothing moves, then PASS; a
//! signed index → PASS for the index; every event twice and in reverse order → the same end state.

use aws_sdk_scheduler::Client as Scheduler;
use warden_aws::adapters::verdicts::DynamoVerdicts;
use warden_core::names::RepositoryName;
use warden_core::ports::VerdictLookup;

use warden_aws::functions::scan_gate::GraceDeadlineConfig;
use warden_tests::signing::{SigningKey, cosign_key, cosign_sign};

use super::*;

/// A policy gating `sig/*` on CRITICAL findings and a cosign signature by `pem` ("release").
fn signed_policy(pem: &str, extra: &str) -> Policy {
    let pem: Vec<String> = pem.lines().map(|l| format!("            {l}")).collect();
    Policy::from_yaml(&format!(
        "version: 1\nrepositories:\n  - match: 'sig/*'\n    gate: {{ max_findings: {{ CRITICAL: 0 }}, on_fail: quarantine }}\n    signatures:\n      require: [cosign-key]\n      keys:\n        - name: release\n          pem: |\n{}\n{extra}",
        pem.join("\n")
    ))
    .unwrap()
}

pub(super) const TARGET: &str = "arn:aws:lambda:us-east-1:000000000000:function:scan-gate";

/// scan-gate with this policy, scheduling grace deadlines in the default group.
async fn signed_setup(pem: &str, extra: &str) -> Setup {
    let role_arn = Emulator::shared().account().await.lambda_role().await;
    let config = GraceDeadlineConfig {
        role_arn,
        group: "default".into(),
        function_arn: Some(TARGET.into()),
    };
    setup_with_deadlines(signed_policy(pem, extra), Some(config)).await
}

/// The verdict recorded for the image: (verdict, fingerprint), through the Lambdas' adapter.
pub(super) async fn recorded(
    s: &Setup,
    repository: &str,
    digest: &Digest,
) -> Option<(String, String)> {
    let verdicts = DynamoVerdicts::new(s.acct.clients.dynamodb.clone(), s.gate_table.clone());
    verdicts
        .verdict(&RepositoryName::new(repository).unwrap(), digest)
        .await
        .unwrap()
        .map(|r| (r.verdict.as_str().to_owned(), r.fingerprint))
}

/// A clean basic scan of the image (tagged `tag`), seeded and announced.
pub(super) async fn clean_scan(
    s: &Setup,
    repository: &str,
    digest: &Digest,
    tags: &[&str],
) -> Value {
    s.acct
        .seed_scan(repository, digest, "COMPLETE", vec![], false)
        .await;
    basic_scan(&s.acct, repository, digest, tags, json!({}))
}

/// Push a cosign signature over `over` onto `digest`, and the push event of its `.sig` tag.
async fn sign(
    s: &Setup,
    repository: &str,
    digest: &Digest,
    key: &SigningKey,
    over: &Digest,
) -> Value {
    let (payload, signature) = cosign_sign(key, over);
    let sig = s
        .acct
        .push_cosign_signature(repository, digest, &payload, &signature)
        .await;
    let tag = format!(
        "sha256-{}.sig",
        digest.as_str().trim_start_matches("sha256:")
    );
    push_of(&s.acct, repository, &sig, &tag)
}

/// The image was pushed `seconds` ago (its grace runs from then).
pub(super) async fn pushed_ago(s: &Setup, repository: &str, digest: &Digest, seconds: i64) {
    s.acct
        .age_images(repository, &[(digest, seconds, None)])
        .await;
}

fn scheduler(s: &Setup) -> Scheduler {
    Scheduler::new(&s.acct.sdk)
}

/// The schedules in the default group whose input names `digest`: (expression, input).
async fn schedules_for(s: &Setup, digest: &Digest) -> Vec<(String, Value)> {
    let scheduler = scheduler(s);
    let listed = scheduler.list_schedules().send().await.unwrap();
    let mut found = Vec::new();
    for summary in listed.schedules() {
        let name = summary.name().unwrap_or_default();
        let got = scheduler.get_schedule().name(name).send().await.unwrap();
        let input: Value = got
            .target()
            .and_then(|t| t.input())
            .and_then(|i| serde_json::from_str(i).ok())
            .unwrap_or_default();
        if input["signature_deadline"]["digest"] == json!(digest) {
            found.push((
                got.schedule_expression().unwrap_or_default().to_owned(),
                input,
            ));
        }
    }
    found
}

#[tokio::test]
async fn an_image_signed_by_the_trusted_key_passes_with_one_signature_read() {
    let (key, pem) = cosign_key();
    let s = signed_setup(&pem, "").await;
    s.acct.create_repository("sig/good").await;
    let (digest, _) = s.acct.push("sig/good", "good", Some("v1")).await;
    sign(&s, "sig/good", &digest, &key, &digest).await;
    let event = clean_scan(&s, "sig/good", &digest, &["v1"]).await;

    let (response, made) = run(&s, event.clone()).await;
    // The verdict from the counts (no read); the signature: its cosign referrers listed
    // (ListImageReferrers), its `.sig` manifest and theirs (one BatchGetImage), its one layer's
    // URL (GetDownloadUrlForLayer) and bytes (one GET, not an API call); the verdict recorded
    // (PutItem) and told (Publish); the repository listed for indexes whose verdict rests on it
    // (DescribeImages); nothing moves for a first PASS.
    assert_eq!(
        made,
        calls(&[
            ("DynamoDB.PutItem", 1),
            ("ECR.BatchGetImage", 1),
            ("ECR.DescribeImages", 1),
            ("ECR.GetDownloadUrlForLayer", 1),
            ("ECR.ListImageReferrers", 1),
            ("SNS.Publish", 1),
        ]),
        "{response}"
    );
    let (verdict, fingerprint) = recorded(&s, "sig/good", &digest).await.unwrap();
    assert_eq!(verdict, "PASS");
    assert!(fingerprint.ends_with("|signed:release"), "{fingerprint}");

    let (_, again) = run(&s, event).await;
    assert_eq!(
        again,
        calls(&[
            ("DynamoDB.PutItem", 1),
            ("ECR.BatchGetImage", 1),
            ("ECR.GetDownloadUrlForLayer", 1),
            ("ECR.ListImageReferrers", 1),
        ]),
        "the same event again reads again and records nothing new"
    );
    assert_eq!(
        tags_of(&s.acct.tags_by_digest("sig/good").await, &digest),
        ["v1"]
    );
}

#[tokio::test]
async fn past_the_grace_each_failed_check_quarantines_with_its_reason() {
    let (trusted, pem) = cosign_key();
    let (stranger, _) = cosign_key();
    let s = signed_setup(&pem, "").await;
    s.acct.create_repository("sig/bad").await;
    let (other, _) = s.acct.push("sig/bad", "other", Some("base")).await;
    let mut cases = Vec::new();
    for (seed, tag) in [("stranger", "v1"), ("copied", "v2"), ("none", "v3")] {
        let (digest, _) = s.acct.push("sig/bad", seed, Some(tag)).await;
        pushed_ago(&s, "sig/bad", &digest, 3_600).await;
        cases.push((digest, tag));
    }
    sign(&s, "sig/bad", &cases[0].0, &stranger, &cases[0].0).await;
    sign(&s, "sig/bad", &cases[1].0, &trusted, &other).await;

    for ((digest, tag), reason) in
        cases
            .iter()
            .zip(["untrusted_signer", "digest_mismatch", "unsigned"])
    {
        let event = clean_scan(&s, "sig/bad", digest, &[tag]).await;
        let (response, _) = run(&s, event).await;
        let (verdict, fingerprint) = recorded(&s, "sig/bad", digest).await.unwrap();
        assert_eq!(verdict, "FAIL", "{reason}: {response}");
        assert!(
            fingerprint.ends_with(&format!("|signature:{reason}")),
            "{fingerprint}"
        );
        assert_eq!(
            tags_of(&s.acct.tags_by_digest("sig/bad").await, digest),
            [q(tag, digest)],
            "{reason}: quarantined"
        );
        let told = s.acct.received(&s.all).await;
        let body = message(told.last().unwrap());
        let reasons = body["reasons"].to_string();
        assert!(
            reasons.contains(&format!("signature {reason}")),
            "{reasons}"
        );
        assert!(
            reasons.contains("a cosign signature by release"),
            "{reasons}"
        );
    }
    assert_eq!(
        tags_of(&s.acct.tags_by_digest("sig/bad").await, &other),
        ["base"],
        "the image whose signature was copied is untouched"
    );
}

#[tokio::test]
async fn a_signature_arriving_within_the_grace_moves_no_tag_then_passes() {
    let (key, pem) = cosign_key();
    let s = signed_setup(&pem, "").await;
    s.acct.create_repository("sig/late").await;
    let (digest, _) = s.acct.push("sig/late", "late", Some("v1")).await;
    let scan = clean_scan(&s, "sig/late", &digest, &["v1"]).await;

    let (response, made) = run(&s, scan.clone()).await;
    // The signature read (none: no cosign referrer, BatchGetImage of the absent `.sig`), the
    // repository listed for indexes that might sign it (DescribeImages), its push time
    // (DescribeImages), the deadline scheduled (CreateSchedule); nothing recorded.
    assert_eq!(
        made,
        calls(&[
            ("ECR.BatchGetImage", 1),
            ("ECR.DescribeImages", 2),
            ("ECR.ListImageReferrers", 1),
            ("Scheduler.CreateSchedule", 1),
        ]),
        "{response}"
    );
    assert!(
        response
            .to_string()
            .contains("signature PENDING (unsigned)"),
        "{response}"
    );
    assert_eq!(recorded(&s, "sig/late", &digest).await, None);
    let schedules = schedules_for(&s, &digest).await;
    assert_eq!(schedules.len(), 1, "{schedules:?}");
    let (expression, input) = &schedules[0];
    assert!(
        expression.starts_with("at(") && expression.ends_with(')'),
        "{expression}"
    );
    assert_eq!(input["signature_deadline"]["repository"], "sig/late");

    // The same event again: still PENDING, the same one schedule.
    run(&s, scan.clone()).await;
    assert_eq!(schedules_for(&s, &digest).await.len(), 1);
    assert_eq!(
        tags_of(&s.acct.tags_by_digest("sig/late").await, &digest),
        ["v1"]
    );

    // The signature arrives: its `.sig` push re-evaluates the image it signs.
    let arrival = sign(&s, "sig/late", &digest, &key, &digest).await;
    let (response, _) = run(&s, arrival).await;
    assert_eq!(
        recorded(&s, "sig/late", &digest).await.map(|r| r.0),
        Some("PASS".into()),
        "{response}"
    );
    // The deadline fires later, with what the schedule sends: the same PASS, unchanged.
    let (response, _) = run(&s, input.clone()).await;
    assert!(
        response.to_string().contains("already decided"),
        "{response}"
    );
    assert_eq!(
        tags_of(&s.acct.tags_by_digest("sig/late").await, &digest),
        ["v1"],
        "no tag ever moved"
    );
}

/// The end state of one image after `events`: its tags and its recorded verdict.
async fn end_state(s: &Setup, repository: &str, digest: &Digest) -> (Vec<String>, Option<String>) {
    let tags = tags_of(&s.acct.tags_by_digest(repository).await, digest)
        .into_iter()
        // Quarantine names carry the digest: compare what they are, not which image.
        .map(|t| t.replace(digest.short(), "<digest>"))
        .collect();
    (tags, recorded(s, repository, digest).await.map(|r| r.0))
}

#[tokio::test]
async fn every_event_twice_and_in_reverse_order_gives_the_same_end_state() {
    let (key, pem) = cosign_key();
    let s = signed_setup(&pem, "").await;
    let mut ends = Vec::new();
    for (repository, reverse) in [("sig/forward", false), ("sig/reverse", true)] {
        s.acct.create_repository(repository).await;
        // Signed: push, scan, signature, deadline.
        let (signed, _) = s.acct.push(repository, "signed", Some("v1")).await;
        let mut events = vec![push_of(&s.acct, repository, &signed, "v1")];
        events.push(clean_scan(&s, repository, &signed, &["v1"]).await);
        events.push(sign(&s, repository, &signed, &key, &signed).await);
        events.push(deadline(&s, repository, &signed));
        // Unsigned, its grace over: push, scan, deadline.
        let (unsigned, _) = s.acct.push(repository, "unsigned", Some("v2")).await;
        pushed_ago(&s, repository, &unsigned, 3_600).await;
        events.push(push_of(&s.acct, repository, &unsigned, "v2"));
        events.push(clean_scan(&s, repository, &unsigned, &["v2"]).await);
        events.push(deadline(&s, repository, &unsigned));
        if reverse {
            events.reverse();
        }
        for event in events.iter().chain(events.iter()) {
            let (response, _) = run(&s, event.clone()).await;
            assert!(response.get("errorType").is_none(), "{response}");
        }
        ends.push((
            end_state(&s, repository, &signed).await,
            end_state(&s, repository, &unsigned).await,
        ));
    }
    assert_eq!(ends[0], ends[1], "forward and reverse end alike");
    assert_eq!(ends[0].0, (vec!["v1".to_owned()], Some("PASS".to_owned())));
    assert_eq!(
        ends[0].1,
        (
            vec!["quarantine-v2-<digest>".to_owned()],
            Some("FAIL".to_owned())
        )
    );
}

/// What the grace deadline's schedule sends for the image (its time: now).
fn deadline(s: &Setup, repository: &str, digest: &Digest) -> Value {
    let mut payload = warden_tests::load_fixture("scan-gate.signature-deadline.json");
    let deadline = &mut payload["signature_deadline"];
    deadline["account"] = json!(s.acct.id);
    deadline["region"] = json!(REGION);
    deadline["repository"] = json!(repository);
    deadline["digest"] = json!(digest);
    deadline["at"] = json!(chrono::Utc::now().to_rfc3339());
    payload
}

#[tokio::test]
async fn a_signed_index_covers_its_platform_images_and_passes_for_the_index() {
    let (key, pem) = cosign_key();
    let s = signed_setup(&pem, "").await;
    s.acct.create_repository("sig/multi").await;
    let (amd, _) = s.acct.push("sig/multi", "amd64", None).await;
    let (arm, _) = s.acct.push("sig/multi", "arm64", None).await;
    let index = image_index(&[(&amd, "amd64"), (&arm, "arm64")]);
    let (index, _) = s
        .acct
        .push_manifest("sig/multi", &index, OCI_INDEX, Some("v1"))
        .await;
    for child in [&amd, &arm] {
        pushed_ago(&s, "sig/multi", child, 3_600).await;
    }
    // The children scanned before the index is signed: past their grace, unsigned → FAIL.
    let scans = [
        clean_scan(&s, "sig/multi", &amd, &[]).await,
        clean_scan(&s, "sig/multi", &arm, &[]).await,
    ];
    for scan in &scans {
        run(&s, scan.clone()).await;
    }
    assert_eq!(
        recorded(&s, "sig/multi", &index).await.map(|r| r.0),
        Some("FAIL".into())
    );
    // The index is signed: its `.sig` push re-evaluates its platform images, covered now.
    let arrival = sign(&s, "sig/multi", &index, &key, &index).await;
    let (response, _) = run(&s, arrival).await;
    for child in [&amd, &arm] {
        let (verdict, fingerprint) = recorded(&s, "sig/multi", child).await.unwrap();
        assert_eq!(verdict, "PASS", "{response}");
        assert!(fingerprint.ends_with("|signed:release"), "{fingerprint}");
    }
    assert_eq!(
        recorded(&s, "sig/multi", &index).await.map(|r| r.0),
        Some("PASS".into()),
        "the index's verdict is its platform images': PASS"
    );
    assert_eq!(
        tags_of(&s.acct.tags_by_digest("sig/multi").await, &index),
        ["v1"],
        "released"
    );
    let _ = scans;
}

/// ECR managed signing (ImageSigningStatus): a job COMPLETE for the required profile passes, a
/// FAILED one is `signing_failed` (quarantined past the grace), one still IN_PROGRESS waits. The
/// registry's signing configuration signs `sig/*` on push; AWS Signer's outcome is seeded.
#[tokio::test]
async fn ecr_managed_signing_complete_passes_and_failed_is_signing_failed() {
    const PROFILE: &str = "arn:aws:signer:us-east-1:111122223333:/signing-profiles/release";
    let policy = Policy::from_yaml(&format!(
        "version: 1\nrepositories:\n  - match: 'sig/*'\n    gate: {{ max_findings: {{ CRITICAL: 0 }}, on_fail: quarantine }}\n    signatures:\n      require: [ecr-managed]\n      ecr_managed: {{ signing_profiles: ['{PROFILE}'] }}\n"
    ))
    .unwrap();
    let role_arn = Emulator::shared().account().await.lambda_role().await;
    let config = GraceDeadlineConfig {
        role_arn,
        group: "default".into(),
        function_arn: Some(TARGET.into()),
    };
    let s = setup_with_deadlines(policy, Some(config)).await;
    let filter = aws_sdk_ecr::types::SigningRepositoryFilter::builder()
        .filter("sig/*")
        .filter_type(aws_sdk_ecr::types::SigningRepositoryFilterType::WildcardMatch)
        .build()
        .unwrap();
    let rule = aws_sdk_ecr::types::SigningRule::builder()
        .signing_profile_arn(PROFILE)
        .repository_filters(filter)
        .build()
        .unwrap();
    let configuration = aws_sdk_ecr::types::SigningConfiguration::builder()
        .rules(rule)
        .build()
        .unwrap();
    s.acct
        .clients
        .ecr
        .put_signing_configuration()
        .signing_configuration(configuration)
        .send()
        .await
        .unwrap();
    s.acct.create_repository("sig/managed").await;
    let mut images = Vec::new();
    for (seed, tag, status) in [("ok", "v1", "COMPLETE"), ("broken", "v2", "FAILED")] {
        let (digest, _) = s.acct.push("sig/managed", seed, Some(tag)).await;
        s.acct
            .seed_signing_status("sig/managed", &digest, PROFILE, status)
            .await;
        pushed_ago(&s, "sig/managed", &digest, 3_600).await;
        images.push((digest, tag));
    }
    let (ok, _) = &images[0];
    let (response, made) = run(&s, clean_scan(&s, "sig/managed", ok, &["v1"]).await).await;
    assert_eq!(
        made.get("ECR.DescribeImageSigningStatus"),
        Some(&1),
        "one status read per verification: {made:?}"
    );
    let (verdict, fingerprint) = recorded(&s, "sig/managed", ok).await.unwrap();
    assert_eq!(verdict, "PASS", "{response}");
    assert!(
        fingerprint.ends_with("|signed:ecr-managed:release"),
        "{fingerprint}"
    );

    let (broken, tag) = &images[1];
    let (response, _) = run(&s, clean_scan(&s, "sig/managed", broken, &[tag]).await).await;
    let (verdict, fingerprint) = recorded(&s, "sig/managed", broken).await.unwrap();
    assert_eq!(verdict, "FAIL", "{response}");
    assert!(
        fingerprint.ends_with("|signature:signing_failed"),
        "{fingerprint}"
    );
    assert!(response.to_string().contains("ACCESS_DENIED"), "{response}");
    assert_eq!(
        tags_of(&s.acct.tags_by_digest("sig/managed").await, broken),
        [q(tag, broken)]
    );

    // A job still IN_PROGRESS inside the grace: nothing recorded, nothing moved.
    let (fresh, _) = s.acct.push("sig/managed", "fresh", Some("v3")).await;
    let (response, _) = run(&s, clean_scan(&s, "sig/managed", &fresh, &["v3"]).await).await;
    assert!(
        response
            .to_string()
            .contains("signature PENDING (unsigned)"),
        "{response}"
    );
    assert_eq!(recorded(&s, "sig/managed", &fresh).await, None);
}

/// A KMS key made in the account (ECC_NIST_P256, SIGN_VERIFY), as `cosign generate-key-pair
/// --kms awskms:///...` makes one; its ARN.
async fn kms_key(s: &Setup, spec: aws_sdk_kms::types::KeySpec) -> String {
    let kms = aws_sdk_kms::Client::new(&s.acct.sdk);
    let made = kms
        .create_key()
        .key_spec(spec)
        .key_usage(aws_sdk_kms::types::KeyUsageType::SignVerify)
        .send()
        .await
        .unwrap();
    made.key_metadata().unwrap().arn().unwrap().to_owned()
}

/// `cosign sign --key awskms:///<key>`: the simple-signing payload signed by KMS (Sign, RAW,
/// ECDSA_SHA_256), pushed as the image's `.sig` manifest.
async fn kms_sign(s: &Setup, key: &str, repository: &str, digest: &Digest) {
    use base64::Engine as _;
    let (payload, _) = cosign_sign(&cosign_key().0, digest);
    let kms = aws_sdk_kms::Client::new(&s.acct.sdk);
    let signed = kms
        .sign()
        .key_id(key)
        .message(aws_sdk_kms::primitives::Blob::new(payload.clone()))
        .message_type(aws_sdk_kms::types::MessageType::Raw)
        .signing_algorithm(aws_sdk_kms::types::SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await
        .unwrap();
    let signature =
        base64::engine::general_purpose::STANDARD.encode(signed.signature().unwrap().as_ref());
    s.acct
        .push_cosign_signature(repository, digest, &payload, &signature)
        .await;
}

/// scan-gate trusting only the KMS key `key` (named `kms-release`) for `sig/*`.
async fn kms_gate(s: &Setup, key: &str) -> ScanGate {
    let policy = Policy::from_yaml(&format!(
        "version: 1\nrepositories:\n  - match: 'sig/*'\n    gate: {{ max_findings: {{ CRITICAL: 0 }}, on_fail: quarantine }}\n    signatures:\n      require: [cosign-key]\n      keys:\n        - {{ name: kms-release, kms_key_id: '{key}' }}\n"
    ))
    .unwrap();
    let (topic, _) = s.acct.topic_with_queue(None).await;
    let config = ScanGateConfig {
        table: s.gate_table.clone(),
        topic_arn: Some(topic),
        dry_run: false,
    };
    ScanGate::new(&s.acct.sdk, &s.acct.clients.calls, policy, config)
}

/// A KMS key is trusted through its public key (kms:GetPublicKey, once per container: the
/// second image's verification reads none); a signature by KMS passes, one by another key does
/// not; a key that is not ECC_NIST_P256 is an error naming the key, never a PASS.
#[tokio::test]
async fn a_kms_key_is_trusted_through_its_public_key_read_once_per_container() {
    let (_, pem) = cosign_key();
    let mut s = signed_setup(&pem, "").await;
    let key = kms_key(&s, aws_sdk_kms::types::KeySpec::EccNistP256).await;
    s.gate = kms_gate(&s, &key).await;
    s.acct.create_repository("sig/kms").await;
    let (stranger, _) = cosign_key();
    let mut reads = Vec::new();
    for (seed, tag) in [("first", "v1"), ("second", "v2"), ("other", "v3")] {
        let (digest, _) = s.acct.push("sig/kms", seed, Some(tag)).await;
        pushed_ago(&s, "sig/kms", &digest, 3_600).await;
        if seed == "other" {
            sign(&s, "sig/kms", &digest, &stranger, &digest).await;
        } else {
            kms_sign(&s, &key, "sig/kms", &digest).await;
        }
        let (response, made) = run(&s, clean_scan(&s, "sig/kms", &digest, &[tag]).await).await;
        reads.push(made.get("KMS.GetPublicKey").copied().unwrap_or(0));
        let (verdict, fingerprint) = recorded(&s, "sig/kms", &digest).await.unwrap();
        if seed == "other" {
            assert_eq!(verdict, "FAIL", "{response}");
            assert!(
                fingerprint.ends_with("|signature:untrusted_signer"),
                "{fingerprint}"
            );
        } else {
            assert_eq!(verdict, "PASS", "{response}");
            assert!(
                fingerprint.ends_with("|signed:kms-release"),
                "{fingerprint}"
            );
        }
    }
    assert_eq!(
        reads,
        [1, 0, 0],
        "the public key is read once per container"
    );

    let rsa = kms_key(&s, aws_sdk_kms::types::KeySpec::Rsa2048).await;
    s.gate = kms_gate(&s, &rsa).await;
    let (digest, _) = s.acct.push("sig/kms", "rsa", Some("v4")).await;
    pushed_ago(&s, "sig/kms", &digest, 3_600).await;
    let (response, _) = run(&s, clean_scan(&s, "sig/kms", &digest, &["v4"]).await).await;
    let text = response.to_string();
    assert!(
        text.contains("signatures key `kms-release`") && text.contains("not ECC_NIST_P256"),
        "{text}"
    );
    assert_eq!(
        recorded(&s, "sig/kms", &digest).await,
        None,
        "no verdict on an unusable key"
    );
}

/// A tag shaped like cosign's signature tag is still a tag: pushed onto a failed image, it is
/// taken away like any other (the image it names is re-evaluated too), never left deployable.
#[tokio::test]
async fn a_sig_shaped_tag_pushed_onto_a_failed_image_is_taken_away() {
    let (_, pem) = cosign_key();
    let s = signed_setup(&pem, "").await;
    s.acct.create_repository("sig/sneaky").await;
    let (bad, _) = s.acct.push("sig/sneaky", "bad", Some("v1")).await;
    s.acct
        .seed_scan("sig/sneaky", &bad, "COMPLETE", vec![], false)
        .await;
    let scan = basic_scan(&s.acct, "sig/sneaky", &bad, &["v1"], json!({"CRITICAL": 1}));
    run(&s, scan).await;
    assert_eq!(
        tags_of(&s.acct.tags_by_digest("sig/sneaky").await, &bad),
        [q("v1", &bad)]
    );
    let sneaky = format!("sha256-{}.sig", "ab".repeat(32));
    s.acct.push("sig/sneaky", "bad", Some(&sneaky)).await;
    let (response, _) = run(&s, push_of(&s.acct, "sig/sneaky", &bad, &sneaky)).await;
    let tags = tags_of(&s.acct.tags_by_digest("sig/sneaky").await, &bad);
    assert!(!tags.contains(&sneaky), "{tags:?} {response}");
    assert!(tags.contains(&q(&sneaky, &bad)), "{tags:?} {response}");
}

/// `cosign sign --registry-referrers-mode=oci-1-1` stores the signature as an OCI 1.1 referrer of
/// the image (no `.sig` tag): read beside the tag, and its arrival (an untagged push) releases a
/// failed image.
#[tokio::test]
async fn a_cosign_signature_stored_as_a_referrer_counts_and_its_arrival_releases() {
    let (key, pem) = cosign_key();
    let s = signed_setup(&pem, "").await;
    s.acct.create_repository("sig/ref").await;
    let (digest, _) = s.acct.push("sig/ref", "ref", Some("v1")).await;
    pushed_ago(&s, "sig/ref", &digest, 3_600).await;
    let scan = clean_scan(&s, "sig/ref", &digest, &["v1"]).await;
    run(&s, scan.clone()).await;
    assert_eq!(
        tags_of(&s.acct.tags_by_digest("sig/ref").await, &digest),
        [q("v1", &digest)],
        "unsigned past the grace"
    );

    let (payload, signature) = cosign_sign(&key, &digest);
    let referrer = s
        .acct
        .push_cosign_referrer("sig/ref", &digest, &payload, &signature)
        .await;
    let arrival = s.acct.event("ecr-image-action.push.json", |e| {
        e["detail"]["repository-name"] = json!("sig/ref");
        e["detail"]["image-digest"] = json!(referrer);
        e["detail"]["image-tag"] = json!("");
    });
    let (response, _) = run(&s, arrival).await;
    let (verdict, fingerprint) = recorded(&s, "sig/ref", &digest).await.unwrap();
    assert_eq!(verdict, "PASS", "{response}");
    assert!(fingerprint.ends_with("|signed:release"), "{fingerprint}");
    assert_eq!(
        tags_of(&s.acct.tags_by_digest("sig/ref").await, &digest),
        ["v1"],
        "released"
    );
    // The scan event again: the referrer is read beside the (absent) `.sig` tag, still PASS.
    let (response, made) = run(&s, scan).await;
    assert_eq!(made.get("ECR.ListImageReferrers"), Some(&1), "{response}");
    assert_eq!(
        recorded(&s, "sig/ref", &digest).await.map(|r| r.0),
        Some("PASS".into())
    );
}
