//! The replicator's copying port over ECR: the source registry read once per image, each
//! destination's registry built on first use (through its role), blobs moved by [`ImageCopier`].

use async_trait::async_trait;
use warden_core::message::CopyReport;
use warden_core::names::{Digest, RepositoryName};
use warden_core::ports::{ImageCopies, PortError};
use warden_core::records::CopyOrder;

use super::{Copy, Destinations, ImageCopier, SourceImage};
use crate::adapters::ecr::EcrRegistry;

pub struct EcrCopies {
    source: EcrRegistry,
    copier: ImageCopier,
    destinations: Destinations,
}

impl EcrCopies {
    pub fn new(source: EcrRegistry, copier: ImageCopier, destinations: Destinations) -> Self {
        Self {
            source,
            copier,
            destinations,
        }
    }
}

#[async_trait(?Send)]
impl ImageCopies for EcrCopies {
    type Source = SourceImage;

    async fn read(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> Result<SourceImage, PortError> {
        SourceImage::read(&self.source, repository, digest).await
    }

    async fn copy(
        &self,
        source: &SourceImage,
        order: &CopyOrder<'_>,
    ) -> Result<CopyReport, PortError> {
        let destination = self.destinations.registry(order.target).await;
        let copy = Copy {
            repository: order.repository,
            digest: order.digest,
            tags: order.tags,
            destination: &destination,
            destination_repository: &order.target.repository,
            mutability: order.mutability,
        };
        self.copier.copy_read(&self.source, source, &copy).await
    }
}
