//! Exact rolling windows per API key, as DigiCert states its limits ("100 requests
//! per any 5 seconds"): a log of each key's recent request times, not a token bucket,
//! so that a burst a bucket would let through is refused here as it would be there.

use crate::limits::{Window, WindowSpec};
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// How many recorded requests pass between sweeps that forget idle keys.
const SWEEP_EVERY: u32 = 1024;

/// The request times of every key that has been seen within the longest window.
///
/// A request is over a window `max/period` when `max` requests of the same key were
/// already recorded in the `period` before it. Every request that is checked is also
/// recorded, refused ones included: the strictest reading of DigiCert's wording, and
/// the one under which a client that keeps hammering while limited stays limited.
#[derive(Debug)]
pub struct Windows {
    spec: WindowSpec,
    /// The most requests any one window allows; no key needs more times than this.
    keep: usize,
    /// The longest period; times older than this never matter again.
    horizon: Duration,
    times: HashMap<String, VecDeque<Instant>>,
    since_sweep: u32,
}

impl Windows {
    /// Windows that enforce `spec`; an empty spec lets everything through.
    pub fn new(spec: WindowSpec) -> Windows {
        let keep = spec.0.iter().map(|w| w.max as usize).max().unwrap_or(0);
        let horizon = spec
            .0
            .iter()
            .map(|w| w.period)
            .max()
            .unwrap_or(Duration::ZERO);
        Windows {
            spec,
            keep,
            horizon,
            times: HashMap::new(),
            since_sweep: 0,
        }
    }

    /// Records a request of `key` at `now` and says which window, if any, it is over.
    pub fn record(&mut self, key: &str, now: Instant) -> Option<Window> {
        if self.spec.is_unlimited() {
            return None;
        }
        self.sweep_now_and_then(now);

        let times = self.times.entry(key.to_owned()).or_default();
        let over = self
            .spec
            .0
            .iter()
            .find(|window| is_full(times, **window, now))
            .copied();

        // Only the newest `keep` times can decide a later request: a window is full
        // exactly when its `max`-th newest time is still inside it.
        times.push_back(now);
        while times.len() > self.keep {
            times.pop_front();
        }
        over
    }

    /// Forgets keys whose newest request is older than the longest window, so that a
    /// client inventing keys cannot grow the map without end.
    fn sweep_now_and_then(&mut self, now: Instant) {
        self.since_sweep += 1;
        if self.since_sweep < SWEEP_EVERY {
            return;
        }
        self.since_sweep = 0;
        let horizon = self.horizon;
        self.times.retain(|_, times| {
            times
                .back()
                .is_some_and(|&last| now.saturating_duration_since(last) < horizon)
        });
    }

    /// How many keys are remembered; for tests of the sweep.
    #[cfg(test)]
    fn keys_held(&self) -> usize {
        self.times.len()
    }
}

/// Whether `window` already holds its `max` requests in the `period` before `now`.
fn is_full(times: &VecDeque<Instant>, window: Window, now: Instant) -> bool {
    let max = window.max as usize;
    if max == 0 {
        // The parser refuses `0/5s`, but a window built in code may say "allow nothing".
        return true;
    }
    if times.len() < max {
        return false;
    }
    let oldest_that_counts = times[times.len() - max];
    now.saturating_duration_since(oldest_that_counts) < window.period
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> WindowSpec {
        text.parse().unwrap()
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Feeds requests of one key at the given offsets (ms) and returns which were refused.
    fn refused(spec_text: &str, offsets: &[u64]) -> Vec<u64> {
        let mut windows = Windows::new(spec(spec_text));
        let start = Instant::now();
        offsets
            .iter()
            .copied()
            .filter(|&at| windows.record("k", start + ms(at)).is_some())
            .collect()
    }

    #[test]
    fn rolling_windows_table() {
        let cases: &[(&str, &[u64], &[u64])] = &[
            // The fourth within one second is refused; it counts, and leaves with time.
            ("3/1s", &[0, 10, 20, 30, 1030, 1031], &[30]),
            // A request exactly one period after another no longer sees it.
            ("3/1s", &[0, 10, 20, 1000, 1001], &[1001]),
            // A window is any span of the period, not a calendar second.
            ("2/1s", &[900, 950, 1000, 2000], &[1000]),
            // Refused requests count: hammering while limited keeps the key limited.
            ("2/1s", &[0, 1, 500, 999, 1400, 2000], &[500, 999, 1400]),
            // Both windows apply; the long one refuses what the short one lets by.
            ("2/100ms,3/1s", &[0, 1, 50, 200, 300, 1301], &[50, 200, 300]),
            ("off", &[0, 0, 0, 0, 0], &[]),
        ];
        for (text, offsets, expected) in cases {
            assert_eq!(refused(text, offsets), *expected, "{text} {offsets:?}");
        }
    }

    #[test]
    fn a_window_built_in_code_to_allow_nothing_refuses_without_a_panic() {
        let spec = WindowSpec(vec![Window {
            max: 0,
            period: Duration::from_secs(1),
        }]);
        let mut windows = Windows::new(spec);
        assert!(windows.record("k", Instant::now()).is_some());
    }

    #[test]
    fn keys_are_counted_apart() {
        let mut windows = Windows::new(spec("1/1s"));
        let now = Instant::now();
        assert_eq!(windows.record("a", now), None);
        assert_eq!(windows.record("b", now), None);
        let over = windows.record("a", now + ms(1));
        assert_eq!(over.map(|w| w.max), Some(1));
    }

    #[test]
    fn digicert_limits_refuse_the_101st_request_in_five_seconds() {
        let mut windows = Windows::new(WindowSpec::digicert());
        let start = Instant::now();
        for i in 0..100 {
            assert_eq!(windows.record("k", start + ms(i * 10)), None, "request {i}");
        }
        let over = windows
            .record("k", start + ms(4999))
            .expect("the 101st is refused");
        assert_eq!(over.period, Duration::from_secs(5));
        // The refused one counts too: room comes back once the first two have left.
        assert_eq!(windows.record("k", start + ms(5010)), None);
    }

    #[test]
    fn idle_keys_are_forgotten_and_memory_stays_bounded() {
        let mut windows = Windows::new(spec("2/1s"));
        let start = Instant::now();
        for i in 0..SWEEP_EVERY - 1 {
            windows.record(&format!("key{i}"), start);
        }
        assert!(windows.keys_held() >= 1000);
        windows.record("late", start + Duration::from_secs(2));
        assert_eq!(windows.keys_held(), 1);

        for i in 0..10_000 {
            windows.record("hammer", start + Duration::from_secs(3) + ms(i % 5));
        }
        assert!(windows.times["hammer"].len() <= 2);
    }
}
