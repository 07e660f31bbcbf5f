//! A fault-injecting HTTP proxy between the functions and the emulator: every request is forwarded
//! unchanged, except those a rule picks — by operation (`ECR.BatchDeleteImage`, `SNS.Publish`, ...,
//! the names the call counter uses), after letting the first N through, for M calls or for good —
//! which are answered with throttling, a 500, a reset connection, or forwarded late. The operation
//! is read from the request as AWS routes it: the service from the SigV4 credential scope, the
//! action from `X-Amz-Target` (JSON protocols) or the `Action` form field (query protocols).
//! HTTP/1.1 with keep-alive on a plain TCP listener, so that a connection can be reset (RST).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 400 with the service's throttling error (`ThrottlingException` / `Throttling`).
    Throttle,
    /// 500 `InternalFailure`.
    ServerError,
    /// The connection reset (RST) before any response.
    Reset,
    /// Forwarded after this long.
    Delay(Duration),
    /// Forwarded at once (AWS acts on it), its answer held this long: a caller stopped meanwhile
    /// never learns what AWS did.
    Hold(Duration),
}

/// One request as the proxy saw it arrive: when, `Service.Action`, the account its credentials
/// act in (when known: see [`FaultProxy::name_account`], and every `AssumeRole` through the proxy
/// names the account of the credentials it hands out) and the region of its signature.
#[derive(Debug, Clone)]
pub struct Seen {
    pub at: std::time::Instant,
    pub operation: String,
    pub account: Option<String>,
    pub region: String,
}

#[derive(Debug, Clone)]
struct Rule {
    operation: String,
    /// Only requests whose body holds this text.
    body_contains: Option<String>,
    fault: Fault,
    pass_first: u32,
    times: Option<u32>,
    seen: u32,
    served: u32,
}

#[derive(Default)]
struct State {
    rules: Vec<Rule>,
    /// Access key id → the account its credentials act in.
    accounts: std::collections::HashMap<String, String>,
    seen: Vec<Seen>,
}

/// A status, headers and body, sent back as one HTTP/1.1 response.
type Answer = (u16, Vec<(String, String)>, Vec<u8>);

pub struct FaultProxy {
    url: String,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl FaultProxy {
    /// A proxy on 127.0.0.1 (a free port) in front of `upstream`.
    pub fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fault proxy");
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("the proxy's runtime");
        let client = crate::http();
        let (rules, stopping, upstream) = (state.clone(), stop.clone(), upstream.to_owned());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::Relaxed) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let (rules, client, upstream) = (rules.clone(), client.clone(), upstream.clone());
                let handle = runtime.handle().clone();
                std::thread::spawn(move || connection(stream, &rules, &client, &upstream, &handle));
            }
        });
        Self { url, state, stop }
    }

    /// The proxy's address (`http://127.0.0.1:PORT`): an `AWS_ENDPOINT_URL` for a subprocess.
    pub fn url(&self) -> &str {
        &self.url
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
        self.inject_where(operation, None, fault, pass_first, times);
    }

    /// As [`FaultProxy::inject`], for requests whose body holds `body_contains` only.
    pub fn inject_where(
        &self,
        operation: &str,
        body_contains: Option<&str>,
        fault: Fault,
        pass_first: u32,
        times: Option<u32>,
    ) {
        self.lock().rules.push(Rule {
            operation: operation.to_owned(),
            body_contains: body_contains.map(str::to_owned),
            fault,
            pass_first,
            times,
            seen: 0,
            served: 0,
        });
    }

    /// Requests signed with `access_key_id` act in `account`.
    pub fn name_account(&self, access_key_id: &str, account: &str) {
        self.lock()
            .accounts
            .insert(access_key_id.to_owned(), account.to_owned());
    }

    /// Every request seen so far, in arrival order.
    pub fn seen(&self) -> Vec<Seen> {
        let state = self.lock();
        state
            .seen
            .iter()
            .cloned()
            .map(|mut s| {
                // Keys handed out after the request was seen are named now.
                if let Some(key) = s.account.take() {
                    s.account = state.accounts.get(&key).cloned().or(Some(key));
                }
                s
            })
            .collect()
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
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.url.trim_start_matches("http://"));
    }
}

/// One request as read off the connection.
struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The signature's credential scope: `<key>/<date>/<region>/<service>/aws4_request`.
    fn scope(&self, part: usize) -> &str {
        self.header("Authorization")
            .and_then(|a| a.split("Credential=").nth(1))
            .and_then(|c| c.split([',', ' ']).next())
            .and_then(|c| c.split('/').nth(part))
            .unwrap_or_default()
    }

    /// `Service.Action` as the call counter names it.
    fn operation(&self) -> String {
        let scope = self
            .header("Authorization")
            .and_then(|a| a.split("Credential=").nth(1))
            .and_then(|c| c.split('/').nth(3))
            .unwrap_or_default();
        let service = match scope {
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
        let action = self
            .header("X-Amz-Target")
            .and_then(|t| t.rsplit('.').next().map(str::to_owned))
            .or_else(|| {
                String::from_utf8_lossy(&self.body)
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("Action=").map(str::to_owned))
            })
            .unwrap_or_default();
        format!("{service}.{action}")
    }
}

/// The fault a rule picks for this call, counting the call against every rule for it; the call is
/// noted as seen.
fn pick(state: &Mutex<State>, request: &Request) -> Option<Fault> {
    let operation = request.operation();
    let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
    state.seen.push(Seen {
        at: std::time::Instant::now(),
        operation: operation.clone(),
        account: Some(request.scope(0).to_owned()),
        region: request.scope(2).to_owned(),
    });
    let body = String::from_utf8_lossy(&request.body);
    let mut chosen = None;
    for rule in state.rules.iter_mut().filter(|r| {
        r.operation == operation
            && r.body_contains
                .as_deref()
                .is_none_or(|text| body.contains(text))
    }) {
        rule.seen += 1;
        let due = rule.seen > rule.pass_first && rule.times.is_none_or(|n| rule.served < n);
        if due && chosen.is_none() {
            rule.served += 1;
            chosen = Some(rule.fault);
        }
    }
    chosen
}

/// An AWS error response in the request's protocol: JSON (`X-Amz-Target`) or query (XML).
fn error(json_protocol: bool, status: u16, json_code: &str, query_code: &str) -> Answer {
    if json_protocol {
        let body = format!(r#"{{"__type":"{json_code}","message":"injected by the fault proxy"}}"#);
        let headers = vec![
            (
                "Content-Type".to_owned(),
                "application/x-amz-json-1.1".to_owned(),
            ),
            ("x-amzn-ErrorType".to_owned(), json_code.to_owned()),
        ];
        (status, headers, body.into_bytes())
    } else {
        let body = format!(
            "<ErrorResponse><Error><Type>Sender</Type><Code>{query_code}</Code><Message>injected by the fault proxy</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>"
        );
        let headers = vec![("Content-Type".to_owned(), "text/xml".to_owned())];
        (status, headers, body.into_bytes())
    }
}

/// Read one HTTP/1.1 request (`None` when the client closed the connection).
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (k, v) = header.split_once(':')?;
        headers.push((k.trim().to_owned(), v.trim().to_owned()));
    }
    let length = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Content-Length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}

/// Headers the proxy sets itself (or that belong to one hop only).
fn hop_by_hop(name: &str) -> bool {
    ["host", "content-length", "connection", "transfer-encoding"]
        .contains(&name.to_ascii_lowercase().as_str())
}

fn write_response(stream: &mut TcpStream, (status, headers, body): Answer) -> std::io::Result<()> {
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Unknown");
    let mut head = format!("HTTP/1.1 {status} {reason}\r\n");
    for (k, v) in headers.iter().filter(|(k, _)| !hop_by_hop(k)) {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    stream.write_all(head.as_bytes())?;
    stream.write_all(&body)?;
    stream.flush()
}

/// Serve one client connection, request after request (keep-alive).
fn connection(
    stream: TcpStream,
    state: &Mutex<State>,
    client: &reqwest::Client,
    upstream: &str,
    runtime: &tokio::runtime::Handle,
) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    while let Some(request) = read_request(&mut reader) {
        let json_protocol = request.header("X-Amz-Target").is_some();
        let assumed = assumed_account(&request);
        let answer = match pick(state, &request) {
            Some(Fault::Reset) => {
                // An RST rather than a FIN: no linger, then close.
                let _ = socket2::SockRef::from(&writer).set_linger(Some(Duration::ZERO));
                return;
            }
            Some(Fault::Throttle) => error(json_protocol, 400, "ThrottlingException", "Throttling"),
            Some(Fault::ServerError) => {
                error(json_protocol, 500, "InternalFailure", "InternalFailure")
            }
            Some(Fault::Delay(pause)) => {
                std::thread::sleep(pause);
                forward(request, client, upstream, runtime, json_protocol)
            }
            Some(Fault::Hold(pause)) => {
                let answer = forward(request, client, upstream, runtime, json_protocol);
                std::thread::sleep(pause);
                answer
            }
            None => forward(request, client, upstream, runtime, json_protocol),
        };
        if let (Some(account), Some(key)) = (assumed, handed_out_key(&answer)) {
            let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
            state.accounts.insert(key, account);
        }
        if write_response(&mut writer, answer).is_err() {
            return;
        }
    }
}

/// The account an `STS.AssumeRole` asks into (its `RoleArn`'s).
fn assumed_account(request: &Request) -> Option<String> {
    if request.operation() != "STS.AssumeRole" {
        return None;
    }
    let body = String::from_utf8_lossy(&request.body).replace("%3A", ":");
    let arn = body.split("RoleArn=").nth(1)?;
    let account = arn.split(':').nth(4)?;
    Some(account.to_owned())
}

/// The access key id an `AssumeRole` answer hands out.
fn handed_out_key((status, _, body): &Answer) -> Option<String> {
    if *status != 200 {
        return None;
    }
    let text = String::from_utf8_lossy(body);
    let after = text.split("<AccessKeyId>").nth(1)?;
    Some(after.split('<').next()?.trim().to_owned())
}

fn forward(
    request: Request,
    client: &reqwest::Client,
    upstream: &str,
    runtime: &tokio::runtime::Handle,
    json_protocol: bool,
) -> Answer {
    let Ok(method) = reqwest::Method::from_bytes(request.method.as_bytes()) else {
        return error(json_protocol, 400, "ValidationException", "InvalidAction");
    };
    let mut call = client.request(method, format!("{upstream}{}", request.path));
    for (k, v) in request.headers.iter().filter(|(k, _)| !hop_by_hop(k)) {
        call = call.header(k, v);
    }
    let answer = runtime.block_on(async move {
        let resp = call.body(request.body).send().await?;
        let status = resp.status().as_u16();
        let headers: Vec<(String, String)> = resp
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        let bytes = resp.bytes().await?;
        Ok::<_, reqwest::Error>((status, headers, bytes.to_vec()))
    });
    answer.unwrap_or_else(|_| error(json_protocol, 502, "InternalFailure", "InternalFailure"))
}
