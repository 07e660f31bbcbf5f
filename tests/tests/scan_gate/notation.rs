//! Notation signatures made with AWS Signer inside scan-gate's one verdict (docs/signatures.md),
//! against the local AWS: signatures made here by an AWS Signer-like authority
//! (`warden_tests::notation`), pushed as OCI 1.1 referrers; AWS Signer's revocations answered by
//! the emulator's GetRevocationStatus.

use chrono::Utc;
use warden_core::names::Digest;
use warden_tests::notation::SignerAuthority;

use super::signatures::{TARGET, clean_scan, pushed_ago, recorded};
use super::*;

const PROFILE: &str = "arn:aws:signer:us-east-1:123456789012:/signing-profiles/release";
const VERSION: &str = "arn:aws:signer:us-east-1:123456789012:/signing-profiles/release/a1B2c3D4e5";

/// A signing job of `account`'s (AWS Signer's job ARNs name the account that ran it).
fn job(account: &str, id: &str) -> String {
    format!("arn:aws:signer:{REGION}:{account}:/signing-jobs/{id}")
}

/// A policy gating `nsig/*` on CRITICAL findings and a Notation signature by the `release`
/// profile, chained to `authority`'s root.
fn notation_policy(authority: &SignerAuthority) -> Policy {
    let root: Vec<String> = authority
        .root_pem()
        .lines()
        .map(|l| format!("            {l}"))
        .collect();
    Policy::from_yaml(&format!(
        "version: 1\nrepositories:\n  - match: 'nsig/*'\n    gate: {{ max_findings: {{ CRITICAL: 0 }}, on_fail: quarantine }}\n    signatures:\n      require: [notation]\n      notation:\n        signing_profiles: ['{PROFILE}']\n        trust_store:\n          - |\n{}\n",
        root.join("\n")
    ))
    .unwrap()
}

async fn notation_setup(authority: &SignerAuthority) -> Setup {
    let role_arn = Emulator::shared().account().await.lambda_role().await;
    let config = GraceDeadlineConfig {
        role_arn,
        group: "default".into(),
        function_arn: Some(TARGET.into()),
    };
    setup_with_deadlines(notation_policy(authority), Some(config)).await
}

/// `authority`'s signature over `over` by `version` in job `job_id`, pushed as a referrer of
/// `digest`; the untagged push event of the referrer.
async fn notation_sign(
    s: &Setup,
    authority: &SignerAuthority,
    repository: &str,
    digest: &Digest,
    over: &Digest,
    version: &str,
    job_id: &str,
) -> (Digest, Value) {
    let envelope = authority.sign(over, version, &job(&s.acct.id, job_id), Utc::now());
    let referrer = s
        .acct
        .push_notation_signature(repository, digest, &envelope)
        .await;
    let event = s.acct.event("ecr-image-action.push.json", |e| {
        e["detail"]["repository-name"] = json!(repository);
        e["detail"]["image-digest"] = json!(referrer);
        e["detail"]["image-tag"] = json!("");
    });
    (referrer, event)
}

#[tokio::test]
async fn an_image_signed_by_a_trusted_signer_profile_passes_after_one_revocation_check() {
    let authority = SignerAuthority::new("AWS Signer");
    let s = notation_setup(&authority).await;
    s.acct.create_repository("nsig/good").await;
    let (digest, _) = s.acct.push("nsig/good", "good", Some("v1")).await;
    notation_sign(
        &s,
        &authority,
        "nsig/good",
        &digest,
        &digest,
        VERSION,
        "j-good",
    )
    .await;
    let event = clean_scan(&s, "nsig/good", &digest, &["v1"]).await;

    let (response, made) = run(&s, event.clone()).await;
    // The referrers of that artifact type listed (ListImageReferrers), their manifests
    // (BatchGetImage), the envelope's URL (GetDownloadUrlForLayer), AWS Signer asked once
    // (GetRevocationStatus); the verdict recorded and told; the repository listed for indexes
    // whose verdict rests on it (DescribeImages).
    assert_eq!(
        made,
        calls(&[
            ("DynamoDB.PutItem", 1),
            ("ECR.BatchGetImage", 1),
            ("ECR.DescribeImages", 1),
            ("ECR.GetDownloadUrlForLayer", 1),
            ("ECR.ListImageReferrers", 1),
            ("SNS.Publish", 1),
            ("Signer Data.GetRevocationStatus", 1),
        ]),
        "{response}"
    );
    let (verdict, fingerprint) = recorded(&s, "nsig/good", &digest).await.unwrap();
    assert_eq!(verdict, "PASS");
    assert!(
        fingerprint.ends_with(&format!("|signed:{PROFILE}")),
        "{fingerprint}"
    );
    assert_eq!(
        tags_of(&s.acct.tags_by_digest("nsig/good").await, &digest),
        ["v1"]
    );
}

#[tokio::test]
async fn past_the_grace_revoked_untrusted_and_copied_notation_signatures_quarantine() {
    let authority = SignerAuthority::new("AWS Signer");
    let stranger = SignerAuthority::new("AWS Signer");
    let s = notation_setup(&authority).await;
    s.acct.create_repository("nsig/bad").await;
    let (other, _) = s.acct.push("nsig/bad", "other", Some("base")).await;
    let mut cases = Vec::new();
    for (seed, tag) in [
        ("job-revoked", "v1"),
        ("cert-revoked", "v2"),
        ("other-profile", "v3"),
        ("other-root", "v4"),
        ("copied", "v5"),
    ] {
        let (digest, _) = s.acct.push("nsig/bad", seed, Some(tag)).await;
        pushed_ago(&s, "nsig/bad", &digest, 3_600).await;
        cases.push((digest, tag));
    }
    let nightly = VERSION.replace("/release/", "/nightly/");
    let signers = [
        (&authority, &cases[0].0, VERSION),
        (&authority, &cases[1].0, VERSION),
        (&authority, &cases[2].0, nightly.as_str()),
        (&stranger, &cases[3].0, VERSION),
        (&authority, &other, VERSION),
    ];
    for (i, (by, over, version)) in signers.into_iter().enumerate() {
        let (subject, job_id) = (&cases[i].0, format!("j{i}"));
        notation_sign(&s, by, "nsig/bad", subject, over, version, &job_id).await;
    }
    s.acct.revoke_signing_job("j0").await;
    let hashes = authority_hashes(&authority, &cases[1].0);

    let expected = [
        ("revoked", Some(job(&s.acct.id, "j0"))),
        ("revoked", Some(hashes[1].clone())),
        ("untrusted_signer", None),
        ("untrusted_signer", None),
        ("digest_mismatch", Some(other.as_str().to_owned())),
    ];
    for (i, ((digest, tag), (reason, detail))) in cases.iter().zip(expected).enumerate() {
        if i == 1 {
            // AWS revokes the intermediate's certificate: every signature its chain carries is
            // revoked from now on (the first image's verdict, taken before, is the job's).
            s.acct.seed_revoked_certificates(&hashes[1..2]).await;
        }
        let event = clean_scan(&s, "nsig/bad", digest, &[tag]).await;
        let (response, _) = run(&s, event).await;
        let (verdict, fingerprint) = recorded(&s, "nsig/bad", digest).await.unwrap();
        assert_eq!(verdict, "FAIL", "{reason}: {response}");
        assert!(
            fingerprint.ends_with(&format!("|signature:{reason}")),
            "{fingerprint}"
        );
        assert_eq!(
            tags_of(&s.acct.tags_by_digest("nsig/bad").await, digest),
            [q(tag, digest)],
            "{reason}: quarantined"
        );
        let told = s.acct.received(&s.all).await;
        let reasons = message(told.last().unwrap())["reasons"].to_string();
        assert!(
            reasons.contains(&format!("signature {reason}")),
            "{reasons}"
        );
        assert!(reasons.contains("a Notation signature by"), "{reasons}");
        if let Some(detail) = detail {
            assert!(reasons.contains(&detail), "{detail}: {reasons}");
        }
    }
    assert_eq!(
        tags_of(&s.acct.tags_by_digest("nsig/bad").await, &other),
        ["base"],
        "the image whose signature was copied is untouched"
    );
}

/// The certificate hashes AWS Signer is asked with for `authority`'s chain (as the verification
/// computes them), read back through the core's examination of a signature over `digest`.
fn authority_hashes(authority: &SignerAuthority, digest: &Digest) -> Vec<String> {
    use warden_core::signature::notation::{NotationSignature, examine};
    let policy = notation_policy(authority);
    let repo = warden_core::names::RepositoryName::new("nsig/bad").unwrap();
    let section = policy.for_repository(&repo).signatures.unwrap().value;
    let envelope = authority.sign(digest, VERSION, &job("123456789012", "probe"), Utc::now());
    let examined = examine(
        digest,
        &[NotationSignature {
            referrer: digest.clone(),
            media_type: "application/jose+json".into(),
            envelope,
        }],
        section.notation.as_ref().unwrap(),
        Utc::now(),
    );
    examined.candidates[0].query.certificate_hashes.clone()
}

#[tokio::test]
async fn a_signature_arriving_as_a_referrer_releases_the_image_whichever_event_brings_it() {
    let authority = SignerAuthority::new("AWS Signer");
    let s = notation_setup(&authority).await;
    s.acct.create_repository("nsig/late").await;
    let (digest, _) = s.acct.push("nsig/late", "late", Some("v1")).await;
    pushed_ago(&s, "nsig/late", &digest, 3_600).await;
    let scan = clean_scan(&s, "nsig/late", &digest, &["v1"]).await;
    run(&s, scan.clone()).await;
    let quarantined = vec![q("v1", &digest)];
    assert_eq!(
        tags_of(&s.acct.tags_by_digest("nsig/late").await, &digest),
        quarantined,
        "unsigned past the grace"
    );

    let (referrer, push) = notation_sign(
        &s,
        &authority,
        "nsig/late",
        &digest,
        &digest,
        VERSION,
        "j-late",
    )
    .await;
    // ECR's `ECR Referrer Action` may name the referrer or its subject: both readings.
    let referrer_event = |named: &Digest| {
        s.acct.event("ecr-referrer-action.push.json", |e| {
            e["detail"]["repository-name"] = json!("nsig/late");
            e["detail"]["image-digest"] = json!(named);
            e["detail"]["artifact-media-type"] = json!("application/vnd.cncf.notary.signature");
        })
    };
    for event in [referrer_event(&referrer), push, referrer_event(&digest)] {
        let (response, _) = run(&s, event).await;
        let (verdict, fingerprint) = recorded(&s, "nsig/late", &digest).await.unwrap();
        assert_eq!(verdict, "PASS", "{response}");
        assert!(
            fingerprint.ends_with(&format!("|signed:{PROFILE}")),
            "{fingerprint}"
        );
        assert_eq!(
            tags_of(&s.acct.tags_by_digest("nsig/late").await, &digest),
            ["v1"],
            "released: {response}"
        );
    }
    // The scan event again, after all: the same end state.
    run(&s, scan).await;
    assert_eq!(
        tags_of(&s.acct.tags_by_digest("nsig/late").await, &digest),
        ["v1"]
    );
}

#[tokio::test]
async fn a_notation_signed_index_covers_its_platform_images_and_passes_for_the_index() {
    let authority = SignerAuthority::new("AWS Signer");
    let s = notation_setup(&authority).await;
    s.acct.create_repository("nsig/multi").await;
    let (amd, _) = s.acct.push("nsig/multi", "amd64", None).await;
    let (arm, _) = s.acct.push("nsig/multi", "arm64", None).await;
    let index = image_index(&[(&amd, "amd64"), (&arm, "arm64")]);
    let (index, _) = s
        .acct
        .push_manifest("nsig/multi", &index, OCI_INDEX, Some("v1"))
        .await;
    for child in [&amd, &arm] {
        pushed_ago(&s, "nsig/multi", child, 3_600).await;
        let scan = clean_scan(&s, "nsig/multi", child, &[]).await;
        run(&s, scan).await;
    }
    assert_eq!(
        recorded(&s, "nsig/multi", &index).await.map(|r| r.0),
        Some("FAIL".into()),
        "unsigned platform images past their grace"
    );
    // `notation sign` of the multi-arch tag signs the index: its referrer's arrival re-evaluates
    // the platform images, covered now.
    let (_, arrival) = notation_sign(
        &s,
        &authority,
        "nsig/multi",
        &index,
        &index,
        VERSION,
        "j-multi",
    )
    .await;
    let (response, _) = run(&s, arrival).await;
    for child in [&amd, &arm] {
        let (verdict, fingerprint) = recorded(&s, "nsig/multi", child).await.unwrap();
        assert_eq!(verdict, "PASS", "{response}");
        assert!(
            fingerprint.ends_with(&format!("|signed:{PROFILE}")),
            "{fingerprint}"
        );
    }
    assert_eq!(
        recorded(&s, "nsig/multi", &index).await.map(|r| r.0),
        Some("PASS".into())
    );
    assert_eq!(
        tags_of(&s.acct.tags_by_digest("nsig/multi").await, &index),
        ["v1"],
        "released"
    );
}
