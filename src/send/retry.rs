//! When to try a request again, and how long to wait first.

use super::api_error;
use super::transport::{Reply, TransportError};
use std::time::{Duration, SystemTime};

/// The retry rules of a run.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Tries in all for one request, the first included; default 5.
    pub max_attempts: u32,
    /// The longest `Retry-After` the run will honour; a longer one fails the request
    /// rather than stall the run. Default 300 s.
    pub max_retry_wait: Duration,
    /// The first backoff; it doubles with each attempt. Default 500 ms.
    pub base_delay: Duration,
    /// The longest backoff between two attempts. Default 30 s.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            max_retry_wait: Duration::from_secs(300),
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

/// Why a request did not succeed, as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The HTTP status, when there was an answer.
    pub http_status: Option<u16>,
    /// DigiCert's error code, when the body had one.
    pub code: Option<String>,
    /// DigiCert's message, or a description of what went wrong.
    pub message: String,
}

/// What to do after one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A 2xx: done.
    Success,
    /// Worth another try, after at least `wait` when the server asked for one.
    Retry {
        /// The server's `Retry-After`, already checked against `max_retry_wait`.
        wait: Option<Duration>,
        /// The failure to report if no attempt is left.
        failure: Failure,
        /// A 429: the whole run should slow down, not only this request.
        throttled: bool,
    },
    /// Final: another try would get the same answer.
    Fail(Failure),
}

impl RetryPolicy {
    /// Judges one attempt's result.
    ///
    /// Transport failures and 408/429/500/502/503/504 are retried. That is safe for
    /// this endpoint even when the first request did reach the server: the PUT only
    /// adds addresses and the server drops duplicates, so a repeat changes nothing.
    /// Every other status is final; a 3xx is not followed, since the key would travel
    /// to wherever it points.
    pub fn judge(&self, result: &Result<Reply, TransportError>, now: SystemTime) -> Verdict {
        let reply = match result {
            Ok(reply) => reply,
            Err(error) => {
                let failure = Failure {
                    http_status: None,
                    code: None,
                    message: error.to_string(),
                };
                return if error.is_transient() {
                    Verdict::Retry {
                        wait: None,
                        failure,
                        throttled: false,
                    }
                } else {
                    Verdict::Fail(failure)
                };
            }
        };
        if (200..300).contains(&reply.status) {
            return Verdict::Success;
        }
        let failure = failure_of(reply);
        if !matches!(reply.status, 408 | 429 | 500 | 502 | 503 | 504) {
            return Verdict::Fail(failure);
        }
        let wait = match reply
            .retry_after
            .as_deref()
            .map(|v| parse_retry_after(v, now))
        {
            Some(Some(wait)) if wait > self.max_retry_wait => {
                return Verdict::Fail(Failure {
                    message: format!(
                        "the server asked to wait {} s before retrying (Retry-After), more than --max-retry-wait {} s; {}",
                        wait.as_secs(),
                        self.max_retry_wait.as_secs(),
                        failure.message
                    ),
                    ..failure
                });
            }
            Some(wait) => wait,
            None => None,
        };
        Verdict::Retry {
            wait,
            failure,
            throttled: reply.status == 429,
        }
    }

    /// The wait before attempt `next` (2 for the first retry): exponential, with
    /// half of it random so that workers that failed together do not retry together.
    /// A server's `Retry-After` is a floor, jittered upwards by up to 20%.
    pub fn backoff(
        &self,
        next: u32,
        server_wait: Option<Duration>,
        rng: &mut fastrand::Rng,
    ) -> Duration {
        let doublings = next.saturating_sub(2).min(20);
        let exponential = self
            .base_delay
            .saturating_mul(1 << doublings)
            .min(self.max_delay);
        let half = exponential / 2;
        let own = half + half.mul_f64(rng.f64());
        match server_wait {
            Some(wait) => {
                wait + wait.mul_f64(rng.f64() * 0.2) + Duration::from_millis(rng.u64(0..50))
            }
            None => own,
        }
    }
}

/// The report's view of a non-2xx answer.
fn failure_of(reply: &Reply) -> Failure {
    let (code, message) = api_error::parse(&reply.body).unwrap_or((None, None));
    let message = match (reply.status, message) {
        (300..=399, _) => format!(
            "redirected to {}; redirects are not followed, since the API key would travel with them",
            location_host(reply.location.as_deref())
        ),
        (_, Some(message)) => message,
        (status, None) => format!("HTTP {status} {}", reason_phrase(status)),
    };
    Failure {
        http_status: Some(reply.status),
        code,
        message,
    }
}

/// The host a `Location` names, or a description when it names none.
fn location_host(location: Option<&str>) -> String {
    let Some(location) = location else {
        return "nowhere (no Location header)".into();
    };
    match location.parse::<ureq::http::Uri>() {
        Ok(uri) => match uri.host() {
            Some(host) => format!("host {host}"),
            None => "a path on the same host".into(),
        },
        Err(_) => "an unreadable Location".into(),
    }
}

fn reason_phrase(status: u16) -> &'static str {
    ureq::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("")
}

/// Reads `Retry-After` in either form: delta-seconds or an HTTP-date. A date in the
/// past means "now"; anything unreadable is ignored.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, retry_after: Option<&str>, body: &str) -> Result<Reply, TransportError> {
        Ok(Reply {
            status,
            retry_after: retry_after.map(str::to_string),
            location: None,
            body: body.as_bytes().to_vec(),
        })
    }

    #[test]
    fn statuses_that_are_retried_and_those_that_are_final() {
        let policy = RetryPolicy::default();
        let now = SystemTime::now();
        for status in [408, 429, 500, 502, 503, 504] {
            assert!(
                matches!(
                    policy.judge(&reply(status, None, ""), now),
                    Verdict::Retry { .. }
                ),
                "{status}"
            );
        }
        for status in [301, 302, 400, 401, 403, 404, 409, 422, 501] {
            assert!(
                matches!(
                    policy.judge(&reply(status, None, ""), now),
                    Verdict::Fail(_)
                ),
                "{status}"
            );
        }
        for status in [200, 201, 204] {
            assert_eq!(
                policy.judge(&reply(status, None, ""), now),
                Verdict::Success
            );
        }
    }

    #[test]
    fn transport_failures_retry_unless_fatal() {
        let policy = RetryPolicy::default();
        let now = SystemTime::now();
        let timeout = Err(TransportError::Timeout);
        assert!(matches!(policy.judge(&timeout, now), Verdict::Retry { .. }));
        let reset = Err(TransportError::Connection("reset".into()));
        assert!(matches!(policy.judge(&reset, now), Verdict::Retry { .. }));
        let tls = Err(TransportError::Fatal("certificate".into()));
        assert!(matches!(policy.judge(&tls, now), Verdict::Fail(_)));
    }

    #[test]
    fn failures_carry_digicert_code_and_message() {
        let body = r#"{"errors":[{"code":"access_denied","message":"wrong kind of key"}]}"#;
        let verdict = RetryPolicy::default().judge(&reply(403, None, body), SystemTime::now());
        assert_eq!(
            verdict,
            Verdict::Fail(Failure {
                http_status: Some(403),
                code: Some("access_denied".into()),
                message: "wrong kind of key".into()
            })
        );
        let Verdict::Fail(plain) =
            RetryPolicy::default().judge(&reply(404, None, "<html>"), SystemTime::now())
        else {
            panic!("404 is final");
        };
        assert_eq!(plain.message, "HTTP 404 Not Found");
    }

    #[test]
    fn retry_after_in_both_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(42));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(42))
        );
        let past = httpdate::fmt_http_date(now - Duration::from_secs(42));
        assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-3", now), None);
    }

    #[test]
    fn a_retry_after_beyond_the_cap_fails_with_a_message() {
        let policy = RetryPolicy {
            max_retry_wait: Duration::from_secs(10),
            ..RetryPolicy::default()
        };
        let Verdict::Fail(failure) = policy.judge(&reply(429, Some("3600"), ""), SystemTime::now())
        else {
            panic!("a wait over the cap is final");
        };
        assert!(
            failure.message.contains("--max-retry-wait"),
            "{}",
            failure.message
        );
        assert_eq!(failure.http_status, Some(429));
    }

    #[test]
    fn a_redirect_names_its_host() {
        let redirect = Ok(Reply {
            status: 302,
            retry_after: None,
            location: Some("http://evil.example:8080/steal".into()),
            body: vec![],
        });
        let Verdict::Fail(failure) = RetryPolicy::default().judge(&redirect, SystemTime::now())
        else {
            panic!("redirects are final");
        };
        assert!(
            failure.message.contains("host evil.example"),
            "{}",
            failure.message
        );
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let policy = RetryPolicy::default();
        let mut rng = fastrand::Rng::with_seed(7);
        for next in 2..12 {
            let full = policy
                .base_delay
                .saturating_mul(1 << (next - 2))
                .min(policy.max_delay);
            for _ in 0..50 {
                let wait = policy.backoff(next, None, &mut rng);
                assert!(wait >= full / 2 && wait <= full, "attempt {next}: {wait:?}");
            }
        }
        let asked = Duration::from_secs(10);
        for _ in 0..50 {
            let wait = policy.backoff(2, Some(asked), &mut rng);
            assert!(wait >= asked && wait <= asked.mul_f64(1.2) + Duration::from_millis(50));
        }
    }
}
