//! The ECR calls a copy makes, on the source registry (the image, layer download URLs; its
//! referrers: `referrers.rs`) and on the destination (layer availability, layer uploads, manifests); the repository a
//! copy creates: `repository_create.rs`.

use std::collections::BTreeSet;

use aws_sdk_ecr::operation::batch_check_layer_availability::BatchCheckLayerAvailabilityError;
use aws_sdk_ecr::operation::put_image::PutImageError;
use aws_sdk_ecr::primitives::Blob as SdkBlob;
use aws_sdk_ecr::types::LayerAvailability;
use warden_core::names::{Digest, RepositoryName, Tag};
use warden_core::ports::PortError;
use warden_core::records::Manifest;

use super::{EcrRegistry, invalid};
use crate::adapters::replication::Put;
use crate::runtime::errors::port_error;

/// ECR's BatchCheckLayerAvailability limit on digests per call.
pub const MAX_LAYER_CHECK_DIGESTS: usize = 100;

impl EcrRegistry {
    /// The image `digest` and whichever of `tags` exist: the image's manifest (`None` when it is
    /// gone) and the tagged manifests found, with their tags. One BatchGetImage (results matched by
    /// digest); when it finds other images, one DescribeImages of them says which tag each holds.
    pub async fn image_and_tagged(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
        tags: &[Tag],
    ) -> Result<(Option<Manifest>, Vec<(Tag, Manifest)>), PortError> {
        let (image, others) = self.image_and_others(repository, digest, tags).await?;
        if others.is_empty() {
            return Ok((image, Vec::new()));
        }
        let found = others.iter().map(|m| m.digest.clone()).collect();
        let tagged = self
            .owners_among(repository, tags, found)
            .await?
            .into_iter()
            .filter_map(|(tag, owner)| {
                let manifest = others.iter().find(|m| Some(&m.digest) == owner.as_ref())?;
                Some((tag, manifest.clone()))
            })
            .collect();
        Ok((image, tagged))
    }

    /// Which of `digests` the repository has; `None` when the repository does not exist.
    /// ⌈n/100⌉ BatchCheckLayerAvailability calls.
    pub async fn available_layers(
        &self,
        repository: &RepositoryName,
        digests: &[Digest],
    ) -> Result<Option<BTreeSet<Digest>>, PortError> {
        const OP: &str = "ecr:BatchCheckLayerAvailability";
        let mut available = BTreeSet::new();
        for chunk in digests.chunks(MAX_LAYER_CHECK_DIGESTS) {
            let out = self
                .client
                .batch_check_layer_availability()
                .set_registry_id(self.registry_id.clone())
                .repository_name(repository.as_str())
                .set_layer_digests(Some(chunk.iter().map(|d| d.as_str().to_owned()).collect()))
                .send()
                .await;
            let out = match out {
                Ok(out) => out,
                Err(e)
                    if matches!(
                        e.as_service_error(),
                        Some(BatchCheckLayerAvailabilityError::RepositoryNotFoundException(_))
                    ) =>
                {
                    return Ok(None);
                }
                Err(e) => return Err(port_error(OP, e)),
            };
            for layer in out.layers() {
                if layer.layer_availability() == Some(&LayerAvailability::Available)
                    && let Some(d) = layer.layer_digest().and_then(|d| Digest::new(d).ok())
                {
                    available.insert(d);
                }
            }
        }
        Ok(Some(available))
    }

    /// Start a layer upload: its id and the part size ECR expects. One InitiateLayerUpload.
    pub async fn initiate_layer_upload(
        &self,
        repository: &RepositoryName,
    ) -> Result<(String, Option<u64>), PortError> {
        const OP: &str = "ecr:InitiateLayerUpload";
        let out = self
            .client
            .initiate_layer_upload()
            .set_registry_id(self.registry_id.clone())
            .repository_name(repository.as_str())
            .send()
            .await
            .map_err(|e| port_error(OP, e))?;
        let id = out.upload_id.ok_or_else(|| invalid(OP, "no upload id"))?;
        Ok((id, out.part_size.and_then(|s| u64::try_from(s).ok())))
    }

    /// Upload bytes `first..first + part.len()` of a layer (parts in order). One UploadLayerPart.
    pub async fn upload_layer_part(
        &self,
        repository: &RepositoryName,
        upload_id: &str,
        first: u64,
        part: Vec<u8>,
    ) -> Result<(), PortError> {
        const OP: &str = "ecr:UploadLayerPart";
        let last = first + part.len() as u64 - 1;
        let (first, last) = (
            i64::try_from(first).map_err(|e| invalid(OP, e))?,
            i64::try_from(last).map_err(|e| invalid(OP, e))?,
        );
        self.client
            .upload_layer_part()
            .set_registry_id(self.registry_id.clone())
            .repository_name(repository.as_str())
            .upload_id(upload_id)
            .part_first_byte(first)
            .part_last_byte(last)
            .layer_part_blob(SdkBlob::new(part))
            .send()
            .await
            .map_err(|e| port_error(OP, e))?;
        Ok(())
    }

    /// Finish a layer upload as `digest` (ECR checks it against the bytes). One
    /// CompleteLayerUpload; a layer that exists already counts as done.
    pub async fn complete_layer_upload(
        &self,
        repository: &RepositoryName,
        upload_id: &str,
        digest: &Digest,
    ) -> Result<(), PortError> {
        const OP: &str = "ecr:CompleteLayerUpload";
        match self
            .client
            .complete_layer_upload()
            .set_registry_id(self.registry_id.clone())
            .repository_name(repository.as_str())
            .upload_id(upload_id)
            .layer_digests(digest.as_str())
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_layer_already_exists_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(port_error(OP, e)),
        }
    }

    /// Put the exact manifest bytes (the digest is preserved), under `tag` or untagged. One
    /// PutImage; "already exists" is [`Put::Present`], an immutable tag held by another image is
    /// [`Put::TagTaken`] (one DescribeImages by tag tells the two apart when ECR answers
    /// `ImageTagAlreadyExistsException`).
    pub async fn put_manifest(
        &self,
        repository: &RepositoryName,
        manifest: &Manifest,
        tag: Option<&Tag>,
    ) -> Result<Put, PortError> {
        const OP: &str = "ecr:PutImage";
        let result = self
            .client
            .put_image()
            .set_registry_id(self.registry_id.clone())
            .repository_name(repository.as_str())
            .image_manifest(&manifest.bytes)
            .set_image_manifest_media_type(manifest.media_type.clone())
            .image_digest(manifest.digest.as_str())
            .set_image_tag(tag.map(|t| t.as_str().to_owned()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Put::Put),
            Err(e) => match (e.as_service_error(), tag) {
                (Some(PutImageError::ImageAlreadyExistsException(_)), _) => Ok(Put::Present),
                // The same manifest under an immutable tag it already holds may be answered either
                // way (docs/emulator.md, `put_image_same_tag_immutable`): the tag's owner decides.
                (Some(PutImageError::ImageTagAlreadyExistsException(_)), Some(tag)) => {
                    match self.tag_owner(repository, tag).await? {
                        Some(owner) if owner == manifest.digest => Ok(Put::Present),
                        _ => Ok(Put::TagTaken),
                    }
                }
                _ => Err(port_error(OP, e)),
            },
        }
    }
}
