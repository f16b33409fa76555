//! Reading the partner's CSV: finds the key, email and label columns, and yields
//! one [`InputRow`] per data line with its true physical line number. It knows
//! nothing of validation beyond what is needed to read the file.
//!
//! The bytes pass through `decode` (to UTF-8), `sniff` (the delimiter), `reader`
//! (records and their lines, with a memory bound), [`header`] (which column is
//! which) and [`clean`] (trimming and invisible characters), in that order.

pub mod clean;
mod decode;
pub mod header;
mod reader;
mod sniff;

use decode::Decode;
use header::Columns;
use reader::{Buffered, ReadError, RecordReader};
use std::fmt;
use std::fs::File;
use std::io::{self, Cursor, Read};
use std::path::PathBuf;
use std::sync::mpsc;

/// Rows handed over at a time by [`Rows::feed`].
const FEED_BATCH: usize = 1024;

/// Batches that circulate between the reader and the caller in [`Rows::feed`]. With
/// one, each side would wait while the other works on it; with a few, the reader
/// fills the next batches while the caller plans the last one.
const FEED_BATCHES: usize = 4;

/// Where the input comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputSource {
    /// A file on disk.
    Path(PathBuf),
    /// Standard input (`-` on the command line).
    Stdin,
}

impl InputSource {
    /// The name used in messages: the path, or `<stdin>`.
    pub fn display_name(&self) -> String {
        match self {
            InputSource::Path(path) => path.display().to_string(),
            InputSource::Stdin => "<stdin>".to_string(),
        }
    }
}

/// How to read the input. Every field defaults to "work it out from the file".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InputOptions {
    /// Field delimiter; default: sniffed from the header line (`,`, `;` or tab).
    pub delimiter: Option<u8>,
    /// Header of the key column; default: the first header matching a known alias.
    pub key_column: Option<String>,
    /// Header of the email column; default: the first header matching a known alias.
    pub email_column: Option<String>,
    /// Header of the optional label column; default: a known alias, or none.
    pub account_column: Option<String>,
    /// An encoding name as encoding_rs knows it (`windows-1252`, `latin1`, `utf-16le`);
    /// default: UTF-8. A byte-order mark at the start of the file wins over this.
    pub encoding: Option<String>,
}

/// One data row of the input, as read: cells are trimmed but not validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InputRow {
    /// Physical line of the file where the row starts; the header is line 1.
    pub line: u64,
    /// The key cell, trimmed of whitespace and invisible characters.
    pub key: String,
    /// The email cell, untouched but for trimming: it may hold several addresses.
    pub emails: String,
    /// The label cell, trimmed; empty when there is no label column.
    pub label: String,
}

/// A problem that stops the run before anything is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// The input's display name.
    pub file: String,
    /// The physical line, where one is known.
    pub line: Option<u64>,
    /// What is wrong, and how to fix it where a flag would.
    pub message: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}, line {}: {}", self.file, line, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for InputError {}

/// The bytes of the input before decoding: the first few, read to recognise
/// workbooks, put back in front of the rest.
type Raw = io::Chain<Cursor<Vec<u8>>, Box<dyn Read + Send>>;

/// The rows of an opened input, in file order. Blank rows, and rows whose cells are
/// all empty, are skipped. After an error the iterator ends: the run must stop.
pub struct Rows {
    file: String,
    records: RecordReader<Decode<Raw>>,
    headers: Vec<String>,
    columns: Columns,
    delimiter: u8,
    done: bool,
}

impl Rows {
    /// The encoding the file is read in, for the run's summary.
    pub fn encoding(&self) -> &'static str {
        self.records.input().source().encoding().name()
    }

    /// The field delimiter in use, for the run's summary.
    pub fn delimiter(&self) -> u8 {
        self.delimiter
    }

    /// Whether the file has a label column.
    pub fn has_label_column(&self) -> bool {
        self.columns.label.is_some()
    }

    /// Names the cell, by its header, when the error is in one.
    fn error(&self, mut error: ReadError) -> InputError {
        if let Some(index) = error.field.take() {
            let header = self.headers.get(index).map_or("", String::as_str);
            error.message = format!("column {} ({header:?}): {}", index + 1, error.message);
        }
        at_line(&self.file, error)
    }

    /// Reads the next row into `row`, reusing its strings' memory: a million rows
    /// then cost no allocation each. `None` at the end; after an error, the end.
    pub fn read_into(&mut self, row: &mut InputRow) -> Option<Result<(), InputError>> {
        let line = match self.advance()? {
            Ok(line) => line,
            Err(error) => return Some(Err(error)),
        };
        let record = self.records.record();
        let cell = |index: usize| record.field(index).unwrap_or_default();
        row.line = line;
        row.key.clear();
        clean::strip_into(cell(self.columns.key), &mut row.key);
        row.emails.clear();
        row.emails.push_str(clean::trim(cell(self.columns.email)));
        row.label.clear();
        if let Some(index) = self.columns.label {
            row.label.push_str(clean::trim(cell(index)));
        }
        Some(Ok(()))
    }

    /// Hands every row to `each`, in file order, while the file is read and split on
    /// a thread of its own: on a machine with two cores, reading and whatever `each`
    /// does (planning) take turns no more. Stops at the first error, which is
    /// returned after the rows before it were handed over.
    pub fn feed(self, mut each: impl FnMut(&InputRow)) -> Result<(), InputError> {
        self.feed_prepared(
            |_, _: &mut ()| {},
            |batch| batch.iter().for_each(|(row, ())| each(row)),
        )
    }

    /// [`Rows::feed`], with `prepare` run on the reader's thread on each row as it is
    /// read, and its result handed on beside the row. Work that needs nothing but the
    /// row (splitting and checking its addresses) then runs beside the reading
    /// instead of after it. A slot of `T` is reused from row to row, as the rows'
    /// strings are. Rows are handed to `each` a batch at a time, in file order, so
    /// that it can look ahead within a batch.
    pub fn feed_prepared<T: Default + Clone + Send>(
        mut self,
        prepare: impl Fn(&InputRow, &mut T) + Send,
        mut each: impl FnMut(&[(InputRow, T)]),
    ) -> Result<(), InputError> {
        type Batch<T> = Vec<(InputRow, T)>;
        let new_batch = || vec![(InputRow::default(), T::default()); FEED_BATCH];
        // Batches travel full to the caller and come back empty, so that their rows'
        // strings are reused and the reader runs at most a few batches ahead.
        let (full_tx, full_rx) = mpsc::sync_channel::<(Batch<T>, usize)>(FEED_BATCHES);
        let (empty_tx, empty_rx) = mpsc::channel::<Batch<T>>();
        for _ in 1..FEED_BATCHES {
            let _ = empty_tx.send(new_batch());
        }
        std::thread::scope(|scope| {
            let reader = scope.spawn(move || {
                let mut batch = new_batch();
                loop {
                    let mut filled = 0;
                    while filled < batch.len() {
                        let (row, prepared) = &mut batch[filled];
                        match self.read_into(row) {
                            Some(Ok(())) => {
                                prepare(row, prepared);
                                filled += 1;
                            }
                            Some(Err(error)) => {
                                let _ = full_tx.send((batch, filled));
                                return Err(error);
                            }
                            None => break,
                        }
                    }
                    let last = filled < batch.len();
                    if full_tx.send((batch, filled)).is_err() || last {
                        return Ok(());
                    }
                    batch = empty_rx.recv().unwrap_or_else(|_| new_batch());
                }
            });
            for (batch, filled) in full_rx {
                each(&batch[..filled]);
                let _ = empty_tx.send(batch);
            }
            reader.join().unwrap_or_else(|_| {
                Err(InputError {
                    file: String::new(),
                    line: None,
                    message: "the input reader stopped unexpectedly".into(),
                })
            })
        })
    }

    /// Moves to the next record that is not blank, and says the line it starts on.
    fn advance(&mut self) -> Option<Result<u64, InputError>> {
        while !self.done {
            match self.records.next_record() {
                Ok(Some(line)) => {
                    // A letter or digit anywhere settles it without decoding the
                    // record's cells, which the caller is about to do.
                    let record = self.records.record_bytes();
                    if record.iter().any(u8::is_ascii_alphanumeric) {
                        return Some(Ok(line));
                    }
                    let record = self.records.record();
                    let blank = (0..record.len())
                        .filter_map(|index| record.field(index))
                        .all(is_blank_cell);
                    if !blank {
                        return Some(Ok(line));
                    }
                }
                Ok(None) => self.done = true,
                Err(error) => {
                    self.done = true;
                    return Some(Err(self.error(error)));
                }
            }
        }
        None
    }
}

impl Iterator for Rows {
    type Item = Result<InputRow, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut row = InputRow::default();
        Some(self.read_into(&mut row)?.map(|()| row))
    }
}

/// Opens the input and resolves its header. Errors here (no key column, unreadable
/// file) stop the run before anything is sent. Nothing is read beyond the header, so
/// a file of any size streams through [`Rows`].
pub fn open(source: &InputSource, options: &InputOptions) -> Result<Rows, InputError> {
    let inner: Box<dyn Read + Send> = match source {
        InputSource::Path(path) => match File::open(path) {
            Ok(file) => Box::new(file),
            Err(e) => {
                return Err(InputError {
                    file: source.display_name(),
                    line: None,
                    message: format!("cannot open the file: {e}"),
                });
            }
        },
        InputSource::Stdin => Box::new(io::stdin()),
    };
    open_reader(&source.display_name(), inner, options)
}

/// Like [`open`], over any byte stream; `name` stands for it in messages. Fuzzing and
/// tests feed bytes through here without a file.
pub fn open_reader(
    name: &str,
    inner: Box<dyn Read + Send>,
    options: &InputOptions,
) -> Result<Rows, InputError> {
    let file = name.to_string();
    let whole_file = |message: String| InputError {
        file: file.clone(),
        line: None,
        message,
    };

    let encoding = decode::encoding_for(options.encoding.as_deref()).map_err(whole_file)?;
    let raw = start_raw(inner).map_err(whole_file)?;
    let mut input = Buffered::new(Decode::new(raw, encoding));

    let delimiter = delimiter(&mut input, options).map_err(|e| at_line(&file, e))?;
    let mut records = RecordReader::new(input, delimiter);
    let (header_line, headers) = loop {
        match records.next_record().map_err(|e| at_line(&file, e))? {
            None => return Err(whole_file(NO_HEADER.into())),
            Some(line) if !is_blank(&records.fields()) => break (line, records.fields()),
            Some(_) => {}
        }
    };

    let headers: Vec<String> = headers.into_iter().map(String::from).collect();
    let names: Vec<&str> = headers.iter().map(String::as_str).collect();
    let columns = match header::resolve(&names, options) {
        Ok(columns) => columns,
        Err(mut message) => {
            if let Some(line) = later_header(&mut records, options) {
                message +=
                    &format!("; line {line} looks like the header: delete the lines above it");
            }
            return Err(InputError {
                file,
                line: Some(header_line),
                message,
            });
        }
    };
    records.accept_nul();
    Ok(Rows {
        file,
        records,
        headers,
        columns,
        delimiter,
        done: false,
    })
}

/// The line of a row just below a first row that is not the header, if that row would
/// do as the header: reports and exports often put a title and a blank line above it.
/// Only a few rows are tried, and the file is refused either way: the title could as
/// well be a header with misspelt names, and a person must say which it is.
fn later_header<R: Read>(records: &mut RecordReader<R>, options: &InputOptions) -> Option<u64> {
    const LOOKAHEAD: usize = 5;
    for _ in 0..LOOKAHEAD {
        let line = records.next_record().ok()??;
        let fields = records.fields();
        if !is_blank(&fields) && header::resolve(&fields, options).is_ok() {
            return Some(line);
        }
    }
    None
}

const NO_HEADER: &str = "no header: the file holds no rows, and its first row must name the \
                         columns (api_key, email, ...)";

/// Reads the first bytes of the input; a workbook or archive is refused here, by
/// name, rather than decoded into nonsense.
fn start_raw(mut inner: Box<dyn Read + Send>) -> Result<Raw, String> {
    let mut start = Vec::with_capacity(8);
    (&mut inner)
        .take(8)
        .read_to_end(&mut start)
        .map_err(|e| format!("cannot read the file: {e}"))?;
    if let Some(message) = decode::not_text(&start) {
        return Err(message);
    }
    Ok(Cursor::new(start).chain(inner))
}

/// The delimiter, and the `sep=` line consumed if there is one. `--delimiter` wins
/// over both the `sep=` line and sniffing. A PowerShell `#TYPE` line before them is
/// consumed too.
fn delimiter<R: Read>(input: &mut Buffered<R>, options: &InputOptions) -> Result<u8, ReadError> {
    let Some(mut first) = input.peek_line()? else {
        return Ok(options.delimiter.unwrap_or(b','));
    };
    if sniff::type_line(&first) {
        input.skip_line(&first)?;
        let Some(next) = input.peek_line()? else {
            return Ok(options.delimiter.unwrap_or(b','));
        };
        first = next;
    }
    let declared = match sniff::sep_line(&first) {
        Some(Ok(declared)) => {
            input.skip_line(&first)?;
            Some(declared)
        }
        Some(Err(message)) if options.delimiter.is_none() => {
            let line = input.line();
            return Err(ReadError {
                line,
                field: None,
                message,
            });
        }
        Some(Err(_)) => {
            input.skip_line(&first)?;
            None
        }
        None => None,
    };
    if let Some(delimiter) = options.delimiter.or(declared) {
        return Ok(delimiter);
    }
    Ok(input
        .peek_line()?
        .map_or(b',', |header| sniff::delimiter(&header)))
}

/// Whether a row holds nothing: every cell empty after trimming. A Ctrl-Z (U+001A) counts
/// as nothing too: DOS-era tools and `copy /a` end a text file with one, and it would
/// otherwise read as a last row with an unusable key.
fn is_blank(fields: &[&str]) -> bool {
    fields.iter().all(|field| is_blank_cell(field))
}

/// Whether one cell holds nothing, as [`is_blank`] counts it.
fn is_blank_cell(field: &str) -> bool {
    clean::trim(field).trim_matches('\u{1A}').is_empty()
}

fn at_line(file: &str, error: ReadError) -> InputError {
    InputError {
        file: file.to_string(),
        line: Some(error.line),
        message: error.message,
    }
}
