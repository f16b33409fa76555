//! The real transport: ureq, configured for an API that holds secrets in a header.

use super::transport::{BODY_LIMIT, Reply, Transport, TransportError};
use crate::key::ApiKey;
use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use ureq::Agent;
use ureq::http::Uri;
use ureq::tls::TlsConfig;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

/// The path of the endpoint below the base URL.
pub const EMAILS_PATH: &str = "/account/emergency-emails";

/// Sends requests through one ureq agent, shared by every worker so that
/// connections are pooled and reused.
pub struct HttpTransport {
    agent: Agent,
    url: String,
}

/// `ecbulk/0.1.0`, so that DigiCert can tell our traffic apart.
pub fn user_agent() -> String {
    format!("ecbulk/{}", env!("CARGO_PKG_VERSION"))
}

impl HttpTransport {
    /// A transport for `base_url` (no trailing slash) whose every request ends
    /// within `timeout`, trusting the CAs of `tls`.
    ///
    /// Proxies come from the environment (`HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`), except
    /// for a loopback base URL: a local sandbox is never reached through a proxy, which
    /// would carry the keys off the machine and fail besides.
    pub fn new(
        base_url: &str,
        timeout: Duration,
        pool_size: usize,
        tls: TlsConfig,
    ) -> HttpTransport {
        let loopback = is_loopback_url(base_url);
        let mut config = Agent::config_builder()
            .tls_config(tls)
            // Read the status ourselves: ureq's errors for 4xx/5xx drop the headers
            // (Retry-After) and the body (DigiCert's error code and message).
            .http_status_as_error(false)
            // Redirects would carry X-PARTNER-APIKEY to whatever host a 3xx names
            // (ureq strips only Authorization and Cookie) and turn a PUT into a GET.
            .max_redirects(0)
            // ureq has no timeouts by default: a server that never answers would
            // hang a worker forever.
            .timeout_global(Some(timeout))
            .timeout_connect(Some(timeout.min(Duration::from_secs(10))))
            .max_idle_connections_per_host(pool_size.max(1))
            .max_idle_connections(pool_size.max(1) * 2)
            .user_agent(user_agent());
        if loopback {
            config = config.proxy(None);
        }
        let config = config.build();
        HttpTransport {
            agent: Agent::with_parts(config, DefaultConnector::default(), LiteralFirst::default()),
            url: format!("{base_url}{EMAILS_PATH}"),
        }
    }
}

impl Transport for HttpTransport {
    fn put_emails(&self, key: &ApiKey, emails: &[&str]) -> Result<Reply, TransportError> {
        let body = serde_json::json!({ "emergency_contact_emails": emails }).to_string();
        let response = self
            .agent
            .put(&self.url)
            .header("X-PARTNER-APIKEY", key.expose())
            .header("Content-Type", "application/json")
            .send(body)
            .map_err(classify_error)?;
        read_reply(response)
    }

    fn get_emails(&self, key: &ApiKey) -> Result<Reply, TransportError> {
        // The same agent as the PUTs: the same timeouts, pool and no-redirect rule.
        let response = self
            .agent
            .get(&self.url)
            .header("X-PARTNER-APIKEY", key.expose())
            .header("Accept", "application/json")
            .call()
            .map_err(classify_error)?;
        read_reply(response)
    }
}

/// The status, the headers the retry rules need, and at most [`BODY_LIMIT`] bytes
/// of the body.
fn read_reply(response: ureq::http::Response<ureq::Body>) -> Result<Reply, TransportError> {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let status = response.status().as_u16();
    let retry_after = header("retry-after");
    let location = header("location");

    let mut body = Vec::new();
    let read = response
        .into_body()
        .into_reader()
        .take(BODY_LIMIT)
        .read_to_end(&mut body);
    // A 2xx whose body broke off is still a 2xx; for errors, the part read is
    // enough to show. A timeout while reading is still a timeout, though.
    if read.is_err_and(|error| error.kind() == std::io::ErrorKind::TimedOut) {
        return Err(TransportError::Timeout);
    }
    Ok(Reply {
        status,
        retry_after,
        location,
        body,
    })
}

/// ureq's resolver, except that a host written as an IP address is taken as it is.
///
/// ureq resolves the host before every request, pooled connection or not, and with a
/// timeout set (ours always is) it does so on a new thread each time. For an address
/// such as a local sandbox's `127.0.0.1` that thread would only parse the text, yet it
/// cost more than the rest of a request to a fast server. Names still go through
/// ureq's resolver, so they are looked up as often as ever.
#[derive(Debug, Default)]
struct LiteralFirst(DefaultResolver);

impl Resolver for LiteralFirst {
    fn resolve(
        &self,
        uri: &Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        match literal_address(uri) {
            Some(address) => {
                let mut addresses = self.empty();
                addresses.push(address);
                Ok(addresses)
            }
            None => self.0.resolve(uri, config, timeout),
        }
    }
}

/// The socket address of a URI whose host is an IP address, with the scheme's
/// default port when none is written; `None` for a host name.
fn literal_address(uri: &Uri) -> Option<SocketAddr> {
    let host = uri.host()?;
    let ip: IpAddr = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()?;
    let port = uri.port_u16().or(match uri.scheme_str()? {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    })?;
    Some(SocketAddr::new(ip, port))
}

/// Whether the URL's host is a loopback address or `localhost`.
pub fn is_loopback_url(url: &str) -> bool {
    url.parse::<ureq::http::Uri>()
        .ok()
        .and_then(|uri| uri.host().map(is_loopback_host))
        .unwrap_or(false)
}

/// Whether a host names this machine: `localhost`, 127.0.0.0/8 or ::1.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Sorts ureq's errors into "try again" and "give up". Messages never include the
/// request, so they cannot carry the key.
fn classify_error(error: ureq::Error) -> TransportError {
    use ureq::Error as E;
    match error {
        E::Timeout(_) => TransportError::Timeout,
        E::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => TransportError::Timeout,
        E::Io(io) => TransportError::Connection(io.to_string()),
        E::ConnectionFailed => TransportError::Connection("could not connect".into()),
        E::Protocol(p) => TransportError::Connection(format!("broken answer: {p}")),
        E::HostNotFound => TransportError::Fatal("host not found (check --base-url)".into()),
        other => TransportError::Fatal(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ip_hosts_skip_the_resolver() {
        let cases = [
            ("http://127.0.0.1:8080/a", Some("127.0.0.1:8080")),
            ("http://127.0.0.1/a", Some("127.0.0.1:80")),
            ("https://[::1]/a", Some("[::1]:443")),
            ("https://[::1]:9443/a", Some("[::1]:9443")),
            ("https://www.digicert.com/a", None),
            ("http://localhost:8080/a", None),
        ];
        for (url, want) in cases {
            let uri: Uri = url.parse().unwrap();
            let want = want.map(|w| w.parse::<SocketAddr>().unwrap());
            assert_eq!(literal_address(&uri), want, "{url}");
        }
    }
}
