//! The per-event frame every function shares: parse, handle, one summary line, and the Lambda error
//! contract. A malformed event is rejected (logged, acknowledged: retrying cannot fix it, and no AWS
//! call is made); a retryable failure is returned as an error so Lambda retries (then the DLQ).

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Instant;

use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};
use tracing::Instrument;
use warden_core::budget::Budget;
use warden_core::event::{FunctionInput, Refusal};
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

/// A function's input as the Lambda runtime hands it over: parsed once into the function's own
/// input type `I` (its kinds of `aws_lambda_events` envelope, with ecr-warden's detail types
/// inside), or why it is not one — malformed, or a kind the function does not take. Deserializing
/// it never fails, so a refused payload is answered by the function (acknowledged, with its
/// summary line naming what is wrong) instead of by the runtime, which would have Lambda retry
/// the same bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Payload<I>(pub Result<I, Refusal>);

impl<'de, I: FunctionInput> Deserialize<'de> for Payload<I> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Value::deserialize(deserializer).map(Self::from)
    }
}

impl<I: FunctionInput> From<Value> for Payload<I> {
    fn from(value: Value) -> Self {
        Self(I::parse(value))
    }
}

/// What the runtime says about one invocation: the account the function runs in (from its ARN)
/// and the deadline, when usable. [`Invocation::local`] is neither (tests, `warden invoke`).
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    account: Option<String>,
    function_arn: Option<String>,
    deadline: Option<std::time::SystemTime>,
}

impl Invocation {
    /// Outside Lambda: no account scope, no deadline.
    pub fn local() -> Self {
        Self::default()
    }

    /// The same invocation, to end at `at` (janitor's runs from the CLI and tests).
    pub fn until(self, at: std::time::SystemTime) -> Self {
        Self {
            deadline: Some(at),
            ..self
        }
    }

    /// The same invocation, of a function in `account` (as Lambda's function ARN would say).
    pub fn in_account(self, account: impl Into<String>) -> Self {
        Self {
            account: Some(account.into()),
            ..self
        }
    }

    /// The account the function runs in, when known.
    pub fn account(&self) -> Option<&str> {
        self.account.as_deref()
    }

    /// The invoked function's ARN, when known (what scan-gate's grace deadlines target).
    pub fn function_arn(&self) -> Option<&str> {
        self.function_arn.as_deref()
    }

    /// When Lambda stops the invocation, when known.
    pub fn deadline(&self) -> Option<std::time::SystemTime> {
        self.deadline
    }

    /// Which accounts' events the function acts on: its own and the `named` ones.
    pub fn scope<'a>(&'a self, named: &'a [String]) -> Option<AccountScope<'a>> {
        self.account().map(|own| AccountScope { own, named })
    }
}

impl From<&lambda_runtime::Context> for Invocation {
    fn from(context: &lambda_runtime::Context) -> Self {
        Self {
            account: invoked_account(context),
            function_arn: Some(context.invoked_function_arn.clone())
                .filter(|arn| arn.starts_with("arn:")),
            deadline: invocation_deadline(context),
        }
    }
}

/// One of ecr-warden's Lambda functions: what it does with one payload in one invocation. The
/// runtime calls [`Function::handle_invocation`]; tests and local tools call [`Function::handle`].
// Only ever used in the function's own single-threaded Lambda runtime (no `Send` bound needed).
#[allow(async_fn_in_trait)]
pub trait Function {
    /// The function's own input type: the kinds of payload it takes.
    type Input: FunctionInput;

    /// Handle `payload` as `invocation` (the account the function runs in, the deadline).
    async fn invoke(
        &self,
        payload: Payload<Self::Input>,
        invocation: Invocation,
    ) -> Result<Value, InvocationError>;

    /// What the Lambda runtime calls: the payload with what the runtime says of the invocation.
    async fn handle_invocation(
        &self,
        event: lambda_runtime::LambdaEvent<Payload<Self::Input>>,
    ) -> Result<Value, InvocationError> {
        self.invoke(event.payload, Invocation::from(&event.context))
            .await
    }

    /// Handle one payload outside Lambda (tests, local tools): no account scope, no deadline.
    async fn handle(
        &self,
        payload: impl Into<Payload<Self::Input>>,
    ) -> Result<Value, InvocationError> {
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
/// contract. A refused payload is acknowledged and summarised, with no AWS call. With a `scope`,
/// an EventBridge event for an account outside it — delivered by a cross-account event bus — is
/// acknowledged and ignored: the function has no credentials there, and its own registry's
/// repository of the same name would be the wrong one. With `stop_by` (the deadline less
/// [`HANDLER_MARGIN`]), a handler still running then is stopped and the invocation fails
/// retryable — reported, rather than killed by Lambda's timeout without a word.
pub async fn frame<I, F, Fut>(
    calls: &ApiCalls,
    payload: Payload<I>,
    scope: Option<AccountScope<'_>>,
    stop_by: Option<std::time::SystemTime>,
    handler: F,
) -> Result<Value, InvocationError>
where
    I: FunctionInput,
    F: FnOnce(I) -> Fut,
    Fut: Future<Output = Result<Handled, PortError>>,
{
    let started = Instant::now();
    let calls_before = calls.snapshot();
    let mut summary = Summary::new(I::FUNCTION);
    let result = match payload.0 {
        Err(refusal) => Ok(refused(&mut summary, &refusal)),
        Ok(input) => {
            let about = input.summary();
            summary.kind = about.kind;
            match about.account.filter(|a| scope.is_some_and(|s| !s.takes(a))) {
                Some(account) => Ok(ignored(&mut summary, &account, scope)),
                None => {
                    summary.repository = about.repository.map(|r| r.to_string());
                    summary.digest = about.digest.map(|d| d.to_string());
                    let span = tracing::info_span!(
                        "invocation",
                        function = I::FUNCTION,
                        kind = %summary.kind,
                        repository = summary.repository.as_deref(),
                        digest = summary.digest.as_deref(),
                    );
                    let handling = until(stop_by, handler(input)).instrument(span);
                    concluded(&mut summary, handling.await)
                }
            }
        }
    };
    summary.api_calls = calls.since(&calls_before);
    calls.log_since(I::FUNCTION, &calls_before);
    summary.duration = started.elapsed();
    summary.emit();
    result
}

/// A payload that is not the function's input: logged, summarised, acknowledged.
fn refused(summary: &mut Summary, refusal: &Refusal) -> Value {
    summary.kind = match refusal {
        Refusal::Malformed(_) => {
            tracing::warn!(error = %refusal, "rejected event");
            "invalid".into()
        }
        Refusal::NotTaken { .. } => {
            tracing::error!(error = %refusal, "not retried: retrying cannot fix this");
            "not_taken".into()
        }
    };
    summary.decision = refusal.decision().into();
    summary.error = Some(refusal.to_string());
    json!({"status": "rejected", "error": refusal.to_string()})
}

/// An event for an account outside the function's scope: logged, summarised, acknowledged.
fn ignored(summary: &mut Summary, account: &str, scope: Option<AccountScope<'_>>) -> Value {
    let error = format!(
        "an event for account {account}, which is neither this deployment's ({}) nor one the policy names: ignored",
        scope.map(|s| s.own).unwrap_or_default()
    );
    tracing::warn!(%error, "event for another account");
    summary.decision = "ignored: another account's event".into();
    summary.error = Some(error.clone());
    json!({"status": "ignored", "error": error})
}

/// `handling`, stopped at `stop_by` if it is still running then (a retryable failure).
async fn until(
    stop_by: Option<std::time::SystemTime>,
    handling: impl Future<Output = Result<Handled, PortError>>,
) -> Result<Handled, PortError> {
    let Some(at) = stop_by else {
        return handling.await;
    };
    let left = at
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    tokio::time::timeout(left, handling)
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

/// What the handler concluded, in the summary and as Lambda's answer: its response, or the
/// failure (retryable or not, as its error type tells the invoker).
fn concluded(
    summary: &mut Summary,
    outcome: Result<Handled, PortError>,
) -> Result<Value, InvocationError> {
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
            // Lambda retries an asynchronous event whatever the error; the state machine and the
            // CLI read the error type (`NonRetryable`: retrying cannot help).
            if error.is_retryable() {
                tracing::warn!(%error, "retryable failure: the invoker may retry the event");
                summary.decision = "failed, retryable".into();
            } else {
                tracing::error!(%error, "failed: retrying cannot fix this");
                summary.decision = "failed, not retryable".into();
            }
            summary.error = Some(error.to_string());
            Err(InvocationError::from(error))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Value {
        let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_slice(&bytes).unwrap()
    }

    /// Each function's input type refuses what the function does not take when the payload is
    /// parsed; the frame acknowledges the refusal (no retry), summarises it, and never calls the
    /// handler.
    #[tokio::test]
    async fn a_kind_a_function_does_not_take_is_refused_at_parse_time_and_acknowledged() {
        use warden_core::{janitor, notify, replicate, scan_gate, tag_guard};
        let cases: Vec<(Result<(), Refusal>, &str)> = vec![
            (
                refusal::<notify::Input>("ecr-image-action.push.json"),
                "notifier does not take EventBridge events",
            ),
            (
                refusal::<replicate::Input>("ecr-image-scan.complete.json"),
                "replicator does not take events other than ECR pushes",
            ),
            (
                refusal::<replicate::Input>("sqs.inspector2-finding-batch.json"),
                "replicator does not take SQS batches",
            ),
            (
                refusal::<janitor::Input>("ecr-image-action.push.json"),
                "janitor does not take image_push events",
            ),
            (
                refusal::<tag_guard::Input>("sns.warden-message.json"),
                "tag-guard does not take SNS deliveries",
            ),
            (
                refusal::<scan_gate::Input>("sns.warden-message.json"),
                "scan-gate does not take SNS deliveries",
            ),
        ];
        for (refused, expected) in cases {
            assert_eq!(refused.map_err(|e| e.to_string()), Err(expected.to_owned()));
        }
        let calls = ApiCalls::new();
        let called = std::cell::Cell::new(false);
        let payload = Payload::<notify::Input>::from(fixture("ecr-image-action.push.json"));
        let response = frame(&calls, payload, None, None, |_| async {
            called.set(true);
            Ok(Handled::default())
        })
        .await
        .unwrap();
        assert!(!called.get());
        assert_eq!(response["status"], "rejected");
        assert_eq!(
            response["error"],
            "notifier does not take EventBridge events"
        );
        // What each takes, it takes.
        assert!(
            Payload::<janitor::Input>::from(fixture("scheduled-event.json"))
                .0
                .is_ok()
        );
        assert!(
            Payload::<scan_gate::Input>::from(fixture("sqs.inspector2-finding-batch.json"))
                .0
                .is_ok()
        );
        assert!(
            Payload::<replicate::Input>::from(fixture("ecr-image-action.push.json"))
                .0
                .is_ok()
        );
    }

    fn refusal<I: FunctionInput>(name: &str) -> Result<(), Refusal> {
        Payload::<I>::from(fixture(name)).0.map(|_| ())
    }

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
