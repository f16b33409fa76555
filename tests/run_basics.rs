//! `ecbulk run` end to end: the real binary reads real files and sends to a real
//! server on 127.0.0.1, and the report is parsed back and compared.

mod common;

use common::*;
use ecbulk::sandbox::{Sandbox, SandboxConfig};
use std::collections::BTreeMap;

const KEY_A: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAkeyA";
const KEY_B: &str = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBkeyB";
const KEY_C: &str = "CCCCCCCCCCCCCCCCCCCCCCCCCCCCkeyC";

fn sandbox() -> Sandbox {
    Sandbox::start(SandboxConfig::default()).expect("the sandbox starts")
}

#[test]
fn the_bundled_sample_leaves_the_sandbox_holding_exactly_the_expected_addresses() {
    let dir = temp_dir();
    let server = sandbox();
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/accounts.csv");
    let output = run_in(
        dir.path(),
        sample,
        &["--base-url", &server.base_url(), "--rate", "0"],
    );
    assert_eq!(
        output.status.code(),
        Some(2),
        "the sample has invalid rows: {}",
        all_output(&output)
    );

    let expected: BTreeMap<String, Vec<String>> = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/samples/accounts.expected.json"
        ))
        .unwrap(),
    )
    .unwrap();
    for (key, addresses) in &expected {
        assert_eq!(
            &server.emails_of(key),
            addresses,
            "key ending {}",
            &key[key.len() - 4..]
        );
    }

    let rows = read_report(&dir.path().join("report.csv"));
    let sample_text = std::fs::read_to_string(sample).unwrap();
    for key in expected.keys() {
        assert!(
            !all_output(&output).contains(key.as_str()),
            "a full key was printed"
        );
        assert!(
            !all_files(dir.path()).contains(key.as_str()),
            "a full key was written"
        );
        assert!(sample_text.contains(key.as_str()));
    }
    let added = rows.iter().filter(|r| r["status"] == "added").count();
    assert_eq!(added, expected.values().map(Vec::len).sum::<usize>());
}

#[test]
fn rows_sharing_a_key_are_one_request_wherever_they_stand() {
    let dir = temp_dir();
    let server = ScriptedServer::start(Default::default());
    let mut csv = String::from("api_key,email\n");
    csv += &format!("{KEY_A},a1@example.com\n");
    for i in 0..20 {
        csv += &format!("{KEY_B},b{i}@example.com\n");
    }
    csv += &format!("{KEY_A},a2@example.com\n");
    write(dir.path(), "in.csv", &csv);

    let output = run_in(
        dir.path(),
        "in.csv",
        &["--base-url", &server.base_url, "--rate", "0"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", all_output(&output));

    let for_a = server.received_for(KEY_A);
    assert_eq!(for_a.len(), 1);
    assert_eq!(
        emails_in(&for_a[0].body),
        ["a1@example.com", "a2@example.com"]
    );
    assert_eq!(server.received_for(KEY_B).len(), 1);
    assert_eq!(server.received().len(), 2);
}

#[test]
fn every_request_has_the_documented_shape() {
    let dir = temp_dir();
    let server = ScriptedServer::start(Default::default());
    write(
        dir.path(),
        "in.csv",
        format!("key,emails\n{KEY_A},ops@example.com\n"),
    );
    let output = run_in(dir.path(), "in.csv", &["--base-url", &server.base_url]);
    assert_eq!(output.status.code(), Some(0), "{}", all_output(&output));

    let received = server.received();
    assert_eq!(received.len(), 1);
    let request = &received[0];
    assert_eq!(request.method, "PUT");
    assert_eq!(
        request.url,
        "/partner-subscription/api/v1/account/emergency-emails"
    );
    assert_eq!(request.headers["x-partner-apikey"], KEY_A);
    assert_eq!(request.headers["content-type"], "application/json");
    assert_eq!(
        request.headers["user-agent"],
        format!("ecbulk/{}", env!("CARGO_PKG_VERSION"))
    );
    let body: serde_json::Value = serde_json::from_str(&request.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"emergency_contact_emails": ["ops@example.com"]})
    );
}

#[test]
fn the_report_has_one_row_per_address_at_its_true_line() {
    let dir = temp_dir();
    let server = sandbox();
    // Line 3 spans two physical lines; line 7 repeats key A far from its first row.
    let csv = format!(
        "Account Name,API Key,Emergency Contact Emails\n\
         Alpha,{KEY_A},first@alpha.example\n\
         Beta,{KEY_B},\"one@beta.example\ntwo@beta.example\"\n\
         Gamma,{KEY_C},not-an-address\n\
         \n\
         Gamma,{KEY_C},\n\
         Alpha,{KEY_A},FIRST@alpha.example; second@alpha.example\n"
    );
    for (name, text) in [
        ("lf.csv", csv.clone()),
        ("crlf.csv", csv.replace('\n', "\r\n")),
    ] {
        write(dir.path(), name, &text);
        let output = run_in(
            dir.path(),
            name,
            &["--base-url", &server.base_url(), "--rate", "0"],
        );
        assert_eq!(
            output.status.code(),
            Some(2),
            "{name}: {}",
            all_output(&output)
        );

        let rows = read_report(&dir.path().join("report.csv"));
        let got = line_email_status(&rows);
        let want: Vec<(u64, String, String)> = [
            (2, "first@alpha.example", "added"),
            (3, "one@beta.example", "added"),
            (3, "two@beta.example", "added"),
            (5, "not-an-address", "invalid"),
            (7, "", "invalid"),
            (8, "FIRST@alpha.example", "duplicate"),
            (8, "second@alpha.example", "added"),
        ]
        .iter()
        .map(|(l, e, s)| (*l, e.to_string(), s.to_string()))
        .collect();
        assert_eq!(got, want, "{name}");
        assert_eq!(rows[0]["account"], "Alpha");
        assert_eq!(rows[0]["key"], "…keyA");
        assert_eq!(rows[0]["key_id"], ecbulk::key::KeyId::of(KEY_A).as_str());
        assert_eq!(rows[0]["http_status"], "204");
        assert_eq!(rows[0]["attempts"], "1");
        assert!(rows[3]["error_message"].contains("'@'"), "{:?}", rows[3]);
    }
    assert_eq!(
        server.emails_of(KEY_A),
        ["first@alpha.example", "second@alpha.example"]
    );
}

#[test]
fn semicolon_and_tab_files_with_a_bom_read_like_commas() {
    let dir = temp_dir();
    let server = sandbox();
    let files = [
        (
            "semi.csv",
            format!("\u{feff}E-Mail Address;Partner API Key\nx@semi.example;{KEY_A}\n"),
        ),
        (
            "tab.tsv",
            format!("label\tapikey\temergency_emails\nT\t{KEY_B}\tx@tab.example\n"),
        ),
    ];
    for (name, text) in &files {
        write(dir.path(), name, text);
        let output = run_in(
            dir.path(),
            name,
            &["--base-url", &server.base_url(), "--rate", "0"],
        );
        assert_eq!(
            output.status.code(),
            Some(0),
            "{name}: {}",
            all_output(&output)
        );
    }
    assert_eq!(server.emails_of(KEY_A), ["x@semi.example"]);
    assert_eq!(server.emails_of(KEY_B), ["x@tab.example"]);
}

#[test]
fn a_missing_email_column_is_refused_before_anything_is_sent() {
    let dir = temp_dir();
    let server = ScriptedServer::start(Default::default());
    write(
        dir.path(),
        "in.csv",
        format!("api_key,phone\n{KEY_A},555\n"),
    );
    let output = run_in(dir.path(), "in.csv", &["--base-url", &server.base_url]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("in.csv"), "{stderr}");
    assert!(
        stderr.contains("phone"),
        "the message lists the headers found: {stderr}"
    );
    assert!(stderr.contains("--email-column"), "{stderr}");
    assert!(server.received().is_empty());
    assert!(!dir.path().join("report.csv").exists());
}

#[test]
fn a_quote_left_open_is_refused_before_its_rows_reach_another_account() {
    // Read as csv-core alone reads it, KEY_B's row would become part of KEY_A's email
    // cell: c@y.com sent to KEY_A's account, and KEY_B written into the report.
    let dir = temp_dir();
    let server = ScriptedServer::start(Default::default());
    write(
        dir.path(),
        "in.csv",
        format!("api_key,email\n{KEY_A},\"a@x.com\n{KEY_B},c@y.com\n"),
    );
    let output = run_in(dir.path(), "in.csv", &["--base-url", &server.base_url]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("in.csv, line 2: column 2 (\"email\")"),
        "{stderr}"
    );
    assert!(stderr.contains("never closed"), "{stderr}");
    assert!(server.received().is_empty());
    assert!(!dir.path().join("report.csv").exists());
    assert!(!all_output(&output).contains(KEY_B));
}

#[test]
fn explicit_column_flags_pick_the_columns() {
    let dir = temp_dir();
    let server = sandbox();
    write(
        dir.path(),
        "in.csv",
        format!("secret,where,who\n{KEY_A},x@flags.example,Flagged\n"),
    );
    let output = run_in(
        dir.path(),
        "in.csv",
        &[
            "--base-url",
            &server.base_url(),
            "--key-column",
            "secret",
            "--email-column",
            "where",
            "--account-column",
            "who",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", all_output(&output));
    assert_eq!(server.emails_of(KEY_A), ["x@flags.example"]);
    assert_eq!(
        read_report(&dir.path().join("report.csv"))[0]["account"],
        "Flagged"
    );
}

#[test]
fn a_dry_run_sends_nothing_and_plans_every_valid_address() {
    let dir = temp_dir();
    let server = ScriptedServer::start(Default::default());
    write(
        dir.path(),
        "in.csv",
        format!("key,email\n{KEY_A},a@dry.example\n{KEY_B},b@dry.example\n"),
    );
    let output = run_in(
        dir.path(),
        "in.csv",
        &["--base-url", &server.base_url, "--dry-run"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", all_output(&output));
    assert!(server.received().is_empty());
    let rows = read_report(&dir.path().join("report.csv"));
    assert!(rows.iter().all(|r| r["status"] == "planned"), "{rows:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("2 would be sent"), "{stderr}");

    write(dir.path(), "bad.csv", format!("key,email\n{KEY_A},nope\n"));
    let output = run_in(
        dir.path(),
        "bad.csv",
        &["--base-url", &server.base_url, "--dry-run"],
    );
    assert_eq!(
        output.status.code(),
        Some(2),
        "a dry run with invalid rows exits 2"
    );
    assert!(server.received().is_empty());
}

#[test]
fn exit_codes_follow_the_outcome() {
    let dir = temp_dir();
    let mut script = std::collections::HashMap::new();
    script.insert(
        KEY_B.to_string(),
        vec![Answer::error(403, "access_denied", "wrong kind of key")],
    );
    let server = ScriptedServer::start(script);

    write(
        dir.path(),
        "ok.csv",
        format!("key,email\n{KEY_A},a@exit.example\n"),
    );
    let ok = run_in(dir.path(), "ok.csv", &["--base-url", &server.base_url]);
    assert_eq!(ok.status.code(), Some(0), "{}", all_output(&ok));

    write(
        dir.path(),
        "partial.csv",
        format!("key,email\n{KEY_A},a@exit.example\n{KEY_B},b@exit.example\n"),
    );
    let partial = run_in(dir.path(), "partial.csv", &["--base-url", &server.base_url]);
    assert_eq!(partial.status.code(), Some(2), "{}", all_output(&partial));
    let rows = read_report(&dir.path().join("report.csv"));
    assert_eq!(rows[1]["status"], "failed");
    assert_eq!(rows[1]["http_status"], "403");
    assert_eq!(rows[1]["error_code"], "access_denied");
    assert_eq!(rows[1]["error_message"], "wrong kind of key");
    assert_eq!(rows[1]["attempts"], "1");

    let usage = run_in(dir.path(), "missing.csv", &["--base-url", &server.base_url]);
    assert_eq!(usage.status.code(), Some(1));
    let bad_flag = run_in(
        dir.path(),
        "ok.csv",
        &["--base-url", &server.base_url, "--concurrency", "0"],
    );
    assert_eq!(bad_flag.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad_flag.stderr).contains("--concurrency"));
}

#[test]
fn the_report_can_go_to_stdout() {
    let dir = temp_dir();
    let server = sandbox();
    write(
        dir.path(),
        "in.csv",
        format!("key,email\n{KEY_A},a@stdout.example\n"),
    );
    let output = ecbulk()
        .current_dir(dir.path())
        .args([
            "run",
            "in.csv",
            "--report",
            "-",
            "--base-url",
            &server.base_url(),
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", all_output(&output));
    let mut reader = csv::Reader::from_reader(&output.stdout[..]);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(&rows[0][5], "added");
}

#[test]
fn input_can_come_from_stdin() {
    let dir = temp_dir();
    let server = sandbox();
    let mut child = ecbulk()
        .current_dir(dir.path())
        .args([
            "run",
            "-",
            "--report",
            "report.csv",
            "--base-url",
            &server.base_url(),
        ])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("key,email\n{KEY_C},c@stdin.example\n").as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", all_output(&output));
    assert_eq!(server.emails_of(KEY_C), ["c@stdin.example"]);
}

#[test]
fn the_default_report_name_carries_the_utc_time() {
    let dir = temp_dir();
    write(
        dir.path(),
        "in.csv",
        format!("key,email\n{KEY_A},a@name.example\n"),
    );
    let output = ecbulk()
        .current_dir(dir.path())
        .args(["run", "in.csv", "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", all_output(&output));
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("ecbulk-report-"))
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    let stamp = names[0]
        .trim_start_matches("ecbulk-report-")
        .trim_end_matches(".csv");
    assert_eq!(stamp.len(), "20261203T123456Z".len(), "{stamp}");
    assert!(
        stamp.ends_with('Z') && stamp.as_bytes()[8] == b'T',
        "{stamp}"
    );
}
