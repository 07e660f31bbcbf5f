use super::*;
use chrono::DateTime;

use crate::message::Body;
use crate::names::{AccountId, Digest, Region, RepositoryName, Tag};
use crate::plan::{Action, Plan, TagMove};
use crate::policy::Policy;
use crate::records::{ImageView, Manifest, VerdictClaim, VerdictRecord};
use crate::verdict::Verdict;

use crate::severity::{Severity, SeverityCounts};

const POLICY: &str = r#"
version: 1
repositories:
  - match: "**"
    gate:
      max_findings: { CRITICAL: 0 }
      on_fail: quarantine
  - match: "noisy/*"
    gate:
      max_findings: { CRITICAL: 0 }
      exceptions: [{ cve: CVE-1, expires: 2030-01-01, reason: accepted }]
      on_fail: quarantine
"#;

fn ctx() -> Context {
    Context {
        account: AccountId::new("123456789012").unwrap(),
        region: Region::new("us-east-1").unwrap(),
        event_id: None,
        force_dry_run: false,
        now: DateTime::from_timestamp(1_795_000_000, 0).unwrap(),
    }
}
fn digest(c: char) -> Digest {
    Digest::new(format!("sha256:{}", c.to_string().repeat(64))).unwrap()
}
fn tag(s: &str) -> Tag {
    Tag::new(s).unwrap()
}
fn subject(repo: &str, critical: u64, tags: &[&str]) -> Subject {
    Subject {
        repository: RepositoryName::new(repo).unwrap(),
        digest: digest('a'),
        tags: tags.iter().map(|t| tag(t)).collect(),
        source: Source::Counts {
            counts: SeverityCounts([(Severity::Critical, critical)].into()),
            enhanced: false,
        },
        observed_at: None,
    }
}
fn recorded() -> Facts {
    Facts {
        claim: Some(VerdictClaim::Recorded { previous: None }),
        ..Facts::default()
    }
}
fn manifest() -> Manifest {
    Manifest {
        digest: digest('a'),
        media_type: None,
        bytes: "{}".into(),
    }
}
fn actions(plan: &Plan) -> Vec<String> {
    plan.actions
        .iter()
        .map(|a| match a {
            Action::PutTag { tag, .. } => format!("put {tag}"),
            Action::MoveTags { moves, .. } => format!(
                "move {}",
                moves
                    .iter()
                    .map(|m| format!("{}>{}", m.from, m.to))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            Action::Publish { message, .. } => format!("publish {}", message.action),
            Action::SetTagMutability { .. }
            | Action::DeleteImages { .. }
            | Action::PutLifecyclePolicy { .. } => "other".into(),
        })
        .collect()
}

#[test]
fn the_message_says_what_a_quarantine_could_not_do() {
    use crate::execute::{Executed, NotMoved};
    let p = Policy::from_yaml(POLICY).unwrap();
    let s = subject("app/x", 1, &["v1", "latest", "edge"]);
    let facts = Facts {
        current_tags: Some(Some(vec![tag("v1"), tag("latest"), tag("edge")])),
        parents: Some(Parents::default()),
        image: Some(ImageView {
            manifest: Some(manifest()),
            tags: ["v1", "latest", "edge"]
                .iter()
                .map(|t| (tag(t), Some(digest('a'))))
                .collect(),
        }),
        ..recorded()
    };
    let Step::Done(plan) = decide(&s, &p, &ctx(), &facts) else {
        panic!()
    };
    let Some(Action::Publish { message, .. }) = plan.actions.last() else {
        panic!()
    };
    let moved = |from: &str| TagMove {
        from: tag(from),
        to: quarantine_tag("quarantine-", &tag(from), &digest('a')).unwrap(),
    };
    let executed = Executed {
        failures: Vec::new(),
        not_moved: vec![
            NotMoved {
                tag_move: moved("latest"),
                reason: "latest points at another image now: left alone".into(),
                still_on_image: false,
            },
            NotMoved {
                tag_move: moved("edge"),
                reason: "quarantine-edge-aaaaaaaaaaaa refused".into(),
                still_on_image: true,
            },
        ],
    };
    let mut told = message.clone();
    amend(&executed, &mut told);
    let Body::Verdict(body) = &told.body else {
        panic!()
    };
    assert_eq!(
        told.action, "quarantine_failed",
        "edge still deploys the failing image"
    );
    assert_eq!(body.quarantined_tags, [tag("v1")]);
    assert_eq!(body.moved_meanwhile, [tag("latest")]);
    assert_eq!(body.still_deployable, [tag("edge")]);
    assert_eq!(body.problems.len(), 2);
    // Only a tag that moved meanwhile: the quarantine of what is still this image's stands.
    let mut told = message.clone();
    amend(
        &Executed {
            failures: Vec::new(),
            not_moved: executed.not_moved[..1].to_vec(),
        },
        &mut told,
    );
    assert_eq!(told.action, "quarantined");
}

#[test]
fn quarantine_tags_are_unique_per_image_and_name_their_original() {
    let (a, b) = (digest('a'), digest('b'));
    let qa = quarantine_tag("quarantine-", &tag("latest"), &a).unwrap();
    let qb = quarantine_tag("quarantine-", &tag("latest"), &b).unwrap();
    assert_eq!(qa.as_str(), "quarantine-latest-aaaaaaaaaaaa");
    assert_ne!(qa, qb, "two images' quarantines never share a name");
    assert_eq!(
        original_tag("quarantine-", &qa, &a),
        Ok(Some(tag("latest")))
    );
    assert_eq!(
        original_tag("quarantine-", &qb, &a),
        Ok(None),
        "not this image's"
    );
    assert_eq!(original_tag("quarantine-", &tag("latest"), &a), Ok(None));
    // A 128-character tag is cut to fit, and then cannot be restored by name.
    let long = tag(&"x".repeat(128));
    let q = quarantine_tag("quarantine-", &long, &a).unwrap();
    assert_eq!(q.as_str().len(), 128);
    assert!(original_tag("quarantine-", &q, &a).is_err());
}

#[test]
fn counts_decide_with_no_read_unless_exceptions_could_matter() {
    let p = Policy::from_yaml(POLICY).unwrap();
    assert!(matches!(
        decide(&subject("app/x", 1, &["v1"]), &p, &ctx(), &Facts::default()),
        Step::Need(Need::VerdictClaim { .. })
    ));
    assert!(matches!(
        decide(
            &subject("noisy/x", 1, &["v1"]),
            &p,
            &ctx(),
            &Facts::default()
        ),
        Step::Need(Need::Findings { .. })
    ));
    assert!(matches!(
        decide(
            &subject("noisy/x", 0, &["v1"]),
            &p,
            &ctx(),
            &Facts::default()
        ),
        Step::Need(Need::VerdictClaim { .. })
    ));
}

#[test]
fn fail_quarantines_the_tags_still_on_the_image() {
    let p = Policy::from_yaml(POLICY).unwrap();
    // The event named v1 only; the image holds v1 and latest now (re-tagged after its scan).
    let s = subject("app/x", 1, &["v1"]);
    let mut facts = recorded();
    assert!(matches!(
        decide(&s, &p, &ctx(), &facts),
        Step::Need(Need::CurrentTags { .. })
    ));
    facts.current_tags = Some(Some(vec![tag("v1"), tag("latest")]));
    assert!(
        matches!(decide(&s, &p, &ctx(), &facts), Step::Need(Need::ImageTags { ref tags, .. }) if tags.len() == 2)
    );
    facts.image = Some(ImageView {
        manifest: Some(manifest()),
        tags: vec![
            (tag("v1"), Some(digest('a'))),
            (tag("latest"), Some(digest('b'))),
        ],
    });
    assert!(matches!(
        decide(&s, &p, &ctx(), &facts),
        Step::Need(Need::ParentIndexes { .. })
    ));
    facts.parents = Some(Parents::default());
    let Step::Done(plan) = decide(&s, &p, &ctx(), &facts) else {
        panic!()
    };
    assert_eq!(
        actions(&plan),
        ["move v1>quarantine-v1-aaaaaaaaaaaa", "publish quarantined"]
    );
}

#[test]
fn pass_after_fail_releases_unless_a_tag_was_taken() {
    let p = Policy::from_yaml(POLICY).unwrap();
    let s = subject(
        "app/x",
        0,
        &[
            "quarantine-v1-aaaaaaaaaaaa",
            "quarantine-latest-aaaaaaaaaaaa",
        ],
    );
    let previous = VerdictRecord {
        repository: s.repository.clone(),
        digest: digest('a'),
        verdict: Verdict::Fail,
        max_severity: Some(Severity::Critical),
        fingerprint: "old".into(),
        policy_pattern: None,
        decided_at: ctx().now,
        evidence_at: ctx().now,
    };
    let mut facts = Facts {
        claim: Some(VerdictClaim::Recorded {
            previous: Some(previous),
        }),
        ..Facts::default()
    };
    assert!(matches!(
        decide(&s, &p, &ctx(), &facts),
        Step::Need(Need::CurrentTags { .. })
    ));
    facts.current_tags = Some(Some(vec![
        tag("quarantine-v1-aaaaaaaaaaaa"),
        tag("quarantine-latest-aaaaaaaaaaaa"),
        tag("quarantine-v2-bbbbbbbbbbbb"),
    ]));
    assert!(matches!(
        decide(&s, &p, &ctx(), &facts),
        Step::Need(Need::ImageTags { .. })
    ));
    facts.image = Some(ImageView {
        manifest: Some(manifest()),
        tags: vec![(tag("v1"), None), (tag("latest"), Some(digest('c')))],
    });
    assert!(matches!(
        decide(&s, &p, &ctx(), &facts),
        Step::Need(Need::ParentIndexes { .. })
    ));
    facts.parents = Some(Parents::default());
    let Step::Done(plan) = decide(&s, &p, &ctx(), &facts) else {
        panic!()
    };
    assert_eq!(
        actions(&plan),
        ["move quarantine-v1-aaaaaaaaaaaa>v1", "publish released"],
        "another image's quarantine tag is not this image's to release"
    );
    assert!(
        plan.decision
            .contains("not restored (a newer image has it): latest"),
        "{}",
        plan.decision
    );
}

#[test]
fn unchanged_claims_and_untagged_images_do_nothing_more() {
    let p = Policy::from_yaml(POLICY).unwrap();
    let unchanged = Facts {
        claim: Some(VerdictClaim::Unchanged),
        ..Facts::default()
    };
    assert!(
        matches!(decide(&subject("app/x", 1, &["v1"]), &p, &ctx(), &unchanged), Step::Done(plan) if plan.actions.is_empty())
    );
    // An untagged image is deployable only through an index naming it: the indexes are asked
    // for; with none, there is nothing to move and people are told.
    let untagged = subject("app/x", 1, &[]);
    let listed = Facts {
        current_tags: Some(Some(Vec::new())),
        ..recorded()
    };
    assert!(matches!(
        decide(&untagged, &p, &ctx(), &listed),
        Step::Need(Need::ParentIndexes { .. })
    ));
    let no_parents = Facts {
        parents: Some(Parents::default()),
        ..listed
    };
    let Step::Done(plan) = decide(&untagged, &p, &ctx(), &no_parents) else {
        panic!()
    };
    assert_eq!(actions(&plan), ["publish none"]);
}

/// A push with no verdict recorded: a manifest the event says is no index asks nothing more; one
/// the event does not describe (AWS's push example has no `manifest-media-type`) or says is an
/// index is read to be judged by its platform images.
#[test]
fn a_push_with_no_record_reads_the_manifest_only_when_it_may_be_an_index() {
    let policy = Policy::from_yaml(POLICY).unwrap();
    let facts = Facts {
        recorded: Some(None),
        ..Facts::default()
    };
    let pushed = |index| Subject {
        source: Source::Pushed { index },
        ..subject("app/x", 0, &["v1"])
    };
    match decide(&pushed(Some(false)), &policy, &ctx(), &facts) {
        Step::Done(plan) => {
            assert!(plan.actions.is_empty());
            assert!(
                plan.decision.contains("no verdict recorded yet"),
                "{}",
                plan.decision
            );
        }
        other => panic!("{other:?}"),
    }
    for index in [None, Some(true)] {
        assert!(
            matches!(
                decide(&pushed(index), &policy, &ctx(), &facts),
                Step::Need(Need::CurrentTags { .. })
            ),
            "{index:?}"
        );
    }
}
