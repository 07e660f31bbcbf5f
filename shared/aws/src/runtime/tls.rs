//! The root certificates every HTTPS client of a function trusts, read once per process and shared
//! by the SDK's client and reqwest's (Slack webhooks, registry blobs).
//!
//! Where they come from, in order:
//! 1. `SSL_CERT_FILE` / `SSL_CERT_DIR` set: exactly those, read by each library's own loader
//!    (rustls-native-certs, which reads them as OpenSSL does).
//! 2. Otherwise the distribution's CA bundle: the first of [`BUNDLES`] that exists (on Lambda's
//!    provided.al2023 image, `/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem`).
//! 3. No bundle found, or none of its certificates usable: the libraries' own platform loaders.
//!
//! Why not always the platform loader: besides the bundle it reads every file in the hashed
//! directory (`/etc/ssl/certs`, ~290 opens on Debian), which the distributions generate from the
//! same source as the bundle (`update-ca-certificates`, `update-ca-trust`). That walk was the
//! largest single cost of a cold start (docs/benchmarks.md), and reqwest's verifier did it a second
//! time.
//! A certificate added only to the hashed directory is therefore not trusted: add it to the bundle
//! or point `SSL_CERT_FILE` at a file holding it.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use aws_smithy_http_client::tls::TrustStore;
use base64::Engine as _;
use memchr::{memchr_iter, memmem};
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// The distributions' CA bundles, in the order OpenSSL's probe (openssl-probe) tries them.
pub const BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt", // Debian, Ubuntu, Gentoo
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // Amazon Linux 2023, RHEL, CentOS
    "/etc/pki/tls/certs/ca-bundle.crt",   // Fedora, RHEL 6
    "/etc/ssl/ca-bundle.pem",             // openSUSE
    "/etc/pki/tls/cacert.pem",
    "/etc/ssl/cert.pem", // Alpine
];

const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const END: &str = "-----END CERTIFICATE-----";

/// The roots an HTTPS client verifies servers against.
#[derive(Debug, Clone)]
pub enum TrustRoots {
    /// Certificates read from one PEM bundle, each checked to be a usable trust anchor.
    Bundle(Arc<Bundle>),
    /// Each library loads the platform's roots itself (`SSL_CERT_FILE`/`SSL_CERT_DIR` honoured).
    Platform,
}

/// A PEM bundle's usable certificates: as a rustls store (reqwest) and as PEM (the SDK's client,
/// which takes PEM and parses it itself).
#[derive(Debug)]
pub struct Bundle {
    path: String,
    store: Arc<RootCertStore>,
    pem: Vec<u8>,
    skipped: usize,
}

impl Bundle {
    /// Where the certificates were read from.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// How many certificates are trusted.
    pub fn len(&self) -> usize {
        self.store.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.store.is_empty()
    }

    /// How many PEM certificate blocks were dropped: not base64, or not a certificate rustls can
    /// use as a trust anchor.
    pub fn skipped(&self) -> usize {
        self.skipped
    }
}

impl TrustRoots {
    /// The process's roots, read on first use (see the module doc for where from).
    pub fn shared() -> &'static TrustRoots {
        static ROOTS: OnceLock<TrustRoots> = OnceLock::new();
        ROOTS.get_or_init(|| {
            let set = |name| std::env::var_os(name).is_some_and(|v| !v.is_empty());
            if set("SSL_CERT_FILE") || set("SSL_CERT_DIR") {
                return TrustRoots::Platform;
            }
            TrustRoots::distribution()
        })
    }

    /// The first of [`BUNDLES`] that exists and holds a usable certificate, else the platform's
    /// loaders. (What [`TrustRoots::shared`] gives when `SSL_CERT_*` are unset.)
    pub fn distribution() -> TrustRoots {
        BUNDLES
            .iter()
            .find_map(|path| TrustRoots::from_bundle(Path::new(path)).ok())
            .unwrap_or(TrustRoots::Platform)
    }

    /// The usable certificates of the PEM bundle at `path`. Fails when it cannot be read or holds
    /// no usable certificate; blocks that do not parse are skipped (and counted).
    pub fn from_bundle(path: &Path) -> std::io::Result<TrustRoots> {
        let text = std::fs::read(path)?;
        let bundle = Bundle::parse(&path.display().to_string(), text);
        if bundle.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: no usable certificate", path.display()),
            ));
        }
        if bundle.skipped() > 0 {
            tracing::warn!(
                bundle = %bundle.path(),
                skipped = bundle.skipped(),
                "some certificates in the CA bundle are not usable and are not trusted"
            );
        }
        tracing::debug!(
            bundle = %bundle.path(),
            certificates = bundle.len(),
            "trusted roots read"
        );
        Ok(TrustRoots::Bundle(Arc::new(bundle)))
    }

    /// The SDK HTTP client's trust store.
    pub fn sdk_trust_store(&self) -> TrustStore {
        match self {
            // The SDK's client parses the PEM again and panics on a block it cannot use: it is
            // given only the blocks that parsed here.
            TrustRoots::Bundle(bundle) => {
                TrustStore::empty().with_pem_certificate(bundle.pem.clone())
            }
            TrustRoots::Platform => TrustStore::default(),
        }
    }

    /// A rustls client configuration (*ring*, TLS 1.2 and 1.3) for reqwest, or `None` to let
    /// reqwest's platform verifier load the roots itself.
    pub fn rustls_config(&self) -> Option<rustls::ClientConfig> {
        let TrustRoots::Bundle(bundle) = self else {
            return None;
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .ok()?
            .with_root_certificates(Arc::clone(&bundle.store))
            .with_no_client_auth();
        Some(config)
    }
}

/// A reqwest client builder on the SDK's TLS stack, rustls on *ring* (installed as the process's
/// provider unless one already is), verifying servers against [`TrustRoots::shared`]. Every
/// reqwest client of a function starts here (Slack webhooks, registry blobs).
#[cfg(any(feature = "notifier", feature = "replicator"))]
pub fn reqwest_builder() -> reqwest::ClientBuilder {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing this race to another thread installing *ring* first is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    let builder = reqwest::Client::builder();
    match TrustRoots::shared().rustls_config() {
        Some(tls) => builder.tls_backend_preconfigured(tls),
        None => builder,
    }
}

impl Bundle {
    fn parse(path: &str, text: Vec<u8>) -> Bundle {
        let mut store = RootCertStore::empty();
        let mut usable = Vec::new();
        let mut skipped = 0;
        for block in certificate_blocks(&text) {
            let ok = certificate(block).is_some_and(|der| store.add(der).is_ok());
            if ok {
                usable.push(block);
            } else {
                skipped += 1;
            }
        }
        // The usual case, a bundle of certificates that all parsed, is handed on as read: the PEM
        // reader the SDK's client uses passes over the text between them. Anything else is
        // rebuilt from the usable blocks alone.
        let pem = if skipped == 0 && sections(&text) == usable.len() {
            text
        } else {
            let mut pem = Vec::with_capacity(text.len());
            for block in usable {
                pem.extend_from_slice(block);
                pem.push(b'\n');
            }
            pem
        };
        Bundle {
            path: path.to_owned(),
            store: Arc::new(store),
            pem,
            skipped,
        }
    }
}

/// How many PEM sections of any kind `text` opens.
fn sections(text: &[u8]) -> usize {
    let mut rest = text;
    let mut count = 0;
    while let Some(at) = memmem::find(rest, b"-----BEGIN ") {
        count += 1;
        rest = &rest[at + 1..];
    }
    count
}

/// Each `-----BEGIN CERTIFICATE-----` … `-----END CERTIFICATE-----` block, markers included.
/// Other PEM sections (keys, `TRUSTED CERTIFICATE`) and text between blocks are passed over.
fn certificate_blocks(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = text;
    std::iter::from_fn(move || {
        let start = memmem::find(rest, BEGIN.as_bytes())?;
        let after_begin = start + BEGIN.len();
        let end = after_begin + memmem::find(&rest[after_begin..], END.as_bytes())? + END.len();
        let block = &rest[start..end];
        rest = &rest[end..];
        Some(block)
    })
}

/// The DER certificate of one `BEGIN CERTIFICATE` … `END CERTIFICATE` block. A body of base64
/// lines between marker lines is decoded line by line with a fast decoder (a trust bundle is
/// public: rustls' constant-time decoder was a fifth of a cold start); any other block is left to
/// rustls' PEM reader, which the SDK's client also uses, so a block this accepts is one that
/// reader accepts.
fn certificate(block: &[u8]) -> Option<CertificateDer<'static>> {
    let slow = || CertificateDer::from_pem_slice(block).ok();
    let body = &block[BEGIN.len()..block.len() - END.len()];
    let line_break = |b: Option<&u8>| matches!(b, Some(b'\n' | b'\r'));
    // rustls reads markers only as whole lines.
    if !(line_break(body.first()) && line_break(body.last())) {
        return slow();
    }
    // Line by line: each line of a canonical body is whole base64 quanta, padded only at the end
    // of the last; anything else (other whitespace, a short line) goes to rustls' reader.
    let mut der = vec![0; body.len() / 4 * 3];
    let mut decoded = 0;
    let mut ended = false;
    let mut start = 0;
    for end in memchr_iter(b'\n', body).chain([body.len()]) {
        let line = &body[start..end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        start = end + 1;
        if line.is_empty() {
            continue;
        }
        let into = &mut der[decoded..];
        match base64::engine::general_purpose::STANDARD.decode_slice(line, into) {
            Ok(n) if !ended => decoded += n,
            _ => return slow(),
        }
        ended = line.ends_with(b"=");
    }
    der.truncate(decoded);
    Some(CertificateDer::from(der))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CA: &[u8] = include_bytes!("../../../../tests/fixtures/tls/ca.pem");
    const LEAF: &[u8] = include_bytes!("../../../../tests/fixtures/tls/localhost.pem");

    /// What rustls' PEM reader (the one the SDK's client uses) makes of one block.
    fn by_rustls(block: &[u8]) -> Option<CertificateDer<'static>> {
        CertificateDer::from_pem_slice(block).ok()
    }

    #[test]
    fn the_fast_decoder_reads_every_block_as_rustls_pem_reader_does() {
        let mut blocks: Vec<Vec<u8>> = Vec::new();
        // The fixtures and, where this machine has one, the distribution's bundle.
        let mut texts = vec![CA.to_vec(), LEAF.to_vec()];
        texts.extend(BUNDLES.iter().filter_map(|path| std::fs::read(path).ok()));
        for text in &texts {
            blocks.extend(certificate_blocks(text).map(<[u8]>::to_vec));
        }
        let ca = certificate_blocks(CA).next().unwrap().to_vec();
        let text = String::from_utf8(ca.clone()).unwrap();
        // Line endings, whitespace, damage: each one path or the other must read it as rustls does.
        blocks.push(text.replace('\n', "\r\n").into_bytes());
        blocks.push(text.replacen("\nM", "\n M", 1).into_bytes());
        blocks.push(text.replacen("\nM", "\n\tM", 1).into_bytes());
        blocks.push(text.replacen("\nM", "\nM!", 1).into_bytes());
        blocks.push(text.replacen("=\n", "\n", 1).into_bytes());
        blocks.push(text.replacen("\nMII", "\nMI", 1).into_bytes());
        blocks.push(text.replacen("\nMII", "\nMI\nI", 1).into_bytes());
        blocks.push(text.replacen("==\n", "==\nAAAA\n", 1).into_bytes());
        blocks.push(text.replacen("\n", "\n\n", 3).into_bytes());
        let body_at = BEGIN.len() + 10;
        let mut no_breaks = ca[..body_at].to_vec();
        no_breaks.extend(ca[body_at..].iter().filter(|&&b| b != b'\n'));
        blocks.push(no_breaks);
        assert!(blocks.len() > 8);
        for block in &blocks {
            assert_eq!(
                certificate(block),
                by_rustls(block),
                "{}",
                String::from_utf8_lossy(block)
            );
        }
    }

    fn bundle(roots: &TrustRoots) -> &Bundle {
        match roots {
            TrustRoots::Bundle(bundle) => bundle,
            TrustRoots::Platform => panic!("expected a bundle"),
        }
    }

    #[test]
    fn a_bundle_keeps_each_usable_certificate_and_skips_the_rest() {
        let broken = format!("{BEGIN}\nnot base64 at all!\n{END}\n");
        let key = "-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n";
        let mut text =
            b"# a comment line, as in Debian's bundle\n--- a rule, not a marker ---\n".to_vec();
        text.extend_from_slice(CA);
        text.extend_from_slice(broken.as_bytes());
        text.extend_from_slice(key.as_bytes());
        text.extend_from_slice(LEAF);
        let parsed = Bundle::parse("test", text);
        assert_eq!((parsed.len(), parsed.skipped()), (2, 1));
        // The PEM handed to the SDK's client is the two usable blocks, nothing else.
        let ders: Vec<_> = CertificateDer::pem_slice_iter(&parsed.pem)
            .collect::<Result<_, _>>()
            .expect("PEM the SDK client can parse");
        assert_eq!(ders.len(), 2);
        assert!(!String::from_utf8_lossy(&parsed.pem).contains("PRIVATE KEY"));
    }

    #[test]
    fn a_bundle_whose_certificates_all_parse_is_handed_on_as_read() {
        let mut text = b"# Debian's bundle has no comments, others do\n".to_vec();
        text.extend_from_slice(CA);
        text.extend_from_slice(LEAF);
        let parsed = Bundle::parse("test", text.clone());
        assert_eq!((parsed.len(), parsed.skipped()), (2, 0));
        assert_eq!(parsed.pem, text);
        // Another section kind, even a well-formed one, is not handed to the SDK's client.
        text.extend_from_slice(
            b"-----BEGIN TRUSTED CERTIFICATE-----\nMIIB\n-----END TRUSTED CERTIFICATE-----\n",
        );
        let parsed = Bundle::parse("test", text.clone());
        assert_eq!((parsed.len(), parsed.skipped()), (2, 0));
        assert!(!String::from_utf8_lossy(&parsed.pem).contains("TRUSTED"));
    }

    #[test]
    fn a_bundle_file_is_read_once_into_both_forms() {
        let dir = std::env::temp_dir().join(format!("warden-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("bundle.pem");
        std::fs::write(&path, CA).expect("write bundle");
        let roots = TrustRoots::from_bundle(&path).expect("a usable bundle");
        assert_eq!(bundle(&roots).len(), 1);
        assert_eq!(bundle(&roots).path(), path.display().to_string());
        assert!(roots.rustls_config().is_some());
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_bundle_without_a_usable_certificate_is_refused() {
        let dir = std::env::temp_dir().join(format!("warden-tls-empty-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("bundle.pem");
        std::fs::write(&path, b"no certificates here\n").expect("write bundle");
        let error = TrustRoots::from_bundle(&path).expect_err("nothing to trust");
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
        assert!(
            error.to_string().contains("no usable certificate"),
            "{error}"
        );
        let missing = TrustRoots::from_bundle(&dir.join("absent.pem")).expect_err("no file");
        assert_eq!(missing.kind(), std::io::ErrorKind::NotFound);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn platform_roots_leave_reqwest_to_its_own_verifier() {
        assert!(TrustRoots::Platform.rustls_config().is_none());
    }

    #[test]
    fn an_unterminated_block_ends_the_bundle() {
        let text = format!("{BEGIN}\nMIIB\n");
        assert_eq!(certificate_blocks(text.as_bytes()).count(), 0);
    }
}
