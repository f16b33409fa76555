//! The hyper glue: accepts connections on 127.0.0.1, reads each request's body up to
//! a bound, asks the [`Handler`] what to answer, logs it, waits out any latency or
//! stall, and sends the answer or closes the connection.

use super::handler::{Body, Decision, Handler, MAX_BODY, Request};
use super::log::{LoggedRequest, RequestLog};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::service::service_fn;
use hyper::{Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// The header DigiCert reads the partner API key from.
const KEY_HEADER: &str = "x-partner-apikey";

/// Most connections served at once; more wait to be accepted. The runner opens a
/// handful; the bound keeps a runaway client from taking every file descriptor.
const MAX_CONNECTIONS: usize = 512;

/// Longest wait for a request's headers, and separately for its body, so that a
/// client sending a byte a minute cannot hold a connection forever.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Everything a connection task needs, shared by all of them.
#[derive(Debug)]
pub struct Shared {
    /// Decides each answer and holds the addresses.
    pub handler: Handler,
    /// Records what reached the sandbox.
    pub log: RequestLog,
    /// Added to every answer, and waited out before a played reset too.
    pub latency: Duration,
    /// How late a stalled answer comes.
    pub stall: Duration,
}

/// The error a service returns to make hyper drop the connection with no answer.
#[derive(Debug)]
struct CloseWithoutAnswer;

impl fmt::Display for CloseWithoutAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection closed without an answer")
    }
}

impl std::error::Error for CloseWithoutAnswer {}

/// Accepts connections until the runtime shuts down, one task per connection.
pub async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let stream = match listener.accept().await {
            Ok((stream, _peer)) => stream,
            Err(_) => {
                // Out of file descriptors and the like: wait a little rather than spin.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let _slot = slot;
            let service = service_fn(move |request| answer(request, Arc::clone(&shared)));
            // Keep-alive is hyper's default. A connection's error (a reset we played, a
            // client gone mid-request) ends only that connection.
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(READ_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Answers one request, or closes its connection when the handler says so.
async fn answer(
    request: hyper::Request<Incoming>,
    shared: Arc<Shared>,
) -> Result<Response<Full<Bytes>>, CloseWithoutAnswer> {
    let (parts, body) = request.into_parts();
    let body = tokio::time::timeout(READ_TIMEOUT, read_body(&parts.headers, body))
        .await
        .map_err(|_elapsed| CloseWithoutAnswer)??;
    let key = parts
        .headers
        .get(KEY_HEADER)
        .map(|value| String::from_utf8_lossy(value.as_bytes()));
    let view = Request {
        method: &parts.method,
        path: parts.uri.path(),
        key: key.as_deref(),
        body: match &body {
            Some(bytes) => Body::Complete(bytes),
            None => Body::TooLarge,
        },
    };

    let now = Instant::now();
    let decision = shared.handler.handle(&view, now);
    shared.log.record(LoggedRequest {
        at: now,
        time: jiff::Timestamp::now(),
        method: parts.method.to_string(),
        path: loggable_path(view.path, view.key),
        key_id: decision.key_id,
        status: decision.status,
        fault: decision.fault,
        stalled: decision.stall,
        emails: decision.emails,
    });

    let mut delay = shared.latency;
    if decision.stall {
        delay += shared.stall;
    }
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    to_response(decision).ok_or(CloseWithoutAnswer)
}

/// The path as logged: cut to 200 characters, and with the key replaced by `<key>`
/// should a confused client have put it there too.
fn loggable_path(path: &str, key: Option<&str>) -> String {
    let path: String = path.chars().take(200).collect();
    match key {
        Some(key) if !key.is_empty() => path.replace(key, "<key>"),
        _ => path,
    }
}

/// The body, or `None` when it is larger than [`MAX_BODY`]. A body that breaks off
/// (the client went away) ends the connection.
async fn read_body(
    headers: &hyper::HeaderMap,
    body: Incoming,
) -> Result<Option<Bytes>, CloseWithoutAnswer> {
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_BODY as u64) {
        return Ok(None);
    }
    // TODO: a chunked body over the bound is answered 413 with the rest unread, so the
    // kernel may reset the connection before the client reads that answer; only the
    // Content-Length path above is tested end to end.
    match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => Ok(Some(collected.to_bytes())),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => Ok(None),
        Err(_) => Err(CloseWithoutAnswer),
    }
}

/// The HTTP answer of a decision; `None` for no answer.
fn to_response(decision: Decision) -> Option<Response<Full<Bytes>>> {
    let status = StatusCode::from_u16(decision.status?).ok()?;
    let mut response = match decision.body {
        Some(json) => {
            let mut response = Response::new(Full::new(Bytes::from(json.to_string())));
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
        None => Response::new(Full::new(Bytes::new())),
    };
    *response.status_mut() = status;
    for (name, value) in decision.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    Some(response)
}

#[cfg(test)]
mod tests {
    use super::loggable_path;

    #[test]
    fn a_key_in_the_path_is_not_logged() {
        let cases = [
            ("/api/v1/account", Some("k-123456789"), "/api/v1/account"),
            (
                "/api/v1/k-123456789/x",
                Some("k-123456789"),
                "/api/v1/<key>/x",
            ),
            ("/api/v1/k-123456789/x", None, "/api/v1/k-123456789/x"),
            ("/a", Some(""), "/a"),
        ];
        for (path, key, logged) in cases {
            assert_eq!(loggable_path(path, key), logged, "{path}");
        }
        assert_eq!(loggable_path(&"x".repeat(500), None).len(), 200);
    }
}
