//! Test support for ecr-warden's integration tests.
//!
//! - [`Emulator`]: the local AWS (moto 5.2.5 + `tests/emulator` patches) on 127.0.0.1. Reuses the one
//!   named by `WARDEN_EMULATOR_URL` (as `make test` starts it), else starts one for this test process.
//! - [`Emulator::account`]: a fresh AWS account for one test (STS AssumeRole into a random account id:
//!   moto keeps each account's state apart), so tests run in parallel on one server and each starts
//!   clean.
//! - Seeding what the emulator cannot produce on its own (`seed`: scan results, Inspector
//!   findings, image ages); pushing images (`images`); events (`fixtures`); a real registry
//!   (`registry`), a Slack stand-in (`webhook`) and a fault proxy (`faults`).
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

pub mod faults;
mod fixtures;
mod images;
pub mod notation;
pub mod plans;
pub mod registry;
mod seed;
pub mod signing;
pub mod webhook;

pub use fixtures::{at, load_fixture, sns_delivery};
pub use images::{
    OCI_INDEX, OCI_MANIFEST, buildx_attestation, buildx_index, cosign_signature, image_index,
    image_manifest,
};

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

    async fn get(&self, path: &str) -> Value {
        let resp = http()
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .expect("emulator request");
        assert!(resp.status().is_success(), "GET {path}: {}", resp.status());
        resp.json().await.expect("emulator JSON")
    }

    /// The reading switches the emulator offers (where AWS's words fit more than one behaviour):
    /// each switch's name and readings, the first being the default.
    pub async fn switches(&self) -> Vec<(String, Vec<String>)> {
        let body = self.get("/_warden/readings").await;
        let mut switches: Vec<(String, Vec<String>)> = body["switches"]
            .as_object()
            .expect("switches")
            .iter()
            .map(|(name, s)| {
                let readings = s["readings"].as_array().expect("readings");
                let readings = readings
                    .iter()
                    .map(|r| r.as_str().expect("reading").to_owned());
                (name.clone(), readings.collect())
            })
            .collect();
        switches.sort();
        switches
    }

    /// Every reading of one switch.
    pub async fn readings_of(&self, switch: &str) -> Vec<String> {
        let all = self.switches().await;
        let found = all.into_iter().find(|(name, _)| name == switch);
        found
            .unwrap_or_else(|| panic!("no reading switch {switch}"))
            .1
    }

    /// The moto behaviours the patch layer replaces or adds, by name (`Class.method`).
    pub async fn patches(&self) -> Vec<String> {
        let body = self.get("/_warden/patches").await;
        let patches = body["patches"].as_array().expect("patches");
        patches
            .iter()
            .map(|p| p.as_str().expect("name").to_owned())
            .collect()
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

    /// The names of the account's repositories in this region, sorted.
    pub async fn repository_names(&self) -> Vec<String> {
        let out = self
            .clients
            .ecr
            .describe_repositories()
            .send()
            .await
            .expect("describe repositories");
        let repositories = out.repositories().iter();
        let mut names: Vec<String> = repositories
            .map(|r| r.repository_name().unwrap_or_default().to_owned())
            .collect();
        names.sort();
        names
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
}
