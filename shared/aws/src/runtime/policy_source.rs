//! Where a function's policy comes from: a file (`WARDEN_POLICY_FILE`, e.g. bundled with the
//! function) or an SSM parameter (`WARDEN_POLICY_SSM`, so the policy changes without a deploy).
//! Loaded and validated once per container, at init: a bad policy fails the cold start loudly
//! instead of half-applying.

use warden_core::policy::{Policy, PolicyError};
use warden_core::ports::PortError;

#[cfg(feature = "ssm")]
use crate::runtime::errors::port_error;

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

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicySource {
    File(String),
    Ssm(String),
}

impl PolicySource {
    /// `WARDEN_POLICY_FILE` wins over `WARDEN_POLICY_SSM`.
    pub fn from_env() -> Result<Self, PolicySourceError> {
        crate::runtime::env::optional("WARDEN_POLICY_FILE")
            .map(Self::File)
            .or_else(|| crate::runtime::env::optional("WARDEN_POLICY_SSM").map(Self::Ssm))
            .ok_or(PolicySourceError::NotConfigured)
    }

    /// Read and validate a policy file (no AWS call); for an SSM parameter see [`Self::load`].
    pub fn read_file(&self) -> Result<Policy, PolicySourceError> {
        match self {
            Self::File(path) => {
                let text =
                    std::fs::read_to_string(path).map_err(|source| PolicySourceError::File {
                        path: path.clone(),
                        source,
                    })?;
                Policy::from_yaml(&text).map_err(|source| PolicySourceError::Invalid {
                    origin: path.clone(),
                    source,
                })
            }
            Self::Ssm(name) => Err(PolicySourceError::Parameter {
                name: name.clone(),
                source: PortError::Invalid {
                    operation: "ssm:GetParameter",
                    message: "an SSM parameter needs an SSM client".into(),
                },
            }),
        }
    }

    /// Read and validate the policy. An SSM parameter costs one `GetParameter` (decrypted).
    #[cfg(feature = "ssm")]
    pub async fn load(&self, ssm: &aws_sdk_ssm::Client) -> Result<Policy, PolicySourceError> {
        let (origin, text) = match self {
            Self::File(_) => return self.read_file(),
            Self::Ssm(name) => {
                let out = ssm
                    .get_parameter()
                    .name(name)
                    .with_decryption(true)
                    .send()
                    .await
                    .map_err(|e| PolicySourceError::Parameter {
                        name: name.clone(),
                        source: port_error("ssm:GetParameter", e),
                    })?;
                (
                    format!("ssm:{name}"),
                    out.parameter()
                        .and_then(|p| p.value())
                        .unwrap_or_default()
                        .to_owned(),
                )
            }
        };
        Policy::from_yaml(&text).map_err(|source| PolicySourceError::Invalid { origin, source })
    }
}

/// The policy named by the environment (what every function's `main` calls at init). An SSM client
/// is built only for `WARDEN_POLICY_SSM`: a policy from a file needs none.
pub async fn load_policy(
    sdk: &aws_config::SdkConfig,
    calls: &crate::ApiCalls,
) -> Result<Policy, PolicySourceError> {
    let source = PolicySource::from_env()?;
    #[cfg(feature = "ssm")]
    if matches!(source, PolicySource::Ssm(_)) {
        return source.load(&crate::counted!(aws_sdk_ssm, sdk, calls)).await;
    }
    let _ = (sdk, calls); // a file needs no client
    source.read_file()
}
