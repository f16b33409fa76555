//! Sending: the HTTP client behind a small seam, the retry rules, the pace (global
//! rate and per-key windows), and the worker pool that puts them together.

pub mod api_error;
pub mod dispatch;
pub mod http;
pub mod key_windows;
pub mod listing;
pub mod pacing;
pub mod retry;
pub mod tls;
pub mod transport;

pub use dispatch::{DispatchSettings, Event, Outcome, Request, dispatch, dispatch_requests};
pub use transport::{Reply, Transport, TransportError};
