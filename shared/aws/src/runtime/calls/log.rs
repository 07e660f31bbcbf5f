//! The call log (tests only, the `call-log` feature): what each call named — repository, table and
//! partition key, topic, parameter, secret, role, function, ECS resources, region — read from its
//! serialized request, and the lines appended to `$WARDEN_CALL_LOG/<name>.calls` for
//! `tests/infra/iam_check.py` and `tests/infra/cli_policy_check.py`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use aws_smithy_runtime_api::http::Request;
use aws_smithy_types::config_bag::{Storable, StoreReplace};
use serde_json::Value;

/// What each call of an operation named: `None` until its request is serialized.
pub(super) type Calls = BTreeMap<String, Vec<Option<String>>>;

#[derive(Debug, Default)]
pub(super) struct Named {
    calls: Calls,
    /// Bumped by `take`: a slot reserved before it belongs to no current call.
    generation: u64,
}

/// Which call an operation's config bag belongs to, from counting to serializing.
#[derive(Debug, Clone)]
pub(super) struct Slot {
    pub(super) key: String,
    generation: u64,
    index: usize,
}

impl Storable for Slot {
    type Storer = StoreReplace<Self>;
}

/// Whether calls are noted at all: only when the log is written.
pub(super) fn enabled() -> bool {
    static ENABLED: OnceLock<bool> = OnceLock::new();
    *ENABLED.get_or_init(|| std::env::var_os("WARDEN_CALL_LOG").is_some())
}

impl Named {
    pub(super) fn reserve(&mut self, key: String, index: u64) -> Slot {
        let index = usize::try_from(index).unwrap_or(usize::MAX);
        let calls = self.calls.entry(key.clone()).or_default();
        if calls.len() <= index {
            calls.resize(index.saturating_add(1), None);
        }
        Slot {
            key,
            generation: self.generation,
            index,
        }
    }

    pub(super) fn fill(&mut self, slot: &Slot, named: String) {
        if slot.generation != self.generation {
            return;
        }
        if let Some(call) = self
            .calls
            .get_mut(&slot.key)
            .and_then(|c| c.get_mut(slot.index))
        {
            *call = Some(named);
        }
    }

    /// Forget every call (`take` started the count again); a slot reserved before belongs to
    /// no current call.
    pub(super) fn clear(&mut self) {
        self.generation += 1;
        self.calls.clear();
    }

    /// What the calls in `delta` (the counts since `before`) named.
    pub(super) fn since(
        &self,
        before: &BTreeMap<String, u64>,
        delta: &BTreeMap<String, u64>,
    ) -> Calls {
        delta
            .keys()
            .map(|op| {
                let from = before.get(op).copied().unwrap_or(0);
                let from = usize::try_from(from).unwrap_or(usize::MAX);
                let all = self.calls.get(op).map(Vec::as_slice).unwrap_or_default();
                (op.clone(), all.get(from..).unwrap_or_default().to_vec())
            })
            .collect()
    }
}

/// One line per operation and distinct set of fields; an operation with a call whose fields
/// are unknown also gets a bare line.
pub(super) fn lines(counts: &BTreeMap<String, u64>, named: &Calls) -> String {
    let mut out = String::new();
    for (op, n) in counts {
        let calls = named.get(op).map(Vec::as_slice).unwrap_or_default();
        let known: BTreeSet<&str> = calls.iter().flatten().map(String::as_str).collect();
        let described = calls.iter().flatten().count() as u64;
        if known.is_empty() || described < *n {
            out.push_str(op);
            out.push('\n');
        }
        for fields in known {
            out.push_str(op);
            if !fields.is_empty() {
                out.push(' ');
                out.push_str(fields);
            }
            out.push('\n');
        }
    }
    out
}

pub(super) fn append(name: &str, lines: &str) {
    use std::io::Write;
    let Some(folder) = std::env::var_os("WARDEN_CALL_LOG") else {
        return;
    };
    if lines.is_empty() {
        return;
    }
    let path = std::path::Path::new(&folder).join(format!("{name}.calls"));
    // One write per event with O_APPEND: lines from tests running in parallel do not interleave.
    let written = std::fs::create_dir_all(&folder).and_then(|()| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?
            .write_all(lines.as_bytes())
    });
    if let Err(error) = written {
        tracing::warn!(%error, path = %path.display(), "call log not written");
    }
}

/// The state table's partition key (infra/template.yaml, StateTable): IAM's
/// `dynamodb:LeadingKeys` are its values.
const PARTITION_KEY: &str = "pk";

/// Request members that name a resource, per SDK service id, and the field each becomes.
/// JSON protocols (ECR, DynamoDB, ECS, SSM, Secrets Manager); a list member gives one field
/// per item.
const JSON_MEMBERS: &[(&str, &str, &str)] = &[
    ("ECR", "repositoryName", "repository"),
    ("ECR", "repositoryNames", "repository"),
    ("ECR", "registryId", "registry"),
    ("DynamoDB", "TableName", "table"),
    ("SSM", "Name", "parameter"),
    ("SSM", "Names", "parameter"),
    ("Secrets Manager", "SecretId", "secret"),
    ("ECS", "cluster", "cluster"),
    ("ECS", "services", "service"),
    ("ECS", "tasks", "task"),
    ("ECS", "serviceRevisionArns", "service-revision"),
    ("KMS", "KeyId", "kms_key"),
];

/// Query protocol (SNS, STS): form fields that name a resource.
const FORM_FIELDS: &[(&str, &str, &str)] = &[
    ("SNS", "TopicArn", "topic"),
    ("SNS", "TargetArn", "target"),
    ("STS", "RoleArn", "role"),
];

/// `repository=team-a/api registry=123456789012 region=us-east-1`: what the serialized request
/// of operation `key` names, then the client's region and the process's (`home`, when the
/// environment names one), space-separated (values escaped so that they hold no space).
pub(super) fn describe(
    key: &str,
    request: &Request,
    region: Option<&str>,
    home: Option<&str>,
) -> String {
    let (service, operation) = key.split_once('.').unwrap_or((key, ""));
    let mut fields: Vec<(&str, String)> = Vec::new();
    let body = request.body().bytes().unwrap_or_default();
    match service {
        "SNS" | "STS" => {
            for (name, value) in form(body) {
                if let Some((_, _, field)) = FORM_FIELDS
                    .iter()
                    .find(|(s, n, _)| *s == service && *n == name)
                {
                    fields.push((field, value));
                }
            }
        }
        "S3" => fields.extend(s3_fields(request.uri())),
        "Lambda" => {
            // REST: /2015-03-31/functions/{FunctionName}[/...]
            let path = request.uri().split('?').next().unwrap_or_default();
            let mut parts = path.split('/').skip_while(|p| *p != "functions").skip(1);
            if let Some(name) = parts.next().filter(|n| !n.is_empty()) {
                fields.push(("function", percent_decode(name)));
            }
        }
        _ => {
            if let Ok(Value::Object(json)) = serde_json::from_slice::<Value>(body) {
                fields.extend(json_fields(service, operation, &json));
            }
        }
    }
    if let Some(region) = region {
        fields.push(("region", region.to_owned()));
    }
    if let Some(home) = home {
        fields.push(("home", home.to_owned()));
    }
    fields
        .iter()
        .map(|(field, value)| format!("{field}={}", escape(value)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// What an S3 request names: its object key. The request is read as serialized, before the
/// endpoint puts the bucket in front of it (`/{Key}` here), so the bucket is the function's own
/// (`WARDEN_FANOUT_BUCKET`), which the IAM check takes from the template.
fn s3_fields(uri: &str) -> Vec<(&'static str, String)> {
    let path = uri.split('?').next().unwrap_or_default();
    let key = path.trim_start_matches('/');
    if key.is_empty() {
        return Vec::new();
    }
    vec![("key", percent_decode(key))]
}

/// What a JSON-protocol request body names: the members of [`JSON_MEMBERS`], all repositories for
/// a DescribeRepositories that names none, tags on a CreateRepository, and DynamoDB's partition
/// keys and tables (each TransactWriteItems item's, with its kind).
fn json_fields(
    service: &str,
    operation: &str,
    json: &serde_json::Map<String, Value>,
) -> Vec<(&'static str, String)> {
    let mut fields: Vec<(&'static str, String)> = Vec::new();
    for (s, member, field) in JSON_MEMBERS {
        if *s != service {
            continue;
        }
        match json.get(*member) {
            Some(Value::String(v)) => fields.push((field, v.clone())),
            Some(Value::Array(items)) => fields.extend(
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|v| (*field, v.to_owned())),
            ),
            _ => {}
        }
    }
    if service == "ECR"
        && operation == "CreateRepository"
        && json
            .get("tags")
            .and_then(Value::as_array)
            .is_some_and(|t| !t.is_empty())
    {
        // Tags on create: IAM also authorizes them (ecr:TagResource).
        fields.push(("tagged", "yes".to_owned()));
    }
    if service == "ECR"
        && operation == "DescribeRepositories"
        && !fields.iter().any(|(f, _)| *f == "repository")
    {
        // Every repository of the registry.
        fields.push(("repository", "*".to_owned()));
    }
    if service == "DynamoDB" {
        fields.extend(dynamodb_fields(json));
    }
    fields
}

/// A DynamoDB request's partition keys and tables: the item's, each TransactWriteItems item's
/// (with its kind, under which IAM authorizes it), a batch's tables.
fn dynamodb_fields(json: &serde_json::Map<String, Value>) -> Vec<(&'static str, String)> {
    let mut fields: Vec<(&'static str, String)> =
        leading_keys(json).into_iter().map(|k| ("key", k)).collect();
    for item in json
        .get("TransactItems")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
    {
        for (kind, inner) in item.iter().filter_map(|(k, v)| Some((k, v.as_object()?))) {
            if let Some(table) = inner.get("TableName").and_then(Value::as_str) {
                fields.push(("table", table.to_owned()));
            }
            fields.extend(leading_keys(inner).into_iter().map(|k| ("key", k)));
            fields.push(("item", kind.clone()));
        }
    }
    if let Some(Value::Object(tables)) = json.get("RequestItems") {
        fields.extend(tables.keys().map(|t| ("table", t.clone())));
    }
    fields
}

/// The region this process runs in, from the environment (`AWS_REGION`, as Lambda sets it):
/// a deployment's `${AWS::Region}`. The tests' own process sets none (their functions run in
/// tests/src/lib.rs's REGION); a `warden` they run has one.
pub(super) fn home_region() -> Option<&'static str> {
    static HOME: OnceLock<Option<String>> = OnceLock::new();
    HOME.get_or_init(|| {
        ["AWS_REGION", "AWS_DEFAULT_REGION"]
            .iter()
            .find_map(|name| std::env::var(name).ok().filter(|r| !r.is_empty()))
    })
    .as_deref()
}

/// The partition key values a DynamoDB item call names (`Key`, or a put's `Item`).
fn leading_keys(json: &serde_json::Map<String, Value>) -> Vec<String> {
    let scalar = |v: &Value| {
        v.as_object()
            .and_then(|typed| typed.values().next())
            .and_then(|v| v.as_str().map(str::to_owned))
    };
    for member in ["Key", "Item"] {
        if let Some(Value::Object(item)) = json.get(member) {
            let value = match item.get(PARTITION_KEY) {
                Some(v) => scalar(v),
                // A key of one attribute is its partition key.
                None if member == "Key" && item.len() == 1 => item.values().next().and_then(scalar),
                None => None,
            };
            return value.into_iter().collect();
        }
    }
    Vec::new()
}

/// `application/x-www-form-urlencoded` pairs.
fn form(body: &[u8]) -> Vec<(String, String)> {
    std::str::from_utf8(body)
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (percent_decode(k), percent_decode(v)))
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match bytes
                .get(i + 1..i + 3)
                .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            {
                Some(hex) => {
                    let hex = std::str::from_utf8(hex).unwrap_or_default();
                    out.push(u8::from_str_radix(hex, 16).unwrap_or_default());
                    i += 2;
                }
                None => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A field value with `%`, spaces and control characters percent-escaped (one token per field).
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if c == '%' || c.is_whitespace() || c.is_control() {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_types::body::SdkBody;

    fn request(uri: &str, body: &str) -> Request {
        let mut request = Request::new(SdkBody::from(body.to_owned()));
        let _ = request.set_uri(uri);
        request
    }

    #[test]
    fn json_members_become_fields() {
        let r = request(
            "https://ecr",
            r#"{"repositoryName":"team-a/api","registryId":"123456789012","imageIds":[]}"#,
        );
        assert_eq!(
            describe(
                "ECR.BatchGetImage",
                &r,
                Some("us-east-1"),
                Some("eu-west-1")
            ),
            "repository=team-a/api registry=123456789012 region=us-east-1 home=eu-west-1"
        );
        let all = request("https://ecr", "{}");
        assert_eq!(
            describe("ECR.DescribeRepositories", &all, None, None),
            "repository=*"
        );
    }

    #[test]
    fn dynamodb_names_its_table_and_partition_key() {
        let get = request(
            "https://ddb",
            r#"{"TableName":"ecr-warden","Key":{"pk":{"S":"verdict#a b"}}}"#,
        );
        assert_eq!(
            describe("DynamoDB.GetItem", &get, None, None),
            "table=ecr-warden key=verdict#a%20b"
        );
        let put = request(
            "https://ddb",
            r#"{"TableName":"t","Item":{"ttl":{"N":"1"},"pk":{"S":"tag#x"}}}"#,
        );
        assert_eq!(
            describe("DynamoDB.PutItem", &put, None, None),
            "table=t key=tag#x"
        );
    }

    #[test]
    fn query_fields_and_rest_paths_are_decoded() {
        let publish = request(
            "https://sns",
            "Action=Publish&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A1%3At&Message=a+b",
        );
        assert_eq!(
            describe("SNS.Publish", &publish, None, None),
            "topic=arn:aws:sns:us-east-1:1:t"
        );
        let get = request(
            "https://lambda/2015-03-31/functions/app%3A1/versions?Marker=x",
            "",
        );
        assert_eq!(
            describe("Lambda.ListVersionsByFunction", &get, None, None),
            "function=app:1"
        );
    }

    #[test]
    fn lines_list_each_distinct_set_once() {
        let counts = BTreeMap::from([("SNS.Publish".to_owned(), 3), ("X.Y".to_owned(), 1)]);
        let named = Calls::from([(
            "SNS.Publish".to_owned(),
            vec![Some("topic=a".to_owned()), Some("topic=a".to_owned()), None],
        )]);
        assert_eq!(
            lines(&counts, &named),
            "SNS.Publish\nSNS.Publish topic=a\nX.Y\n"
        );
    }
}
