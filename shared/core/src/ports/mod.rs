//! Ports: the narrow capabilities the decisions need from the outside world, named after intent.
//! `warden-aws` implements them with the AWS SDK; tests may implement them in memory. Each method
//! says which AWS call it stands for, so per-event call floors can be read off the trait.

mod copying;
mod findings;
mod messaging;
mod registry;
mod signatures;
mod state;
mod workloads;

pub use copying::*;
pub use findings::*;
pub use messaging::*;
pub use registry::*;
pub use signatures::*;
pub use state::*;
pub use workloads::*;

/// Why a port call failed. [`PortError::is_retryable`] decides the Lambda error contract:
/// retryable errors fail the invocation (Lambda retries, then the DLQ); the others are reported
/// and acknowledged, because retrying cannot help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    #[error("{operation}: not found: {what}")]
    NotFound {
        operation: &'static str,
        what: String,
    },
    /// ECR `ImageTagAlreadyExistsException`: the tag is immutable and points elsewhere.
    #[error("{operation}: tag {tag} already exists in {repository} and is immutable")]
    TagAlreadyExists {
        operation: &'static str,
        repository: String,
        tag: String,
    },
    /// ECR `ImageAlreadyExistsException`: this exact manifest already carries this tag.
    #[error("{operation}: image already exists with that tag in {repository}")]
    ImageAlreadyExists {
        operation: &'static str,
        repository: String,
    },
    /// A conditional write lost: someone else wrote first.
    #[error("{operation}: condition failed: {what}")]
    ConditionFailed {
        operation: &'static str,
        what: String,
    },
    #[error("{operation}: throttled")]
    Throttled { operation: &'static str },
    #[error("{operation}: transient failure: {message}")]
    Transient {
        operation: &'static str,
        message: String,
    },
    #[error("{operation}: access denied: {message}")]
    Denied {
        operation: &'static str,
        message: String,
    },
    #[error("{operation}: rejected: {message}")]
    Invalid {
        operation: &'static str,
        message: String,
    },
}

impl PortError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Throttled { .. } | Self::Transient { .. })
    }
}

/// One page of a listing and the token for the next, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}
