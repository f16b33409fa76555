//! Shared parts of the benches: the release binary, generated inputs, timed child
//! processes with their peak memory, medians, and wrk when it is installed.
//!
//! The machine these run on is small and shared, so every figure is a median of a
//! few runs and every target is judged as a ratio of two figures measured side by
//! side, never as an absolute time.

#![allow(dead_code)]

use std::fmt::Write as _;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The release `ecbulk` binary. Cargo builds it for benches into the same target
/// folder; when it is missing (a bench built alone), it is built here.
/// What every bench starts with: whether it runs in full (`cargo bench` passes
/// `--bench`; `cargo test --benches` does not, and then a bench makes one small
/// run as a smoke test), criterion with few samples (each is a whole run of the
/// binary), and a temporary folder. `None`, said on stderr, when there is no folder.
pub fn start(
    bench: &str,
    warm_up: Duration,
    measurement: Duration,
) -> Option<(bool, criterion::Criterion, tempfile::TempDir)> {
    let full = std::env::args().any(|arg| arg == "--bench");
    let criterion = criterion::Criterion::default()
        .sample_size(10)
        .warm_up_time(warm_up)
        .measurement_time(measurement)
        .configure_from_args();
    match tempfile::tempdir() {
        Ok(dir) => Some((full, criterion, dir)),
        Err(_) => {
            eprintln!("{bench}: cannot make a temp folder");
            None
        }
    }
}

pub fn binary() -> PathBuf {
    if let Some(path) = option_env!("CARGO_BIN_EXE_ecbulk") {
        return PathBuf::from(path);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let path = target.join("release").join("ecbulk");
    if !path.exists() {
        let built = Command::new(env!("CARGO"))
            .args(["build", "--release", "--bin", "ecbulk"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status();
        if !built.is_ok_and(|s| s.success()) {
            eprintln!("could not build the release binary; run `cargo build --release` first");
        }
    }
    path
}

/// `ecbulk` with no ECBULK_* or proxy variables leaking in from the caller.
pub fn ecbulk() -> Command {
    let mut command = Command::new(binary());
    for (name, _) in std::env::vars() {
        if name.starts_with("ECBULK_") || name.to_ascii_lowercase().ends_with("_proxy") {
            command.env_remove(name);
        }
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// A key that looks like DigiCert's (32 upper-case hex digits), distinct per account.
pub fn key_of(account: usize) -> String {
    // A cheap mix so that keys do not share long prefixes, as real keys do not.
    let mixed = (account as u64 ^ 0x9E37_79B9_7F4A_7C15).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    format!("{mixed:016X}{account:016X}")
}

/// Writes an input of `accounts` accounts with `per_account` rows of one address
/// each, with a label column. Row `r` belongs to account `r % accounts`, so each
/// account's rows lie far apart and grouping has real work to do. Returns the size.
pub fn write_input(path: &Path, accounts: usize, per_account: usize) -> io::Result<u64> {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    out.write_all(b"api_key,email,account\n")?;
    let keys: Vec<String> = (0..accounts).map(key_of).collect();
    let mut line = String::new();
    for row in 0..accounts * per_account {
        let account = row % accounts;
        let slot = row / accounts;
        line.clear();
        let _ = writeln!(
            line,
            "{},contact{slot}@account{account}.example.com,Account {account} Ltd",
            keys[account]
        );
        out.write_all(line.as_bytes())?;
    }
    out.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

/// What one child process took.
#[derive(Debug, Clone, Copy)]
pub struct ChildCost {
    /// Wall time from spawn to exit.
    pub wall: Duration,
    /// Peak resident memory, in bytes.
    pub max_rss: u64,
    /// Whether it exited with status 0.
    pub success: bool,
}

/// Runs `command` to its end and measures its wall time and peak memory. The child is
/// reaped with `wait4`, whose resource usage is that one child's alone.
pub fn measure(command: &mut Command) -> io::Result<ChildCost> {
    let started = Instant::now();
    let child = command.stderr(Stdio::null()).spawn()?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own unreaped child; both pointers are to live locals.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = started.elapsed();
    // The child was reaped by wait4 above; `Child` itself does nothing when dropped.
    drop(child);
    if reaped != pid {
        return Err(io::Error::last_os_error());
    }
    Ok(ChildCost {
        wall,
        // Linux reports ru_maxrss in KiB.
        max_rss: usage.ru_maxrss.max(0) as u64 * 1024,
        success: libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
    })
}

/// The median of some durations (the mean of the middle two for an even count).
pub fn median(mut values: Vec<Duration>) -> Duration {
    if values.is_empty() {
        return Duration::ZERO;
    }
    values.sort();
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2
    }
}

/// The median of some numbers.
pub fn median_f64(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// Prints one judged target: `PASS` or `MISS`, the figure and what it must reach.
pub fn verdict(name: &str, passed: bool, detail: &str) {
    let mark = if passed { "PASS" } else { "MISS" };
    println!("  [{mark}] {name}: {detail}");
}

/// Prints a section header for the figures a bench adds to criterion's own output.
pub fn heading(title: &str) {
    println!("\n== {title} (median figures; 2-core shared machine) ==");
}

/// Whether `wrk` can be run.
pub fn has_wrk() -> bool {
    Command::new("wrk")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Requests per second `wrk` reaches with `connections` connections for `seconds`,
/// sending the same PUT the runner sends. `None` when wrk is missing or fails.
pub fn wrk_rate(url: &str, connections: usize, seconds: u64, dir: &Path) -> Option<f64> {
    let script = dir.join("put.lua");
    let body = r#"{"emergency_contact_emails":["contact0@account0.example.com"]}"#;
    let lua = format!(
        "wrk.method = \"PUT\"\n\
         wrk.headers[\"Content-Type\"] = \"application/json\"\n\
         wrk.headers[\"X-PARTNER-APIKEY\"] = \"{}\"\n\
         wrk.body = '{body}'\n",
        key_of(0)
    );
    std::fs::write(&script, lua).ok()?;
    let threads = connections.min(2);
    let output = Command::new("wrk")
        .args(["-t", &threads.to_string(), "-c", &connections.to_string()])
        .args(["-d", &format!("{seconds}s"), "-s"])
        .arg(&script)
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .find_map(|line| line.strip_prefix("Requests/sec:"))
        .and_then(|rate| rate.trim().parse().ok())
}

/// The number of cores, for the figures' heading.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}
