//! Faults a real migration meets, played by a scripted server on 127.0.0.1: each
//! test checks the end state and the number and timing of requests.

mod common;

use common::*;
use std::collections::HashMap;
use std::time::Duration;

const KEY: &str = "FAULTFAULTFAULTFAULTFAULTFAULT01";

fn one_account(dir: &std::path::Path) {
    write(dir, "in.csv", format!("key,email\n{KEY},a@fault.example\n"));
}

fn scripted(answers: Vec<Answer>) -> ScriptedServer {
    ScriptedServer::start(HashMap::from([(KEY.to_string(), answers)]))
}

fn only_row(dir: &std::path::Path) -> ReportRow {
    let rows = read_report(&dir.join("report.csv"));
    assert_eq!(rows.len(), 1);
    rows.into_iter().next().unwrap()
}

#[test]
fn a_503_then_success_is_retried_once() {
    let dir = temp_dir();
    one_account(dir.path());
    let server = scripted(vec![Answer::error(503, "service_unavailable", "try later")]);
    let output = run_in(dir.path(), "in.csv", &["--base-url", &server.base_url]);
    assert_eq!(output.status.code(), Some(0), "{}", all_output(&output));
    assert_eq!(server.received().len(), 2);
    let row = only_row(dir.path());
    assert_eq!(
        (
            row["status"].as_str(),
            row["attempts"].as_str(),
            row["http_status"].as_str()
        ),
        ("added", "2", "204")
    );
}

#[test]
fn four_5xx_then_success_uses_all_five_attempts() {
    let dir = temp_dir();
    one_account(dir.path());
    let server = scripted(vec![
        Answer::status(500),
        Answer::status(502),
        Answer::status(503),
        Answer::status(504),
    ]);
    let output = run_in(dir.path(), "in.csv", &["--base-url", &server.base_url]);
    assert_eq!(output.status.code(), Some(0), "{}", all_output(&output));
    assert_eq!(server.received().len(), 5);
    assert_eq!(only_row(dir.path())["attempts"], "5");
}

#[test]
fn five_5xx_give_up_with_the_last_status() {
    let dir = temp_dir();
    one_account(dir.path());
    let server = scripted(vec![Answer::error(503, "service_unavailable", "down"); 6]);
    let output = run_in(
        dir.path(),
        "in.csv",
        &["--base-url", &server.base_url, "--max-attempts", "3"],
    );
    assert_eq!(output.status.code(), Some(2), "{}", all_output(&output));
    assert_eq!(
        server.received().len(),
        3,
        "never more than --max-attempts requests"
    );
    let row = only_row(dir.path());
    assert_eq!(row["status"], "failed");
    assert_eq!(row["http_status"], "503");
    assert_eq!(row["error_code"], "service_unavailable");
    assert!(
        row["error_message"].contains("gave up after 3 attempts"),
        "{row:?}"
    );
}

#[test]
fn retry_after_in_seconds_is_waited_for() {
    let dir = temp_dir();
    one_account(dir.path());
    let server = scripted(vec![
        Answer::error(429, "request_limit_exceeded", "slow down").header("Retry-After", "2"),
    ]);
    let output = run_in(dir.path(), "in.csv", &["--base-url", &server.base_url]);
    assert_eq!(output.status.code(), Some(0), "{}", all_output(&output));
    let received = server.received();
    assert_eq!(received.len(), 2);
    let waited = received[1].at - received[0].at;
    assert!(waited >= Duration::from_secs(2), "waited only {waited:?}");
    assert!(waited < Duration::from_secs(5), "waited {waited:?}");
}

#[test]
fn retry_after_as_an_http_date_is_waited_for() {
    let dir = temp_dir();
    one_account(dir.path());
    // HTTP dates have whole seconds: 3 s ahead means at least 2 s from now.
    let date = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(3));
    let server = scripted(vec![
        Answer::error(503, "maintenance", "back soon").header("Retry-After", &date),
    ]);
    let output = run_in(dir.path(), "in.csv", &["--base-url", &server.base_url]);
    assert_eq!(output.status.code(), Some(0), "{}", all_output(&output));
    let received = server.received();
    assert_eq!(received.len(), 2);
    let waited = received[1].at - received[0].at;
    assert!(waited >= Duration::from_secs(2), "waited only {waited:?}");
    assert!(waited < Duration::from_secs(6), "waited {waited:?}");
}

#[test]
fn a_retry_after_beyond_the_cap_fails_without_stalling() {
    let dir = temp_dir();
    one_account(dir.path());
    let server = scripted(vec![
        Answer::error(429, "request_limit_exceeded", "slow down").header("Retry-After", "3600"),
    ]);
    let started = std::time::Instant::now();
    let output = run_in(
        dir.path(),
        "in.csv",
        &["--base-url", &server.base_url, "--max-retry-wait", "60"],
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(output.status.code(), Some(2), "{}", all_output(&output));
    assert_eq!(server.received().len(), 1);
    let row = only_row(dir.path());
    assert_eq!(row["http_status"], "429");
    assert!(row["error_message"].contains("--max-retry-wait"), "{row:?}");
}

#[test]
fn client_errors_are_tried_exactly_once() {
    for (status, code) in [
        (400, "invalid_email"),
        (401, "invalid_api_key"),
        (403, "access_denied"),
        (404, "not_found|route"),
        (422, "unprocessable"),
    ] {
        let dir = temp_dir();
        one_account(dir.path());
        let server = scripted(vec![Answer::error(status, code, "no")]);
        let output = run_in(dir.path(), "in.csv", &["--base-url", &server.base_url]);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{status}: {}",
            all_output(&output)
        );
        assert_eq!(server.received().len(), 1, "{status} is final");
        let row = only_row(dir.path());
        assert_eq!(row["http_status"], status.to_string());
        assert_eq!(row["error_code"], code);
        assert_eq!(row["attempts"], "1");
    }
}

#[test]
fn an_answer_slower_than_the_timeout_is_retried() {
    let dir = temp_dir();
    one_account(dir.path());
    let server = scripted(vec![Answer::status(204).after(Duration::from_secs(3))]);
    let output = run_in(
        dir.path(),
        "in.csv",
        &["--base-url", &server.base_url, "--timeout", "1"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", all_output(&output));
    assert_eq!(server.received().len(), 2);
    assert_eq!(only_row(dir.path())["attempts"], "2");
}

#[test]
fn a_redirect_is_not_followed_and_names_its_host() {
    let dir = temp_dir();
    one_account(dir.path());
    let trap = ScriptedServer::start(HashMap::new());
    let server = scripted(vec![Answer::status(302).header(
        "Location",
        &format!("{}/account/emergency-emails", trap.base_url),
    )]);
    let output = run_in(dir.path(), "in.csv", &["--base-url", &server.base_url]);
    assert_eq!(output.status.code(), Some(2), "{}", all_output(&output));
    assert!(
        trap.received().is_empty(),
        "the key must never reach another host"
    );
    let row = only_row(dir.path());
    assert_eq!(row["http_status"], "302");
    assert!(row["error_message"].contains("host 127.0.0.1"), "{row:?}");
}
