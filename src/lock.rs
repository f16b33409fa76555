//! One run per report: an advisory lock on `REPORT.lock`, beside the report, held
//! from before anything is sent until the report is written. A second run on the
//! same report refuses and names the first; the first is not disturbed.
//!
//! The lock is the operating system's (`flock` on Unix), not the file's existence:
//! a run that was killed leaves its lock file behind, but the kernel released its
//! lock, so the next run takes the file over.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

/// A held lock; dropping it removes the lock file and releases the lock.
#[derive(Debug)]
pub struct ReportLock {
    path: PathBuf,
    file: File,
}

/// How many times to retry when the lock file was replaced under us (see
/// [`ReportLock::acquire`]); each retry follows a run that just finished.
const ATTEMPTS: u32 = 5;

/// The lock file of a report: `REPORT.lock`.
pub fn lock_path(report: &Path) -> PathBuf {
    let mut name = report.as_os_str().to_os_string();
    name.push(".lock");
    PathBuf::from(name)
}

impl ReportLock {
    /// Takes the lock of `report`, or says who holds it. The message names the
    /// other run (pid, start time, host) as its lock file tells them.
    pub fn acquire(report: &Path) -> Result<ReportLock, String> {
        let path = lock_path(report);
        for _ in 0..ATTEMPTS {
            let mut file = open(&path)?;
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => return Err(held_by_another(&path, &mut file)),
                Err(TryLockError::Error(error)) => {
                    return Err(format!("cannot lock {}: {error}", path.display()));
                }
            }
            // A run finishing removes the file while holding the lock; if we opened
            // it just before, we now hold a lock on a file no longer at `path`, and a
            // third run could lock a new one. Only a lock on the file at `path` counts.
            if !same_file(&file, &path) {
                continue;
            }
            write_holder(&mut file).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            return Ok(ReportLock { path, file });
        }
        Err(format!(
            "cannot lock {}: it keeps being replaced by other runs",
            path.display()
        ))
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ReportLock {
    fn drop(&mut self) {
        // Remove while still holding the lock, so no run can take it in between;
        // closing the file then releases the lock.
        let _ = std::fs::remove_file(&self.path);
        let _ = self.file.unlock();
    }
}

fn open(path: &Path) -> Result<File, String> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| {
            format!(
                "cannot create the lock file {}: {e} (choose another place with --report)",
                path.display()
            )
        })
}

/// What the lock file says, for the refusal.
fn held_by_another(path: &Path, file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.take(4096).read_to_string(&mut text);
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
            .map(|v| crate::term::clean(v.trim(), 200))
    };
    let holder = match (field("pid"), field("started_at"), field("host")) {
        (Some(pid), Some(started), Some(host)) => {
            format!("pid {pid}, started {started} on host {host}")
        }
        // Caught between the other run's lock and its write: nothing to name yet.
        _ => "details not yet written".to_string(),
    };
    format!(
        "another ecbulk run is writing this report ({holder}); wait for it to finish, or choose another --report \
         (lock file {})",
        path.display()
    )
}

/// Replaces the file's contents with who holds it.
fn write_holder(file: &mut File) -> io::Result<()> {
    let text = format!(
        "pid={}\nstarted_at={}\nhost={}\n",
        std::process::id(),
        jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        host_name()
    );
    file.set_len(0)?;
    file.rewind()?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(held), Ok(named)) => held.dev() == named.dev() && held.ino() == named.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_: &File, path: &Path) -> bool {
    // TODO: compare file ids on Windows; there a file cannot be removed while it is
    // open, so the race this guards against cannot happen in the same way.
    path.exists()
}

/// This machine's name, for telling runs on a shared folder apart.
fn host_name() -> String {
    // TODO: only Linux has the first file; elsewhere `HOSTNAME`, if the shell exports it.
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|name| name.trim().to_string())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_naming_the_first_then_freed() {
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("report.csv");
        let first = ReportLock::acquire(&report).unwrap();
        assert_eq!(first.path(), dir.path().join("report.csv.lock"));

        let refusal = ReportLock::acquire(&report).unwrap_err();
        assert!(
            refusal.contains(&format!("pid {}", std::process::id())),
            "{refusal}"
        );
        assert!(refusal.contains("host "), "{refusal}");

        drop(first);
        assert!(!lock_path(&report).exists(), "the lock file is removed");
        drop(ReportLock::acquire(&report).unwrap());
    }

    #[test]
    fn a_stale_lock_file_does_not_block() {
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("report.csv");
        std::fs::write(lock_path(&report), "pid=1\nstarted_at=then\nhost=gone\n").unwrap();
        let lock = ReportLock::acquire(&report).unwrap();
        let text = std::fs::read_to_string(lock.path()).unwrap();
        assert!(
            text.starts_with(&format!("pid={}\n", std::process::id())),
            "{text}"
        );
    }

    #[test]
    fn a_missing_folder_names_the_flag() {
        let error = ReportLock::acquire(Path::new("/no/such/folder/report.csv")).unwrap_err();
        assert!(error.contains("--report"), "{error}");
    }
}
