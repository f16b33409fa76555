//! A local stand-in for DigiCert's emergency-emails endpoint, served on 127.0.0.1.
//! It checks what the real API checks, keeps each key's list of addresses, and can
//! play DigiCert's per-key limits and the faults a real migration meets.

use crate::limits::WindowSpec;
use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

/// How a sandbox behaves. `Default` is a well-behaved server with DigiCert's limits.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Port on 127.0.0.1; default 0, a free one.
    pub port: u16,
    /// Per-key rolling windows answered with 429; default DigiCert's `100/5s,1000/300s`.
    pub limits: WindowSpec,
    /// `Retry-After` seconds sent with every 429 and 503; default none.
    pub retry_after: Option<u64>,
    /// Seed for the fault dice, so that a run can be repeated; default 0.
    pub seed: u64,
    /// Share of requests answered 503; default 0.
    pub fail_rate: f64,
    /// Share of requests whose connection is closed with no answer; default 0.
    pub reset_rate: f64,
    /// Delay added to every answer; default none.
    pub latency: Duration,
    /// Share of requests answered only after `stall`; default 0.
    pub stall_rate: f64,
    /// How late a stalled answer comes; default 60 s.
    pub stall: Duration,
    /// When set, only these keys are known; others get 401. Default: every key is known.
    pub keys: Option<HashSet<String>>,
    /// JSON-lines request log (time, key_id, status); default none.
    pub log: Option<PathBuf>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            port: 0,
            limits: WindowSpec::digicert(),
            retry_after: None,
            seed: 0,
            fail_rate: 0.0,
            reset_rate: 0.0,
            latency: Duration::ZERO,
            stall_rate: 0.0,
            stall: Duration::from_secs(60),
            keys: None,
            log: None,
        }
    }
}

/// A running sandbox; it stops when dropped.
pub struct Sandbox {
    // TODO: filled in by the sandbox server.
}

impl Sandbox {
    /// Binds 127.0.0.1:`port` and starts serving in the background.
    pub fn start(config: SandboxConfig) -> std::io::Result<Sandbox> {
        let _ = config;
        todo!("sandbox server")
    }

    /// The base URL to give the runner, e.g. `http://127.0.0.1:41234/partner-subscription/api/v1`.
    pub fn base_url(&self) -> String {
        todo!("sandbox server")
    }

    /// The addresses the sandbox holds for a key, in the order they were added.
    pub fn emails_of(&self, key: &str) -> Vec<String> {
        let _ = key;
        todo!("sandbox server")
    }
}
