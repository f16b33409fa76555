//! The seam between the send loop and the network: one call per HTTP attempt.
//! The send loop knows nothing of ureq; tests and benches may put anything here.

use crate::key::ApiKey;
use std::fmt;

/// What came back from the server: a status line, the headers that matter to the
/// retry decision, and the start of the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The HTTP status code.
    pub status: u16,
    /// The raw `Retry-After` header, when present.
    pub retry_after: Option<String>,
    /// The raw `Location` header, when present (3xx answers).
    pub location: Option<String>,
    /// The body, cut at [`BODY_LIMIT`] bytes.
    pub body: Vec<u8>,
}

/// The most of a response body that is ever read: DigiCert's error bodies are a few
/// hundred bytes, and a huge or endless body must not exhaust memory.
pub const BODY_LIMIT: u64 = 64 * 1024;

/// Why an attempt got no answer at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportError {
    /// No answer within `--timeout` (connecting, sending or waiting).
    Timeout,
    /// The connection could not be made or was lost before an answer: refused,
    /// reset, closed early. Worth another try.
    Connection(String),
    /// A failure that another try will not fix: a bad URL, a TLS certificate that
    /// does not verify, a host name that does not resolve.
    Fatal(String),
}

impl TransportError {
    /// Whether another attempt may succeed.
    pub fn is_transient(&self) -> bool {
        !matches!(self, TransportError::Fatal(_))
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransportError::Timeout => f.write_str("no answer within --timeout"),
            TransportError::Connection(detail) => write!(f, "connection failed: {detail}"),
            TransportError::Fatal(detail) => f.write_str(detail),
        }
    }
}

/// One HTTP exchange with the emergency-emails endpoint.
pub trait Transport: Sync {
    /// `PUT {base}/account/emergency-emails` with `emails` for `key`.
    fn put_emails(&self, key: &ApiKey, emails: &[&str]) -> Result<Reply, TransportError>;

    /// `GET {base}/account/emergency-emails` for `key`: read-only, for
    /// `--check-keys`. The default refuses, so that fakes written for PUTs alone
    /// need not grow a GET they never use.
    fn get_emails(&self, key: &ApiKey) -> Result<Reply, TransportError> {
        let _ = key;
        Err(TransportError::Fatal(
            "this transport cannot send GET requests".into(),
        ))
    }
}
