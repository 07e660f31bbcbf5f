//! `warden explain`: what an incoming payload is, as one JSON object. Later decisions add what each
//! function would do with it.

use serde_json::{Map, Value, json};

use crate::event::{Detail, Event, Incoming, QueuedEvent};

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
            put("repository", json!(a.repository_name));
            put("digest", json!(a.image_digest));
            put("tags", json!(a.image_tag.iter().collect::<Vec<_>>()));
            put("action", json!(a.action_type));
            put("result", json!(a.result));
            if a.target_storage_class.is_some() {
                put("target_storage_class", json!(a.target_storage_class));
            }
        }
        Detail::BasicScan(s) => {
            put("repository", json!(s.repository_name));
            put("digest", json!(s.image_digest));
            put("tags", json!(s.image_tags));
            put("scan_status", json!(s.scan_status));
            put("severity_counts", json!(s.finding_severity_counts));
        }
        Detail::InspectorScan(s) => {
            put("repository", json!(s.repository().ok()));
            put("digest", json!(s.image_digest));
            put("tags", json!(s.image_tags));
            put("scan_status", json!(s.scan_status));
            put("severity_counts", json!(s.finding_severity_counts));
        }
        Detail::InspectorFinding(f) => {
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
        Detail::Replication(r) => {
            put("repository", json!(r.repository_name));
            put("digest", json!(r.image_digest));
            put("tags", json!(r.image_tag.iter().collect::<Vec<_>>()));
            put("result", json!(r.result));
        }
        Detail::PullThroughCache(p) => {
            put("repository", json!(p.repository_name));
            put("digest", json!(p.image_digest));
            put("tags", json!(p.image_tag.iter().collect::<Vec<_>>()));
            put("sync_status", json!(p.sync_status));
        }
        Detail::Referrer(r) => {
            put("repository", json!(r.repository_name));
            put("digest", json!(r.image_digest));
            put("tags", json!(r.image_tag.iter().collect::<Vec<_>>()));
            put("action", json!(r.action_type));
            put("artifact_media_type", json!(r.artifact_media_type));
        }
        Detail::ScanResourceChange(c) => {
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
        Detail::CloudTrail(c) => {
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
        Detail::Schedule => {
            put("rules", json!(env.resources));
        }
        Detail::Ignored { reason } => put("reason", json!(reason)),
    }
    Value::Object(out)
}
