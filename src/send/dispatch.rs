//! The send loop: workers on a rayon pool take requests in plan order, wait for
//! their key's windows and the global pace, send, judge the answer, retry, and
//! report every attempt and every finished request as an [`Event`].

use super::key_windows::KeyWindows;
use super::pacing::Pacer;
use super::retry::{Failure, RetryPolicy, Verdict};
use super::transport::{Transport, TransportError};
use crate::key::ApiKey;
use crate::limits::WindowSpec;
use crate::plan::Plan;
use crate::status::Status;
use crate::stop::Stop;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant, SystemTime};

/// How the send loop behaves.
#[derive(Debug, Clone)]
pub struct DispatchSettings {
    /// Worker threads; default 8.
    pub concurrency: usize,
    /// Requests per second across all workers; `None` for no global limit. Default 5.
    pub rate: Option<f64>,
    /// Requests the global limiter lets through at once; default 1.
    pub burst: u32,
    /// Per-key rolling windows; default DigiCert's `100/5s,1000/300s`.
    pub key_limits: WindowSpec,
    /// When to retry and how long to wait.
    pub retry: RetryPolicy,
}

/// The final result of one request (chunk), applied to every address it carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// `added` or `failed`.
    pub status: Status,
    /// The last answer's HTTP status, when there was one.
    pub http_status: Option<u16>,
    /// Requests sent for this chunk.
    pub attempts: u32,
    /// DigiCert's error code of the last answer.
    pub error_code: Option<String>,
    /// DigiCert's message, or what went wrong on the way.
    pub error_message: Option<String>,
}

impl Outcome {
    fn added(http_status: u16, attempts: u32) -> Outcome {
        Outcome {
            status: Status::Added,
            http_status: Some(http_status),
            attempts,
            error_code: None,
            error_message: None,
        }
    }

    fn failed(failure: Failure, attempts: u32) -> Outcome {
        Outcome {
            status: Status::Failed,
            http_status: failure.http_status,
            attempts,
            error_code: failure.code,
            error_message: Some(failure.message),
        }
    }
}

/// One HTTP attempt, for `-v` lines and counts. Holds no key: only the account's index.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// Index into the plan's chunks.
    pub chunk: u32,
    /// 1 for the first try.
    pub number: u32,
    /// When the request was sent.
    pub at: SystemTime,
    /// From sending to the end of the answer.
    pub latency: Duration,
    /// The answer's status, or the transport failure.
    pub result: Result<u16, TransportError>,
}

/// What the send loop tells the thread that keeps the journal and the progress.
#[derive(Debug, Clone)]
pub enum Event {
    /// An attempt ended.
    Attempt(Attempt),
    /// A chunk is done for good.
    Finished {
        /// Index into the plan's chunks.
        chunk: u32,
        /// What happened to it.
        outcome: Outcome,
    },
}

/// Sends every chunk of `plan` through `transport`, returning when all are done or
/// the run is stopped; chunks never started send no `Finished` event.
pub fn dispatch(
    plan: &Plan,
    transport: &dyn Transport,
    settings: &DispatchSettings,
    stop: &Stop,
    events: Sender<Event>,
) -> std::io::Result<()> {
    let workers = settings.concurrency.clamp(1, plan.chunks.len().max(1));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(workers)
        .thread_name(|i| format!("ecbulk-send-{i}"))
        .build()
        .map_err(std::io::Error::other)?;
    let shared = Shared {
        plan,
        transport,
        settings,
        stop,
        pacer: Pacer::new(settings.rate, settings.burst),
        windows: KeyWindows::new(settings.key_limits.clone()),
        next: AtomicUsize::new(0),
    };
    pool.scope(|scope| {
        for worker in 0..workers {
            let events = events.clone();
            let shared = &shared;
            scope.spawn(move |_| shared.work(worker as u64, &events));
        }
    });
    Ok(())
}

/// A server may echo the key in its error text ("key ABCD… is not valid"): such text
/// must not carry the key into the report or onto the terminal.
fn scrub_key(verdict: Verdict, key: &ApiKey) -> Verdict {
    let scrub = |failure: Failure| Failure {
        code: failure.code.map(|c| c.replace(key.expose(), &key.masked())),
        message: failure.message.replace(key.expose(), &key.masked()),
        ..failure
    };
    match verdict {
        Verdict::Success => Verdict::Success,
        Verdict::Fail(failure) => Verdict::Fail(scrub(failure)),
        Verdict::Retry {
            wait,
            failure,
            throttled,
        } => Verdict::Retry {
            wait,
            failure: scrub(failure),
            throttled,
        },
    }
}

struct Shared<'a> {
    plan: &'a Plan,
    transport: &'a dyn Transport,
    settings: &'a DispatchSettings,
    stop: &'a Stop,
    pacer: Pacer,
    windows: KeyWindows,
    next: AtomicUsize,
}

impl Shared<'_> {
    /// One worker: takes the next chunk until none is left or the run stops.
    fn work(&self, worker: u64, events: &Sender<Event>) {
        let mut rng = fastrand::Rng::with_seed(fastrand::u64(..) ^ worker);
        while !self.stop.is_raised() {
            let index = self.next.fetch_add(1, Ordering::Relaxed);
            if index >= self.plan.chunks.len() {
                break;
            }
            if let Some(outcome) = self.send_chunk(index as u32, &mut rng, events) {
                let _ = events.send(Event::Finished {
                    chunk: index as u32,
                    outcome,
                });
            }
        }
    }

    /// Sends one chunk with retries. `None` when the run stopped before its first
    /// attempt, so it stays `not_attempted`.
    fn send_chunk(
        &self,
        index: u32,
        rng: &mut fastrand::Rng,
        events: &Sender<Event>,
    ) -> Option<Outcome> {
        let chunk = &self.plan.chunks[index as usize];
        let key = self.plan.chunk_key(chunk)?;
        let emails = self.plan.chunk_emails(chunk);
        let policy = &self.settings.retry;
        let interrupted = |failure: Failure, attempts: u32| {
            let message = format!(
                "{} (the run was stopped before another try)",
                failure.message
            );
            Outcome::failed(Failure { message, ..failure }, attempts)
        };

        let mut number = 0;
        let mut last_failure: Option<Failure> = None;
        loop {
            let slot = self.windows.acquire(chunk.account, self.stop);
            if slot.is_none() || !self.pacer.admit(self.stop, rng) {
                return last_failure.map(|f| interrupted(f, number));
            }
            number += 1;
            let at = SystemTime::now();
            let started = Instant::now();
            let result = self.transport.put_emails(key, &emails);
            drop(slot);
            let _ = events.send(Event::Attempt(Attempt {
                chunk: index,
                number,
                at,
                latency: started.elapsed(),
                result: result.as_ref().map(|r| r.status).map_err(Clone::clone),
            }));

            let verdict = scrub_key(policy.judge(&result, SystemTime::now()), key);
            let (wait, failure) = match verdict {
                Verdict::Success => {
                    self.pacer.succeeded();
                    let status = result.map(|r| r.status).unwrap_or(200);
                    return Some(Outcome::added(status, number));
                }
                Verdict::Fail(failure) => return Some(Outcome::failed(failure, number)),
                Verdict::Retry {
                    wait,
                    failure,
                    throttled,
                } => {
                    if throttled {
                        self.pacer.throttled(policy.backoff(number + 1, wait, rng));
                    }
                    (wait, failure)
                }
            };
            if number >= policy.max_attempts {
                let message = format!("{} (gave up after {number} attempts)", failure.message);
                return Some(Outcome::failed(Failure { message, ..failure }, number));
            }
            if self.stop.sleep(policy.backoff(number + 1, wait, rng)) {
                return Some(interrupted(failure, number));
            }
            last_failure = Some(failure);
        }
    }
}
