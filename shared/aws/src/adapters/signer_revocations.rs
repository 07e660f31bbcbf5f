//! AWS Signer's word on the Notation signatures it made ([`SignatureRevocations`]):
//! GetRevocationStatus on Signer's data plane, one call per signature asked of. An error is no
//! answer: the verdict waits for the retry, never passes on it.

use std::sync::OnceLock;

use async_trait::async_trait;
use aws_sdk_signerdata::primitives::DateTime;
use warden_core::ports::{PortError, SignatureRevocations};
use warden_core::signature::notation::RevocationQuery;

use crate::runtime::errors::port_error;

/// AWS Signer's data plane, its client made on first use: a function whose policy trusts no
/// signing profile never builds it (nothing added to a cold start).
pub struct SignerRevocations {
    sdk: aws_config::SdkConfig,
    calls: crate::ApiCalls,
    client: OnceLock<aws_sdk_signerdata::Client>,
}

impl SignerRevocations {
    /// Its own client from `sdk` (when first asked), counting into `calls`.
    pub fn from_sdk(sdk: &aws_config::SdkConfig, calls: &crate::ApiCalls) -> Self {
        Self {
            sdk: sdk.clone(),
            calls: calls.clone(),
            client: OnceLock::new(),
        }
    }

    fn client(&self) -> &aws_sdk_signerdata::Client {
        self.client
            .get_or_init(|| crate::counted!(aws_sdk_signerdata, &self.sdk, &self.calls))
    }
}

#[async_trait]
impl SignatureRevocations for SignerRevocations {
    async fn revoked(&self, query: &RevocationQuery) -> Result<Vec<String>, PortError> {
        const OP: &str = "signer:GetRevocationStatus";
        let at = query.signature_timestamp;
        let out = self
            .client()
            .get_revocation_status()
            .signature_timestamp(DateTime::from_secs_and_nanos(
                at.timestamp(),
                at.timestamp_subsec_nanos(),
            ))
            .platform_id(&query.platform_id)
            .profile_version_arn(&query.profile_version_arn)
            .job_arn(&query.job_arn)
            .set_certificate_hashes(Some(query.certificate_hashes.clone()))
            .send()
            .await
            .map_err(|e| port_error(OP, e))?;
        Ok(out.revoked_entities().to_vec())
    }
}
