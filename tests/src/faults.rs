//! A fault-injecting HTTP proxy between the functions and the emulator: every request is forwarded
//! unchanged, except those a rule picks — by operation (`ECR.BatchDeleteImage`, `SNS.Publish`, ...,
//! the names the call counter uses), after letting the first N through, for M calls or for good —
//! which are answered with throttling, a 500, or forwarded late. The operation is read from the
//! request as AWS routes it: the service from the SigV4 credential scope, the action from
//! `X-Amz-Target` (JSON protocols) or the `Action` form field (query protocols).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tiny_http::{Header, Response, Server};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 400 with the service's throttling error (`ThrottlingException` / `Throttling`).
    Throttle,
    /// 500 `InternalFailure`.
    ServerError,
    /// Forwarded after this long.
    Delay(Duration),
}

#[derive(Debug, Clone)]
struct Rule {
    operation: String,
    fault: Fault,
    pass_first: u32,
    times: Option<u32>,
    seen: u32,
    served: u32,
}

#[derive(Default)]
struct State {
    rules: Vec<Rule>,
}

pub struct FaultProxy {
    url: String,
    state: Arc<Mutex<State>>,
    server: Arc<Server>,
}

impl FaultProxy {
    /// A proxy on 127.0.0.1 (a free port) in front of `upstream`.
    pub fn start(upstream: &str) -> Self {
        let server = Arc::new(Server::http("127.0.0.1:0").expect("bind the fault proxy"));
        let url = format!(
            "http://{}",
            server.server_addr().to_ip().expect("an IP address")
        );
        let state = Arc::new(Mutex::new(State::default()));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("the proxy's runtime");
        let client = crate::http();
        let (accept, rules, upstream) = (server.clone(), state.clone(), upstream.to_owned());
        std::thread::spawn(move || {
            for request in accept.incoming_requests() {
                let (rules, client, upstream) = (rules.clone(), client.clone(), upstream.clone());
                let handle = runtime.handle().clone();
                std::thread::spawn(move || serve(request, &rules, &client, &upstream, &handle));
            }
        });
        Self { url, state, server }
    }

    /// `base` (an account's SDK configuration) talking to AWS through this proxy, with the SDK's
    /// standard retry mode at its default 3 attempts — what `load_sdk_config` gives the Lambdas.
    pub fn sdk(&self, base: &aws_config::SdkConfig) -> aws_config::SdkConfig {
        base.to_builder()
            .endpoint_url(&self.url)
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(3))
            .build()
    }

    /// Answer `operation` with `fault`, after letting `pass_first` calls through, `times` times
    /// (`None`: from then on).
    pub fn inject(&self, operation: &str, fault: Fault, pass_first: u32, times: Option<u32>) {
        self.lock().rules.push(Rule {
            operation: operation.to_owned(),
            fault,
            pass_first,
            times,
            seen: 0,
            served: 0,
        });
    }

    /// Remove every rule: from now on everything is forwarded.
    pub fn heal(&self) {
        self.lock().rules.clear();
    }

    /// How many faults were served for `operation` so far.
    pub fn served(&self, operation: &str) -> u32 {
        self.lock()
            .rules
            .iter()
            .filter(|r| r.operation == operation)
            .map(|r| r.served)
            .sum()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

/// `Service.Action` as the call counter names it, from a request's headers and body.
fn operation(headers: &[Header], body: &[u8]) -> String {
    let header = |name: &str| {
        headers
            .iter()
            .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str().to_owned())
    };
    let scope = header("Authorization")
        .and_then(|a| a.split("Credential=").nth(1).map(str::to_owned))
        .and_then(|c| c.split('/').nth(3).map(str::to_owned))
        .unwrap_or_default();
    let service = match scope.as_str() {
        "ecr" => "ECR",
        "dynamodb" => "DynamoDB",
        "sns" => "SNS",
        "sts" => "STS",
        "ecs" => "ECS",
        "inspector2" => "Inspector2",
        "lambda" => "Lambda",
        "secretsmanager" => "Secrets Manager",
        other => other,
    };
    let action = header("X-Amz-Target")
        .and_then(|t| t.rsplit('.').next().map(str::to_owned))
        .or_else(|| {
            String::from_utf8_lossy(body)
                .split('&')
                .find_map(|kv| kv.strip_prefix("Action=").map(str::to_owned))
        })
        .unwrap_or_default();
    format!("{service}.{action}")
}

/// The fault a rule picks for this call, counting the call against every rule for it.
fn pick(state: &Mutex<State>, operation: &str) -> Option<Fault> {
    let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
    let mut chosen = None;
    for rule in state.rules.iter_mut().filter(|r| r.operation == operation) {
        rule.seen += 1;
        let due = rule.seen > rule.pass_first && rule.times.is_none_or(|n| rule.served < n);
        if due && chosen.is_none() {
            rule.served += 1;
            chosen = Some(rule.fault);
        }
    }
    chosen
}

fn error(
    json_protocol: bool,
    status: u16,
    json_code: &str,
    query_code: &str,
) -> Response<std::io::Cursor<Vec<u8>>> {
    let header =
        |k: &str, v: &str| Header::from_bytes(k.as_bytes(), v.as_bytes()).expect("a header");
    if json_protocol {
        let body = format!(r#"{{"__type":"{json_code}","message":"injected by the fault proxy"}}"#);
        Response::from_data(body.into_bytes())
            .with_status_code(status)
            .with_header(header("Content-Type", "application/x-amz-json-1.1"))
            .with_header(header("x-amzn-ErrorType", json_code))
    } else {
        let body = format!(
            "<ErrorResponse><Error><Type>Sender</Type><Code>{query_code}</Code><Message>injected by the fault proxy</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>"
        );
        Response::from_data(body.into_bytes())
            .with_status_code(status)
            .with_header(header("Content-Type", "text/xml"))
    }
}

fn serve(
    mut request: tiny_http::Request,
    state: &Mutex<State>,
    client: &reqwest::Client,
    upstream: &str,
    runtime: &tokio::runtime::Handle,
) {
    let mut body = Vec::new();
    if request.as_reader().read_to_end(&mut body).is_err() {
        return;
    }
    let headers = request.headers().to_vec();
    let op = operation(&headers, &body);
    let json_protocol = headers.iter().any(|h| {
        h.field
            .as_str()
            .as_str()
            .eq_ignore_ascii_case("X-Amz-Target")
    });
    let fault = pick(state, &op);
    match fault {
        Some(Fault::Throttle) => {
            let _ = request.respond(error(
                json_protocol,
                400,
                "ThrottlingException",
                "Throttling",
            ));
            return;
        }
        Some(Fault::ServerError) => {
            let _ = request.respond(error(
                json_protocol,
                500,
                "InternalFailure",
                "InternalFailure",
            ));
            return;
        }
        Some(Fault::Delay(d)) => std::thread::sleep(d),
        None => {}
    }
    let method =
        reqwest::Method::from_bytes(request.method().as_str().as_bytes()).expect("a method");
    let mut forward = client.request(method, format!("{upstream}{}", request.url()));
    for h in &headers {
        let name = h.field.as_str().as_str();
        if !["host", "content-length", "connection", "transfer-encoding"]
            .contains(&name.to_ascii_lowercase().as_str())
        {
            forward = forward.header(name, h.value.as_str());
        }
    }
    let answer = runtime.block_on(async move {
        let resp = forward.body(body).send().await?;
        let status = resp.status().as_u16();
        let headers: Vec<(String, Vec<u8>)> = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.as_bytes().to_vec()))
            .collect();
        let bytes = resp.bytes().await?;
        Ok::<_, reqwest::Error>((status, headers, bytes))
    });
    match answer {
        Ok((status, headers, bytes)) => {
            let mut response = Response::from_data(bytes.to_vec()).with_status_code(status);
            for (k, v) in headers {
                if !["content-length", "connection", "transfer-encoding"].contains(&k.as_str()) {
                    if let Ok(h) = Header::from_bytes(k.as_bytes(), v) {
                        response = response.with_header(h);
                    }
                }
            }
            let _ = request.respond(response);
        }
        Err(_) => {
            let _ = request.respond(error(
                json_protocol,
                502,
                "InternalFailure",
                "InternalFailure",
            ));
        }
    }
}
