//! Ctrl-C and SIGTERM during a run: the first asks the run to stop starting
//! requests and finish cleanly; the second exits at once with code 130.

use crate::stop::Stop;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::{Handle, Signals};
use std::path::Path;
use std::sync::Arc;

/// Watches for signals until dropped.
pub struct SignalWatch {
    handle: Option<Handle>,
}

/// Starts watching; a watch that could not be set up does nothing (the default
/// signal behaviour then applies) and says so. `journal` is named when a second
/// signal quits at once, since it is then the only record of the run.
pub fn watch(stop: &Arc<Stop>, journal: Option<&Path>) -> SignalWatch {
    let mut signals = match Signals::new([SIGINT, SIGTERM]) {
        Ok(signals) => signals,
        Err(error) => {
            crate::term::print_warning(&format!("cannot watch for Ctrl-C: {error}"));
            return SignalWatch { handle: None };
        }
    };
    let handle = signals.handle();
    let stop = Arc::clone(stop);
    let quit_note = match journal {
        Some(path) => format!(
            "ecbulk: stopped at once; {} keeps every finished row: continue with --resume {}",
            path.display(),
            path.display()
        ),
        None => "ecbulk: stopped at once".to_string(),
    };
    std::thread::spawn(move || {
        for _ in signals.forever() {
            if stop.is_raised() {
                eprintln!("{quit_note}");
                std::process::exit(130);
            }
            eprintln!(
                "ecbulk: stopping: no new requests; waiting for those in flight (press Ctrl-C again to quit at once)"
            );
            stop.raise();
        }
    });
    SignalWatch {
        handle: Some(handle),
    }
}

impl Drop for SignalWatch {
    fn drop(&mut self) {
        if let Some(handle) = &self.handle {
            handle.close();
        }
    }
}
