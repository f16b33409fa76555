//! The results report: one CSV row per address of the input, in input order, with
//! what happened to it. Also the file handling that makes a report appear whole or
//! not at all.

use crate::key::KeyId;
use crate::plan::{Entry, Note, Plan};
use crate::send::Outcome;
use crate::send::listing::Listing;
use crate::status::Status;
use rayon::prelude::*;
use std::borrow::Cow;
use std::io::{self, Write};
use std::path::Path;

/// The report's columns, in order. A contract: other tools read them by name.
pub const COLUMNS: [&str; 10] = [
    "line",
    "account",
    "key",
    "key_id",
    "email",
    "status",
    "http_status",
    "attempts",
    "error_code",
    "error_message",
];

/// The longest error message written to a report; server text beyond it is cut.
const MESSAGE_LIMIT: usize = 500;

/// One report row, borrowed from the plan and the outcomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row<'a> {
    /// Physical input line where the row starts.
    pub line: u64,
    /// The row's label.
    pub account: &'a str,
    /// The key as `…wxyz`.
    pub key: &'a str,
    /// The key's stable id.
    pub key_id: KeyId,
    /// The address.
    pub email: &'a str,
    /// What happened.
    pub status: Status,
    /// The last answer's HTTP status.
    pub http_status: Option<u16>,
    /// Requests sent for this address's chunk.
    pub attempts: u32,
    /// DigiCert's error code.
    pub error_code: Option<&'a str>,
    /// DigiCert's message, or the reason for the status.
    pub error_message: Cow<'a, str>,
}

/// Turns plan entries into report rows, given what the send loop reported.
pub struct Rows<'a> {
    plan: &'a Plan,
    outcomes: &'a [Option<Outcome>],
    dry_run: bool,
}

impl<'a> Rows<'a> {
    /// `outcomes` is indexed by chunk; `None` means the chunk was never sent.
    pub fn new(plan: &'a Plan, outcomes: &'a [Option<Outcome>], dry_run: bool) -> Rows<'a> {
        Rows {
            plan,
            outcomes,
            dry_run,
        }
    }

    /// The report row of one entry.
    pub fn row(&self, entry: &'a Entry) -> Row<'a> {
        let account = &self.plan.accounts[entry.account as usize];
        let mut row = Row {
            line: entry.line,
            account: &self.plan.labels[entry.label as usize],
            key: account.shown_key.as_str(),
            key_id: account.id,
            email: self.plan.email(entry),
            status: entry.status,
            http_status: None,
            attempts: 0,
            error_code: None,
            error_message: Cow::Borrowed(""),
        };
        match &entry.note {
            Note::None => {}
            Note::Invalid(reason) => row.error_message = Cow::Borrowed(self.plan.reason(*reason)),
            Note::DuplicateOf(first) => {
                let line = self.plan.entries.get(*first as usize).map_or(0, |e| e.line);
                row.error_message = Cow::Owned(format!("same address as line {line}"));
            }
            Note::Chunk(chunk) if self.dry_run => {
                // Only `--check-keys` gives a dry run outcomes: its accounts' GETs.
                if let Some(check) = self.outcomes.get(*chunk as usize).and_then(Option::as_ref) {
                    apply_check(&mut row, check);
                }
            }
            Note::Chunk(chunk) => match self.outcomes.get(*chunk as usize).and_then(Option::as_ref)
            {
                Some(outcome) => {
                    row.status = outcome.status;
                    row.http_status = outcome.http_status;
                    row.attempts = outcome.attempts;
                    row.error_code = outcome.error_code.as_deref();
                    row.error_message =
                        Cow::Borrowed(outcome.error_message.as_deref().unwrap_or(""));
                }
                None => row.status = Status::NotAttempted,
            },
        }
        row
    }

    /// Every row, in input order.
    pub fn all(&self) -> impl Iterator<Item = Row<'a>> + '_ {
        self.plan.entries.iter().map(|entry| self.row(entry))
    }

    /// Reads the account and label of each of `entries`, which are about to be made
    /// rows. The entries of a large input refer to accounts and labels all over
    /// memory; these reads do not depend on each other, so the processor makes many
    /// of those trips at once, and the rows that follow find what they need in the
    /// cache.
    pub fn warm(&self, entries: &[Entry]) {
        let mut seen = 0;
        for entry in entries {
            let account = self.plan.accounts.get(entry.account as usize);
            let label = self.plan.labels.get(entry.label as usize);
            seen ^= account.map_or(0, |a| a.shown_key.len())
                ^ label.map_or(0, |l| {
                    usize::from(l.as_bytes().first().copied().unwrap_or(0))
                });
        }
        std::hint::black_box(seen);
    }

    /// The entries behind the rows, one row each, for taking rows in blocks.
    pub fn entries(&self) -> &'a [Entry] {
        &self.plan.entries
    }

    /// The rows of one chunk.
    pub fn of_chunk(&self, chunk: u32) -> impl Iterator<Item = Row<'a>> + '_ {
        self.plan.chunks[chunk as usize]
            .entries
            .iter()
            .map(|&i| self.row(&self.plan.entries[i as usize]))
    }
}

/// A dry-run row as its account's `--check-keys` GET found it: a refused key (or a
/// check that failed) fails the row with the answer's status and code; an accepted
/// key leaves it `planned`, or `present` when the account already holds the address.
fn apply_check<'a>(row: &mut Row<'a>, check: &'a Outcome) {
    row.http_status = check.http_status;
    row.attempts = check.attempts;
    if check.status == Status::Failed {
        row.status = Status::Failed;
        row.error_code = check.error_code.as_deref();
        row.error_message = Cow::Borrowed(check.error_message.as_deref().unwrap_or(""));
        return;
    }
    match &check.listing {
        Some(listing) if listing.holds(row.email) => {
            row.status = Status::Present;
            row.error_message = Cow::Borrowed("the account already holds this address");
        }
        Some(Listing::Addresses(_)) => {}
        Some(Listing::Unknown(why)) => {
            row.error_message = Cow::Owned(format!(
                "key accepted; whether the account holds this address is unknown: {why}"
            ));
        }
        None => {}
    }
}

/// Writes report rows as CSV.
pub struct ReportWriter<W: Write> {
    csv: csv::Writer<W>,
}

impl<W: Write> ReportWriter<W> {
    /// A writer that starts with the header row.
    pub fn new(out: W) -> io::Result<ReportWriter<W>> {
        let mut csv = csv::WriterBuilder::new().from_writer(out);
        csv.write_record(COLUMNS)?;
        Ok(ReportWriter { csv })
    }

    /// A writer that appends rows to a file that already has its header.
    pub fn appending(out: W) -> ReportWriter<W> {
        ReportWriter {
            csv: csv::WriterBuilder::new().from_writer(out),
        }
    }

    /// Writes one row. Every cell is made safe to open in a spreadsheet.
    pub fn write(&mut self, row: &Row<'_>) -> io::Result<()> {
        let mut numbers = Numbers::default();
        let cells = cells(row, &mut numbers);
        self.csv.write_record(cells.iter().map(|c| c.as_bytes()))?;
        Ok(())
    }

    /// Flushes buffered rows to the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.csv.flush()
    }

    /// Flushes and returns the underlying writer.
    pub fn into_inner(self) -> io::Result<W> {
        self.csv.into_inner().map_err(|e| e.into_error())
    }
}

/// Room to format a row's numbers on the stack.
#[derive(Default)]
struct Numbers {
    line: itoa::Buffer,
    http_status: itoa::Buffer,
    attempts: itoa::Buffer,
}

/// A row's cells as written, each made safe to open in a spreadsheet. Numbers are
/// formatted in `numbers`, and a message is copied only when it needs cleaning: a
/// million-row report makes no allocation per row.
fn cells<'r>(row: &'r Row<'_>, numbers: &'r mut Numbers) -> [Cow<'r, str>; 10] {
    // Numbers, statuses, masked keys (`…` first) and hex ids never start like a
    // formula; the texts that come from the input or the server are guarded.
    let message = match shown_message(&row.error_message) {
        Cow::Borrowed(message) => neutralize(message),
        Cow::Owned(message) => Cow::Owned(neutralize(&message).into_owned()),
    };
    [
        Cow::Borrowed(numbers.line.format(row.line)),
        neutralize(row.account),
        neutralize(row.key),
        Cow::Borrowed(row.key_id.as_str()),
        neutralize(row.email),
        Cow::Borrowed(row.status.as_str()),
        Cow::Borrowed(
            row.http_status
                .map_or("", |s| numbers.http_status.format(s)),
        ),
        Cow::Borrowed(numbers.attempts.format(row.attempts)),
        neutralize(row.error_code.unwrap_or("")),
        message,
    ]
}

/// A message as the report shows it: control characters replaced and cut to
/// [`MESSAGE_LIMIT`] characters, borrowed when it is fine as it is.
fn shown_message(message: &str) -> Cow<'_, str> {
    // A text of at most MESSAGE_LIMIT bytes has at most that many characters.
    if message.len() <= MESSAGE_LIMIT && !message.chars().any(char::is_control) {
        Cow::Borrowed(message)
    } else {
        Cow::Owned(crate::term::clean(message, MESSAGE_LIMIT))
    }
}

/// Cells that start with `=`, `+`, `-`, `@`, tab or CR are run as formulas when a CSV
/// is opened in a spreadsheet (OWASP's "CSV injection"). They get a leading `'`, as
/// OWASP recommends; so does a cell that already starts with `'`, so that
/// [`restore`] gives back exactly what was written (`'+ops@example.com` is a valid
/// address, and so is `+ops@example.com`).
pub fn neutralize(cell: &str) -> Cow<'_, str> {
    // Spaces first do not stop every spreadsheet from reading a formula, and a
    // control character cleaned away for the report leaves one.
    match cell.trim_start_matches(' ').as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r' | b'\'') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

/// Undoes [`neutralize`] on a cell read back from a report.
pub fn restore(cell: &str) -> &str {
    cell.strip_prefix('\'').unwrap_or(cell)
}

/// Writes a whole report to `path` so that the file appears whole or not at all:
/// rows go to a temporary file in the same folder (a rename across filesystems
/// would fail), which is then renamed into place. The file is readable by its owner
/// only, as it names every account's security contacts.
pub fn write_file(path: &Path, rows: &Rows<'_>) -> io::Result<()> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // tempfile creates files readable by their owner only (0600).
    let temp = tempfile::Builder::new()
        .prefix(&format!(".{file_name}."))
        .suffix(".tmp")
        .tempfile_in(folder)?;
    let mut writer = crate::durable::FlushingWriter::new(temp.as_file());
    write_all(&mut writer, rows)?;
    writer.finish()?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Writes a whole report to standard output.
pub fn write_stdout(rows: &Rows<'_>) -> io::Result<()> {
    let mut out = io::stdout();
    write_all(&mut out, rows)?;
    out.flush()
}

/// Rows formatted by one task in [`write_all`].
const FORMAT_BLOCK: usize = 4 * 1024;

/// Rows formatted while the text of the rows before them is written.
const FORMAT_AHEAD: usize = 8 * FORMAT_BLOCK;

/// Writes the header and every row to `out`, byte for byte as [`ReportWriter`] would
/// row by row. Rows are formatted into memory in blocks on rayon's threads while the
/// text of the blocks before them is written: a million-row report would otherwise
/// spend as long waiting on its writes as on its formatting.
fn write_all<W: Write + Send>(out: &mut W, rows: &Rows<'_>) -> io::Result<()> {
    out.write_all(&ReportWriter::new(Vec::new())?.into_inner()?)?;
    let mut formatted: Vec<Vec<u8>> = Vec::new();
    let mut ahead = rows.entries().chunks(FORMAT_AHEAD);
    loop {
        let entries = ahead.next().unwrap_or_default();
        if entries.is_empty() && formatted.is_empty() {
            return Ok(());
        }
        let (next, written) = rayon::join(
            || format_blocks(rows, entries),
            || formatted.iter().try_for_each(|text| out.write_all(text)),
        );
        written?;
        formatted = next;
    }
}

/// The text of the rows of `entries`, in blocks of [`FORMAT_BLOCK`] formatted in
/// parallel, in order.
fn format_blocks(rows: &Rows<'_>, entries: &[Entry]) -> Vec<Vec<u8>> {
    entries
        .par_chunks(FORMAT_BLOCK)
        .map(|block| {
            // Warmed a slice at a time, so that what is fetched is still in the
            // cache when its rows are formatted.
            let rows = block.chunks(WARM_AHEAD).flat_map(|slice| {
                rows.warm(slice);
                slice.iter().map(|entry| rows.row(entry))
            });
            format_rows(rows, block.len())
        })
        .collect()
}

/// The cells (by column) that never need quotes, whatever the row: numbers, the key
/// id's hex digits and the status's word. Skipping their check is a third of the
/// formatting.
const NEVER_QUOTED: [usize; 5] = [0, 3, 5, 6, 7];

/// Rows whose accounts and labels are fetched ahead of formatting them.
const WARM_AHEAD: usize = 256;

/// Rows as report text, without a header, byte for byte as [`ReportWriter`] writes
/// them. The csv crate copies every cell byte by byte; here a cell that needs no
/// quotes, as nearly all do, is copied whole, and csv-core still decides which do.
fn format_rows<'a>(rows: impl Iterator<Item = Row<'a>>, count: usize) -> Vec<u8> {
    // The same settings as `csv::WriterBuilder::new()`: `,`, `"` doubled, `\n`.
    let quoting = csv_core::WriterBuilder::new().build();
    let mut out = Vec::with_capacity(count * 128);
    let mut numbers = Numbers::default();
    for row in rows {
        for (index, cell) in cells(&row, &mut numbers).iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            let bytes = cell.as_bytes();
            if !NEVER_QUOTED.contains(&index) && quoting.should_quote(bytes) {
                out.push(b'"');
                for &byte in bytes {
                    if byte == b'"' {
                        out.push(b'"');
                    }
                    out.push(byte);
                }
                out.push(b'"');
            } else {
                out.extend_from_slice(bytes);
            }
        }
        out.push(b'\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_formatting_writes_what_the_csv_writer_writes() {
        let texts = [
            "",
            "plain",
            "a,b",
            "say \"hi\"",
            "two\nlines",
            "cr\rhere",
            "=SUM(A1)",
            "+x",
            "'q",
            " padded ",
            "ünï",
            "\"",
            ",",
            "tab\there",
            "-1",
            "@x",
        ];
        let messages: Vec<String> = texts
            .iter()
            .map(|t| t.to_string())
            .chain(["x".repeat(600), "\u{1b}[31mred".into()])
            .collect();
        let mut rows = Vec::new();
        for (i, text) in texts.iter().enumerate() {
            rows.push(Row {
                line: i as u64 * 7919,
                account: text,
                key: texts[(i + 3) % texts.len()],
                key_id: KeyId::of(text),
                email: texts[(i + 5) % texts.len()],
                status: Status::ALL[i % Status::ALL.len()],
                http_status: (i % 3 == 0).then_some(200 + i as u16),
                attempts: i as u32,
                error_code: (i % 2 == 0).then_some(texts[(i + 7) % texts.len()]),
                error_message: Cow::Borrowed(&messages[i % messages.len()]),
            });
        }
        let mut writer = ReportWriter::appending(Vec::new());
        for row in &rows {
            writer.write(row).unwrap();
        }
        let expected = writer.into_inner().unwrap();
        assert_eq!(format_rows(rows.iter().cloned(), rows.len()), expected);
    }

    #[test]
    fn a_report_of_many_blocks_is_written_whole_and_in_order() {
        let mut planner = crate::plan::Planner::new();
        let rows = 2 * FORMAT_AHEAD + FORMAT_BLOCK + 17;
        for line in 0..rows {
            planner.push(&crate::input::InputRow {
                line: line as u64 + 2,
                key: format!("key-{:04}", line % 1000),
                emails: format!("a{}@x.example", line % 3000),
                label: format!("Account {}", line % 1000),
            });
        }
        let plan = planner.finish(&crate::plan::ChunkOptions::default());
        let rows = Rows::new(&plan, &[], true);

        let mut expected = ReportWriter::new(Vec::new()).unwrap();
        for row in rows.all() {
            expected.write(&row).unwrap();
        }
        let mut written = Vec::new();
        write_all(&mut written, &rows).unwrap();
        assert_eq!(written, expected.into_inner().unwrap());
    }

    #[test]
    fn the_cells_written_unchecked_can_never_need_quotes() {
        let quoting = csv_core::WriterBuilder::new().build();
        let named: Vec<&str> = NEVER_QUOTED.iter().map(|&c| COLUMNS[c]).collect();
        assert_eq!(
            named,
            ["line", "key_id", "status", "http_status", "attempts"]
        );
        for status in Status::ALL {
            assert!(
                !quoting.should_quote(status.as_str().as_bytes()),
                "{status:?}"
            );
        }
        let id = KeyId::of("any key, \"quoted\"");
        assert!(id.as_str().bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn formula_cells_are_neutralized_and_restored() {
        let cases = [
            ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"),
            ("+ops@example.com", "'+ops@example.com"),
            ("-1", "'-1"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("'+a@example.com", "''+a@example.com"),
            // A control character before a formula is cleaned to a space.
            (" =SUM(A1)", "' =SUM(A1)"),
            ("   ", "   "),
            ("plain@example.com", "plain@example.com"),
            ("…wxyz", "…wxyz"),
            ("", ""),
        ];
        for (cell, written) in cases {
            assert_eq!(neutralize(cell), written, "{cell:?}");
            assert_eq!(restore(written), cell, "{cell:?}");
        }
    }
}
