//! The plain settings of a run, made once from the command line. Every field says
//! what it means and its default; nothing here knows about clap.

use crate::input::{InputOptions, InputSource};
use crate::limits::WindowSpec;
pub use crate::term::ColorChoice;
use std::path::PathBuf;
use std::time::Duration;

/// DigiCert's production base URL.
pub const DEFAULT_BASE_URL: &str = "https://www.digicert.com/partner-subscription/api/v1";

/// Where the report goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportTarget {
    /// A file, written whole or not at all.
    Path(PathBuf),
    /// Standard output (`--report -`).
    Stdout,
}

/// Where requests go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A base URL such as [`DEFAULT_BASE_URL`].
    BaseUrl(String),
    /// A sandbox started inside this process (`--sandbox`).
    InProcessSandbox,
}

/// Everything `ecbulk run` needs to know.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// The CSV to read.
    pub input: InputSource,
    /// How to read it.
    pub input_options: InputOptions,
    /// Where the report goes; default `ecbulk-report-<UTC time>.csv` in the current folder.
    pub report: ReportTarget,
    /// An earlier report or journal (`--resume`) whose `added` addresses are reported
    /// `skipped` and not sent again; default none. It may be the report this run writes.
    pub resume: Option<PathBuf>,
    /// Where requests go; default DigiCert's production API.
    pub endpoint: Endpoint,
    /// Plan and report, but send nothing; default off.
    pub dry_run: bool,
    /// With `dry_run`: one read-only GET per account, to see whether its key is
    /// accepted and which addresses it already holds (`--check-keys`); default off.
    pub check_keys: bool,
    /// Where to write the run's outcome as JSON for monitors (`--summary-json`);
    /// default nowhere.
    pub summary_json: Option<PathBuf>,
    /// Requests per second across all workers; `None` for no global limit. Default 5.
    pub rate: Option<f64>,
    /// Requests the global limiter lets through at once; default 1.
    pub burst: u32,
    /// Worker threads sending requests; default 8.
    pub concurrency: usize,
    /// Tries in all for one request, first included; default 5.
    pub max_attempts: u32,
    /// Bound on one request, connect to last byte; default 30 s.
    pub timeout: Duration,
    /// Per-key rolling windows the run never exceeds; default DigiCert's `100/5s,1000/300s`.
    pub key_limits: WindowSpec,
    /// At most this many addresses in one request; `None` (the default) for no limit.
    pub max_emails_per_request: Option<usize>,
    /// The longest `Retry-After` honoured; longer fails the request. Default 300 s.
    pub max_retry_wait: Duration,
    /// A PEM file of CAs trusted besides the system's store; default none.
    pub ca_cert: Option<PathBuf>,
    /// Off a terminal, how often a plain progress line is printed; `None` for never.
    /// Default 10 s.
    pub progress_interval: Option<Duration>,
    /// Whether stderr gets colour (`--color`); default: when it is a terminal and
    /// `NO_COLOR` is unset.
    pub color: ColorChoice,
    /// Print one line per request on stderr (`-v`); default off.
    pub verbose: bool,
    /// Print only errors (`-q`); default off.
    pub quiet: bool,
}
