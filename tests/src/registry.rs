//! Real OCI registries for the copy tests: CNCF distribution (Debian `docker-registry`) on
//! 127.0.0.1 with its own config file and storage, and test images laid out as OCI image layouts
//! and pushed with `skopeo` — no Docker anywhere.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use warden_core::names::Digest;

/// One running registry; stopped (and its storage removed) on drop.
pub struct Distribution {
    /// `http://127.0.0.1:<port>`
    pub base: String,
    /// `127.0.0.1:<port>`, as skopeo names it.
    pub host: String,
    dir: PathBuf,
    child: Child,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn scratch(name: &str) -> PathBuf {
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("warden-{name}-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

impl Distribution {
    /// Start a registry; panics with what to install when the binary is missing.
    pub fn start() -> Self {
        let dir = scratch("registry");
        let port = free_port();
        let config = dir.join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
                dir.join("data").display()
            ),
        )
        .expect("registry config");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("docker-registry (Debian package docker-registry, CNCF distribution): {e}")
            });
        let host = format!("127.0.0.1:{port}");
        let started = Instant::now();
        while std::net::TcpStream::connect(&host).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "docker-registry did not listen on {host}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            base: format!("http://{host}"),
            host,
            dir,
            child,
        }
    }

    /// `skopeo inspect --raw`: the manifest bytes the registry serves for `reference`
    /// (`repo:tag` or `repo@sha256:…`).
    pub fn inspect_raw(&self, reference: &str) -> String {
        skopeo(&[
            "inspect",
            "--raw",
            "--tls-verify=false",
            &format!("docker://{}/{reference}", self.host),
        ])
    }
}

impl Drop for Distribution {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn skopeo(args: &[&str]) -> String {
    let out = Command::new("skopeo")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("skopeo (Debian package skopeo): {e}"));
    assert!(
        out.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("skopeo output")
}

/// An OCI image layout on disk, built blob by blob, then pushed with `skopeo copy --all`.
pub struct Layout {
    dir: PathBuf,
    refs: Vec<Value>,
}

impl Default for Layout {
    fn default() -> Self {
        Self::new()
    }
}

impl Layout {
    pub fn new() -> Self {
        let dir = scratch("layout");
        std::fs::create_dir_all(dir.join("blobs/sha256")).expect("layout dir");
        std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#)
            .expect("oci-layout");
        Self {
            dir,
            refs: Vec::new(),
        }
    }

    fn blob(&self, bytes: &[u8]) -> Digest {
        let digest = Digest::of_bytes(bytes);
        std::fs::write(
            self.dir.join("blobs/sha256").join(&digest.as_str()[7..]),
            bytes,
        )
        .expect("blob");
        digest
    }

    /// An image of `layers` (gzip'd tars in the manifest's terms; bytes as given) for `arch`;
    /// returns its manifest's digest and size.
    pub fn image(&self, arch: &str, layers: &[Vec<u8>]) -> (Digest, usize) {
        let config = json!({"architecture": arch, "os": "linux", "rootfs": {"type": "layers",
            "diff_ids": layers.iter().map(|l| Digest::of_bytes(l)).collect::<Vec<_>>()}})
        .to_string();
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": self.blob(config.as_bytes()), "size": config.len()},
            "layers": layers.iter().map(|l| json!({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": self.blob(l), "size": l.len()})).collect::<Vec<_>>(),
        })
        .to_string();
        (self.blob(manifest.as_bytes()), manifest.len())
    }

    /// An index over `children` ((digest, size, arch)); returns its digest and size.
    pub fn index(&self, children: &[(Digest, usize, &str)]) -> (Digest, usize) {
        let index = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": children.iter().map(|(d, size, arch)| json!({
                "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": d, "size": size,
                "platform": {"architecture": arch, "os": "linux"}})).collect::<Vec<_>>(),
        })
        .to_string();
        (self.blob(index.as_bytes()), index.len())
    }

    /// Name a manifest `tag` in the layout.
    pub fn tag(&mut self, tag: &str, digest: &Digest, size: usize, media_type: &str) {
        self.refs.push(
            json!({"mediaType": media_type, "digest": digest, "size": size,
            "annotations": {"org.opencontainers.image.ref.name": tag}}),
        );
        let index = json!({"schemaVersion": 2, "manifests": self.refs}).to_string();
        std::fs::write(self.dir.join("index.json"), index).expect("index.json");
    }

    /// `skopeo copy --all --preserve-digests` of `tag` to `registry`/`repository`:`tag`.
    pub fn push(&self, tag: &str, registry: &Distribution, repository: &str) {
        skopeo(&[
            "copy",
            "--all",
            "--preserve-digests",
            "--dest-tls-verify=false",
            &format!("oci:{}:{tag}", self.dir.display()),
            &format!("docker://{}/{repository}:{tag}", registry.host),
        ]);
    }
}

impl Drop for Layout {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
