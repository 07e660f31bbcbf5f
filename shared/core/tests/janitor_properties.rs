//! Property: over random registries (tags, ages, multi-arch indexes, referrers, in-use sets,
//! quarantined images, random rules), no in-use, protected, kept-index child or kept-subject
//! referrer ever appears in a cleanup plan, and the plan's order puts indexes before their children.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed assertion

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use warden_core::janitor::safety::violations;
use warden_core::janitor::{ImageRecord, InUse, Storage, Structure, plan_repository};
use warden_core::names::{Digest, Tag};
use warden_core::policy::{AgeSince, Cleanup, CleanupRule, CleanupSelect, TagStatus};

const TAGS: &[&str] = &[
    "latest",
    "build-1",
    "build-2",
    "build-3",
    "v1",
    "v2",
    "prod-1",
    "quarantine-v1",
    "dev-x",
];

fn digest(i: usize) -> Digest {
    Digest::new(format!("sha256:{i:064x}")).unwrap()
}

#[derive(Debug, Clone)]
struct Registry {
    images: Vec<ImageRecord>,
    structure: Structure,
    in_use: InUse,
    cleanup: Cleanup,
    now: DateTime<Utc>,
}

fn rule_strategy() -> impl Strategy<Value = CleanupRule> {
    (
        1u32..5,
        0usize..3,
        proptest::option::of(prop::sample::subsequence(
            vec!["build-*", "v*", "dev-*", "*"],
            0..3,
        )),
        any::<bool>(),
        1u32..5,
        1u32..60,
        any::<bool>(),
    )
        .prop_map(
            |(priority, status, tags, keep, n, days, pull)| CleanupRule {
                priority,
                description: None,
                select: CleanupSelect {
                    tag_status: [TagStatus::Tagged, TagStatus::Untagged, TagStatus::Any][status],
                    tags: if status == 1 {
                        vec![]
                    } else {
                        tags.unwrap_or_default()
                            .into_iter()
                            .map(str::to_owned)
                            .collect()
                    },
                },
                keep_newest: keep.then_some(n),
                older_than_days: (!keep).then_some(days),
                since: Some(if pull { AgeSince::Pull } else { AgeSince::Push }),
            },
        )
}

fn registry() -> impl Strategy<Value = Registry> {
    let image = (
        prop::sample::subsequence(TAGS.to_vec(), 0..3),
        0i64..200,
        0u64..1_000_000,
        0usize..8,
        0i64..200,
    );
    (
        prop::collection::vec(image, 1..40),
        prop::collection::vec(rule_strategy(), 0..4),
        prop::collection::vec((0usize..40, prop::collection::vec(0usize..40, 1..4)), 0..5), // indexes
        prop::collection::vec((0usize..40, 0usize..40), 0..5), // referrers
        prop::collection::vec(0usize..40, 0..6),               // in use
        prop::collection::vec(0usize..40, 0..2),               // allowlist
        any::<bool>(),
        0u32..5,
    )
        .prop_map(
            |(raw, rules, indexes, referrers, used, allowed, keep_quarantined, grace)| {
                let now = DateTime::from_timestamp(1_795_000_000, 0).unwrap();
                let n = raw.len();
                let mut seen_tags = HashSet::new();
                let images: Vec<ImageRecord> = raw
                    .into_iter()
                    .enumerate()
                    .map(|(i, (tags, age, size, storage, pulled))| ImageRecord {
                        digest: digest(i),
                        // A tag is on one image at most.
                        tags: tags
                            .into_iter()
                            .filter(|t| seen_tags.insert(*t))
                            .map(|t| Tag::new(t).unwrap())
                            .collect(),
                        pushed_at: now - Duration::days(age),
                        last_pull: (pulled % 2 == 0).then(|| now - Duration::days(pulled / 2)),
                        size,
                        storage: match storage {
                            0 => Storage::Archived,
                            1 => Storage::Activating,
                            _ => Storage::Active,
                        },
                        archived_at: (storage == 0).then(|| now - Duration::days(age / 2)),
                        activated_at: None,
                    })
                    .collect();
                let mut structure = Structure::default();
                for (index, children) in indexes {
                    let kids: Vec<Digest> = children
                        .into_iter()
                        .filter(|c| *c % n != index % n)
                        .map(|c| digest(c % n))
                        .collect();
                    structure.children.insert(digest(index % n), kids);
                }
                for (referrer, subject) in referrers {
                    if referrer % n != subject % n {
                        structure
                            .subjects
                            .insert(digest(referrer % n), digest(subject % n));
                    }
                }
                let in_use: InUse = used
                    .into_iter()
                    .map(|u| (digest(u % n), "ECS service web".to_owned()))
                    .collect();
                let cleanup = Cleanup {
                    apply: true,
                    grace_days: Some(grace),
                    keep_quarantined: Some(keep_quarantined),
                    protect_tags: vec!["prod-*".into()],
                    allow_digests: allowed
                        .into_iter()
                        .map(|a| digest(a % n).to_string())
                        .collect(),
                    ecs_keep_revisions: None,
                    keep_pulled_within_days: (grace % 2 == 0).then_some(20),
                    rules,
                    lifecycle: vec![],
                };
                Registry {
                    images,
                    structure,
                    in_use,
                    cleanup,
                    now,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn nothing_protected_or_attached_to_a_kept_image_is_ever_deleted(r in registry()) {
        let plan = plan_repository(&r.images, &r.structure, &r.cleanup, &r.in_use, "quarantine-", r.now);
        let broken = violations(&plan, &r.images, &r.structure, &r.cleanup, &r.in_use, "quarantine-", r.now);
        prop_assert!(broken.is_empty(), "{broken:#?}");
    }
}

/// ECR selects `latest`+`build-7` with a `build-*` rule (one matching tag is enough): it survives a
/// keep-1 rule only through an extra keep — here `protect_tags` — never by falling out of the rule.
#[test]
fn latest_and_build_7_on_one_image_survive_a_keep_1_rule_only_when_protected() {
    let now = DateTime::from_timestamp(1_795_000_000, 0).unwrap();
    let image = |i: usize, tags: &[&str], age: i64| ImageRecord {
        digest: digest(i),
        tags: tags.iter().map(|t| Tag::new(*t).unwrap()).collect(),
        pushed_at: now - Duration::days(age),
        last_pull: None,
        size: 100,
        storage: Storage::Active,
        archived_at: None,
        activated_at: None,
    };
    let images = vec![
        image(1, &["build-9"], 1),
        image(2, &["latest", "build-7"], 5),
        image(3, &["build-6"], 9),
    ];
    let mut cleanup = Cleanup {
        rules: vec![CleanupRule {
            priority: 1,
            description: None,
            select: CleanupSelect {
                tag_status: TagStatus::Tagged,
                tags: vec!["build-*".into()],
            },
            keep_newest: Some(1),
            older_than_days: None,
            since: None,
        }],
        ..Cleanup::default()
    };
    let plan = |c: &Cleanup| {
        plan_repository(
            &images,
            &Structure::default(),
            c,
            &InUse::new(),
            "quarantine-",
            now,
        )
    };
    assert_eq!(plan(&cleanup).delete, vec![digest(3), digest(2)]);
    cleanup.protect_tags = vec!["latest".into()];
    let protected = plan(&cleanup);
    assert_eq!(protected.delete, vec![digest(3)]);
    assert_eq!(protected.keep[&digest(2)], "protected tag latest");
}

/// Found by the janitor_plan fuzz target: sizes whose sum does not fit a u64 made the plan panic on
/// overflow (a debug build) or report a wrapped figure (a release build). The sum saturates.
#[test]
fn bytes_freed_saturate_instead_of_overflowing() {
    let now = DateTime::from_timestamp(1_795_000_000, 0).unwrap();
    let image = |i: usize| ImageRecord {
        digest: digest(i),
        tags: vec![],
        pushed_at: now - Duration::days(30),
        last_pull: None,
        size: u64::MAX / 2 + 1,
        storage: Storage::Active,
        archived_at: None,
        activated_at: None,
    };
    let cleanup = Cleanup {
        rules: vec![CleanupRule {
            priority: 1,
            description: None,
            select: CleanupSelect {
                tag_status: TagStatus::Untagged,
                tags: vec![],
            },
            keep_newest: None,
            older_than_days: Some(1),
            since: None,
        }],
        ..Cleanup::default()
    };
    let images = [image(1), image(2)];
    let plan = plan_repository(
        &images,
        &Structure::default(),
        &cleanup,
        &InUse::new(),
        "quarantine-",
        now,
    );
    assert_eq!(plan.delete.len(), 2);
    assert_eq!(plan.bytes_freed, u64::MAX);
}
