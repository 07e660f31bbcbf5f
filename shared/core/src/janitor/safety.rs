//! The safety contract of a cleanup plan, checked from the outside: whatever the rules select,
//! nothing in use, allowed, protected, quarantined (unless `keep_quarantined: false`), being
//! restored, archived under 90 days, pulled within `keep_pulled_within_days` or younger than the
//! grace period is deleted; no child of a kept index and no referrer of a kept subject is deleted;
//! an index goes before its children. The janitor property test and the fuzzer check every plan
//! they make against it.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};

use super::decide::{ARCHIVE_MINIMUM_DAYS, ImageRecord, InUse, RepositoryPlan, Storage, Structure};
use crate::names::{Digest, wildcard_match};
use crate::policy::Cleanup;

/// Every way `plan` breaks the contract for these inputs (empty: it keeps it).
pub fn violations(
    plan: &RepositoryPlan,
    images: &[ImageRecord],
    structure: &Structure,
    cleanup: &Cleanup,
    in_use: &InUse,
    quarantine_prefix: &str,
    now: DateTime<Utc>,
) -> Vec<String> {
    let mut found = Vec::new();
    let deleted: HashSet<&Digest> = plan.delete.iter().collect();
    let by_digest: HashMap<&Digest, &ImageRecord> = images.iter().map(|i| (&i.digest, i)).collect();
    if deleted.len() != plan.delete.len() {
        found.push("an image is deleted twice".to_owned());
    }
    if plan.delete.len() + plan.keep.len() != by_digest.len() {
        found.push(format!(
            "{} deleted + {} kept for {} images: not every image decided exactly once",
            plan.delete.len(),
            plan.keep.len(),
            by_digest.len()
        ));
    }
    for d in &plan.delete {
        match by_digest.get(d) {
            None => found.push(format!("{d} deleted but not listed")),
            Some(image) => found.extend(
                kept_by_safety(image, cleanup, in_use, quarantine_prefix, now)
                    .into_iter()
                    .map(|why| format!("{d} deleted: {why}")),
            ),
        }
    }
    found.extend(structural_violations(plan, structure, &by_digest, &deleted));
    found
}

/// Why the extra safety keeps this image, if it does (none: it may go).
fn kept_by_safety(
    image: &ImageRecord,
    cleanup: &Cleanup,
    in_use: &InUse,
    quarantine_prefix: &str,
    now: DateTime<Utc>,
) -> Vec<&'static str> {
    let d = &image.digest;
    let mut why = Vec::new();
    let grace = Duration::days(i64::from(cleanup.grace_days.unwrap_or(0)));
    if in_use.contains_key(d) {
        why.push("in use");
    }
    if cleanup.allow_digests.iter().any(|a| a == d.as_str()) {
        why.push("allowed by digest");
    }
    let tags = || image.tags.iter().map(|t| t.as_str());
    if tags().any(|t| cleanup.protect_tags.iter().any(|p| wildcard_match(p, t))) {
        why.push("protected tag");
    }
    if cleanup.keep_quarantined.unwrap_or(true) && tags().any(|t| t.starts_with(quarantine_prefix))
    {
        why.push("quarantined");
    }
    if image.storage == Storage::Activating {
        why.push("being restored");
    }
    if image.storage == Storage::Archived
        && image
            .archived_at
            .is_none_or(|a| now - a < Duration::days(ARCHIVE_MINIMUM_DAYS))
    {
        why.push("archived less than 90 days ago");
    }
    if let (Some(days), Some(pulled)) = (cleanup.keep_pulled_within_days, image.last_pull)
        && now - pulled <= Duration::days(i64::from(days))
    {
        why.push("pulled recently");
    }
    if now - super::decide::push_clock(image) < grace {
        why.push("inside the grace period");
    }
    why
}

/// What the deletions break of the registry's structure: a child of a kept index, an index
/// deleted after its child, a referrer of a kept subject.
fn structural_violations(
    plan: &RepositoryPlan,
    structure: &Structure,
    by_digest: &HashMap<&Digest, &ImageRecord>,
    deleted: &HashSet<&Digest>,
) -> Vec<String> {
    let mut found = Vec::new();
    for (index, children) in &structure.children {
        let index_kept = by_digest.contains_key(index) && !deleted.contains(index);
        let index_at = plan.delete.iter().position(|d| d == index);
        for child in children {
            if index_kept && deleted.contains(child) {
                found.push(format!("{child} deleted: child of kept index {index}"));
            }
            let child_at = plan.delete.iter().position(|d| d == child);
            if let (Some(at), Some(child_at)) = (index_at, child_at) {
                if at > child_at && !structure.children.contains_key(child) {
                    found.push(format!("index {index} deleted after its child {child}"));
                }
            }
        }
    }
    for (referrer, subject) in &structure.subjects {
        if by_digest.contains_key(subject)
            && !deleted.contains(subject)
            && deleted.contains(referrer)
        {
            found.push(format!("{referrer} deleted: referrer of kept {subject}"));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::janitor::plan_repository;
    use crate::names::Tag;

    #[test]
    fn a_plan_that_deletes_what_runs_or_a_kept_index_child_is_caught() {
        let now = DateTime::from_timestamp(1_795_000_000, 0).unwrap();
        let d = |i: u8| Digest::new(format!("sha256:{i:064x}")).unwrap();
        let image = |i: u8, tag: Option<&str>| ImageRecord {
            digest: d(i),
            tags: tag.map(|t| Tag::new(t).unwrap()).into_iter().collect(),
            pushed_at: now - Duration::days(30),
            last_pull: None,
            size: 1,
            storage: Storage::Active,
            archived_at: None,
            activated_at: None,
        };
        let images = vec![
            image(1, Some("build-1")),
            image(2, Some("build-2")),
            image(3, None),
        ];
        let mut structure = Structure::default();
        structure.children.insert(d(2), vec![d(3)]);
        let in_use: InUse = [(d(1), "ECS service web".to_owned())].into();
        let cleanup = Cleanup::default();
        let honest = plan_repository(&images, &structure, &cleanup, &in_use, "quarantine-", now);
        assert!(
            violations(
                &honest,
                &images,
                &structure,
                &cleanup,
                &in_use,
                "quarantine-",
                now
            )
            .is_empty()
        );
        let mut reckless = honest.clone();
        reckless.keep.clear();
        reckless.delete = vec![d(3), d(1), d(2)];
        let found = violations(
            &reckless,
            &images,
            &structure,
            &cleanup,
            &in_use,
            "quarantine-",
            now,
        );
        assert!(found.iter().any(|v| v.contains("in use")), "{found:?}");
        assert!(
            found.iter().any(|v| v.contains("deleted after its child")),
            "{found:?}"
        );
    }
}
