//! Fuzzes our reader against the csv crate: for plain UTF-8 text with `\n` line ends,
//! both must find the same header, the same rows on the same lines, and the same
//! cells in them. Our reader adds its own buffering, line counting and blank-row
//! skipping around csv-core, and this is what checks that layer. The csv crate's own
//! line numbers can be short by the blank lines it skipped, so the line is worked out
//! here from the byte where it says the record starts.

#![no_main]

use ecbulk::input::{self, InputOptions, clean, header};
use libfuzzer_sys::fuzz_target;
use std::io::Cursor;

/// A row as both sides see it: line, key, emails, label.
type Row = (u64, String, String, String);

fuzz_target!(|text: &str| {
    // Only what the csv crate reads the same way: no BOM or CR; no NUL or Ctrl-Z,
    // which our reader gives a meaning on purpose; nothing that starts like a workbook
    // (refused unread); no first line that our reader consumes (`sep=`, `#TYPE`).
    let plain = !text.contains(['\r', '\0', '\u{1A}', '\u{FEFF}']);
    let binary = text.starts_with("%PDF-") || text.starts_with("PK\x03\x04");
    let first = text.trim_start_matches('\n').lines().next();
    let consumed =
        first.is_some_and(|l| l.to_ascii_lowercase().contains("sep=") || l.contains("#TYPE"));
    if !plain || binary || consumed {
        return;
    }
    let options = InputOptions {
        delimiter: Some(b','),
        ..InputOptions::default()
    };

    let ours = input::open_reader(
        "fuzz.csv",
        Box::new(Cursor::new(text.as_bytes().to_vec())),
        &options,
    )
    .map(|rows| {
        rows.map(|row| row.map(|r| (r.line, r.key, r.emails, r.label)))
            .collect::<Result<Vec<Row>, _>>()
    });
    let theirs = with_csv_crate(text, &options);

    match (ours, theirs) {
        (Ok(Ok(ours)), Some(theirs)) => assert_eq!(ours, theirs),
        (Err(_), None) => {}
        // The csv crate takes a quote left open to the end as closed there; ours
        // refuses the file, and must do so exactly when the text ends inside quotes.
        (Ok(Err(error)), _) | (Err(error), _) if error.message.contains("is never closed") => {
            assert!(ends_inside_quotes(text), "{error}");
        }
        // Any other row error needs a limit the fuzzer's small inputs cannot reach.
        (Ok(Err(error)), _) => panic!("a row error on plain text: {error}"),
        (ours, theirs) => panic!("ours {:?}, the csv crate's {theirs:?}", ours.map(|_| ())),
    }
});

/// Whether `text` ends inside a quoted cell, read a byte at a time by RFC 4180's
/// rules as csv-core applies them: a quote opens a cell only where the cell starts,
/// `""` inside it is one quote, and a quote elsewhere is just a character.
fn ends_inside_quotes(text: &str) -> bool {
    let (mut quoted, mut at_start, mut after_quote) = (false, true, false);
    for byte in text.bytes() {
        if quoted {
            match (after_quote, byte) {
                (false, b'"') => after_quote = true,
                (false, _) => {}
                (true, b'"') => after_quote = false,
                (true, _) => {
                    (quoted, after_quote) = (false, false);
                    at_start = matches!(byte, b',' | b'\n');
                }
            }
        } else if at_start && byte == b'"' {
            quoted = true;
        } else {
            at_start = matches!(byte, b',' | b'\n');
        }
    }
    quoted && !after_quote
}

/// The rows the csv crate gives, with our rules for blank rows, the header and cells;
/// `None` where our reader must refuse the file (no header, or unresolved columns).
fn with_csv_crate(text: &str, options: &InputOptions) -> Option<Vec<Row>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let blank = |record: &csv::StringRecord| {
        record
            .iter()
            .all(|cell| clean::trim(cell).trim_matches('\u{1A}').is_empty())
    };

    let mut records = reader.records().map(|r| r.expect("valid UTF-8 reads"));
    let head = records.by_ref().find(|r| !blank(r))?;
    let names: Vec<&str> = head.iter().collect();
    let columns = header::resolve(&names, options).ok()?;

    let cell = |record: &csv::StringRecord, index: usize| {
        record.get(index).unwrap_or_default().to_string()
    };
    Some(
        records
            .filter(|r| !blank(r))
            .map(|r| {
                let line = r.position().map_or(0, |p| physical_line(text, p.byte()));
                let label = columns
                    .label
                    .map_or_else(String::new, |i| clean::trim(&cell(&r, i)).to_string());
                (
                    line,
                    clean::strip(&cell(&r, columns.key)),
                    clean::trim(&cell(&r, columns.email)).to_string(),
                    label,
                )
            })
            .collect(),
    )
}

/// The physical line of the record the csv crate says starts at `byte`: blank lines it
/// skipped may lie between that byte and the record.
fn physical_line(text: &str, byte: u64) -> u64 {
    let start = usize::try_from(byte).unwrap_or(text.len()).min(text.len());
    let skipped = text[start..].bytes().take_while(|&b| b == b'\n').count();
    let before = &text.as_bytes()[..start + skipped];
    1 + before.iter().filter(|&&b| b == b'\n').count() as u64
}
