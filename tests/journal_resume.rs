//! Never losing a row: the journal a run keeps as it goes, what a kill or Ctrl-C
//! leaves on disk, and `--resume` picking up exactly where a run stopped. The real
//! binary runs against a real server on 127.0.0.1, and files are read back as CSV.

mod common;

use common::*;
use ecbulk::key::KeyId;
use ecbulk::sandbox::{Sandbox, SandboxConfig};
use std::collections::{BTreeSet, HashMap};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

const KEY_A: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAkeyA";
const KEY_B: &str = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBkeyB";
const KEY_C: &str = "CCCCCCCCCCCCCCCCCCCCCCCCCCCCkeyC";

/// How many accounts a slow run has: enough that a run stopped after a few is
/// clearly in the middle.
const ACCOUNTS: usize = 24;

fn key(i: usize) -> String {
    format!("JOURNALTESTKEY{i:018}")
}

fn address(i: usize) -> String {
    format!("contact{i}@journal.example")
}

/// One account per line, one address each.
fn many_accounts(dir: &Path) {
    let mut csv = String::from("api_key,email\n");
    for i in 0..ACCOUNTS {
        csv += &format!("{},{}\n", key(i), address(i));
    }
    write(dir, "in.csv", csv);
}

/// A sandbox whose every answer takes `latency`, so that a run of [`ACCOUNTS`]
/// with two workers lasts long enough to be stopped in the middle.
fn slow_sandbox(latency: Duration) -> Sandbox {
    Sandbox::start(SandboxConfig {
        latency,
        ..Default::default()
    })
    .expect("the sandbox starts")
}

/// Starts a slow run in the background, with the journal beside `report.csv`.
fn start_slow_run(dir: &Path, server: &Sandbox) -> Child {
    ecbulk()
        .current_dir(dir)
        .args(["run", "in.csv", "--report", "report.csv", "--base-url"])
        .arg(server.base_url())
        .args(["--rate", "0", "--concurrency", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts")
}

/// The journal's whole rows. A kill may cut the last write short; a reader that
/// only keeps rows ending in a line break never sees half a row.
fn journal_rows(path: &Path) -> Vec<ReportRow> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let whole = match text.rfind('\n') {
        Some(end) => &text[..=end],
        None => "",
    };
    if whole.is_empty() {
        return Vec::new();
    }
    let copy = path.with_extension("whole");
    std::fs::write(&copy, whole).unwrap();
    let rows = read_report(&copy);
    std::fs::remove_file(&copy).unwrap();
    rows
}

fn count_added(rows: &[ReportRow]) -> usize {
    rows.iter().filter(|r| r["status"] == "added").count()
}

/// Waits until the journal records at least `n` added rows.
fn wait_for_added(journal: &Path, n: usize) {
    assert!(
        wait_for(Duration::from_secs(10), || count_added(&journal_rows(
            journal
        )) >= n),
        "the journal never reached {n} added rows"
    );
}

/// PUTs the sandbox received for a key.
fn puts_for(server: &Sandbox, key: &str) -> usize {
    let id = KeyId::of(key);
    server
        .requests()
        .iter()
        .filter(|r| r.method == "PUT" && r.key_id == Some(id))
        .count()
}

/// The key of a row's key id, among the test's keys.
fn key_of_row(row: &ReportRow) -> String {
    (0..ACCOUNTS)
        .map(key)
        .find(|k| KeyId::of(k).as_str() == row["key_id"])
        .expect("a key of the test")
}

fn file_names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_normal_run_leaves_only_a_private_report() {
    let dir = temp_dir();
    let server = ScriptedServer::start(HashMap::new());
    write(
        dir.path(),
        "in.csv",
        format!("key,email\n{KEY_A},a@journal.example\n{KEY_B},b@journal.example\n"),
    );
    let output = run_in(dir.path(), "in.csv", &["--base-url", &server.base_url]);
    assert_eq!(output.status.code(), Some(0), "{}", all_output(&output));

    assert_eq!(
        file_names(dir.path()),
        ["in.csv", "report.csv"].map(String::from).into()
    );
    assert_eq!(mode(&dir.path().join("report.csv")), 0o600);
    assert!(
        !stderr_of(&output).contains("to retry"),
        "nothing is left to retry"
    );
}

#[test]
fn a_killed_run_leaves_a_journal_the_server_agrees_with_and_resume_sends_nothing_twice() {
    let dir = temp_dir();
    many_accounts(dir.path());
    let server = slow_sandbox(Duration::from_millis(100));
    let journal = dir.path().join("report.csv.partial");

    let mut child = start_slow_run(dir.path(), &server);
    wait_for_added(&journal, 3);
    child.kill().expect("SIGKILL");
    child.wait().unwrap();

    assert!(
        !dir.path().join("report.csv").exists(),
        "a killed run writes no report"
    );
    assert_eq!(mode(&journal), 0o600);
    let journaled = journal_rows(&journal);
    let added: Vec<&ReportRow> = journaled
        .iter()
        .filter(|r| r["status"] == "added")
        .collect();
    assert!(
        added.len() >= 3 && added.len() < ACCOUNTS,
        "{} added",
        added.len()
    );
    for row in &added {
        assert_eq!(server.emails_of(&key_of_row(row)), [row["email"].clone()]);
    }

    let output = run_in(
        dir.path(),
        "in.csv",
        &[
            "--base-url",
            &server.base_url(),
            "--rate",
            "0",
            "--concurrency",
            "8",
            "--resume",
            "report.csv.partial",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", all_output(&output));

    let report = read_report(&dir.path().join("report.csv"));
    assert_eq!(report.len(), ACCOUNTS);
    for (i, row) in report.iter().enumerate() {
        assert_eq!(row["email"], address(i), "input order");
        assert_eq!(
            server.emails_of(&key(i)),
            [address(i)],
            "the end state is exact"
        );
        let was_added = added.iter().any(|a| a["email"] == row["email"]);
        let want = if was_added { "skipped" } else { "added" };
        assert_eq!(row["status"], want, "{row:?}");
        if was_added {
            assert_eq!(puts_for(&server, &key(i)), 1, "sent again: {row:?}");
        }
    }
    assert_eq!(
        file_names(dir.path()),
        ["in.csv", "report.csv"].map(String::from).into()
    );
}

#[test]
fn ctrl_c_stops_cleanly_with_a_complete_report_and_exit_130() {
    let (dir, server) = stop_a_slow_run_with("-INT");

    let output = run_in(
        dir.path(),
        "in.csv",
        &[
            "--base-url",
            &server.base_url(),
            "--rate",
            "0",
            "--concurrency",
            "8",
            "--resume",
            "report.csv",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", all_output(&output));
    for i in 0..ACCOUNTS {
        assert_eq!(server.emails_of(&key(i)), [address(i)]);
        assert_eq!(puts_for(&server, &key(i)), 1, "account {i} was sent once");
    }
}

#[test]
fn sigterm_stops_like_ctrl_c() {
    stop_a_slow_run_with("-TERM");
}

/// Stops a slow run with `signal` once a few accounts are done, and checks that it
/// ends like a finished run: exit 130, a complete report agreeing with the server,
/// no journal, and the hint to resume.
fn stop_a_slow_run_with(signal: &str) -> (TempDir, Sandbox) {
    let dir = temp_dir();
    many_accounts(dir.path());
    let server = slow_sandbox(Duration::from_millis(100));
    let journal = dir.path().join("report.csv.partial");

    let child = start_slow_run(dir.path(), &server);
    wait_for_added(&journal, 2);
    let status = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "{}", all_output(&output));

    let report = read_report(&dir.path().join("report.csv"));
    assert_eq!(report.len(), ACCOUNTS, "every input row is reported");
    let mut not_attempted = 0;
    for (i, row) in report.iter().enumerate() {
        match row["status"].as_str() {
            "added" => assert_eq!(server.emails_of(&key(i)), [address(i)]),
            "not_attempted" => {
                not_attempted += 1;
                assert!(server.emails_of(&key(i)).is_empty(), "{row:?}");
                assert_eq!(puts_for(&server, &key(i)), 0);
            }
            other => panic!("unexpected status {other}: {row:?}"),
        }
    }
    assert!(not_attempted > 0, "the run was stopped in the middle");
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("to retry what is left: ecbulk run in.csv --resume report.csv"),
        "{stderr}"
    );
    assert!(!journal.exists(), "the report replaced the journal");
    (dir, server)
}

#[test]
fn a_second_ctrl_c_quits_at_once_and_leaves_the_journal() {
    let dir = temp_dir();
    many_accounts(dir.path());
    // Answers slow enough that the first Ctrl-C's wait for requests in flight is
    // still going on when the second comes.
    let server = slow_sandbox(Duration::from_millis(500));
    let journal = dir.path().join("report.csv.partial");

    let child = start_slow_run(dir.path(), &server);
    wait_for_added(&journal, 2);
    let interrupt = || {
        let pid = child.id().to_string();
        let status = std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status();
        assert!(status.unwrap().success());
    };
    interrupt();
    std::thread::sleep(Duration::from_millis(100));
    interrupt();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "{}", all_output(&output));
    assert!(!dir.path().join("report.csv").exists());
    assert!(
        stderr_of(&output).contains("continue with --resume report.csv.partial"),
        "{}",
        stderr_of(&output)
    );
    let journaled = journal_rows(&journal);
    assert!(count_added(&journaled) >= 2);
    for row in journaled.iter().filter(|r| r["status"] == "added") {
        assert_eq!(server.emails_of(&key_of_row(row)), [row["email"].clone()]);
    }
}

#[test]
fn a_journal_whose_last_line_was_cut_off_resumes() {
    let dir = temp_dir();
    let server = ScriptedServer::start(HashMap::new());
    write(
        dir.path(),
        "in.csv",
        format!("key,email\n{KEY_A},a@journal.example\n{KEY_B},b@journal.example\n"),
    );
    let header = ecbulk::report::COLUMNS.join(",");
    let id_a = KeyId::of(KEY_A);
    let id_b = KeyId::of(KEY_B);
    write(
        dir.path(),
        "report.csv.partial",
        format!(
            "{header}\n2,,…keyA,{id_a},a@journal.example,added,204,1,,\n3,,…keyB,{id_b},b@journal.exa"
        ),
    );

    let output = run_in(
        dir.path(),
        "in.csv",
        &[
            "--base-url",
            &server.base_url,
            "--resume",
            "report.csv.partial",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", all_output(&output));
    assert!(
        stderr_of(&output).contains("cut off"),
        "{}",
        stderr_of(&output)
    );
    assert!(server.received_for(KEY_A).is_empty());
    assert_eq!(server.received_for(KEY_B).len(), 1);
    let statuses: Vec<String> = read_report(&dir.path().join("report.csv"))
        .iter()
        .map(|r| r["status"].clone())
        .collect();
    assert_eq!(statuses, ["skipped", "added"]);
    assert_eq!(
        file_names(dir.path()),
        ["in.csv", "report.csv"].map(String::from).into()
    );
}

#[test]
fn formula_like_cells_round_trip_through_resume_into_the_same_report() {
    let dir = temp_dir();
    let server = ScriptedServer::start(HashMap::new());
    write(
        dir.path(),
        "in.csv",
        format!(
            "account,key,email\n\"=HYPERLINK(\"\"x\"\")\",{KEY_A},+ops@example.com\n@label,{KEY_B},-dash@example.com\n"
        ),
    );
    let first = run_in(dir.path(), "in.csv", &["--base-url", &server.base_url]);
    assert_eq!(first.status.code(), Some(0), "{}", all_output(&first));
    let before = read_report(&dir.path().join("report.csv"));
    assert_eq!(
        before[0]["email"], "'+ops@example.com",
        "neutralised on the way out"
    );

    let again = run_in(
        dir.path(),
        "in.csv",
        &["--base-url", &server.base_url, "--resume", "report.csv"],
    );
    assert_eq!(again.status.code(), Some(0), "{}", all_output(&again));
    assert_eq!(server.received().len(), 2, "nothing is sent again");
    let after = read_report(&dir.path().join("report.csv"));
    for (was, now) in before.iter().zip(&after) {
        assert_eq!(now["status"], "skipped");
        assert_eq!(
            (&now["account"], &now["email"]),
            (&was["account"], &was["email"])
        );
    }
    assert_eq!(
        file_names(dir.path()),
        ["in.csv", "report.csv"].map(String::from).into()
    );
}

#[test]
fn resume_matches_by_key_and_address_in_an_edited_larger_input() {
    let dir = temp_dir();
    let script = HashMap::from([(
        KEY_B.to_string(),
        vec![Answer::error(403, "access_denied", "wrong kind of key")],
    )]);
    let server = ScriptedServer::start(script);
    write(
        dir.path(),
        "first.csv",
        format!("key,email\n{KEY_A},a1@journal.example\n{KEY_B},b1@journal.example\n"),
    );
    let first = run_in(dir.path(), "first.csv", &["--base-url", &server.base_url]);
    assert_eq!(first.status.code(), Some(2), "{}", all_output(&first));
    assert!(
        stderr_of(&first)
            .contains("to retry what is left: ecbulk run first.csv --resume report.csv"),
        "{}",
        stderr_of(&first)
    );

    // Reordered, one address re-cased, one added, and a new account.
    write(
        dir.path(),
        "second.csv",
        format!(
            "key,email\n{KEY_C},c1@journal.example\n{KEY_B},b1@journal.example\n{KEY_A},A1@Journal.Example;a2@journal.example\n"
        ),
    );
    let second = run_in(
        dir.path(),
        "second.csv",
        &["--base-url", &server.base_url, "--resume", "report.csv"],
    );
    assert_eq!(second.status.code(), Some(0), "{}", all_output(&second));
    let for_a = server.received_for(KEY_A);
    assert_eq!(for_a.len(), 2);
    assert_eq!(emails_in(&for_a[1].body), ["a2@journal.example"]);
    assert_eq!(
        server.received_for(KEY_B).len(),
        2,
        "the failed address is retried"
    );
    assert_eq!(server.received_for(KEY_C).len(), 1);
    let got = line_email_status(&read_report(&dir.path().join("report.csv")));
    let want = [
        (2, "c1@journal.example", "added"),
        (3, "b1@journal.example", "added"),
        (4, "A1@Journal.Example", "skipped"),
        (4, "a2@journal.example", "added"),
    ]
    .map(|(l, e, s)| (l, e.to_string(), s.to_string()));
    assert_eq!(got, want);
}

#[test]
fn a_resume_file_that_is_not_a_report_is_refused_before_sending() {
    let dir = temp_dir();
    let server = ScriptedServer::start(HashMap::new());
    write(
        dir.path(),
        "in.csv",
        format!("key,email\n{KEY_A},a@journal.example\n"),
    );
    let output = run_in(
        dir.path(),
        "in.csv",
        &["--base-url", &server.base_url, "--resume", "in.csv"],
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("--resume in.csv") && stderr.contains("not an ecbulk report"),
        "{stderr}"
    );
    assert!(!stderr.contains(KEY_A), "no key in the message");
    assert!(server.received().is_empty());
    assert_eq!(file_names(dir.path()), ["in.csv"].map(String::from).into());
}

#[test]
fn a_journal_left_by_a_stopped_run_is_never_overwritten() {
    let dir = temp_dir();
    let server = ScriptedServer::start(HashMap::new());
    write(
        dir.path(),
        "in.csv",
        format!("key,email\n{KEY_A},a@journal.example\n"),
    );
    write(dir.path(), "report.csv.partial", "rows of a stopped run\n");
    let output = run_in(dir.path(), "in.csv", &["--base-url", &server.base_url]);
    assert_eq!(output.status.code(), Some(1), "{}", all_output(&output));
    assert!(
        stderr_of(&output).contains("--resume report.csv.partial"),
        "{}",
        stderr_of(&output)
    );
    assert!(server.received().is_empty());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("report.csv.partial")).unwrap(),
        "rows of a stopped run\n"
    );
}

#[test]
fn a_report_on_stdout_names_its_journal_and_leaves_nothing_behind() {
    let dir = temp_dir();
    let server = ScriptedServer::start(HashMap::new());
    write(
        dir.path(),
        "in.csv",
        format!("key,email\n{KEY_A},a@journal.example\n"),
    );
    let output = ecbulk()
        .current_dir(dir.path())
        .args([
            "run",
            "in.csv",
            "--report",
            "-",
            "--base-url",
            &server.base_url,
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", all_output(&output));
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("journal: ecbulk-report-") && stderr.contains(".csv.partial"),
        "{stderr}"
    );
    assert_eq!(file_names(dir.path()), ["in.csv"].map(String::from).into());
    assert!(String::from_utf8_lossy(&output.stdout).contains(",added,"));
}
