//! The emulator probe: one assertion per way stock moto 5.2.5 differs from AWS where ecr-warden
//! relies on it (see tests/emulator/). If a moto upgrade or a patch regresses, this fails first.
//! By service: ECR images (`ecr_images`) and listings (`ecr_listings`), the others (`services`).
#![allow(clippy::unwrap_used)] // test code: a panic is a failed assertion

use aws_sdk_ecr::operation::put_image::PutImageError;
use aws_sdk_ecr::types::{
    ImageIdentifier, ImageTagMutability, ImageTagMutabilityExclusionFilter,
    ImageTagMutabilityExclusionFilterType, TagStatus,
};
use serde_json::json;
use warden_aws::adapters::ecr::EcrRegistry;
use warden_core::names::{Digest, RepositoryName, Tag};
use warden_core::ports::{ImageManifests, PortError};
use warden_core::records::Manifest;
use warden_tests::{Emulator, OCI_INDEX, image_index};

mod ecr_images;
mod ecr_listings;
mod services;

fn filter(pattern: &str) -> ImageTagMutabilityExclusionFilter {
    ImageTagMutabilityExclusionFilter::builder()
        .filter(pattern)
        .filter_type(ImageTagMutabilityExclusionFilterType::Wildcard)
        .build()
        .unwrap()
}

fn name(s: &str) -> RepositoryName {
    RepositoryName::new(s).unwrap()
}
