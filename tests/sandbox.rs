//! The sandbox over real HTTP on 127.0.0.1: each test starts its own on a free port
//! and talks to it with ureq, as the runner will. Every wait is bounded.

use ecbulk::key::KeyId;
use ecbulk::limits::WindowSpec;
use ecbulk::sandbox::{Sandbox, SandboxConfig};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const KEY: &str = "partner-key-0123456789abcdef";
const ROUTE: &str = "/account/emergency-emails";

/// A sandbox without limits or faults, unless the test says otherwise.
fn start(config: SandboxConfig) -> Sandbox {
    Sandbox::start(config).expect("the sandbox starts")
}

fn plain() -> SandboxConfig {
    SandboxConfig {
        limits: WindowSpec::default(),
        ..SandboxConfig::default()
    }
}

/// An agent that hands back 4xx/5xx as responses, ignores any proxy settings of the
/// machine, and never waits longer than `timeout`.
fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .timeout_global(Some(timeout))
        .build()
        .into()
}

fn client() -> ureq::Agent {
    agent(Duration::from_secs(5))
}

#[derive(Debug)]
struct Answer {
    status: u16,
    retry_after: Option<String>,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    fn error_codes(&self) -> Vec<String> {
        let json = self.json();
        let errors = json["errors"].as_array().cloned().unwrap_or_default();
        errors
            .iter()
            .map(|e| e["code"].as_str().unwrap_or("?").to_owned())
            .collect()
    }
}

fn read(mut response: ureq::http::Response<ureq::Body>) -> Result<Answer, ureq::Error> {
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    Ok(Answer {
        status: response.status().as_u16(),
        retry_after,
        body: response.body_mut().read_to_string()?,
    })
}

fn put_body(
    agent: &ureq::Agent,
    sandbox: &Sandbox,
    key: Option<&str>,
    body: &str,
) -> Result<Answer, ureq::Error> {
    let mut request = agent
        .put(format!("{}{ROUTE}", sandbox.base_url()))
        .content_type("application/json");
    if let Some(key) = key {
        request = request.header("X-PARTNER-APIKEY", key);
    }
    read(request.send(body)?)
}

fn put(
    agent: &ureq::Agent,
    sandbox: &Sandbox,
    key: &str,
    emails: &[&str],
) -> Result<Answer, ureq::Error> {
    let body = json!({ "emergency_contact_emails": emails }).to_string();
    put_body(agent, sandbox, Some(key), &body)
}

fn get(agent: &ureq::Agent, sandbox: &Sandbox, key: &str) -> Result<Answer, ureq::Error> {
    let url = format!("{}{ROUTE}", sandbox.base_url());
    read(agent.get(url).header("X-PARTNER-APIKEY", key).call()?)
}

fn listed(agent: &ureq::Agent, sandbox: &Sandbox, key: &str) -> Vec<String> {
    let answer = get(agent, sandbox, key).expect("GET answers");
    assert_eq!(answer.status, 200, "{answer:?}");
    serde_json::from_value(answer.json()["emergency_contact_emails"].clone()).expect("a list")
}

#[test]
fn put_adds_dedupes_case_insensitively_and_get_lists_in_order() {
    let sandbox = start(plain());
    let agent = client();

    let first = put(
        &agent,
        &sandbox,
        KEY,
        &["Ops@Example.com", "b@example.com", "ops@example.com"],
    )
    .unwrap();
    assert_eq!((first.status, first.body.as_str()), (204, ""));
    let second = put(&agent, &sandbox, KEY, &["B@EXAMPLE.COM", "c@example.com"]).unwrap();
    assert_eq!(second.status, 204);

    let expected = ["Ops@Example.com", "b@example.com", "c@example.com"];
    assert_eq!(listed(&agent, &sandbox, KEY), expected);
    assert_eq!(sandbox.emails_of(KEY), expected);
    assert!(listed(&agent, &sandbox, "another-partner-key").is_empty());
}

#[test]
fn preloaded_addresses_are_listed_and_deduped_against() {
    let sandbox = start(plain());
    sandbox.preload(KEY, &["old@example.com"]);
    let agent = client();
    put(
        &agent,
        &sandbox,
        KEY,
        &["OLD@example.com", "new@example.com"],
    )
    .unwrap();
    assert_eq!(
        listed(&agent, &sandbox, KEY),
        ["old@example.com", "new@example.com"]
    );
}

#[test]
fn a_bad_address_gets_400_naming_it_and_nothing_is_added() {
    let sandbox = start(plain());
    let answer = put(
        &client(),
        &sandbox,
        KEY,
        &["good@example.com", "bad@@example.com"],
    )
    .unwrap();
    assert_eq!(answer.status, 400);
    assert_eq!(answer.error_codes(), ["invalid_email"]);
    let message = answer.json()["errors"][0]["message"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    assert!(message.contains("bad@@example.com"), "{message}");
    assert!(sandbox.emails_of(KEY).is_empty());
}

#[test]
fn malformed_bodies_get_400_with_the_error_body() {
    let sandbox = start(plain());
    let agent = client();
    let cases = [
        ("{not json", "invalid_json"),
        (r#"{"emergency_contact_emails":[]}"#, "invalid_request"),
        (r#"{"emergency_contact_emails":[1]}"#, "invalid_request"),
        (r#"["a@example.com"]"#, "invalid_request"),
    ];
    for (body, code) in cases {
        let answer = put_body(&agent, &sandbox, Some(KEY), body).unwrap();
        assert_eq!(answer.status, 400, "{body}");
        assert_eq!(answer.error_codes(), [code], "{body}");
    }
}

#[test]
fn keys_outside_the_known_set_get_401_and_a_missing_key_too() {
    let keys: HashSet<String> = [KEY.to_owned()].into();
    let sandbox = start(SandboxConfig {
        keys: Some(keys),
        ..plain()
    });
    let agent = client();
    let body = r#"{"emergency_contact_emails":["a@example.com"]}"#;

    let unknown = put_body(&agent, &sandbox, Some("not-a-known-key"), body).unwrap();
    assert_eq!(
        (unknown.status, unknown.error_codes()),
        (401, vec!["invalid_api_key".into()])
    );
    let missing = put_body(&agent, &sandbox, None, body).unwrap();
    assert_eq!(
        (missing.status, missing.error_codes()),
        (401, vec!["missing_api_key".into()])
    );
    assert_eq!(
        get(&agent, &sandbox, "not-a-known-key").unwrap().status,
        401
    );
    assert_eq!(
        put_body(&agent, &sandbox, Some(KEY), body).unwrap().status,
        204
    );
}

#[test]
fn other_paths_get_404_and_other_methods_405() {
    let sandbox = start(plain());
    let agent = client();
    let elsewhere = agent
        .get(format!("{}/account", sandbox.base_url()))
        .header("X-PARTNER-APIKEY", KEY)
        .call()
        .map(read)
        .unwrap()
        .unwrap();
    assert_eq!(
        (elsewhere.status, elsewhere.error_codes()),
        (404, vec!["not_found|route".into()])
    );

    let post = agent
        .post(format!("{}{ROUTE}", sandbox.base_url()))
        .header("X-PARTNER-APIKEY", KEY)
        .send("{}")
        .unwrap();
    assert_eq!(
        post.headers().get("allow").and_then(|v| v.to_str().ok()),
        Some("GET, PUT")
    );
    assert_eq!(read(post).unwrap().status, 405);
}

#[test]
fn the_window_gives_429_with_retry_after_and_the_error_body() {
    let sandbox = start(SandboxConfig {
        limits: "3/1s".parse().unwrap(),
        retry_after: Some(1),
        ..SandboxConfig::default()
    });
    let agent = client();
    let statuses: Vec<u16> = (0..5)
        .map(|i| {
            put(&agent, &sandbox, KEY, &[&format!("a{i}@example.com")])
                .unwrap()
                .status
        })
        .collect();
    assert_eq!(statuses, [204, 204, 204, 429, 429]);

    let refused = put(&agent, &sandbox, KEY, &["late@example.com"]).unwrap();
    assert_eq!(refused.error_codes(), ["request_limit_exceeded"]);
    assert_eq!(refused.retry_after.as_deref(), Some("1"));
    // Another key has its own window; refused addresses were not added.
    assert_eq!(
        put(&agent, &sandbox, "second-key-abcdef", &["x@example.com"])
            .unwrap()
            .status,
        204
    );
    assert_eq!(sandbox.emails_of(KEY).len(), 3);
}

#[test]
fn the_digicert_default_refuses_the_101st_request_in_five_seconds() {
    let sandbox = start(SandboxConfig::default());
    let agent = client();
    let started = Instant::now();
    let refused = (0..101)
        .filter(|_| get(&agent, &sandbox, KEY).unwrap().status == 429)
        .count();
    // 101 requests on loopback take far less than 5 s; this guards the premise.
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(refused, 1);
}

#[test]
fn fail_rate_one_gives_503_with_retry_after() {
    let sandbox = start(SandboxConfig {
        fail_rate: 1.0,
        retry_after: Some(4),
        ..plain()
    });
    let answer = put(&client(), &sandbox, KEY, &["a@example.com"]).unwrap();
    assert_eq!(answer.status, 503);
    assert_eq!(answer.error_codes(), ["service_unavailable"]);
    assert_eq!(answer.retry_after.as_deref(), Some("4"));
    assert!(sandbox.emails_of(KEY).is_empty());
}

#[test]
fn reset_rate_one_gives_a_transport_error_not_a_response() {
    let sandbox = start(SandboxConfig {
        reset_rate: 1.0,
        ..plain()
    });
    for _ in 0..3 {
        match put(&client(), &sandbox, KEY, &["a@example.com"]) {
            // ureq sees the peer hang up: an I/O error, never a status.
            Err(ureq::Error::Io(_)) => {}
            other => panic!("expected a transport error, got {other:?}"),
        }
    }
    let requests = sandbox.requests();
    assert_eq!(requests.len(), 3);
    assert!(requests.iter().all(|r| r.status.is_none()));
    assert!(sandbox.emails_of(KEY).is_empty());
}

#[test]
fn latency_delays_every_answer() {
    let sandbox = start(SandboxConfig {
        latency: Duration::from_millis(250),
        ..plain()
    });
    let agent = client();
    for _ in 0..2 {
        let started = Instant::now();
        assert_eq!(get(&agent, &sandbox, KEY).unwrap().status, 200);
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(250), "{took:?}");
        assert!(took < Duration::from_secs(3), "{took:?}");
    }
}

#[test]
fn a_stall_past_the_client_timeout_is_a_timeout_and_shutdown_stays_prompt() {
    let sandbox = start(SandboxConfig {
        stall_rate: 1.0,
        stall: Duration::from_secs(30),
        ..plain()
    });
    let started = Instant::now();
    let outcome = put(
        &agent(Duration::from_millis(300)),
        &sandbox,
        KEY,
        &["a@example.com"],
    );
    assert!(
        matches!(outcome, Err(ureq::Error::Timeout(_))),
        "{outcome:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    // The stalled request was judged (and its address added) before the wait.
    assert_eq!(sandbox.emails_of(KEY), ["a@example.com"]);
    assert!(sandbox.requests()[0].stalled);

    // A stalled client elsewhere must not hold the sandbox open.
    let url = sandbox.base_url();
    let stuck = std::thread::spawn(move || {
        agent(Duration::from_secs(10))
            .get(format!("{url}{ROUTE}"))
            .header("X-PARTNER-APIKEY", KEY)
            .call()
            .map(|r| r.status())
    });
    std::thread::sleep(Duration::from_millis(200));
    let stopping = Instant::now();
    sandbox.shutdown();
    assert!(
        stopping.elapsed() < Duration::from_secs(2),
        "{:?}",
        stopping.elapsed()
    );
    let stuck = stuck.join().expect("the client thread ends");
    assert!(stuck.is_err(), "the stalled client got {stuck:?}");
}

#[test]
fn dropping_the_sandbox_closes_its_port() {
    let sandbox = start(plain());
    let addr = sandbox.addr();
    assert_eq!(get(&client(), &sandbox, KEY).unwrap().status, 200);
    drop(sandbox);
    assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err());
}

#[test]
fn a_sandbox_dropped_inside_another_runtime_stops_without_a_panic() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let addr = runtime.block_on(async {
        let sandbox = start(plain());
        let addr = sandbox.addr();
        drop(sandbox);
        addr
    });
    // Stopped without waiting there; the port closes moments later.
    let deadline = Instant::now() + Duration::from_secs(2);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
        assert!(Instant::now() < deadline, "the port stayed open");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    let sandbox = start(plain());
    let mut stream = TcpStream::connect(sandbox.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    for i in 0..3 {
        let body = format!(r#"{{"emergency_contact_emails":["k{i}@example.com"]}}"#);
        let request = format!(
            "PUT /partner-subscription/api/v1{ROUTE} HTTP/1.1\r\nHost: 127.0.0.1\r\n\
             X-PARTNER-APIKEY: {KEY}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).unwrap();
        let head = read_head(&mut stream);
        assert!(head.starts_with("HTTP/1.1 204"), "request {i}: {head}");
    }
    assert_eq!(sandbox.emails_of(KEY).len(), 3);
}

#[test]
fn a_body_over_one_mebibyte_gets_413_without_being_read() {
    let sandbox = start(plain());
    let mut stream = TcpStream::connect(sandbox.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let request = format!(
        "PUT /partner-subscription/api/v1{ROUTE} HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         X-PARTNER-APIKEY: {KEY}\r\nContent-Length: {}\r\n\r\n",
        2 * 1024 * 1024
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("request_too_large"), "{answer}");
}

/// Reads a response head and its body (by Content-Length) from a raw stream.
fn read_head(stream: &mut TcpStream) -> String {
    let mut bytes = Vec::new();
    let mut byte = [0u8; 1];
    while !bytes.ends_with(b"\r\n\r\n") && bytes.len() < 16 * 1024 {
        match stream.read(&mut byte) {
            Ok(1) => bytes.push(byte[0]),
            _ => break,
        }
    }
    let head = String::from_utf8_lossy(&bytes).into_owned();
    let length = head
        .lines()
        .find_map(|line| {
            line.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap_or(0))
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    let _ = stream.read_exact(&mut body);
    head
}

#[test]
fn the_log_file_matches_what_was_sent_and_never_holds_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("requests.jsonl");
    let sandbox = start(SandboxConfig {
        log: Some(path.clone()),
        ..plain()
    });
    let agent = client();
    put(&agent, &sandbox, KEY, &["a@example.com", "b@example.com"]).unwrap();
    put(&agent, &sandbox, KEY, &["nope"]).unwrap();
    get(&agent, &sandbox, KEY).unwrap();
    put_body(&agent, &sandbox, None, "{}").unwrap();
    drop(sandbox);

    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains(KEY), "the log holds the key:\n{text}");
    assert!(
        !text.contains(&KEY[KEY.len() - 8..]),
        "the log holds part of the key"
    );
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    let id = KeyId::of(KEY).to_string();
    let seen: Vec<(&str, Value, u64, Value)> = lines
        .iter()
        .map(|l| {
            (
                l["method"].as_str().unwrap_or("?"),
                l["status"].clone(),
                l["emails"].as_u64().unwrap_or(99),
                l["key_id"].clone(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("PUT", json!(204), 2, json!(id)),
            ("PUT", json!(400), 1, json!(id)),
            ("GET", json!(200), 0, json!(id)),
            ("PUT", json!(401), 0, Value::Null),
        ]
    );
    for line in &lines {
        let time = line["time"].as_str().unwrap_or("");
        let parsed: Result<jiff::Timestamp, _> = time.parse();
        assert!(
            parsed.is_ok() && time.ends_with('Z') && time.len() == 24,
            "{time}"
        );
    }
}

#[test]
fn requests_are_recorded_in_order_with_when_they_arrived() {
    let sandbox = start(SandboxConfig {
        limits: "2/10s".parse().unwrap(),
        ..SandboxConfig::default()
    });
    let agent = client();
    let before = Instant::now();
    for _ in 0..3 {
        get(&agent, &sandbox, KEY).unwrap();
    }
    let requests = sandbox.requests();
    let statuses: Vec<_> = requests.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [Some(200), Some(200), Some(429)]);
    assert!(requests.windows(2).all(|pair| pair[0].at <= pair[1].at));
    assert!(requests[0].at >= before && requests[2].at <= Instant::now());
    assert!(
        requests
            .iter()
            .all(|r| r.key_id == Some(KeyId::of(KEY)) && r.method == "GET")
    );
}

/// The outcome of each of `n` sequential requests: a status, or `reset`.
fn fault_run(seed: u64, n: usize) -> Vec<String> {
    let sandbox = start(SandboxConfig {
        seed,
        fail_rate: 0.3,
        reset_rate: 0.2,
        ..plain()
    });
    let agent = client();
    (0..n)
        .map(|_| match get(&agent, &sandbox, KEY) {
            Ok(answer) => answer.status.to_string(),
            Err(_) => "reset".to_owned(),
        })
        .collect()
}

#[test]
fn seeded_faults_repeat_exactly_across_two_runs() {
    let first = fault_run(42, 40);
    assert_eq!(first, fault_run(42, 40));
    assert_ne!(first, fault_run(43, 40));
    for outcome in ["200", "503", "reset"] {
        assert!(
            first.iter().any(|o| o == outcome),
            "no {outcome} in {first:?}"
        );
    }
}

#[test]
fn start_refuses_a_rate_outside_zero_to_one() {
    let error = Sandbox::start(SandboxConfig {
        fail_rate: 2.0,
        ..plain()
    })
    .unwrap_err();
    assert!(error.to_string().contains("fail_rate"), "{error}");
}

/// A running `ecbulk sandbox` process with its first stdout line read.
struct Binary {
    child: std::process::Child,
    base_url: String,
}

fn spawn_binary(args: &[&str], env: &[(&str, &str)]) -> Binary {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ecbulk"))
        .arg("sandbox")
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut first = String::new();
        let _ = reader.read_line(&mut first);
        let _ = sender.send(first);
        // Keep draining so the child never blocks on a full pipe.
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    let first = receiver.recv_timeout(Duration::from_secs(10));
    let base_url = match first {
        Ok(line) => line.trim().to_owned(),
        Err(_) => {
            let _ = child.kill();
            panic!("no base URL within 10 s");
        }
    };
    Binary { child, base_url }
}

impl Binary {
    /// Sends SIGTERM and waits (at most 5 s) for the exit; returns the status and stderr.
    fn terminate(mut self) -> (std::process::ExitStatus, String) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(5);
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the sandbox did not exit within 5 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut stderr = String::new();
        if let Some(mut pipe) = self.child.stderr.take() {
            let _ = pipe.read_to_string(&mut stderr);
        }
        (status, stderr)
    }
}

fn put_url(base_url: &str, key: &str, emails: &[&str]) -> Answer {
    let body = json!({ "emergency_contact_emails": emails }).to_string();
    let response = client()
        .put(format!("{base_url}{ROUTE}"))
        .header("X-PARTNER-APIKEY", key)
        .content_type("application/json")
        .send(&body)
        .expect("the binary answers");
    read(response).unwrap()
}

#[test]
fn the_binary_prints_its_url_serves_and_exits_promptly_on_sigterm() {
    let binary = spawn_binary(&["--port", "0"], &[]);
    assert!(
        binary.base_url.starts_with("http://127.0.0.1:"),
        "{}",
        binary.base_url
    );
    assert!(binary.base_url.ends_with("/partner-subscription/api/v1"));
    assert_eq!(
        put_url(&binary.base_url, KEY, &["a@example.com"]).status,
        204
    );

    let started = Instant::now();
    let (status, stderr) = binary.terminate();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(status.success(), "{status:?}");
    assert!(stderr.contains("limits 100/5s,1000/300s"), "{stderr}");
    assert!(!stderr.contains(KEY));
}

#[test]
fn the_binary_takes_its_flags_from_the_environment_and_prints_no_key() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.txt");
    std::fs::write(&keys, format!("# the one key\n{KEY}\n")).unwrap();
    let keys = keys.to_string_lossy().into_owned();
    let binary = spawn_binary(
        &[],
        &[
            ("ECBULK_SANDBOX_LIMITS", "1/10s"),
            ("ECBULK_SANDBOX_RETRY_AFTER", "5"),
            ("ECBULK_SANDBOX_KEYS", &keys),
        ],
    );
    assert_eq!(
        put_url(&binary.base_url, KEY, &["a@example.com"]).status,
        204
    );
    let limited = put_url(&binary.base_url, KEY, &["b@example.com"]);
    assert_eq!(
        (limited.status, limited.retry_after.as_deref()),
        (429, Some("5"))
    );
    assert_eq!(
        put_url(&binary.base_url, "stranger-key-1234", &["a@example.com"]).status,
        401
    );

    let (status, stderr) = binary.terminate();
    assert!(status.success());
    assert!(stderr.contains("keys: 1 known"), "{stderr}");
    assert!(
        !stderr.contains(KEY) && !stderr.contains("stranger"),
        "{stderr}"
    );
}

#[test]
fn the_binary_refuses_a_bad_rate_naming_the_flag() {
    let output = Command::new(env!("CARGO_BIN_EXE_ecbulk"))
        .args(["sandbox", "--fail-rate", "1.5"])
        .env_clear()
        .output()
        .expect("the binary runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--fail-rate"), "{stderr}");
}
