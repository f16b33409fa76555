//! Taking an email cell apart: where one address ends and the next begins, and what
//! of a pasted piece (`Jane Doe <jane@x.com>`, `mailto:`, quotes) is the address.

/// The pieces of a cell, trimmed, empty ones dropped. `;`, `,` and line breaks
/// separate them, except inside double quotes (`"Doe, Jane" <jane@x.com>`) and
/// parentheses (`jane@x.com (Doe, Jane)`). A comma
/// after a piece without `@` and before one with `<` belongs to a display name, as in
/// Outlook's `Doe, Jane <jane@x.com>`. An unclosed quote or parenthesis runs to the end
/// of the cell, which leaves one invalid piece rather than a silently wrong split.
pub fn pieces(cell: &str) -> Vec<String> {
    let raw = split(cell);
    let mut pieces: Vec<String> = Vec::with_capacity(raw.len());
    let mut pending_name: Option<String> = None;

    for (index, (piece, separator)) in raw.iter().enumerate() {
        let mut piece = piece.clone();
        if let Some(name) = pending_name.take() {
            piece = format!("{name},{piece}");
        }
        let next_is_angle = raw
            .get(index + 1)
            .is_some_and(|(next, _)| next.contains('<'));
        if *separator == Some(',') && !piece.contains('@') && next_is_angle {
            pending_name = Some(piece);
            continue;
        }
        let trimmed = piece.trim();
        if !trimmed.is_empty() {
            pieces.push(trimmed.to_string());
        }
    }
    pieces
}

/// Splits at separators outside quotes, keeping which separator ended each piece.
fn split(cell: &str) -> Vec<(String, Option<char>)> {
    let mut found = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut depth = 0usize;
    for c in cell.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            '(' if !quoted => {
                depth += 1;
                current.push(c);
            }
            ')' if !quoted => {
                depth = depth.saturating_sub(1);
                current.push(c);
            }
            ';' | ',' | '\n' | '\r' if !quoted && depth == 0 => {
                found.push((std::mem::take(&mut current), Some(c)));
            }
            _ => current.push(c),
        }
    }
    found.push((current, None));
    found
}

/// The bare address in one trimmed piece, or why there is no single clear one. The
/// result is not yet checked as an address.
pub fn bare_address(piece: &str) -> Result<&str, String> {
    if piece.matches('"').count() % 2 == 1 {
        return Err("an opening '\"' without its closing one".into());
    }
    if has_unquoted(piece, '<') || has_unquoted(piece, '>') {
        return angle_address(piece);
    }
    let bare = strip_mailto(unquote(strip_comment(piece)))?;
    plain_mistakes(bare)?;
    Ok(bare)
}

/// `jane@x.com (Jane Doe)` as `jane@x.com`: the older mail form that names the person
/// in a comment after the address, as Unix mail and some ticket systems still write
/// it. Only a comment with no address-like text in it is dropped, so the piece still
/// holds exactly one clear address.
fn strip_comment(piece: &str) -> &str {
    let Some(open) = piece.strip_suffix(')').and_then(|p| p.rfind('(')) else {
        return piece;
    };
    let (address, comment) = (piece[..open].trim_end(), &piece[open + 1..piece.len() - 1]);
    let plain_comment = !comment.contains(['(', ')', '@', '<', '>', '"']);
    let one_word = !address.is_empty() && !address.contains(char::is_whitespace);
    if plain_comment && one_word && address.contains('@') {
        address
    } else {
        piece
    }
}

/// `Name <address>`: the address in the brackets wins, as in any mail program. A name
/// that is itself a different address leaves it unclear which one was meant.
fn angle_address(piece: &str) -> Result<&str, String> {
    let open = unquoted_positions(piece, '<');
    let close = unquoted_positions(piece, '>');
    let (open, close) = match (&open[..], &close[..]) {
        ([open], [close]) if open < close => (*open, *close),
        ([], _) => return Err("a '>' without its '<'".into()),
        (_, []) => return Err("a '<' without its closing '>'".into()),
        ([_], [_]) => return Err("a '>' before the '<'".into()),
        _ => return Err("more than one <address> in one place".into()),
    };
    if !piece[close + 1..].trim().is_empty() {
        return Err("text after the closing '>'".into());
    }

    let address = strip_mailto(piece[open + 1..close].trim())?;
    let name = unquote(piece[..open].trim());
    if name.contains('@') {
        let named = strip_mailto(name).unwrap_or(name);
        if !named.eq_ignore_ascii_case(address) {
            return Err(format!(
                "two different addresses, {name:?} and <{address}>: keep the one meant"
            ));
        }
    }
    plain_mistakes(address)?;
    Ok(address)
}

/// Mistakes worth a clearer reason than the address check would give.
fn plain_mistakes(bare: &str) -> Result<(), String> {
    let words: Vec<&str> = bare.split_whitespace().collect();
    if words.len() > 1 && words.iter().filter(|w| w.contains('@')).count() > 1 {
        return Err(
            "several addresses separated by spaces: separate them with ';', ',' or line breaks"
                .into(),
        );
    }
    if bare.ends_with('.') {
        // Not trimmed away: `jane@x.co.` may as well be a cut-off `jane@x.co.uk`.
        return Err("ends with '.': remove the dot if it ends a sentence".into());
    }
    if bare
        .strip_prefix('\'')
        .is_some_and(|rest| rest.starts_with(['=', '+', '-', '@']))
    {
        return Err(
            "starts with an apostrophe, as spreadsheets add to keep a cell from being \
                    read as a formula: remove it if it is not part of the address"
                .into(),
        );
    }
    if bare.contains('?') {
        // Legal in an address, but in practice it is what a save in a legacy encoding
        // (Excel's plain "CSV", LibreOffice's Windows-1252) writes for a character it
        // cannot hold, such as a zero-width space: sending it would add a wrong address.
        return Err(
            "holds '?', which a save in a legacy encoding writes in place of a character \
             it cannot hold: check the address where it came from"
                .into(),
        );
    }
    if !bare.contains('@') && bare.contains('\u{FF20}') {
        return Err("holds a full-width '＠' (U+FF20) instead of '@'".into());
    }
    Ok(())
}

/// `"jane@x.com"` or `'jane@x.com'` without the quotes. An address cannot end in a
/// quote, so a pair around the piece is never part of it.
fn unquote(text: &str) -> &str {
    for quote in ['"', '\''] {
        if let Some(inner) = text.strip_prefix(quote).and_then(|t| t.strip_suffix(quote)) {
            return inner.trim();
        }
    }
    text
}

/// `mailto:jane@x.com?subject=Hi` as `jane@x.com`. A `%` there is URL escaping,
/// which is not undone: the address it stands for is not plain to see.
fn strip_mailto(text: &str) -> Result<&str, String> {
    const MAILTO: &str = "mailto:";
    let Some(prefix) = text.get(..MAILTO.len()) else {
        return Ok(text);
    };
    if !prefix.eq_ignore_ascii_case(MAILTO) {
        return Ok(text);
    }
    let link = &text[MAILTO.len()..];
    let address = link.split_once('?').map_or(link, |(address, _)| address);
    if address.contains('%') {
        return Err("a mailto: link with %-escapes: write the address out plainly".into());
    }
    Ok(address.trim())
}

fn has_unquoted(text: &str, wanted: char) -> bool {
    !unquoted_positions(text, wanted).is_empty()
}

/// Byte positions of `wanted` outside double quotes.
fn unquoted_positions(text: &str, wanted: char) -> Vec<usize> {
    let mut quoted = false;
    let mut found = Vec::new();
    for (index, c) in text.char_indices() {
        if c == '"' {
            quoted = !quoted;
        } else if c == wanted && !quoted {
            found.push(index);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::{bare_address, pieces};

    #[test]
    fn cells_split_at_separators_outside_quotes() {
        let cases: &[(&str, &[&str])] = &[
            ("", &[]),
            (" ; ,\n ", &[]),
            ("a@x.com", &["a@x.com"]),
            ("a@x.com;b@y.com", &["a@x.com", "b@y.com"]),
            ("a@x.com, b@y.com,,", &["a@x.com", "b@y.com"]),
            (
                "a@x.com\r\nb@y.com\nc@z.com",
                &["a@x.com", "b@y.com", "c@z.com"],
            ),
            ("a@x.com b@y.com", &["a@x.com b@y.com"]),
            (
                "\"Doe, Jane\" <j@x.com>; b@y.com",
                &["\"Doe, Jane\" <j@x.com>", "b@y.com"],
            ),
            (
                "Doe, Jane <j@x.com>; Roe, Bo <b@y.com>",
                &["Doe, Jane <j@x.com>", "Roe, Bo <b@y.com>"],
            ),
            ("jane, a@x.com", &["jane", "a@x.com"]),
            ("a@x.com, n/a", &["a@x.com", "n/a"]),
            ("\"open, a@x.com; b@y.com", &["\"open, a@x.com; b@y.com"]),
            (
                "a@x.com (Doe, Ann); b@y.com",
                &["a@x.com (Doe, Ann)", "b@y.com"],
            ),
            ("a@x.com (open, b@y.com", &["a@x.com (open, b@y.com"]),
            ("a@x.com), b@y.com", &["a@x.com)", "b@y.com"]),
        ];
        for (cell, want) in cases {
            assert_eq!(pieces(cell), *want, "{cell:?}");
        }
    }

    #[test]
    fn pasted_forms_with_one_clear_address() {
        let cases = [
            ("jane@x.com", "jane@x.com"),
            ("Jane Doe <jane@x.com>", "jane@x.com"),
            ("\"Doe, Jane\" <jane@x.com>", "jane@x.com"),
            ("Doe, Jane <jane@x.com>", "jane@x.com"),
            ("<jane@x.com>", "jane@x.com"),
            ("< jane@x.com >", "jane@x.com"),
            ("mailto:jane@x.com", "jane@x.com"),
            ("MailTo:jane@x.com?subject=Expiry", "jane@x.com"),
            ("Jane <mailto:jane@x.com>", "jane@x.com"),
            ("jane@x.com <mailto:jane@x.com>", "jane@x.com"),
            ("\"jane@x.com\"", "jane@x.com"),
            ("'jane@x.com'", "jane@x.com"),
            ("\"Jane <j>\" <jane@x.com>", "jane@x.com"),
            ("o'brien@x.ie", "o'brien@x.ie"),
            ("'jane@x.com", "'jane@x.com"),
            ("jane@x.com (Jane Doe)", "jane@x.com"),
            ("jane@x.com(Doe, Jane)", "jane@x.com"),
            ("'jane@x.com' (Jane)", "jane@x.com"),
        ];
        for (piece, want) in cases {
            assert_eq!(bare_address(piece), Ok(want), "{piece:?}");
        }
    }

    #[test]
    fn ambiguous_forms_give_a_reason() {
        let cases = [
            ("\"jane@x.com", "'\"'"),
            ("<jane@x.com", "closing '>'"),
            ("jane@x.com>", "without its '<'"),
            ("> jane@x.com <", "before the '<'"),
            ("<a@x.com> <b@y.com>", "more than one"),
            ("Jane <jane@x.com> (work)", "after the closing '>'"),
            ("bob@y.com <jane@x.com>", "two different addresses"),
            ("a@x.com b@y.com", "separated by spaces"),
            ("jane@x.com.", "ends with '.'"),
            ("'+ops@x.com", "apostrophe"),
            ("mailto:jane%40x.com", "%-escapes"),
            ("jane＠x.com", "U+FF20"),
            ("zw?@zero.example", "'?'"),
            ("Zoe <zo?@x.com>", "'?'"),
        ];
        for (piece, reason) in cases {
            let error = bare_address(piece).expect_err(piece);
            assert!(error.contains(reason), "{piece:?}: {error}");
        }
    }
}
