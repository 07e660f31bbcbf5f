use super::*;
use chrono::{DateTime, Utc};

use crate::names::{AccountId, Digest, Region, RepositoryName, Tag};
use crate::plan::Action;
use crate::policy::Policy;
use crate::records::{Claim, Manifest};
use crate::verdict::Verdict;

use crate::mutability::MutabilityMode;
use crate::mutability::TagMutability;

const POLICY: &str = r#"
version: 1
repositories:
  - match: "**"
    immutability: { mode: IMMUTABLE_WITH_EXCLUSION, exclusions: [latest, "dev-*"] }
  - match: "team-a/*"
    immutability: { mode: MUTABLE }
    protected_tags: { patterns: ["v*"], semver: true }
  - match: "team-a/dry"
    dry_run: true
"#;

fn ctx() -> Context {
    Context {
        account: AccountId::new("123456789012").unwrap(),
        region: Region::new("us-east-1").unwrap(),
        event_id: Some("e-1".into()),
        force_dry_run: false,
        now: t(100),
    }
}
fn t(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_000_000 + seconds, 0).unwrap()
}
fn policy() -> Policy {
    Policy::from_yaml(POLICY).unwrap()
}
fn repo(s: &str) -> RepositoryName {
    RepositoryName::new(s).unwrap()
}
fn tag(s: &str) -> Tag {
    Tag::new(s).unwrap()
}
fn t1() -> DateTime<Utc> {
    t(1)
}
fn t2() -> DateTime<Utc> {
    t(2)
}
fn digest(c: char) -> Digest {
    Digest::new(format!("sha256:{}", c.to_string().repeat(64))).unwrap()
}
fn manifest(c: char) -> Manifest {
    Manifest {
        digest: digest(c),
        media_type: None,
        bytes: format!("{{\"m\":\"{c}\"}}"),
    }
}

#[test]
fn unprotected_and_ecr_enforced_tags_need_no_facts() {
    let p = policy();
    for (r, t) in [("team-a/api", "latest"), ("team-b/web", "v1")] {
        let step = decide_tag(
            &repo(r),
            &tag(t),
            &digest('a'),
            t1(),
            &p,
            &ctx(),
            &TagFacts::default(),
        );
        assert!(
            matches!(step, Step::Done(ref plan) if plan.actions.is_empty()),
            "{r}:{t}: {step:?}"
        );
    }
}

#[test]
fn first_push_claims_then_is_done() {
    let p = policy();
    let (r, t, d) = (repo("team-a/api"), tag("v1.2.3"), digest('a'));
    let step = decide_tag(&r, &t, &d, t1(), &p, &ctx(), &TagFacts::default());
    assert_eq!(
        step,
        Step::Need(Need::LedgerClaim {
            repository: r.clone(),
            tag: t.clone(),
            digest: d.clone(),
            observed_at: t1()
        })
    );
    let facts = TagFacts {
        ledger: Some(Claim::Recorded),
        ..TagFacts::default()
    };
    assert!(
        matches!(decide_tag(&r, &t, &d, t1(), &p, &ctx(), &facts), Step::Done(plan) if plan.actions.is_empty())
    );
    let dup = TagFacts {
        ledger: Some(Claim::Existing(d.clone())),
        ..TagFacts::default()
    };
    assert!(
        matches!(decide_tag(&r, &t, &d, t1(), &p, &ctx(), &dup), Step::Done(plan) if plan.actions.is_empty())
    );
}

#[test]
fn a_tag_moved_off_a_failed_image_stands_and_the_ledger_follows() {
    let p = policy();
    let (r, t) = (repo("team-a/api"), tag("v1.2.3"));
    let (a, b) = (digest('a'), digest('b'));
    let mut facts = TagFacts {
        ledger: Some(Claim::Existing(a.clone())),
        current: Some(Some(b.clone())),
        recorded_verdict: Some(Some(Verdict::Fail)),
        ..TagFacts::default()
    };
    assert_eq!(
        decide_tag(&r, &t, &b, t2(), &p, &ctx(), &facts),
        Step::Need(Need::LedgerFollow {
            repository: r.clone(),
            tag: t.clone(),
            from: a.clone(),
            to: b.clone(),
            observed_at: t2(),
        })
    );
    facts.ledger_followed = Some(true);
    let Step::Done(plan) = decide_tag(&r, &t, &b, t2(), &p, &ctx(), &facts) else {
        panic!()
    };
    assert!(
        matches!(plan.actions.as_slice(), [Action::Publish { message, .. }]
            if message.action == "accepted" && message.body.kind() == "tag_accepted"),
        "no PutTag: the failed image never gets the tag back: {plan:?}"
    );
    // Dry-run: the ledger is not moved; people are told what would happen.
    let dry = TagFacts {
        ledger_followed: None,
        ..facts
    };
    let Step::Done(plan) = decide_tag(&repo("team-a/dry"), &t, &b, t2(), &p, &ctx(), &dry) else {
        panic!()
    };
    assert!(plan.dry_run);
}

#[test]
fn overwrite_reverts_keeping_the_offender() {
    let p = policy();
    let (r, t) = (repo("team-a/api"), tag("1.0.0")); // protected as semver
    let (a, b) = (digest('a'), digest('b'));
    let mut facts = TagFacts {
        ledger: Some(Claim::Existing(a.clone())),
        ..TagFacts::default()
    };
    assert!(matches!(
        decide_tag(&r, &t, &b, t2(), &p, &ctx(), &facts),
        Step::Need(Need::CurrentTarget { .. })
    ));
    facts.current = Some(Some(b.clone()));
    assert_eq!(
        decide_tag(&r, &t, &b, t2(), &p, &ctx(), &facts),
        Step::Need(Need::RecordedVerdict {
            repository: r.clone(),
            digest: a.clone()
        }),
        "scan-gate's verdict on the recorded image is asked before pointing the tag back"
    );
    facts.recorded_verdict = Some(None);
    assert_eq!(
        decide_tag(&r, &t, &b, t2(), &p, &ctx(), &facts),
        Step::Need(Need::Manifests {
            repository: r.clone(),
            digests: vec![a.clone(), b.clone()]
        })
    );
    facts.manifests = Some(vec![manifest('a'), manifest('b')]);
    let Step::Done(plan) = decide_tag(&r, &t, &b, t2(), &p, &ctx(), &facts) else {
        panic!()
    };
    let kinds: Vec<_> = plan
        .actions
        .iter()
        .map(|a| match a {
            Action::PutTag { tag, manifest, .. } => {
                format!("put {tag}={}", manifest.digest.short())
            }
            Action::Publish { message, .. } => format!("publish {}", message.action),
            Action::SetTagMutability { .. }
            | Action::MoveTags { .. }
            | Action::DeleteImages { .. }
            | Action::PutLifecyclePolicy { .. } => "other".into(),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "put rejected-1.0.0-bbbbbbbbbbbb=bbbbbbbbbbbb",
            "put 1.0.0=aaaaaaaaaaaa",
            "publish reverted"
        ]
    );
}

#[test]
fn already_reverted_or_deleted_tags_need_nothing() {
    let p = policy();
    let (r, t) = (repo("team-a/api"), tag("v1"));
    let (a, b) = (digest('a'), digest('b'));
    for current in [Some(a.clone()), None] {
        let facts = TagFacts {
            ledger: Some(Claim::Existing(a.clone())),
            current: Some(current.clone()),
            manifests: None,
            recorded_verdict: Some(None),
            ledger_followed: None,
            replicated_from: None,
        };
        let step = decide_tag(&r, &t, &b, t2(), &p, &ctx(), &facts);
        assert!(
            matches!(step, Step::Done(ref plan) if plan.actions.is_empty()),
            "{current:?}: {step:?}"
        );
    }
}

#[test]
fn an_earlier_push_arriving_late_replaces_the_entry_and_reverts_the_later_one() {
    let p = policy();
    let (r, t) = (repo("team-a/api"), tag("v1"));
    let (a, b) = (digest('a'), digest('b'));
    // B's event came first and was recorded; now A's (observed earlier) arrives.
    let existing = crate::records::LedgerEntry {
        digest: b.clone(),
        observed_at: t2(),
    };
    let claim = Claim::would(Some(&existing), &a, t1());
    assert_eq!(
        claim,
        Claim::Replaced {
            previous: b.clone()
        }
    );
    let facts = TagFacts {
        ledger: Some(claim),
        current: Some(Some(b.clone())),
        manifests: Some(vec![manifest('a'), manifest('b')]),
        recorded_verdict: Some(None),
        ledger_followed: None,
        replicated_from: None,
    };
    let Step::Done(plan) = decide_tag(&r, &t, &a, t1(), &p, &ctx(), &facts) else {
        panic!()
    };
    assert!(
        matches!(&plan.actions[1], Action::PutTag { tag, manifest, .. } if tag.as_str() == "v1" && manifest.digest == a)
    );
    // A later observation never replaces an earlier one.
    let earlier = crate::records::LedgerEntry {
        digest: a.clone(),
        observed_at: t1(),
    };
    assert_eq!(Claim::would(Some(&earlier), &b, t2()), Claim::Existing(a));
}

#[test]
fn gone_original_notifies_only_and_dry_run_reads_instead_of_claiming() {
    let p = policy();
    let (r, t) = (repo("team-a/api"), tag("v1"));
    let facts = TagFacts {
        ledger: Some(Claim::Existing(digest('a'))),
        current: Some(Some(digest('b'))),
        manifests: Some(vec![manifest('b')]),
        recorded_verdict: Some(None),
        ledger_followed: None,
        replicated_from: None,
    };
    let Step::Done(plan) = decide_tag(&r, &t, &digest('b'), t2(), &p, &ctx(), &facts) else {
        panic!()
    };
    assert!(
        matches!(plan.actions.as_slice(), [Action::Publish { message, .. }] if message.body.kind() == "tag_revert_impossible")
    );

    let dry = repo("team-a/dry");
    assert!(matches!(
        decide_tag(
            &dry,
            &t,
            &digest('b'),
            t2(),
            &p,
            &ctx(),
            &TagFacts::default()
        ),
        Step::Need(Need::LedgerRead { .. })
    ));
}

#[test]
fn repositories_conform_or_are_fixed() {
    let p = policy();
    let wanted = TagMutability {
        mode: MutabilityMode::ImmutableWithExclusion,
        exclusions: vec![
            crate::names::ExclusionFilter::new("dev-*").unwrap(),
            crate::names::ExclusionFilter::new("latest").unwrap(),
        ],
    };
    assert!(
        decide_repository(&repo("team-b/web"), Some(&wanted), "sweep", &p, &ctx())
            .actions
            .is_empty()
    );
    let mutable = TagMutability {
        mode: MutabilityMode::Mutable,
        exclusions: vec![],
    };
    let plan = decide_repository(
        &repo("team-b/web"),
        Some(&mutable),
        "CreateRepository",
        &p,
        &ctx(),
    );
    assert!(
        matches!(&plan.actions[0], Action::SetTagMutability { setting, .. } if setting.same_as(&wanted))
    );
    assert_eq!(plan.actions.len(), 2);
}

#[test]
fn semver_class() {
    assert!(
        is_semver("v1.2.3")
            && is_semver("1.2.3-rc.1")
            && !is_semver("v1.2")
            && !is_semver("latest")
    );
}
