//! Where a function's policy comes from: a file (`WARDEN_POLICY_FILE`, e.g. bundled with the
//! function) or an SSM parameter (`WARDEN_POLICY_SSM`, so the policy changes without a deploy).
//! Loaded and validated once per container, at init: a bad policy fails the cold start loudly
//! instead of half-applying.

use warden_core::policy::{Policy, PolicyError};
use warden_core::ports::PortError;

use crate::errors::port_error;

#[derive(Debug, thiserror::Error)]
pub enum PolicySourceError {
    #[error("neither WARDEN_POLICY_FILE nor WARDEN_POLICY_SSM is set")]
    NotConfigured,
    #[error("cannot read policy file {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot read policy parameter {name}: {source}")]
    Parameter { name: String, source: PortError },
    #[error("policy from {origin} is invalid: {source}")]
    Invalid { origin: String, source: PolicyError },
}

/// Load the policy named by the environment.
pub async fn load_policy(ssm: &aws_sdk_ssm::Client) -> Result<Policy, PolicySourceError> {
    if let Ok(path) = std::env::var("WARDEN_POLICY_FILE") {
        let text = std::fs::read_to_string(&path).map_err(|source| PolicySourceError::File {
            path: path.clone(),
            source,
        })?;
        return Policy::from_yaml(&text).map_err(|source| PolicySourceError::Invalid {
            origin: path,
            source,
        });
    }
    let name = std::env::var("WARDEN_POLICY_SSM").map_err(|_| PolicySourceError::NotConfigured)?;
    let out = ssm
        .get_parameter()
        .name(&name)
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| PolicySourceError::Parameter {
            name: name.clone(),
            source: port_error("ssm:GetParameter", e),
        })?;
    let text = out.parameter().and_then(|p| p.value()).unwrap_or_default();
    Policy::from_yaml(text).map_err(|source| PolicySourceError::Invalid {
        origin: format!("ssm:{name}"),
        source,
    })
}
