//! `--dry-run --check-keys`: an audit that sends nothing. One read-only GET per
//! account, paced and retried like the PUTs of a real run, tells whether its key is
//! accepted and which of its addresses the account already holds.

use crate::plan::Plan;
use crate::progress::Progress;
use crate::send::{DispatchSettings, Event, Outcome, Request, Transport, dispatch_requests};
use crate::settings::RunSettings;
use crate::status::Status;
use crate::stop::Stop;
use crate::term;
use std::sync::mpsc;

/// Checks every account that has something to send. The result is indexed by chunk,
/// like a real run's outcomes: each of an account's chunks carries its account's
/// check, and the report reads each row's status from it. Also returns the GETs sent.
pub fn check_keys(
    settings: &RunSettings,
    dispatch_settings: &DispatchSettings,
    plan: &Plan,
    transport: &dyn Transport,
    stop: &Stop,
) -> (Vec<Option<Outcome>>, u64) {
    let mut progress = Progress::new(
        plan.accounts_to_send() as u64,
        !settings.quiet,
        settings.progress_interval,
    );
    let mut by_account: Vec<Option<Outcome>> = vec![None; plan.accounts.len()];
    let mut attempts = 0u64;
    let (events, received) = mpsc::channel();

    std::thread::scope(|scope| {
        let sender = scope.spawn(|| {
            let request = Request::GetEmails;
            dispatch_requests(plan, request, transport, dispatch_settings, stop, events)
        });
        for event in received {
            match event {
                Event::Attempt(attempt) => {
                    attempts += 1;
                    progress.attempted();
                    if settings.verbose {
                        let line = crate::run::attempt_line(plan, &attempt);
                        progress.println(&format!("{line} method=GET"));
                    }
                }
                Event::Finished { chunk, outcome } => {
                    progress.finished_one(outcome.status == Status::Failed);
                    by_account[plan.chunks[chunk as usize].account as usize] = Some(outcome);
                }
            }
        }
        if let Ok(Err(error)) = sender.join() {
            term::print_error(&format!("cannot start the workers: {error}"));
        }
    });
    progress.finish();

    let outcomes = plan
        .chunks
        .iter()
        .map(|chunk| by_account[chunk.account as usize].clone())
        .collect();
    (outcomes, attempts)
}
