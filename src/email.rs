//! Email cells: splitting a cell into addresses, cleaning what people paste, and
//! deciding whether a mail system would take each address as written.

mod cell;

use crate::input::clean;

/// One address found in an email cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellAddress {
    /// The address to send when valid (cleaned, in its sendable form), or the piece
    /// of the cell as found when invalid.
    pub text: String,
    /// Why the address cannot be sent; `None` when it is valid.
    pub invalid: Option<String>,
}

/// Splits an email cell into its addresses, in order. An empty cell gives none.
///
/// What a cell may hold, and what is sent:
/// - Several addresses, separated by `;`, `,` or line breaks; empty pieces between
///   separators are ignored. A space does not separate: `a@x.com b@y.com` is one
///   invalid piece, whose reason says to use a separator.
/// - Invisible characters (zero-width spaces, word joiners, BOMs, no-break spaces) are
///   removed wherever they stand: pasted text carries them and no mail system would.
/// - Pasted forms with one clear address give that bare address: `Jane Doe <jane@x.com>`,
///   `"Doe, Jane" <jane@x.com>` and Outlook's `Doe, Jane <jane@x.com>` (the comma is
///   part of the name), `<jane@x.com>`, `mailto:jane@x.com` (any `?subject=...` dropped),
///   an address in a pair of `"` or `'`, and the older `jane@x.com (Jane Doe)`, whose
///   comment in parentheses names the person.
/// - Ambiguous pieces are invalid, with a reason: an unclosed quote or bracket, text after
///   `>`, two bracketed addresses, a name that is a different address (`bob@y.com
///   <jane@x.com>`), a `mailto:` with `%`-escapes, a leading `'` before `+`, `=`, `-`
///   or `@` (a spreadsheet's formula guard), a trailing `.` (a full stop, or a
///   domain cut short: `jane@x.co.` may have been `jane@x.co.uk`), and a `?` (what a
///   save in a legacy encoding writes for a character it cannot hold).
/// - A domain with non-ASCII letters is sent in its ASCII (punycode) form, so
///   `a@bücher.de` is sent as `a@xn--bcher-kva.de`; ASCII domains are sent as written.
///   A non-ASCII part before the `@` is invalid: the API is not documented to take
///   internationalised (SMTPUTF8) addresses.
/// - What remains must pass [`check`]. An invalid piece's `text` is the piece as found.
pub fn parse_cell(cell: &str) -> Vec<CellAddress> {
    let mut addresses = Vec::new();
    parse_cell_into(cell, &mut addresses);
    addresses
}

/// [`parse_cell`] into `addresses`, whose old contents are replaced: a caller
/// parsing many cells keeps one list, and the text of its first address, rather than
/// allocate them for every cell.
pub fn parse_cell_into(cell: &str, addresses: &mut Vec<CellAddress>) {
    // A cell that passes the quick check is plain, and valid: nearly every cell of
    // a real export is one such address, and this spares it a second pass.
    let quick = is_common_valid(cell);
    if !quick && !is_plain(cell) {
        addresses.clear();
        addresses.extend(parse_pasted(cell));
        return;
    }
    // Nothing below would change such a cell: no invisible character to remove, no
    // separator, quote, bracket, space, `mailto:` or trailing dot; only the address
    // check is left.
    addresses.truncate(1);
    let invalid = if quick { None } else { check(cell).err() };
    match addresses.first_mut() {
        Some(first) => {
            first.text.clear();
            first.text.push_str(cell);
            first.invalid = invalid;
        }
        None => addresses.push(CellAddress {
            text: cell.to_string(),
            invalid,
        }),
    }
}

/// Whether a cell is one bare ASCII address-like piece that only [`check`] has to
/// judge: visible ASCII without `"`, `;`, `,`, `<`, `>` or `:`, not starting with
/// `'` nor ending with `.` (those get their own reasons in the full parse).
fn is_plain(cell: &str) -> bool {
    let bytes = cell.as_bytes();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    first != b'\''
        && last != b'.'
        && bytes.iter().all(|&b| {
            b.is_ascii_graphic() && !matches!(b, b'"' | b';' | b',' | b'<' | b'>' | b':' | b'?')
        })
}

/// [`parse_cell`] for any cell, pasted forms and all.
fn parse_pasted(cell: &str) -> Vec<CellAddress> {
    let visible: String = cell.chars().filter(|&c| !clean::is_invisible(c)).collect();
    cell::pieces(&visible)
        .into_iter()
        .map(
            |piece| match cell::bare_address(&piece).and_then(sendable) {
                Ok(text) => CellAddress {
                    text,
                    invalid: None,
                },
                Err(reason) => CellAddress {
                    text: piece,
                    invalid: Some(reason),
                },
            },
        )
        .collect()
}

/// The address as it is sent: its domain in ASCII form, checked with [`check`].
fn sendable(address: &str) -> Result<String, String> {
    let mut sendable = address.to_string();
    if let Some((local, domain)) = address.split_once('@') {
        if let Some(c) = local.chars().find(|c| !c.is_ascii()) {
            return Err(non_ascii_local(c));
        }
        if !domain.is_ascii() && !domain.contains('@') {
            sendable = format!("{local}@{}", ascii_domain(domain)?);
        }
    }
    check(&sendable)?;
    Ok(sendable)
}

fn non_ascii_local(c: char) -> String {
    format!(
        "the part before '@' holds {}: the API is not documented to take \
         internationalised (SMTPUTF8) addresses",
        describe_char(c)
    )
}

/// The domain's IDNA (punycode) form, as DNS and every mail system know it.
fn ascii_domain(domain: &str) -> Result<String, String> {
    idna::domain_to_ascii(domain)
        .map_err(|_| format!("domain '{domain}' is not a valid internationalised domain name"))
}

/// Whether a mail system would take `address` exactly as written: one `@`; a local
/// part of 1-64 characters of letters, digits and ``!#$%&'*+/=?^_`{|}~-`` in
/// dot-separated runs; a domain of two or more labels of 1-63 letters, digits or
/// inner hyphens, the last alphabetic or an IDNA `xn--` label; 254 characters at
/// most. Quoted local parts, IP-literal domains and comments are refused: no contact
/// list needs them, and the API is not documented to take them. The error says why.
pub fn check(address: &str) -> Result<(), String> {
    if is_common_valid(address) {
        return Ok(());
    }
    check_in_full(address)
}

/// A quick yes for the common shape of a valid address: letters, digits, `.`, `_`,
/// `+` and `-` before the `@`, an alphabetic top-level domain. It only ever accepts
/// what [`check_in_full`] accepts (a test holds it to that); anything else, valid or
/// not, is left to the full check, which also says what is wrong.
fn is_common_valid(address: &str) -> bool {
    let bytes = address.as_bytes();
    let Some(at) = memchr::memchr(b'@', bytes) else {
        return false;
    };
    let (local, domain) = (&bytes[..at], &bytes[at + 1..]);
    if !(1..=64).contains(&local.len()) || bytes.len() > 254 {
        return false;
    }
    // Every address of the input comes through here: the bytes are judged in a pass
    // without a branch per byte, and the dots are then found with `memchr`.
    let local_class = local
        .iter()
        .fold(LOCAL, |class, &b| class & BYTE_CLASS[b as usize]);
    let domain_class = domain
        .iter()
        .fold(DOMAIN, |class, &b| class & BYTE_CLASS[b as usize]);
    if local_class == 0 || domain_class == 0 {
        return false;
    }
    if local[0] == b'.'
        || local[local.len() - 1] == b'.'
        || memchr::memmem::find(local, b"..").is_some()
    {
        return false;
    }
    let mut labels = 0;
    let mut top: &[u8] = &[];
    for label in domain.split(|&b| b == b'.') {
        let label_ok =
            (1..=63).contains(&label.len()) && label[0] != b'-' && label[label.len() - 1] != b'-';
        if !label_ok {
            return false;
        }
        labels += 1;
        top = label;
    }
    labels >= 2 && top.iter().all(u8::is_ascii_alphabetic)
}

/// [`BYTE_CLASS`] bit: allowed before the `@` by [`is_common_valid`].
const LOCAL: u8 = 1;
/// [`BYTE_CLASS`] bit: allowed in the domain by [`is_common_valid`].
const DOMAIN: u8 = 2;

/// What [`is_common_valid`] allows of each byte: letters, digits, `.` and `-` on both
/// sides of the `@`, `_` and `+` before it.
const BYTE_CLASS: [u8; 256] = {
    let mut classes = [0u8; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        if b.is_ascii_alphanumeric() || b == b'.' || b == b'-' {
            classes[byte] = LOCAL | DOMAIN;
        } else if b == b'_' || b == b'+' {
            classes[byte] = LOCAL;
        }
        byte += 1;
    }
    classes
};

/// [`check`] rule by rule, with the reason for the first that fails.
fn check_in_full(address: &str) -> Result<(), String> {
    if address.is_empty() {
        return Err("empty address".into());
    }
    if address.len() > 254 {
        return Err(format!("longer than 254 characters ({})", address.len()));
    }
    // '@' is ASCII, so counting and splitting at its byte is the same as at the char.
    let (local, domain) = match address.bytes().filter(|&b| b == b'@').count() {
        0 => return Err("no '@'".into()),
        1 => address.split_once('@').unwrap_or_default(),
        _ => return Err("more than one '@'".into()),
    };
    check_local(local)?;
    check_domain(domain)
}

fn check_local(local: &str) -> Result<(), String> {
    const SPECIALS: &str = "!#$%&'*+/=?^_`{|}~-";
    if local.is_empty() {
        return Err("nothing before the '@'".into());
    }
    if local.len() > 64 {
        return Err(format!(
            "the part before '@' is longer than 64 characters ({})",
            local.len()
        ));
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err("the part before '@' has a leading, trailing or double dot".into());
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '.' || SPECIALS.contains(c);
    // Most local parts are letters, digits and dots: judge those bytes without
    // searching SPECIALS for each one.
    if local
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.')
    {
        return Ok(());
    }
    match local.chars().find(|&c| !allowed(c)) {
        Some(c) => Err(format!("the part before '@' contains {}", describe_char(c))),
        None => Ok(()),
    }
}

fn check_domain(domain: &str) -> Result<(), String> {
    if domain.is_empty() {
        return Err("nothing after the '@'".into());
    }
    if !domain.bytes().any(|b| b == b'.') {
        return Err(format!("domain '{domain}' has no dot"));
    }
    for label in domain.split('.') {
        if label.is_empty() {
            return Err(format!("domain '{domain}' has an empty label"));
        }
        if label.len() > 63 {
            return Err(format!(
                "domain '{domain}' has a label longer than 63 characters"
            ));
        }
        if let Some(c) = label
            .chars()
            .find(|&c| !(c.is_ascii_alphanumeric() || c == '-'))
        {
            return Err(format!("domain '{domain}' contains {}", describe_char(c)));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!(
                "domain '{domain}' has a label starting or ending with '-'"
            ));
        }
    }
    // An internationalised top-level domain (`.рф`) is sent as its `xn--` form.
    let top = domain.rsplit('.').next().unwrap_or_default();
    let punycode = top.len() > 4 && top[..4].eq_ignore_ascii_case("xn--");
    if !(punycode || top.chars().all(|c| c.is_ascii_alphabetic())) {
        return Err(format!("top-level domain '{top}' is not alphabetic"));
    }
    Ok(())
}

/// Names a character for a message: visible ASCII quoted, anything else by code point,
/// so that an invisible or look-alike character is plain to see.
fn describe_char(c: char) -> String {
    if c.is_ascii_graphic() {
        format!("'{c}'")
    } else {
        format!("U+{:04X}", c as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::{CellAddress, check, parse_cell, parse_cell_into};

    fn valid(text: &str) -> CellAddress {
        CellAddress {
            text: text.into(),
            invalid: None,
        }
    }

    #[test]
    fn a_reused_list_holds_only_the_last_cells_addresses() {
        let cells = [
            "a@x.com; not-an-address; c@z.com",
            "b@y.com",
            "bad@",
            "",
            "Jane <j@x.com>",
            "k@x.com",
        ];
        let mut addresses = Vec::new();
        for cell in cells.iter().chain(cells.iter().rev()) {
            parse_cell_into(cell, &mut addresses);
            assert_eq!(addresses, parse_cell(cell), "{cell:?}");
        }
    }

    #[test]
    fn cells_give_their_sendable_addresses() {
        let cases: &[(&str, &[&str])] = &[
            ("", &[]),
            (" ;\n, ", &[]),
            ("jane@x.com", &["jane@x.com"]),
            ("Jane@Example.COM", &["Jane@Example.COM"]),
            (
                "a@x.com; b@y.com,c@z.com\nd@w.com",
                &["a@x.com", "b@y.com", "c@z.com", "d@w.com"],
            ),
            ("a@x.com;;", &["a@x.com"]),
            (
                "\"Doe, Jane\" <jane@x.com>, Bob <bob@y.com>",
                &["jane@x.com", "bob@y.com"],
            ),
            ("Doe, Jane <jane@x.com>", &["jane@x.com"]),
            ("mailto:jane@x.com", &["jane@x.com"]),
            ("ja\u{200B}ne@x.com\u{2060}", &["jane@x.com"]),
            ("\u{FEFF}jane@\u{A0}x.com", &["jane@x.com"]),
            ("+ops@x.com", &["+ops@x.com"]),
            ("a@bücher.de", &["a@xn--bcher-kva.de"]),
            ("Jane <a@BÜCHER.de>", &["a@xn--bcher-kva.de"]),
            ("a@bücher。de", &["a@xn--bcher-kva.de"]),
            ("a@例え.テスト", &["a@xn--r8jz45g.xn--zckzah"]),
            ("jane@x.com (Jane Doe)", &["jane@x.com"]),
            (
                "a@x.com (Doe, Ann), b@y.com (Roe; Bo)",
                &["a@x.com", "b@y.com"],
            ),
        ];
        for (cell, want) in cases {
            let want: Vec<CellAddress> = want.iter().map(|t| valid(t)).collect();
            assert_eq!(parse_cell(cell), want, "{cell:?}");
        }
    }

    #[test]
    fn unclear_pieces_are_kept_as_found_with_a_reason() {
        let cases = [
            ("jöhn@x.com", "jöhn@x.com", "SMTPUTF8"),
            ("jöhn@bücher.de", "jöhn@bücher.de", "SMTPUTF8"),
            ("a@x.com b@y.com", "a@x.com b@y.com", "separated by spaces"),
            ("jane @x.com", "jane @x.com", "U+0020"),
            ("jane@x.com.", "jane@x.com.", "ends with '.'"),
            ("Jane Doe", "Jane Doe", "no '@'"),
            ("a@x.com\tb", "a@x.com\tb", "U+0009"),
            (
                "bob@y.com <jane@x.com>",
                "bob@y.com <jane@x.com>",
                "two different",
            ),
            ("<jane@x>", "<jane@x>", "no dot"),
            ("<>", "<>", "empty address"),
            ("a@b\u{0}c.de", "a@b\u{0}c.de", "U+0000"),
            ("a@xn--.de", "a@xn--.de", "'-'"),
            // A legacy save wrote '?' for a zero-width space it could not hold.
            ("zw?@zero.example", "zw?@zero.example", "legacy encoding"),
            // A comment that holds an address leaves two candidates.
            (
                "jane@x.com (bob@y.com)",
                "jane@x.com (bob@y.com)",
                "separated by spaces",
            ),
            ("a@x.com (b) (c)", "a@x.com (b) (c)", "U+0020"),
        ];
        for (cell, text, reason) in cases {
            let found = parse_cell(cell);
            assert_eq!(found.len(), 1, "{cell:?}: {found:?}");
            assert_eq!(found[0].text, text, "{cell:?}");
            let why = found[0].invalid.as_deref().unwrap_or_default();
            assert!(why.contains(reason), "{cell:?}: {why:?}");
        }
    }

    #[test]
    fn scrambled_cells_never_panic_and_valid_ones_pass_check() {
        let pieces = [
            "a", "@", ".", ",", ";", "\n", " ", "\"", "'", "<", ">", "mailto:", "?", "%", "ü",
            "例", "\u{200B}", "x.com", "-", "+", "＠", "。",
        ];
        let mut state: u32 = 11;
        for round in 0..2000 {
            let mut cell = String::new();
            for _ in 0..(round % 24) {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                cell.push_str(pieces[(state >> 16) as usize % pieces.len()]);
            }
            for address in parse_cell(&cell) {
                if address.invalid.is_none() {
                    assert_eq!(check(&address.text), Ok(()), "{cell:?}");
                }
            }
        }
    }

    #[test]
    fn the_plain_cell_shortcut_agrees_with_the_full_parse() {
        let pieces = [
            "a", "B", "@", ".", "..", ",", ";", ":", "\"", "'", "<", ">", "-", "+", "_", "=", "%",
            "!", "x.com", "mailto:", " ", "\t", "ü", "\u{200B}", "\u{7F}", "\0",
        ];
        let mut state: u32 = 5;
        for round in 0..5000 {
            let mut cell = String::new();
            for _ in 0..(round % 12) {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                cell.push_str(pieces[(state >> 16) as usize % pieces.len()]);
            }
            assert_eq!(parse_cell(&cell), super::parse_pasted(&cell), "{cell:?}");
        }
    }

    #[test]
    fn the_quick_yes_never_accepts_what_the_full_check_refuses() {
        let pieces = [
            "a", "Z", "0", "@", ".", "..", "-", "_", "+", "'", "!", "x.com", "xn--", "ü", " ",
            "\0", "ab", "c0m", "-.", ".-",
        ];
        let mut state: u32 = 77;
        let mut accepted = 0;
        let mut piece = || {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            pieces[(state >> 16) as usize % pieces.len()]
        };
        for round in 0..20_000 {
            // Mostly the shape local@domain.top, so that many are valid.
            let mut address = String::new();
            for part in 0..3 {
                for _ in 0..(1 + round % 3) {
                    address.push_str(piece());
                }
                address.push_str(["@", ".", ""][part]);
            }
            if super::is_common_valid(&address) {
                accepted += 1;
                assert_eq!(super::check_in_full(&address), Ok(()), "{address:?}");
            }
        }
        assert!(accepted > 100, "the quick path took only {accepted}");
        for common in [
            "contact0@account123.example.com",
            "a.b+c_d-e@x-y.example.co",
            "Jane.Doe@Example.COM",
            "x@xn--bcher-kva.de",
        ] {
            assert!(super::is_common_valid(common), "{common}");
        }
        for long in [
            format!("{}@example.com", "a".repeat(65)),
            format!("a@{}.com", "b".repeat(64)),
            format!("{}@{}.com", "a".repeat(64), "b.".repeat(95)),
        ] {
            assert!(!super::is_common_valid(&long));
        }
    }

    #[test]
    fn one_bad_piece_leaves_the_others_valid() {
        let found = parse_cell("a@x.com; n/a; b@y.com");
        let valid: Vec<bool> = found.iter().map(|a| a.invalid.is_none()).collect();
        assert_eq!(valid, [true, false, true]);
        assert_eq!(found[1].text, "n/a");
    }

    #[test]
    fn addresses_a_mail_system_takes() {
        for ok in [
            "a@example.com",
            "first.last@sub.example.co.uk",
            "+ops@example.com",
            "o'brien@example.ie",
            "x!#$%&'*+/=?^_`{|}~-y@example.com",
            "user@xn--bcher-kva.example",
            "a@b-c.de",
            "a@xn--r8jz45g.xn--zckzah",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn addresses_refused_with_a_reason() {
        let long_local = format!("{}@example.com", "a".repeat(65));
        let long_label = format!("a@{}.com", "b".repeat(64));
        let long_total = format!("{}@{}.com", "a".repeat(64), "b.".repeat(95));
        let cases: Vec<(&str, &str)> = vec![
            ("", "empty"),
            ("plainaddress", "no '@'"),
            ("a@b@example.com", "more than one"),
            ("@example.com", "nothing before"),
            ("a@", "nothing after"),
            (".a@example.com", "dot"),
            ("a.@example.com", "dot"),
            ("a..b@example.com", "dot"),
            ("a b@example.com", "U+0020"),
            ("a@localhost", "no dot"),
            ("a@example..com", "empty label"),
            ("a@-example.com", "'-'"),
            ("a@example-.com", "'-'"),
            ("a@example.c0m", "not alphabetic"),
            ("a@1.2.3.4", "not alphabetic"),
            ("a@x.xn-a", "not alphabetic"),
            ("a@x.com\n", "U+000A"),
            ("a@exa_mple.com", "'_'"),
            ("\"quoted\"@example.com", "'\"'"),
            ("jöhn@example.com", "U+00F6"),
            (&long_local, "longer than 64"),
            (&long_label, "longer than 63"),
            (&long_total, "longer than 254"),
        ];
        for (address, reason) in cases {
            let error = check(address).expect_err(address);
            assert!(error.contains(reason), "{address}: {error}");
        }
    }
}
