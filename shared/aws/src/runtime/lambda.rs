//! The per-event frame every function shares: parse, handle, one summary line, and the Lambda error
//! contract. A malformed event is rejected (logged, acknowledged: retrying cannot fix it, and no AWS
//! call is made); a retryable failure is returned as an error so Lambda retries (then the DLQ).

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Instant;

use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};
use warden_core::budget::Budget;
use warden_core::event::{EventError, Incoming, incoming};
use warden_core::explain::describe_event;
use warden_core::ports::PortError;
use warden_core::report::FunctionReport;

use crate::runtime::calls::ApiCalls;
use crate::runtime::telemetry::Summary;

/// How long before Lambda's deadline a single-event handler is stopped, leaving the runtime time to
/// report the error (see [`frame`]).
pub const HANDLER_MARGIN: std::time::Duration = std::time::Duration::from_secs(5);

/// When a single-event handler must stop: the invocation's deadline less [`HANDLER_MARGIN`].
pub fn stop_by(invocation: &Invocation) -> Option<std::time::SystemTime> {
    invocation
        .deadline
        .and_then(|at| at.checked_sub(HANDLER_MARGIN))
}

/// The answer to a payload a function does not take (acknowledged: retrying cannot help).
pub fn not_for_me(function: &str, what: &str) -> Handled {
    let error = format!("{function} does not take {what}");
    Handled {
        decision: "rejected".into(),
        errors: vec![error.clone()],
        response: json!({"status": "rejected", "error": error}),
        ..Handled::default()
    }
}

/// A function's input as the Lambda runtime hands it over: the typed envelope ([`Incoming`]: an
/// `EventBridgeEvent`, an `SqsEvent` or an `SnsEvent` from `aws_lambda_events`, with ecr-warden's
/// own detail types inside), or what is wrong with the bytes. Deserializing it never fails, so a
/// malformed event is answered by the function (rejected and acknowledged, with its summary line
/// naming the field) instead of by the runtime, which would have Lambda retry the same bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Payload(pub Result<Incoming, EventError>);

impl<'de> Deserialize<'de> for Payload {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Value::deserialize(deserializer).map(Self::from)
    }
}

impl From<Value> for Payload {
    fn from(value: Value) -> Self {
        Self(incoming(value))
    }
}

/// What the runtime says about one invocation: the account the function runs in (from its ARN)
/// and the deadline, when usable. [`Invocation::local`] is neither (tests, `warden invoke`).
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    pub account: Option<String>,
    pub deadline: Option<std::time::SystemTime>,
}

impl Invocation {
    pub fn local() -> Self {
        Self::default()
    }
}

impl From<&lambda_runtime::Context> for Invocation {
    fn from(context: &lambda_runtime::Context) -> Self {
        Self {
            account: invoked_account(context),
            deadline: invocation_deadline(context),
        }
    }
}

/// One of ecr-warden's Lambda functions: what it does with one payload in one invocation. The
/// runtime calls [`Function::handle_invocation`]; tests and local tools call [`Function::handle`].
// Only ever used in the function's own single-threaded Lambda runtime (no `Send` bound needed).
#[allow(async_fn_in_trait)]
pub trait Function {
    /// Handle `payload` as `invocation` (the account the function runs in, the deadline).
    async fn invoke(
        &self,
        payload: Payload,
        invocation: Invocation,
    ) -> Result<Value, InvocationError>;

    /// What the Lambda runtime calls: the payload with what the runtime says of the invocation.
    async fn handle_invocation(
        &self,
        event: lambda_runtime::LambdaEvent<Payload>,
    ) -> Result<Value, InvocationError> {
        self.invoke(event.payload, Invocation::from(&event.context))
            .await
    }

    /// Handle one payload outside Lambda (tests, local tools): no account scope, no deadline.
    async fn handle(&self, payload: impl Into<Payload>) -> Result<Value, InvocationError> {
        self.invoke(payload.into(), Invocation::local()).await
    }
}

/// What a handler made of one event.
#[derive(Debug, Default)]
pub struct Handled {
    pub decision: String,
    pub dry_run: bool,
    pub outcomes: BTreeMap<&'static str, u64>,
    /// Non-retryable failures (reported, acknowledged).
    pub errors: Vec<String>,
    /// Returned to the invoker (and shown by `cargo lambda invoke`).
    pub response: Value,
}

impl Handled {
    /// A function's report as the frame logs and answers it: its decision, dry-run, outcome
    /// counts and failures for the summary line, and its response for the invoker.
    pub fn from_report(report: &impl FunctionReport) -> Self {
        Self {
            decision: report.decision(),
            dry_run: report.dry_run(),
            outcomes: report.outcomes(),
            errors: report.failures(),
            response: report.response(),
        }
    }
}

/// Time left until the Lambda deadline, less a margin (a long run's [`Budget`]).
pub struct Deadline {
    pub at: std::time::SystemTime,
    pub margin: std::time::Duration,
}

impl Budget for Deadline {
    fn time_left(&self) -> bool {
        self.at
            .duration_since(std::time::SystemTime::now())
            .is_ok_and(|left| left > self.margin)
    }
}

/// The invocation's deadline, when it has a usable one. Lambda always sends a deadline in the
/// future; a local runtime may send none or one already past (`cargo lambda watch` does), and
/// "no deadline known" must not read as "out of time".
fn invocation_deadline(context: &lambda_runtime::Context) -> Option<std::time::SystemTime> {
    let at = context.deadline();
    (at > std::time::SystemTime::now()).then_some(at)
}

/// The account a Lambda invocation runs in, from its function ARN
/// (`arn:<partition>:lambda:<region>:<account>:function:<name>`).
fn invoked_account(context: &lambda_runtime::Context) -> Option<String> {
    let account = context.invoked_function_arn.split(':').nth(4)?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())).then(|| account.to_owned())
}

/// Why an invocation failed, as Lambda reports it to the invoker and in its logs (`errorType`,
/// `errorMessage`): `Throttled` (AWS asked to slow down) and `Retryable` (a transient failure) make
/// Lambda retry the event, then send it to the DLQ; `NonRetryable` means retrying cannot help (a
/// misconfiguration) — it still fails the invocation, so alarms see it.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct InvocationError {
    pub error_type: &'static str,
    pub message: String,
}

impl From<PortError> for InvocationError {
    fn from(error: PortError) -> Self {
        let error_type = match &error {
            PortError::Throttled { .. } => "Throttled",
            e if e.is_retryable() => "Retryable",
            _ => "NonRetryable",
        };
        Self {
            error_type,
            message: error.to_string(),
        }
    }
}

impl From<InvocationError> for lambda_runtime::Diagnostic {
    fn from(error: InvocationError) -> Self {
        Self {
            error_type: error.error_type.to_owned(),
            error_message: error.message,
        }
    }
}

/// Which accounts' events a function acts on: the one it runs in (from the invocation) and those
/// the policy names, each through its role.
#[derive(Debug, Clone, Copy)]
pub struct AccountScope<'a> {
    pub own: &'a str,
    pub named: &'a [String],
}

impl AccountScope<'_> {
    fn takes(&self, account: &str) -> bool {
        account == self.own || self.named.iter().any(|n| n == account)
    }
}

/// Run one invocation through `handler`, emit its summary, and map the result to Lambda's
/// contract. With a `scope`, an EventBridge event for an account outside it — delivered by a
/// cross-account event bus — is acknowledged and ignored: the function has no credentials there,
/// and its own registry's repository of the same name would be the wrong one. With `stop_by`
/// (the deadline less [`HANDLER_MARGIN`]), a handler still running then is stopped and the
/// invocation fails retryable — reported, rather than killed by Lambda's timeout without a word.
pub async fn frame<F, Fut>(
    function: &'static str,
    calls: &ApiCalls,
    payload: Payload,
    scope: Option<AccountScope<'_>>,
    stop_by: Option<std::time::SystemTime>,
    handler: F,
) -> Result<Value, InvocationError>
where
    F: FnOnce(Incoming) -> Fut,
    Fut: Future<Output = Result<Handled, PortError>>,
{
    let started = Instant::now();
    let calls_before = calls.snapshot();
    let mut summary = Summary::new(function);
    let result = match payload.0 {
        Err(error) => {
            tracing::warn!(%error, "rejected event");
            summary.kind = "invalid".into();
            summary.decision = "rejected: not a valid event".into();
            summary.error = Some(error.to_string());
            Ok(json!({"status": "rejected", "error": error.to_string()}))
        }
        Ok(Incoming::Event(event))
            if scope.is_some_and(|s| !s.takes(event.envelope.account.as_str())) =>
        {
            let error = format!(
                "an event for account {}, which is neither this deployment's ({}) nor one the policy names: ignored",
                event.envelope.account,
                scope.map(|s| s.own).unwrap_or_default()
            );
            tracing::warn!(%error, "event for another account");
            summary.kind = event.detail.kind().to_owned();
            summary.decision = "ignored: another account's event".into();
            summary.error = Some(error.clone());
            Ok(json!({"status": "ignored", "error": error}))
        }
        Ok(input) => {
            match &input {
                Incoming::Event(event) => {
                    let described = describe_event(event);
                    summary.kind = event.detail.kind().to_owned();
                    summary.repository = described["repository"].as_str().map(str::to_owned);
                    summary.digest = described["digest"].as_str().map(str::to_owned);
                }
                Incoming::Queue(batch) => {
                    summary.kind = format!("sqs_batch({})", batch.records.len());
                }
                Incoming::Sns(delivery) => {
                    summary.kind = format!("sns({})", delivery.records.len());
                }
            }
            let outcome = match stop_by {
                None => handler(input).await,
                Some(at) => {
                    let left = at
                        .duration_since(std::time::SystemTime::now())
                        .unwrap_or_default();
                    tokio::time::timeout(left, handler(input))
                        .await
                        .unwrap_or_else(|_| {
                            Err(PortError::Transient {
                                operation: "lambda:deadline",
                                message: format!(
                                    "stopped {} s before the invocation's deadline (AWS is slow): the event is retried",
                                    HANDLER_MARGIN.as_secs()
                                ),
                            })
                        })
                }
            };
            match outcome {
                Ok(handled) => {
                    for error in &handled.errors {
                        tracing::error!(%error, "not retried: retrying cannot fix this");
                    }
                    summary.decision = handled.decision;
                    summary.dry_run = handled.dry_run;
                    summary.outcomes = handled.outcomes;
                    if !handled.errors.is_empty() {
                        summary.error = Some(handled.errors.join("; "));
                    }
                    Ok(handled.response)
                }
                Err(error) => {
                    tracing::warn!(%error, "retryable failure: Lambda will retry the event");
                    summary.decision = "failed, will be retried".into();
                    summary.error = Some(error.to_string());
                    Err(InvocationError::from(error))
                }
            }
        }
    };
    summary.api_calls = calls.since(&calls_before);
    calls.log_since(function, &calls_before);
    summary.duration = started.elapsed();
    summary.emit();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_deadline_in_the_future_is_a_deadline() {
        let now_ms = |offset: i64| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis() as i64;
            u64::try_from(now + offset).unwrap_or(0)
        };
        let mut context = lambda_runtime::Context::default();
        context.deadline = now_ms(60_000);
        assert!(invocation_deadline(&context).is_some());
        for unusable in [0, now_ms(-1_000), now_ms(0) / 1000] {
            context.deadline = unusable;
            assert_eq!(invocation_deadline(&context), None, "{unusable}");
        }
    }

    #[test]
    fn invocation_errors_carry_a_readable_error_type() {
        let cases = [
            (
                PortError::Throttled {
                    operation: "ecr:PutImage",
                },
                "Throttled",
            ),
            (
                PortError::Transient {
                    operation: "dynamodb:PutItem",
                    message: "timeout".into(),
                },
                "Retryable",
            ),
            (
                PortError::Invalid {
                    operation: "lambda:Invoke",
                    message: "timeout below margin".into(),
                },
                "NonRetryable",
            ),
        ];
        for (error, expected) in cases {
            let message = error.to_string();
            let diagnostic = lambda_runtime::Diagnostic::from(InvocationError::from(error));
            assert_eq!(diagnostic.error_type, expected);
            assert_eq!(diagnostic.error_message, message);
        }
    }
}
