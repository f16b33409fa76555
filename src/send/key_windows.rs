//! Per-key rolling windows held exactly, so that requests sharing a key never trip
//! DigiCert's limits (`--key-limits`, default 100 per 5 s and 1000 per 5 min).
//!
//! A token bucket of the same nominal size would not do: its burst plus its refill
//! can exceed a rolling window. Instead each request occupies its key's windows from
//! the moment it is admitted until one full period after its answer came back. The
//! server saw the request somewhere in between, so however late it arrived there, no
//! span of one period at the server can hold more than the window allows.

use crate::limits::WindowSpec;
use crate::stop::Stop;
use std::collections::{HashMap, VecDeque};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// The windows of every key in a run, keyed by account index.
pub struct KeyWindows {
    spec: WindowSpec,
    /// The longest period: finished requests older than this no longer count.
    horizon: Duration,
    keys: Mutex<Keys>,
    finished: Condvar,
}

#[derive(Debug, Default)]
struct Keys {
    logs: HashMap<u32, KeyLog>,
    /// Workers waiting on `finished` for room in a window.
    waiters: usize,
}

#[derive(Debug, Default)]
struct KeyLog {
    in_flight: u32,
    /// When each finished request's answer arrived, oldest first.
    answered: VecDeque<Instant>,
}

/// A request's place in its key's windows; dropping it records the answer's time.
pub struct Slot<'a> {
    windows: &'a KeyWindows,
    account: u32,
}

/// How often a waiter looks at the stop signal while it waits for a window.
const STOP_POLL: Duration = Duration::from_millis(100);

impl KeyWindows {
    /// Windows for `spec`; an empty spec admits everything at once.
    pub fn new(spec: WindowSpec) -> KeyWindows {
        let horizon = spec
            .0
            .iter()
            .map(|w| w.period)
            .max()
            .unwrap_or(Duration::ZERO);
        KeyWindows {
            spec,
            horizon,
            keys: Mutex::new(Keys::default()),
            finished: Condvar::new(),
        }
    }

    /// Waits until `account`'s key may send one more request and takes its place.
    /// `None` when the run was stopped meanwhile.
    pub fn acquire(&self, account: u32, stop: &Stop) -> Option<Slot<'_>> {
        // With no window there is nothing to count: no lock, no bookkeeping, so that
        // `--key-limits off` costs the send loop nothing.
        if self.spec.is_unlimited() {
            return (!stop.is_raised()).then_some(Slot {
                windows: self,
                account,
            });
        }
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if stop.is_raised() {
                return None;
            }
            let now = Instant::now();
            let log = keys.logs.entry(account).or_default();
            match self.wait_needed(log, now) {
                None => {
                    log.in_flight += 1;
                    return Some(Slot {
                        windows: self,
                        account,
                    });
                }
                Some(wait) => {
                    let wait = wait.unwrap_or(STOP_POLL).min(STOP_POLL);
                    keys.waiters += 1;
                    keys = match self.finished.wait_timeout(keys, wait) {
                        Ok((guard, _)) => guard,
                        Err(poisoned) => poisoned.into_inner().0,
                    };
                    keys.waiters -= 1;
                }
            }
        }
    }

    /// `None` when a request may start now; else how long until one may, or
    /// `Some(None)` when only an in-flight request's answer can make room.
    fn wait_needed(&self, log: &mut KeyLog, now: Instant) -> Option<Option<Duration>> {
        while log
            .answered
            .front()
            .is_some_and(|&t| t + self.horizon <= now)
        {
            log.answered.pop_front();
        }
        let mut longest: Option<Option<Duration>> = None;
        for window in &self.spec.0 {
            // Answers still inside this window, oldest first.
            let first_live = log.answered.partition_point(|&t| t + window.period <= now);
            let live = log.answered.len() - first_live;
            let used = log.in_flight as usize + live;
            if used < window.max as usize {
                continue;
            }
            // Room comes when enough of the live answers age out.
            let must_expire = used - window.max as usize + 1;
            let wait = (must_expire <= live)
                .then(|| log.answered[first_live + must_expire - 1] + window.period - now);
            longest = Some(match (longest, wait) {
                (Some(None), _) | (_, None) => None,
                (Some(Some(a)), Some(b)) => Some(a.max(b)),
                (None, Some(b)) => Some(b),
            });
        }
        longest
    }

    fn release(&self, account: u32) {
        if self.spec.is_unlimited() {
            return;
        }
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        let waiters = keys.waiters;
        if let Some(log) = keys.logs.get_mut(&account) {
            log.in_flight = log.in_flight.saturating_sub(1);
            log.answered.push_back(Instant::now());
        }
        drop(keys);
        // std's condvar makes a system call for every notify, waiters or not; most
        // answers come while nobody waits for a window.
        if waiters > 0 {
            self.finished.notify_all();
        }
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.windows.release(self.account);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::Window;

    fn spec(max: u32, millis: u64) -> WindowSpec {
        WindowSpec(vec![Window {
            max,
            period: Duration::from_millis(millis),
        }])
    }

    #[test]
    fn a_full_window_waits_one_period_after_the_oldest_answer() {
        let windows = KeyWindows::new(spec(3, 300));
        let stop = Stop::new();
        let started = Instant::now();
        for _ in 0..3 {
            drop(windows.acquire(7, &stop).unwrap());
        }
        assert!(started.elapsed() < Duration::from_secs(1));
        drop(windows.acquire(7, &stop).unwrap());
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(300), "{waited:?}");
        assert!(waited < Duration::from_secs(3), "{waited:?}");
    }

    #[test]
    fn keys_do_not_share_windows() {
        let windows = KeyWindows::new(spec(1, 10_000));
        let stop = Stop::new();
        let started = Instant::now();
        for account in 0..20 {
            drop(windows.acquire(account, &stop).unwrap());
        }
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn in_flight_requests_hold_their_place_until_answered() {
        let windows = KeyWindows::new(spec(2, 200));
        let stop = Stop::new();
        let a = windows.acquire(1, &stop).unwrap();
        let _b = windows.acquire(1, &stop).unwrap();
        std::thread::scope(|scope| {
            let waiter = scope.spawn(|| {
                let started = Instant::now();
                drop(windows.acquire(1, &stop).unwrap());
                started.elapsed()
            });
            std::thread::sleep(Duration::from_millis(300));
            drop(a);
            // The window counts from the answer: 300 ms in flight, then 200 ms more.
            let waited = waiter.join().unwrap();
            assert!(waited >= Duration::from_millis(480), "{waited:?}");
        });
    }

    #[test]
    fn every_span_of_one_period_holds_at_most_the_limit() {
        let windows = KeyWindows::new(WindowSpec(vec![
            Window {
                max: 5,
                period: Duration::from_millis(100),
            },
            Window {
                max: 8,
                period: Duration::from_millis(400),
            },
        ]));
        let stop = Stop::new();
        let mut starts = Vec::new();
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    scope.spawn(|| {
                        (0..5)
                            .map(|_| {
                                let slot = windows.acquire(0, &stop).unwrap();
                                let at = Instant::now();
                                std::thread::sleep(Duration::from_millis(3));
                                drop(slot);
                                at
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            for handle in handles {
                starts.extend(handle.join().unwrap());
            }
        });
        starts.sort();
        for (i, &t) in starts.iter().enumerate() {
            let in_100 = starts[i..]
                .iter()
                .take_while(|&&u| u < t + Duration::from_millis(100))
                .count();
            let in_400 = starts[i..]
                .iter()
                .take_while(|&&u| u < t + Duration::from_millis(400))
                .count();
            assert!(in_100 <= 5 && in_400 <= 8, "at {i}: {in_100} and {in_400}");
        }
    }

    #[test]
    fn stopping_ends_a_wait_for_a_window() {
        let windows = KeyWindows::new(spec(1, 60_000));
        let stop = Stop::new();
        drop(windows.acquire(0, &stop).unwrap());
        std::thread::scope(|scope| {
            let waiter = scope.spawn(|| windows.acquire(0, &stop).is_none());
            std::thread::sleep(Duration::from_millis(50));
            stop.raise();
            assert!(waiter.join().unwrap());
        });
    }
}
