//! Arguments of `ecbulk run`.

use crate::input::{InputOptions, InputSource};
use crate::send::http::is_loopback_host;
use crate::settings::{ColorChoice, DEFAULT_BASE_URL, Endpoint, ReportTarget, RunSettings};
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

/// `ecbulk run INPUT`: send every account's addresses and write the report.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The CSV of API keys and emails; `-` reads standard input.
    pub input: String,

    /// Report CSV path; `-` writes to stdout. Default: ecbulk-report-<UTC time>.csv here.
    #[arg(long, value_name = "PATH", env = "ECBULK_REPORT")]
    pub report: Option<String>,

    /// An earlier run's report or .partial journal: addresses it records as added are
    /// reported `skipped` and not sent again. It may be the same file as --report.
    #[arg(long, value_name = "PATH", env = "ECBULK_RESUME")]
    pub resume: Option<PathBuf>,

    /// Do everything but send: rows are reported as `planned`.
    #[arg(long, env = "ECBULK_DRY_RUN")]
    pub dry_run: bool,

    /// With --dry-run: one read-only GET per account; reports refused keys (401/403) and
    /// addresses the account already holds (`present`). Never sends a PUT.
    #[arg(long, env = "ECBULK_CHECK_KEYS")]
    pub check_keys: bool,

    /// Also write the outcome as JSON to PATH (counts, exit code, times), for monitors.
    #[arg(long, value_name = "PATH", env = "ECBULK_SUMMARY_JSON")]
    pub summary_json: Option<PathBuf>,

    /// Send to a sandbox started inside this process instead of DigiCert.
    #[arg(long, conflicts_with = "base_url", env = "ECBULK_SANDBOX")]
    pub sandbox: bool,

    /// API base URL.
    #[arg(long, value_name = "URL", default_value = DEFAULT_BASE_URL, env = "ECBULK_BASE_URL")]
    pub base_url: String,

    /// Requests per second across all workers; 0 means no global limit.
    #[arg(
        long,
        default_value_t = 5.0,
        value_name = "PER_SEC",
        env = "ECBULK_RATE"
    )]
    pub rate: f64,

    /// Requests the global limiter lets through at once.
    #[arg(long, default_value_t = 1, value_name = "N", env = "ECBULK_BURST")]
    pub burst: u32,

    /// Worker threads sending requests.
    #[arg(
        long,
        default_value_t = 8,
        value_name = "N",
        env = "ECBULK_CONCURRENCY"
    )]
    pub concurrency: usize,

    /// Tries in all for one request, the first included.
    #[arg(
        long,
        default_value_t = 5,
        value_name = "N",
        env = "ECBULK_MAX_ATTEMPTS"
    )]
    pub max_attempts: u32,

    /// Bound on each request, from connecting to the last byte of the answer.
    #[arg(
        long,
        default_value_t = 30.0,
        value_name = "SECS",
        env = "ECBULK_TIMEOUT"
    )]
    pub timeout: f64,

    /// Header of the key column (default: api_key, apikey, key, partner_api_key).
    #[arg(long, value_name = "HEADER", env = "ECBULK_KEY_COLUMN")]
    pub key_column: Option<String>,

    /// Header of the email column (default: email, emails, emergency_contact_emails, ...).
    #[arg(long, value_name = "HEADER", env = "ECBULK_EMAIL_COLUMN")]
    pub email_column: Option<String>,

    /// Header of the label column (default: account, account_name, name, subaccount, label).
    #[arg(long, value_name = "HEADER", env = "ECBULK_ACCOUNT_COLUMN")]
    pub account_column: Option<String>,

    /// Field delimiter: a single character, or `tab`. Default: sniffed from the header.
    #[arg(long, value_name = "CHAR", env = "ECBULK_DELIMITER")]
    pub delimiter: Option<String>,

    /// Encoding of an input without a byte-order mark: any name encoding_rs knows
    /// (windows-1252, iso-8859-15, utf-16le, ...). Default: UTF-8.
    #[arg(long, value_name = "NAME", env = "ECBULK_ENCODING")]
    pub encoding: Option<String>,

    /// Per-key rolling limits never to exceed, as requests/period pairs; `off` for none.
    #[arg(
        long,
        value_name = "SPEC",
        default_value = crate::limits::DIGICERT_SPEC,
        env = "ECBULK_KEY_LIMITS"
    )]
    pub key_limits: String,

    /// Split an account's addresses over requests of at most N addresses (default: no limit).
    #[arg(long, value_name = "N", env = "ECBULK_MAX_EMAILS_PER_REQUEST")]
    pub max_emails_per_request: Option<usize>,

    /// The longest Retry-After to honour; a longer one fails the request instead of stalling.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 300,
        env = "ECBULK_MAX_RETRY_WAIT"
    )]
    pub max_retry_wait: u64,

    /// A PEM file of CA certificates to trust besides the system's (TLS inspection).
    #[arg(long, value_name = "FILE", env = "ECBULK_CA_CERT")]
    pub ca_cert: Option<PathBuf>,

    /// Off a terminal, print a plain progress line every SECS; 0 for none.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 10.0,
        env = "ECBULK_PROGRESS_INTERVAL"
    )]
    pub progress_interval: f64,

    /// Colour on stderr: auto (a terminal, and NO_COLOR unset or empty), always or never.
    #[arg(
        long,
        value_name = "WHEN",
        value_enum,
        default_value_t = ColorWhen::Auto,
        env = "ECBULK_COLOR"
    )]
    pub color: ColorWhen,

    /// Print a line per request on stderr (time, account, masked key, status, attempt, latency).
    #[arg(short, long, conflicts_with = "quiet", env = "ECBULK_VERBOSE")]
    pub verbose: bool,

    /// Print only errors.
    #[arg(short, long, env = "ECBULK_QUIET")]
    pub quiet: bool,
}

/// `--color` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    /// Colour when stderr is a terminal and `NO_COLOR` is unset or empty.
    Auto,
    /// Colour even when stderr is a file or a pipe.
    Always,
    /// No colour.
    Never,
}

impl RunArgs {
    /// Checks the arguments against each other and makes the run's settings.
    /// The message names the flag that is wrong.
    pub fn into_settings(self) -> Result<RunSettings, String> {
        let input = match self.input.as_str() {
            "-" => InputSource::Stdin,
            path => InputSource::Path(PathBuf::from(path)),
        };
        let report = match self.report.as_deref() {
            Some("-") => ReportTarget::Stdout,
            Some(path) => ReportTarget::Path(PathBuf::from(path)),
            None => ReportTarget::Path(default_report_name(jiff::Timestamp::now())),
        };
        let endpoint = if self.sandbox {
            Endpoint::InProcessSandbox
        } else {
            Endpoint::BaseUrl(check_base_url(&self.base_url)?)
        };
        let delimiter = self.delimiter.as_deref().map(parse_delimiter).transpose()?;
        if self.check_keys && !self.dry_run {
            return Err("--check-keys audits without sending and needs --dry-run; \
                 add --dry-run, or drop --check-keys to send"
                .to_string());
        }
        let progress_interval = parse_interval(self.progress_interval)?;

        if !(self.rate.is_finite() && self.rate >= 0.0) {
            return Err(format!(
                "--rate must be 0 or a positive number, not {}",
                self.rate
            ));
        }
        if self.burst == 0 {
            return Err("--burst must be at least 1".to_string());
        }
        if self.concurrency == 0 {
            return Err("--concurrency must be at least 1".to_string());
        }
        if self.max_attempts == 0 {
            return Err("--max-attempts must be at least 1".to_string());
        }
        let timeout = Duration::try_from_secs_f64(self.timeout)
            .ok()
            .filter(|t| !t.is_zero())
            .ok_or_else(|| {
                format!(
                    "--timeout must be a positive number of seconds, not {}",
                    self.timeout
                )
            })?;

        Ok(RunSettings {
            input,
            input_options: InputOptions {
                delimiter,
                key_column: self.key_column,
                email_column: self.email_column,
                account_column: self.account_column,
                encoding: self.encoding,
            },
            report,
            resume: self.resume,
            endpoint,
            dry_run: self.dry_run,
            check_keys: self.check_keys,
            summary_json: self.summary_json,
            rate: (self.rate > 0.0).then_some(self.rate),
            burst: self.burst,
            concurrency: self.concurrency,
            max_attempts: self.max_attempts,
            timeout,
            key_limits: self
                .key_limits
                .parse()
                .map_err(|e| format!("--key-limits: {e}"))?,
            max_emails_per_request: match self.max_emails_per_request {
                Some(0) => return Err("--max-emails-per-request must be at least 1".to_string()),
                n => n,
            },
            max_retry_wait: Duration::from_secs(self.max_retry_wait),
            ca_cert: self.ca_cert,
            progress_interval,
            color: match self.color {
                ColorWhen::Auto => ColorChoice::Auto,
                ColorWhen::Always => ColorChoice::Always,
                ColorWhen::Never => ColorChoice::Never,
            },
            verbose: self.verbose,
            quiet: self.quiet,
        })
    }
}

/// `ecbulk-report-20261203T123456Z.csv`: sortable, and free of `:` for Windows shares.
fn default_report_name(now: jiff::Timestamp) -> PathBuf {
    PathBuf::from(format!(
        "ecbulk-report-{}.csv",
        now.strftime("%Y%m%dT%H%M%SZ")
    ))
}

/// The base URL without a trailing slash. It must be `https://`, since every request
/// carries an API key; plain `http://` is allowed only to a loopback host (a sandbox).
fn check_base_url(url: &str) -> Result<String, String> {
    let given = url.trim();
    let url = given.trim_end_matches('/');
    // Without its slashes `https://` would parse as a host called `https`, and the
    // parser calls `https://` itself an "empty string".
    if given
        .split_once("://")
        .is_some_and(|(_, rest)| rest.is_empty() || rest.starts_with('/'))
    {
        return Err(format!("--base-url '{given}' names no host"));
    }
    let uri: ureq::http::Uri = given
        .parse()
        .map_err(|e| format!("--base-url '{given}' is not a URL: {e}"))?;
    let host = uri.host().unwrap_or("");
    if host.is_empty() {
        return Err(format!("--base-url '{given}' names no host"));
    }
    match uri.scheme_str() {
        Some("https") => Ok(url.to_string()),
        Some("http") if is_loopback_host(host) => Ok(url.to_string()),
        Some("http") => Err(format!(
            "--base-url '{url}' is plain http: the API key would cross the network unencrypted; \
             use https:// (http is allowed only for loopback hosts such as 127.0.0.1)"
        )),
        _ => Err(format!("--base-url '{url}' must start with https://")),
    }
}

/// `--progress-interval`: 0 turns the lines off; anything else must be a positive
/// number of seconds.
fn parse_interval(seconds: f64) -> Result<Option<Duration>, String> {
    if seconds == 0.0 {
        return Ok(None);
    }
    Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|d| !d.is_zero())
        .map(Some)
        .ok_or_else(|| {
            format!("--progress-interval must be 0 or a positive number of seconds, not {seconds}")
        })
}

fn parse_delimiter(text: &str) -> Result<u8, String> {
    match text {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        _ if text.len() == 1 && text.is_ascii() && text != "\"" => Ok(text.as_bytes()[0]),
        _ => Err(format!(
            "--delimiter takes one ASCII character or 'tab', not '{text}'"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::{CommandFactory, Parser};

    fn settings(args: &[&str]) -> Result<RunSettings, String> {
        let argv = ["ecbulk", "run", "in.csv"].iter().chain(args);
        let cli = Cli::try_parse_from(argv).map_err(|e| e.to_string())?;
        match cli.command {
            Command::Run(args) => args.into_settings(),
            _ => unreachable!("parsed as run"),
        }
    }

    #[test]
    fn every_run_option_can_come_from_the_environment() {
        let command = Cli::command();
        let run = command.find_subcommand("run").expect("a run subcommand");
        for arg in run.get_arguments() {
            let id = arg.get_id().as_str();
            if arg.is_positional() || id == "help" || id == "version" {
                continue;
            }
            let env = arg.get_env().map(|e| e.to_string_lossy().into_owned());
            let want = format!("ECBULK_{}", id.to_ascii_uppercase());
            assert_eq!(env.as_deref(), Some(want.as_str()), "--{id}");
            assert!(
                !arg.is_hide_env_set(),
                "--{id} hides its variable from --help"
            );
        }
    }

    #[test]
    fn check_keys_needs_a_dry_run() {
        let error = settings(&["--check-keys"]).unwrap_err();
        assert!(error.contains("--dry-run"), "{error}");
        assert!(settings(&["--check-keys", "--dry-run"]).unwrap().check_keys);
    }

    #[test]
    fn the_progress_interval_defaults_to_ten_seconds_and_zero_turns_it_off() {
        type Case<'a> = (&'a [&'a str], Result<Option<Duration>, &'a str>);
        let cases: [Case; 5] = [
            (&[], Ok(Some(Duration::from_secs(10)))),
            (&["--progress-interval", "0"], Ok(None)),
            (
                &["--progress-interval", "0.5"],
                Ok(Some(Duration::from_millis(500))),
            ),
            (&["--progress-interval=-1"], Err("--progress-interval")),
            (&["--progress-interval", "NaN"], Err("--progress-interval")),
        ];
        for (args, want) in cases {
            match (settings(args).map(|s| s.progress_interval), want) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{args:?}"),
                (Err(got), Err(want)) => assert!(got.contains(want), "{args:?}: {got}"),
                (got, want) => panic!("{args:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn colour_is_automatic_unless_asked() {
        assert_eq!(settings(&[]).unwrap().color, ColorChoice::Auto);
        assert_eq!(
            settings(&["--color", "never"]).unwrap().color,
            ColorChoice::Never
        );
        assert_eq!(
            settings(&["--color=always"]).unwrap().color,
            ColorChoice::Always
        );
        assert!(settings(&["--color", "sometimes"]).is_err());
    }

    #[test]
    fn base_urls_must_be_https_unless_loopback() {
        let cases = [
            (
                "https://www.digicert.com/partner-subscription/api/v1/",
                Ok("https://www.digicert.com/partner-subscription/api/v1"),
            ),
            ("http://127.0.0.1:8080/api", Ok("http://127.0.0.1:8080/api")),
            ("http://127.9.9.9/api", Ok("http://127.9.9.9/api")),
            ("http://localhost:1/x", Ok("http://localhost:1/x")),
            ("http://[::1]:9/x", Ok("http://[::1]:9/x")),
            ("http://example.com/api", Err("plain http")),
            ("http://10.0.0.1/api", Err("plain http")),
            ("http://127.0.0.1.evil.com/api", Err("plain http")),
            ("ftp://example.com", Err("must start with https://")),
            ("www.digicert.com", Err("must start with https://")),
            ("https://", Err("names no host")),
            ("https:///partner-subscription", Err("names no host")),
        ];
        for (url, expected) in cases {
            match (check_base_url(url), expected) {
                (Ok(got), Ok(want)) => assert_eq!(got, want),
                (Err(got), Err(want)) => assert!(got.contains(want), "{url}: {got}"),
                (got, want) => panic!("{url}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn report_names_sort_by_time() {
        let t: jiff::Timestamp = "2026-12-03T12:34:56Z".parse().unwrap();
        assert_eq!(
            default_report_name(t),
            PathBuf::from("ecbulk-report-20261203T123456Z.csv")
        );
    }
}
