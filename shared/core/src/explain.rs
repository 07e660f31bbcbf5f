//! `warden explain`: what an incoming payload is, as one JSON object. Later decisions add what each
//! function would do with it.

use serde_json::{Map, Value, json};

use crate::event::{
    BasicScan, CloudTrailCall, Detail, Event, ImageAction, Incoming, InspectorFinding,
    InspectorScan, PullThroughCacheAction, QueuedEvent, ReferrerAction, ReplicationAction,
    ScanResourceChange,
};

/// Describe an incoming payload: `kind`, `account`, `region`, `repository`, `digest`, `tags`, and
/// `severity_counts` where the event has them, plus what else identifies it.
pub fn describe(incoming: &Incoming) -> Value {
    match incoming {
        Incoming::Event(event) => describe_event(event),
        Incoming::Sns(delivery) => json!({
            "kind": "sns",
            "records": delivery.records.iter().map(|r| &r.sns).map(|r| json!({
                "message_id": r.message_id,
                "topic_arn": r.topic_arn,
                "subject": r.subject,
                "attributes": r.message_attributes.iter()
                    .map(|(k, v)| (k.clone(), json!(v.value)))
                    .collect::<Map<_, _>>(),
                "message": serde_json::from_str::<Value>(&r.message).unwrap_or_else(|_| json!(r.message)),
                "warden_message": match serde_json::from_str::<crate::message::Message>(&r.message) {
                    Ok(m) => json!({"kind": m.body.kind(), "subject": m.subject()}),
                    Err(e) => json!({"error": e.to_string()}),
                },
            })).collect::<Vec<_>>(),
        }),
        Incoming::Queue(batch) => json!({
            "kind": "sqs",
            "records": batch.records.iter().map(|r| {
                match r.event() {
                    Ok(event) => json!({"message_id": r.id(), "event": describe_event(&event)}),
                    Err(error) => json!({"message_id": r.id(), "error": error.to_string()}),
                }
            }).collect::<Vec<_>>(),
        }),
    }
}

pub fn describe_event(event: &Event) -> Value {
    let env = &event.envelope;
    let mut out = Map::new();
    out.insert("kind".into(), json!(event.detail.kind()));
    out.insert("source".into(), json!(env.source));
    out.insert("detail_type".into(), json!(env.detail_type));
    out.insert("id".into(), json!(env.id));
    out.insert("account".into(), json!(env.account));
    out.insert("region".into(), json!(env.region));
    out.insert("time".into(), json!(env.time));
    let mut put = |k: &str, v: Value| {
        out.insert(k.to_owned(), v);
    };
    match &event.detail {
        Detail::ImagePush(a) | Detail::ImageDelete(a) | Detail::ImageStorageClass(a) => {
            image_action(&mut put, a)
        }
        Detail::BasicScan(s) => basic_scan(&mut put, s),
        Detail::InspectorScan(s) => inspector_scan(&mut put, s),
        Detail::InspectorFinding(f) => inspector_finding(&mut put, f),
        Detail::Replication(r) => replication(&mut put, r),
        Detail::PullThroughCache(p) => pull_through_cache(&mut put, p),
        Detail::Referrer(r) => referrer(&mut put, r),
        Detail::ScanResourceChange(c) => scan_resource_change(&mut put, c),
        Detail::CloudTrail(c) => cloudtrail(&mut put, c),
        Detail::Schedule => {
            put("rules", json!(env.resources));
        }
        Detail::Ignored { reason } => put("reason", json!(reason)),
    }
    Value::Object(out)
}

/// What an image push, delete or storage class change shows: the image, the action and its result.
fn image_action(put: &mut impl FnMut(&str, Value), a: &ImageAction) {
    put("repository", json!(a.repository_name));
    put("digest", json!(a.image_digest));
    put("tags", json!(a.image_tag.iter().collect::<Vec<_>>()));
    put("action", json!(a.action_type));
    put("result", json!(a.result));
    if a.target_storage_class.is_some() {
        put("target_storage_class", json!(a.target_storage_class));
    }
}

/// What a basic scan shows: the image, the scan's status and its counts.
fn basic_scan(put: &mut impl FnMut(&str, Value), s: &BasicScan) {
    put("repository", json!(s.repository_name));
    put("digest", json!(s.image_digest));
    put("tags", json!(s.image_tags));
    put("scan_status", json!(s.scan_status));
    put("severity_counts", json!(s.finding_severity_counts));
}

/// What an Inspector scan shows: the image (its repository from a name or an ARN), the scan's
/// status and its counts.
fn inspector_scan(put: &mut impl FnMut(&str, Value), s: &InspectorScan) {
    put("repository", json!(s.repository().ok()));
    put("digest", json!(s.image_digest));
    put("tags", json!(s.image_tags));
    put("scan_status", json!(s.scan_status));
    put("severity_counts", json!(s.finding_severity_counts));
}

/// What an Inspector finding shows: the image when it is on one, and the finding.
fn inspector_finding(put: &mut impl FnMut(&str, Value), f: &InspectorFinding) {
    if let Some(image) = f.ecr_image() {
        put(
            "repository",
            json!(crate::names::repository_from_name_or_arn(&image.repository_name).ok()),
        );
        put("digest", json!(image.image_hash));
        put("tags", json!(image.image_tags));
    }
    put(
        "finding",
        json!({
            "arn": f.finding_arn,
            "status": f.status,
            "severity": f.severity,
            "vulnerability_id": f.vulnerability_id(),
            "fix_available": f.fix_available,
            "updated_at": f.updated_at,
        }),
    );
}

/// What a replication action shows: the image and the result.
fn replication(put: &mut impl FnMut(&str, Value), r: &ReplicationAction) {
    put("repository", json!(r.repository_name));
    put("digest", json!(r.image_digest));
    put("tags", json!(r.image_tag.iter().collect::<Vec<_>>()));
    put("result", json!(r.result));
}

/// What a pull through cache action shows: the image and the sync's status.
fn pull_through_cache(put: &mut impl FnMut(&str, Value), p: &PullThroughCacheAction) {
    put("repository", json!(p.repository_name));
    put("digest", json!(p.image_digest));
    put("tags", json!(p.image_tag.iter().collect::<Vec<_>>()));
    put("sync_status", json!(p.sync_status));
}

/// What a referrer action shows: the image, the action and the artifact's media type.
fn referrer(put: &mut impl FnMut(&str, Value), r: &ReferrerAction) {
    put("repository", json!(r.repository_name));
    put("digest", json!(r.image_digest));
    put("tags", json!(r.image_tag.iter().collect::<Vec<_>>()));
    put("action", json!(r.action_type));
    put("artifact_media_type", json!(r.artifact_media_type));
}

/// What a scan resource change shows: the repositories, the action and the scan type.
fn scan_resource_change(put: &mut impl FnMut(&str, Value), c: &ScanResourceChange) {
    put(
        "repositories",
        json!(
            c.repositories
                .iter()
                .map(|r| &r.repository_name)
                .collect::<Vec<_>>()
        ),
    );
    put("action", json!(c.action_type));
    put("scan_type", json!(c.scan_type));
}

/// What a CloudTrail call shows: the repository, the call, whether it succeeded, who made it and
/// the tag mutability it left.
fn cloudtrail(put: &mut impl FnMut(&str, Value), c: &CloudTrailCall) {
    put("repository", json!(c.repository()));
    put("event_name", json!(c.event_name));
    put("succeeded", json!(c.succeeded()));
    put(
        "actor",
        json!(c.user_identity.as_ref().and_then(|u| u.arn.clone())),
    );
    if let Some(m) = c.resulting_mutability() {
        put("resulting_mutability", json!(m));
    }
}
