//! What scan-gate evaluates: the image an event (or `warden gate`) is about, and where its
//! verdict's evidence comes from.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::event::{Detail, Event, ImageAction, InspectorFinding};
use crate::manifest::INDEX_TYPES;
use crate::names::{Digest, RepositoryName, Tag, repository_from_name_or_arn};
use crate::severity::SeverityCounts;

/// Where the verdict's input comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum Source {
    /// A finished scan with its counts (basic, or Inspector's first scan when `enhanced`).
    Counts {
        counts: SeverityCounts,
        enhanced: bool,
    },
    /// A finished basic scan whose counts ECR left out (AWS does not say a scan that found nothing
    /// reports `{}`: docs/emulator.md, `scan_no_findings_counts`): the whole findings listing
    /// decides, never the absence of counts.
    Unlisted,
    /// A scan that did not finish (`FAILED`, `UNSUPPORTED_IMAGE`, ...).
    ScanFailed { status: String },
    /// An Inspector finding changed: the image's current ACTIVE findings decide.
    InspectorFindings,
    /// A tag was pushed onto the image: no new evidence, the recorded verdict decides whether the
    /// tag is taken away (a tag added to a FAIL image is quarantined like the others). An index
    /// with no verdict recorded takes its platform images' recorded verdicts. `index`: whether the
    /// push's `manifest-media-type` is an image index; `None` when the event does not say (AWS's
    /// example of an image push carries none: the manifest is read to know).
    Pushed { index: Option<bool> },
}

/// The image a verdict is about.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Subject {
    pub repository: RepositoryName,
    pub digest: Digest,
    pub tags: Vec<Tag>,
    pub source: Source,
    /// When the evidence was produced: the event's time (a scan's completion, a finding's
    /// change). `None`: unknown, and the evaluation's own time stands in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_at: Option<DateTime<Utc>>,
}

/// What an event asks scan-gate to evaluate, or why nothing.
pub fn subject(event: &Event) -> Result<Subject, String> {
    let mut subject = event_subject(event)?;
    subject.observed_at = event.envelope.time.as_ref().and_then(|t| t.at);
    Ok(subject)
}

fn event_subject(event: &Event) -> Result<Subject, String> {
    match &event.detail {
        Detail::BasicScan(scan) => Ok(Subject {
            repository: scan.repository_name.clone(),
            digest: scan.image_digest.clone(),
            tags: scan.image_tags.clone(),
            source: match (&scan.finding_severity_counts, scan.scan_status.as_str()) {
                (Some(counts), "COMPLETE") => Source::Counts {
                    counts: counts.clone(),
                    enhanced: false,
                },
                (None, "COMPLETE") => Source::Unlisted,
                _ => Source::ScanFailed {
                    status: scan.scan_status.clone(),
                },
            },
            observed_at: None,
        }),
        Detail::InspectorScan(scan) => Ok(Subject {
            repository: scan.repository().map_err(|e| e.to_string())?,
            digest: scan.image_digest.clone(),
            tags: scan.image_tags.clone(),
            source: if matches!(
                scan.scan_status.as_str(),
                "INITIAL_SCAN_COMPLETE" | "COMPLETE" | "ACTIVE"
            ) {
                Source::Counts {
                    counts: scan.finding_severity_counts.clone(),
                    enhanced: true,
                }
            } else {
                Source::ScanFailed {
                    status: scan.scan_status.clone(),
                }
            },
            observed_at: None,
        }),
        Detail::InspectorFinding(finding) => finding_subject(finding),
        Detail::ImagePush(push) => push_subject(push),
        other => Err(format!("{} events are not scan-gate's", other.kind())),
    }
}

/// The image a pushed cosign signature signs: a successful push tagged `sha256-<hex>.sig` (cosign's
/// signature tag for the image `sha256:<hex>` in the same repository). `None` for any other event.
pub fn signature_push(event: &Event) -> Option<(RepositoryName, Digest)> {
    let Detail::ImagePush(push) = &event.detail else {
        return None;
    };
    let tag = push.image_tag.as_ref()?;
    let hex = tag.as_str().strip_prefix("sha256-")?.strip_suffix(".sig")?;
    let digest = Digest::new(format!("sha256:{hex}")).ok()?;
    push.succeeded()
        .then(|| (push.repository_name.clone(), digest))
}

/// A manifest that may be a referrer (a Notation signature pushed with the OCI 1.1 referrers
/// API) arrived: its digest, and whether ECR's event may name the subject itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferrerArrival {
    pub repository: RepositoryName,
    pub digest: Digest,
    /// `ECR Referrer Action`: AWS does not say whether `image-digest` is the referrer's or its
    /// subject's, so both are read.
    pub may_name_subject: bool,
}

/// A successful `ECR Referrer Action` PUSH, or a successful untagged `ECR Image Action` PUSH
/// (how a referrer arrives by the image events). `None` for any other event.
pub fn referrer_arrival(event: &Event) -> Option<ReferrerArrival> {
    match &event.detail {
        Detail::Referrer(r)
            if r.action_type == "PUSH" && r.result.as_deref().is_none_or(|v| v == "SUCCESS") =>
        {
            Some(ReferrerArrival {
                repository: r.repository_name.clone(),
                digest: r.image_digest.clone(),
                may_name_subject: true,
            })
        }
        Detail::ImagePush(push) if push.image_tag.is_none() && push.succeeded() => {
            Some(ReferrerArrival {
                repository: push.repository_name.clone(),
                digest: push.image_digest.clone(),
                may_name_subject: false,
            })
        }
        _ => None,
    }
}

/// A tag pushed onto an image (a failed or untagged push names none to take away).
fn push_subject(push: &ImageAction) -> Result<Subject, String> {
    if !push.succeeded() {
        return Err("a failed push: nothing was tagged".to_owned());
    }
    let tag = push
        .image_tag
        .clone()
        .ok_or("an untagged push: no tag to take away")?;
    Ok(Subject {
        repository: push.repository_name.clone(),
        digest: push.image_digest.clone(),
        tags: vec![tag],
        source: Source::Pushed {
            index: push
                .manifest_media_type
                .as_deref()
                .map(|t| INDEX_TYPES.contains(&t)),
        },
        observed_at: None,
    })
}

fn finding_subject(finding: &InspectorFinding) -> Result<Subject, String> {
    let image = finding
        .ecr_image()
        .ok_or("the finding is not about an ECR image")?;
    Ok(Subject {
        repository: repository_from_name_or_arn(&image.repository_name)
            .map_err(|e| e.to_string())?,
        digest: image.image_hash.clone(),
        tags: image.image_tags.clone(),
        source: Source::InspectorFindings,
        observed_at: None,
    })
}

/// An existing image to evaluate now (`warden gate`), from its scan status as DescribeImages
/// reports it: basic scanning's `COMPLETE` decides from its counts, enhanced scanning's `ACTIVE`
/// from the image's current Inspector findings, a scan that cannot finish (`FAILED`,
/// `UNSUPPORTED_IMAGE`, `SCAN_ELIGIBILITY_EXPIRED`, `FINDINGS_UNAVAILABLE`, …) is a scan failure,
/// and one still running or never made gives no verdict yet (`Err`, saying so). `observed_at`: the
/// scan's completion, when DescribeImages gives it.
pub fn image_subject(
    repository: RepositoryName,
    digest: Digest,
    tags: Vec<Tag>,
    scan_status: Option<&str>,
    counts: Option<SeverityCounts>,
    observed_at: Option<DateTime<Utc>>,
) -> Result<Subject, String> {
    let source = match scan_status {
        None => {
            return Err(format!(
                "{repository}@{}: never scanned: no verdict yet (start a scan, or enable scan on push)",
                digest.short()
            ));
        }
        Some(status @ ("IN_PROGRESS" | "PENDING")) => {
            return Err(format!(
                "{repository}@{}: scan {status}: no verdict yet",
                digest.short()
            ));
        }
        Some("COMPLETE") => match counts {
            Some(counts) => Source::Counts {
                counts,
                enhanced: false,
            },
            None => Source::Unlisted,
        },
        Some("ACTIVE") => Source::InspectorFindings,
        Some(other) => Source::ScanFailed {
            status: other.to_owned(),
        },
    };
    Ok(Subject {
        repository,
        digest,
        tags,
        source,
        observed_at,
    })
}
