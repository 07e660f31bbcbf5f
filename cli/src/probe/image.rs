//! Tiny images for the probe, pushed through ECR's API as a client pushes them: each blob uploaded
//! (InitiateLayerUpload, one UploadLayerPart, CompleteLayerUpload), then the manifest (PutImage).

use anyhow::Context as _;
use aws_sdk_ecr::primitives::Blob;
use aws_sdk_ecr::types::ImageIdentifier;
use serde_json::json;
use warden_core::names::Digest;

pub(super) const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// An image the probe pushed: its digest and exact manifest bytes.
pub(super) struct Pushed {
    pub digest: Digest,
    pub manifest: String,
}

/// Upload one blob (a single part: ECR's minimum part size binds only parts before the last).
pub(super) async fn upload_blob(
    ecr: &aws_sdk_ecr::Client,
    repository: &str,
    bytes: &[u8],
) -> anyhow::Result<Digest> {
    let digest = Digest::of_bytes(bytes);
    let started = ecr
        .initiate_layer_upload()
        .repository_name(repository)
        .send()
        .await
        .context("ecr:InitiateLayerUpload")?;
    let upload = started
        .upload_id()
        .context("InitiateLayerUpload: no upload id")?;
    let last = i64::try_from(bytes.len()).context("blob size")? - 1;
    ecr.upload_layer_part()
        .repository_name(repository)
        .upload_id(upload)
        .part_first_byte(0)
        .part_last_byte(last)
        .layer_part_blob(Blob::new(bytes.to_vec()))
        .send()
        .await
        .context("ecr:UploadLayerPart")?;
    let done = ecr
        .complete_layer_upload()
        .repository_name(repository)
        .upload_id(upload)
        .layer_digests(digest.as_str())
        .send()
        .await;
    match done {
        Ok(_) => Ok(digest),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_layer_already_exists_exception()) =>
        {
            Ok(digest)
        }
        Err(e) => Err(e).context("ecr:CompleteLayerUpload"),
    }
}

/// Push a tiny image named by `seed` (its own config and one layer) under `tag`.
pub(super) async fn push(
    ecr: &aws_sdk_ecr::Client,
    repository: &str,
    seed: &str,
    tag: &str,
) -> anyhow::Result<Pushed> {
    let image = prepare(ecr, repository, seed).await?;
    put(ecr, repository, &image.manifest, tag)
        .await
        .context("ecr:PutImage")?;
    Ok(image)
}

/// Upload a tiny image's blobs (its own config and one layer, named by `seed`); the manifest that
/// names them is returned, not put.
pub(super) async fn prepare(
    ecr: &aws_sdk_ecr::Client,
    repository: &str,
    seed: &str,
) -> anyhow::Result<Pushed> {
    let config =
        json!({"architecture": "amd64", "os": "linux", "ecr-warden-probe": seed}).to_string();
    let layer = format!("ecr-warden probe layer {seed}\n");
    let config_digest = upload_blob(ecr, repository, config.as_bytes()).await?;
    let layer_digest = upload_blob(ecr, repository, layer.as_bytes()).await?;
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": layer.len()}],
    })
    .to_string();
    Ok(Pushed {
        digest: Digest::of_bytes(manifest.as_bytes()),
        manifest,
    })
}

/// PutImage of exact manifest bytes under `tag`.
pub(super) async fn put(
    ecr: &aws_sdk_ecr::Client,
    repository: &str,
    manifest: &str,
    tag: &str,
) -> Result<(), aws_sdk_ecr::error::SdkError<aws_sdk_ecr::operation::put_image::PutImageError>> {
    ecr.put_image()
        .repository_name(repository)
        .image_manifest(manifest)
        .image_manifest_media_type(OCI_MANIFEST)
        .image_tag(tag)
        .send()
        .await
        .map(|_| ())
}

pub(super) fn by_digest(digest: &Digest) -> ImageIdentifier {
    ImageIdentifier::builder()
        .image_digest(digest.as_str())
        .build()
}
