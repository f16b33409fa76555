//! The send loop: workers on a rayon pool take requests in plan order, wait for
//! their key's windows and the global pace, send, judge the answer, retry, and
//! report every attempt and every finished request as an [`Event`].

use super::key_windows::KeyWindows;
use super::listing::{self, Listing};
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

/// Which request the send loop makes. Both kinds share the per-key windows, the
/// global pace and the retry rules, so an audit paces itself like a real run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// A PUT per chunk, carrying its addresses: the real run.
    PutEmails,
    /// A read-only GET per account (for its first chunk only): `--check-keys`.
    GetEmails,
}

/// The final result of one request (chunk), applied to every address it carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// `added` or `failed` for a PUT; `planned` or `failed` for a GET.
    pub status: Status,
    /// The last answer's HTTP status, when there was one.
    pub http_status: Option<u16>,
    /// Requests sent for this chunk.
    pub attempts: u32,
    /// DigiCert's error code of the last answer.
    pub error_code: Option<String>,
    /// DigiCert's message, or what went wrong on the way.
    pub error_message: Option<String>,
    /// A successful GET's reading of the account's addresses; `None` for PUTs.
    pub listing: Option<Listing>,
}

impl Outcome {
    fn added(http_status: u16, attempts: u32) -> Outcome {
        Outcome {
            status: Status::Added,
            http_status: Some(http_status),
            attempts,
            error_code: None,
            error_message: None,
            listing: None,
        }
    }

    fn listed(http_status: u16, attempts: u32, listing: Listing) -> Outcome {
        Outcome {
            status: Status::Planned,
            http_status: Some(http_status),
            attempts,
            error_code: None,
            error_message: None,
            listing: Some(listing),
        }
    }

    fn failed(failure: Failure, attempts: u32) -> Outcome {
        Outcome {
            status: Status::Failed,
            http_status: failure.http_status,
            attempts,
            error_code: failure.code,
            error_message: Some(failure.message),
            listing: None,
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
    dispatch_requests(plan, Request::PutEmails, transport, settings, stop, events)
}

/// Like [`dispatch`], for either kind of request. For [`Request::GetEmails`] the
/// events name each account's first chunk, which stands for the account.
pub fn dispatch_requests(
    plan: &Plan,
    request: Request,
    transport: &dyn Transport,
    settings: &DispatchSettings,
    stop: &Stop,
    events: Sender<Event>,
) -> std::io::Result<()> {
    let jobs = jobs_for(plan, request);
    let workers = settings.concurrency.clamp(1, jobs.len().max(1));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(workers)
        .thread_name(|i| format!("ecbulk-send-{i}"))
        .build()
        .map_err(std::io::Error::other)?;
    let shared = Shared {
        plan,
        request,
        jobs,
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

/// The chunks to send, in plan order: all of them for PUTs, each account's first
/// for GETs.
fn jobs_for(plan: &Plan, request: Request) -> Vec<u32> {
    match request {
        Request::PutEmails => (0..plan.chunks.len() as u32).collect(),
        Request::GetEmails => {
            let mut seen = std::collections::HashSet::new();
            (0..plan.chunks.len() as u32)
                .filter(|&i| seen.insert(plan.chunks[i as usize].account))
                .collect()
        }
    }
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
    request: Request,
    /// Chunk indices to send, taken in order by the workers.
    jobs: Vec<u32>,
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
            let Some(&index) = self.jobs.get(self.next.fetch_add(1, Ordering::Relaxed)) else {
                break;
            };
            if let Some(outcome) = self.send_chunk(index, &mut rng, events) {
                let _ = events.send(Event::Finished {
                    chunk: index,
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
            let result = match self.request {
                Request::PutEmails => self.transport.put_emails(key, &emails),
                Request::GetEmails => self.transport.get_emails(key),
            };
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
                    return Some(self.success(result, number));
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

    /// The outcome of a 2xx: added for a PUT; for a GET, what it listed.
    fn success(&self, result: Result<super::Reply, TransportError>, attempts: u32) -> Outcome {
        let (status, body) = result.map(|r| (r.status, r.body)).unwrap_or((200, vec![]));
        match self.request {
            Request::PutEmails => Outcome::added(status, attempts),
            Request::GetEmails => Outcome::listed(status, attempts, listing::parse(&body)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::InputRow;
    use crate::plan::{ChunkOptions, Planner};
    use crate::send::Reply;
    use std::sync::Mutex;
    use std::sync::mpsc;

    /// Answers GETs from a script per key and records every call.
    #[derive(Default)]
    struct Fake {
        calls: Mutex<Vec<(&'static str, String)>>,
        get_answers: Mutex<Vec<(String, u16, &'static str)>>,
    }

    impl Transport for Fake {
        fn put_emails(&self, key: &ApiKey, _: &[&str]) -> Result<Reply, TransportError> {
            self.calls.lock().unwrap().push(("PUT", key.masked()));
            Ok(reply(204, ""))
        }

        fn get_emails(&self, key: &ApiKey) -> Result<Reply, TransportError> {
            self.calls.lock().unwrap().push(("GET", key.masked()));
            let mut answers = self.get_answers.lock().unwrap();
            match answers.iter().position(|(k, _, _)| k == key.expose()) {
                Some(i) => {
                    let (_, status, body) = answers.remove(i);
                    Ok(reply(status, body))
                }
                None => Ok(reply(200, "[]")),
            }
        }
    }

    use crate::key::ApiKey;

    fn reply(status: u16, body: &str) -> Reply {
        Reply {
            status,
            retry_after: None,
            location: None,
            body: body.as_bytes().to_vec(),
        }
    }

    fn two_accounts_three_chunks() -> Plan {
        let mut planner = Planner::new();
        for (line, key, emails) in [
            (2, "key-aaaaaaaaaaaa", "a1@x.example; a2@x.example"),
            (3, "key-bbbbbbbbbbbb", "b@x.example"),
        ] {
            planner.push(&InputRow {
                line,
                key: key.into(),
                emails: emails.into(),
                label: String::new(),
            });
        }
        planner.finish(&ChunkOptions {
            max_per_request: Some(1),
            ..ChunkOptions::default()
        })
    }

    fn settings() -> DispatchSettings {
        DispatchSettings {
            concurrency: 4,
            rate: None,
            burst: 1,
            key_limits: WindowSpec::default(),
            retry: RetryPolicy {
                base_delay: Duration::from_millis(1),
                ..RetryPolicy::default()
            },
        }
    }

    fn finished(plan: &Plan, request: Request, fake: &Fake) -> Vec<(u32, Outcome)> {
        let (events, received) = mpsc::channel();
        dispatch_requests(plan, request, fake, &settings(), &Stop::new(), events).unwrap();
        let mut done: Vec<(u32, Outcome)> = received
            .into_iter()
            .filter_map(|e| match e {
                Event::Finished { chunk, outcome } => Some((chunk, outcome)),
                Event::Attempt(_) => None,
            })
            .collect();
        done.sort_by_key(|(chunk, _)| *chunk);
        done
    }

    #[test]
    fn a_check_sends_one_get_per_account_and_no_put() {
        let plan = two_accounts_three_chunks();
        assert_eq!(plan.chunks.len(), 3);
        let fake = Fake::default();
        fake.get_answers.lock().unwrap().extend([
            ("key-aaaaaaaaaaaa".to_string(), 503, ""),
            ("key-aaaaaaaaaaaa".to_string(), 200, r#"["A1@x.example"]"#),
            ("key-bbbbbbbbbbbb".to_string(), 401, ""),
        ]);

        let done = finished(&plan, Request::GetEmails, &fake);

        let calls = fake.calls.lock().unwrap().clone();
        assert!(
            calls.iter().all(|(method, _)| *method == "GET"),
            "{calls:?}"
        );
        assert_eq!(calls.len(), 3, "one retry after the 503: {calls:?}");
        let accounts: Vec<u32> = done
            .iter()
            .map(|(c, _)| plan.chunks[*c as usize].account)
            .collect();
        assert_eq!(accounts, [0, 1]);
        let a = &done[0].1;
        assert_eq!(
            (a.status, a.http_status, a.attempts),
            (Status::Planned, Some(200), 2)
        );
        assert!(a.listing.as_ref().unwrap().holds("a1@x.example"));
        let b = &done[1].1;
        assert_eq!(
            (b.status, b.http_status, b.listing.clone()),
            (Status::Failed, Some(401), None)
        );
    }

    #[test]
    fn a_real_run_puts_every_chunk_and_lists_nothing() {
        let plan = two_accounts_three_chunks();
        let fake = Fake::default();
        let done = finished(&plan, Request::PutEmails, &fake);
        assert_eq!(done.len(), 3);
        assert!(
            done.iter()
                .all(|(_, o)| o.status == Status::Added && o.listing.is_none())
        );
        assert!(fake.calls.lock().unwrap().iter().all(|(m, _)| *m == "PUT"));
    }
}
