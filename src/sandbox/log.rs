//! What reached the sandbox: one record per request, kept in memory for tests and,
//! with `--log FILE`, appended to a JSON-lines file as each answer is decided.
//! Keys appear only as their [`KeyId`], never in full.

use super::handler::Fault;
use crate::key::KeyId;
use crate::term;
use serde::Serialize;
use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Most records kept in memory; older ones are dropped first. About 100 bytes
/// each, so a long rehearsal stays within a few tens of megabytes.
pub const MAX_RECORDS: usize = 200_000;

/// One request as the sandbox judged it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedRequest {
    /// When the request was judged (its body read), for measuring pacing.
    pub at: Instant,
    /// The same moment as wall-clock time, as written to the log file.
    pub time: jiff::Timestamp,
    /// The HTTP method, e.g. `PUT`.
    pub method: String,
    /// The URL path (without the query), cut to 200 characters.
    pub path: String,
    /// The id of the key sent; `None` when no key was sent.
    pub key_id: Option<KeyId>,
    /// The status answered; `None` when the connection was closed with no answer.
    pub status: Option<u16>,
    /// The fault that decided the answer, if one did.
    pub fault: Option<Fault>,
    /// Whether the answer was held back by a stall.
    pub stalled: bool,
    /// How many addresses the body carried (0 for GET).
    pub emails: usize,
}

/// A log line. Field order is the order a reader scans: when, what, who, outcome.
#[derive(Serialize)]
struct Line<'a> {
    time: String,
    method: &'a str,
    path: &'a str,
    key_id: Option<&'a str>,
    status: Option<u16>,
    fault: Option<&'static str>,
    stalled: bool,
    emails: usize,
}

/// The in-memory records and the optional log file.
#[derive(Debug)]
pub struct RequestLog {
    records: Mutex<VecDeque<LoggedRequest>>,
    file: Option<(PathBuf, Mutex<File>)>,
    warned: AtomicBool,
}

impl RequestLog {
    /// A log kept in memory, and appended to `path` when given (created if missing).
    pub fn open(path: Option<&Path>) -> io::Result<RequestLog> {
        let file = match path {
            Some(path) => {
                let file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|error| {
                        io::Error::new(
                            error.kind(),
                            format!("cannot open the log {}: {error}", path.display()),
                        )
                    })?;
                Some((path.to_owned(), Mutex::new(file)))
            }
            None => None,
        };
        Ok(RequestLog {
            records: Mutex::new(VecDeque::new()),
            file,
            warned: AtomicBool::new(false),
        })
    }

    /// Keeps `record` and writes its line to the file, if any.
    pub fn record(&self, record: LoggedRequest) {
        if let Some((path, file)) = &self.file {
            let mut line = to_line(&record);
            line.push('\n');
            // One write of the whole line on an unbuffered file: each line reaches the
            // file as it is decided, and lines of parallel requests never interleave.
            let written = lock(file).write_all(line.as_bytes());
            if let Err(error) = written
                && !self.warned.swap(true, Ordering::Relaxed)
            {
                term::print_warning(&format!(
                    "cannot write the request log {}: {error}; later lines may be lost",
                    path.display()
                ));
            }
        }

        let mut records = lock(&self.records);
        if records.len() == MAX_RECORDS {
            records.pop_front();
        }
        records.push_back(record);
    }

    /// Every record kept, oldest first.
    pub fn records(&self) -> Vec<LoggedRequest> {
        lock(&self.records).iter().cloned().collect()
    }
}

/// The JSON line of a record, without the line break.
fn to_line(record: &LoggedRequest) -> String {
    let line = Line {
        time: format!("{:.3}", record.time),
        method: &record.method,
        path: &record.path,
        key_id: record.key_id.as_ref().map(KeyId::as_str),
        status: record.status,
        fault: record.fault.map(Fault::as_str),
        stalled: record.stalled,
        emails: record.emails,
    };
    // A struct of strings, numbers and options always serializes.
    serde_json::to_string(&line).unwrap_or_default()
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(status: Option<u16>, fault: Option<Fault>) -> LoggedRequest {
        LoggedRequest {
            at: Instant::now(),
            time: "2026-03-01T12:34:56.789123Z".parse().unwrap(),
            method: "PUT".into(),
            path: "/partner-subscription/api/v1/account/emergency-emails".into(),
            key_id: Some(KeyId::of("abc")),
            status,
            fault,
            stalled: false,
            emails: 2,
        }
    }

    #[test]
    fn a_line_has_the_documented_fields() {
        let line = to_line(&sample(Some(204), None));
        assert_eq!(
            line,
            concat!(
                r#"{"time":"2026-03-01T12:34:56.789Z","method":"PUT","#,
                r#""path":"/partner-subscription/api/v1/account/emergency-emails","#,
                r#""key_id":"ba7816bf8f01","status":204,"fault":null,"stalled":false,"#,
                r#""emails":2}"#
            )
        );
        let reset = to_line(&sample(None, Some(Fault::Reset)));
        assert!(
            reset.contains(r#""status":null,"fault":"reset""#),
            "{reset}"
        );
    }

    #[test]
    fn the_file_gets_one_line_per_record_appended() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("requests.jsonl");
        std::fs::write(&path, "earlier run\n").unwrap();
        let log = RequestLog::open(Some(&path)).unwrap();
        log.record(sample(Some(204), None));
        log.record(sample(Some(429), None));
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], "earlier run");
        assert!(lines[2].contains(r#""status":429"#));
        assert_eq!(log.records().len(), 2);
    }

    #[test]
    fn an_unopenable_log_names_its_path() {
        let error = RequestLog::open(Some(Path::new("/no/such/folder/log.jsonl"))).unwrap_err();
        assert!(
            error.to_string().contains("/no/such/folder/log.jsonl"),
            "{error}"
        );
    }
}
