//! ECR's API at either end of a copy: BatchGetImage, GetDownloadUrlForLayer (a pre-signed URL,
//! fetched over HTTPS), BatchCheckLayerAvailability, Initiate/UploadLayerPart/CompleteLayerUpload
//! (parts base64-encoded in JSON), PutImage.

use std::collections::BTreeSet;

use async_trait::async_trait;
use warden_core::names::{Digest, RepositoryName, Tag};
use warden_core::ports::{ImageManifests, PortError};
use warden_core::records::Manifest;
use warden_core::replicate::image::NewRepository;
use warden_core::replicate::template::CreationTemplate;

use super::endpoint::{CopySource, CopyTarget, Put, UploadSession};
use crate::adapters::ecr::EcrRegistry;

/// The part size when ECR does not say (it accepts 5–20 MiB parts).
const DEFAULT_PART: u64 = 10 * 1024 * 1024;

#[async_trait]
impl CopySource for EcrRegistry {
    /// One BatchGetImage.
    async fn image_and_tagged(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
        tags: &[Tag],
    ) -> Result<(Option<Manifest>, Vec<(Tag, Manifest)>), PortError> {
        EcrRegistry::image_and_tagged(self, repository, digest, tags).await
    }

    /// One DescribeRepositories.
    async fn repository_setup(
        &self,
        repository: &RepositoryName,
    ) -> Result<Option<NewRepository>, PortError> {
        EcrRegistry::repository_setup(self, repository).await
    }

    /// ⌈R/50⌉ ListImageReferrers.
    async fn referrers(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> Result<Vec<Digest>, PortError> {
        self.image_referrers(repository, digest, &[]).await
    }

    /// One BatchGetImage.
    async fn manifests(
        &self,
        repository: &RepositoryName,
        digests: &[Digest],
    ) -> Result<Vec<Manifest>, PortError> {
        ImageManifests::manifests(self, repository, digests).await
    }

    /// One GetDownloadUrlForLayer, then a GET of the pre-signed URL (a credential: errors are
    /// stripped of it).
    async fn open_blob(
        &self,
        http: &reqwest::Client,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> Result<reqwest::Response, PortError> {
        let url = self.layer_download_url(repository, digest).await?;
        let response = http
            .get(url)
            .send()
            .await
            .map_err(|e| super::download_error(digest, e))?;
        super::success(digest, response)
    }
}

#[async_trait]
impl CopyTarget for EcrRegistry {
    /// ⌈n/100⌉ BatchCheckLayerAvailability.
    async fn available(
        &self,
        repository: &RepositoryName,
        digests: &[Digest],
    ) -> Result<Option<BTreeSet<Digest>>, PortError> {
        self.available_layers(repository, digests).await
    }

    /// ⌈T/1000⌉ DescribeRepositoryCreationTemplates.
    async fn creation_templates(&self) -> Result<Vec<CreationTemplate>, PortError> {
        EcrRegistry::creation_templates(self).await
    }

    /// One CreateRepository (+1 PutLifecyclePolicy, +1 SetRepositoryPolicy from a template).
    async fn create_repository(
        &self,
        repository: &RepositoryName,
        settings: &NewRepository,
    ) -> Result<Vec<String>, PortError> {
        self.create_repository_with(repository, settings).await
    }

    /// One InitiateLayerUpload.
    async fn start_upload(
        &self,
        repository: &RepositoryName,
    ) -> Result<Box<dyn UploadSession>, PortError> {
        let (upload_id, part_size) = self.initiate_layer_upload(repository).await?;
        Ok(Box::new(EcrUpload {
            registry: self.clone(),
            repository: repository.clone(),
            upload_id,
            part_size: usize::try_from(part_size.unwrap_or(DEFAULT_PART)).unwrap_or(usize::MAX),
        }))
    }

    /// One PutImage.
    async fn put(
        &self,
        repository: &RepositoryName,
        manifest: &Manifest,
        tag: Option<&Tag>,
    ) -> Result<Put, PortError> {
        self.put_manifest(repository, manifest, tag).await
    }
}

struct EcrUpload {
    registry: EcrRegistry,
    repository: RepositoryName,
    upload_id: String,
    part_size: usize,
}

#[async_trait]
impl UploadSession for EcrUpload {
    fn part_size(&self) -> usize {
        self.part_size
    }

    /// One UploadLayerPart.
    async fn part(&mut self, first: u64, bytes: Vec<u8>) -> Result<(), PortError> {
        self.registry
            .upload_layer_part(&self.repository, &self.upload_id, first, bytes)
            .await
    }

    /// One CompleteLayerUpload.
    async fn finish(self: Box<Self>, digest: &Digest) -> Result<(), PortError> {
        self.registry
            .complete_layer_upload(&self.repository, &self.upload_id, digest)
            .await
    }

    /// ECR expires an upload that is never completed; there is no call to cancel one.
    async fn abandon(self: Box<Self>) {}
}
