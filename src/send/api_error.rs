//! DigiCert's error bodies: `{"errors":[{"code":"...","message":"..."}]}`.

use serde::Deserialize;

#[derive(Deserialize)]
struct Body {
    errors: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    code: Option<String>,
    message: Option<String>,
}

/// The first error's code and message, when the body has DigiCert's shape. Codes may
/// carry a `|suffix` (`not_found|route`); they are kept whole.
pub fn parse(body: &[u8]) -> Option<(Option<String>, Option<String>)> {
    let parsed: Body = serde_json::from_slice(body).ok()?;
    let first = parsed.errors.into_iter().next()?;
    Some((first.code, first.message))
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn reads_the_first_error() {
        let body = br#"{"errors":[{"code":"invalid_email","message":"bad"},{"code":"x"}]}"#;
        assert_eq!(
            parse(body),
            Some((Some("invalid_email".into()), Some("bad".into())))
        );
        let suffixed = br#"{"errors":[{"code":"not_found|route"}]}"#;
        assert_eq!(
            parse(suffixed),
            Some((Some("not_found|route".into()), None))
        );
    }

    #[test]
    fn anything_else_is_none() {
        for body in [
            &b""[..],
            b"<html>",
            b"{}",
            br#"{"errors":[]}"#,
            b"\xff\xfe",
            br#"{"errors":"x"}"#,
        ] {
            assert_eq!(parse(body), None, "{body:?}");
        }
    }
}
