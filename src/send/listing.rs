//! Reading the answer to `GET /account/emergency-emails`: the addresses an account
//! already holds. DigiCert documents the endpoint but not the answer's shape, so
//! this accepts the shapes it plausibly has and says "unknown" for anything else.

use serde_json::Value;

/// What a GET answer says about an account's current addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listing {
    /// The addresses the account holds, ASCII-lowercased, sorted and deduplicated so
    /// that [`Listing::holds`] is a case-insensitive binary search.
    Addresses(Vec<String>),
    /// The key was accepted but the answer could not be read as a list; why.
    Unknown(&'static str),
}

/// Names under which an object answer may carry the list. The first is what our
/// sandbox and the PUT body use; the others are tolerated guesses.
const LIST_FIELDS: [&str; 3] = ["emergency_contact_emails", "emergency_emails", "emails"];

/// Names under which one list item, when it is an object, may carry its address.
const ITEM_FIELDS: [&str; 3] = ["email", "email_address", "address"];

impl Listing {
    /// Whether the account holds `email`. Valid addresses are ASCII, so ASCII case
    /// folding is the whole comparison. Always false when the listing is unknown.
    pub fn holds(&self, email: &str) -> bool {
        match self {
            Listing::Addresses(list) => list.binary_search(&email.to_ascii_lowercase()).is_ok(),
            Listing::Unknown(_) => false,
        }
    }
}

/// Reads a GET answer's body. Accepted: an object with one of [`LIST_FIELDS`]
/// holding an array, or a bare array; items are strings or objects with one of
/// [`ITEM_FIELDS`]. One unreadable item makes the whole listing unknown, since the
/// address asked about could be that one.
pub fn parse(body: &[u8]) -> Listing {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Listing::Unknown("the answer had no body");
    }
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return Listing::Unknown("the answer was not JSON");
    };
    let items = match &value {
        Value::Array(items) => items,
        Value::Object(object) => match LIST_FIELDS.iter().find_map(|f| object.get(*f)) {
            Some(Value::Array(items)) => items,
            Some(_) => return Listing::Unknown("the answer's list was not an array"),
            None => return Listing::Unknown("the answer named no list of addresses"),
        },
        _ => return Listing::Unknown("the answer was neither an object nor an array"),
    };

    let mut addresses = Vec::with_capacity(items.len());
    for item in items {
        match address_of(item) {
            Some(address) => addresses.push(address.trim().to_ascii_lowercase()),
            None => return Listing::Unknown("an item of the answer's list held no address"),
        }
    }
    addresses.sort_unstable();
    addresses.dedup();
    Listing::Addresses(addresses)
}

fn address_of(item: &Value) -> Option<&str> {
    match item {
        Value::String(text) => Some(text),
        Value::Object(object) => ITEM_FIELDS
            .iter()
            .find_map(|f| object.get(*f).and_then(Value::as_str)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(list: &[&str]) -> Listing {
        Listing::Addresses(list.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn the_shapes_we_accept() {
        let cases: [(&str, Listing); 7] = [
            (
                r#"{"emergency_contact_emails":["B@x.example","a@x.example"]}"#,
                listed(&["a@x.example", "b@x.example"]),
            ),
            (r#"{"emails":["a@x.example"]}"#, listed(&["a@x.example"])),
            (
                r#"{"emergency_emails":[{"email":"a@x.example","id":7}]}"#,
                listed(&["a@x.example"]),
            ),
            (
                r#"["a@x.example", "A@X.example"]"#,
                listed(&["a@x.example"]),
            ),
            (
                r#"[{"email_address":" a@x.example "},{"address":"b@x.example"}]"#,
                listed(&["a@x.example", "b@x.example"]),
            ),
            (r#"{"emergency_contact_emails":[]}"#, listed(&[])),
            (r#"[]"#, listed(&[])),
        ];
        for (body, want) in cases {
            assert_eq!(parse(body.as_bytes()), want, "{body}");
        }
    }

    #[test]
    fn anything_else_is_unknown_and_never_panics() {
        for body in [
            &b""[..],
            b"  \n",
            b"<html>",
            b"\xff\xfe\x00",
            b"42",
            b"\"a@x.example\"",
            br#"{"data":{"emails":["a@x.example"]}}"#,
            br#"{"emails":"a@x.example"}"#,
            br#"["a@x.example", 7]"#,
            br#"[{"mail":"a@x.example"}]"#,
            br#"{"emergency_contact_emails":["a@x.exam"#,
        ] {
            assert!(
                matches!(parse(body), Listing::Unknown(_)),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn holding_is_case_insensitive_and_unknown_holds_nothing() {
        let listing = parse(br#"["Ops@X.example"]"#);
        assert!(listing.holds("ops@x.example"));
        assert!(listing.holds("OPS@x.EXAMPLE"));
        assert!(!listing.holds("dev@x.example"));
        assert!(!Listing::Unknown("why").holds("ops@x.example"));
    }
}
