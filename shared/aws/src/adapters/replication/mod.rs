//! Copying one image between registries (docs/replicator.md): the image with its children (a
//! multi-arch index) and its cosign referrers, only the blobs the destination lacks, the manifests'
//! exact bytes (digests preserved), children before the index. The registries at either end speak
//! ECR's API (`ecr_api.rs`) or the OCI distribution API (`oci.rs`), through `endpoint.rs`.

mod copies;
mod ecr_api;
mod endpoint;
mod layers;
mod oci;
mod source;
mod targets;

pub use copies::EcrCopies;
pub use endpoint::{CopySource, CopyTarget, Put, UploadSession};
pub use oci::OciRegistry;
pub use source::SourceImage;
pub use targets::Destinations;

use std::collections::BTreeSet;

use futures_util::{StreamExt, TryStreamExt, stream};
use warden_core::mutability::TagMutability;
use warden_core::names::{Digest, RepositoryName, Tag};
use warden_core::ports::PortError;
use warden_core::records::Manifest;
use warden_core::replicate::image::{CopyReport, NewRepository, missing};
use warden_core::replicate::template;

use layers::{Route, transfer};

use crate::runtime::tls;

/// Layers copied at once per image by default (memory ≈ part size × this + a constant).
pub const DEFAULT_CONCURRENCY: usize = 4;

/// One copy to make: the source image, the tags its copy gets, and the destination.
pub struct Copy<'a> {
    pub repository: &'a RepositoryName,
    pub digest: &'a Digest,
    pub tags: &'a [Tag],
    pub destination: &'a dyn CopyTarget,
    pub destination_repository: &'a RepositoryName,
    /// The policy's tag mutability for the destination repository's name, over the source's.
    pub mutability: Option<&'a TagMutability>,
}

/// Copies images, `concurrency` blobs at once per image.
pub struct ImageCopier {
    http: reqwest::Client,
    concurrency: usize,
}

impl ImageCopier {
    /// Blob transfers use the SDK's TLS stack and roots ([`tls::reqwest_builder`]).
    pub fn new(concurrency: usize) -> Result<Self, PortError> {
        let http = tls::reqwest_builder()
            .connect_timeout(std::time::Duration::from_secs(5))
            .build()
            .map_err(|e| PortError::Invalid {
                operation: "layer download",
                message: e.to_string(),
            })?;
        Ok(Self {
            http,
            concurrency: concurrency.max(1),
        })
    }

    /// Copy one image from `source`: [`SourceImage::read`], then [`ImageCopier::copy_read`].
    pub async fn copy(
        &self,
        source: &dyn CopySource,
        copy: &Copy<'_>,
    ) -> Result<CopyReport, PortError> {
        let image = SourceImage::read(source, copy.repository, copy.digest).await?;
        self.copy_read(source, &image, copy).await
    }

    /// Copy an image read once from `source` to one destination (the destination's side of the
    /// floors in docs/replicator.md): ⌈L/100⌉ BatchCheckLayerAvailability, per missing blob 1
    /// GetDownloadUrlForLayer + 1 InitiateLayerUpload + ⌈S/part⌉ UploadLayerPart + 1
    /// CompleteLayerUpload, 1 PutImage per manifest per tag; when the destination repository is
    /// missing, 1 DescribeRepositoryCreationTemplates and 1 CreateRepository (+1
    /// PutLifecyclePolicy, +1 SetRepositoryPolicy when its template sets them) there, and the
    /// source's settings read once per image (1 DescribeRepositories). Nothing is put until every
    /// missing blob is complete.
    pub async fn copy_read(
        &self,
        source: &dyn CopySource,
        image: &SourceImage,
        copy: &Copy<'_>,
    ) -> Result<CopyReport, PortError> {
        let mut report = CopyReport {
            tags: copy.tags.to_vec(),
            ..CopyReport::default()
        };
        let available = match copy
            .destination
            .available(copy.destination_repository, &image.digests)
            .await?
        {
            Some(available) => available,
            None => {
                let settings = new_repository(source, image, copy).await?;
                let problems = copy
                    .destination
                    .create_repository(copy.destination_repository, &settings)
                    .await?;
                report.problems.extend(problems);
                report.created_repository = true;
                report.creation_template = settings.template;
                BTreeSet::new()
            }
        };
        let needed = missing(&image.blobs, &available);
        report.layers_skipped = (image.digests.len() - needed.len()) as u64;
        let route = Route {
            source,
            source_repository: copy.repository,
            destination: copy.destination,
            destination_repository: copy.destination_repository,
        };
        let route = &route;
        let (copied, bytes) =
            stream::iter(needed.iter().map(|blob| transfer(&self.http, route, blob)))
                .buffer_unordered(self.concurrency)
                .try_fold((0u64, 0u64), |(n, total), bytes| async move {
                    Ok((n + 1, total + bytes))
                })
                .await?;
        report.layers_copied = copied;
        report.bytes_copied = bytes;
        self.put_manifests(image, copy, &mut report).await?;
        Ok(report)
    }

    /// Every manifest, its blobs all there: children untagged, cosign referrers under their tags,
    /// the image once per tag (untagged when it has none), then OCI 1.1 referrers (they name the
    /// image they are about).
    async fn put_manifests(
        &self,
        image: &SourceImage,
        copy: &Copy<'_>,
        report: &mut CopyReport,
    ) -> Result<(), PortError> {
        for child in &image.children {
            self.put(copy, child, None, report).await?;
        }
        for (tag, manifest) in &image.referrers {
            self.put(copy, manifest, Some(tag), report).await?;
            report.referrers.push(tag.clone());
        }
        if copy.tags.is_empty() {
            self.put(copy, &image.root, None, report).await?;
        }
        for tag in copy.tags {
            self.put(copy, &image.root, Some(tag), report).await?;
        }
        for manifest in &image.attached {
            self.put(copy, manifest, None, report).await?;
            report.attached.push(manifest.digest.clone());
        }
        Ok(())
    }

    async fn put(
        &self,
        copy: &Copy<'_>,
        manifest: &Manifest,
        tag: Option<&Tag>,
        report: &mut CopyReport,
    ) -> Result<(), PortError> {
        match copy
            .destination
            .put(copy.destination_repository, manifest, tag)
            .await?
        {
            Put::Put => report.manifests_put += 1,
            Put::Present => report.manifests_present += 1,
            Put::TagTaken => report.problems.push(format!(
                "tag {} is immutable in {} and points at another image: not forced",
                tag.map(Tag::as_str).unwrap_or_default(),
                copy.destination_repository
            )),
        }
        Ok(())
    }
}

/// A missing destination repository is created as the destination registry's creation template
/// for REPLICATION says where one covers its name, else like its source: scan on push, encryption
/// (KMS with ECR's AWS managed key for a KMS source), tag mutability — the policy's for the
/// destination name over both (core: `replicate::template`). The source's settings once per image
/// (1 DescribeRepositories), ⌈T/1000⌉ DescribeRepositoryCreationTemplates at the destination.
async fn new_repository(
    source: &dyn CopySource,
    image: &SourceImage,
    copy: &Copy<'_>,
) -> Result<NewRepository, PortError> {
    let setup = image.setup(source).await?;
    let templates = copy.destination.creation_templates().await?;
    let template = template::for_replication(&templates, copy.destination_repository.as_str());
    Ok(template::new_repository(setup, template, copy.mutability))
}

pub(crate) use crate::adapters::ecr::download::{DOWNLOAD, download_error, success};
