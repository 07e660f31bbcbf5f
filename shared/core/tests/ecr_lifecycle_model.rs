//! A reference model of Amazon ECR's lifecycle policy evaluation, written from AWS's documentation
//! ("Lifecycle policy evaluation rules" and "Lifecycle policy properties" in the ECR User Guide),
//! independently of janitor's planner. It takes rules in ECR's own JSON shape.
//!
//! The documented rules it implements, one per test below:
//! - rules are applied in `rulePriority` order, lowest first;
//! - `tagStatus: any` selects every image, `untagged` images without tags, `tagged` images whose
//!   tags satisfy the tag list: "if you specify multiple tags, only the images with all specified
//!   tags are selected" — each pattern (or prefix) matches at least one of the image's tags;
//! - `*` is the only wildcard in `tagPatternList`;
//! - `imageCountMoreThan`: images sorted from youngest to oldest by push time, all beyond the count
//!   are expired; `sinceImagePushed` / `sinceImagePulled`: older than `countNumber` days;
//! - "If an image was archived and then restored at any point in the past, the image's
//!   `last_activated_at` is used instead of `pushed_at_time`" (ordering). Whether a
//!   `sinceImagePushed` age counts from it too the page leaves open (its `sinceImagePushed` bullet
//!   names `pushed_at_time` only): both readings are modelled ([`AgeReading`]);
//! - `sinceImagePulled` counts from the last recorded pull; "if an image was never pulled, the
//!   image's `pushed_at_time` is used"; restored and "never pulled since the image was restored,
//!   the image's `last_activated_at` is used" (ECR archives with this count type; janitor's
//!   `since: pull` deletes, so the model applies it to expiry for janitor's sake);
//! - "an image is expired by exactly one or zero rules";
//! - "an image that matches the tagging requirements of a higher priority rule cannot be expired by
//!   a rule with a lower priority";
//! - "rules can never mark images that are marked by higher priority rules, but can still identify
//!   them as if they haven't been expired" (they count towards a lower rule's `countNumber`);
//! - expiry rules select the standard storage class unless `storageClass` says otherwise.
//!
//! The property test then checks janitor against it: janitor deletes a subset of what ECR would
//! expire, and exactly that when none of janitor's extra keeps applies.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed assertion

use std::collections::{BTreeSet, HashSet};

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use warden_core::janitor::{ImageRecord, InUse, Storage, Structure, plan_repository};
use warden_core::names::{Digest, Tag};
use warden_core::policy::{
    AgeSince, Cleanup, CleanupRule, CleanupSelect, LifecycleAction, LifecycleRule,
    LifecycleSelection, TagStatus,
};

/// `*` matches any run of characters; everything else is literal; the whole tag must match.
fn ecr_wildcard(pattern: &[u8], tag: &[u8]) -> bool {
    match pattern.split_first() {
        None => tag.is_empty(),
        Some((b'*', rest)) => (0..=tag.len()).any(|i| ecr_wildcard(rest, &tag[i..])),
        Some((c, rest)) => tag.first() == Some(c) && ecr_wildcard(rest, &tag[1..]),
    }
}

fn meets_tagging_requirements(rule: &LifecycleRule, image: &ImageRecord) -> bool {
    let tags: Vec<&str> = image.tags.iter().map(Tag::as_str).collect();
    let s = &rule.selection;
    match s.tag_status.as_str() {
        "any" => true,
        "untagged" => tags.is_empty(),
        "tagged" => {
            !tags.is_empty()
                && match (&s.tag_pattern_list, &s.tag_prefix_list) {
                    (Some(patterns), _) => patterns.iter().all(|p| {
                        tags.iter()
                            .any(|t| ecr_wildcard(p.as_bytes(), t.as_bytes()))
                    }),
                    (None, Some(prefixes)) => prefixes
                        .iter()
                        .all(|p| tags.iter().any(|t| t.starts_with(p.as_str()))),
                    (None, None) => false,
                }
        }
        other => panic!("not an ECR tagStatus: {other}"),
    }
}

/// The two readings of a restored image's `sinceImagePushed` age.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AgeReading {
    /// `last_activated_at` is used instead of `pushed_at_time` for ages too.
    FromRestore,
    /// Only the order uses it; the age counts from `pushed_at_time`, as the bullet says.
    FromPush,
}

/// `pushed_at_time`, or `last_activated_at` for an image restored at any point in the past.
fn ordering_time(image: &ImageRecord) -> DateTime<Utc> {
    image.activated_at.unwrap_or(image.pushed_at)
}

fn pulled_time(image: &ImageRecord) -> DateTime<Utc> {
    match (image.last_pull, image.activated_at) {
        (Some(pulled), Some(restored)) if pulled >= restored => pulled,
        (_, Some(restored)) => restored,
        (Some(pulled), None) => pulled,
        (None, None) => image.pushed_at,
    }
}

/// The digests ECR's lifecycle evaluator would expire.
fn ecr_expires(
    images: &[ImageRecord],
    rules: &[LifecycleRule],
    now: DateTime<Utc>,
    reading: AgeReading,
) -> BTreeSet<Digest> {
    let mut rules: Vec<&LifecycleRule> = rules.iter().collect();
    rules.sort_by_key(|r| r.rule_priority);
    let mut expired = BTreeSet::new();
    let mut matched_by_higher: HashSet<&Digest> = HashSet::new();
    for rule in rules {
        // Expiry rules select the standard storage class (ECR's default `storageClass`).
        let mut identified: Vec<&ImageRecord> = images
            .iter()
            .filter(|i| i.storage == Storage::Active && meets_tagging_requirements(rule, i))
            .collect();
        // Youngest first (AWS leaves ties unspecified; the digest breaks them).
        identified.sort_by(|a, b| {
            ordering_time(b)
                .cmp(&ordering_time(a))
                .then(a.digest.cmp(&b.digest))
        });
        let days = |since: DateTime<Utc>| {
            now - since > Duration::days(i64::from(rule.selection.count_number))
        };
        let marked: Vec<&ImageRecord> = match rule.selection.count_type.as_str() {
            "imageCountMoreThan" => identified
                .iter()
                .skip(rule.selection.count_number as usize)
                .copied()
                .collect(),
            "sinceImagePushed" => identified
                .iter()
                .filter(|i| {
                    days(match reading {
                        AgeReading::FromRestore => ordering_time(i),
                        AgeReading::FromPush => i.pushed_at,
                    })
                })
                .copied()
                .collect(),
            "sinceImagePulled" => identified
                .iter()
                .filter(|i| days(pulled_time(i)))
                .copied()
                .collect(),
            other => panic!("not modelled: {other}"),
        };
        for image in marked {
            if !matched_by_higher.contains(&image.digest) {
                expired.insert(image.digest.clone());
            }
        }
        matched_by_higher.extend(identified.iter().map(|i| &i.digest));
    }
    expired
}

/// A janitor rule written as the ECR lifecycle rule it stands for.
fn as_ecr(rule: &CleanupRule) -> LifecycleRule {
    let (count_type, count_unit, count_number) = match (rule.keep_newest, rule.older_than_days) {
        (Some(n), _) => ("imageCountMoreThan", None, n),
        (None, Some(d)) if rule.since == Some(AgeSince::Pull) => {
            ("sinceImagePulled", Some("days"), d)
        }
        (None, Some(d)) => ("sinceImagePushed", Some("days"), d),
        (None, None) => panic!("a rule keeps a count or an age"),
    };
    let status = match rule.select.tag_status {
        TagStatus::Tagged => "tagged",
        TagStatus::Untagged => "untagged",
        TagStatus::Any => "any",
    };
    LifecycleRule {
        rule_priority: rule.priority,
        description: None,
        selection: LifecycleSelection {
            tag_status: status.to_owned(),
            tag_pattern_list: (rule.select.tag_status == TagStatus::Tagged)
                .then(|| rule.select.tags.clone()),
            tag_prefix_list: None,
            count_type: count_type.to_owned(),
            count_unit: count_unit.map(str::to_owned),
            count_number,
            storage_class: None,
        },
        action: LifecycleAction {
            action_type: "expire".to_owned(),
            target_storage_class: None,
        },
    }
}

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_000_000, 0).unwrap()
}

fn digest(i: usize) -> Digest {
    Digest::new(format!("sha256:{i:064x}")).unwrap()
}

fn image(i: usize, tags: &[&str], days_ago: i64) -> ImageRecord {
    ImageRecord {
        digest: digest(i),
        tags: tags.iter().map(|t| Tag::new(*t).unwrap()).collect(),
        pushed_at: now() - Duration::days(days_ago),
        last_pull: None,
        size: 1,
        storage: Storage::Active,
        archived_at: None,
        activated_at: None,
    }
}

fn rule(
    priority: u32,
    status: TagStatus,
    tags: &[&str],
    keep: Option<u32>,
    days: Option<u32>,
) -> CleanupRule {
    CleanupRule {
        priority,
        description: None,
        select: CleanupSelect {
            tag_status: status,
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        },
        keep_newest: keep,
        older_than_days: days,
        since: None,
    }
}

/// Both views of one repository: ECR's model and janitor's plan (no extra keeps configured).
fn both(images: &[ImageRecord], rules: Vec<CleanupRule>) -> (BTreeSet<Digest>, BTreeSet<Digest>) {
    let ecr: Vec<LifecycleRule> = rules.iter().map(as_ecr).collect();
    let model = ecr_expires(images, &ecr, now(), AgeReading::FromRestore);
    let cleanup = Cleanup {
        rules,
        keep_quarantined: Some(false), // on by default: an extra keep
        ..Cleanup::default()
    };
    let plan = plan_repository(
        images,
        &Structure::default(),
        &cleanup,
        &InUse::new(),
        "quarantine-",
        now(),
    );
    (model, plan.delete.into_iter().collect())
}

fn set(ids: &[usize]) -> BTreeSet<Digest> {
    ids.iter().map(|i| digest(*i)).collect()
}

#[test]
fn one_matching_tag_selects_the_image_and_a_higher_rule_match_protects_it_from_lower_rules() {
    // The safety issue's flow 3: build-8, build-9, build-10+latest, release-1 (oldest → newest).
    let images = [
        image(8, &["build-8"], 40),
        image(9, &["build-9"], 30),
        image(10, &["build-10", "latest"], 20),
        image(1, &["release-1"], 10),
    ];
    let rules = vec![
        rule(1, TagStatus::Tagged, &["build-*"], Some(1), None),
        rule(2, TagStatus::Tagged, &["*"], Some(1), None),
    ];
    let (model, janitor) = both(&images, rules);
    // Rule 1 selects build-10+latest (one matching tag is enough) and keeps it as its newest;
    // rule 2 cannot expire what rule 1 matched, and keeps release-1 as its newest.
    assert_eq!(model, set(&[8, 9]));
    assert_eq!(janitor, model);
}

#[test]
fn multiple_patterns_select_only_images_with_all_of_them() {
    let images = [
        image(1, &["prod-1", "web-1"], 30),
        image(2, &["prod-2"], 20),
        image(3, &["prod-3", "web-3"], 10),
    ];
    let (model, janitor) = both(
        &images,
        vec![rule(
            1,
            TagStatus::Tagged,
            &["prod-*", "web-*"],
            Some(1),
            None,
        )],
    );
    assert_eq!(
        model,
        set(&[1]),
        "prod-2 lacks a web-* tag, so the rule does not select it"
    );
    assert_eq!(janitor, model);
}

#[test]
fn only_star_is_a_wildcard_in_tag_patterns() {
    let images = [
        image(1, &["v1"], 30),
        image(2, &["v22"], 20),
        image(3, &["x.1"], 10),
    ];
    let rules = vec![
        rule(1, TagStatus::Tagged, &["v?"], None, Some(7)),
        rule(2, TagStatus::Tagged, &["v*"], None, Some(7)),
        rule(3, TagStatus::Tagged, &["x?1"], None, Some(7)),
    ];
    let (model, janitor) = both(&images, rules);
    assert_eq!(
        model,
        set(&[1, 2]),
        "`?` is literal: `v?` and `x?1` select nothing, `v*` both v tags"
    );
    assert_eq!(janitor, model);
}

#[test]
fn rules_identify_images_matched_by_higher_rules_so_they_count() {
    // AWS's example A: rule 1 prod* keep 1, rule 2 beta* keep 1.
    let images = [
        image(1, &["beta-1", "prod-1"], 10),
        image(2, &["beta-2", "prod-2"], 9),
        image(3, &["beta-3"], 8),
    ];
    let rules = vec![
        rule(1, TagStatus::Tagged, &["prod*"], Some(1), None),
        rule(2, TagStatus::Tagged, &["beta*"], Some(1), None),
    ];
    let (model, janitor) = both(&images, rules);
    // Rule 2 marks images 1 and 2 (beyond its newest, image 3) but image 2 matched rule 1: skipped.
    assert_eq!(model, set(&[1]));
    assert_eq!(janitor, model);

    // A lower `any` rule counts an image kept by a higher rule: the older one goes.
    let images = [image(1, &["prod-1"], 1), image(2, &["x"], 5)];
    let rules = vec![
        rule(1, TagStatus::Tagged, &["prod-*"], Some(5), None),
        rule(2, TagStatus::Any, &[], Some(1), None),
    ];
    let (model, janitor) = both(&images, rules);
    assert_eq!(model, set(&[2]));
    assert_eq!(janitor, model);
}

#[test]
fn an_image_is_expired_by_one_rule_at_most_and_age_rules_count_days_since_push() {
    let images = [
        image(1, &[], 30),
        image(2, &[], 3),
        image(3, &["dev-1"], 30),
    ];
    let rules = vec![
        rule(1, TagStatus::Untagged, &[], None, Some(14)),
        rule(2, TagStatus::Any, &[], None, Some(7)),
    ];
    let (model, janitor) = both(&images, rules);
    // Image 2 matched rule 1 (untagged) and is young: the `any` rule cannot expire it.
    assert_eq!(model, set(&[1, 3]));
    assert_eq!(janitor, model);
}

/// "If an image was archived and then restored at any point in the past, the image's
/// `last_activated_at` is used instead of `pushed_at_time`": restored yesterday, it is the newest.
#[test]
fn a_restored_image_is_ordered_by_its_restore_time_not_its_push_time() {
    let mut restored = image(1, &["build-1"], 90);
    restored.activated_at = Some(now() - Duration::days(1));
    let images = [
        restored,
        image(2, &["build-2"], 10),
        image(3, &["build-3"], 5),
    ];
    let rules = vec![rule(1, TagStatus::Tagged, &["build-*"], Some(1), None)];
    let (model, janitor) = both(&images, rules);
    assert_eq!(model, set(&[2, 3]));
    assert_eq!(janitor, model);
}

/// `sinceImagePulled`: restored, "but never pulled since the image was restored, the image's
/// `last_activated_at` is used instead of the `last_recorded_pulltime`".
#[test]
fn a_restored_image_not_pulled_since_counts_its_pull_age_from_the_restore() {
    let mut restored = image(1, &["v1"], 200);
    restored.last_pull = Some(now() - Duration::days(150));
    restored.activated_at = Some(now() - Duration::days(3));
    let mut pulled_since = image(2, &["v2"], 200);
    pulled_since.activated_at = Some(now() - Duration::days(100));
    pulled_since.last_pull = Some(now() - Duration::days(60));
    let mut r = rule(1, TagStatus::Any, &[], None, Some(30));
    r.since = Some(AgeSince::Pull);
    let (model, janitor) = both(&[restored, pulled_since], vec![r]);
    assert_eq!(model, set(&[2]), "pulled 60 days ago, after its restore");
    assert_eq!(janitor, model);
}

#[test]
fn expiry_rules_select_the_standard_storage_class_only() {
    let mut archived = image(1, &[], 400);
    archived.storage = Storage::Archived;
    archived.archived_at = Some(now() - Duration::days(200));
    let images = [archived, image(2, &[], 400)];
    let (model, janitor) = both(
        &images,
        vec![rule(1, TagStatus::Untagged, &[], None, Some(14))],
    );
    assert_eq!(model, set(&[2]));
    assert_eq!(janitor, model);
}

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
    "v.1",
];
const PATTERNS: &[&str] = &["build-*", "v*", "dev-*", "*", "*-1", "prod-*", "v?"];

/// Rules ECR would accept: unique priorities, at most one `untagged` rule, `any` last.
fn rules_strategy() -> impl Strategy<Value = Vec<CleanupRule>> {
    prop::collection::vec(
        (
            0usize..3,
            prop::sample::subsequence(PATTERNS.to_vec(), 1..3),
            any::<bool>(),
            1u32..4,
            1u32..60,
            any::<bool>(),
        ),
        0..4,
    )
    .prop_map(|raw| {
        let mut untagged_seen = false;
        let mut rules: Vec<CleanupRule> = Vec::new();
        for (i, (status, patterns, keep, n, days, pull)) in raw.into_iter().enumerate() {
            let status = [TagStatus::Tagged, TagStatus::Untagged, TagStatus::Any][status];
            if status == TagStatus::Untagged && std::mem::replace(&mut untagged_seen, true) {
                continue;
            }
            let mut r = rule(
                u32::try_from(i).unwrap() * 10 + 1,
                status,
                if status == TagStatus::Tagged {
                    &patterns
                } else {
                    &[]
                },
                keep.then_some(n),
                (!keep).then_some(days),
            );
            r.since = (!keep && pull).then_some(AgeSince::Pull);
            rules.push(r);
        }
        // `any` must be evaluated last: give it the highest priority, keep only one.
        let any_at = rules
            .iter()
            .position(|r| r.select.tag_status == TagStatus::Any);
        rules.retain(|r| r.select.tag_status != TagStatus::Any);
        if let Some(i) = any_at {
            rules.push(rule(
                1000,
                TagStatus::Any,
                &[],
                Some(u32::try_from(i).unwrap() + 1),
                None,
            ));
        }
        rules
    })
}

fn images_strategy() -> impl Strategy<Value = Vec<ImageRecord>> {
    prop::collection::vec(
        (
            prop::sample::subsequence(TAGS.to_vec(), 0..3),
            0i64..120,
            0i64..120,
            0usize..10,
            0i64..120,
        ),
        1..30,
    )
    .prop_map(|raw| {
        let mut seen = HashSet::new();
        raw.into_iter()
            .enumerate()
            .map(|(i, (tags, age, pulled, storage, restored))| {
                let tags: Vec<&str> = tags.into_iter().filter(|t| seen.insert(*t)).collect();
                let mut img = image(i, &tags, age);
                img.last_pull = (pulled % 3 != 0).then(|| now() - Duration::days(pulled));
                if storage == 0 {
                    img.storage = Storage::Archived;
                    img.archived_at = Some(now() - Duration::days(age));
                }
                // Archived once and restored since (after its push).
                if (1..=3).contains(&storage) && restored < age {
                    img.activated_at = Some(now() - Duration::days(restored));
                }
                img
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// With no extra keep configured, janitor expires exactly what ECR's lifecycle evaluation does.
    #[test]
    fn janitor_equals_ecr_when_no_extra_keep_applies(images in images_strategy(), rules in rules_strategy()) {
        let (model, janitor) = both(&images, rules);
        prop_assert_eq!(janitor, model);
    }

    /// With extra keeps (in use, protected tags, quarantine, grace, structure), janitor deletes a
    /// subset of what ECR would: keeps never make another rule select an image.
    #[test]
    fn janitor_deletes_a_subset_of_what_ecr_would(
        images in images_strategy(),
        rules in rules_strategy(),
        used in prop::collection::vec(0usize..30, 0..4),
        grace in 0u32..30,
        indexes in prop::collection::vec((0usize..30, 0usize..30), 0..4),
        referrers in prop::collection::vec((0usize..30, 0usize..30), 0..4),
    ) {
        let n = images.len();
        let ecr: Vec<LifecycleRule> = rules.iter().map(as_ecr).collect();
        let model = ecr_expires(&images, &ecr, now(), AgeReading::FromRestore);
        // Under the other reading ECR expires at least as much: the subset holds under both.
        let from_push = ecr_expires(&images, &ecr, now(), AgeReading::FromPush);
        prop_assert!(model.is_subset(&from_push));
        let mut structure = Structure::default();
        for (index, child) in indexes {
            if index % n != child % n {
                structure.children.entry(digest(index % n)).or_default().push(digest(child % n));
            }
        }
        for (referrer, subject) in referrers {
            if referrer % n != subject % n {
                structure.subjects.insert(digest(referrer % n), digest(subject % n));
            }
        }
        let in_use: InUse = used.into_iter().map(|u| (digest(u % n), "ECS".to_owned())).collect();
        let cleanup = Cleanup {
            rules,
            grace_days: Some(grace),
            protect_tags: vec!["prod-*".into()],
            ..Cleanup::default()
        };
        let plan = plan_repository(&images, &structure, &cleanup, &in_use, "quarantine-", now());
        for d in &plan.delete {
            prop_assert!(model.contains(d), "janitor deletes {d}, which ECR would keep");
        }
    }
}
