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

/// The longest error code kept; DigiCert's are a few words.
const CODE_LIMIT: usize = 100;
/// The longest error message kept.
const MESSAGE_LIMIT: usize = 500;

/// The first error's code and message, when the body has DigiCert's shape. Codes may
/// carry a `|suffix` (`not_found|route`); they are kept whole. Both are server text
/// bound for reports and terminals, so control characters are replaced and the
/// length is bounded here, once, for every later use.
pub fn parse(body: &[u8]) -> Option<(Option<String>, Option<String>)> {
    let parsed: Body = serde_json::from_slice(body).ok()?;
    let first = parsed.errors.into_iter().next()?;
    let code = first.code.map(|c| clean(&c, CODE_LIMIT));
    let message = first.message.map(|m| clean(&m, MESSAGE_LIMIT));
    Some((code, message))
}

fn clean(text: &str, max: usize) -> String {
    crate::term::clean(text, max).trim().to_string()
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
    fn server_text_is_cleaned_and_bounded() {
        let long = "m".repeat(2000);
        let body = format!(r#"{{"errors":[{{"code":"a\u001b[31mb","message":"{long}\r\n"}}]}}"#);
        let (code, message) = parse(body.as_bytes()).unwrap();
        assert_eq!(code.as_deref(), Some("a [31mb"));
        assert_eq!(message.unwrap().chars().count(), 501);
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
