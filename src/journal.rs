//! The journal: report rows appended to `REPORT.partial` as each request finishes,
//! so that a run stopped in any way (SIGKILL, power loss, a second Ctrl-C) leaves on
//! disk every account it finished, ready for `--resume`. A run that ends normally
//! writes the report in input order and removes the journal.

use crate::plan::{Note, Plan};
use crate::report::{ReportWriter, Rows};
use crate::settings::ReportTarget;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The least time between two `sync_data` calls. A flush (one `write`) per request
/// already survives SIGKILL, since the kernel holds the data; only power loss can
/// lose what was not synced. Syncing per request would cap a run at the disk's sync
/// rate, so the journal syncs at most this often. Rows lost to a power cut are only
/// sent again on resume, which is harmless: the API ignores addresses it holds.
const SYNC_INTERVAL: Duration = Duration::from_secs(1);

/// An open journal. Writing never fails a run: after the first error the journal
/// says so once and stops, and the run carries on, since the report is still
/// written from memory at the end.
pub struct Journal {
    path: PathBuf,
    file: Option<File>,
    last_sync: Instant,
    /// A write failed: the journal holds only the rows that finished before.
    cut_short: bool,
}

/// Where the journal of a report goes: `REPORT.partial` beside a report file, or,
/// when the report goes to standard output, `ecbulk-report-<UTC time>.csv.partial`
/// in the current folder (the name a default report would have had, plus `.partial`).
pub fn path_for(target: &ReportTarget, now: jiff::Timestamp) -> PathBuf {
    match target {
        ReportTarget::Path(report) => {
            let mut name = report.file_name().unwrap_or_default().to_os_string();
            name.push(".partial");
            report.with_file_name(name)
        }
        ReportTarget::Stdout => PathBuf::from(format!(
            "ecbulk-report-{}.csv.partial",
            now.strftime("%Y%m%dT%H%M%SZ")
        )),
    }
}

impl Journal {
    /// Starts the journal at `path` with the header and every row that is final
    /// before sending (invalid, duplicate, skipped). The file is written aside and
    /// renamed into place, so an earlier journal given to `--resume` (already read
    /// in full) is replaced whole, never truncated while its rows matter.
    ///
    /// An existing journal that is not the `resume` file is refused: it is the only
    /// record of a run that was stopped, and starting over would lose it.
    pub fn create(
        path: &Path,
        resume: Option<&Path>,
        plan: &Plan,
        rows: &Rows<'_>,
    ) -> Result<Journal, String> {
        if path.exists() && !resume.is_some_and(|r| same_file(r, path)) {
            return Err(format!(
                "{} holds the rows of an earlier run that was stopped; continue it with \
                 --resume {} (or remove the file to start over)",
                path.display(),
                path.display()
            ));
        }
        let file = start_file(path, plan, rows).map_err(|e| {
            format!(
                "cannot write the journal {}: {e} (choose another place with --report)",
                path.display()
            )
        })?;
        Ok(Journal {
            path: path.to_path_buf(),
            file: Some(file),
            last_sync: Instant::now(),
            cut_short: false,
        })
    }

    /// Where the journal is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends the rows of a request that just finished, as one write so that a
    /// kill leaves at most the last row cut short (which `--resume` ignores).
    pub fn record(&mut self, rows: &Rows<'_>, chunk: u32) {
        let Some(file) = self.file.as_mut() else {
            return;
        };
        let mut buffer = Vec::new();
        let result = write_rows(&mut buffer, rows.of_chunk(chunk))
            .and_then(|()| file.write_all(&buffer))
            .and_then(|()| {
                if self.last_sync.elapsed() >= SYNC_INTERVAL {
                    self.last_sync = Instant::now();
                    file.sync_data()?;
                }
                Ok(())
            });
        if let Err(error) = result {
            crate::term::print_warning(&format!(
                "cannot write the journal {}: {error}; the run goes on, but rows finished \
                 from now on are only in the final report",
                self.path.display()
            ));
            self.file = None;
            self.cut_short = true;
        }
    }

    /// Ends the journal once the run is over. When the report was written it holds
    /// everything, so the journal is removed; otherwise the journal is kept, said so,
    /// and its path returned.
    pub fn finish(mut self, report_written: bool) -> Option<PathBuf> {
        drop(self.file.take());
        if !report_written {
            crate::term::print_warning(&self.kept_note());
            return Some(self.path);
        }
        if let Err(error) = std::fs::remove_file(&self.path) {
            crate::term::print_warning(&format!(
                "cannot remove the journal {}: {error}",
                self.path.display()
            ));
        }
        None
    }
}

impl Journal {
    /// What is said of a journal kept because the report could not be written.
    fn kept_note(&self) -> String {
        match self.cut_short {
            false => format!(
                "the journal {} keeps every row that finished",
                self.path.display()
            ),
            true => format!(
                "the journal {} keeps the rows that finished before it could not be written; \
                 a --resume from it sends the later ones again, which adds nothing twice \
                 (the server drops duplicates)",
                self.path.display()
            ),
        }
    }
}

/// Writes the header and the rows settled before sending to a temporary file beside
/// `path` (tempfile makes it 0600: it names security contacts), syncs it, and
/// renames it to `path`.
fn start_file(path: &Path, plan: &Plan, rows: &Rows<'_>) -> io::Result<File> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let mut temp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(folder)?;

    let mut buffer = Vec::new();
    ReportWriter::new(&mut buffer)?.into_inner()?;
    let settled = plan
        .entries
        .iter()
        .filter(|entry| !matches!(entry.note, Note::Chunk(_)))
        .map(|entry| rows.row(entry));
    write_rows(&mut buffer, settled)?;
    temp.write_all(&buffer)?;
    temp.as_file().sync_data()?;

    let file = temp.persist(path).map_err(|e| e.error)?;
    // The rename itself survives power loss only once the folder is synced; where a
    // folder cannot be opened as a file (Windows) this is skipped.
    if let Ok(dir) = File::open(folder) {
        let _ = dir.sync_all();
    }
    Ok(file)
}

/// Serialises rows (header-less) into `out`.
fn write_rows<'a>(
    out: &mut Vec<u8>,
    rows: impl Iterator<Item = crate::report::Row<'a>>,
) -> io::Result<()> {
    let mut writer = ReportWriter::appending(out);
    for row in rows {
        writer.write(&row)?;
    }
    writer.flush()
}

/// Whether two paths name one file. Paths that cannot be resolved (a file that does
/// not exist yet) are compared as given.
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::send::Outcome;
    use crate::status::Status;
    use std::os::unix::fs::PermissionsExt;

    const KEY_A: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAkeyA";
    const KEY_B: &str = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBkeyB";

    /// A plan built by hand (the planner needs the input's address parser): account A
    /// has an invalid address, a duplicate and a skipped one; B has one to send.
    fn plan() -> Plan {
        use crate::key::{ApiKey, KeyId};
        use crate::plan::{Account, Chunk};
        let account = |key: &str| Account {
            key: ApiKey::parse(key),
            shown_key: crate::key::Masked::of(key),
            id: KeyId::of(key),
        };
        let mut plan = Plan {
            accounts: vec![account(KEY_A), account(KEY_B)],
            labels: vec!["=label".into()],
            reasons: vec!["no '@'".into()],
            chunks: vec![
                Chunk {
                    account: 0,
                    entries: vec![0],
                },
                Chunk {
                    account: 1,
                    entries: vec![2],
                },
            ],
            ..Plan::default()
        };
        let entries = [
            (2, 0, "+ops@example.com", Status::Planned, Note::Chunk(0)),
            (2, 0, "bad", Status::Invalid, Note::Invalid(0)),
            (3, 1, "b@example.com", Status::Planned, Note::Chunk(1)),
            (
                4,
                0,
                "+OPS@example.com",
                Status::Duplicate,
                Note::DuplicateOf(0),
            ),
            (4, 0, "done@example.com", Status::Skipped, Note::None),
        ];
        for (line, account, email, status, note) in entries {
            plan.push_entry((line, account, 0), email, status, note);
        }
        plan
    }

    fn added() -> Outcome {
        Outcome {
            status: Status::Added,
            http_status: Some(204),
            attempts: 1,
            error_code: None,
            error_message: None,
            listing: None,
        }
    }

    fn statuses(path: &Path) -> Vec<(String, String)> {
        let mut reader = csv::Reader::from_path(path).unwrap();
        reader
            .records()
            .map(|r| {
                let r = r.unwrap();
                (r[4].to_string(), r[5].to_string())
            })
            .collect()
    }

    #[test]
    fn journal_names_sit_beside_the_report() {
        let now: jiff::Timestamp = "2026-12-03T12:34:56Z".parse().unwrap();
        let cases = [
            (
                ReportTarget::Path("report.csv".into()),
                "report.csv.partial",
            ),
            (ReportTarget::Path("out/r.csv".into()), "out/r.csv.partial"),
            (
                ReportTarget::Stdout,
                "ecbulk-report-20261203T123456Z.csv.partial",
            ),
        ];
        for (target, want) in cases {
            assert_eq!(path_for(&target, now), PathBuf::from(want), "{target:?}");
        }
    }

    #[test]
    fn settled_rows_come_first_then_each_finished_request() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.csv.partial");
        let plan = plan();
        let mut outcomes = vec![None; plan.chunks.len()];
        let mut journal =
            Journal::create(&path, None, &plan, &Rows::new(&plan, &outcomes, false)).unwrap();
        assert_eq!(
            statuses(&path),
            [
                ("bad".to_string(), "invalid".to_string()),
                ("'+OPS@example.com".to_string(), "duplicate".to_string()),
                ("done@example.com".to_string(), "skipped".to_string()),
            ]
        );

        let chunk_b = 1;
        outcomes[chunk_b as usize] = Some(added());
        journal.record(&Rows::new(&plan, &outcomes, false), chunk_b);
        let rows = statuses(&path);
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[3], ("b@example.com".to_string(), "added".to_string()));

        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("'=label"), "cells are neutralised: {text}");
        assert!(
            !text.contains(KEY_A) && !text.contains(KEY_B),
            "no full key"
        );
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);

        assert_eq!(journal.finish(true), None);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_journal_that_could_not_be_written_does_not_claim_every_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.csv.partial");
        let plan = plan();
        let mut outcomes = vec![None; plan.chunks.len()];
        let mut journal =
            Journal::create(&path, None, &plan, &Rows::new(&plan, &outcomes, false)).unwrap();
        assert!(
            journal
                .kept_note()
                .contains("keeps every row that finished")
        );
        // Writing to /dev/full fails as a full disk does.
        journal.file = Some(File::options().write(true).open("/dev/full").unwrap());
        outcomes[1] = Some(added());
        journal.record(&Rows::new(&plan, &outcomes, false), 1);
        let note = journal.kept_note();
        assert!(note.contains("before it could not be written"), "{note}");
        assert!(!note.contains("every row"), "{note}");
        assert_eq!(journal.finish(false), Some(path));
    }

    #[test]
    fn an_existing_journal_is_kept_unless_it_is_being_resumed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.csv.partial");
        std::fs::write(&path, "earlier rows").unwrap();
        let plan = plan();
        let outcomes = vec![None; plan.chunks.len()];
        let rows = Rows::new(&plan, &outcomes, false);

        let error = Journal::create(&path, None, &plan, &rows).err().unwrap();
        assert!(
            error.contains("--resume") && error.contains("report.csv.partial"),
            "{error}"
        );
        let other = dir.path().join("other.csv");
        std::fs::write(&other, "x").unwrap();
        assert!(Journal::create(&path, Some(&other), &plan, &rows).is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "earlier rows");

        let journal = Journal::create(&path, Some(&path), &plan, &rows).unwrap();
        assert_eq!(statuses(journal.path()).len(), 3);
        assert_eq!(journal.finish(false), Some(path.clone()));
        assert!(
            path.exists(),
            "a journal is kept when the report is not written"
        );
    }
}
