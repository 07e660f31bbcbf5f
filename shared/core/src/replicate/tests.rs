use super::image::{Blob, contents, missing, referrer_tags};
use super::*;

use crate::names::{AccountId, Digest, Region, RepositoryName, Tag};
use crate::policy::Policy;
use crate::records::VerdictRecord;
use crate::verdict::Verdict;

const POLICY: &str = r#"
version: 1
repositories:
  - match: "team-a/*"
    replication:
      tags: ["v*"]
      destinations:
        - region: eu-west-1
        - region: us-west-2
          account: "210987654321"
          role_arn: arn:aws:iam::210987654321:role/replicator
          external_id: warden-ext
  - match: "open/*"
    replication:
      require_pass: false
      destinations:
        - region: eu-west-1
  - match: "mirror/app"
    replication:
      require_pass: false
      destinations:
        - region: us-east-1
          repository: mirror/app-copy
        - region: us-east-1
"#;

fn policy() -> Policy {
    Policy::from_yaml(POLICY).expect("policy")
}

fn here() -> Registry {
    Registry {
        account: AccountId::new("123456789012").expect("account"),
        region: Region::new("us-east-1").expect("region"),
    }
}

fn repo(name: &str) -> RepositoryName {
    RepositoryName::new(name).expect("repository")
}

fn digest() -> Digest {
    Digest::of_bytes(b"image")
}

fn tags(names: &[&str]) -> Vec<Tag> {
    names.iter().map(|t| Tag::new(*t).expect("tag")).collect()
}

fn verdict(repository: &str, verdict: Verdict, tag_names: &[&str]) -> Trigger {
    Trigger::Verdict {
        repository: repo(repository),
        digest: digest(),
        tags: tags(tag_names),
        verdict,
    }
}

fn copy(decision: Decision) -> CopyPlan {
    match decision {
        Decision::Copy(plan) => plan,
        Decision::Skip { reason } => panic!("expected a copy, got a skip: {reason}"),
    }
}

fn skipped(decision: Decision) -> String {
    match decision {
        Decision::Skip { reason } => reason,
        Decision::Copy(plan) => panic!("expected a skip, got {plan:?}"),
    }
}

#[test]
fn a_pass_copies_only_the_tags_the_filter_matches_to_every_destination() {
    let plan = copy(decide(
        &verdict("team-a/api", Verdict::Pass, &["v1", "dev-7"]),
        &policy(),
        &here(),
    ));
    assert_eq!(plan.tags, tags(&["v1"]));
    assert!(plan.requires_pass);
    assert_eq!(plan.policy_pattern.as_deref(), Some("team-a/*"));
    let labels: Vec<String> = plan
        .targets
        .iter()
        .map(|t| t.label(&here().account))
        .collect();
    assert_eq!(
        labels,
        [
            "123456789012/eu-west-1/team-a/api",
            "210987654321/us-west-2/team-a/api"
        ]
    );
    assert_eq!(plan.targets[1].external_id.as_deref(), Some("warden-ext"));
}

#[test]
fn a_fail_verdict_never_copies() {
    let reason = skipped(decide(
        &verdict("team-a/api", Verdict::Fail, &["v1"]),
        &policy(),
        &here(),
    ));
    assert!(reason.contains("only a PASS promotes"), "{reason}");
}

#[test]
fn a_pass_whose_tags_the_filter_does_not_match_is_not_copied() {
    let reason = skipped(decide(
        &verdict("team-a/api", Verdict::Pass, &["dev-7"]),
        &policy(),
        &here(),
    ));
    assert!(
        reason.contains("dev-7") && reason.contains("v*"),
        "{reason}"
    );
}

#[test]
fn a_push_in_a_gated_repository_is_copied_only_on_a_recorded_pass() {
    let push = Trigger::Push {
        repository: repo("team-a/api"),
        digest: digest(),
        tag: Some(Tag::new("v1").expect("tag")),
    };
    let plan = copy(decide(&push, &policy(), &here()));
    assert!(plan.requires_pass);
    assert!(
        confirm(&plan, None)
            .unwrap_err()
            .contains("waiting for the verdict")
    );
    assert!(confirm(&plan, Some(&record(Verdict::Fail))).is_err());
    assert!(confirm(&plan, Some(&record(Verdict::Pass))).is_ok());
}

#[test]
fn the_tags_that_travel_are_those_the_image_holds_now() {
    let mut plan = copy(decide(
        &verdict("team-a/api", Verdict::Pass, &["v1"]),
        &policy(),
        &here(),
    ));
    let now = [
        Tag::new("v2").expect("tag"),
        Tag::new("dev-9").expect("tag"),
    ];
    with_current_tags(&mut plan, Some(&now)).expect("v2 matches");
    assert_eq!(plan.tags, [Tag::new("v2").expect("tag")]);
    let only_dev = [Tag::new("dev-9").expect("tag")];
    assert!(with_current_tags(&mut plan, Some(&only_dev)).is_err());
    assert!(
        with_current_tags(&mut plan, None)
            .unwrap_err()
            .contains("gone")
    );
}

#[test]
fn an_ungated_repository_copies_on_push_with_every_tag_and_ignores_verdicts() {
    let push = Trigger::Push {
        repository: repo("open/tool"),
        digest: digest(),
        tag: None,
    };
    let plan = copy(decide(&push, &policy(), &here()));
    assert!(plan.tags.is_empty() && !plan.requires_pass);
    let reason = skipped(decide(
        &verdict("open/tool", Verdict::Pass, &["v1"]),
        &policy(),
        &here(),
    ));
    assert!(reason.contains("the push copied it"), "{reason}");
}

#[test]
fn a_copy_arriving_in_a_destination_is_not_replicated_again() {
    let eu = Registry {
        region: Region::new("eu-west-1").expect("region"),
        ..here()
    };
    let reason = skipped(decide(
        &verdict("team-a/api", Verdict::Pass, &["v1"]),
        &policy(),
        &eu,
    ));
    assert!(reason.contains("is itself a destination"), "{reason}");
    // The same region under another name is a destination; the source itself is not a loop.
    let push = Trigger::Push {
        repository: repo("mirror/app"),
        digest: digest(),
        tag: None,
    };
    assert!(skipped(decide(&push, &policy(), &here())).contains("itself a destination"));
}

#[test]
fn a_repository_without_replication_is_skipped() {
    let reason = skipped(decide(
        &verdict("other/x", Verdict::Pass, &["v1"]),
        &policy(),
        &here(),
    ));
    assert!(reason.contains("no replication rule"), "{reason}");
}

fn record(v: Verdict) -> VerdictRecord {
    VerdictRecord {
        repository: repo("team-a/api"),
        digest: digest(),
        verdict: v,
        max_severity: None,
        fingerprint: "f".into(),
        policy_pattern: None,
        decided_at: chrono::DateTime::UNIX_EPOCH,
        evidence_at: chrono::DateTime::UNIX_EPOCH,
    }
}

#[test]
fn a_pass_message_superseded_by_a_recorded_fail_promotes_nothing() {
    let plan = copy(decide(
        &verdict("team-a/api", Verdict::Pass, &["v1"]),
        &policy(),
        &here(),
    ));
    assert_eq!(confirm(&plan, Some(&record(Verdict::Pass))), Ok(()));
    assert!(confirm(&plan, Some(&record(Verdict::Fail))).is_err());
    assert!(confirm(&plan, None).is_err());
}

#[test]
fn image_contents_name_config_and_layers_once_and_index_children() {
    let layer = Digest::of_bytes(b"l1");
    let config = Digest::of_bytes(b"c");
    let image = serde_json::json!({
        "schemaVersion": 2,
        "config": {"digest": config, "size": 3},
        "layers": [{"digest": layer, "size": 10}, {"digest": layer, "size": 10}],
    })
    .to_string();
    let c = contents(&image).expect("image");
    assert_eq!(c.blobs.len(), 2);
    assert_eq!(
        c.blobs[1],
        Blob {
            digest: layer.clone(),
            size: Some(10)
        }
    );
    let index = serde_json::json!({"manifests": [{"digest": digest(), "size": 5}]}).to_string();
    assert_eq!(contents(&index).expect("index").children, vec![digest()]);
    assert!(contents("{\"layers\": [{}]}").is_err());
    assert!(contents("not json").is_err());
    let available = std::collections::BTreeSet::from([config]);
    assert_eq!(missing(&c.blobs, &available).len(), 1);
}

#[test]
fn referrer_tags_follow_cosigns_scheme() {
    let names: Vec<String> = referrer_tags(&digest())
        .iter()
        .map(|t| t.as_str().to_owned())
        .collect();
    let hex = digest().as_str()[7..].to_owned();
    assert_eq!(
        names,
        [
            format!("sha256-{hex}.sig"),
            format!("sha256-{hex}.att"),
            format!("sha256-{hex}.sbom")
        ]
    );
}

#[test]
fn a_destination_account_needs_its_role_in_that_account() {
    let bad = r#"
version: 1
repositories:
  - match: "x/*"
    replication:
      destinations:
        - region: eu-west-1
          account: "210987654321"
        - region: eu-west-1
          account: "210987654321"
          role_arn: arn:aws:iam::111111111111:role/r
"#;
    let err = Policy::from_yaml(bad).expect_err("invalid").to_string();
    assert!(err.contains("needs the role to assume there"), "{err}");
    assert!(
        err.contains("the role must be in account 210987654321"),
        "{err}"
    );
}

#[test]
fn a_native_repository_is_left_to_ecrs_own_replication() {
    let policy = Policy::from_yaml(
        r#"
version: 1
repositories:
  - match: "open/**"
    replication: { native: true, require_pass: false, destinations: [{ region: eu-west-1 }] }
"#,
    )
    .expect("policy");
    let push = Trigger::Push {
        repository: repo("open/tool"),
        digest: digest(),
        tag: None,
    };
    assert!(skipped(decide(&push, &policy, &here())).contains("ECR's own replication"));
}

#[test]
fn a_kms_encrypted_source_gives_a_kms_encrypted_destination_with_ecrs_managed_key() {
    use super::image::Encryption;
    let key = Encryption {
        kind: "KMS".into(),
        kms_key: Some("arn:aws:kms:us-east-1:123456789012:key/abc".into()),
    };
    let there = key.for_destination();
    assert_eq!((there.kind.as_str(), there.kms_key), ("KMS", None));
}
