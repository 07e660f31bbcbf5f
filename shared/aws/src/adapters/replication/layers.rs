//! One blob from source to destination: a streaming GET, the bytes re-cut into the destination's
//! parts and sent in order, the sha256 checked while streaming. A blob is never held whole in
//! memory (at most one part), and one whose bytes do not match its digest is never finished —
//! the upload is abandoned and nothing refers to it.

use sha2::Digest as _;
use warden_core::names::RepositoryName;
use warden_core::ports::PortError;
use warden_core::replicate::image::Blob;

use super::endpoint::{CopySource, CopyTarget, UploadSession};
use super::{DOWNLOAD, download_error};

/// Where a blob comes from and goes to.
pub(super) struct Route<'a> {
    pub source: &'a dyn CopySource,
    pub source_repository: &'a RepositoryName,
    pub destination: &'a dyn CopyTarget,
    pub destination_repository: &'a RepositoryName,
}

/// Copy `blob`; returns the bytes uploaded. Calls: the source's blob download, the destination's
/// upload start, one call per part, the finish.
pub(super) async fn transfer(
    http: &reqwest::Client,
    route: &Route<'_>,
    blob: &Blob,
) -> Result<u64, PortError> {
    let mut response = route
        .source
        .open_blob(http, route.source_repository, &blob.digest)
        .await?;
    let mut upload = route
        .destination
        .start_upload(route.destination_repository)
        .await?;
    match stream(&mut response, upload.as_mut(), blob).await {
        Ok(sent) => {
            upload.finish(&blob.digest).await?;
            Ok(sent)
        }
        Err(e) => {
            upload.abandon().await;
            Err(e)
        }
    }
}

/// Send the response's bytes in parts; `Err` when they do not hash to the blob's digest or their
/// length is not the declared size.
async fn stream(
    response: &mut reqwest::Response,
    upload: &mut dyn UploadSession,
    blob: &Blob,
) -> Result<u64, PortError> {
    let part_size = upload.part_size().max(1);
    let mut hasher = sha2::Sha256::new();
    let mut part: Vec<u8> = Vec::with_capacity(part_size);
    let mut sent: u64 = 0;
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| download_error(&blob.digest, e))?
    {
        hasher.update(&chunk);
        let mut rest: &[u8] = &chunk;
        while !rest.is_empty() {
            let take = (part_size - part.len()).min(rest.len());
            part.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if part.len() == part_size {
                let full = std::mem::replace(&mut part, Vec::with_capacity(part_size));
                let len = full.len() as u64;
                upload.part(sent, full).await?;
                sent += len;
            }
        }
    }
    if !part.is_empty() {
        let len = part.len() as u64;
        upload.part(sent, part).await?;
        sent += len;
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
    Ok(sent)
}
