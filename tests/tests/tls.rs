//! Which roots the functions' HTTPS clients trust (`warden_aws::runtime::tls`), proven over real
//! TLS: an OpenSSL front (tests/emulator/tls_front.py) serves the emulator on https://localhost
//! with a certificate from a test CA (tests/fixtures/tls). The SDK's client, reqwest's and the
//! signature payloads' hyper client all connect when given a bundle holding that CA, and refuse
//! the server with any other roots.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed assertion

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use aws_smithy_types::error::display::DisplayErrorContext;
use warden_aws::runtime::config::https_client;
use warden_aws::runtime::tls::TrustRoots;
use warden_tests::{Emulator, repo_root};

/// The HTTPS front, killed when dropped.
struct TlsFront {
    child: Child,
    url: String,
}

impl TlsFront {
    fn start(upstream: &str) -> TlsFront {
        let fixtures = repo_root().join("tests/fixtures/tls");
        let upstream = upstream.trim_start_matches("http://").trim_end_matches('/');
        let mut child = Command::new("python3")
            .arg(repo_root().join("tests/emulator/tls_front.py"))
            .arg(fixtures.join("localhost.pem"))
            .arg(fixtures.join("localhost.key"))
            .arg(upstream)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut port = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut port)
            .unwrap();
        TlsFront {
            child,
            url: format!("https://localhost:{}", port.trim()),
        }
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn test_ca() -> TrustRoots {
    TrustRoots::from_bundle(&repo_root().join("tests/fixtures/tls/ca.pem")).unwrap()
}

async fn list_repositories(
    acct_sdk: &aws_config::SdkConfig,
    url: &str,
    roots: &TrustRoots,
) -> Result<usize, String> {
    let sdk = acct_sdk
        .to_builder()
        .http_client(https_client(roots))
        .endpoint_url(url)
        .build();
    aws_sdk_ecr::Client::new(&sdk)
        .describe_repositories()
        .send()
        .await
        .map(|out| out.repositories().len())
        .map_err(|e| DisplayErrorContext(e).to_string())
}

#[tokio::test]
async fn the_sdk_client_trusts_the_bundle_it_is_given_and_nothing_else() {
    let acct = Emulator::shared().account().await;
    acct.clients
        .ecr
        .create_repository()
        .repository_name("tls/app")
        .send()
        .await
        .unwrap();
    let front = TlsFront::start(&acct.emulator_url);

    let listed = list_repositories(&acct.sdk, &front.url, &test_ca()).await;
    assert_eq!(listed, Ok(1), "through TLS, verified against the test CA");

    // This machine's own roots (its bundle, else the platform's loader): a public CA set.
    let refused = list_repositories(&acct.sdk, &front.url, &TrustRoots::distribution())
        .await
        .unwrap_err();
    assert!(
        refused.contains("UnknownIssuer") || refused.contains("certificate"),
        "a server whose CA is not trusted is refused: {refused}"
    );
}

#[tokio::test]
async fn reqwest_gets_the_same_roots_as_the_sdk_client() {
    let front = TlsFront::start(&Emulator::shared().url);
    // No process-wide provider is installed here: the configuration carries its own (*ring*).
    let get = |roots: TrustRoots| {
        let url = format!("{}/moto-api/", front.url);
        async move {
            let tls = roots
                .rustls_config()
                .expect("a bundle gives reqwest its config");
            reqwest::Client::builder()
                .tls_backend_preconfigured(tls)
                .build()
                .unwrap()
                .get(url)
                .send()
                .await
                .map(|r| r.status().as_u16())
        }
    };
    assert_eq!(get(test_ca()).await.unwrap(), 200);
    if let roots @ TrustRoots::Bundle(_) = TrustRoots::distribution() {
        let refused = get(roots).await.unwrap_err();
        assert!(refused.is_connect(), "{refused:?}");
    }
}

/// scan-gate's signature payloads are fetched by hyper on the SDK's TLS stack (no reqwest in that
/// function): the same roots, the same refusal.
#[tokio::test]
async fn the_signature_payload_client_gets_the_same_roots() {
    use warden_aws::adapters::ecr::signatures::payload_client;
    let front = TlsFront::start(&Emulator::shared().url);
    let get = |roots: TrustRoots| {
        let uri: http::Uri = format!("{}/moto-api/", front.url).parse().unwrap();
        async move {
            let client = payload_client(&roots).unwrap();
            client.get(uri).await.map(|r| r.status().as_u16())
        }
    };
    assert_eq!(get(test_ca()).await.unwrap(), 200);
    if let roots @ TrustRoots::Bundle(_) = TrustRoots::distribution() {
        let refused = get(roots).await.unwrap_err();
        assert!(refused.is_connect(), "{refused:?}");
    }
}
