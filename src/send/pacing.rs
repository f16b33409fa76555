//! The run-wide pace: one governor limiter shared by every worker (`--rate`,
//! `--burst`), and a congestion gate that a 429 narrows for everyone and that
//! opens again step by step as requests succeed.

use crate::stop::Stop;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The narrowest the congestion gate gets: one request start every this often.
const MAX_SPACING: Duration = Duration::from_secs(5);
/// The first spacing after a 429 when no `--rate` gives a scale.
const MIN_PENALTY: Duration = Duration::from_millis(50);
/// Each success shrinks the spacing by this factor: about 30 successes halve it.
const RECOVERY: f64 = 0.977;

/// Admits request starts at the run's global pace.
pub struct Pacer {
    limiter: Option<(DefaultDirectRateLimiter, DefaultClock)>,
    /// `1 / rate`, or zero without a global rate.
    base_interval: Duration,
    congestion: Mutex<Congestion>,
    /// False only while the gate is open: no pause ahead and no extra spacing. Read
    /// without the lock, so that a calm run's requests never contend for it.
    engaged: AtomicBool,
}

#[derive(Debug)]
struct Congestion {
    /// No request starts before this, after a 429.
    pause_until: Instant,
    /// Extra spacing between request starts while the API pushes back; zero when calm.
    spacing: Duration,
    /// When the next request may start under `spacing`.
    next_start: Instant,
}

impl Pacer {
    /// A pacer for `rate` requests per second (`None`: no global limit) letting
    /// `burst` through at once.
    pub fn new(rate: Option<f64>, burst: u32) -> Pacer {
        let limiter = rate.and_then(|rate| {
            let period = Duration::try_from_secs_f64(1.0 / rate).ok()?;
            let quota = Quota::with_period(period)?.allow_burst(NonZeroU32::new(burst.max(1))?);
            let clock = DefaultClock::default();
            Some((RateLimiter::direct_with_clock(quota, clock.clone()), clock))
        });
        let base_interval = rate
            .and_then(|r| Duration::try_from_secs_f64(1.0 / r).ok())
            .unwrap_or(Duration::ZERO);
        let now = Instant::now();
        Pacer {
            limiter,
            base_interval,
            congestion: Mutex::new(Congestion {
                pause_until: now,
                spacing: Duration::ZERO,
                next_start: now,
            }),
            engaged: AtomicBool::new(false),
        }
    }

    /// Waits until one more request may start. False when the run was stopped
    /// meanwhile; the caller must then not send.
    pub fn admit(&self, stop: &Stop, rng: &mut fastrand::Rng) -> bool {
        if let Some(start) = self.congestion_slot(rng) {
            let now = Instant::now();
            if start > now && stop.sleep(start - now) {
                return false;
            }
        }
        let Some((limiter, clock)) = &self.limiter else {
            return !stop.is_raised();
        };
        // One successful `check` per request: a failed check consumes nothing, and
        // its answer says how long until a cell is free.
        loop {
            match limiter.check() {
                Ok(()) => return !stop.is_raised(),
                Err(not_until) => {
                    if stop.sleep(not_until.wait_time_from(clock.now())) {
                        return false;
                    }
                }
            }
        }
    }

    /// A 429: hold every worker for `wait` and widen the spacing between starts.
    pub fn throttled(&self, wait: Duration) {
        let mut c = self.lock();
        let now = Instant::now();
        c.pause_until = c.pause_until.max(now + wait);
        let floor = (self.base_interval * 2).max(MIN_PENALTY);
        c.spacing = (c.spacing * 2).max(floor).min(MAX_SPACING);
        self.engaged.store(true, Ordering::Release);
    }

    /// A success: narrow the spacing a little, down to nothing.
    pub fn succeeded(&self) {
        if !self.engaged.load(Ordering::Acquire) {
            return;
        }
        let mut c = self.lock();
        if c.spacing.is_zero() {
            return;
        }
        c.spacing = c.spacing.mul_f64(RECOVERY);
        if c.spacing <= self.base_interval.max(Duration::from_millis(1)) {
            c.spacing = Duration::ZERO;
        }
    }

    /// The current extra spacing, for summaries and tests.
    pub fn spacing(&self) -> Duration {
        self.lock().spacing
    }

    /// When this request may start under the congestion gate, or `None` when the gate
    /// is open. The wait after a pause is jittered so workers do not restart together.
    fn congestion_slot(&self, rng: &mut fastrand::Rng) -> Option<Instant> {
        if !self.engaged.load(Ordering::Acquire) {
            return None;
        }
        let mut c = self.lock();
        let now = Instant::now();
        if c.spacing.is_zero() && c.pause_until <= now {
            // Calm again: later requests may skip the lock. A 429 in between sets
            // the flag again under the same lock, so it cannot be lost.
            self.engaged.store(false, Ordering::Release);
            return None;
        }
        let jitter = if c.pause_until > now {
            (c.pause_until - now).mul_f64(rng.f64() * 0.2)
        } else {
            Duration::ZERO
        };
        let start = now.max(c.pause_until + jitter).max(c.next_start);
        c.next_start = start + c.spacing;
        Some(start)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Congestion> {
        self.congestion.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_spaces_request_starts() {
        let pacer = Pacer::new(Some(50.0), 1);
        let stop = Stop::new();
        let mut rng = fastrand::Rng::with_seed(1);
        let started = Instant::now();
        for _ in 0..11 {
            assert!(pacer.admit(&stop, &mut rng));
        }
        // The first is free; ten more at 20 ms each.
        let elapsed = started.elapsed();
        assert!(elapsed >= Duration::from_millis(190), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    }

    #[test]
    fn a_429_pauses_everyone_and_recovers_gradually() {
        let pacer = Pacer::new(None, 1);
        let stop = Stop::new();
        let mut rng = fastrand::Rng::with_seed(1);
        pacer.throttled(Duration::from_millis(100));
        let started = Instant::now();
        assert!(pacer.admit(&stop, &mut rng));
        assert!(started.elapsed() >= Duration::from_millis(100));
        assert_eq!(pacer.spacing(), MIN_PENALTY);

        pacer.throttled(Duration::ZERO);
        assert_eq!(pacer.spacing(), MIN_PENALTY * 2);
        let mut successes = 0;
        while !pacer.spacing().is_zero() {
            pacer.succeeded();
            successes += 1;
            assert!(successes < 1000);
        }
        assert!(
            successes > 50,
            "recovery should be gradual, took {successes}"
        );
    }

    #[test]
    fn stopping_ends_a_wait() {
        let pacer = Pacer::new(Some(0.1), 1);
        let stop = Stop::new();
        let mut rng = fastrand::Rng::with_seed(1);
        assert!(pacer.admit(&stop, &mut rng));
        stop.raise();
        let started = Instant::now();
        assert!(!pacer.admit(&stop, &mut rng));
        assert!(started.elapsed() < Duration::from_secs(1));
    }
}
