//! Working out the field delimiter: Excel's `sep=` first line, or the delimiter the
//! header line uses. European Excel writes `;`, "Unicode Text" writes tabs.

use super::clean;

/// The delimiter Excel's `sep=X` first line declares, if `line` is one. The line is
/// not data: the reader skips it, so the header is on line 2. Trailing copies of the
/// delimiter (a spreadsheet saving the line back as a row of cells) are allowed, and
/// so is the line in quotes.
pub fn sep_line(line: &str) -> Option<Result<u8, String>> {
    // Not a full trim: the declared delimiter may be a tab.
    let line = line
        .trim_start_matches(|c: char| c.is_whitespace() || clean::is_invisible(c))
        .trim_end_matches(|c: char| c == ' ' || clean::is_invisible(c));
    let line = line
        .strip_prefix('"')
        .and_then(|l| l.strip_suffix('"'))
        .unwrap_or(line);
    let rest = line.get(..4).filter(|p| p.eq_ignore_ascii_case("sep="))?;
    let declared = &line[rest.len()..];

    let mut chars = declared.chars();
    let delimiter = chars.next()?;
    if !chars.all(|c| c == delimiter) {
        return None;
    }
    Some(match u8::try_from(delimiter) {
        Ok(byte) if byte.is_ascii() && byte != b'"' && byte != b'\n' && byte != b'\r' => Ok(byte),
        _ => Err(format!(
            "the first line declares the delimiter {delimiter:?}, which cannot be used: \
             only one ASCII character can separate fields; remove the line or pass --delimiter"
        )),
    })
}

/// Whether `line` is the `#TYPE System.Management...` line that Windows PowerShell 5's
/// `Export-Csv` writes above the header unless told `-NoTypeInformation`. It names the
/// .NET type of the exported objects and is not data: the reader skips it, so the
/// header is on line 2.
pub fn type_line(line: &str) -> bool {
    let line = line.trim_start_matches(clean::is_invisible);
    line.strip_prefix("#TYPE ")
        .is_some_and(|name| !name.trim().is_empty() && !name.contains([',', ';', '\t']))
}

/// The delimiter a header line uses: whichever of `,`, `;` and tab appears most often
/// outside quotes, `,` when none does or on a tie, as the file is then a plain CSV.
pub fn delimiter(header_line: &str) -> u8 {
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for byte in header_line.bytes() {
        if byte == b'"' {
            quoted = !quoted;
        } else if !quoted && let Some(slot) = counts.iter_mut().find(|(d, _)| *d == byte) {
            slot.1 += 1;
        }
    }
    // The first of the most frequent wins: max_by_key would pick the last.
    let best = counts.iter().map(|(_, n)| *n).max().unwrap_or(0);
    counts
        .iter()
        .find(|(_, n)| *n == best)
        .map_or(b',', |(d, _)| *d)
}

#[cfg(test)]
mod tests {
    use super::{delimiter, sep_line, type_line};

    #[test]
    fn powershell_type_lines_are_recognised() {
        let cases = [
            ("#TYPE System.Management.Automation.PSCustomObject", true),
            ("\u{FEFF}#TYPE Selected.System.Object", true),
            ("#TYPE ", false),
            ("#type System.Object", false),
            ("#TYPE a,b", false),
            ("api_key,email", false),
            ("\"#TYPE x\",email", false),
        ];
        for (line, want) in cases {
            assert_eq!(type_line(line), want, "{line:?}");
        }
    }

    #[test]
    fn sep_lines_declare_the_delimiter() {
        let cases = [
            ("sep=;", Some(Ok(b';'))),
            ("sep=,", Some(Ok(b','))),
            ("SEP=|", Some(Ok(b'|'))),
            ("sep=\t", Some(Ok(b'\t'))),
            ("\u{FEFF}sep=;", Some(Ok(b';'))),
            ("\"sep=;\"", Some(Ok(b';'))),
            ("sep=;;;", Some(Ok(b';'))),
            ("sep=; ", Some(Ok(b';'))),
            ("sep=", None),
            ("sep=;x", None),
            ("api_key;email", None),
            ("separator", None),
            ("sé", None),
        ];
        for (line, want) in cases {
            assert_eq!(sep_line(line), want, "{line:?}");
        }
    }

    #[test]
    fn a_sep_line_with_an_unusable_delimiter_is_refused() {
        for line in ["sep=§", "sep=\""] {
            let error = sep_line(line).expect("a sep line").expect_err(line);
            assert!(error.contains("--delimiter"), "{error}");
        }
    }

    #[test]
    fn header_lines_give_their_delimiter() {
        let cases = [
            ("api_key,email", b','),
            ("api_key;email;account", b';'),
            ("api_key\temail\taccount", b'\t'),
            ("\"Key; secret\",email", b','),
            ("\"a,b\";\"c,d\";e", b';'),
            ("api_key", b','),
            ("a;b,c", b','),
            ("", b','),
        ];
        for (line, want) in cases {
            assert_eq!(delimiter(line), want, "{line:?}");
        }
    }
}
