//! Keys and reports are safe: traps that look for a key outside its request, a
//! report others can read, a plain-http base URL, and answers built to hurt.

mod common;

use common::*;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::time::Duration;

const KEY_A: &str = "SECRETSECRETSECRETSECRETSECRAAAA";
const KEY_B: &str = "SECRETSECRETSECRETSECRETSECRBBBB";
const KEY_C: &str = "SECRETSECRETSECRETSECRETSECRCCCC";

fn assert_no_full_key(text: &str, context: &str) {
    for key in [KEY_A, KEY_B, KEY_C] {
        // Any eight consecutive characters of a key's secret part would be a leak.
        assert!(!text.contains(key), "{context}: a full key leaked");
        assert!(
            !text.contains(&key[..12]),
            "{context}: a key's start leaked"
        );
    }
}

#[test]
fn verbose_runs_with_failing_keys_show_no_key_anywhere() {
    let dir = temp_dir();
    let script = HashMap::from([
        (
            KEY_B.to_string(),
            vec![Answer::error(
                401,
                "invalid_api_key",
                &format!("key {KEY_B} is unknown"),
            )],
        ),
        (
            KEY_C.to_string(),
            vec![Answer::error(503, "down", "later"); 10],
        ),
    ]);
    let server = ScriptedServer::start(script);
    write(
        dir.path(),
        "in.csv",
        format!(
            "key,email\n{KEY_A},a@sec.example\n{KEY_B},b@sec.example\n{KEY_C},c@sec.example\n{KEY_A},bad address\n"
        ),
    );
    let output = run_in(
        dir.path(),
        "in.csv",
        &[
            "--base-url",
            &server.base_url,
            "-v",
            "--max-attempts",
            "2",
            "--summary-json",
            "summary.json",
        ],
    );
    assert_eq!(output.status.code(), Some(2), "{}", all_output(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("key=…AAAA"),
        "-v names keys by their last four: {stderr}"
    );
    assert_no_full_key(&all_output(&output), "stdout/stderr");
    let files = all_files(dir.path());
    assert!(files.contains(KEY_A), "the input itself holds the keys");
    let mut others = String::new();
    for entry in std::fs::read_dir(dir.path()).unwrap().flatten() {
        if entry.file_name() != "in.csv" {
            others.push_str(&String::from_utf8_lossy(
                &std::fs::read(entry.path()).unwrap_or_default(),
            ));
        }
    }
    assert_no_full_key(&others, "files written by the run");
}

#[test]
fn usage_and_input_errors_show_no_key() {
    let dir = temp_dir();
    let mut latin1 = format!("key,email\n{KEY_A},caf").into_bytes();
    latin1.extend_from_slice(b"\xe9@x.example\n");
    let cases: Vec<(&str, Vec<u8>, Vec<&str>)> = vec![
        (
            "nocol.csv",
            format!("api_key,phone\n{KEY_A},1\n").into_bytes(),
            vec![],
        ),
        (
            "badurl.csv",
            format!("key,email\n{KEY_A},a@x.example\n").into_bytes(),
            vec!["--base-url", "http://example.com/x"],
        ),
        ("badutf8.csv", latin1, vec![]),
        (
            "badkey.csv",
            format!("key,email\n\"{KEY_A}\r\n{KEY_B}\",a@x.example\n").into_bytes(),
            vec!["--dry-run"],
        ),
        // Without a header row, the first data row is read as the header, and the
        // message that lists its cells must not show the key in it.
        (
            "noheader.csv",
            format!("{KEY_A},a@x.example,Label\n{KEY_B},b@x.example,Label\n").into_bytes(),
            vec!["--dry-run", "--summary-json", "noheader.json"],
        ),
        (
            "good.csv",
            format!("key,email\n{KEY_C},c@x.example\n").into_bytes(),
            vec!["--dry-run", "--resume", "noheader.csv"],
        ),
        (
            "colflag.csv",
            format!("key,email\n{KEY_C},c@x.example\n").into_bytes(),
            vec!["--dry-run", "--key-column", KEY_B],
        ),
    ];
    for (name, bytes, args) in cases {
        write(dir.path(), name, bytes);
        let output = run_in(dir.path(), name, &args);
        assert_ne!(output.status.code(), Some(0), "{name}");
        assert_no_full_key(&all_output(&output), name);
    }
    let summary = std::fs::read_to_string(dir.path().join("noheader.json")).unwrap();
    assert!(summary.contains("the header row has"), "{summary}");
    assert_no_full_key(&summary, "noheader.json");
}

#[test]
fn a_key_read_as_an_address_by_swapped_column_flags_is_reported_masked() {
    let dir = temp_dir();
    write(
        dir.path(),
        "in.csv",
        format!("api_key,email\n{KEY_A},a@x.example\n"),
    );
    let args = [
        "--dry-run",
        "--key-column",
        "email",
        "--email-column",
        "api_key",
    ];
    let output = run_in(dir.path(), "in.csv", &args);
    assert_eq!(output.status.code(), Some(2), "{}", all_output(&output));
    let rows = read_report(&dir.path().join("report.csv"));
    assert_eq!(rows[0]["email"], "…AAAA", "{rows:?}");
    assert_eq!(rows[0]["status"], "invalid");
    let report = std::fs::read_to_string(dir.path().join("report.csv")).unwrap();
    assert_no_full_key(&report, "report.csv");
}

#[test]
fn a_key_with_a_line_break_or_control_character_is_an_invalid_row_never_sent() {
    let dir = temp_dir();
    let server = ScriptedServer::start(HashMap::new());
    write(
        dir.path(),
        "in.csv",
        format!(
            "key,email,account\n\"{KEY_A}\r\nX-Injected: yes\",a@x.example,crlf\n{KEY_B}\tTAB,b@x.example,tab\n\"{KEY_C}\0\",c@x.example,nul\n"
        ),
    );
    let output = run_in(dir.path(), "in.csv", &["--base-url", &server.base_url]);
    assert_eq!(output.status.code(), Some(2), "{}", all_output(&output));
    assert!(
        server.received().is_empty(),
        "no such key may reach a header"
    );
    let rows = read_report(&dir.path().join("report.csv"));
    assert_eq!(rows.len(), 3);
    for row in &rows {
        assert_eq!(row["status"], "invalid", "{row:?}");
        assert!(row["error_message"].contains("API key"), "{row:?}");
        assert!(
            !row["key"].contains('\r') && !row["key"].contains('\0'),
            "{row:?}"
        );
    }
    assert_eq!(rows[1]["line"], "4", "the quoted key spans lines 2 and 3");
}

#[test]
fn a_plain_http_base_url_is_refused_even_in_a_dry_run() {
    let dir = temp_dir();
    write(
        dir.path(),
        "in.csv",
        format!("key,email\n{KEY_A},a@x.example\n"),
    );
    for url in [
        "http://api.example.com/v1",
        "http://192.168.1.10/v1",
        "ftp://example.com/",
    ] {
        let output = run_in(dir.path(), "in.csv", &["--dry-run", "--base-url", url]);
        assert_eq!(output.status.code(), Some(1), "{url}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("--base-url"), "{stderr}");
        assert!(!dir.path().join("report.csv").exists());
    }
    let output = run_in(
        dir.path(),
        "in.csv",
        &["--dry-run", "--base-url", "http://127.0.0.1:9/v1"],
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "loopback is allowed: {}",
        all_output(&output)
    );
}

#[cfg(unix)]
#[test]
fn the_report_is_readable_by_its_owner_only_and_a_shared_input_is_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir();
    let server = ScriptedServer::start(HashMap::new());
    let input = write(
        dir.path(),
        "in.csv",
        format!("key,email\n{KEY_A},a@x.example\n"),
    );
    std::fs::set_permissions(&input, std::fs::Permissions::from_mode(0o644)).unwrap();
    let output = run_in(dir.path(), "in.csv", &["--base-url", &server.base_url]);
    assert_eq!(output.status.code(), Some(0), "{}", all_output(&output));
    let mode = std::fs::metadata(dir.path().join("report.csv"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("readable by other users"), "{stderr}");

    std::fs::set_permissions(&input, std::fs::Permissions::from_mode(0o600)).unwrap();
    let output = run_in(dir.path(), "in.csv", &["--base-url", &server.base_url]);
    assert!(!String::from_utf8_lossy(&output.stderr).contains("readable by other users"));
}

#[test]
fn a_huge_error_body_is_read_only_up_to_its_bound() {
    let dir = temp_dir();
    let huge = format!(
        "{{\"errors\":[{{\"code\":\"big\",\"message\":\"{}\"}}]}}",
        "x".repeat(10 << 20)
    );
    let answer = Answer {
        status: 400,
        headers: vec![],
        body: huge,
        delay: Duration::ZERO,
    };
    let server = ScriptedServer::start(HashMap::from([(KEY_A.to_string(), vec![answer])]));
    write(
        dir.path(),
        "in.csv",
        format!("key,email\n{KEY_A},a@x.example\n"),
    );
    let output = run_in(dir.path(), "in.csv", &["--base-url", &server.base_url]);
    assert_eq!(output.status.code(), Some(2), "{}", all_output(&output));
    let rows = read_report(&dir.path().join("report.csv"));
    assert_eq!(rows[0]["http_status"], "400");
    // Cut at 64 KiB, the body is no longer JSON: the message says only the status.
    assert!(
        rows[0]["error_message"].len() < 1000,
        "the report holds no megabytes of server text"
    );
}

#[test]
fn server_text_reaches_the_report_without_control_characters() {
    let dir = temp_dir();
    let nasty = Answer::error(
        400,
        "bad\u{1b}[31m",
        "line one\r\nline two\u{7}\u{1b}]0;title\u{7}",
    );
    let server = ScriptedServer::start(HashMap::from([(KEY_A.to_string(), vec![nasty])]));
    write(
        dir.path(),
        "in.csv",
        format!("key,email\n{KEY_A},a@x.example\n"),
    );
    let output = run_in(
        dir.path(),
        "in.csv",
        &["--base-url", &server.base_url, "-v"],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&output.stderr).contains('\u{1b}'));
    let rows = read_report(&dir.path().join("report.csv"));
    assert!(
        !rows[0]["error_message"].chars().any(char::is_control),
        "{:?}",
        rows[0]
    );
}

#[test]
fn https_goes_through_the_proxy_the_environment_names() {
    let dir = temp_dir();
    let proxy = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = proxy.local_addr().unwrap().port();
    let trap = std::thread::spawn(move || {
        let (mut stream, _) = proxy.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut first = String::new();
        BufReader::new(stream.try_clone().unwrap())
            .read_line(&mut first)
            .unwrap();
        let _ = stream.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
        first
    });
    write(
        dir.path(),
        "in.csv",
        format!("key,email\n{KEY_A},a@x.example\n"),
    );
    let output = ecbulk()
        .current_dir(dir.path())
        .env("HTTPS_PROXY", format!("http://127.0.0.1:{port}"))
        .args([
            "run",
            "in.csv",
            "--report",
            "report.csv",
            "--max-attempts",
            "1",
        ])
        .args([
            "--base-url",
            "https://api.digicert.invalid/partner-subscription/api/v1",
        ])
        .output()
        .unwrap();
    let first = trap.join().unwrap();
    assert!(
        first.starts_with("CONNECT api.digicert.invalid:443"),
        "{first:?}"
    );
    assert_eq!(output.status.code(), Some(2), "{}", all_output(&output));
    assert_no_full_key(&first, "the proxy saw only the tunnel request");
}

#[test]
fn a_loopback_base_url_never_goes_through_a_proxy() {
    let dir = temp_dir();
    let server = ScriptedServer::start(HashMap::new());
    write(
        dir.path(),
        "in.csv",
        format!("key,email\n{KEY_A},a@x.example\n"),
    );
    let output = ecbulk()
        .current_dir(dir.path())
        .env("HTTP_PROXY", "http://127.0.0.1:9")
        .env("ALL_PROXY", "http://127.0.0.1:9")
        .args([
            "run",
            "in.csv",
            "--report",
            "report.csv",
            "--base-url",
            &server.base_url,
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", all_output(&output));
    assert_eq!(server.received().len(), 1);
}
