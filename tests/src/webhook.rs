//! A real HTTP server on 127.0.0.1 standing in for Slack's incoming webhooks. It records every POST
//! (path and JSON body) and answers 200, except under `/status/<code>/…`, where it answers `<code>`.

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use serde_json::Value;

pub struct WebhookServer {
    pub base: String,
    server: Arc<tiny_http::Server>,
    received: Arc<Mutex<Vec<(String, Value)>>>,
    thread: Option<JoinHandle<()>>,
}

impl WebhookServer {
    pub fn start() -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind 127.0.0.1"));
        let port = server.server_addr().to_ip().expect("an IP address").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let (srv, log) = (server.clone(), received.clone());
        let thread = std::thread::spawn(move || {
            for mut request in srv.incoming_requests() {
                let mut body = String::new();
                let _ = std::io::Read::read_to_string(request.as_reader(), &mut body);
                let path = request.url().to_owned();
                let json = serde_json::from_str(&body).unwrap_or(Value::String(body));
                log.lock().expect("log").push((path.clone(), json));
                let status = path
                    .strip_prefix("/status/")
                    .and_then(|rest| rest.split('/').next())
                    .and_then(|code| code.parse::<u16>().ok())
                    .unwrap_or(200);
                let text = if status == 200 { "ok" } else { "no_service" };
                let _ = request
                    .respond(tiny_http::Response::from_string(text).with_status_code(status));
            }
        });
        Self {
            base: format!("http://127.0.0.1:{port}"),
            server,
            received,
            thread: Some(thread),
        }
    }

    /// Bodies posted to paths starting with `prefix`, in order.
    pub fn posts(&self, prefix: &str) -> Vec<Value> {
        self.received
            .lock()
            .expect("log")
            .iter()
            .filter(|(p, _)| p.starts_with(prefix))
            .map(|(_, b)| b.clone())
            .collect()
    }
}

impl Drop for WebhookServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
