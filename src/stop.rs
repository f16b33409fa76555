//! A run-wide "stop starting new work" signal that also cuts short every wait, so
//! that Ctrl-C takes effect at once even while workers sleep through a backoff.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// Raised once; never lowered.
#[derive(Debug, Default)]
pub struct Stop {
    raised: AtomicBool,
    lock: Mutex<()>,
    wake: Condvar,
}

impl Stop {
    /// A signal that is not raised.
    pub fn new() -> Stop {
        Stop::default()
    }

    /// Asks every worker to stop starting requests, and wakes every sleeper.
    pub fn raise(&self) {
        self.raised.store(true, Ordering::SeqCst);
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.wake.notify_all();
    }

    /// Whether the run should stop.
    pub fn is_raised(&self) -> bool {
        self.raised.load(Ordering::SeqCst)
    }

    /// Sleeps for `duration` or until the signal is raised; true when it was raised.
    pub fn sleep(&self, duration: Duration) -> bool {
        let deadline = Instant::now() + duration;
        let mut guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if self.is_raised() {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            guard = match self.wake.wait_timeout(guard, deadline - now) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn raising_cuts_a_sleep_short() {
        let stop = Arc::new(Stop::new());
        let sleeper = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let started = Instant::now();
                (stop.sleep(Duration::from_secs(30)), started.elapsed())
            })
        };
        std::thread::sleep(Duration::from_millis(50));
        stop.raise();
        let (raised, slept) = sleeper.join().unwrap();
        assert!(raised);
        assert!(slept < Duration::from_secs(5), "{slept:?}");
        assert!(stop.sleep(Duration::from_secs(30)));
    }

    #[test]
    fn an_unraised_sleep_runs_its_course() {
        let stop = Stop::new();
        let started = Instant::now();
        assert!(!stop.sleep(Duration::from_millis(20)));
        assert!(started.elapsed() >= Duration::from_millis(20));
    }
}
