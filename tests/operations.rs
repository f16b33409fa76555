//! The people who run `ecbulk`: a cron job (plain stderr, `-q`, a summary file for
//! monitors, options from the environment), an auditor (`--dry-run --check-keys`
//! sends no PUT), two runs that must not share a report, and a person at a
//! terminal (the bar, colour and `NO_COLOR`). All through the real binary.

mod common;

use common::*;
use ecbulk::sandbox::{Sandbox, SandboxConfig};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const KEY_A: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAkeyA";
const KEY_B: &str = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBkeyB";
const KEY_C: &str = "CCCCCCCCCCCCCCCCCCCCCCCCCCCCkeyC";
const KEY_D: &str = "DDDDDDDDDDDDDDDDDDDDDDDDDDDDkeyD";
const KEY_E: &str = "EEEEEEEEEEEEEEEEEEEEEEEEEEEEkeyE";

/// An input of `accounts` accounts with one address each, readable by its owner
/// only (as an input full of keys should be).
fn accounts_csv(dir: &Path, accounts: usize) -> Vec<String> {
    let keys: Vec<String> = (0..accounts).map(|i| format!("key-{i:028}")).collect();
    let mut csv = String::from("api_key,email\n");
    for (i, key) in keys.iter().enumerate() {
        csv += &format!("{key},ops{i}@example.com\n");
    }
    private(&write(dir, "in.csv", csv));
    keys
}

fn private(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let _ = path;
}

fn slow_sandbox(latency_ms: u64) -> Sandbox {
    Sandbox::start(SandboxConfig {
        latency: Duration::from_millis(latency_ms),
        ..Default::default()
    })
    .expect("the sandbox starts")
}

fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn json_answer(body: &str) -> Answer {
    Answer {
        status: 200,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: body.into(),
        delay: Duration::ZERO,
    }
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("the summary file exists"))
        .expect("the summary file is JSON")
}

fn status_counts(rows: &[ReportRow]) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for row in rows {
        *counts.entry(row["status"].clone()).or_default() += 1;
    }
    counts
}

/// Waits for a child with a bound, killing it when the bound passes.
fn wait_bounded(child: &mut std::process::Child, limit: Duration) -> Option<i32> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the child ran past {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---- off a terminal ---------------------------------------------------------

#[test]
fn off_a_terminal_stderr_is_plain_with_progress_lines_counting_finished_requests() {
    let dir = temp_dir();
    accounts_csv(dir.path(), 6);
    let sandbox = slow_sandbox(1500);
    // Two waves of three requests, 1.5 s each: at 1 s three are in flight, none done.
    let output = run_in(
        dir.path(),
        "in.csv",
        &[
            "--base-url",
            &sandbox.base_url(),
            "--rate",
            "0",
            "--concurrency",
            "3",
            "--progress-interval",
            "1",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", all_output(&output));
    let stderr = stderr_of(&output);
    assert!(!stderr.contains('\x1b'), "an escape code: {stderr:?}");
    assert!(!stderr.contains('\r'), "a carriage return: {stderr:?}");

    let progress: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("ecbulk: progress: "))
        .collect();
    assert!(!progress.is_empty(), "no progress line: {stderr}");
    assert!(
        progress[0].starts_with("ecbulk: progress: 0/6 requests done"),
        "requests in flight were counted as done: {}",
        progress[0]
    );
    assert!(stderr.contains("rows:     6 (6 added)"), "{stderr}");
}

#[test]
fn quiet_prints_nothing_on_success_not_even_warnings() {
    let dir = temp_dir();
    let server = ScriptedServer::start(HashMap::new());
    // Readable by all: normally worth a warning, which -q drops.
    write(
        dir.path(),
        "in.csv",
        format!("api_key,email\n{KEY_A},a@example.com\n"),
    );
    let output = run_in(
        dir.path(),
        "in.csv",
        &[
            "--base-url",
            &server.base_url,
            "-q",
            "--progress-interval",
            "0.1",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", all_output(&output));
    assert_eq!(all_output(&output), "");
    assert_eq!(server.received().len(), 1);
}

#[test]
fn the_summary_json_agrees_with_the_report_and_the_exit_code() {
    let dir = temp_dir();
    let mut script = HashMap::new();
    script.insert(
        KEY_B.to_string(),
        vec![Answer::error(403, "access_denied", "wrong kind of key")],
    );
    script.insert(KEY_C.to_string(), vec![Answer::status(503)]);
    let server = ScriptedServer::start(script);
    let csv = format!(
        "api_key,email\n{KEY_A},a1@example.com;a2@example.com\n{KEY_A},A1@example.com\n\
         {KEY_B},b@example.com\n{KEY_C},c@example.com\n{KEY_C},not-an-address\n"
    );
    private(&write(dir.path(), "in.csv", csv));

    let output = run_in(
        dir.path(),
        "in.csv",
        &[
            "--base-url",
            &server.base_url,
            "--rate",
            "0",
            "--max-attempts",
            "1",
            "--summary-json",
            "summary.json",
        ],
    );
    assert_eq!(output.status.code(), Some(2), "{}", all_output(&output));

    let rows = read_report(&dir.path().join("report.csv"));
    let json = read_json(&dir.path().join("summary.json"));
    for (status, count) in status_counts(&rows) {
        assert_eq!(json["rows"][&status], count, "{status}: {json}");
    }
    let total: u64 = json["rows"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(total as usize, rows.len());
    assert_eq!(json["rows"]["added"], 2);
    assert_eq!(json["rows"]["duplicate"], 1);
    assert_eq!(json["accounts"], 3);
    assert_eq!(json["requests"], 3);
    assert_eq!(
        json["attempts"].as_u64(),
        Some(server.received().len() as u64)
    );
    assert_eq!(json["failures_by_code"]["access_denied"], 1);
    assert_eq!(json["failures_by_code"]["http_503"], 1);
    assert_eq!(json["exit_code"], 2);
    assert_eq!(json["report"], "report.csv");
    let started: jiff::Timestamp = json["started_at"].as_str().unwrap().parse().unwrap();
    let finished: jiff::Timestamp = json["finished_at"].as_str().unwrap().parse().unwrap();
    assert!(started <= finished);

    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["in.csv", "report.csv", "summary.json"],
        "no temporary or lock file is left"
    );
}

#[test]
fn a_run_stopped_by_an_input_error_still_writes_its_summary_json() {
    let dir = temp_dir();
    private(&write(
        dir.path(),
        "in.csv",
        format!("api_key,phone\n{KEY_A},555\n"),
    ));
    let output = run_in(
        dir.path(),
        "in.csv",
        &[
            "--base-url",
            "http://127.0.0.1:9/x",
            "--summary-json",
            "summary.json",
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{}", all_output(&output));
    let json = read_json(&dir.path().join("summary.json"));
    assert_eq!(json["exit_code"], 1);
    assert!(
        json["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{json}"
    );
    assert!(json["report"].is_null());
}

#[test]
fn an_interrupted_run_still_writes_its_summary_json() {
    let dir = temp_dir();
    accounts_csv(dir.path(), 20);
    let sandbox = slow_sandbox(300);
    let mut child = ecbulk()
        .current_dir(dir.path())
        .args(["run", "in.csv", "--report", "report.csv", "--rate", "0"])
        .args(["--concurrency", "1", "--summary-json", "summary.json"])
        .args(["--base-url", &sandbox.base_url()])
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    assert!(wait_for(Duration::from_secs(10), || !sandbox
        .requests()
        .is_empty()));
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());

    assert_eq!(wait_bounded(&mut child, Duration::from_secs(10)), Some(130));
    let json = read_json(&dir.path().join("summary.json"));
    assert_eq!(json["exit_code"], 130);
    let rows = read_report(&dir.path().join("report.csv"));
    assert_eq!(
        json["rows"]["not_attempted"],
        status_counts(&rows)["not_attempted"]
    );
    assert!(json["rows"]["not_attempted"].as_u64().unwrap() > 0);
}

// ---- the environment ----------------------------------------------------------

#[test]
fn environment_variables_set_options_and_flags_win() {
    let dir = temp_dir();
    let script = HashMap::from([(
        KEY_A.to_string(),
        vec![Answer::status(503), Answer::status(503)],
    )]);
    let server = ScriptedServer::start(script);
    private(&write(
        dir.path(),
        "in.csv",
        format!("api_key,email\n{KEY_A},a@example.com\n"),
    ));

    // From the environment alone: the URL, the report, the attempts, quiet, the summary.
    let output = ecbulk()
        .current_dir(dir.path())
        .args(["run", "in.csv"])
        .env("ECBULK_BASE_URL", &server.base_url)
        .env("ECBULK_REPORT", "env-report.csv")
        .env("ECBULK_MAX_ATTEMPTS", "1")
        .env("ECBULK_QUIET", "true")
        .env("ECBULK_SUMMARY_JSON", "env-summary.json")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", all_output(&output));
    assert_eq!(all_output(&output), "", "ECBULK_QUIET");
    assert_eq!(server.received().len(), 1, "ECBULK_MAX_ATTEMPTS=1");
    let rows = read_report(&dir.path().join("env-report.csv"));
    assert_eq!(rows[0]["attempts"], "1");
    assert_eq!(
        read_json(&dir.path().join("env-summary.json"))["attempts"],
        1
    );

    // Flags win: a dead URL and one attempt in the environment, the live URL and
    // three attempts on the command line (the script's last 503, then 204).
    let output = ecbulk()
        .current_dir(dir.path())
        .args(["run", "in.csv", "--report", "flag-report.csv"])
        .args(["--base-url", &server.base_url, "--max-attempts", "3"])
        .env("ECBULK_BASE_URL", "http://127.0.0.1:9/nothing-here")
        .env("ECBULK_REPORT", "env-report-2.csv")
        .env("ECBULK_MAX_ATTEMPTS", "1")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", all_output(&output));
    let rows = read_report(&dir.path().join("flag-report.csv"));
    assert_eq!(
        (rows[0]["status"].as_str(), rows[0]["attempts"].as_str()),
        ("added", "2")
    );
    assert!(!dir.path().join("env-report-2.csv").exists());
}

#[test]
fn help_names_the_variable_of_every_new_option() {
    let output = ecbulk().args(["run", "--help"]).output().unwrap();
    // Wrapped help may break a line anywhere: compare with whitespace collapsed.
    let help = String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for name in [
        "ECBULK_BASE_URL",
        "ECBULK_RATE",
        "ECBULK_CONCURRENCY",
        "ECBULK_CHECK_KEYS",
        "ECBULK_SUMMARY_JSON",
        "ECBULK_PROGRESS_INTERVAL",
        "ECBULK_COLOR",
    ] {
        assert!(
            help.contains(&format!("[env: {name}")),
            "{name} missing:\n{help}"
        );
    }
}

// ---- audits -------------------------------------------------------------------

#[test]
fn check_keys_gets_once_per_account_sends_no_put_and_reports_keys_and_presence() {
    let dir = temp_dir();
    let script = HashMap::from([
        (
            KEY_A.to_string(),
            vec![json_answer(
                r#"{"emergency_contact_emails":["A1@example.com"]}"#,
            )],
        ),
        (
            KEY_B.to_string(),
            vec![Answer::error(
                401,
                "invalid_api_key",
                "the key is not valid",
            )],
        ),
        (
            KEY_C.to_string(),
            vec![Answer::error(
                403,
                "access_denied",
                "a parent account's key",
            )],
        ),
        (
            KEY_D.to_string(),
            vec![json_answer(r#"{"unexpected":true}"#)],
        ),
        (
            KEY_E.to_string(),
            vec![json_answer(r#"[{"email":"e@example.com"}]"#)],
        ),
    ]);
    let server = ScriptedServer::start(script);
    let csv = format!(
        "api_key,email\n{KEY_A},a1@example.com;a2@example.com\n{KEY_B},b@example.com\n\
         {KEY_C},c@example.com\n{KEY_D},d@example.com\n{KEY_E},e@example.com\n"
    );
    private(&write(dir.path(), "in.csv", csv));

    // One address per request: key A has two PUTs planned but gets one GET.
    let output = run_in(
        dir.path(),
        "in.csv",
        &[
            "--base-url",
            &server.base_url,
            "--dry-run",
            "--check-keys",
            "--max-emails-per-request",
            "1",
            "-v",
        ],
    );
    assert_eq!(
        output.status.code(),
        Some(2),
        "refused keys: {}",
        all_output(&output)
    );

    let received = server.received();
    assert!(received.iter().all(|r| r.method == "GET"), "{received:?}");
    for key in [KEY_A, KEY_B, KEY_C, KEY_D, KEY_E] {
        let got = server.received_for(key);
        assert_eq!(got.len(), 1, "one GET for key ending {}", &key[28..]);
        assert_eq!(
            got[0].url,
            "/partner-subscription/api/v1/account/emergency-emails"
        );
        assert!(!all_output(&output).contains(key), "a full key was printed");
        let report = std::fs::read_to_string(dir.path().join("report.csv")).unwrap();
        assert!(!report.contains(key), "a full key was written");
    }

    let rows = read_report(&dir.path().join("report.csv"));
    let by_email: HashMap<&str, &ReportRow> =
        rows.iter().map(|r| (r["email"].as_str(), r)).collect();
    let view = |email: &str| {
        let r = by_email[email];
        (
            r["status"].as_str(),
            r["http_status"].as_str(),
            r["error_code"].as_str(),
        )
    };
    assert_eq!(view("a1@example.com"), ("present", "200", ""));
    assert_eq!(view("a2@example.com"), ("planned", "200", ""));
    assert_eq!(view("b@example.com"), ("failed", "401", "invalid_api_key"));
    assert_eq!(view("c@example.com"), ("failed", "403", "access_denied"));
    assert_eq!(view("d@example.com"), ("planned", "200", ""));
    assert!(
        by_email["d@example.com"]["error_message"].contains("unknown"),
        "{:?}",
        by_email["d@example.com"]
    );
    assert_eq!(view("e@example.com"), ("present", "200", ""));
    assert!(stderr_of(&output).contains("method=GET"));
}

#[test]
fn check_keys_against_the_sandbox_finds_preloaded_addresses_and_unknown_keys() {
    let dir = temp_dir();
    let sandbox = Sandbox::start(SandboxConfig {
        keys: Some([KEY_A.to_string()].into()),
        ..Default::default()
    })
    .unwrap();
    sandbox.preload(KEY_A, &["already@example.com"]);
    let csv = format!(
        "api_key,email\n{KEY_A},Already@example.com;new@example.com\n{KEY_B},b@example.com\n"
    );
    private(&write(dir.path(), "in.csv", csv));
    let output = run_in(
        dir.path(),
        "in.csv",
        &[
            "--base-url",
            &sandbox.base_url(),
            "--dry-run",
            "--check-keys",
            "--rate",
            "0",
        ],
    );
    assert_eq!(output.status.code(), Some(2), "{}", all_output(&output));

    let statuses: Vec<(String, String, String)> = read_report(&dir.path().join("report.csv"))
        .into_iter()
        .map(|r| {
            (
                r["email"].clone(),
                r["status"].clone(),
                r["http_status"].clone(),
            )
        })
        .collect();
    let want = [
        ("Already@example.com", "present", "200"),
        ("new@example.com", "planned", "200"),
        ("b@example.com", "failed", "401"),
    ]
    .map(|(e, s, h)| (e.to_string(), s.to_string(), h.to_string()));
    assert_eq!(statuses, want);
    assert!(sandbox.requests().iter().all(|r| r.method == "GET"));
    assert_eq!(
        sandbox.emails_of(KEY_A),
        ["already@example.com"],
        "nothing was added"
    );
}

#[test]
fn check_keys_without_a_dry_run_is_a_usage_error_and_sends_nothing() {
    let dir = temp_dir();
    let server = ScriptedServer::start(HashMap::new());
    private(&write(
        dir.path(),
        "in.csv",
        format!("api_key,email\n{KEY_A},a@example.com\n"),
    ));
    let output = run_in(
        dir.path(),
        "in.csv",
        &["--base-url", &server.base_url, "--check-keys"],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr_of(&output).contains("--dry-run"),
        "{}",
        stderr_of(&output)
    );
    assert!(server.received().is_empty());
}

// ---- one run per report ---------------------------------------------------------

#[test]
fn a_second_run_on_the_same_report_is_refused_naming_the_first() {
    let dir = temp_dir();
    accounts_csv(dir.path(), 3);
    let sandbox = slow_sandbox(700);
    let mut first = ecbulk()
        .current_dir(dir.path())
        .args(["run", "in.csv", "--report", "report.csv", "--rate", "0"])
        .args(["--concurrency", "1", "--base-url", &sandbox.base_url()])
        .stderr(Stdio::piped())
        .spawn()
        .expect("the first run starts");
    assert!(wait_for(Duration::from_secs(10), || !sandbox
        .requests()
        .is_empty()));

    let second = run_in(dir.path(), "in.csv", &["--base-url", &sandbox.base_url()]);
    assert_eq!(second.status.code(), Some(1), "{}", all_output(&second));
    let message = stderr_of(&second);
    assert!(message.contains("another ecbulk run"), "{message}");
    assert!(
        message.contains(&format!("pid {}", first.id())),
        "{message}"
    );
    assert!(
        message.contains("started 20") && message.contains("host "),
        "{message}"
    );

    assert_eq!(wait_bounded(&mut first, Duration::from_secs(20)), Some(0));
    let rows = read_report(&dir.path().join("report.csv"));
    assert_eq!(
        status_counts(&rows)["added"],
        3,
        "the first run was undisturbed"
    );
    assert_eq!(sandbox.requests().len(), 3, "the second run sent nothing");
    assert!(!dir.path().join("report.csv.lock").exists());
}

#[test]
fn a_stale_lock_file_from_a_killed_run_does_not_block() {
    let dir = temp_dir();
    accounts_csv(dir.path(), 1);
    let server = ScriptedServer::start(HashMap::new());
    write(
        dir.path(),
        "report.csv.lock",
        "pid=99999\nstarted_at=2026-01-01T00:00:00Z\nhost=gone\n",
    );
    let output = run_in(dir.path(), "in.csv", &["--base-url", &server.base_url]);
    assert_eq!(output.status.code(), Some(0), "{}", all_output(&output));
    assert!(!dir.path().join("report.csv.lock").exists());
}

// ---- completions and version ------------------------------------------------------

#[test]
fn bash_completions_can_be_sourced() {
    let output = ecbulk().args(["completions", "bash"]).output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stdout).contains("--check-keys"));
    let dir = temp_dir();
    let script = write(dir.path(), "ecbulk.bash", &output.stdout);
    let Ok(sourced) = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source '{}' && complete -p ecbulk",
            script.display()
        ))
        .output()
    else {
        eprintln!("no bash here: sourcing not checked");
        return;
    };
    assert!(sourced.status.success(), "{}", all_output(&sourced));
    assert!(String::from_utf8_lossy(&sourced.stdout).contains("ecbulk"));
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let output = ecbulk().args(["completions", shell]).output().unwrap();
        assert!(
            output.status.success() && !output.stdout.is_empty(),
            "{shell}"
        );
    }
}

#[test]
fn version_names_the_commit() {
    let output = ecbulk().arg("--version").output().unwrap();
    let version = String::from_utf8_lossy(&output.stdout).trim().to_string();
    let prefix = format!("ecbulk {} (commit ", env!("CARGO_PKG_VERSION"));
    let commit = version
        .strip_prefix(&prefix)
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{version:?}"));
    // The build names a commit only when the crate is its repository's top.
    let git = |args: &[&str]| {
        Command::new("git")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let own_repository = git(&["rev-parse", "--show-toplevel"]).is_some_and(|top| {
        Path::new(&top).canonicalize().ok()
            == Path::new(env!("CARGO_MANIFEST_DIR")).canonicalize().ok()
    });
    let head = git(&["rev-parse", "--short", "HEAD"]).filter(|_| own_repository);
    match head {
        Some(head) => assert_eq!(commit, head),
        None => assert_eq!(commit, "unknown"),
    }
}

// ---- on a terminal ---------------------------------------------------------------

/// Runs `ecbulk ARGS` in `dir` on a pseudo-terminal through util-linux `script`, with
/// TERM=xterm and `extra_env`, and returns what the terminal showed. `None` when
/// `script` is not installed.
fn on_a_terminal(dir: &Path, args: &[&str], extra_env: &[(&str, &str)]) -> Option<String> {
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let command_line: Vec<String> = std::iter::once(env!("CARGO_BIN_EXE_ecbulk"))
        .chain(args.iter().copied())
        .map(quote)
        .collect();
    let mut command = Command::new("script");
    command
        .current_dir(dir)
        .args(["-q", "-f", "-e", "-c", &command_line.join(" "), "/dev/null"])
        .env("TERM", "xterm")
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, _) in std::env::vars() {
        if name.starts_with("ECBULK_") || name.to_ascii_uppercase().ends_with("_PROXY") {
            command.env_remove(name);
        }
    }
    for (name, value) in extra_env {
        command.env(name, value);
    }
    let Ok(mut child) = command.spawn() else {
        eprintln!("no `script` here (util-linux): the terminal test is skipped");
        return None;
    };
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stdout, &mut text);
        text
    });
    assert_eq!(wait_bounded(&mut child, Duration::from_secs(20)), Some(0));
    Some(String::from_utf8_lossy(&reader.join().unwrap()).into_owned())
}

/// Colour and style sequences (`ESC [ ... m`), as opposed to cursor movement.
fn sgr_sequences(text: &str) -> usize {
    text.split('\x1b')
        .skip(1)
        .filter(|rest| {
            rest.strip_prefix('[').is_some_and(|rest| {
                let end = rest.find(|c: char| !(c.is_ascii_digit() || c == ';'));
                end.is_some_and(|i| rest[i..].starts_with('m'))
            })
        })
        .count()
}

/// Text with every `ESC [ ... letter` sequence removed.
fn strip_escapes(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn on_a_terminal_the_bar_is_drawn_in_colour_lines_pass_through_it_and_no_color_removes_colour() {
    let dir = temp_dir();
    accounts_csv(dir.path(), 5);
    let sandbox = slow_sandbox(200);
    let url = sandbox.base_url();
    let args = [
        "run",
        "in.csv",
        "--report",
        "report.csv",
        "--base-url",
        &url,
        "--rate",
        "0",
        "--concurrency",
        "1",
        "-v",
    ];

    let Some(shown) = on_a_terminal(dir.path(), &args, &[]) else {
        return;
    };
    assert!(shown.contains("\r\x1b[2K"), "no bar was drawn: {shown:?}");
    assert!(shown.contains("requests"), "{shown:?}");
    assert!(sgr_sequences(&shown) > 0, "no colour: {shown:?}");
    // -v lines go through the bar: each starts on a cleared line, whole. (indicatif
    // pads them to the width instead of ending them, so split at the returns.)
    let attempt_lines: Vec<String> = shown
        .split('\r')
        .filter(|segment| segment.contains("key_id="))
        .map(strip_escapes)
        .collect();
    assert_eq!(attempt_lines.len(), 5, "{shown:?}");
    for line in &attempt_lines {
        let line = line.trim_start();
        assert!(
            line.starts_with("20") && line.contains("status=204 attempt=1"),
            "torn: {line:?}"
        );
    }

    let plain = on_a_terminal(dir.path(), &args, &[("NO_COLOR", "1")]).unwrap();
    assert!(
        plain.contains("\r\x1b[2K"),
        "NO_COLOR must keep the bar: {plain:?}"
    );
    assert_eq!(
        sgr_sequences(&plain),
        0,
        "colour despite NO_COLOR: {plain:?}"
    );

    let never = on_a_terminal(
        dir.path(),
        &[&args[..], &["--color", "never"]].concat(),
        &[],
    );
    assert_eq!(
        sgr_sequences(&never.unwrap()),
        0,
        "colour despite --color never"
    );
}
