//! One layer from the source registry to the destination through the ECR API: a download URL,
//! a streaming GET, the bytes re-cut into the destination's parts and uploaded in order, the
//! sha256 checked while streaming. A layer is never held whole in memory (at most one part), and a
//! layer whose bytes do not match its digest is never completed — nothing refers to it.

use sha2::Digest as _;
use warden_core::names::{Digest, RepositoryName};
use warden_core::ports::PortError;
use warden_core::replicate::image::Blob;

use crate::adapters::ecr::EcrRegistry;

/// The part size when the destination does not say (ECR accepts 5–20 MiB parts).
const DEFAULT_PART: u64 = 10 * 1024 * 1024;
const DOWNLOAD: &str = "layer download";

/// Where a layer comes from and goes to.
pub(super) struct Route<'a> {
    pub source: &'a EcrRegistry,
    pub source_repository: &'a RepositoryName,
    pub destination: &'a EcrRegistry,
    pub destination_repository: &'a RepositoryName,
}

/// Copy `blob`; returns the bytes uploaded. Calls: 1 GetDownloadUrlForLayer, 1
/// InitiateLayerUpload, ⌈size/part⌉ UploadLayerPart, 1 CompleteLayerUpload.
pub(super) async fn transfer(
    http: &reqwest::Client,
    route: &Route<'_>,
    blob: &Blob,
) -> Result<u64, PortError> {
    let url = route
        .source
        .layer_download_url(route.source_repository, &blob.digest)
        .await?;
    // The URL is pre-signed (a credential): errors are stripped of it.
    let mut response = http
        .get(url)
        .send()
        .await
        .map_err(|e| transient(&blob.digest, e.without_url()))?;
    if !response.status().is_success() {
        return Err(PortError::Transient {
            operation: DOWNLOAD,
            message: format!("layer {}: HTTP {}", blob.digest, response.status()),
        });
    }
    let (upload_id, part_size) = route
        .destination
        .initiate_layer_upload(route.destination_repository)
        .await?;
    let part_size = usize::try_from(part_size.unwrap_or(DEFAULT_PART)).unwrap_or(usize::MAX);
    let mut hasher = sha2::Sha256::new();
    let mut part: Vec<u8> = Vec::with_capacity(part_size);
    let mut sent: u64 = 0;
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| transient(&blob.digest, e.without_url()))?
    {
        hasher.update(&chunk);
        let mut rest: &[u8] = &chunk;
        while !rest.is_empty() {
            let take = (part_size - part.len()).min(rest.len());
            part.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if part.len() == part_size {
                let full = std::mem::replace(&mut part, Vec::with_capacity(part_size));
                sent += upload(route, &upload_id, sent, full).await?;
            }
        }
    }
    if !part.is_empty() {
        sent += upload(route, &upload_id, sent, part).await?;
    }
    let actual = format!("sha256:{}", hex::encode(hasher.finalize()));
    if actual != blob.digest.as_str() {
        return Err(PortError::Transient {
            operation: DOWNLOAD,
            message: format!(
                "layer {}: the downloaded bytes hash to {actual}; the upload is abandoned and nothing refers to it",
                blob.digest
            ),
        });
    }
    if let Some(declared) = blob.size.filter(|s| *s != sent) {
        return Err(PortError::Invalid {
            operation: DOWNLOAD,
            message: format!(
                "layer {}: {sent} bytes, the manifest declares {declared}",
                blob.digest
            ),
        });
    }
    route
        .destination
        .complete_layer_upload(route.destination_repository, &upload_id, &blob.digest)
        .await?;
    Ok(sent)
}

async fn upload(
    route: &Route<'_>,
    upload_id: &str,
    first: u64,
    part: Vec<u8>,
) -> Result<u64, PortError> {
    let len = part.len() as u64;
    route
        .destination
        .upload_layer_part(route.destination_repository, upload_id, first, part)
        .await?;
    Ok(len)
}

fn transient(digest: &Digest, error: reqwest::Error) -> PortError {
    PortError::Transient {
        operation: DOWNLOAD,
        message: format!("layer {digest}: {error}"),
    }
}
