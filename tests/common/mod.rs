//! Shared parts of the integration tests: the real binary, temp folders, reports
//! parsed back as CSV, and a scripted HTTP server that plays a fixed list of answers.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The `ecbulk` binary under test, with no ECBULK_* variables leaking in.
pub fn ecbulk() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ecbulk"));
    for (name, _) in std::env::vars() {
        if name.starts_with("ECBULK_") || name.ends_with("_PROXY") || name.ends_with("_proxy") {
            command.env_remove(name);
        }
    }
    command.stdin(Stdio::null());
    command
}

/// Runs `ecbulk run INPUT --report REPORT ARGS...` in `dir` and returns its output.
pub fn run_in(dir: &Path, input: &str, args: &[&str]) -> Output {
    ecbulk()
        .current_dir(dir)
        .arg("run")
        .arg(input)
        .args(["--report", "report.csv"])
        .args(args)
        .output()
        .expect("the binary runs")
}

/// Writes `text` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, text: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write test input");
    path
}

/// A report row as column name -> value.
pub type ReportRow = HashMap<String, String>;

/// Reads a report back as CSV, checking its header.
pub fn read_report(path: &Path) -> Vec<ReportRow> {
    let mut reader = csv::Reader::from_path(path).expect("the report exists");
    let headers = reader.headers().expect("a header").clone();
    assert_eq!(
        headers.iter().collect::<Vec<_>>(),
        [
            "line",
            "account",
            "key",
            "key_id",
            "email",
            "status",
            "http_status",
            "attempts",
            "error_code",
            "error_message"
        ]
    );
    reader
        .records()
        .map(|r| {
            let record = r.expect("a well-formed row");
            headers
                .iter()
                .zip(record.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// `(line, email, status)` of every row, in report order.
pub fn line_email_status(rows: &[ReportRow]) -> Vec<(u64, String, String)> {
    rows.iter()
        .map(|r| {
            (
                r["line"].parse().expect("a line number"),
                r["email"].clone(),
                r["status"].clone(),
            )
        })
        .collect()
}

/// Text of stdout and stderr together, for scanning.
pub fn all_output(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Every file below `dir`, concatenated, for scanning for secrets.
pub fn all_files(dir: &Path) -> String {
    let mut text = String::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        if entry.path().is_file() {
            text.push_str(&String::from_utf8_lossy(
                &std::fs::read(entry.path()).unwrap_or_default(),
            ));
        }
    }
    text
}

/// One answer the scripted server gives.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// How long the server waits before answering.
    pub delay: Duration,
}

impl Answer {
    pub fn status(status: u16) -> Answer {
        Answer {
            status,
            headers: vec![],
            body: String::new(),
            delay: Duration::ZERO,
        }
    }

    pub fn error(status: u16, code: &str, message: &str) -> Answer {
        let body = serde_json::json!({"errors": [{"code": code, "message": message}]}).to_string();
        Answer {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body,
            delay: Duration::ZERO,
        }
    }

    pub fn after(mut self, delay: Duration) -> Answer {
        self.delay = delay;
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Answer {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// What the scripted server received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub url: String,
    pub headers: HashMap<String, String>,
    pub body: String,
    pub at: Instant,
}

/// A server on 127.0.0.1 that answers requests from a script: for each API key
/// (`X-PARTNER-APIKEY`), the answers in order, then 204 once the script runs out.
pub struct ScriptedServer {
    pub base_url: String,
    received: Arc<Mutex<Vec<Received>>>,
    server: Arc<tiny_http::Server>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ScriptedServer {
    pub fn start(script: HashMap<String, Vec<Answer>>) -> ScriptedServer {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind 127.0.0.1:0"));
        let port = server.server_addr().to_ip().expect("an IP listener").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(script));
        let thread = {
            let server = Arc::clone(&server);
            let received = Arc::clone(&received);
            std::thread::spawn(move || {
                for mut request in server.incoming_requests() {
                    let mut body = String::new();
                    let _ = request.as_reader().read_to_string(&mut body);
                    let headers: HashMap<String, String> = request
                        .headers()
                        .iter()
                        .map(|h| {
                            (
                                h.field.as_str().as_str().to_ascii_lowercase(),
                                h.value.as_str().to_string(),
                            )
                        })
                        .collect();
                    let key = headers.get("x-partner-apikey").cloned().unwrap_or_default();
                    received.lock().unwrap().push(Received {
                        method: request.method().as_str().to_string(),
                        url: request.url().to_string(),
                        headers,
                        body,
                        at: Instant::now(),
                    });
                    let answer = {
                        let mut script = script.lock().unwrap();
                        let queue = script.entry(key).or_default();
                        if queue.is_empty() {
                            Answer::status(204)
                        } else {
                            queue.remove(0)
                        }
                    };
                    // Answer on a thread of its own, so that a delayed answer does not
                    // hold back the requests behind it.
                    std::thread::spawn(move || {
                        std::thread::sleep(answer.delay);
                        let mut response = tiny_http::Response::from_string(answer.body)
                            .with_status_code(answer.status);
                        for (name, value) in answer.headers {
                            if let Ok(header) =
                                tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes())
                            {
                                response.add_header(header);
                            }
                        }
                        let _ = request.respond(response);
                    });
                }
            })
        };
        ScriptedServer {
            base_url: format!("http://127.0.0.1:{port}/partner-subscription/api/v1"),
            received,
            server,
            thread: Some(thread),
        }
    }

    /// Every request received so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Requests received for one key.
    pub fn received_for(&self, key: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.headers.get("x-partner-apikey").map(String::as_str) == Some(key))
            .collect()
    }
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Waits up to `limit` for `done`, polling; false on time-out.
pub fn wait_for(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    done()
}

/// The emails in a PUT body received by a server.
pub fn emails_in(body: &str) -> Vec<String> {
    let value: serde_json::Value = serde_json::from_str(body).expect("a JSON body");
    value["emergency_contact_emails"]
        .as_array()
        .expect("an array of emails")
        .iter()
        .map(|v| v.as_str().expect("a string").to_string())
        .collect()
}

pub use tempfile::TempDir;

/// A fresh temp folder.
pub fn temp_dir() -> TempDir {
    tempfile::tempdir().expect("a temp dir")
}

/// Reads all of a child's stdout line by line until one line is there.
pub fn first_line(child: &mut std::process::Child) -> String {
    let stdout = child.stdout.as_mut().expect("piped stdout");
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while stdout.read(&mut byte).map(|n| n == 1).unwrap_or(false) && byte[0] != b'\n' {
        line.push(byte[0]);
    }
    String::from_utf8_lossy(&line).into_owned()
}
