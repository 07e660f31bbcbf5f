//! The cleanup plan for one repository: which images go, which stay and why.
//!
//! Semantics (docs/janitor.md), in two layers that never mix:
//! 1. **ECR's lifecycle evaluation** ([`rule_claims`]), exactly as AWS documents it: rules in
//!    priority order; a `tagged` rule selects an image when each of its patterns matches one of the
//!    image's tags (one matching tag is enough), `untagged` images without tags, `any` everything;
//!    every rule *identifies* all the images it selects (so images a higher rule matched still count
//!    towards `keep_newest`), but an image that a higher-priority rule matched can never be expired
//!    by a lower one. `keep_newest: N` expires what is beyond the N most recently pushed;
//!    `older_than_days: D` expires what is older (since push, or since the last recorded pull with
//!    `since: pull`). Images no rule matches are kept. Only ACTIVE (standard storage class) images
//!    are selected, as ECR's expiry rules do by default.
//! 2. **Extra keeps** on top, which only ever turn an "expire" into a "keep" (they never change
//!    which rule decides an image): in use (ECS, Lambda, by digest or by tag), pulled within
//!    `keep_pulled_within_days` (EKS, EC2, Batch and other accounts pull too), the allowlist,
//!    protected tags, quarantined images (unless `keep_quarantined: false`), younger than the grace
//!    period, archived less than 90 days ago (early deletion is billed for 90 days), ACTIVATING;
//!    and structure, to a fixed point: a kept index keeps its children, a kept subject keeps its
//!    referrers (signatures, SBOMs, attestations). Deletion order: indexes, images, referrers.
//!
//! So janitor deletes a subset of what ECR's own lifecycle policy would, and exactly that when no
//! extra keep applies (property-tested against a reference model in `tests/`).

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::names::{Digest, Tag, wildcard_match};
use crate::policy::{AgeSince, Cleanup, CleanupRule, TagStatus};

pub const FUNCTION: &str = "janitor";
/// ECS task definition revisions kept per family when the policy does not say.
pub const DEFAULT_KEEP_REVISIONS: u32 = 5;

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
    /// When the image was last restored from archive (`lastActivatedAt`): AWS then uses it
    /// "instead of `pushed_at_time`" ([`push_clock`]).
    pub activated_at: Option<DateTime<Utc>>,
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

/// ECR's tag selection ("lifecycle policy evaluation rules"): `untagged` selects images without
/// tags; `any` selects every image; `tagged` with a pattern list selects an image when *each*
/// pattern matches at least one of its tags — one matching tag is enough for a one-pattern rule,
/// whatever other tags the image carries. Patterns use ECR's wildcard (`*` only). Only images in
/// the standard storage class (ACTIVE) are selected: ECR's default `storageClass` for expiry rules.
pub fn selects(rule: &CleanupRule, image: &ImageRecord) -> bool {
    if image.storage != Storage::Active {
        return false;
    }
    let tagged = !image.tags.is_empty();
    match rule.select.tag_status {
        TagStatus::Untagged => !tagged,
        TagStatus::Any => true,
        TagStatus::Tagged => {
            tagged
                && rule.select.tags.iter().all(|pattern| {
                    image
                        .tags
                        .iter()
                        .any(|t| wildcard_match(pattern, t.as_str()))
                })
        }
    }
}

/// The time ECR's lifecycle evaluation counts an image's age and order from. AWS ("Lifecycle
/// policy evaluation rules"): "Expiration is always ordered by `pushed_at_time` … If an image was
/// archived and then restored at any point in the past, the image's `last_activated_at` is used
/// instead of `pushed_at_time`." Whether that also holds for a `sinceImagePushed` age the page
/// leaves open (its `sinceImagePushed` bullet names `pushed_at_time` only); janitor counts ages
/// from this time too — the reading that deletes less (docs/janitor.md, "Restored images").
pub fn push_clock(image: &ImageRecord) -> DateTime<Utc> {
    match image.activated_at {
        Some(activated) => activated.max(image.pushed_at),
        None => image.pushed_at,
    }
}

/// The time a `since: pull` age counts from, in AWS's words for `sinceImagePulled`: the last
/// recorded pull; "if an image was never pulled, the image's `pushed_at_time` is used"; "if an
/// image was archived and then restored at any point in the past, but never pulled since the
/// image was restored, the image's `last_activated_at` is used".
pub fn pull_clock(image: &ImageRecord) -> DateTime<Utc> {
    match (image.last_pull, image.activated_at) {
        (Some(pulled), Some(activated)) if pulled < activated => activated,
        (Some(pulled), _) => pulled,
        (None, Some(activated)) => activated,
        (None, None) => image.pushed_at,
    }
}

/// Newest first by [`push_clock`] (ECR expires older images before newer ones; AWS leaves ties
/// unspecified, ecr-warden breaks them by digest).
fn newest_first(a: &ImageRecord, b: &ImageRecord) -> std::cmp::Ordering {
    push_clock(b)
        .cmp(&push_clock(a))
        .then(a.digest.cmp(&b.digest))
}

/// The rule that decided an image, and whether it expires it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleClaim {
    pub priority: u32,
    pub expire: bool,
    pub reason: String,
}

/// What the rules alone decide, exactly as ECR's lifecycle evaluator would: rules in priority
/// order; each *identifies* every image its tag selection matches (images matched by a higher
/// rule included, so they count towards `keep_newest`), but an image is decided only by the first
/// rule that matches it — a lower-priority rule can never expire it. Images no rule matches are
/// absent from the result (kept).
pub fn rule_claims<'a>(
    images: &'a [ImageRecord],
    rules: &[CleanupRule],
    now: DateTime<Utc>,
) -> HashMap<&'a Digest, RuleClaim> {
    let mut sorted: Vec<&CleanupRule> = rules.iter().collect();
    sorted.sort_by_key(|r| r.priority);
    let mut claims: HashMap<&Digest, RuleClaim> = HashMap::new();
    for rule in sorted {
        let mut identified: Vec<&ImageRecord> =
            images.iter().filter(|i| selects(rule, i)).collect();
        identified.sort_by(|a, b| newest_first(a, b));
        for (rank, image) in identified.iter().enumerate() {
            if claims.contains_key(&image.digest) {
                continue;
            }
            let (expire, why) = match (rule.keep_newest, rule.older_than_days) {
                (Some(n), _) if rank < n as usize => (false, format!("among the newest {n}")),
                (Some(n), _) => (true, format!("beyond the newest {n}")),
                (None, Some(days)) => {
                    let since = match rule.since {
                        Some(AgeSince::Pull) => pull_clock(image),
                        _ => push_clock(image),
                    };
                    if now - since > Duration::days(i64::from(days)) {
                        (true, format!("older than {days} days"))
                    } else {
                        (false, format!("not older than {days} days"))
                    }
                }
                (None, None) => (false, "no action".to_owned()),
            };
            claims.insert(
                &image.digest,
                RuleClaim {
                    priority: rule.priority,
                    expire,
                    reason: format!("rule {}: {why}", rule.priority),
                },
            );
        }
    }
    claims
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

/// Plan one repository's cleanup: ECR's lifecycle decision ([`rule_claims`]), then keeps on top
/// of it — hard keeps and structure only ever move an image from "expire" to "keep".
pub fn plan_repository(
    images: &[ImageRecord],
    structure: &Structure,
    cleanup: &Cleanup,
    in_use: &InUse,
    quarantine_prefix: &str,
    now: DateTime<Utc>,
) -> RepositoryPlan {
    // 1. What ECR's rules would expire.
    let claims = rule_claims(images, &cleanup.rules, now);

    // 2. Hard keeps: only ever subtract from what the rules expire.
    let hard = HardKeeps::new(cleanup, in_use, quarantine_prefix, now);
    let (mut kept, mut expired) = keep_or_expire(images, &claims, &hard);

    // 3. Structure, to a fixed point: a kept index keeps its children (ECR refuses to delete an
    //    image an index still names), a kept subject keeps its referrers.
    keep_structure(images, structure, &mut kept, &mut expired);

    repository_plan(images, structure, &expired, kept)
}

/// What keeps an image whatever the rules say, read once from the cleanup section.
struct HardKeeps<'a> {
    cleanup: &'a Cleanup,
    in_use: &'a InUse,
    protect: Vec<&'a str>,
    allow: HashSet<&'a str>,
    grace: Duration,
    keep_quarantined: bool,
    quarantine_prefix: &'a str,
    now: DateTime<Utc>,
}

impl<'a> HardKeeps<'a> {
    /// The hard keeps of `cleanup`, what is in use and the quarantine prefix.
    fn new(
        cleanup: &'a Cleanup,
        in_use: &'a InUse,
        quarantine_prefix: &'a str,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            cleanup,
            in_use,
            protect: cleanup.protect_tags.iter().map(String::as_str).collect(),
            allow: cleanup.allow_digests.iter().map(String::as_str).collect(),
            grace: Duration::days(i64::from(cleanup.grace_days.unwrap_or(0))),
            keep_quarantined: cleanup.keep_quarantined.unwrap_or(true),
            quarantine_prefix,
            now,
        }
    }

    /// Why the image is kept whatever the rules say; `None`: nothing keeps it.
    fn reason(&self, image: &ImageRecord) -> Option<String> {
        let (now, grace) = (self.now, self.grace);
        let d = &image.digest;
        if image.storage == Storage::Activating {
            Some("being restored from archive (ACTIVATING)".to_owned())
        } else if image.storage == Storage::Archived
            && image
                .archived_at
                .is_none_or(|at| now - at < Duration::days(ARCHIVE_MINIMUM_DAYS))
        {
            Some(format!(
                "archived less than {ARCHIVE_MINIMUM_DAYS} days ago (early deletion is billed)"
            ))
        } else if let Some(reason) = self.in_use.get(d) {
            Some(format!("in use: {reason}"))
        } else if let Some(pulled) = image.last_pull.filter(|at| {
            self.cleanup
                .keep_pulled_within_days
                .is_some_and(|days| now - *at <= Duration::days(i64::from(days)))
        }) {
            Some(format!(
                "pulled {} days ago (lastRecordedPullTime)",
                (now - pulled).num_days()
            ))
        } else if self.allow.contains(d.as_str()) {
            Some("allowlisted by digest".to_owned())
        } else if let Some(t) = image
            .tags
            .iter()
            .find(|t| self.protect.iter().any(|p| wildcard_match(p, t.as_str())))
        {
            Some(format!("protected tag {t}"))
        } else if self.keep_quarantined
            && image
                .tags
                .iter()
                .any(|t| t.as_str().starts_with(self.quarantine_prefix))
        {
            Some("quarantined (kept for forensics)".to_owned())
        } else if now - push_clock(image) < grace {
            Some(format!(
                "younger than the {}-day grace period",
                grace.num_days()
            ))
        } else {
            None
        }
    }
}

/// Each image kept, with its reason, or expired: by its rule, unless a hard keep applies.
fn keep_or_expire<'i>(
    images: &'i [ImageRecord],
    claims: &HashMap<&Digest, RuleClaim>,
    hard: &HardKeeps<'_>,
) -> (HashMap<&'i Digest, String>, HashSet<&'i Digest>) {
    let mut kept: HashMap<&Digest, String> = HashMap::new();
    let mut expired: HashSet<&Digest> = HashSet::new();
    for image in images {
        let d = &image.digest;
        match claims.get(d) {
            Some(claim) if claim.expire => match hard.reason(image) {
                Some(reason) => {
                    kept.insert(d, reason);
                }
                None => {
                    expired.insert(d);
                }
            },
            Some(claim) => {
                kept.insert(d, claim.reason.clone());
            }
            None => {
                kept.insert(d, "no rule selects it".to_owned());
            }
        }
    }
    (kept, expired)
}

/// Keep the expired children of kept indexes and referrers of kept images, to a fixed point.
fn keep_structure<'i>(
    images: &'i [ImageRecord],
    structure: &Structure,
    kept: &mut HashMap<&'i Digest, String>,
    expired: &mut HashSet<&'i Digest>,
) {
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
    loop {
        let rescued: Vec<(&Digest, String)> = expired
            .iter()
            .filter_map(|d| {
                let parent = parents
                    .get(*d)
                    .and_then(|ps| ps.iter().find(|p| kept.contains_key(**p)));
                if let Some(p) = parent {
                    return Some((*d, format!("child of kept index {p}")));
                }
                subject_of(d)
                    .filter(|s| kept.contains_key(s))
                    .map(|s| (*d, format!("referrer of kept image {s}")))
            })
            .collect();
        if rescued.is_empty() {
            break;
        }
        for (d, reason) in rescued {
            expired.remove(d);
            kept.insert(d, reason);
        }
    }
}

/// The plan: deletions in [`deletion_group`] order, oldest first; each keep with its reason.
fn repository_plan(
    images: &[ImageRecord],
    structure: &Structure,
    expired: &HashSet<&Digest>,
    kept: HashMap<&Digest, String>,
) -> RepositoryPlan {
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
        // Sizes come from ECR; a sum that cannot be represented says "at least this much".
        bytes_freed: delete.iter().map(|i| i.size).fold(0, u64::saturating_add),
        delete: delete.into_iter().map(|i| i.digest.clone()).collect(),
        keep: kept.into_iter().map(|(d, r)| (d.clone(), r)).collect(),
    }
}
