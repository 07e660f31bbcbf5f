//! Any repository listing (tags, ages, pulls, storage states, multi-arch indexes, referrers, images
//! in use) under any cleanup rules: janitor's plan never panics and always keeps the safety
//! contract (`warden_core::janitor::safety`).
#![no_main]

use std::collections::HashSet;

use arbitrary::{Result, Unstructured};
use chrono::{DateTime, Duration};
use libfuzzer_sys::fuzz_target;
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
    "quarantine-v1-0a",
    "dev-x",
];
const PATTERNS: &[&str] = &["build-*", "v*", "dev-*", "*", "*-1", "latest"];

fn digest(i: usize) -> Digest {
    Digest::new(format!("sha256:{i:064x}")).expect("a valid digest")
}

fn rule(u: &mut Unstructured) -> Result<CleanupRule> {
    let status = [TagStatus::Tagged, TagStatus::Untagged, TagStatus::Any][u.int_in_range(0..=2)?];
    let tags = if status == TagStatus::Untagged {
        vec![]
    } else {
        (0..u.int_in_range(0..=2)?)
            .map(|_| Ok((*u.choose(PATTERNS)?).to_owned()))
            .collect::<Result<_>>()?
    };
    let keep = u.arbitrary::<bool>()?;
    Ok(CleanupRule {
        priority: u.int_in_range(1..=6)?,
        description: None,
        select: CleanupSelect {
            tag_status: status,
            tags,
        },
        keep_newest: keep.then_some(u.int_in_range(1..=5)?),
        older_than_days: (!keep).then_some(u.int_in_range(1..=90)?),
        since: Some(if u.arbitrary()? {
            AgeSince::Pull
        } else {
            AgeSince::Push
        }),
    })
}

fn listing(u: &mut Unstructured) -> Result<(Vec<ImageRecord>, Structure, InUse, Cleanup)> {
    let now = DateTime::from_timestamp(1_795_000_000, 0).expect("a valid time");
    let n = u.int_in_range(1..=48)?;
    let mut seen = HashSet::new();
    let mut images = Vec::with_capacity(n);
    for i in 0..n {
        let mut tags = Vec::new();
        for _ in 0..u.int_in_range(0..=3)? {
            let t = *u.choose(TAGS)?;
            if seen.insert(t) {
                tags.push(Tag::new(t).expect("a valid tag"));
            }
        }
        let storage = [
            Storage::Active,
            Storage::Active,
            Storage::Archived,
            Storage::Activating,
        ][u.int_in_range(0..=3)?];
        let age = i64::from(u.int_in_range(0u16..=400)?);
        images.push(ImageRecord {
            digest: digest(i),
            tags,
            pushed_at: now - Duration::days(age),
            last_pull: if u.arbitrary()? {
                Some(now - Duration::days(i64::from(u.int_in_range(0u16..=400)?)))
            } else {
                None
            },
            size: u.arbitrary()?,
            storage,
            archived_at: (storage == Storage::Archived).then(|| now - Duration::days(age / 2)),
            activated_at: None,
        });
    }
    let mut structure = Structure::default();
    for _ in 0..u.int_in_range(0..=4)? {
        let index = u.choose_index(n)?;
        let children = (0..u.int_in_range(1..=3)?)
            .map(|_| u.choose_index(n))
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .filter(|c| *c != index)
            .map(digest)
            .collect();
        structure.children.insert(digest(index), children);
    }
    for _ in 0..u.int_in_range(0..=4)? {
        let (referrer, subject) = (u.choose_index(n)?, u.choose_index(n)?);
        if referrer != subject {
            structure.subjects.insert(digest(referrer), digest(subject));
        }
    }
    let mut in_use = InUse::new();
    for _ in 0..u.int_in_range(0..=5)? {
        in_use.insert(digest(u.choose_index(n)?), "ECS service web".to_owned());
    }
    let cleanup = Cleanup {
        apply: true,
        grace_days: Some(u.int_in_range(0..=7)?),
        keep_quarantined: Some(u.arbitrary()?),
        protect_tags: if u.arbitrary()? {
            vec!["prod-*".into()]
        } else {
            vec![]
        },
        allow_digests: if u.arbitrary()? {
            vec![digest(u.choose_index(n)?).to_string()]
        } else {
            vec![]
        },
        ecs_keep_revisions: None,
        keep_pulled_within_days: if u.arbitrary()? {
            Some(u.int_in_range(1..=60)?)
        } else {
            None
        },
        rules: (0..u.int_in_range(0..=4)?)
            .map(|_| rule(u))
            .collect::<Result<_>>()?,
        lifecycle: vec![],
    };
    Ok((images, structure, in_use, cleanup))
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok((images, structure, in_use, cleanup)) = listing(&mut u) else {
        return;
    };
    let now = DateTime::from_timestamp(1_795_000_000, 0).expect("a valid time");
    let plan = plan_repository(&images, &structure, &cleanup, &in_use, "quarantine-", now);
    let broken = violations(
        &plan,
        &images,
        &structure,
        &cleanup,
        &in_use,
        "quarantine-",
        now,
    );
    assert!(broken.is_empty(), "{broken:#?}");
});
