//! SDK errors turned into the core's [`PortError`], which decides retry-or-not for Lambda, and any
//! error written on one line ([`one_line`]: the SDK failures in a `PortError`, the CLI's errors).

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response;
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
    let message = describe(&err);
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

/// An SDK error on one line, as an operator reads it: a service's error as its code, message and
/// HTTP status; any other failure (dispatch, timeout, response) as its message and its causes'.
/// Never the error's `Debug` dump (smithy's `DisplayErrorContext` appends one: request ids, the
/// raw response).
fn describe<E>(err: &SdkError<E, Response>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let SdkError::ServiceError(service) = err else {
        return one_line(err);
    };
    let status = service.raw().status().as_u16();
    match (service.err().code(), service.err().message()) {
        (Some(code), Some(message)) => format!("{code}: {message} (HTTP {status})"),
        (Some(code), None) => format!("{code} (HTTP {status})"),
        (None, Some(message)) => format!("{message} (HTTP {status})"),
        (None, None) => format!("HTTP {status}, no error code"),
    }
}

/// An error and its causes on one line, as a `PortError` and the CLI show them: the first line of
/// each (the SDK's own errors span many), without the SDK's debug dump, a cause whose text the
/// part before it already holds left out, joined by ": ".
pub fn one_line(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(error) = next {
        let text = error.to_string();
        let first = without_debug_dump(text.lines().next().unwrap_or_default())
            .trim()
            .trim_end_matches(':');
        if !first.is_empty() && !parts.last().is_some_and(|last| last.contains(first)) {
            parts.push(first.to_owned());
        }
        next = error.source();
    }
    parts.join(": ")
}

/// The SDK writes errors as `message (DebugOfTheError(...))`: keep the message.
fn without_debug_dump(text: &str) -> &str {
    let dump = text.match_indices(" (").find(|(at, _)| {
        let rest = &text[at + 2..];
        let name: String = rest
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect();
        name.starts_with(|c: char| c.is_ascii_uppercase())
            && rest[name.len()..].starts_with(['(', ' '])
    });
    dump.map_or(text, |(at, _)| &text[..at])
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    /// A service's error as the SDK models one: its metadata, no more.
    #[derive(Debug)]
    struct ServiceFailure(ErrorMetadata);

    impl std::fmt::Display for ServiceFailure {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "unhandled error ({:?})", self.0)
        }
    }

    impl std::error::Error for ServiceFailure {}

    impl ProvideErrorMetadata for ServiceFailure {
        fn meta(&self) -> &ErrorMetadata {
            &self.0
        }
    }

    fn service(status: u16, code: &str, message: &str) -> SdkError<ServiceFailure, Response> {
        let meta = ErrorMetadata::builder()
            .code(code)
            .message(message)
            .custom("aws_request_id", "4d1b-request-id")
            .build();
        let raw = Response::new(status.try_into().unwrap(), SdkBody::from("{}"));
        SdkError::service_error(ServiceFailure(meta), raw)
    }

    #[test]
    fn a_service_error_reads_as_its_code_message_and_status_without_the_debug_dump() {
        let err = port_error(
            "ECR.PutImage",
            service(
                400,
                "InvalidParameterException",
                "Invalid parameter at 'imageTag'",
            ),
        );
        let text = err.to_string();
        assert!(
            text.contains("InvalidParameterException: Invalid parameter at 'imageTag' (HTTP 400)"),
            "{text}"
        );
        assert!(
            !text.contains("request-id") && !text.contains("Error {"),
            "{text}"
        );
        assert!(!err.is_retryable());
    }

    #[test]
    fn a_dispatch_failure_reads_as_its_causes_on_one_line_and_is_retried() {
        let refused =
            std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        let err: SdkError<ServiceFailure, Response> =
            SdkError::dispatch_failure(ConnectorError::io(Box::new(refused)));
        let err = port_error("ECR.DescribeImages", err);
        let text = err.to_string();
        assert!(
            text.contains("dispatch failure: io error: connection refused"),
            "{text}"
        );
        assert!(
            !text.contains('\n') && !text.contains("DispatchFailure"),
            "{text}"
        );
        assert!(err.is_retryable());
    }

    #[test]
    fn throttling_and_server_errors_are_retryable_access_denied_is_not() {
        assert!(matches!(
            port_error(
                "SNS.Publish",
                service(400, "ThrottlingException", "Rate exceeded")
            ),
            PortError::Throttled { .. }
        ));
        assert!(
            port_error(
                "ECR.PutImage",
                service(503, "ServiceUnavailable", "try later")
            )
            .is_retryable()
        );
        let denied = port_error(
            "ECR.PutImage",
            service(403, "AccessDeniedException", "not allowed"),
        );
        assert!(matches!(denied, PortError::Denied { .. }) && !denied.is_retryable());
    }
}
