use super::*;
use crate::operator::image_arg::parse_image_arg;

const D: &str = "sha256:0b1a4e0c81c434fa7928e5c4a2651a521ebabc4ff200c65f7e25b99373efca3b";

fn facts(image: &str) -> Facts {
    Facts {
        image: parse_image_arg(image).unwrap(),
        account: AccountId::new("123456789012").unwrap(),
        region: Region::new("us-east-1").unwrap(),
        repository_exists: true,
        found_in: vec![],
        found: Some(ImageFacts {
            digest: Digest::new(D).unwrap(),
            tags: vec![Tag::new("v1").unwrap()],
            status: Some("ACTIVE".into()),
            archived_at: None,
            pushed_at: None,
        }),
        quarantined_as: vec![],
        pull_through: None,
        principal: None,
        signature: None,
    }
}

#[test]
fn a_missing_repository_under_a_pull_through_cache_prefix_is_created_on_first_pull() {
    let mut f = facts("docker-hub/library/nginx:1.27");
    f.repository_exists = false;
    f.found = None;
    let rule = PullThroughRule {
        prefix: "docker-hub".into(),
        upstream_url: "registry-1.docker.io".into(),
    };
    assert!(rule.caches("docker-hub/library/nginx"));
    assert!(!rule.caches("docker-hubx/nginx") && !rule.caches("docker-hub"));
    f.pull_through = Some(rule);
    let checks = diagnose(&f);
    assert!(
        checks.iter().all(|c| c.status != Status::Problem),
        "{checks:#?}"
    );
    let cache = checks
        .iter()
        .find(|c| c.check == "pull through cache")
        .unwrap();
    assert!(cache.found.contains("not cached yet"));
    assert!(
        cache
            .fix
            .as_deref()
            .unwrap()
            .contains("ecr:BatchImportUpstreamImage")
    );
}

fn status(checks: &[Check], name: &str) -> Status {
    checks.iter().find(|c| c.check == name).unwrap().status
}

#[test]
fn a_healthy_image_passes_every_check_it_can_make() {
    let checks = diagnose(&facts("web:v1"));
    assert!(
        checks.iter().all(|c| c.status != Status::Problem),
        "{checks:#?}"
    );
    assert_eq!(status(&checks, "repository policy"), Status::NotChecked);
}

#[test]
fn a_repository_in_another_region_names_that_region_and_stops_there() {
    let mut f = facts("web:v1");
    f.repository_exists = false;
    f.found_in = vec![Region::new("eu-west-1").unwrap()];
    let checks = diagnose(&f);
    assert_eq!(checks[0].status, Status::Problem);
    assert!(checks[0].found.contains("it exists in eu-west-1"));
    assert!(
        checks[0]
            .fix
            .as_deref()
            .unwrap()
            .contains("123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:v1")
    );
    assert!(checks[1..].iter().all(|c| c.status == Status::NotChecked));
}

#[test]
fn a_cross_account_principal_without_a_grant_is_a_problem_with_the_statement_to_add() {
    let mut f = facts("web:v1");
    let p = Principal::parse("arn:aws:iam::210987654321:role/ecs-task").unwrap();
    f.principal = Some((p.clone(), None));
    let checks = diagnose(&f);
    let check = checks
        .iter()
        .find(|c| c.check == "repository policy")
        .unwrap();
    assert_eq!(check.status, Status::Problem);
    let grant = r#""AWS":"arn:aws:iam::210987654321:role/ecs-task""#;
    assert!(check.fix.as_deref().unwrap().contains(grant));
    let iam = checks.last().unwrap().fix.as_deref().unwrap();
    assert!(iam.starts_with("aws iam simulate-principal-policy"));
    let same = Principal::parse("arn:aws:iam::123456789012:role/ecs-task").unwrap();
    f.principal = Some((same, None));
    assert_eq!(status(&diagnose(&f), "repository policy"), Status::Ok);
}

/// Under a `signatures` policy the doctor says what the image's signatures prove and how to sign
/// it: a valid trusted signature is fine; none yet is the grace running out; a copied or foreign
/// signature fails, each with the key expected and the cosign command.
#[test]
fn a_signature_by_no_trusted_key_is_a_problem_naming_the_key_to_sign_with() {
    use crate::signature::{SignatureCheck, SignatureEvidence, SignatureVerdict};
    let with = |check: SignatureCheck, verdict: SignatureVerdict| {
        let mut f = facts("app/api:v1");
        f.signature = Some(SignatureFacts {
            digest: Digest::new(D).unwrap(),
            evidence: SignatureEvidence {
                check,
                verdict,
                not_checked: vec![],
            },
            expected: "a cosign signature by release".into(),
            cosign: true,
            notation_profiles: vec![],
        });
        let checks = diagnose(&f);
        checks.into_iter().find(|c| c.check == "signature").unwrap()
    };
    let signed = with(
        SignatureCheck::Signed {
            key: "release".into(),
        },
        SignatureVerdict::Pass {
            key: "release".into(),
        },
    );
    assert_eq!(
        (signed.status, signed.found.as_str()),
        (Status::Ok, "signed by release")
    );
    let foreign = with(
        SignatureCheck::UntrustedSigner,
        SignatureVerdict::Fail {
            reason: "untrusted_signer",
        },
    );
    assert_eq!(foreign.status, Status::Problem);
    assert!(
        foreign
            .found
            .starts_with("signed, but by no key the policy trusts"),
        "{foreign:?}"
    );
    let fix = foreign.fix.unwrap();
    assert!(fix.contains("with a cosign signature by release"), "{fix}");
    assert!(
        fix.contains(&format!(
            "cosign sign --key <that key> 123456789012.dkr.ecr.us-east-1.amazonaws.com/app/api@{D}"
        )),
        "{fix}"
    );
    let until = chrono::DateTime::parse_from_rfc3339("2026-12-06T21:10:00Z")
        .unwrap()
        .to_utc();
    let waiting = with(
        SignatureCheck::Unsigned,
        SignatureVerdict::Pending { until },
    );
    assert_eq!(waiting.status, Status::Problem);
    assert!(
        waiting
            .found
            .contains("until 2026-12-06T21:10:00+00:00 (grace)"),
        "{waiting:?}"
    );
    let copied = with(
        SignatureCheck::DigestMismatch {
            signed: "sha256:aa".into(),
        },
        SignatureVerdict::Fail {
            reason: "digest_mismatch",
        },
    );
    assert!(
        copied.found.contains("over another image (sha256:aa)"),
        "{copied:?}"
    );
}
