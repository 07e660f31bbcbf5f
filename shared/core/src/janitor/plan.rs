//! The cleanup plan for one repository: which images go, which stay and why.
//!
//! Semantics (docs/janitor.md):
//! 1. **Hard keeps** win over every rule: images in use (ECS, Lambda, by digest or by tag), the
//!    allowlist, protected tags, quarantined images (unless `keep_quarantined: false`), images
//!    younger than the grace period, archived images younger than 90 days (early deletion is billed
//!    for 90 days) and images being restored (ACTIVATING).
//! 2. **Rules** in priority order, as ECR lifecycle policies: the first rule that *selects* an image
//!    decides it, and no later rule sees it. A rule with tag patterns selects a tagged image only if
//!    *every* one of its tags matches: an image tagged `latest` and `build-7` is not a `build-*`
//!    rule's to delete. `keep_newest: N` keeps the N most recently pushed images it selects and
//!    expires the rest (counting protected ones, as ECR would); `older_than_days: D` expires what it
//!    selects that is older (since push, or since the last recorded pull with `since: pull`).
//!    Images no rule selects are kept.
//! 3. **Structure**: a kept index keeps all its children; an untagged child goes with its indexes
//!    once all of them go; a referrer (signature, SBOM, attestation) stays while its subject stays
//!    and goes with it. Deletion order: indexes, then images, then referrers.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Serialize;

use crate::names::{Digest, Tag};
use crate::policy::{AgeSince, Cleanup, CleanupRule, TagStatus};

/// ECR bills an archived image for 90 days whenever it is deleted.
pub const ARCHIVE_MINIMUM_DAYS: i64 = 90;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Storage {
    Active,
    Archived,
    Activating,
}

/// One image as listed (kept small: repositories hold up to 100,000 of them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageRecord {
    pub digest: Digest,
    pub tags: Vec<Tag>,
    pub pushed_at: DateTime<Utc>,
    pub last_pull: Option<DateTime<Utc>>,
    pub size: u64,
    pub storage: Storage,
    pub archived_at: Option<DateTime<Utc>>,
}

/// How images refer to each other, read from manifests: index → children, referrer → subject.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Structure {
    pub children: HashMap<Digest, Vec<Digest>>,
    pub subjects: HashMap<Digest, Digest>,
}

/// What must be kept whatever the rules say, by digest, with the reason (built once per run).
pub type InUse = HashMap<Digest, String>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RepositoryPlan {
    /// Digests to delete, in order: indexes, images, referrers.
    pub delete: Vec<Digest>,
    /// Every kept image with its reason.
    pub keep: BTreeMap<Digest, String>,
    pub bytes_freed: u64,
}

impl RepositoryPlan {
    /// Kept images counted per reason (the reason's general form, without digests).
    pub fn kept_because(&self) -> Vec<(String, u64)> {
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        for reason in self.keep.values() {
            let general = reason.split(" sha256:").next().unwrap_or(reason).to_owned();
            *counts.entry(general).or_default() += 1;
        }
        let mut list: Vec<(String, u64)> = counts.into_iter().collect();
        list.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        list
    }
}

fn globs(patterns: &[String]) -> GlobSet {
    let mut set = GlobSetBuilder::new();
    for p in patterns {
        if let Ok(g) = Glob::new(p) {
            set.add(g);
        }
    }
    set.build().unwrap_or_else(|_| GlobSet::empty())
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Base {
    /// Kept whatever else happens.
    Hard(String),
    Keep(String),
    Expire(String),
    /// No tag and hangs off another image: follows it.
    Follow,
}

fn selects(rule: &CleanupRule, patterns: &GlobSet, image: &ImageRecord) -> bool {
    let tagged = !image.tags.is_empty();
    let tags_match = rule.select.tags.is_empty()
        || (tagged && image.tags.iter().all(|t| patterns.is_match(t.as_str())));
    match rule.select.tag_status {
        TagStatus::Untagged => !tagged,
        TagStatus::Tagged => tagged && tags_match,
        TagStatus::Any => !tagged || tags_match,
    }
}

/// Which deletion group an image belongs to: 0 indexes, 1 images, 2 referrers. Plans list
/// deletions in this order and the executor deletes group by group, so an index goes before its
/// children and a referrer after its subject.
pub fn deletion_group(structure: &Structure, digest: &Digest) -> u8 {
    if structure.children.contains_key(digest) {
        0
    } else if structure.subjects.contains_key(digest) {
        2
    } else {
        1
    }
}

/// Plan one repository's cleanup.
pub fn plan_repository(
    images: &[ImageRecord],
    structure: &Structure,
    cleanup: &Cleanup,
    in_use: &InUse,
    quarantine_prefix: &str,
    now: DateTime<Utc>,
) -> RepositoryPlan {
    let protect = globs(&cleanup.protect_tags);
    let allow: HashSet<&str> = cleanup.allow_digests.iter().map(String::as_str).collect();
    let grace = Duration::days(i64::from(cleanup.grace_days.unwrap_or(0)));
    let keep_quarantined = cleanup.keep_quarantined.unwrap_or(true);
    let present: HashSet<&Digest> = images.iter().map(|i| &i.digest).collect();
    let mut parents: HashMap<&Digest, Vec<&Digest>> = HashMap::new();
    for (index, children) in &structure.children {
        if present.contains(index) {
            for child in children {
                parents.entry(child).or_default().push(index);
            }
        }
    }
    let subject_of = |d: &Digest| structure.subjects.get(d).filter(|s| present.contains(s));

    // 1. Hard keeps, and what hangs off other images.
    let mut base: HashMap<&Digest, Base> = HashMap::new();
    for image in images {
        let d = &image.digest;
        let hard = if image.storage == Storage::Activating {
            Some("being restored from archive (ACTIVATING)".to_owned())
        } else if image.storage == Storage::Archived
            && image
                .archived_at
                .is_none_or(|at| now - at < Duration::days(ARCHIVE_MINIMUM_DAYS))
        {
            Some(format!(
                "archived less than {ARCHIVE_MINIMUM_DAYS} days ago (early deletion is billed)"
            ))
        } else if let Some(reason) = in_use.get(d) {
            Some(format!("in use: {reason}"))
        } else if allow.contains(d.as_str()) {
            Some("allowlisted by digest".to_owned())
        } else if let Some(t) = image.tags.iter().find(|t| protect.is_match(t.as_str())) {
            Some(format!("protected tag {t}"))
        } else if keep_quarantined
            && image
                .tags
                .iter()
                .any(|t| t.as_str().starts_with(quarantine_prefix))
        {
            Some("quarantined (kept for forensics)".to_owned())
        } else if now - image.pushed_at < grace {
            Some(format!(
                "younger than the {}-day grace period",
                grace.num_days()
            ))
        } else {
            None
        };
        // Untagged children follow their indexes; referrers follow their subject, tagged or not
        // (cosign tags its signatures `sha256-<digest>.sig`).
        let hangs = (image.tags.is_empty() && parents.contains_key(d)) || subject_of(d).is_some();
        base.insert(
            d,
            match (hard, hangs) {
                (Some(r), _) => Base::Hard(r),
                (None, true) => Base::Follow,
                (None, false) => Base::Keep("no rule selects it".to_owned()),
            },
        );
    }

    // 2. Rules, in priority order, over images not yet hanging off others.
    let mut rules: Vec<&CleanupRule> = cleanup.rules.iter().collect();
    rules.sort_by_key(|r| r.priority);
    let mut decided: HashSet<&Digest> = HashSet::new();
    for rule in rules {
        let patterns = globs(&rule.select.tags);
        let mut selected: Vec<&ImageRecord> = images
            .iter()
            .filter(|i| {
                !decided.contains(&i.digest)
                    && base.get(&i.digest) != Some(&Base::Follow)
                    && selects(rule, &patterns, i)
            })
            .collect();
        selected.sort_by(|a, b| b.pushed_at.cmp(&a.pushed_at).then(a.digest.cmp(&b.digest)));
        for (rank, image) in selected.iter().enumerate() {
            decided.insert(&image.digest);
            let verdict = match (rule.keep_newest, rule.older_than_days) {
                (Some(n), _) if rank < n as usize => {
                    Base::Keep(format!("rule {}: among the newest {n}", rule.priority))
                }
                (Some(n), _) => {
                    Base::Expire(format!("rule {}: beyond the newest {n}", rule.priority))
                }
                (None, Some(days)) => {
                    let since = match rule.since {
                        Some(AgeSince::Pull) => image.last_pull.unwrap_or(image.pushed_at),
                        _ => image.pushed_at,
                    };
                    if now - since > Duration::days(i64::from(days)) {
                        Base::Expire(format!("rule {}: older than {days} days", rule.priority))
                    } else {
                        Base::Keep(format!(
                            "rule {}: not older than {days} days",
                            rule.priority
                        ))
                    }
                }
                (None, None) => Base::Keep(format!("rule {}: no action", rule.priority)),
            };
            if let Some(slot) = base.get_mut(&image.digest) {
                if !matches!(slot, Base::Hard(_)) {
                    *slot = verdict;
                }
            }
        }
    }

    // 3. Structure, to a fixed point: kept parents keep; children and referrers follow.
    let mut kept: HashMap<&Digest, String> = HashMap::new();
    let mut expired: HashSet<&Digest> = HashSet::new();
    for (d, b) in &base {
        match b {
            Base::Hard(r) | Base::Keep(r) => {
                kept.insert(d, r.clone());
            }
            Base::Expire(_) => {
                expired.insert(d);
            }
            Base::Follow => {}
        }
    }
    loop {
        // Propagate to a fixed point.
        loop {
            let mut changed = false;
            for image in images {
                let d = &image.digest;
                if kept.contains_key(d)
                    && !matches!(base.get(d), Some(Base::Expire(_)) | Some(Base::Follow))
                {
                    continue;
                }
                // Kept by a kept index or a kept subject.
                let kept_parent = parents
                    .get(d)
                    .and_then(|ps| ps.iter().find(|p| kept.contains_key(**p)));
                let kept_subject = subject_of(d).filter(|s| kept.contains_key(s));
                let keep_reason = kept_parent
                    .map(|p| format!("child of kept index {p}"))
                    .or_else(|| kept_subject.map(|s| format!("referrer of kept image {s}")));
                if let Some(reason) = keep_reason {
                    if !kept.contains_key(d) {
                        expired.remove(d);
                        kept.insert(d, reason);
                        changed = true;
                    }
                    continue;
                }
                if kept.contains_key(d) {
                    continue;
                }
                // Goes with its parents once all of them go, or with its subject.
                let parents_gone = parents
                    .get(d)
                    .is_some_and(|ps| ps.iter().all(|p| expired.contains(*p)));
                let subject_gone = subject_of(d).is_some_and(|s| expired.contains(s));
                if (parents_gone || subject_gone || matches!(base.get(d), Some(Base::Expire(_))))
                    && expired.insert(d)
                {
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        // What is still undecided hangs off something undecided: it stays, and what hangs off it
        // must then stay too — so propagate again.
        let undecided: Vec<&Digest> = images
            .iter()
            .map(|i| &i.digest)
            .filter(|d| !kept.contains_key(d) && !expired.contains(d))
            .collect();
        if undecided.is_empty() {
            break;
        }
        for d in undecided {
            kept.insert(d, "attached to an image that stays".to_owned());
        }
    }

    let mut delete: Vec<&ImageRecord> = images
        .iter()
        .filter(|i| expired.contains(&i.digest))
        .collect();
    delete.sort_by(|a, b| {
        deletion_group(structure, &a.digest)
            .cmp(&deletion_group(structure, &b.digest))
            .then(a.pushed_at.cmp(&b.pushed_at))
            .then(a.digest.cmp(&b.digest))
    });
    RepositoryPlan {
        bytes_freed: delete.iter().map(|i| i.size).sum(),
        delete: delete.into_iter().map(|i| i.digest.clone()).collect(),
        keep: kept.into_iter().map(|(d, r)| (d.clone(), r)).collect(),
    }
}
