//! The events ecr-warden receives, parsed strictly where it matters and leniently elsewhere.
//!
//! - Malformed JSON, or a known `detail-type` missing or mistyping a field ecr-warden needs, is an
//!   [`EventError`] that names the field.
//! - A valid event that is not for ecr-warden (another source or detail-type) is
//!   [`Detail::Ignored`]: logged and acknowledged, so Lambda does not retry it.
//! - Unknown fields are ignored; optional fields may be absent, `null` or empty.

mod batch;
mod cloudtrail;
mod ecr;
mod input;
mod inspector;
mod lenient;
mod timestamp;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use aws_lambda_events::event::eventbridge::EventBridgeEvent;
pub use aws_lambda_events::event::sns::{SnsEvent, SnsMessage, SnsRecord};
pub use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
pub use batch::{Incoming, QueuedEvent};
pub use cloudtrail::{
    CloudTrailCall, ExclusionFilterSpec, RepositoryDescription, RequestParameters,
    ResponseElements, UserIdentity,
};
pub use ecr::{
    BasicScan, ImageAction, PullThroughCacheAction, ReferrerAction, ReplicationAction,
    ScanResourceChange, ScannedRepository,
};
pub use input::{FunctionInput, InputSummary, Refusal};
pub use inspector::{
    EcrContainerImage, FindingResource, InspectorFinding, InspectorScan, PackageVulnerability,
    ResourceDetails, VulnerablePackage,
};
pub use timestamp::Timestamp;

use crate::names::{AccountId, Region};

/// What is wrong with an incoming payload. Never retryable: the same bytes fail the same way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("malformed JSON at line {line}, column {column}: {message}")]
    Malformed {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("not an EventBridge event, SNS or SQS batch: {0}")]
    NotAnEvent(String),
    #[error("{context}: field `{path}` {message}")]
    Field {
        context: String,
        path: String,
        message: String,
    },
}

/// The EventBridge envelope every event shares.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub id: Option<String>,
    pub source: String,
    pub detail_type: String,
    pub account: AccountId,
    pub region: Region,
    pub time: Option<Timestamp>,
    pub resources: Vec<String>,
}

/// One EventBridge event, typed by what it is about.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub envelope: Envelope,
    pub detail: Detail,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Detail {
    ImagePush(ImageAction),
    ImageDelete(ImageAction),
    ImageStorageClass(ImageAction),
    BasicScan(BasicScan),
    InspectorScan(InspectorScan),
    InspectorFinding(Box<InspectorFinding>),
    Replication(ReplicationAction),
    PullThroughCache(PullThroughCacheAction),
    Referrer(ReferrerAction),
    ScanResourceChange(ScanResourceChange),
    CloudTrail(Box<CloudTrailCall>),
    Schedule,
    /// Valid, but not something ecr-warden acts on; `reason` says why.
    Ignored {
        reason: String,
    },
}

impl Detail {
    /// The stable name of this kind of event (`warden explain` prints it as `kind`).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::ImagePush(_) => "image_push",
            Self::ImageDelete(_) => "image_delete",
            Self::ImageStorageClass(_) => "image_storage_class",
            Self::BasicScan(_) => "basic_scan",
            Self::InspectorScan(_) => "inspector_scan",
            Self::InspectorFinding(_) => "inspector_finding",
            Self::Replication(_) => "replication",
            Self::PullThroughCache(_) => "pull_through_cache",
            Self::Referrer(_) => "referrer",
            Self::ScanResourceChange(_) => "scan_resource_change",
            Self::CloudTrail(_) => "cloudtrail",
            Self::Schedule => "schedule",
            Self::Ignored { .. } => "ignored",
        }
    }
}

/// Parse raw bytes: an EventBridge event, or an SNS / SQS batch around messages.
pub fn parse_incoming(bytes: &[u8]) -> Result<Incoming, EventError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| EventError::Malformed {
        line: e.line(),
        column: e.column(),
        message: strip_location(&e.to_string()),
    })?;
    batch::from_value(value)
}

/// Parse a payload already read as JSON: an EventBridge event, or an SNS / SQS batch.
pub fn incoming(value: Value) -> Result<Incoming, EventError> {
    batch::from_value(value)
}

/// A string member of the envelope (`source`, `detail-type`), or why the value is no event.
fn envelope_text(map: &serde_json::Map<String, Value>, key: &str) -> Result<String, EventError> {
    match map.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(EventError::NotAnEvent(format!(
            "`{key}` is {}, not a string",
            type_name(other)
        ))),
        None => Err(EventError::NotAnEvent(format!("missing `{key}`"))),
    }
}

/// Parse an EventBridge event already read as JSON.
pub fn parse_event(value: Value) -> Result<Event, EventError> {
    let Value::Object(mut map) = value else {
        return Err(EventError::NotAnEvent(format!(
            "top level is {}, not an object",
            type_name(&value)
        )));
    };
    let source = envelope_text(&map, "source")?;
    let detail_type = envelope_text(&map, "detail-type")?;
    let context = format!("{detail_type} event");
    let envelope_error = |path: &str, message: String| EventError::Field {
        context: context.clone(),
        path: path.to_owned(),
        message,
    };
    let detail = map.remove("detail");
    // The envelope is aws_lambda_events' type; `detail` is parsed below into ecr-warden's own.
    map.insert("detail".to_owned(), Value::Null);
    let raw: EventBridgeEvent<Value> = typed_at("", &context, Value::Object(map))?;
    // Every EventBridge event carries account and region, whatever its source.
    let account = required(raw.account, "account", &envelope_error)?;
    let region = required(raw.region, "region", &envelope_error)?;
    let envelope = Envelope {
        id: raw.id,
        time: raw.time.map(Timestamp::from),
        resources: raw.resources.unwrap_or_default(),
        source,
        detail_type,
        account,
        region,
    };
    let Some(kind) = KnownKind::of(&envelope.source, &envelope.detail_type) else {
        let reason = format!(
            "{} / {} is not an event ecr-warden handles",
            envelope.source, envelope.detail_type
        );
        return Ok(Event {
            envelope,
            detail: Detail::Ignored { reason },
        });
    };
    let detail = match detail {
        Some(Value::Object(d)) => Value::Object(d),
        Some(other) => {
            return Err(envelope_error(
                "detail",
                format!("is {}, not an object", type_name(&other)),
            ));
        }
        None => return Err(envelope_error("detail", "is missing".to_owned())),
    };
    let detail = kind.parse(&envelope.detail_type, detail)?;
    Ok(Event { envelope, detail })
}

/// The (source, detail-type) pairs ecr-warden understands.
#[derive(Debug, Clone, Copy)]
enum KnownKind {
    ImageAction,
    BasicScan,
    ScanResourceChange,
    Replication,
    PullThroughCache,
    Referrer,
    InspectorScan,
    InspectorFinding,
    CloudTrail,
    Schedule,
}

impl KnownKind {
    fn of(source: &str, detail_type: &str) -> Option<Self> {
        Some(match (source, detail_type) {
            ("aws.ecr", "ECR Image Action") => Self::ImageAction,
            ("aws.ecr", "ECR Image Scan") => Self::BasicScan,
            ("aws.ecr", "ECR Scan Resource Change") => Self::ScanResourceChange,
            ("aws.ecr", "ECR Replication Action") => Self::Replication,
            ("aws.ecr", "ECR Pull Through Cache Action") => Self::PullThroughCache,
            ("aws.ecr", "ECR Referrer Action") => Self::Referrer,
            ("aws.ecr", "AWS API Call via CloudTrail") => Self::CloudTrail,
            ("aws.inspector2", "Inspector2 Scan") => Self::InspectorScan,
            ("aws.inspector2", "Inspector2 Finding") => Self::InspectorFinding,
            ("aws.events", "Scheduled Event") => Self::Schedule,
            _ => return None,
        })
    }

    fn parse(self, detail_type: &str, detail: Value) -> Result<Detail, EventError> {
        let ctx = format!("{detail_type} event");
        Ok(match self {
            Self::ImageAction => {
                let action: ImageAction = typed(&ctx, detail)?;
                match action.action_type.as_str() {
                    "PUSH" => Detail::ImagePush(action),
                    "DELETE" => Detail::ImageDelete(action),
                    "UPDATE_STORAGE_CLASS" => Detail::ImageStorageClass(action),
                    other => Detail::Ignored {
                        reason: format!("ECR Image Action of type {other}"),
                    },
                }
            }
            Self::BasicScan => Detail::BasicScan(typed(&ctx, detail)?),
            Self::ScanResourceChange => Detail::ScanResourceChange(typed(&ctx, detail)?),
            Self::Replication => Detail::Replication(typed(&ctx, detail)?),
            Self::PullThroughCache => Detail::PullThroughCache(typed(&ctx, detail)?),
            Self::Referrer => Detail::Referrer(typed(&ctx, detail)?),
            Self::InspectorScan => {
                let scan: InspectorScan = typed(&ctx, detail)?;
                scan.repository().map_err(|e| EventError::Field {
                    context: ctx.clone(),
                    path: "detail.repository-name".to_owned(),
                    message: e.to_string(),
                })?;
                Detail::InspectorScan(scan)
            }
            Self::InspectorFinding => {
                let finding: InspectorFinding = typed(&ctx, detail)?;
                if finding.ecr_image().is_none() {
                    Detail::Ignored {
                        reason: "Inspector2 Finding about a resource that is not an ECR image"
                            .to_owned(),
                    }
                } else {
                    Detail::InspectorFinding(Box::new(finding))
                }
            }
            Self::CloudTrail => {
                let call: CloudTrailCall = typed(&ctx, detail)?;
                if call.event_source == "ecr.amazonaws.com" {
                    Detail::CloudTrail(Box::new(call))
                } else {
                    Detail::Ignored {
                        reason: format!("CloudTrail call from {}", call.event_source),
                    }
                }
            }
            Self::Schedule => Detail::Schedule,
        })
    }
}

/// Deserialize `detail` into `T`, naming the failing field by its full path (`detail.a.b`).
fn typed<T: DeserializeOwned>(context: &str, detail: Value) -> Result<T, EventError> {
    typed_at("detail", context, detail)
}

/// Deserialize `value` (found at `root`; "" for the top level) into `T`, naming the failing
/// field by its full path.
fn typed_at<T: DeserializeOwned>(root: &str, context: &str, value: Value) -> Result<T, EventError> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let mut message = strip_location(&err.inner().to_string());
        let mut path = err.path().to_string();
        // serde reports a missing field at its parent; name the field itself.
        if let Some(missing) = message
            .strip_prefix("missing field `")
            .and_then(|r| r.split('`').next())
        {
            path = if path == "." {
                missing.to_owned()
            } else {
                format!("{path}.{missing}")
            };
            message = "is missing".to_owned();
        }
        let path = match (root, path.as_str()) {
            ("", ".") => "(top level)".to_owned(),
            ("", _) => path,
            (_, ".") => root.to_owned(),
            _ => format!("{root}.{path}"),
        };
        EventError::Field {
            context: context.to_owned(),
            path,
            message,
        }
    })
}

/// An envelope field every event must carry, validated into its newtype.
fn required<T: for<'de> Deserialize<'de>>(
    value: Option<String>,
    key: &str,
    error: &impl Fn(&str, String) -> EventError,
) -> Result<T, EventError> {
    let value = value.ok_or_else(|| error(key, "is missing".to_owned()))?;
    T::deserialize(Value::String(value)).map_err(|e| error(key, strip_location(&e.to_string())))
}

/// serde_json appends " at line L column C" to messages; within a `Value` that is noise.
fn strip_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
