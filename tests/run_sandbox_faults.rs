//! Runs against the sandbox playing DigiCert's per-key windows and seeded faults:
//! the run must end exact without ever tripping a window.

mod common;

use common::*;
use ecbulk::key::KeyId;
use ecbulk::sandbox::{Fault, Sandbox, SandboxConfig};
use std::time::Duration;

fn key(n: usize) -> String {
    format!("SANDBOXFAULTKEY{n:017}")
}

#[test]
fn reset_connections_are_retried_and_every_account_ends_exact() {
    let dir = temp_dir();
    let server = Sandbox::start(SandboxConfig {
        reset_rate: 0.5,
        seed: 3,
        ..SandboxConfig::default()
    })
    .unwrap();
    let mut csv = String::from("key,email\n");
    for n in 0..10 {
        csv += &format!("{},r{n}@reset.example\n", key(n));
    }
    write(dir.path(), "in.csv", &csv);
    // One worker: the seeded dice then fall the same way on every run.
    let output = run_in(
        dir.path(),
        "in.csv",
        &[
            "--base-url",
            &server.base_url(),
            "--max-attempts",
            "12",
            "--rate",
            "0",
            "--concurrency",
            "1",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", all_output(&output));

    let log = server.requests();
    assert!(
        log.iter().any(|r| r.fault == Some(Fault::Reset)),
        "the dice must play resets: {log:?}"
    );
    let rows = read_report(&dir.path().join("report.csv"));
    assert_eq!(rows.len(), 10);
    for (n, row) in rows.iter().enumerate() {
        assert_eq!(server.emails_of(&key(n)), [format!("r{n}@reset.example")]);
        let id = KeyId::of(&key(n));
        let seen = log.iter().filter(|r| r.key_id == Some(id)).count();
        assert_eq!(
            row["attempts"],
            seen.to_string(),
            "every attempt reached the server"
        );
    }
}

#[test]
fn one_key_with_150_requests_never_trips_the_windows_and_takes_about_five_seconds() {
    let dir = temp_dir();
    let server = Sandbox::start(SandboxConfig::default()).unwrap();
    let addresses: Vec<String> = (0..150).map(|i| format!("a{i}@chunk.example")).collect();
    write(
        dir.path(),
        "in.csv",
        format!("key,email\n{},\"{}\"\n", key(1), addresses.join(";")),
    );
    let output = run_in(
        dir.path(),
        "in.csv",
        &[
            "--base-url",
            &server.base_url(),
            "--rate",
            "0",
            "--max-emails-per-request",
            "1",
            "--concurrency",
            "16",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", all_output(&output));

    let log = server.requests();
    assert_eq!(log.len(), 150, "one request per chunk, none retried");
    assert!(
        log.iter().all(|r| r.status == Some(204)),
        "no 429 from the sandbox's windows"
    );
    let span = log.last().unwrap().at - log.first().unwrap().at;
    assert!(
        span >= Duration::from_secs(5),
        "101 requests within 5 s: {span:?}"
    );
    assert!(
        span < Duration::from_secs(8),
        "the windows allow it in just over 5 s: {span:?}"
    );
    let mut held = server.emails_of(&key(1));
    held.sort();
    let mut want = addresses.clone();
    want.sort();
    assert_eq!(held, want);
}

#[test]
fn a_run_under_503s_and_resets_ends_exact() {
    let dir = temp_dir();
    let server = Sandbox::start(SandboxConfig {
        fail_rate: 0.10,
        reset_rate: 0.05,
        seed: 11,
        ..SandboxConfig::default()
    })
    .unwrap();
    let mut csv = String::from("account,key,email\n");
    for n in 0..60 {
        csv += &format!(
            "acct{n},{},\"first{n}@mixed.example;second{n}@mixed.example\"\n",
            key(100 + n)
        );
    }
    write(dir.path(), "in.csv", &csv);
    let output = run_in(
        dir.path(),
        "in.csv",
        &[
            "--base-url",
            &server.base_url(),
            "--rate",
            "0",
            "--max-attempts",
            "8",
            "--concurrency",
            "8",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", all_output(&output));

    for n in 0..60 {
        assert_eq!(
            server.emails_of(&key(100 + n)),
            [
                format!("first{n}@mixed.example"),
                format!("second{n}@mixed.example")
            ]
        );
    }
    let log = server.requests();
    let faults = log.iter().filter(|r| r.fault.is_some()).count();
    assert!(faults > 0, "the dice must have played some faults");
    let rows = read_report(&dir.path().join("report.csv"));
    assert!(rows.iter().all(|r| r["status"] == "added"));
    // Each account's two rows share one request: its attempts are what the server saw.
    for n in 0..60 {
        let id = KeyId::of(&key(100 + n));
        let seen = log.iter().filter(|r| r.key_id == Some(id)).count();
        let row = rows.iter().find(|r| r["key_id"] == id.as_str()).unwrap();
        assert_eq!(row["attempts"], seen.to_string());
    }
}

#[test]
fn a_429_storm_from_a_shared_limit_is_ridden_out() {
    let dir = temp_dir();
    // A window far below the runner's own: every key shares nothing, but the sandbox
    // answers 429 to the third request of any key within a second.
    let server = Sandbox::start(SandboxConfig {
        limits: "2/1s".parse().unwrap(),
        retry_after: Some(1),
        ..SandboxConfig::default()
    })
    .unwrap();
    let addresses: Vec<String> = (0..6).map(|i| format!("s{i}@storm.example")).collect();
    write(
        dir.path(),
        "in.csv",
        format!("key,email\n{},\"{}\"\n", key(2), addresses.join(";")),
    );
    let output = run_in(
        dir.path(),
        "in.csv",
        &[
            "--base-url",
            &server.base_url(),
            "--rate",
            "0",
            "--max-emails-per-request",
            "1",
            "--max-attempts",
            "10",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", all_output(&output));
    let mut held = server.emails_of(&key(2));
    held.sort();
    assert_eq!(held, addresses, "s0..s5 sort as written");
    let throttled = server
        .requests()
        .iter()
        .filter(|r| r.status == Some(429))
        .count();
    assert!(throttled > 0, "the sandbox's window must have pushed back");
    assert!(
        throttled < 20,
        "429s must slow the run, not set off a storm: {throttled}"
    );
}
