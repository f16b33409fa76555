//! A local stand-in for DigiCert's emergency-emails endpoint, served on 127.0.0.1.
//! It checks what the real API checks, keeps each key's list of addresses, and can
//! play DigiCert's per-key limits and the faults a real migration meets.

mod faults;
mod handler;
mod log;
mod server;
mod store;
mod windows;

pub use handler::{BASE_PATH, EMAILS_ROUTE, Fault, MAX_BODY};
pub use log::LoggedRequest;

use crate::limits::WindowSpec;
use faults::FaultRates;
use handler::{Handler, Rules};
use log::RequestLog;
use server::Shared;
use std::collections::HashSet;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Runtime;

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

impl SandboxConfig {
    /// Checks what the types cannot: every rate is a probability from 0 to 1.
    pub fn validate(&self) -> Result<(), String> {
        for (name, rate) in [
            ("fail_rate", self.fail_rate),
            ("reset_rate", self.reset_rate),
            ("stall_rate", self.stall_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("{name} is {rate}; it must be from 0 to 1"));
            }
        }
        Ok(())
    }

    /// One line saying what the sandbox plays, for a person starting it. It names no
    /// key, only how many are known.
    pub fn describe(&self) -> String {
        let mut faults = Vec::new();
        for (name, rate) in [
            ("503", self.fail_rate),
            ("reset", self.reset_rate),
            ("stall", self.stall_rate),
        ] {
            if rate > 0.0 {
                faults.push(format!("{name} at {rate}"));
            }
        }
        let faults = if faults.is_empty() {
            "none".to_owned()
        } else {
            format!("{} (seed {})", faults.join(", "), self.seed)
        };
        let mut line = format!("sandbox: limits {} per key; faults: {faults}", self.limits);
        if self.stall_rate > 0.0 {
            line += &format!("; stalls last {} ms", self.stall.as_millis());
        }
        if !self.latency.is_zero() {
            line += &format!("; latency {} ms", self.latency.as_millis());
        }
        match &self.keys {
            Some(keys) => line += &format!("; keys: {} known", keys.len()),
            None => line += "; keys: any",
        }
        if let Some(seconds) = self.retry_after {
            line += &format!("; Retry-After {seconds} s");
        }
        line
    }
}

/// A running sandbox; it stops when dropped, or with [`Sandbox::shutdown`].
///
/// It serves on its own small tokio runtime (two worker threads), so it can be used
/// from plain synchronous code and tests.
pub struct Sandbox {
    addr: SocketAddr,
    shared: Arc<Shared>,
    runtime: Option<Runtime>,
}

impl Sandbox {
    /// Binds 127.0.0.1:`port` and starts serving in the background. Fails when the
    /// port is taken, the log cannot be opened, or a rate is outside 0 to 1.
    pub fn start(config: SandboxConfig) -> io::Result<Sandbox> {
        config
            .validate()
            .map_err(|message| io::Error::new(io::ErrorKind::InvalidInput, message))?;
        let log = RequestLog::open(config.log.as_deref())?;
        let shared = Arc::new(Shared {
            handler: Handler::new(Rules {
                keys: config.keys,
                limits: config.limits,
                rates: FaultRates {
                    fail: config.fail_rate,
                    reset: config.reset_rate,
                    stall: config.stall_rate,
                },
                seed: config.seed,
                retry_after: config.retry_after,
            }),
            log,
            latency: config.latency,
            stall: config.stall,
        });

        // Bound here, not in the runtime, so that a taken port fails `start` itself.
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, config.port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("ecbulk-sandbox")
            .enable_io()
            .enable_time()
            .build()?;
        let listener = {
            let _entered = runtime.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        runtime.spawn(server::accept_loop(listener, Arc::clone(&shared)));

        Ok(Sandbox {
            addr,
            shared,
            runtime: Some(runtime),
        })
    }

    /// The base URL to give the runner, e.g. `http://127.0.0.1:41234/partner-subscription/api/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}{BASE_PATH}", self.addr)
    }

    /// The address the sandbox listens on (always 127.0.0.1).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The addresses the sandbox holds for a key, in the order they were added.
    pub fn emails_of(&self, key: &str) -> Vec<String> {
        self.shared.handler.emails_of(key)
    }

    /// Gives `key` addresses before a test starts, as if an earlier run had added
    /// them. They are deduplicated like a PUT's, but not checked and not logged.
    pub fn preload<S: AsRef<str>>(&self, key: &str, emails: &[S]) {
        self.shared.handler.preload(key, emails);
    }

    /// Every request that reached the sandbox so far, oldest first (the newest
    /// 200 000 at most). A request is recorded when its answer is
    /// decided, before any latency or stall.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.shared.log.records()
    }

    /// Stops serving: the port is closed and open connections, stalled ones
    /// included, are dropped. Dropping the sandbox does the same.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let Some(runtime) = self.runtime.take() else {
            return;
        };
        // Async tasks are dropped at their next await, so this is prompt; the bound
        // only matters for blocking work, of which there is none. Inside another
        // runtime a blocking wait is not allowed, so there the threads stop unawaited.
        if tokio::runtime::Handle::try_current().is_ok() {
            runtime.shutdown_background();
        } else {
            runtime.shutdown_timeout(Duration::from_secs(1));
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.stop();
    }
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox").field("addr", &self.addr).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_start_line_says_what_is_played_and_no_key() {
        assert_eq!(
            SandboxConfig::default().describe(),
            "sandbox: limits 100/5s,1000/300s per key; faults: none; keys: any"
        );
        let config = SandboxConfig {
            limits: WindowSpec::default(),
            fail_rate: 0.3,
            stall_rate: 0.05,
            seed: 9,
            latency: Duration::from_millis(20),
            keys: Some(["very-secret-key-1".to_owned()].into()),
            retry_after: Some(2),
            ..SandboxConfig::default()
        };
        assert_eq!(
            config.describe(),
            "sandbox: limits off per key; faults: 503 at 0.3, stall at 0.05 (seed 9); \
             stalls last 60000 ms; latency 20 ms; keys: 1 known; Retry-After 2 s"
        );
    }

    #[test]
    fn rates_outside_zero_to_one_are_refused() {
        for rate in [-0.1, 1.01, f64::NAN] {
            let config = SandboxConfig {
                reset_rate: rate,
                ..SandboxConfig::default()
            };
            assert!(
                config.validate().unwrap_err().contains("reset_rate"),
                "{rate}"
            );
        }
    }
}
