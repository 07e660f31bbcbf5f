//! The OCI 1.1 referrers of an image, as ECR lists them (ListImageReferrers): what a copy carries
//! along, and where Notation signatures are found.

use warden_core::names::{Digest, RepositoryName};
use warden_core::ports::PortError;

use super::{EcrRegistry, invalid};
use crate::runtime::errors::port_error;

impl EcrRegistry {
    /// The OCI 1.1 referrers of `digest` (artifacts whose manifest names it as `subject`: an SBOM,
    /// a signature pushed by `oras` or `notation`), ACTIVE ones, by digest; only those of
    /// `artifact_types` unless it is empty. ⌈R/50⌉ ListImageReferrers (AWS: the caller needs
    /// `ecr:BatchGetImage`).
    pub async fn image_referrers(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
        artifact_types: &[&str],
    ) -> Result<Vec<Digest>, PortError> {
        const OP: &str = "ecr:ListImageReferrers";
        let mut found = Vec::new();
        let mut next = None;
        loop {
            let out = self
                .client
                .list_image_referrers()
                .set_registry_id(self.registry_id.clone())
                .repository_name(repository.as_str())
                .subject_id(
                    aws_sdk_ecr::types::SubjectIdentifier::builder()
                        .image_digest(digest.as_str())
                        .build()
                        .map_err(|e| invalid(OP, e))?,
                )
                .set_filter((!artifact_types.is_empty()).then(|| {
                    aws_sdk_ecr::types::ListImageReferrersFilter::builder()
                        .set_artifact_types(Some(
                            artifact_types.iter().map(|t| (*t).to_owned()).collect(),
                        ))
                        .build()
                }))
                .set_next_token(next)
                .send()
                .await
                .map_err(|e| port_error(OP, e))?;
            for referrer in out.referrers() {
                found.push(Digest::new(referrer.digest()).map_err(|e| invalid(OP, e))?);
            }
            next = out.next_token().map(str::to_owned);
            if next.is_none() {
                return Ok(found);
            }
        }
    }
}
