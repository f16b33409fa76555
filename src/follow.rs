//! Following a send loop from the main thread: the workers run on their own
//! thread and report every attempt and every finished chunk as an event; here
//! those become progress, `-v` lines, and whatever the caller keeps of each chunk.
//! Workers thus do no I/O of their own.

use crate::plan::Plan;
use crate::progress::Progress;
use crate::send::dispatch::Attempt;
use crate::send::{Event, Outcome};
use crate::settings::RunSettings;
use crate::status::Status;
use crate::term;
use std::sync::mpsc::{self, Sender};

/// How long the follower lets events gather between batches: far below what a person
/// watching the progress, or the journal, would notice.
const GATHER_EVENTS: std::time::Duration = std::time::Duration::from_millis(2);

/// Runs `send` (which hands its events to the sender it is given) and follows it to
/// the end: `total` is how many chunks progress counts, `verbose_suffix` is added to
/// each `-v` line, and `finished` gets every chunk that is done for good. Returns
/// the number of attempts.
pub fn follow(
    settings: &RunSettings,
    plan: &Plan,
    total: u64,
    verbose_suffix: &str,
    send: impl FnOnce(Sender<Event>) -> std::io::Result<()> + Send,
    mut finished: impl FnMut(u32, Outcome),
) -> u64 {
    let mut progress = Progress::new(total, !settings.quiet, settings.progress_interval);
    let mut attempts = 0u64;
    let (events, received) = mpsc::channel();

    std::thread::scope(|scope| {
        let sender = scope.spawn(move || send(events));
        let mut handle = |event| match event {
            Event::Attempt(attempt) => {
                attempts += 1;
                progress.attempted();
                if settings.verbose {
                    progress.println(&format!("{}{verbose_suffix}", attempt_line(plan, &attempt)));
                }
            }
            Event::Finished { chunk, outcome } => {
                progress.finished_one(outcome.status == Status::Failed);
                finished(chunk, outcome);
            }
        };
        while let Ok(event) = received.recv() {
            handle(event);
            received.try_iter().for_each(&mut handle);
            // A fast run sends tens of thousands of events a second. Were this thread
            // always waiting on the channel, nearly every event would cost its worker
            // a system call to wake it, and this thread one more to wait again; after
            // a short pause they are taken in a batch (half the futex calls of a run
            // against a local server, and a sixth less CPU).
            std::thread::sleep(GATHER_EVENTS);
        }
        if let Ok(Err(error)) = sender.join() {
            term::print_error(&format!("cannot start the workers: {error}"));
        }
    });
    progress.finish();
    attempts
}

/// `-v`: one line per attempt, with the key masked.
fn attempt_line(plan: &Plan, attempt: &Attempt) -> String {
    let chunk = &plan.chunks[attempt.chunk as usize];
    let account = &plan.accounts[chunk.account as usize];
    let label = chunk
        .entries
        .first()
        .map(|&i| &*plan.labels[plan.entries[i as usize].label as usize])
        .unwrap_or("");
    let result = match &attempt.result {
        Ok(status) => status.to_string(),
        Err(error) => format!("error ({error})"),
    };
    let at = jiff::Timestamp::try_from(attempt.at)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default();
    term::clean(
        &format!(
            "{at} account={label:?} key={} key_id={} status={result} attempt={} latency={}ms",
            account.shown_key,
            account.id,
            attempt.number,
            attempt.latency.as_millis()
        ),
        1000,
    )
}
