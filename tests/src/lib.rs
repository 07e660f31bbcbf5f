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
use warden_aws::Clients;
use warden_core::names::Digest;

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
        TestAccount {
            id,
            clients: Clients::new(&sdk),
            sdk,
            emulator_url: self.url.clone(),
        }
    }

    async fn sdk_config(&self, credentials: Credentials) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
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
pub struct TestAccount {
    pub id: String,
    pub sdk: SdkConfig,
    pub clients: Clients,
    pub emulator_url: String,
}

impl TestAccount {
    async fn post(&self, path: &str, body: Value) -> Value {
        let resp = reqwest::Client::new()
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

    /// Add (or replace, by findingArn) Inspector findings in this account.
    pub async fn seed_findings(&self, findings: Vec<Value>) {
        self.post(
            "/_warden/seed/inspector-findings",
            json!({"account": self.id, "region": REGION, "findings": findings}),
        )
        .await;
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

    /// Push an image manifest (config + one layer named by `seed`) with an optional tag; returns
    /// its digest and exact bytes.
    pub async fn push(&self, repository: &str, seed: &str, tag: Option<&str>) -> (Digest, String) {
        let manifest = image_manifest(seed);
        let mut put = self
            .clients
            .ecr
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
