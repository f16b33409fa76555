//! Arguments of `ecbulk run`.

use crate::input::{InputOptions, InputSource};
use crate::settings::{DEFAULT_BASE_URL, Endpoint, ReportTarget, RunSettings};
use clap::Args;
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

    /// Do everything but send: rows are reported as `planned`.
    #[arg(long, env = "ECBULK_DRY_RUN")]
    pub dry_run: bool,

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
            Endpoint::BaseUrl(self.base_url.trim_end_matches('/').to_string())
        };
        let delimiter = self.delimiter.as_deref().map(parse_delimiter).transpose()?;

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
            endpoint,
            dry_run: self.dry_run,
            rate: (self.rate > 0.0).then_some(self.rate),
            burst: self.burst,
            concurrency: self.concurrency,
            max_attempts: self.max_attempts,
            timeout,
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

fn parse_delimiter(text: &str) -> Result<u8, String> {
    match text {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        _ if text.len() == 1 && text.is_ascii() && text != "\"" => Ok(text.as_bytes()[0]),
        _ => Err(format!(
            "--delimiter takes one ASCII character or 'tab', not '{text}'"
        )),
    }
}
