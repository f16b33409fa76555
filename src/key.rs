//! API keys as secrets: a key is only ever shown as its last four characters
//! (as DigiCert's own key listing does) or as a stable hash-based id.

use sha2::{Digest, Sha256};
use std::fmt;

/// A partner API key. The full value is reachable only through [`ApiKey::expose`],
/// which the HTTP client calls to fill the request header; `Debug` and `Display`
/// show `…` and the last four characters.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ApiKey(Box<str>);

/// Why a key cell cannot be used as a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyError {
    /// The cell is empty after trimming.
    Empty,
    /// The cell holds a space, a control character (tab, line break, NUL) or non-ASCII text.
    NotVisibleAscii,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::Empty => f.write_str("the API key is empty"),
            KeyError::NotVisibleAscii => {
                f.write_str("the API key holds a space, control character or non-ASCII character")
            }
        }
    }
}

impl ApiKey {
    /// Accepts an already trimmed key cell. A key must be non-empty visible ASCII
    /// (`!` to `~`): anything else would be mangled or refused in an HTTP header.
    pub fn parse(text: &str) -> Result<ApiKey, KeyError> {
        if text.is_empty() {
            return Err(KeyError::Empty);
        }
        if !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(KeyError::NotVisibleAscii);
        }
        Ok(ApiKey(text.into()))
    }

    /// The full key, for the request header and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The key as DigiCert shows it: `…` and the last four characters.
    pub fn masked(&self) -> String {
        mask(&self.0)
    }

    /// The first 12 hex digits of the key's SHA-256: stable across runs, safe to log.
    pub fn id(&self) -> KeyId {
        KeyId::of(&self.0)
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({})", self.masked())
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

/// Shows `…` and the last four characters of any key-like text, valid or not.
/// Control characters among those four are replaced so that a hostile cell
/// cannot reach a terminal or a report through the mask. Keys of eight
/// characters or fewer show only `…`, since four would be half the secret.
pub fn mask(text: &str) -> String {
    Masked::of(text).to_string()
}

/// `text` as a message may show it: masked like a key when it could be one, that is
/// when it holds a run of 16 or more ASCII letters and digits. Messages quote cells
/// of a header, and a file without one has its first data row, key and all, taken
/// for the header.
pub fn redact(text: &str) -> std::borrow::Cow<'_, str> {
    const KEY_LIKE: usize = 16;
    let longest_run = text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .map(str::len)
        .max()
        .unwrap_or(0);
    match longest_run >= KEY_LIKE {
        true => std::borrow::Cow::Owned(mask(text)),
        false => std::borrow::Cow::Borrowed(text),
    }
}

/// [`mask`]'s text, held in place: a plan keeps one for each of possibly hundreds of
/// thousands of accounts, and an allocation each would cost more than the text.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Masked {
    /// `…` (3 bytes) and four characters of up to 4 bytes each.
    bytes: [u8; 19],
    len: u8,
}

impl Masked {
    /// The mask of any key-like text, as [`mask`] describes it.
    pub fn of(text: &str) -> Masked {
        let mut masked = Masked {
            bytes: [0; 19],
            len: 0,
        };
        masked.push('…');
        // Keys are ASCII, so the count is nearly always the length; the tail is
        // found from the end without collecting the characters.
        if text.chars().nth(8).is_some() {
            let tail = text.char_indices().rev().nth(3).map_or(0, |(at, _)| at);
            for c in text[tail..].chars() {
                masked.push(if c.is_control() { '?' } else { c });
            }
        }
        masked
    }

    fn push(&mut self, c: char) {
        let at = self.len as usize;
        self.len += c.encode_utf8(&mut self.bytes[at..]).len() as u8;
    }

    /// The mask as text.
    pub fn as_str(&self) -> &str {
        // Only whole characters are ever stored.
        std::str::from_utf8(&self.bytes[..self.len as usize]).unwrap_or("…")
    }
}

impl std::ops::Deref for Masked {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for Masked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Masked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

/// A key's public identity: 12 lowercase hex digits of its SHA-256.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId([u8; 12]);

impl KeyId {
    /// The id of any key text, valid or not.
    pub fn of(text: &str) -> KeyId {
        let digest = Sha256::digest(text.as_bytes());
        let mut id = [0u8; 12];
        // Six bytes always fill twelve hex digits exactly; the Err cannot happen.
        let _ = hex::encode_to_slice(&digest[..6], &mut id);
        KeyId(id)
    }

    /// Reads an id back from a report; `None` unless it is 12 lowercase hex digits.
    pub fn parse(text: &str) -> Option<KeyId> {
        let bytes = text.as_bytes();
        let ok = bytes.len() == 12 && bytes.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        ok.then(|| {
            let mut id = [0u8; 12];
            id.copy_from_slice(bytes);
            KeyId(id)
        })
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("????????????")
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345wxyz";

    #[test]
    fn debug_and_display_show_only_the_last_four() {
        let key = ApiKey::parse(SECRET).unwrap();
        for shown in [
            format!("{key:?}"),
            format!("{key}"),
            format!("{:#?}", Some(&key)),
        ] {
            assert!(!shown.contains("ABCD"), "{shown}");
            assert!(shown.contains("…wxyz"), "{shown}");
        }
    }

    #[test]
    fn key_validation() {
        let cases: &[(&str, Result<(), KeyError>)] = &[
            ("abc123XYZ_-.~", Ok(())),
            ("", Err(KeyError::Empty)),
            ("abc def", Err(KeyError::NotVisibleAscii)),
            ("abc\tdef", Err(KeyError::NotVisibleAscii)),
            ("abc\r\ndef", Err(KeyError::NotVisibleAscii)),
            ("abc\0def", Err(KeyError::NotVisibleAscii)),
            ("clé-secrète", Err(KeyError::NotVisibleAscii)),
        ];
        for (text, expected) in cases {
            assert_eq!(ApiKey::parse(text).map(|_| ()), *expected, "{text:?}");
        }
    }

    #[test]
    fn key_id_is_the_sha256_prefix() {
        // sha256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
        assert_eq!(KeyId::of("abc").as_str(), "ba7816bf8f01");
        assert_eq!(KeyId::parse("ba7816bf8f01"), Some(KeyId::of("abc")));
        assert_eq!(KeyId::parse("BA7816BF8F01"), None);
        assert_eq!(KeyId::parse("ba7816bf8f0"), None);
    }

    #[test]
    fn key_like_text_is_redacted_and_other_text_is_not() {
        assert_eq!(redact("LEAKKEYabcdefghijklmnop1234"), "…1234");
        assert_eq!(redact("key: ABCDEFGHIJKLMNOP, more"), "…more");
        assert_eq!(redact("api_key"), "api_key");
        assert_eq!(
            redact("Emergency Contact Emails"),
            "Emergency Contact Emails"
        );
        assert_eq!(redact("a@example.com"), "a@example.com");
        assert_eq!(redact("ABCDEFGHIJKLMNO"), "ABCDEFGHIJKLMNO");
    }

    #[test]
    fn short_and_hostile_keys_are_masked_safely() {
        assert_eq!(mask("short"), "…");
        assert_eq!(mask("123456789"), "…6789");
        assert_eq!(mask("123456789\r\n=x"), "…??=x");
        assert_eq!(mask("12345678"), "…");
        assert_eq!(mask(""), "…");
        // Four characters of four bytes each fill the mask to its last byte.
        assert_eq!(mask("12345678😀😀😀😀"), "…😀😀😀😀");
        assert_eq!(mask("ünïcödé-schlüssel"), "…ssel");
        assert_eq!(mask("ünïcödé-schlüßél"), "…üßél");
        assert_eq!(format!("{:?}", Masked::of("123456789")), "\"…6789\"");
    }
}
