//! Which images are gated — judged by content, never by tag name: a signature or an attestation is
//! not (it cannot be scanned); an index is quarantined while any platform image fails.

use super::*;
use warden_tests::{buildx_attestation, buildx_index, cosign_signature};

/// Only container images are gated: a cosign signature (basic scanning ends UNSUPPORTED_IMAGE) is
/// not failed and its tag is not moved — quarantining it would break its subject's verification.
#[tokio::test]
async fn a_signature_that_cannot_be_scanned_is_not_gated() {
    let s = setup("").await;
    let repo = "shop/signed";
    s.acct.create_repository(repo).await;
    let (image, _) = s.acct.push(repo, "app", Some("v1")).await;
    let signature = json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.dev.cosign.artifact.sig.v1+json", "digest": Digest::of_bytes(b"c"), "size": 233},
        "layers": [{"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json", "digest": Digest::of_bytes(b"l"), "size": 250}]})
    .to_string();
    let tag = format!("sha256-{}.sig", &image.as_str()[7..]);
    let (sig, _) = s
        .acct
        .push_manifest(repo, &signature, OCI_MANIFEST, Some(&tag))
        .await;
    let event = s.acct.event("ecr-image-scan.failed.json", |e| {
        e["detail"]["repository-name"] = json!(repo);
        e["detail"]["image-digest"] = json!(sig);
        e["detail"]["image-tags"] = json!([tag]);
        e["detail"]["scan-status"] = json!("UNSUPPORTED_IMAGE");
    });
    let (response, made) = run(&s, event).await;
    assert_eq!(
        made,
        calls(&[("ECR.BatchGetImage", 1), ("ECR.DescribeImages", 1)]),
        "{response}"
    );
    assert!(
        response["decision"]
            .as_str()
            .unwrap()
            .contains("not a container image (application/vnd.dev.cosign.artifact.sig.v1+json)"),
        "{response}"
    );
    assert!(
        s.acct
            .tags_by_digest(repo)
            .await
            .contains(&(sig.to_string(), vec![tag]))
    );
    assert!(
        s.acct.received(&s.all).await.is_empty(),
        "no verdict to tell"
    );
}

/// A multi-arch image's platform children are untagged: a failing child is deployable through its
/// index, so the index is quarantined by its own tags; it is released only once none of its
/// children fails any more.
#[tokio::test]
async fn a_failing_child_quarantines_its_index_until_every_child_passes() {
    let s = setup("").await;
    let repo = "shop/multi";
    let (amd, arm, index) = two_platform_index(&s, repo).await;
    s.acct
        .push_manifest(
            repo,
            &image_index(&[(&amd, "amd64"), (&arm, "arm64")]),
            OCI_INDEX,
            Some("latest"),
        )
        .await;
    let finding = |digest: &Digest, cve: &str, status: &str| {
        inspector_finding(&s.acct, repo, digest, &[], cve, status)
    };

    let amd_bad = finding(&amd, "CVE-2026-0201", "ACTIVE");
    s.acct.seed_findings(vec![amd_bad.clone()]).await;
    run(&s, finding_event(&s.acct, &amd_bad)).await;
    let state = s.acct.tags_by_digest(repo).await;
    assert_eq!(
        tags_of(&state, &index),
        [q("latest", &index), q("v1", &index)],
        "{state:?}"
    );
    let told = s.acct.received(&s.all).await;
    let body = message(&told[0]);
    assert_eq!(
        told[0]["MessageAttributes"]["action"]["Value"],
        "quarantined"
    );
    assert_eq!(body["via_indexes"], json!([index]));

    let arm_bad = finding(&arm, "CVE-2026-0202", "ACTIVE");
    s.acct.seed_findings(vec![arm_bad.clone()]).await;
    run(&s, finding_event(&s.acct, &arm_bad)).await;

    // amd64 is fixed (its finding closes) but arm64 still fails: the index stays quarantined.
    let amd_fixed = finding(&amd, "CVE-2026-0201", "CLOSED");
    s.acct.seed_findings(vec![amd_fixed.clone()]).await;
    s.acct.received(&s.all).await;
    let (response, _) = run(&s, finding_event(&s.acct, &amd_fixed)).await;
    let state = s.acct.tags_by_digest(repo).await;
    assert_eq!(
        tags_of(&state, &index),
        [q("latest", &index), q("v1", &index)],
        "{response}"
    );
    let body = message(&s.acct.received(&s.all).await[0]);
    assert!(
        body["problems"][0]
            .as_str()
            .unwrap()
            .contains("still fails"),
        "{body}"
    );

    // arm64 is fixed too: the index gets its tags back.
    let arm_fixed = finding(&arm, "CVE-2026-0202", "CLOSED");
    s.acct.seed_findings(vec![arm_fixed.clone()]).await;
    let (response, _) = run(&s, finding_event(&s.acct, &arm_fixed)).await;
    let state = s.acct.tags_by_digest(repo).await;
    assert_eq!(tags_of(&state, &index), ["latest", "v1"], "{response}");
}

fn scan_of(
    acct: &TestAccount,
    repo: &str,
    digest: &Digest,
    tags: &[&str],
    status: &str,
    time: &str,
) -> Value {
    acct.event("ecr-image-scan.failed.json", |e| {
        e["time"] = json!(time);
        e["detail"]["repository-name"] = json!(repo);
        e["detail"]["image-digest"] = json!(digest);
        e["detail"]["image-tags"] = json!(tags);
        e["detail"]["scan-status"] = json!(status);
    })
}

/// cosign pushes its signature as an ordinary image manifest (image config media type) whose layer
/// is the simple-signing payload: its layers say it is no container image, so its failed scan is
/// not gated even under the default `on_scan_failure: fail`, and `cosign verify` keeps finding it.
#[tokio::test]
async fn a_cosign_signature_as_cosign_pushes_it_is_never_quarantined() {
    let s = setup("").await;
    let repo = "shop/cosigned";
    s.acct.create_repository(repo).await;
    let (image, _) = s.acct.push(repo, "app", Some("v1")).await;
    let tag = format!("sha256-{}.sig", &image.as_str()[7..]);
    let (sig, _) = s
        .acct
        .push_manifest(repo, &cosign_signature(&image), OCI_MANIFEST, Some(&tag))
        .await;
    let event = scan_of(
        &s.acct,
        repo,
        &sig,
        &[&tag],
        "UNSUPPORTED_IMAGE",
        "2026-12-01T00:00:00Z",
    );
    let (response, _) = run(&s, event).await;
    assert!(
        response["decision"]
            .as_str()
            .unwrap()
            .contains("not a container image (application/vnd.dev.cosign.simplesigning.v1+json)"),
        "{response}"
    );
    assert_eq!(tags_of(&s.acct.tags_by_digest(repo).await, &sig), [tag]);
    assert!(s.acct.received(&s.all).await.is_empty());
}

/// `docker buildx build --push`: an index over the platform image and its provenance attestation
/// (platform `unknown/unknown`). The attestation's scan cannot finish and is not gated; the
/// platform image's FAIL quarantines the index; its later PASS releases it — the attestation,
/// which never gets a verdict, does not hold the index back.
#[tokio::test]
async fn a_buildx_index_is_judged_by_its_platform_image_not_its_attestation() {
    let s = setup("").await;
    let repo = "shop/buildx";
    let (platform, attestation) = platform_with_attestation(&s, repo).await;
    let (index, _) = s
        .acct
        .push_manifest(
            repo,
            &buildx_index(&platform, &attestation),
            OCI_INDEX,
            Some("v1"),
        )
        .await;

    let (response, _) = run(
        &s,
        scan_of(
            &s.acct,
            repo,
            &attestation,
            &[],
            "UNSUPPORTED_IMAGE",
            "2026-12-01T00:00:00Z",
        ),
    )
    .await;
    assert!(
        response["decision"]
            .as_str()
            .unwrap()
            .contains("application/vnd.in-toto+json"),
        "{response}"
    );
    assert_eq!(tags_of(&s.acct.tags_by_digest(repo).await, &index), ["v1"]);

    let failing = basic_scan(&s.acct, repo, &platform, &[], json!({"CRITICAL": 1}));
    run(&s, failing).await;
    assert_eq!(
        tags_of(&s.acct.tags_by_digest(repo).await, &index),
        [q("v1", &index)]
    );

    let mut rescan = basic_scan(&s.acct, repo, &platform, &[], json!({"LOW": 1}));
    rescan["time"] = json!("2026-12-02T00:00:00Z");
    let (response, _) = run(&s, rescan).await;
    assert_eq!(
        tags_of(&s.acct.tags_by_digest(repo).await, &index),
        ["v1"],
        "{response}"
    );
}

/// AWS's multi-architecture procedure pushes each platform image under its own tag (`v1-amd64`)
/// and then the manifest list (`v1`): a failing platform image is deployable through both.
#[tokio::test]
async fn a_failing_platform_image_with_its_own_tag_quarantines_that_tag_and_its_index() {
    let s = setup("").await;
    let repo = "shop/multiarch";
    s.acct.create_repository(repo).await;
    let (amd, _) = s.acct.push(repo, "amd64", Some("v1-amd64")).await;
    let (arm, _) = s.acct.push(repo, "arm64", Some("v1-arm64")).await;
    let (index, _) = s
        .acct
        .push_manifest(
            repo,
            &image_index(&[(&amd, "amd64"), (&arm, "arm64")]),
            OCI_INDEX,
            Some("v1"),
        )
        .await;
    let (response, _) = run(
        &s,
        basic_scan(&s.acct, repo, &amd, &["v1-amd64"], json!({"CRITICAL": 1})),
    )
    .await;
    let state = s.acct.tags_by_digest(repo).await;
    assert_eq!(tags_of(&state, &amd), [q("v1-amd64", &amd)], "{response}");
    assert_eq!(tags_of(&state, &index), [q("v1", &index)], "{response}");
    assert_eq!(
        tags_of(&state, &arm),
        ["v1-arm64"],
        "the passing sibling keeps its tag"
    );
    let body = message(&s.acct.received(&s.all).await[0]);
    assert_eq!(body["quarantined_tags"], json!(["v1-amd64", "v1"]));
    assert_eq!(body["via_indexes"], json!([index]));
}

/// An index is released under the rule its own verdict follows: every other platform image has
/// passed. One still unjudged keeps it quarantined (and its record FAIL), so no push of the
/// released tags is quarantined again and no promotion races ahead of that image's scan.
#[tokio::test]
async fn an_index_stays_quarantined_while_another_platform_image_has_no_verdict() {
    let s = setup("").await;
    let repo = "shop/unjudged";
    let (amd, _arm, index) = two_platform_index(&s, repo).await;
    run(
        &s,
        basic_scan(&s.acct, repo, &amd, &[], json!({"CRITICAL": 1})),
    )
    .await;
    assert_eq!(
        tags_of(&s.acct.tags_by_digest(repo).await, &index),
        [q("v1", &index)]
    );
    let mut fixed = basic_scan(&s.acct, repo, &amd, &[], json!({"LOW": 1}));
    fixed["time"] = json!("2026-12-02T00:00:00Z");
    let (response, _) = run(&s, fixed).await;
    assert_eq!(
        tags_of(&s.acct.tags_by_digest(repo).await, &index),
        [q("v1", &index)],
        "{response}"
    );
    assert!(
        response.to_string().contains("has no verdict yet"),
        "{response}"
    );
}

/// A new index over platform images already judged (`docker buildx imagetools create`, a re-push
/// with other annotations) has no verdict of its own: its push records theirs. Over a failing
/// platform image its tag is quarantined at once — delivered twice, told once; once the platform
/// image passes, every index naming it is released, and an index pushed after that is recorded
/// PASS and told (the replicator's trigger). Push events with and without `manifest-media-type`
/// (AWS's push example carries none).
#[tokio::test]
async fn an_index_pushed_over_judged_platform_images_takes_their_verdict() {
    let s = setup("").await;
    let repo = "shop/reindex";
    let (platform, attestation) = platform_with_attestation(&s, repo).await;
    let index_with = |created: &str| {
        let mut index: Value =
            serde_json::from_str(&buildx_index(&platform, &attestation)).unwrap();
        index["annotations"] = json!({"org.opencontainers.image.created": created});
        index.to_string()
    };
    let (first, _) = s
        .acct
        .push_manifest(repo, &index_with("2026-12-01"), OCI_INDEX, Some("v1"))
        .await;
    run(
        &s,
        basic_scan(&s.acct, repo, &platform, &[], json!({"CRITICAL": 1})),
    )
    .await;
    assert_eq!(
        tags_of(&s.acct.tags_by_digest(repo).await, &first),
        [q("v1", &first)]
    );
    s.acct.received(&s.all).await;

    let (second, _) = s
        .acct
        .push_manifest(repo, &index_with("2026-12-02"), OCI_INDEX, Some("v2"))
        .await;
    for _ in 0..2 {
        run(&s, push_of(&s.acct, repo, &second, "v2")).await;
    }
    assert_eq!(
        tags_of(&s.acct.tags_by_digest(repo).await, &second),
        [q("v2", &second)]
    );
    let told = s.acct.received(&s.all).await;
    assert_eq!(told.len(), 1, "told once: {told:?}");
    let body = message(&told[0]);
    assert_eq!(body["verdict"], "FAIL");
    assert_eq!(body["quarantined_tags"], json!(["v2"]));

    let mut fixed = basic_scan(&s.acct, repo, &platform, &[], json!({"LOW": 1}));
    fixed["time"] = json!("2026-12-03T00:00:00Z");
    run(&s, fixed).await;
    let tags = s.acct.tags_by_digest(repo).await;
    assert_eq!(tags_of(&tags, &first), ["v1"]);
    assert_eq!(tags_of(&tags, &second), ["v2"]);
    s.acct.received(&s.all).await;

    let (third, _) = s
        .acct
        .push_manifest(repo, &index_with("2026-12-04"), OCI_INDEX, Some("v3"))
        .await;
    let mut push = push_of(&s.acct, repo, &third, "v3");
    push["detail"]["manifest-media-type"] = json!(OCI_INDEX);
    let (response, _) = run(&s, push).await;
    assert_eq!(tags_of(&s.acct.tags_by_digest(repo).await, &third), ["v3"]);
    let told = s.acct.received(&s.all).await;
    assert_eq!(told.len(), 1, "{response} {told:?}");
    let body = message(&told[0]);
    assert_eq!(
        (&body["verdict"], &body["digest"]),
        (&json!("PASS"), &json!(third))
    );
    assert_eq!(body["tags"], json!(["v3"]));
}

/// A new repository holding a platform image and BuildKit's attestation manifest for it, untagged.
async fn platform_with_attestation(s: &Setup, repo: &str) -> (Digest, Digest) {
    s.acct.create_repository(repo).await;
    let (platform, _) = s.acct.push(repo, "amd64", None).await;
    let (attestation, _) = s
        .acct
        .push_manifest(repo, &buildx_attestation(&platform), OCI_MANIFEST, None)
        .await;
    (platform, attestation)
}

/// An index's verdict is written only while the records it rests on still hold (one
/// TransactWriteItems: a condition check per platform image's record, the index's put): a PASS
/// derived from a sibling's record that has failed since is refused and writes nothing; the FAIL
/// resting on that record is written, once; a PASS once both passed replaces it. The interleaving
/// itself is forced in `shared/core/tests/index_race.rs`; this is the DynamoDB adapter against
/// the local AWS. A restore (a failed plan puts its claim back) replaces only what it wrote.
#[tokio::test]
async fn an_index_claim_resting_on_a_record_that_changed_writes_nothing() {
    use chrono::{Duration, Utc};
    use warden_aws::adapters::verdicts::DynamoVerdicts;
    use warden_core::ports::{VerdictLookup, VerdictStore};
    use warden_core::records::{IndexClaim, IndexRecord, VerdictRecord};
    use warden_core::verdict::Verdict;
    let s = setup("").await;
    let verdicts = DynamoVerdicts::new(s.acct.clients.dynamodb.clone(), s.gate_table.clone());
    let repo: warden_core::names::RepositoryName = "shop/claims".parse().unwrap();
    let [amd, arm, index] = ["amd64", "arm64", "index"].map(|n| Digest::of_bytes(n.as_bytes()));
    let now = Utc::now();
    let record = |digest: &Digest, verdict: Verdict, fingerprint: &str, late: i64| VerdictRecord {
        repository: repo.clone(),
        digest: digest.clone(),
        verdict,
        max_severity: None,
        fingerprint: fingerprint.to_owned(),
        policy_pattern: None,
        decided_at: now + Duration::seconds(late),
        evidence_at: now + Duration::seconds(late),
    };
    verdicts
        .claim(&record(&amd, Verdict::Pass, "amd ok", 0))
        .await
        .unwrap();
    verdicts
        .claim(&record(&arm, Verdict::Fail, "arm bad", 0))
        .await
        .unwrap();
    let both_pass = IndexRecord {
        record: record(&index, Verdict::Pass, "index PASS: amd,arm", 5),
        rests_on: vec![(amd.clone(), Verdict::Pass), (arm.clone(), Verdict::Pass)],
    };
    let before = s.acct.clients.calls.snapshot();
    assert_eq!(
        verdicts.claim_index(&both_pass).await.unwrap(),
        IndexClaim::Stale {
            changed: arm.clone()
        }
    );
    assert_eq!(
        s.acct.clients.calls.since(&before),
        calls(&[("DynamoDB.GetItem", 1), ("DynamoDB.TransactWriteItems", 1)])
    );
    assert_eq!(
        verdicts.verdict(&repo, &index).await.unwrap(),
        None,
        "nothing written"
    );

    let arm_fails = IndexRecord {
        record: record(&index, Verdict::Fail, "index FAIL: arm", 1),
        rests_on: vec![(arm.clone(), Verdict::Fail)],
    };
    assert_eq!(
        verdicts.claim_index(&arm_fails).await.unwrap(),
        IndexClaim::Recorded { previous: None }
    );
    assert_eq!(
        verdicts.claim_index(&arm_fails).await.unwrap(),
        IndexClaim::Unchanged
    );

    verdicts
        .claim(&record(&arm, Verdict::Pass, "arm ok", 3))
        .await
        .unwrap();
    let amd_fails = IndexRecord {
        record: record(&index, Verdict::Fail, "index FAIL: amd", 4),
        rests_on: vec![(amd.clone(), Verdict::Fail)],
    };
    assert_eq!(
        verdicts.claim_index(&amd_fails).await.unwrap(),
        IndexClaim::Stale {
            changed: amd.clone()
        },
        "amd64 never failed: no ground for that FAIL"
    );
    match verdicts.claim_index(&both_pass).await.unwrap() {
        IndexClaim::Recorded {
            previous: Some(previous),
        } => {
            assert_eq!(previous.verdict, Verdict::Fail)
        }
        other => panic!("{other:?}"),
    }
    let recorded = verdicts.verdict(&repo, &index).await.unwrap().unwrap();
    assert_eq!(recorded.verdict, Verdict::Pass);

    // Putting a claim back (its plan failed) replaces only the record that claim wrote.
    let fail = record(&index, Verdict::Fail, "index FAIL: arm", 1);
    verdicts
        .restore(&repo, &index, Some(&fail), "index FAIL: amd")
        .await
        .unwrap();
    assert_eq!(
        verdicts
            .verdict(&repo, &index)
            .await
            .unwrap()
            .unwrap()
            .fingerprint,
        "index PASS: amd,arm",
        "another evaluation's record stands"
    );
    verdicts
        .restore(&repo, &index, Some(&fail), "index PASS: amd,arm")
        .await
        .unwrap();
    assert_eq!(
        verdicts
            .verdict(&repo, &index)
            .await
            .unwrap()
            .unwrap()
            .verdict,
        Verdict::Fail
    );
    verdicts
        .restore(&repo, &index, None, "index FAIL: arm")
        .await
        .unwrap();
    assert_eq!(verdicts.verdict(&repo, &index).await.unwrap(), None);
}

/// A new repository holding two untagged platform images and their index, tagged `v1`.
async fn two_platform_index(s: &Setup, repo: &str) -> (Digest, Digest, Digest) {
    s.acct.create_repository(repo).await;
    let (amd, _) = s.acct.push(repo, "amd64", None).await;
    let (arm, _) = s.acct.push(repo, "arm64", None).await;
    let (index, _) = s
        .acct
        .push_manifest(
            repo,
            &image_index(&[(&amd, "amd64"), (&arm, "arm64")]),
            OCI_INDEX,
            Some("v1"),
        )
        .await;
    (amd, arm, index)
}
