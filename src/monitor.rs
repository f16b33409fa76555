//! `--summary-json`: the run's outcome as one JSON file for monitors (a cron
//! wrapper, a metrics collector). Its counts come from the same [`Summary`] as the
//! closing summary, which is counted from the report rows, so the three agree.

use crate::exit::Exit;
use crate::status::Status;
use crate::summary::Summary;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;

/// Everything the file says. Field names are a contract: monitors read them.
#[derive(Debug, Clone, Serialize)]
pub struct RunOutcome<'a> {
    /// Report rows per status; every status is present, zero or not.
    pub rows: BTreeMap<&'static str, usize>,
    /// Accounts (distinct keys) in the input.
    pub accounts: usize,
    /// Requests planned.
    pub requests: usize,
    /// Requests sent, retries included (GETs, in a `--check-keys` dry run).
    pub attempts: u64,
    /// Failed rows per error code.
    pub failures_by_code: &'a BTreeMap<String, usize>,
    /// The process's exit code.
    pub exit_code: u8,
    /// Whether nothing was sent (`--dry-run`).
    pub dry_run: bool,
    /// When the run started, RFC 3339 in UTC.
    pub started_at: String,
    /// When the run finished, RFC 3339 in UTC.
    pub finished_at: String,
    /// The report's path, `-` for standard output, `null` when none was written.
    pub report: Option<&'a str>,
    /// The error that stopped the run before anything was sent, if one did.
    pub error: Option<&'a str>,
    /// `ecbulk`'s version and commit.
    pub ecbulk_version: &'static str,
}

impl<'a> RunOutcome<'a> {
    /// The outcome of a run that got as far as a report (possibly an unwritten one).
    pub fn new(
        summary: &'a Summary,
        exit: Exit,
        dry_run: bool,
        started_at: jiff::Timestamp,
        report: Option<&'a str>,
    ) -> RunOutcome<'a> {
        RunOutcome {
            rows: Status::ALL
                .iter()
                .map(|s| (s.as_str(), summary.rows_with(*s)))
                .collect(),
            accounts: summary.accounts,
            requests: summary.requests,
            attempts: summary.attempts,
            failures_by_code: &summary.failures_by_code,
            exit_code: exit.code(),
            dry_run,
            started_at: rfc3339(started_at),
            finished_at: rfc3339(jiff::Timestamp::now()),
            report,
            error: None,
            ecbulk_version: crate::cli::VERSION,
        }
    }

    /// Marks the run as stopped by `error` before anything was sent.
    pub fn with_error(mut self, error: &'a str) -> RunOutcome<'a> {
        self.error = Some(error);
        self
    }
}

fn rfc3339(time: jiff::Timestamp) -> String {
    time.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Writes `outcome` to `path` whole or not at all: a temporary file in the same
/// folder (a rename across filesystems would fail), then a rename. A monitor
/// polling the file never reads half of it. The file holds counts only, no keys and
/// no addresses, so it is made readable by all: a collector may run as another user.
pub fn write(path: &Path, outcome: &RunOutcome<'_>) -> io::Result<()> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".ecbulk-summary.")
        .suffix(".tmp")
        .tempfile_in(folder)?;
    serde_json::to_writer_pretty(&mut temp, outcome)?;
    temp.write_all(b"\n")?;
    temp.as_file().sync_all()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        temp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> Summary {
        let mut summary = Summary {
            accounts: 2,
            requests: 3,
            attempts: 4,
            ..Summary::default()
        };
        summary.rows.insert(Status::Added, 5);
        summary.rows.insert(Status::Failed, 1);
        summary.failures_by_code.insert("http_503".into(), 1);
        summary
    }

    #[test]
    fn the_file_has_every_contract_field_and_every_status() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summary.json");
        let summary = summary();
        let started: jiff::Timestamp = "2026-12-03T12:00:00Z".parse().unwrap();
        let outcome = RunOutcome::new(&summary, Exit::Incomplete, false, started, Some("r.csv"));
        write(&path, &outcome).unwrap();

        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for field in [
            "rows",
            "accounts",
            "requests",
            "attempts",
            "failures_by_code",
            "exit_code",
            "started_at",
            "finished_at",
            "report",
        ] {
            assert!(json.get(field).is_some(), "{field} missing: {json}");
        }
        assert_eq!(json["rows"]["added"], 5);
        assert_eq!(json["rows"]["present"], 0);
        assert_eq!(json["rows"].as_object().unwrap().len(), Status::ALL.len());
        assert_eq!(json["failures_by_code"]["http_503"], 1);
        assert_eq!(json["exit_code"], 2);
        assert_eq!(json["started_at"], "2026-12-03T12:00:00.000Z");
        assert_eq!(json["report"], "r.csv");
        assert!(json["error"].is_null());
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
    }

    #[test]
    fn an_unwritable_folder_is_an_error_not_a_panic() {
        let summary = Summary::default();
        let outcome = RunOutcome::new(&summary, Exit::Usage, false, jiff::Timestamp::now(), None)
            .with_error("bad input");
        let error = write(Path::new("/no/such/folder/summary.json"), &outcome);
        assert!(error.is_err());
    }
}
