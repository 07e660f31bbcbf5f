//! Images: blobs and manifests pushed through ECR's API, and synthetic OCI manifests and indexes.

use serde_json::{Value, json};
use warden_core::names::Digest;

use crate::TestAccount;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

impl TestAccount {
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
        put_image(&ecr, repository, manifest, OCI_MANIFEST, tag).await
    }

    /// Push what `docker buildx build --push -t <tag>` pushes, blobs and all: the platform image
    /// (`layers`), its provenance attestation, and the index naming both under `tag`. Returns
    /// (index, platform image, attestation) digests.
    pub async fn push_buildx(
        &self,
        region: &str,
        repository: &str,
        seed: &str,
        layers: &[Vec<u8>],
        tag: &str,
    ) -> (Digest, Digest, Digest) {
        let (platform, _) = self
            .push_layers(region, repository, seed, layers, None)
            .await;
        let ecr = self.ecr_in(region);
        let config = br#"{"architecture":"unknown","os":"unknown","config":{},"rootfs":{"type":"layers","diff_ids":[]}}"#;
        let statement = format!(
            r#"{{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://slsa.dev/provenance/v0.2","subject":[{{"name":"{repository}","digest":{{"sha256":"{}"}}}}]}}"#,
            &platform.as_str()[7..]
        );
        let config_digest = self.upload_blob(&ecr, repository, config).await;
        let statement_digest = self
            .upload_blob(&ecr, repository, statement.as_bytes())
            .await;
        let manifest = attestation_manifest(
            (&config_digest, config.len()),
            (&statement_digest, statement.len()),
        );
        let (attestation, _) = put_image(&ecr, repository, manifest, OCI_MANIFEST, None).await;
        let index = buildx_index(&platform, &attestation);
        let (index, _) = put_image(&ecr, repository, index, OCI_INDEX, Some(tag)).await;
        (index, platform, attestation)
    }

    /// Push an OCI 1.1 referrer as `oras attach --artifact-type <type>` does, blobs and all: an
    /// image manifest with an `artifactType`, the empty config, one layer (`content`) and a
    /// `subject` naming `subject` (untagged). Returns its digest.
    pub async fn push_referrer(
        &self,
        region: &str,
        repository: &str,
        subject: &Digest,
        artifact_type: &str,
        content: &[u8],
    ) -> Digest {
        let ecr = self.ecr_in(region);
        let empty = self.upload_blob(&ecr, repository, b"{}").await;
        let layer = self.upload_blob(&ecr, repository, content).await;
        let (subject_bytes, subject_type) = {
            let got = ecr
                .batch_get_image()
                .repository_name(repository)
                .image_ids(
                    aws_sdk_ecr::types::ImageIdentifier::builder()
                        .image_digest(subject.as_str())
                        .build(),
                )
                .accepted_media_types(OCI_MANIFEST)
                .accepted_media_types(OCI_INDEX)
                .send()
                .await
                .expect("the subject");
            let image = &got.images()[0];
            (
                image.image_manifest().unwrap_or_default().len(),
                image
                    .image_manifest_media_type()
                    .unwrap_or(OCI_MANIFEST)
                    .to_owned(),
            )
        };
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": artifact_type,
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
            "layers": [{"mediaType": artifact_type, "digest": layer, "size": content.len()}],
            "subject": {"mediaType": subject_type, "digest": subject, "size": subject_bytes},
            "annotations": {"org.opencontainers.image.created": "2026-12-01T00:00:00Z"},
        })
        .to_string();
        put_image(&ecr, repository, manifest, OCI_MANIFEST, None)
            .await
            .0
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

    /// A cosign signature of `subject` as `cosign sign --key` stores it (the tag scheme): the
    /// simple-signing `payload` and a config as blobs, and the manifest tagged
    /// `sha256-<hex>.sig` whose layer carries `signature` (base64 DER) in its annotation.
    pub async fn push_cosign_signature(
        &self,
        repository: &str,
        subject: &Digest,
        payload: &[u8],
        signature: &str,
    ) -> Digest {
        let manifest = self
            .cosign_manifest(repository, payload, signature, json!({}))
            .await;
        let tag = format!(
            "sha256-{}.sig",
            subject.as_str().trim_start_matches("sha256:")
        );
        self.push_manifest(repository, &manifest.to_string(), OCI_MANIFEST, Some(&tag))
            .await
            .0
    }

    /// The same signature as `cosign sign --registry-referrers-mode=oci-1-1` stores it: an
    /// untagged OCI 1.1 referrer of `subject` (artifact type
    /// `application/vnd.dev.cosign.artifact.sig.v1+json`).
    pub async fn push_cosign_referrer(
        &self,
        repository: &str,
        subject: &Digest,
        payload: &[u8],
        signature: &str,
    ) -> Digest {
        let (subject_type, subject_size) = self.manifest_of(repository, subject).await;
        let referrer = json!({
            "artifactType": "application/vnd.dev.cosign.artifact.sig.v1+json",
            "subject": {"mediaType": subject_type, "digest": subject, "size": subject_size},
        });
        let manifest = self
            .cosign_manifest(repository, payload, signature, referrer)
            .await;
        self.push_manifest(repository, &manifest.to_string(), OCI_MANIFEST, None)
            .await
            .0
    }

    /// A cosign signature manifest (its blobs uploaded), with `extra` members.
    async fn cosign_manifest(
        &self,
        repository: &str,
        payload: &[u8],
        signature: &str,
        extra: Value,
    ) -> Value {
        let ecr = &self.clients.ecr;
        let config = self.upload_blob(ecr, repository, b"{}").await;
        let layer = self.upload_blob(ecr, repository, payload).await;
        let mut manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 2},
            "layers": [{
                "mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
                "digest": layer, "size": payload.len(),
                "annotations": {"dev.cosignproject.cosign/signature": signature},
            }],
        });
        if let (Some(manifest), Value::Object(extra)) = (manifest.as_object_mut(), extra) {
            manifest.extend(extra);
        }
        manifest
    }

    /// A Notation signature of `subject` as `notation sign` stores it with the OCI 1.1 referrers
    /// API: the envelope as a blob and an untagged manifest of artifact type
    /// `application/vnd.cncf.notary.signature` whose `subject` is the image.
    pub async fn push_notation_signature(
        &self,
        repository: &str,
        subject: &Digest,
        envelope: &[u8],
    ) -> Digest {
        let ecr = &self.clients.ecr;
        let config = self.upload_blob(ecr, repository, b"{}").await;
        let layer = self.upload_blob(ecr, repository, envelope).await;
        let (subject_type, subject_size) = self.manifest_of(repository, subject).await;
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": "application/vnd.cncf.notary.signature",
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": config, "size": 2},
            "layers": [{"mediaType": "application/jose+json", "digest": layer, "size": envelope.len()}],
            "subject": {"mediaType": subject_type, "digest": subject, "size": subject_size},
            "annotations": {"org.opencontainers.image.created": "2026-12-06T00:00:00Z"},
        })
        .to_string();
        self.push_manifest(repository, &manifest, OCI_MANIFEST, None)
            .await
            .0
    }

    /// An image's manifest media type and size (1 BatchGetImage).
    async fn manifest_of(&self, repository: &str, digest: &Digest) -> (String, usize) {
        let got = self
            .clients
            .ecr
            .batch_get_image()
            .repository_name(repository)
            .image_ids(
                aws_sdk_ecr::types::ImageIdentifier::builder()
                    .image_digest(digest.as_str())
                    .build(),
            )
            .send()
            .await
            .expect("BatchGetImage");
        let image = got.images().first().expect("the subject image");
        (
            image
                .image_manifest_media_type()
                .unwrap_or(OCI_MANIFEST)
                .to_owned(),
            image.image_manifest().unwrap_or_default().len(),
        )
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
        put_image(&self.clients.ecr, repository, manifest, media_type, tag).await
    }
}

/// PutImage of exact manifest bytes through `ecr` (the account's counted client, or one of
/// another region); returns the image's digest and the bytes.
async fn put_image(
    ecr: &aws_sdk_ecr::Client,
    repository: &str,
    manifest: String,
    media_type: &str,
    tag: Option<&str>,
) -> (Digest, String) {
    let mut put = ecr
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

/// A cosign signature as `cosign sign --key` pushes it under `sha256-<hex>.sig`: an ordinary OCI
/// image manifest (image config media type) whose one layer is the simple-signing payload, the
/// signature in its `dev.cosignproject.cosign/signature` annotation.
pub fn cosign_signature(subject: &Digest) -> String {
    json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": fake_digest(&format!("sig-config-{subject}")), "size": 233},
        "layers": [{
            "mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
            "digest": fake_digest(&format!("sig-payload-{subject}")), "size": 250,
            "annotations": {"dev.cosignproject.cosign/signature": "MEUCIQDx1yM3Qb8S8Fq5TQh2v7P3uV1nY1Q2X9ZrXb4f0aWq7AIgP2b9W2d1Gf4j4m3Y5nq2ZkX6Q8tR3uV0c1Yx2Z8aA9s="},
        }],
    })
    .to_string()
}

/// The attestation manifest `docker buildx build --push` adds for a platform image: an image
/// manifest whose layer is an in-toto statement (SLSA provenance). Its blobs are named, not pushed.
pub fn buildx_attestation(platform: &Digest) -> String {
    attestation_manifest(
        (&fake_digest(&format!("att-config-{platform}")), 167),
        (&fake_digest(&format!("att-provenance-{platform}")), 1532),
    )
}

fn attestation_manifest(config: (&Digest, usize), statement: (&Digest, usize)) -> String {
    json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config.0, "size": config.1},
        "layers": [{
            "mediaType": "application/vnd.in-toto+json",
            "digest": statement.0, "size": statement.1,
            "annotations": {"in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2"},
        }],
    })
    .to_string()
}

/// The OCI index `docker buildx build --push` sends by default: the platform image and its
/// attestation manifest (platform `unknown/unknown`, annotated with the image it describes).
pub fn buildx_index(platform: &Digest, attestation: &Digest) -> String {
    json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": platform, "size": 673,
             "platform": {"architecture": "amd64", "os": "linux"}},
            {"mediaType": OCI_MANIFEST, "digest": attestation, "size": 566,
             "annotations": {"vnd.docker.reference.digest": platform, "vnd.docker.reference.type": "attestation-manifest"},
             "platform": {"architecture": "unknown", "os": "unknown"}},
        ],
    })
    .to_string()
}
