//! From one request to the sandbox's answer, with no network in sight: routing, the
//! key check, the fault dice, the rolling windows and the body checks, in a fixed
//! and documented order. The server glue only reads the request and sends what this
//! decides, so every rule here is unit-tested without a socket.

use super::faults::{Dice, FaultRates};
use super::store::Store;
use super::windows::Windows;
use crate::email;
use crate::key::{ApiKey, KeyId};
use crate::limits::{Window, WindowSpec};
use hyper::Method;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

/// The path of DigiCert's Partner Subscriptions API, under which the sandbox serves.
pub const BASE_PATH: &str = "/partner-subscription/api/v1";

/// The one route the sandbox serves, below [`BASE_PATH`].
pub const EMAILS_ROUTE: &str = "/account/emergency-emails";

/// Largest request body read, 1 MiB: far above any real request (thousands of
/// addresses), small enough that a hostile client cannot exhaust memory.
pub const MAX_BODY: usize = 1 << 20;

/// Most `invalid_email` entries in one error body; any more are summed up in a last
/// entry, so that a huge body of bad addresses does not make a huger answer.
const MAX_EMAIL_ERRORS: usize = 1000;

/// What the handler needs to know of the configuration.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// Known keys; `None` knows every well-formed key.
    pub keys: Option<HashSet<String>>,
    /// Per-key rolling windows.
    pub limits: WindowSpec,
    /// Fault probabilities.
    pub rates: FaultRates,
    /// Seed of the fault dice.
    pub seed: u64,
    /// `Retry-After` seconds for 429 and 503, if any.
    pub retry_after: Option<u64>,
}

/// A request as the handler sees it: already read, nothing async left.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The HTTP method.
    pub method: &'a Method,
    /// The URL path, without the query.
    pub path: &'a str,
    /// The `X-PARTNER-APIKEY` header as sent; `None` when absent.
    pub key: Option<&'a str>,
    /// The body, read up to [`MAX_BODY`].
    pub body: Body<'a>,
}

/// A request body, whole or too large to read.
#[derive(Debug, Clone, Copy)]
pub enum Body<'a> {
    /// Every byte of the body (empty when there was none).
    Complete(&'a [u8]),
    /// The body is larger than [`MAX_BODY`]; the rest was not read.
    TooLarge,
}

/// A fault the dice played on a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The connection was closed with no answer.
    Reset,
    /// The request was answered 503.
    Fail,
}

impl Fault {
    /// The fault's name in the request log.
    pub fn as_str(self) -> &'static str {
        match self {
            Fault::Reset => "reset",
            Fault::Fail => "fail",
        }
    }
}

/// What to answer to one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The status to send; `None` closes the connection with no answer.
    pub status: Option<u16>,
    /// The JSON body, if the answer has one.
    pub body: Option<Value>,
    /// Extra headers (`Allow`, `Retry-After`, `Connection`).
    pub headers: Vec<(&'static str, String)>,
    /// Hold the answer back for the configured stall.
    pub stall: bool,
    /// The fault that decided the answer, if one did.
    pub fault: Option<Fault>,
    /// How many addresses the request body carried (0 for GET or an unreadable body).
    pub emails: usize,
    /// The key's log-safe id, when a key was sent.
    pub key_id: Option<KeyId>,
}

impl Decision {
    fn answer(status: u16, body: Option<Value>) -> Decision {
        Decision {
            status: Some(status),
            body,
            headers: Vec::new(),
            stall: false,
            fault: None,
            emails: 0,
            key_id: None,
        }
    }

    /// No answer at all: the connection is closed.
    fn reset() -> Decision {
        Decision {
            status: None,
            fault: Some(Fault::Reset),
            ..Decision::answer(0, None)
        }
    }

    /// An answer with DigiCert's error body: `{"errors":[{"code","message"}]}`.
    fn error(status: u16, code: &str, message: impl Into<String>) -> Decision {
        Decision::errors(status, vec![(code.to_owned(), message.into())])
    }

    fn errors(status: u16, errors: Vec<(String, String)>) -> Decision {
        let errors: Vec<Value> = errors
            .into_iter()
            .map(|(code, message)| json!({ "code": code, "message": message }))
            .collect();
        Decision::answer(status, Some(json!({ "errors": errors })))
    }

    fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Decision {
        self.headers.push((name, value.into()));
        self
    }
}

/// The sandbox's state and rules: known keys, windows, dice and stored addresses.
#[derive(Debug)]
pub struct Handler {
    keys: Option<HashSet<String>>,
    retry_after: Option<u64>,
    windows: Mutex<Windows>,
    dice: Mutex<Dice>,
    store: Mutex<Store>,
}

impl Handler {
    /// A handler playing `rules`, holding no addresses yet.
    pub fn new(rules: Rules) -> Handler {
        Handler {
            keys: rules.keys,
            retry_after: rules.retry_after,
            windows: Mutex::new(Windows::new(rules.limits)),
            dice: Mutex::new(Dice::new(rules.rates, rules.seed)),
            store: Mutex::new(Store::default()),
        }
    }

    /// Decides the answer to `request`, judged at `now`. The checks run in this order,
    /// and the first that fails answers:
    ///
    /// 1. Route: a path other than [`BASE_PATH`]`+`[`EMAILS_ROUTE`] → 404
    ///    `not_found|route`; another method than GET or PUT → 405 `method_not_allowed`
    ///    with `Allow: GET, PUT`. Neither counts against a window nor rolls dice.
    /// 2. Key: no or empty `X-PARTNER-APIKEY` → 401 `missing_api_key`; a key that
    ///    is not visible ASCII, or not in the known set → 401 `invalid_api_key`.
    ///    Unknown keys are not counted: their windows would belong to no account.
    /// 3. Dice: three draws for every request that got here (see [`Dice::roll`]).
    /// 4. Windows: the request is recorded in its key's windows, whatever it is
    ///    answered below: 429s, 503s and resets count, as the strictest reading.
    /// 5. Faults and limits: a reset closes the connection with no answer (and adds
    ///    nothing); a failure → 503 `service_unavailable`; a full window → 429
    ///    `request_limit_exceeded`. Both send `Retry-After` when it is configured.
    /// 6. GET → 200 `{"emergency_contact_emails": [...]}`. PUT: a body over
    ///    [`MAX_BODY`] → 413 `request_too_large`; not JSON → 400 `invalid_json`;
    ///    not an object with a non-empty array of strings `emergency_contact_emails`
    ///    → 400 `invalid_request`; any address failing [`email::check`] → 400 with one
    ///    `invalid_email` entry per bad address, and nothing added; else the addresses
    ///    join the key's list → 204.
    ///
    /// A stall rolled in step 3 holds back any answer of steps 5 and 6. Unknown JSON
    /// fields and the `Content-Type` header are not checked: DigiCert does not say
    /// what it does with them.
    pub fn handle(&self, request: &Request<'_>, now: Instant) -> Decision {
        let key_id = request.key.filter(|k| !k.is_empty()).map(KeyId::of);
        let mut decision = self.decide(request, now);
        decision.key_id = key_id;
        decision
    }

    fn decide(&self, request: &Request<'_>, now: Instant) -> Decision {
        if let Some(refusal) = route(request) {
            return refusal;
        }
        let key = match self.check_key(request.key) {
            Ok(key) => key,
            Err(refusal) => return refusal,
        };

        let roll = lock(&self.dice).roll();
        let over = lock(&self.windows).record(key, now);

        let mut decision = if roll.reset {
            Decision::reset()
        } else if roll.fail {
            let mut decision = self.busy(Decision::error(
                503,
                "service_unavailable",
                "the service is temporarily unavailable (a failure played by the sandbox)",
            ));
            decision.fault = Some(Fault::Fail);
            decision
        } else if let Some(window) = over {
            self.busy(limit_exceeded(window))
        } else if request.method == Method::GET {
            let emails = lock(&self.store).emails_of(key);
            Decision::answer(200, Some(json!({ "emergency_contact_emails": emails })))
        } else {
            self.put(key, request.body)
        };

        decision.stall = roll.stall && decision.status.is_some();
        if request.method == Method::PUT && decision.emails == 0 {
            decision.emails = count_emails(request.body);
        }
        decision
    }

    /// The key to file the request under, or the 401 that refuses it.
    fn check_key<'a>(&self, key: Option<&'a str>) -> Result<&'a str, Decision> {
        let Some(key) = key.filter(|k| !k.is_empty()) else {
            return Err(Decision::error(
                401,
                "missing_api_key",
                "the X-PARTNER-APIKEY header is missing or empty",
            ));
        };
        let known = match &self.keys {
            Some(keys) => keys.contains(key),
            None => ApiKey::parse(key).is_ok(),
        };
        if !known {
            // Never echo the key: the answer may end up in someone's log.
            return Err(Decision::error(
                401,
                "invalid_api_key",
                "the API key in X-PARTNER-APIKEY is not valid",
            ));
        }
        Ok(key)
    }

    /// Adds `Retry-After` to a 429 or 503 when the sandbox is told to send one.
    fn busy(&self, decision: Decision) -> Decision {
        match self.retry_after {
            Some(seconds) => decision.with_header("Retry-After", seconds.to_string()),
            None => decision,
        }
    }

    /// Checks a PUT's body and, when every address is valid, stores them.
    fn put(&self, key: &str, body: Body<'_>) -> Decision {
        let emails = match parse_body(body) {
            Ok(emails) => emails,
            Err(refusal) => return refusal,
        };
        let count = emails.len();

        let bad: Vec<(String, String)> = emails
            .iter()
            .filter_map(|address| {
                let reason = email::check(address).err()?;
                let shown: String = address.chars().take(256).collect();
                let message = format!("'{shown}' is not a valid email address: {reason}");
                Some(("invalid_email".to_owned(), message))
            })
            .collect();
        let mut decision = if bad.is_empty() {
            lock(&self.store).add(key, &emails);
            Decision::answer(204, None)
        } else {
            Decision::errors(400, cap_errors(bad))
        };
        decision.emails = count;
        decision
    }

    /// The addresses held for `key`, in order.
    pub fn emails_of(&self, key: &str) -> Vec<String> {
        lock(&self.store).emails_of(key)
    }

    /// Adds addresses to `key`'s list without any check, as a test's starting state.
    pub fn preload<S: AsRef<str>>(&self, key: &str, emails: &[S]) {
        lock(&self.store).add(key, emails);
    }
}

/// The 404 or 405 for a request outside the one route.
fn route(request: &Request<'_>) -> Option<Decision> {
    let on_route = request
        .path
        .strip_prefix(BASE_PATH)
        .is_some_and(|rest| rest == EMAILS_ROUTE);
    if !on_route {
        return Some(Decision::error(
            404,
            "not_found|route",
            format!("no such route; the sandbox serves only {BASE_PATH}{EMAILS_ROUTE}"),
        ));
    }
    if request.method != Method::GET && request.method != Method::PUT {
        let refusal = Decision::error(
            405,
            "method_not_allowed",
            format!("{EMAILS_ROUTE} takes GET and PUT only"),
        );
        return Some(refusal.with_header("Allow", "GET, PUT"));
    }
    None
}

fn limit_exceeded(window: Window) -> Decision {
    Decision::error(
        429,
        "request_limit_exceeded",
        format!(
            "more than {} requests within {} s for this API key",
            window.max,
            window.period.as_secs_f64()
        ),
    )
}

/// The addresses of a PUT body, or the 413/400 that refuses it.
fn parse_body(body: Body<'_>) -> Result<Vec<String>, Decision> {
    let invalid = |message: String| Decision::error(400, "invalid_request", message);
    let bytes = match body {
        Body::Complete(bytes) => bytes,
        Body::TooLarge => {
            let refusal = Decision::error(
                413,
                "request_too_large",
                format!("the request body is larger than {MAX_BODY} bytes"),
            );
            return Err(refusal.with_header("Connection", "close"));
        }
    };
    let value: Value = serde_json::from_slice(bytes).map_err(|error| {
        Decision::error(
            400,
            "invalid_json",
            format!("the body is not JSON: {error}"),
        )
    })?;

    let Value::Object(mut object) = value else {
        return Err(invalid("the body must be a JSON object".into()));
    };
    let Some(list) = object.remove("emergency_contact_emails") else {
        return Err(invalid("the body has no 'emergency_contact_emails'".into()));
    };
    let Value::Array(items) = list else {
        return Err(invalid(
            "'emergency_contact_emails' must be an array of strings".into(),
        ));
    };
    if items.is_empty() {
        return Err(invalid("'emergency_contact_emails' is empty".into()));
    }
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::String(text) => Ok(text),
            _ => Err(invalid(format!(
                "'emergency_contact_emails'[{i}] is not a string"
            ))),
        })
        .collect()
}

/// How many addresses a PUT body carried, for the log, whatever its answer.
fn count_emails(body: Body<'_>) -> usize {
    let Body::Complete(bytes) = body else {
        return 0;
    };
    serde_json::from_slice::<Value>(bytes)
        .ok()
        .and_then(|value| {
            value
                .get("emergency_contact_emails")
                .and_then(Value::as_array)
                .map(Vec::len)
        })
        .unwrap_or(0)
}

fn cap_errors(mut errors: Vec<(String, String)>) -> Vec<(String, String)> {
    if errors.len() > MAX_EMAIL_ERRORS {
        let more = errors.len() - MAX_EMAIL_ERRORS;
        errors.truncate(MAX_EMAIL_ERRORS);
        errors.push((
            "invalid_email".into(),
            format!("and {more} more invalid addresses"),
        ));
    }
    errors
}

/// Locks a mutex; a panic elsewhere while holding it leaves data that is still
/// consistent for this use (each update is a single step), so poisoning is ignored.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const PATH: &str = "/partner-subscription/api/v1/account/emergency-emails";
    const KEY: &str = "key-0123456789abcdef";

    /// `Rules::default()` has no windows, so only what a test sets applies.
    fn handler(rules: Rules) -> Handler {
        Handler::new(rules)
    }

    fn put<'a>(key: Option<&'a str>, body: &'a str) -> Request<'a> {
        Request {
            method: &Method::PUT,
            path: PATH,
            key,
            body: Body::Complete(body.as_bytes()),
        }
    }

    fn error_codes(decision: &Decision) -> Vec<String> {
        decision.body.as_ref().map_or(Vec::new(), |body| {
            body["errors"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| e["code"].as_str().unwrap_or("?").to_owned())
                .collect()
        })
    }

    #[test]
    fn put_bodies_table() {
        let cases: &[(&str, u16, &[&str])] = &[
            (
                r#"{"emergency_contact_emails":["a@example.com"]}"#,
                204,
                &[],
            ),
            (
                r#"{"emergency_contact_emails":["a@example.com"],"extra":1}"#,
                204,
                &[],
            ),
            ("", 400, &["invalid_json"]),
            ("not json", 400, &["invalid_json"]),
            (r#"{"emergency_contact_emails":["#, 400, &["invalid_json"]),
            (r#"["a@example.com"]"#, 400, &["invalid_request"]),
            (r#"{"emails":["a@example.com"]}"#, 400, &["invalid_request"]),
            (
                r#"{"emergency_contact_emails":"a@example.com"}"#,
                400,
                &["invalid_request"],
            ),
            (
                r#"{"emergency_contact_emails":[]}"#,
                400,
                &["invalid_request"],
            ),
            (
                r#"{"emergency_contact_emails":["a@example.com",7]}"#,
                400,
                &["invalid_request"],
            ),
            (
                r#"{"emergency_contact_emails":["nope"]}"#,
                400,
                &["invalid_email"],
            ),
            (
                r#"{"emergency_contact_emails":["x@","ok@example.com","a b@c.de"]}"#,
                400,
                &["invalid_email", "invalid_email"],
            ),
        ];
        for (body, status, codes) in cases {
            let decision = handler(Rules::default()).handle(&put(Some(KEY), body), Instant::now());
            assert_eq!(decision.status, Some(*status), "{body}");
            assert_eq!(error_codes(&decision), *codes, "{body}");
        }
    }

    #[test]
    fn invalid_addresses_are_named_and_nothing_is_added() {
        let handler = handler(Rules::default());
        let body = r#"{"emergency_contact_emails":["good@example.com","bad@@example.com"]}"#;
        let decision = handler.handle(&put(Some(KEY), body), Instant::now());
        let message = decision.body.unwrap()["errors"][0]["message"].to_string();
        assert!(message.contains("bad@@example.com"), "{message}");
        assert!(handler.emails_of(KEY).is_empty());
        assert_eq!(decision.emails, 2);
    }

    #[test]
    fn puts_add_and_dedupe_and_get_lists() {
        let handler = handler(Rules::default());
        let now = Instant::now();
        let first = r#"{"emergency_contact_emails":["A@example.com","b@example.com"]}"#;
        let second = r#"{"emergency_contact_emails":["a@EXAMPLE.com","c@example.com"]}"#;
        assert_eq!(
            handler.handle(&put(Some(KEY), first), now).status,
            Some(204)
        );
        assert_eq!(
            handler.handle(&put(Some(KEY), second), now).status,
            Some(204)
        );

        let get = Request {
            method: &Method::GET,
            ..put(Some(KEY), "")
        };
        let decision = handler.handle(&get, now);
        assert_eq!(decision.status, Some(200));
        assert_eq!(
            decision.body.unwrap(),
            json!({"emergency_contact_emails": ["A@example.com", "b@example.com", "c@example.com"]})
        );
        assert!(handler.emails_of("another-key-000").is_empty());
    }

    #[test]
    fn routes_methods_and_keys_table() {
        let keys: HashSet<String> = [KEY.to_owned()].into();
        let body = r#"{"emergency_contact_emails":["a@example.com"]}"#;
        let cases: &[(&Method, &str, Option<&str>, u16, &str)] = &[
            (&Method::PUT, PATH, Some(KEY), 204, ""),
            (
                &Method::PUT,
                "/partner-subscription/api/v1/account",
                Some(KEY),
                404,
                "not_found|route",
            ),
            (
                &Method::PUT,
                "/account/emergency-emails",
                Some(KEY),
                404,
                "not_found|route",
            ),
            (
                &Method::PUT,
                &format!("{PATH}/"),
                Some(KEY),
                404,
                "not_found|route",
            ),
            (&Method::POST, PATH, Some(KEY), 405, "method_not_allowed"),
            (&Method::DELETE, PATH, None, 405, "method_not_allowed"),
            (&Method::PUT, PATH, None, 401, "missing_api_key"),
            (&Method::PUT, PATH, Some(""), 401, "missing_api_key"),
            (&Method::GET, PATH, None, 401, "missing_api_key"),
            (
                &Method::PUT,
                PATH,
                Some("someone-else"),
                401,
                "invalid_api_key",
            ),
            (
                &Method::GET,
                PATH,
                Some("someone-else"),
                401,
                "invalid_api_key",
            ),
        ];
        for (method, path, key, status, code) in cases {
            let handler = handler(Rules {
                keys: Some(keys.clone()),
                ..Rules::default()
            });
            let request = Request {
                method,
                path,
                key: *key,
                body: Body::Complete(body.as_bytes()),
            };
            let decision = handler.handle(&request, Instant::now());
            assert_eq!(decision.status, Some(*status), "{method} {path} {key:?}");
            let codes = error_codes(&decision);
            assert_eq!(
                codes.first().map_or("", String::as_str),
                *code,
                "{method} {path}"
            );
        }
    }

    #[test]
    fn without_a_key_set_only_malformed_keys_are_refused() {
        let handler = handler(Rules::default());
        let body = r#"{"emergency_contact_emails":["a@example.com"]}"#;
        for (key, status) in [
            ("anything-goes", 204),
            ("has space", 401),
            ("tab\tkey", 401),
        ] {
            let decision = handler.handle(&put(Some(key), body), Instant::now());
            assert_eq!(decision.status, Some(status), "{key:?}");
        }
    }

    #[test]
    fn error_bodies_never_echo_the_key() {
        let keys: HashSet<String> = ["known-key-1234".to_owned()].into();
        let handler = handler(Rules {
            keys: Some(keys),
            ..Rules::default()
        });
        let secret = "SECRET-KEY-value-9876";
        let decision = handler.handle(&put(Some(secret), "{}"), Instant::now());
        assert!(!decision.body.unwrap().to_string().contains("9876"));
        assert_eq!(decision.key_id, Some(KeyId::of(secret)));
    }

    #[test]
    fn the_window_refuses_with_429_and_retry_after() {
        let handler = Handler::new(Rules {
            limits: "2/1s".parse().unwrap(),
            retry_after: Some(7),
            ..Rules::default()
        });
        let body = r#"{"emergency_contact_emails":["a@example.com"]}"#;
        let start = Instant::now();
        let statuses: Vec<_> = [0, 10, 20, 1005, 1025]
            .iter()
            .map(|&ms| {
                let at = start + Duration::from_millis(ms);
                handler.handle(&put(Some(KEY), body), at)
            })
            .collect();
        let codes: Vec<_> = statuses.iter().map(|d| d.status).collect();
        // At 1005 ms only the refused request at 20 ms keeps the window full.
        assert_eq!(
            codes,
            [Some(204), Some(204), Some(429), Some(429), Some(204)]
        );
        assert_eq!(error_codes(&statuses[2]), ["request_limit_exceeded"]);
        assert_eq!(statuses[2].headers, [("Retry-After", "7".to_owned())]);
        // Another key has its own windows.
        assert_eq!(
            handler
                .handle(&put(Some("other-key-42"), body), start)
                .status,
            Some(204)
        );
    }

    #[test]
    fn unknown_keys_and_wrong_routes_do_not_count_against_a_window() {
        let keys: HashSet<String> = [KEY.to_owned()].into();
        let handler = Handler::new(Rules {
            keys: Some(keys),
            limits: "1/1s".parse().unwrap(),
            ..Rules::default()
        });
        let now = Instant::now();
        let wrong_route = Request {
            path: "/elsewhere",
            ..put(Some(KEY), "")
        };
        assert_eq!(handler.handle(&wrong_route, now).status, Some(404));
        assert_eq!(
            handler.handle(&put(Some("stranger"), ""), now).status,
            Some(401)
        );
        let body = r#"{"emergency_contact_emails":["a@example.com"]}"#;
        assert_eq!(handler.handle(&put(Some(KEY), body), now).status, Some(204));
    }

    #[test]
    fn faults_take_precedence_in_a_fixed_order() {
        let body = r#"{"emergency_contact_emails":["a@example.com"]}"#;
        let rates = |fail, reset, stall| FaultRates { fail, reset, stall };
        let cases = [
            (rates(1.0, 1.0, 1.0), None, Some(Fault::Reset), false),
            (rates(1.0, 0.0, 0.0), Some(503), Some(Fault::Fail), false),
            (rates(1.0, 0.0, 1.0), Some(503), Some(Fault::Fail), true),
            (rates(0.0, 0.0, 1.0), Some(204), None, true),
            (rates(0.0, 0.0, 0.0), Some(204), None, false),
        ];
        for (rates, status, fault, stall) in cases {
            let handler = handler(Rules {
                rates,
                retry_after: Some(3),
                ..Rules::default()
            });
            let decision = handler.handle(&put(Some(KEY), body), Instant::now());
            assert_eq!(
                (decision.status, decision.fault, decision.stall),
                (status, fault, stall),
                "{rates:?}"
            );
            if status == Some(503) {
                assert_eq!(error_codes(&decision), ["service_unavailable"]);
                assert_eq!(decision.headers, [("Retry-After", "3".to_owned())]);
            }
            // A reset or a failure adds nothing.
            let added = handler.emails_of(KEY).len();
            assert_eq!(added, usize::from(status == Some(204)), "{rates:?}");
        }
    }

    #[test]
    fn a_body_too_large_is_413() {
        let request = Request {
            body: Body::TooLarge,
            ..put(Some(KEY), "")
        };
        let decision = handler(Rules::default()).handle(&request, Instant::now());
        assert_eq!(decision.status, Some(413));
        assert_eq!(error_codes(&decision), ["request_too_large"]);
    }

    #[test]
    fn a_flood_of_bad_addresses_gets_a_bounded_answer() {
        let many: Vec<String> = (0..5000).map(|i| format!("\"bad{i}\"")).collect();
        let body = format!(r#"{{"emergency_contact_emails":[{}]}}"#, many.join(","));
        let decision = handler(Rules::default()).handle(&put(Some(KEY), &body), Instant::now());
        let codes = error_codes(&decision);
        assert_eq!(codes.len(), MAX_EMAIL_ERRORS + 1);
        assert_eq!(decision.emails, 5000);
    }
}
