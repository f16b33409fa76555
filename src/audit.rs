//! `--dry-run --check-keys`: an audit that sends nothing. One read-only GET per
//! account, paced and retried like the PUTs of a real run, tells whether its key is
//! accepted and which of its addresses the account already holds.

use crate::plan::Plan;
use crate::send::{DispatchSettings, Outcome, Request, Transport, dispatch_requests};
use crate::settings::RunSettings;
use crate::stop::Stop;

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
    let mut by_account: Vec<Option<Outcome>> = vec![None; plan.accounts.len()];
    let attempts = crate::follow::follow(
        settings,
        plan,
        plan.accounts_to_send() as u64,
        " method=GET",
        |events| {
            dispatch_requests(
                plan,
                Request::GetEmails,
                transport,
                dispatch_settings,
                stop,
                events,
            )
        },
        |chunk, outcome| by_account[plan.chunks[chunk as usize].account as usize] = Some(outcome),
    );

    let outcomes = plan
        .chunks
        .iter()
        .map(|chunk| by_account[chunk.account as usize].clone())
        .collect();
    (outcomes, attempts)
}
