//! Progress on stderr, in the form the reader can use: a bar when stderr is a
//! terminal that can draw one, a plain line every `--progress-interval` otherwise
//! (cron mail, CI logs, `| tee`), nothing with `-q`. Lines printed while the bar is
//! drawn go through it, so the bar never tears.

use crate::summary::human_duration;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Requests-done progress for one run.
pub struct Progress {
    counts: Arc<Counts>,
    bar: Option<ProgressBar>,
    ticker: Option<Ticker>,
}

/// What the progress shows. Requests count when they are finished for good, not
/// when a worker picks them up: with a pool of workers, started work runs ahead of
/// what is done by up to the pool's size.
#[derive(Debug)]
pub struct Counts {
    total: u64,
    done: AtomicU64,
    failed: AtomicU64,
    attempts: AtomicU64,
    started: Instant,
}

/// The thread that prints plain lines; dropping `stop` ends it.
struct Ticker {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

impl Progress {
    /// Progress over `total` requests. `enabled` is false for `-q`. On a terminal
    /// that can draw it, a bar; elsewhere a line every `interval` (`None`: never).
    pub fn new(total: u64, enabled: bool, interval: Option<Duration>) -> Progress {
        let counts = Arc::new(Counts::new(total));
        let mut progress = Progress {
            counts,
            bar: None,
            ticker: None,
        };
        if !enabled {
            return progress;
        }
        if std::io::stderr().is_terminal() {
            progress.bar = bar(total);
        }
        // indicatif hides its bar where TERM is unset or `dumb`: fall back to lines.
        if progress.bar.is_none()
            && let Some(interval) = interval
        {
            progress.ticker = Some(Ticker::start(Arc::clone(&progress.counts), interval));
        }
        progress
    }

    /// One attempt ended (retries count too).
    pub fn attempted(&self) {
        self.counts.attempts.fetch_add(1, Ordering::Relaxed);
    }

    /// One request finished for good; `failed` when it failed.
    pub fn finished_one(&self, failed: bool) {
        self.counts.done.fetch_add(1, Ordering::Relaxed);
        if failed {
            self.counts.failed.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(bar) = &self.bar {
            bar.inc(1);
            if failed {
                bar.set_message(format!("{} failed", self.counts.failed()));
            }
        }
    }

    /// Prints a line on stderr without tearing the bar.
    pub fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    /// Removes the bar and stops the plain lines, before the summary is printed.
    pub fn finish(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        if let Some(ticker) = self.ticker.take() {
            drop(ticker.stop);
            let _ = ticker.thread.join();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// A bar on stderr, or `None` where indicatif would not draw one.
fn bar(total: u64) -> Option<ProgressBar> {
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if bar.is_hidden() {
        return None;
    }
    let style = ProgressStyle::with_template(
        "{bar:30.cyan/blue} {pos}/{len} requests  {per_sec}  ETA {eta}  {msg:.red}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    // Redraw while nothing finishes (a long backoff), so the ETA and rate stay live.
    bar.enable_steady_tick(Duration::from_millis(500));
    Some(bar)
}

impl Counts {
    /// Nothing done yet out of `total`.
    pub fn new(total: u64) -> Counts {
        Counts {
            total,
            done: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            attempts: AtomicU64::new(0),
            started: Instant::now(),
        }
    }

    fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }

    /// The plain line: `ecbulk: progress: 3/10 requests done (30%), 1 failed, 4
    /// attempts, 12.0 s elapsed, about 28 s left`. No control characters, one line.
    pub fn line(&self, elapsed: Duration) -> String {
        let done = self.done.load(Ordering::Relaxed);
        let attempts = self.attempts.load(Ordering::Relaxed);
        let percent = (done * 100).checked_div(self.total).unwrap_or(100);
        let mut line = format!(
            "ecbulk: progress: {done}/{} requests done ({percent}%), {} failed, {attempts} attempts, {} elapsed",
            self.total,
            self.failed(),
            human_duration(elapsed)
        );
        if done > 0 && done < self.total {
            let left = elapsed.mul_f64((self.total - done) as f64 / done as f64);
            line += &format!(", about {} left", human_duration(left));
        }
        line
    }
}

impl Ticker {
    fn start(counts: Arc<Counts>, interval: Duration) -> Ticker {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            // Ends when `stop` is dropped: recv then fails with Disconnected.
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                eprintln!("{}", counts.line(counts.started.elapsed()));
            }
        });
        Ticker { stop, thread }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_counts_finished_requests_not_started_ones() {
        let counts = Counts::new(4);
        assert_eq!(
            counts.line(Duration::from_secs(3)),
            "ecbulk: progress: 0/4 requests done (0%), 0 failed, 0 attempts, 3.0 s elapsed"
        );

        // Three attempts are out (one a retry), one request is done and failed.
        for _ in 0..3 {
            counts.attempts.fetch_add(1, Ordering::Relaxed);
        }
        counts.done.fetch_add(1, Ordering::Relaxed);
        counts.failed.fetch_add(1, Ordering::Relaxed);
        assert_eq!(
            counts.line(Duration::from_secs(10)),
            "ecbulk: progress: 1/4 requests done (25%), 1 failed, 3 attempts, 10.0 s elapsed, about 30.0 s left"
        );
    }

    #[test]
    fn an_empty_run_is_complete_and_lines_are_plain() {
        let line = Counts::new(0).line(Duration::ZERO);
        assert!(line.contains("0/0 requests done (100%)"), "{line}");
        assert!(!line.chars().any(char::is_control), "{line:?}");
    }

    #[test]
    fn a_progress_off_a_terminal_draws_no_bar_and_stops_its_ticker() {
        if std::io::stderr().is_terminal() {
            return; // run by hand in a terminal: this test is about the other case
        }
        let mut progress = Progress::new(3, true, Some(Duration::from_millis(5)));
        assert!(progress.bar.is_none() && progress.ticker.is_some());
        progress.attempted();
        progress.finished_one(false);
        std::thread::sleep(Duration::from_millis(20));
        let started = Instant::now();
        progress.finish();
        assert!(progress.ticker.is_none());
        assert!(started.elapsed() < Duration::from_secs(1));
        assert!(
            Progress::new(3, false, Some(Duration::from_millis(5)))
                .ticker
                .is_none()
        );
    }
}
