//! Cleaning cell text: trimming, and removing the invisible characters that copy and
//! paste (web pages, chat, Word, Excel) leave in keys and addresses.

/// Whether `c` is a character a person cannot see and never means to type: zero-width
/// spaces and joiners, the word joiner and its kin, a stray byte-order mark, soft
/// hyphens, direction marks and the no-break space. Such a character inside a key or an
/// address would make it differ from what is on screen, so they are removed.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00A0}'
            | '\u{00AD}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2060}'..='\u{2064}'
            | '\u{FEFF}'
    )
}

/// `text` without whitespace or invisible characters at either end. The csv crate's own
/// trim keeps U+200B, U+2060 and U+FEFF, which is why this exists.
pub fn trim(text: &str) -> &str {
    // Nearly every cell starts and ends with visible ASCII, which neither is: then
    // there is nothing to trim, and no character needs decoding to see that.
    match (text.as_bytes().first(), text.as_bytes().last()) {
        (Some(first), Some(last)) if first.is_ascii_graphic() && last.is_ascii_graphic() => text,
        _ => text.trim_matches(|c: char| c.is_whitespace() || is_invisible(c)),
    }
}

/// `text` trimmed, with every invisible character removed, wherever it stands.
pub fn strip(text: &str) -> String {
    let mut out = String::new();
    strip_into(text, &mut out);
    out
}

/// [`strip`], appending to `out` so that its memory can be reused.
pub fn strip_into(text: &str, out: &mut String) {
    let text = trim(text);
    if text.is_ascii() {
        out.push_str(text);
    } else {
        out.extend(text.chars().filter(|&c| !is_invisible(c)));
    }
}

/// A header as compared against column names: no invisible characters, spaces, `_`
/// or `-`, and lower case, so `" API Key "`, `api_key` and `Api-Key` are one name.
pub fn header_name(text: &str) -> String {
    text.chars()
        .filter(|&c| !(c.is_whitespace() || is_invisible(c) || c == '_' || c == '-'))
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{header_name, strip, trim};

    #[test]
    fn trim_removes_whitespace_and_invisibles_at_the_ends_only() {
        let cases = [
            ("  key  ", "key"),
            ("\u{A0}key\u{A0}", "key"),
            ("\u{200B}\u{FEFF}key\u{2060}", "key"),
            ("\tJane Doe\r\n", "Jane Doe"),
            ("a\u{200B}b", "a\u{200B}b"),
            ("\u{200B} \u{200B}", ""),
            ("k", "k"),
            ("", ""),
            (" k", "k"),
            ("k\u{FEFF}", "k"),
            ("ü ", "ü"),
        ];
        for (input, want) in cases {
            assert_eq!(trim(input), want, "{input:?}");
        }
    }

    #[test]
    fn strip_removes_invisibles_everywhere() {
        let cases = [
            ("ab\u{200B}cd", "abcd"),
            ("\u{FEFF}ab\u{200C}c\u{200D}d\u{2060}", "abcd"),
            ("ab\u{A0}cd", "abcd"),
            ("ab\u{AD}cd", "abcd"),
            (" ab cd ", "ab cd"),
        ];
        for (input, want) in cases {
            assert_eq!(strip(input), want, "{input:?}");
        }
    }

    #[test]
    fn header_names_ignore_case_spacing_and_separators() {
        let cases = [
            (" API Key ", "apikey"),
            ("api_key", "apikey"),
            ("Emergency-Contact-Emails", "emergencycontactemails"),
            ("\u{FEFF}email", "email"),
            ("E\u{200B}mail", "email"),
            ("ÉMAIL", "émail"),
        ];
        for (input, want) in cases {
            assert_eq!(header_name(input), want, "{input:?}");
        }
    }
}
