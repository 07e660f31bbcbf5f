//! SDK errors turned into the core's [`PortError`], which decides retry-or-not for Lambda.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use warden_core::ports::PortError;

const THROTTLING: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
];
const DENIED: &[&str] = &[
    "AccessDeniedException",
    "AccessDenied",
    "UnauthorizedOperation",
    "UnrecognizedClientException",
    "ExpiredTokenException",
    "InvalidClientTokenId",
];
const NOT_FOUND: &[&str] = &[
    "RepositoryNotFoundException",
    "ImageNotFoundException",
    "ResourceNotFoundException",
    "ParameterNotFound",
    "NotFound",
];

/// Classify any SDK error: throttling and network/5xx failures are retryable, the rest are not.
pub(crate) fn port_error<E>(operation: &'static str, err: SdkError<E, Response>) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let message = DisplayErrorContext(&err).to_string();
    match &err {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or_default();
            let status = service.raw().status().as_u16();
            if THROTTLING.contains(&code) || status == 429 {
                PortError::Throttled { operation }
            } else if DENIED.contains(&code) || status == 403 {
                PortError::Denied { operation, message }
            } else if NOT_FOUND.contains(&code) {
                PortError::NotFound {
                    operation,
                    what: service.err().message().unwrap_or(code).to_owned(),
                }
            } else if code == "ConditionalCheckFailedException" {
                PortError::ConditionFailed {
                    operation,
                    what: message,
                }
            } else if status >= 500 {
                PortError::Transient { operation, message }
            } else {
                PortError::Invalid { operation, message }
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            PortError::Transient { operation, message }
        }
        _ => PortError::Invalid { operation, message },
    }
}
