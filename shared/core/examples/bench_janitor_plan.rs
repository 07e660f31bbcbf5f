//! `make bench`: janitor's planner at registry scale. Builds a synthetic repository (tagged builds,
//! multi-arch indexes with children, signatures, untagged layers of history), plans it, and prints
//! wall time, peak memory (VmHWM) and the plan's size. Usage: bench_janitor_plan [IMAGES].
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: a panic is a failed run

use std::time::Instant;

use chrono::{DateTime, Duration};
use warden_core::janitor::{ImageRecord, InUse, Storage, Structure, plan_repository};
use warden_core::names::{Digest, Tag};
use warden_core::policy::{AgeSince, Cleanup, CleanupRule, CleanupSelect, TagStatus};

fn digest(i: usize) -> Digest {
    Digest::new(format!("sha256:{i:064x}")).unwrap()
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let now = DateTime::from_timestamp(1_795_000_000, 0).unwrap();
    let before = peak_rss_kib();
    let started = Instant::now();
    let mut images = Vec::with_capacity(n);
    let mut structure = Structure::default();
    let mut in_use = InUse::new();
    for i in 0..n {
        // Every 10th image is an index over the next two (its children); every 50th a signature.
        let tags = match i % 10 {
            0 => vec![Tag::new(format!("build-{i}")).unwrap()],
            3 => vec![],
            4 if i % 50 == 4 => vec![Tag::new(format!("sha256-{:064x}.sig", i - 4)).unwrap()],
            _ => vec![Tag::new(format!("dev-{i}")).unwrap()],
        };
        if i % 10 == 0 && i + 2 < n {
            structure
                .children
                .insert(digest(i), vec![digest(i + 1), digest(i + 2)]);
        }
        if i % 997 == 0 {
            in_use.insert(digest(i), "ECS service bench".into());
        }
        images.push(ImageRecord {
            digest: digest(i),
            tags,
            pushed_at: now - Duration::minutes((n - i) as i64),
            last_pull: None,
            size: 50_000_000,
            storage: Storage::Active,
            archived_at: None,
            activated_at: None,
        });
    }
    for (i, image) in images.iter_mut().enumerate() {
        if i % 10 == 1 || i % 10 == 2 {
            image.tags.clear(); // children are untagged
        }
    }
    let built = started.elapsed();
    let rule =
        |priority, status, tags: &[&str], keep: Option<u32>, days: Option<u32>| CleanupRule {
            priority,
            description: None,
            select: CleanupSelect {
                tag_status: status,
                tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            },
            keep_newest: keep,
            older_than_days: days,
            since: Some(AgeSince::Push),
        };
    let cleanup = Cleanup {
        apply: true,
        grace_days: Some(1),
        rules: vec![
            rule(1, TagStatus::Tagged, &["build-*"], Some(100), None),
            rule(2, TagStatus::Tagged, &["dev-*"], None, Some(7)),
            rule(3, TagStatus::Untagged, &[], None, Some(7)),
        ],
        ..Cleanup::default()
    };
    let planning = Instant::now();
    let plan = plan_repository(&images, &structure, &cleanup, &in_use, "quarantine-", now);
    let planned = planning.elapsed();
    let peak = peak_rss_kib();
    println!(
        "images={n} build_ms={} plan_ms={} delete={} keep={} peak_rss_mib={:.1} (+{:.1} during the run) bytes_per_image={:.0}",
        built.as_millis(),
        planned.as_millis(),
        plan.delete.len(),
        plan.keep.len(),
        peak as f64 / 1024.0,
        peak.saturating_sub(before) as f64 / 1024.0,
        (peak.saturating_sub(before) * 1024) as f64 / n as f64,
    );
}
