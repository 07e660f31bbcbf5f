//! Test support for ecr-warden's integration tests.
//!
//! - [`Emulator`]: the local AWS (moto 5.2.5 + `tests/emulator` patches) on 127.0.0.1. Reuses the one
//!   named by `WARDEN_EMULATOR_URL` (as `make test` starts it), else starts one for this test process.
//! - [`Emulator::account`]: a fresh AWS account for one test (STS AssumeRole into a random account id:
//!   moto keeps each account's state apart), so tests run in parallel on one server and each starts
//!   clean.
//! - Seeding helpers for what the emulator cannot produce on its own (scan results, Inspector findings).
//!
//! Test helpers panic with a message on failure: a panic here is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::missing_panics_doc)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sts::config::Credentials;
use serde_json::{Value, json};
use warden_aws::{ApiCalls, counted};
use warden_core::names::Digest;

pub mod faults;
pub mod registry;
pub mod webhook;

pub const REGION: &str = "us-east-1";

/// The repository root (tests run with the crate dir as cwd).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

pub struct Emulator {
    pub url: String,
    _child: Option<Child>,
}

static EMULATOR: OnceLock<Emulator> = OnceLock::new();

impl Emulator {
    /// The emulator for this test process.
    pub fn shared() -> &'static Emulator {
        EMULATOR.get_or_init(|| match std::env::var("WARDEN_EMULATOR_URL") {
            Ok(url) if !url.is_empty() => Emulator { url, _child: None },
            _ => Self::start(),
        })
    }

    fn start() -> Emulator {
        let root = repo_root();
        let python = std::env::var("WARDEN_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|_| root.join(".venv/bin/python"));
        assert!(
            python.exists(),
            "no Python at {} (run `make setup`, or set WARDEN_PYTHON)",
            python.display()
        );
        let dir = std::env::temp_dir().join(format!("warden-emulator-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let port_file = dir.join("port");
        let _ = std::fs::remove_file(&port_file);
        let log = std::fs::File::create(dir.join("emulator.log")).expect("log file");
        let child = Command::new(&python)
            .args(["-m", "warden_emulator", "--port-file"])
            .arg(&port_file)
            .args(["--parent-pid", &std::process::id().to_string()])
            .current_dir(root.join("tests/emulator"))
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start the emulator");
        let deadline = Instant::now() + Duration::from_secs(60);
        let port = loop {
            if let Ok(p) = std::fs::read_to_string(&port_file) {
                break p.trim().to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "emulator did not start; see {}",
                dir.join("emulator.log").display()
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        Emulator {
            url: format!("http://127.0.0.1:{port}"),
            _child: Some(child),
        }
    }

    /// A fresh, empty account for one test, with clients built the way the Lambdas build theirs.
    pub async fn account(&self) -> TestAccount {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos() as u64;
        let seq = NEXT.fetch_add(1, Ordering::Relaxed);
        let id = format!(
            "{:012}",
            (u64::from(std::process::id()) * 1_000_003 + nanos + seq * 7_919) % 900_000_000_000
                + 100_000_000_000
        );
        let base = self
            .sdk_config(Credentials::new("test", "test", None, None, "warden-tests"))
            .await;
        let sts = aws_sdk_sts::Client::new(&base);
        let assumed = sts
            .assume_role()
            .role_arn(format!("arn:aws:iam::{id}:role/warden-test"))
            .role_session_name("warden-test")
            .send()
            .await
            .expect("sts:AssumeRole on the emulator");
        let c = assumed.credentials().expect("credentials");
        let creds = Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_owned()),
            None,
            "warden-test-account",
        );
        let sdk = self.sdk_config(creds).await;
        let env = vec![
            ("AWS_ENDPOINT_URL".to_owned(), self.url.clone()),
            ("AWS_REGION".to_owned(), REGION.to_owned()),
            ("AWS_ACCESS_KEY_ID".to_owned(), c.access_key_id().to_owned()),
            (
                "AWS_SECRET_ACCESS_KEY".to_owned(),
                c.secret_access_key().to_owned(),
            ),
            ("AWS_SESSION_TOKEN".to_owned(), c.session_token().to_owned()),
        ];
        TestAccount {
            id,
            clients: Clients::new(&sdk),
            sdk,
            emulator_url: self.url.clone(),
            env,
        }
    }

    async fn sdk_config(&self, credentials: Credentials) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .http_client(warden_aws::runtime::config::https_client(
                warden_aws::runtime::tls::TrustRoots::shared(),
            ))
            .endpoint_url(&self.url)
            .region(Region::new(REGION))
            .credentials_provider(credentials)
            // One attempt: an unimplemented or failing call must fail the test fast.
            .retry_config(RetryConfig::standard().with_max_attempts(1))
            .load()
            .await
    }
}

/// One isolated account on the emulator.
/// Every client a test uses to set up and read back state, all counting into one [`ApiCalls`]
/// (the same counter the functions under test are given).
#[derive(Debug, Clone)]
pub struct Clients {
    pub calls: ApiCalls,
    pub ecr: aws_sdk_ecr::Client,
    pub inspector: aws_sdk_inspector2::Client,
    pub sns: aws_sdk_sns::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub lambda: aws_sdk_lambda::Client,
}

impl Clients {
    pub fn new(sdk: &SdkConfig) -> Self {
        let calls = ApiCalls::new();
        Self {
            ecr: counted!(aws_sdk_ecr, sdk, calls),
            inspector: counted!(aws_sdk_inspector2, sdk, calls),
            sns: counted!(aws_sdk_sns, sdk, calls),
            dynamodb: counted!(aws_sdk_dynamodb, sdk, calls),
            ssm: counted!(aws_sdk_ssm, sdk, calls),
            secrets: counted!(aws_sdk_secretsmanager, sdk, calls),
            ecs: counted!(aws_sdk_ecs, sdk, calls),
            lambda: counted!(aws_sdk_lambda, sdk, calls),
            calls,
        }
    }
}

pub struct TestAccount {
    pub id: String,
    pub sdk: SdkConfig,
    pub clients: Clients,
    pub emulator_url: String,
    /// The environment a subprocess (the `warden` CLI, a Lambda binary) needs to act in this account.
    pub env: Vec<(String, String)>,
}

/// An HTTP client for the emulator's own endpoints, built as the functions build theirs.
pub fn http() -> reqwest::Client {
    warden_aws::runtime::tls::reqwest_builder()
        .build()
        .expect("a reqwest client on rustls")
}

impl TestAccount {
    async fn post(&self, path: &str, body: Value) -> Value {
        let resp = http()
            .post(format!("{}{path}", self.emulator_url))
            .json(&body)
            .send()
            .await
            .expect("seed request");
        let status = resp.status();
        let text = resp.text().await.expect("seed response");
        assert!(status.is_success(), "seeding {path} failed: {text}");
        serde_json::from_str(&text).expect("seed response JSON")
    }

    /// Give an image a finished scan with these findings (basic shape unless `enhanced`).
    pub async fn seed_scan(
        &self,
        repository: &str,
        digest: &Digest,
        status: &str,
        findings: Vec<Value>,
        enhanced: bool,
    ) {
        self.post(
            "/_warden/seed/ecr-scan",
            json!({"account": self.id, "region": REGION, "repository": repository, "digest": digest,
                   "status": status, "findings": findings, "enhanced": enhanced}),
        )
        .await;
    }

    /// Set images' push (and last pull) times, as seconds before now: registries are months old.
    pub async fn age_images(&self, repository: &str, ages: &[(&Digest, i64, Option<i64>)]) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let images: Vec<Value> = ages
            .iter()
            .map(|(d, pushed, pulled)| json!({"digest": d, "pushed_at": now - pushed, "last_pull": pulled.map(|p| now - p)}))
            .collect();
        self.post("/_warden/seed/image-times", json!({"account": self.id, "region": REGION, "repository": repository, "images": images}))
            .await;
    }

    /// Put an image in ECR's archive storage class, archived `days_ago` days ago (or, with
    /// `activating`, being restored from it).
    pub async fn archive_image(
        &self,
        repository: &str,
        digest: &Digest,
        days_ago: i64,
        activating: bool,
    ) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let status = if activating { "ACTIVATING" } else { "ARCHIVED" };
        let image = json!({"digest": digest, "pushed_at": now - (days_ago + 30) * 86_400,
                           "status": status, "archived_at": now - days_ago * 86_400});
        self.post("/_warden/seed/image-times", json!({"account": self.id, "region": REGION, "repository": repository, "images": [image]}))
            .await;
    }

    /// Set Inspector's coverage scan status of one image (as when it stops being eligible).
    pub async fn set_coverage(
        &self,
        repository: &str,
        digest: &Digest,
        status: &str,
        reason: &str,
    ) {
        let image = json!({"digest": digest, "coverage": {"statusCode": status, "reason": reason}});
        self.post("/_warden/seed/image-times", json!({"account": self.id, "region": REGION, "repository": repository, "images": [image]}))
            .await;
    }

    /// Make ECR in this account answer with response shapes a client must also cope with
    /// (see the emulator's `seed_options`).
    pub async fn ecr_options(&self, options: Value) {
        let mut body = options;
        body["account"] = json!(self.id);
        body["region"] = json!(REGION);
        self.post("/_warden/seed/ecr-options", body).await;
    }

    /// An IAM role Lambda functions can be created with.
    pub async fn lambda_role(&self) -> String {
        let iam = aws_sdk_iam::Client::new(&self.sdk);
        let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        let role = iam
            .create_role()
            .role_name("fn")
            .assume_role_policy_document(policy)
            .send()
            .await
            .expect("create role");
        role.role().expect("role").arn().to_owned()
    }

    /// The ECR registry host of this account.
    pub fn registry(&self) -> String {
        format!("{}.dkr.ecr.{REGION}.amazonaws.com", self.id)
    }

    /// Add (or replace, by findingArn) Inspector findings in this account.
    pub async fn seed_findings(&self, findings: Vec<Value>) {
        self.post(
            "/_warden/seed/inspector-findings",
            json!({"account": self.id, "region": REGION, "findings": findings}),
        )
        .await;
    }

    /// The DynamoDB table the functions keep state in (ledger, verdicts, dedupe), as infra defines it.
    pub async fn state_table(&self) -> String {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        };
        let name = "ecr-warden".to_owned();
        self.clients
            .dynamodb
            .create_table()
            .table_name(&name)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("pk")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("pk")
                    .key_type(KeyType::Hash)
                    .build()
                    .unwrap(),
            )
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .expect("create table");
        name
    }

    /// Every item in the state table, sorted (to compare state before and after).
    pub async fn table_items(&self, table: &str) -> Vec<String> {
        let out = self
            .clients
            .dynamodb
            .scan()
            .table_name(table)
            .send()
            .await
            .expect("scan");
        let mut items: Vec<String> = out
            .items()
            .iter()
            .map(|i| {
                format!(
                    "{:?}",
                    i.iter().collect::<std::collections::BTreeMap<_, _>>()
                )
            })
            .collect();
        items.sort();
        items
    }

    /// A warden topic with an SQS queue subscribed (optionally with a filter policy), to see what
    /// was published. Returns (topic ARN, queue URL).
    pub async fn topic_with_queue(&self, filter_policy: Option<&str>) -> (String, String) {
        let sns = aws_sdk_sns::Client::new(&self.sdk);
        let topic = sns
            .create_topic()
            .name("ecr-warden")
            .send()
            .await
            .expect("topic");
        let topic = topic.topic_arn().expect("arn").to_owned();
        let queue = self.subscribed_queue(&topic, filter_policy).await;
        (topic, queue)
    }

    /// A new SQS queue subscribed to `topic` (with a filter policy, if given). Returns its URL.
    pub async fn subscribed_queue(&self, topic: &str, filter_policy: Option<&str>) -> String {
        let sqs = aws_sdk_sqs::Client::new(&self.sdk);
        let queue = sqs
            .create_queue()
            .queue_name(format!("seen-{}", self.queue_seq()))
            .send()
            .await
            .expect("queue");
        let url = queue.queue_url().expect("url").to_owned();
        let attrs = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("queue attributes");
        let queue_arn = attrs
            .attributes()
            .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
            .expect("queue arn");
        let mut sub = self
            .clients
            .sns
            .subscribe()
            .topic_arn(topic)
            .protocol("sqs")
            .endpoint(queue_arn);
        if let Some(policy) = filter_policy {
            sub = sub.attributes("FilterPolicy", policy);
        }
        sub.send().await.expect("subscribe");
        url
    }

    fn queue_seq(&self) -> u64 {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        SEQ.fetch_add(1, Ordering::Relaxed)
    }

    /// Drain the queue: the SNS envelopes delivered so far (each with `Message`, `Subject`, `MessageAttributes`).
    pub async fn received(&self, queue_url: &str) -> Vec<Value> {
        let sqs = aws_sdk_sqs::Client::new(&self.sdk);
        let mut all = Vec::new();
        loop {
            let out = sqs
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .expect("receive");
            if out.messages().is_empty() {
                return all;
            }
            for m in out.messages() {
                all.push(
                    serde_json::from_str(m.body().unwrap_or_default()).expect("SNS envelope JSON"),
                );
                sqs.delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(m.receipt_handle().unwrap_or_default())
                    .send()
                    .await
                    .expect("delete");
            }
        }
    }

    /// A fixture from events/, re-addressed to this account, then edited by `edit`.
    pub fn event(&self, fixture: &str, edit: impl FnOnce(&mut Value)) -> Value {
        let mut event = load_fixture(fixture);
        event["account"] = json!(self.id);
        edit(&mut event);
        event
    }

    /// Tags per digest, sorted: the repository's state as far as tags are concerned.
    pub async fn tags_by_digest(&self, repository: &str) -> Vec<(String, Vec<String>)> {
        let out = self
            .clients
            .ecr
            .describe_images()
            .repository_name(repository)
            .send()
            .await
            .expect("describe images");
        let mut state: Vec<(String, Vec<String>)> = out
            .image_details()
            .iter()
            .map(|d| {
                let mut tags = d.image_tags().to_vec();
                tags.sort();
                (d.image_digest().unwrap_or_default().to_owned(), tags)
            })
            .collect();
        state.sort();
        state
    }

    pub async fn mutability(&self, repository: &str) -> (String, Vec<String>) {
        let out = self
            .clients
            .ecr
            .describe_repositories()
            .repository_names(repository)
            .send()
            .await
            .expect("describe");
        let repo = &out.repositories()[0];
        let mut filters: Vec<String> = repo
            .image_tag_mutability_exclusion_filters()
            .iter()
            .map(|f| f.filter().to_owned())
            .collect();
        filters.sort();
        (
            repo.image_tag_mutability()
                .map(|m| m.as_str().to_owned())
                .unwrap_or_default(),
            filters,
        )
    }

    pub async fn create_repository(&self, name: &str) {
        self.clients
            .ecr
            .create_repository()
            .repository_name(name)
            .send()
            .await
            .expect("create repository");
    }

    /// An ECR client for this account in `region` (not counted: seeding and reading back).
    pub fn ecr_in(&self, region: &str) -> aws_sdk_ecr::Client {
        aws_sdk_ecr::Client::from_conf(
            aws_sdk_ecr::config::Builder::from(&self.sdk)
                .region(Region::new(region.to_owned()))
                .build(),
        )
    }

    /// Upload `bytes` as a blob (a layer or config) of `repository` through the ECR layer API,
    /// in one part; returns its digest.
    pub async fn upload_blob(
        &self,
        ecr: &aws_sdk_ecr::Client,
        repository: &str,
        bytes: &[u8],
    ) -> Digest {
        let digest = Digest::of_bytes(bytes);
        let upload = ecr
            .initiate_layer_upload()
            .repository_name(repository)
            .send()
            .await
            .expect("initiate layer upload");
        let id = upload.upload_id().expect("upload id");
        ecr.upload_layer_part()
            .repository_name(repository)
            .upload_id(id)
            .part_first_byte(0)
            .part_last_byte(bytes.len() as i64 - 1)
            .layer_part_blob(aws_sdk_ecr::primitives::Blob::new(bytes.to_vec()))
            .send()
            .await
            .expect("upload layer part");
        ecr.complete_layer_upload()
            .repository_name(repository)
            .upload_id(id)
            .layer_digests(digest.as_str())
            .send()
            .await
            .expect("complete layer upload");
        digest
    }

    /// Push a real image to `repository` in `region`: its config (named by `seed`) and `layers`
    /// uploaded as blobs, then an OCI manifest naming them, with an optional tag. Returns the
    /// image's digest and exact manifest bytes.
    pub async fn push_layers(
        &self,
        region: &str,
        repository: &str,
        seed: &str,
        layers: &[Vec<u8>],
        tag: Option<&str>,
    ) -> (Digest, String) {
        let ecr = self.ecr_in(region);
        let config = format!(r#"{{"architecture":"amd64","os":"linux","seed":"{seed}"}}"#);
        let config_digest = self.upload_blob(&ecr, repository, config.as_bytes()).await;
        let mut descriptors = Vec::new();
        for layer in layers {
            let digest = self.upload_blob(&ecr, repository, layer).await;
            descriptors.push(json!({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest, "size": layer.len()}));
        }
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
            "layers": descriptors,
        })
        .to_string();
        let mut put = ecr
            .put_image()
            .repository_name(repository)
            .image_manifest(&manifest)
            .image_manifest_media_type(OCI_MANIFEST);
        if let Some(tag) = tag {
            put = put.image_tag(tag);
        }
        put.send().await.expect("put image");
        (Digest::of_bytes(manifest.as_bytes()), manifest)
    }

    /// Make the stored bytes of a layer stop matching its digest (in `region`).
    pub async fn corrupt_layer(&self, region: &str, repository: &str, digest: &Digest) {
        self.post(
            "/_warden/seed/corrupt-layer",
            json!({"account": self.id, "region": region, "repository": repository, "digest": digest}),
        )
        .await;
    }

    /// Push an image manifest (config + one layer named by `seed`) with an optional tag; returns
    /// its digest and exact bytes.
    pub async fn push(&self, repository: &str, seed: &str, tag: Option<&str>) -> (Digest, String) {
        self.push_manifest(repository, &image_manifest(seed), OCI_MANIFEST, tag)
            .await
    }

    /// Push exact manifest bytes (an image, an index, a referrer) with an optional tag.
    pub async fn push_manifest(
        &self,
        repository: &str,
        manifest: &str,
        media_type: &str,
        tag: Option<&str>,
    ) -> (Digest, String) {
        let manifest = manifest.to_owned();
        let mut put = self
            .clients
            .ecr
            .put_image()
            .repository_name(repository)
            .image_manifest(&manifest)
            .image_manifest_media_type(media_type);
        if let Some(tag) = tag {
            put = put.image_tag(tag);
        }
        put.send().await.expect("put image");
        (Digest::of_bytes(manifest.as_bytes()), manifest)
    }
}

/// A Lambda SNS event delivering `messages` (each a message body), as SNS hands them to a
/// subscribed function.
pub fn sns_delivery(messages: &[(String, String)]) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .enumerate()
        .map(|(i, (subject, body))| {
            json!({"EventSource": "aws:sns", "EventVersion": "1.0",
                "EventSubscriptionArn": "arn:aws:sns:eu-west-1:123456789012:ecr-warden:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55", "Sns": {
                "Type": "Notification", "MessageId": format!("msg-{i}"), "TopicArn": "arn:aws:sns:eu-west-1:123456789012:ecr-warden",
                "Subject": subject, "Message": body, "Timestamp": "2026-11-28T10:00:00.000Z",
                "SignatureVersion": "1", "Signature": "EXAMPLE", "SigningCertUrl": "EXAMPLE", "UnsubscribeUrl": "EXAMPLE",
                "MessageAttributes": {}}})
        })
        .collect();
    json!({"Records": records})
}

/// A JSON fixture from events/.
pub fn load_fixture(name: &str) -> Value {
    let path = repo_root().join("events").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("fixture JSON")
}

/// An RFC 3339 time `seconds` after a fixed base: event times that order pushes.
pub fn at(seconds: i64) -> String {
    (chrono::DateTime::from_timestamp(1_795_000_000, 0).expect("base")
        + chrono::Duration::seconds(seconds))
    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

fn fake_digest(seed: &str) -> Digest {
    Digest::of_bytes(seed.as_bytes())
}

/// An OCI image manifest whose layer digest derives from `seed`: distinct seeds, distinct images.
pub fn image_manifest(seed: &str) -> String {
    json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": fake_digest(&format!("config-{seed}")), "size": 1469},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": fake_digest(&format!("layer-{seed}")), "size": 3_208_942}],
    })
    .to_string()
}

/// An OCI index over the given (digest, architecture) children.
pub fn image_index(children: &[(&Digest, &str)]) -> String {
    json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": children.iter().map(|(d, arch)| json!({
            "mediaType": OCI_MANIFEST, "digest": d, "size": 512,
            "platform": {"architecture": arch, "os": "linux"},
        })).collect::<Vec<_>>(),
    })
    .to_string()
}
