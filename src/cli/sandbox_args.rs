//! Arguments of `ecbulk sandbox`. Every flag also reads `ECBULK_SANDBOX_<NAME>`.

use crate::key::ApiKey;
use crate::limits::WindowSpec;
use crate::sandbox::SandboxConfig;
use clap::Args;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `ecbulk sandbox`: serve a stand-in for the endpoint on 127.0.0.1.
#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Port on 127.0.0.1; 0 picks a free one. The base URL is the first line of stdout.
    #[arg(long, default_value_t = 0, env = "ECBULK_SANDBOX_PORT")]
    pub port: u16,

    /// Per-key rolling windows answered with 429, like `100/5s,1000/300s`; `off` for none.
    #[arg(
        long,
        value_name = "SPEC",
        default_value = crate::limits::DIGICERT_SPEC,
        value_parser = parse_limits,
        env = "ECBULK_SANDBOX_LIMITS"
    )]
    pub limits: WindowSpec,

    /// Send `Retry-After: SECS` with every 429 and 503 (DigiCert promises none).
    #[arg(long, value_name = "SECS", env = "ECBULK_SANDBOX_RETRY_AFTER")]
    pub retry_after: Option<u64>,

    /// Seed of the fault dice: the same seed and request order give the same faults.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        env = "ECBULK_SANDBOX_SEED"
    )]
    pub seed: u64,

    /// Share of requests answered 503, from 0 to 1.
    #[arg(
        long,
        value_name = "P",
        default_value_t = 0.0,
        value_parser = parse_rate,
        env = "ECBULK_SANDBOX_FAIL_RATE"
    )]
    pub fail_rate: f64,

    /// Share of requests whose connection is closed with no answer, from 0 to 1.
    #[arg(
        long,
        value_name = "P",
        default_value_t = 0.0,
        value_parser = parse_rate,
        env = "ECBULK_SANDBOX_RESET_RATE"
    )]
    pub reset_rate: f64,

    /// Milliseconds added to every answer.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        env = "ECBULK_SANDBOX_LATENCY_MS"
    )]
    pub latency_ms: u64,

    /// Share of requests answered only after --stall-ms, from 0 to 1.
    #[arg(
        long,
        value_name = "P",
        default_value_t = 0.0,
        value_parser = parse_rate,
        env = "ECBULK_SANDBOX_STALL_RATE"
    )]
    pub stall_rate: f64,

    /// How late a stalled answer comes, in milliseconds.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 60_000,
        env = "ECBULK_SANDBOX_STALL_MS"
    )]
    pub stall_ms: u64,

    /// Know only the keys in FILE (one a line; blank lines and lines starting with `#`
    /// are skipped); others get 401. Default: every key is known.
    #[arg(long, value_name = "FILE", env = "ECBULK_SANDBOX_KEYS")]
    pub keys: Option<PathBuf>,

    /// Append one JSON line per request to FILE (time, method, key_id, status, emails).
    #[arg(long, value_name = "FILE", env = "ECBULK_SANDBOX_LOG")]
    pub log: Option<PathBuf>,
}

impl SandboxArgs {
    /// The plain configuration these arguments describe; reads the `--keys` file.
    pub fn into_config(self) -> Result<SandboxConfig, String> {
        let keys = match &self.keys {
            Some(path) => Some(read_keys(path)?),
            None => None,
        };
        Ok(SandboxConfig {
            port: self.port,
            limits: self.limits,
            retry_after: self.retry_after,
            seed: self.seed,
            fail_rate: self.fail_rate,
            reset_rate: self.reset_rate,
            latency: Duration::from_millis(self.latency_ms),
            stall_rate: self.stall_rate,
            stall: Duration::from_millis(self.stall_ms),
            keys,
            log: self.log,
        })
    }
}

fn parse_limits(text: &str) -> Result<WindowSpec, String> {
    text.parse()
}

fn parse_rate(text: &str) -> Result<f64, String> {
    let rate: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a number; give a share from 0 to 1, like 0.05"))?;
    if !(0.0..=1.0).contains(&rate) {
        return Err(format!("{rate} is outside 0 to 1; give a share, like 0.05"));
    }
    Ok(rate)
}

/// Reads a `--keys` file. Messages name the line, never the key on it.
fn read_keys(path: &Path) -> Result<HashSet<String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("--keys {}: cannot read: {error}", path.display()))?;
    parse_keys(&text).map_err(|message| format!("--keys {}: {message}", path.display()))
}

fn parse_keys(text: &str) -> Result<HashSet<String>, String> {
    // A file saved by Notepad may start with a byte-order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut keys = HashSet::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let key = ApiKey::parse(line).map_err(|error| format!("line {}: {error}", index + 1))?;
        keys.insert(key.expose().to_owned());
    }
    if keys.is_empty() {
        return Err("holds no keys; every request would get 401".into());
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn parse(args: &[&str]) -> Result<SandboxConfig, String> {
        let argv = ["ecbulk", "sandbox"].iter().chain(args);
        let cli = Cli::try_parse_from(argv).map_err(|e| e.to_string())?;
        match cli.command {
            Command::Sandbox(args) => args.into_config(),
            _ => unreachable!("parsed as sandbox"),
        }
    }

    #[test]
    fn defaults_play_a_well_behaved_digicert() {
        let config = parse(&[]).unwrap();
        assert_eq!(config.limits, WindowSpec::digicert());
        assert_eq!(config.stall, Duration::from_secs(60));
        assert_eq!(
            (config.fail_rate, config.reset_rate, config.stall_rate),
            (0.0, 0.0, 0.0)
        );
        assert!(config.keys.is_none() && config.log.is_none() && config.retry_after.is_none());
    }

    #[test]
    fn every_flag_reaches_the_config() {
        let config = parse(&[
            "--limits",
            "3/1s",
            "--retry-after",
            "2",
            "--seed",
            "9",
            "--fail-rate",
            "0.1",
            "--reset-rate",
            "0.2",
            "--latency-ms",
            "15",
            "--stall-rate",
            "1",
            "--stall-ms",
            "500",
            "--log",
            "requests.jsonl",
        ])
        .unwrap();
        assert_eq!(config.limits.to_string(), "3/1s");
        assert_eq!(config.retry_after, Some(2));
        assert_eq!(config.seed, 9);
        assert_eq!(
            (config.fail_rate, config.reset_rate, config.stall_rate),
            (0.1, 0.2, 1.0)
        );
        assert_eq!(config.latency, Duration::from_millis(15));
        assert_eq!(config.stall, Duration::from_millis(500));
        assert_eq!(config.log, Some(PathBuf::from("requests.jsonl")));
        assert!(parse(&["--limits", "off"]).unwrap().limits.is_unlimited());
    }

    #[test]
    fn bad_values_are_refused_naming_the_flag() {
        let cases: &[(&[&str], &str)] = &[
            (&["--fail-rate", "1.5"], "--fail-rate"),
            (&["--reset-rate=-0.1"], "--reset-rate"),
            (&["--stall-rate", "NaN"], "--stall-rate"),
            (&["--stall-rate", "often"], "--stall-rate"),
            (&["--limits", "100/5parsecs"], "--limits"),
            (&["--latency-ms=-5"], "--latency-ms"),
            (&["--keys", "/no/such/keys.txt"], "--keys /no/such/keys.txt"),
        ];
        for (args, flag) in cases {
            let error = parse(args).expect_err(&format!("{args:?}"));
            assert!(error.contains(flag), "{args:?}: {error}");
        }
    }

    #[test]
    fn keys_files_skip_comments_and_name_bad_lines_without_the_key() {
        let keys =
            parse_keys("\u{feff}# staging keys\n\nkey-one\r\n  key-two  \n#key-three\n").unwrap();
        let expected: HashSet<String> = ["key-one".into(), "key-two".into()].into();
        assert_eq!(keys, expected);

        let error = parse_keys("good-key\nsecret with-space\n").unwrap_err();
        assert!(error.starts_with("line 2:"), "{error}");
        assert!(!error.contains("secret"), "{error}");
        assert!(
            parse_keys("# only comments\n\n")
                .unwrap_err()
                .contains("no keys")
        );
    }
}
