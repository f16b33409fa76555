//! Splitting decoded text into records with csv-core, with two things the csv crate
//! does not give: a bound on the memory one record may take, and the true physical
//! line each record starts on (the csv crate reports CRLF files one line low).

use super::decode::Malformed;
use std::io::{self, Read};

/// The most bytes one record may hold. Real rows are a few hundred bytes; a larger one
/// is a quote left open or a file that is not CSV, and must not take unbounded memory.
pub const MAX_RECORD: usize = 1024 * 1024;

/// The most cells one record may hold: twice Excel's 16,384 columns.
pub const MAX_FIELDS: usize = 32 * 1024;

/// Decoded bytes asked for at a time.
const CHUNK: usize = 64 * 1024;

/// A problem at a known physical line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    /// Physical line of the file, starting at 1.
    pub line: u64,
    /// Zero-based cell of the record the problem is in, where that is known.
    pub field: Option<usize>,
    /// What is wrong.
    pub message: String,
}

/// Counts physical lines the way a text editor does: `\r\n`, `\n` and a lone `\r`
/// each end one line.
#[derive(Debug, Clone, Copy, Default)]
struct LineCounter {
    breaks: u64,
    after_cr: bool,
    /// Past the header, a NUL is just a bad character in a cell: the row it is in is
    /// reported invalid, and the rest of the file still runs.
    nul_ok: bool,
}

impl LineCounter {
    /// The line the next byte is on.
    fn line(&self) -> u64 {
        self.breaks + u64::from(self.after_cr) + 1
    }

    /// Counts `bytes`; before the header has been read, a NUL among them is refused
    /// with its line, since no text file starts with one and a file of NULs (or UTF-16
    /// without its byte-order mark) would otherwise read as one odd header.
    fn feed(&mut self, bytes: &[u8]) -> Result<(), u64> {
        // Most text has neither: then the count is of `\n` alone, which `memchr`
        // finds many bytes at a time.
        let odd = match self.nul_ok {
            true => memchr::memchr(b'\r', bytes),
            false => memchr::memchr2(b'\r', 0, bytes),
        };
        if !self.after_cr && odd.is_none() {
            self.breaks += memchr::memchr_iter(b'\n', bytes).count() as u64;
            return Ok(());
        }
        for &byte in bytes {
            match byte {
                b'\n' => {
                    self.breaks += 1;
                    self.after_cr = false;
                }
                b'\r' => {
                    self.breaks += u64::from(self.after_cr);
                    self.after_cr = true;
                }
                _ => {
                    self.breaks += u64::from(self.after_cr);
                    self.after_cr = false;
                    if byte == 0 && !self.nul_ok {
                        return Err(self.line());
                    }
                }
            }
        }
        Ok(())
    }
}

fn is_break(byte: &u8) -> bool {
    *byte == b'\n' || *byte == b'\r'
}

/// Decoded text with a window of bytes not yet consumed, and the line count of what
/// was consumed.
pub struct Buffered<R> {
    source: R,
    buf: Vec<u8>,
    pos: usize,
    eof: bool,
    lines: LineCounter,
}

impl<R: Read> Buffered<R> {
    /// Reads `source`, which yields UTF-8.
    pub fn new(source: R) -> Buffered<R> {
        Buffered {
            source,
            buf: Vec::with_capacity(CHUNK),
            pos: 0,
            eof: false,
            lines: LineCounter::default(),
        }
    }

    /// The wrapped source.
    pub fn source(&self) -> &R {
        &self.source
    }

    /// The line the next unconsumed byte is on.
    pub fn line(&self) -> u64 {
        self.lines.line()
    }

    fn available(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    fn consume(&mut self, n: usize) -> Result<(), ReadError> {
        let end = (self.pos + n).min(self.buf.len());
        let result = self.lines.feed(&self.buf[self.pos..end]);
        self.pos = end;
        result.map_err(|line| ReadError {
            line,
            field: None,
            message: "the file holds a NUL byte, so it is not a text file in this encoding; \
                      if it is UTF-16 without a byte-order mark, pass --encoding utf-16le, \
                      or re-save it as \"CSV UTF-8\""
                .into(),
        })
    }

    /// Reads more text after what is not yet consumed; false at the end of the input.
    fn fill(&mut self) -> Result<bool, ReadError> {
        if self.eof {
            return Ok(false);
        }
        self.buf.drain(..self.pos);
        self.pos = 0;
        let old = self.buf.len();
        self.buf.resize(old + CHUNK, 0);
        let read = loop {
            match self.source.read(&mut self.buf[old..]) {
                Ok(n) => break Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => break Err(e),
            }
        };
        self.buf.truncate(old + *read.as_ref().unwrap_or(&0));
        match read {
            Ok(n) => {
                self.eof = n == 0;
                Ok(n > 0)
            }
            Err(error) => Err(self.read_error(&error)),
        }
    }

    /// A decoding error is reported at the line of the bad bytes, which follow
    /// everything already in the buffer.
    fn read_error(&self, error: &io::Error) -> ReadError {
        let mut at = self.lines;
        let _ = at.feed(self.available());
        let message = match Malformed::inside(error) {
            Some(malformed) => malformed.to_string(),
            None => format!("cannot read the file: {error}"),
        };
        ReadError {
            line: at.line(),
            field: None,
            message,
        }
    }

    /// Consumes line breaks; false when nothing follows them.
    fn skip_breaks(&mut self) -> Result<bool, ReadError> {
        loop {
            let n = self.available().iter().take_while(|b| is_break(b)).count();
            self.consume(n)?;
            if !self.available().is_empty() {
                return Ok(true);
            }
            if !self.fill()? {
                return Ok(false);
            }
        }
    }

    /// The next non-blank physical line, without consuming it (but the blank lines
    /// before it); `None` at the end. A line longer than [`MAX_RECORD`] is cut there.
    pub fn peek_line(&mut self) -> Result<Option<String>, ReadError> {
        if !self.skip_breaks()? {
            return Ok(None);
        }
        loop {
            let available = self.available();
            let end = available.iter().position(is_break);
            if end.is_some() || self.eof || available.len() >= MAX_RECORD {
                let line = &available[..end.unwrap_or(available.len()).min(MAX_RECORD)];
                let valid = std::str::from_utf8(line).map_or_else(
                    |e| String::from_utf8_lossy(&line[..e.valid_up_to()]).into_owned(),
                    str::to_string,
                );
                return Ok(Some(valid));
            }
            self.fill()?;
        }
    }

    /// Consumes `line`, which [`Buffered::peek_line`] just returned.
    pub fn skip_line(&mut self, line: &str) -> Result<(), ReadError> {
        self.consume(line.len())
    }
}

/// Records of the text, each with the physical line it starts on.
pub struct RecordReader<R> {
    input: Buffered<R>,
    csv: csv_core::Reader,
    out: Vec<u8>,
    ends: Vec<usize>,
    fields: usize,
    len: usize,
    quotes: Quotes,
}

impl<R: Read> RecordReader<R> {
    /// Reads records separated by `delimiter` from where `input` stands. Quoting is
    /// RFC 4180's: `"` around a cell, `""` for a quote inside one.
    pub fn new(input: Buffered<R>, delimiter: u8) -> RecordReader<R> {
        RecordReader {
            input,
            csv: csv_core::ReaderBuilder::new().delimiter(delimiter).build(),
            out: vec![0; MAX_RECORD],
            ends: vec![0; MAX_FIELDS],
            fields: 0,
            len: 0,
            quotes: Quotes::new(delimiter),
        }
    }

    /// The wrapped input.
    pub fn input(&self) -> &Buffered<R> {
        &self.input
    }

    /// Lets NULs through from here on, once the header has shown the file is text.
    pub fn accept_nul(&mut self) {
        self.input.lines.nul_ok = true;
    }

    /// Reads the next record and returns the line it starts on; `None` at the end.
    /// Blank lines are skipped, as csv-core would; skipping them here lets the
    /// record's first byte, and so its line, be known.
    pub fn next_record(&mut self) -> Result<Option<u64>, ReadError> {
        if !self.input.skip_breaks()? {
            return Ok(None);
        }
        let line = self.input.lines.line();
        let (mut len, mut fields) = (0, 0);
        self.quotes.state = QuoteState::FieldStart;

        loop {
            let available = self.input.available();
            let at_end = available.is_empty();
            let (result, read, written, ended) =
                self.csv
                    .read_record(available, &mut self.out[len..], &mut self.ends[fields..]);
            self.quotes.feed(&available[..read]);
            self.input.consume(read)?;
            len += written;
            fields += ended;

            match result {
                // csv-core ends a quoted cell at the end of the input without a word;
                // the rows after the stray quote would then be read as one cell, and
                // their keys and addresses sent to this row's account.
                csv_core::ReadRecordResult::Record
                    if at_end && self.quotes.state == QuoteState::Quoted =>
                {
                    return Err(quote_left_open(line, fields.saturating_sub(1)));
                }
                csv_core::ReadRecordResult::Record => break,
                csv_core::ReadRecordResult::End => return Ok(None),
                csv_core::ReadRecordResult::InputEmpty if at_end => return Ok(None),
                // Bytes that fail to decode come right after what was consumed,
                // so they are in the cell being read.
                csv_core::ReadRecordResult::InputEmpty => {
                    self.input.fill().map_err(|e| ReadError {
                        field: Some(fields),
                        ..e
                    })?;
                }
                csv_core::ReadRecordResult::OutputFull => return Err(too_long(line)),
                csv_core::ReadRecordResult::OutputEndsFull => return Err(too_wide(line)),
            }
        }
        (self.len, self.fields) = (len, fields);
        Ok(Some(line))
    }

    /// The record last read, to take cells from.
    pub fn record(&self) -> Record<'_> {
        // As in `fields`: the text was valid UTF-8, checked here once per record.
        Record {
            text: std::str::from_utf8(&self.out[..self.len]).unwrap_or_default(),
            ends: &self.ends[..self.fields],
        }
    }

    /// The text of the record last read, its cells back to back.
    pub fn record_bytes(&self) -> &[u8] {
        &self.out[..self.len]
    }

    /// The cells of the record last read.
    pub fn fields(&self) -> Vec<&str> {
        // The text was valid UTF-8 and csv-core removes only ASCII quotes and
        // delimiters from it, so every cell boundary falls between characters.
        let text = std::str::from_utf8(&self.out[..self.len]).unwrap_or_default();
        let mut start = 0;
        self.ends[..self.fields]
            .iter()
            .map(|&end| {
                let field = text.get(start..end).unwrap_or_default();
                start = end;
                field
            })
            .collect()
    }
}

/// Where the text read so far stands with respect to quoting, as csv-core reads it:
/// RFC 4180 quotes, `""` inside a quoted cell for one quote, and a quote inside an
/// unquoted cell taken as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QuoteState {
    /// At the start of a cell.
    FieldStart,
    /// Inside a cell that did not start with a quote.
    Unquoted,
    /// Inside a quoted cell.
    Quoted,
    /// Just after a quote inside a quoted cell: it closed the cell, or starts `""`.
    QuoteInQuoted,
}

/// Follows the quoting of a record's bytes, so that a quote still open at the end of
/// the input can be told from a cell that ends there.
#[derive(Debug, Clone, Copy)]
struct Quotes {
    delimiter: u8,
    state: QuoteState,
}

impl Quotes {
    fn new(delimiter: u8) -> Quotes {
        Quotes {
            delimiter,
            state: QuoteState::FieldStart,
        }
    }

    /// Follows `bytes`. Only a quote can change the state inside a cell, so the scan
    /// jumps from quote to quote with `memchr` instead of stepping through every byte:
    /// this runs over the whole file, and most of a file is unquoted cells.
    fn feed(&mut self, bytes: &[u8]) {
        use QuoteState::*;
        let mut at = 0;
        while at < bytes.len() {
            let rest = &bytes[at..];
            match self.state {
                FieldStart | QuoteInQuoted => {
                    self.state = self.step(self.state, rest[0]);
                    at += 1;
                }
                Quoted => match memchr::memchr(b'"', rest) {
                    Some(quote) => {
                        self.state = QuoteInQuoted;
                        at += quote + 1;
                    }
                    None => return,
                },
                // Until the next quote, each byte leaves the state `FieldStart` if it
                // ends a cell and `Unquoted` otherwise; the quote opens a quoted cell
                // only where a cell starts.
                Unquoted => match memchr::memchr(b'"', rest) {
                    Some(quote) => {
                        let opens = quote > 0 && self.ends_cell(rest[quote - 1]);
                        self.state = if opens { Quoted } else { Unquoted };
                        at += quote + 1;
                    }
                    None => {
                        let last = rest[rest.len() - 1];
                        self.state = if self.ends_cell(last) {
                            FieldStart
                        } else {
                            Unquoted
                        };
                        return;
                    }
                },
            }
        }
    }

    /// The state after one more byte.
    fn step(&self, state: QuoteState, byte: u8) -> QuoteState {
        use QuoteState::*;
        match (state, byte) {
            (Quoted, b'"') => QuoteInQuoted,
            (Quoted, _) => Quoted,
            (FieldStart, b'"') | (QuoteInQuoted, b'"') => Quoted,
            (_, _) if self.ends_cell(byte) => FieldStart,
            (_, _) => Unquoted,
        }
    }

    fn ends_cell(&self, byte: u8) -> bool {
        byte == self.delimiter || byte == b'\n' || byte == b'\r'
    }
}

fn quote_left_open(line: u64, field: usize) -> ReadError {
    ReadError {
        line,
        field: Some(field),
        message: "a quote (\") opens this cell and is never closed, so the cell runs on to \
                  the end of the file and takes in every row after it; close the quote, or \
                  remove it"
            .into(),
    }
}

/// The cells of one record, borrowed from the reader.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    text: &'a str,
    ends: &'a [usize],
}

impl<'a> Record<'a> {
    /// How many cells the record has.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Cell `index`, if the record has that many.
    pub fn field(&self, index: usize) -> Option<&'a str> {
        let end = *self.ends.get(index)?;
        let start = index.checked_sub(1).map_or(0, |before| self.ends[before]);
        self.text.get(start..end)
    }
}

fn too_long(line: u64) -> ReadError {
    ReadError {
        line,
        field: None,
        message: format!(
            "the row starting here is longer than {} MiB, so this is not a usable CSV \
             file; a cell that opens a quote (\") and never closes it runs on to the end \
             of the file",
            MAX_RECORD / (1024 * 1024)
        ),
    }
}

fn too_wide(line: u64) -> ReadError {
    ReadError {
        line,
        field: None,
        message: format!(
            "the row starting here has more than {MAX_FIELDS} cells; if the delimiter is \
             wrong, pass the right one with --delimiter"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::{Buffered, LineCounter, MAX_RECORD, RecordReader};

    fn records(text: &[u8], delimiter: u8) -> Vec<(u64, Vec<String>)> {
        let mut reader = RecordReader::new(Buffered::new(text), delimiter);
        let mut found = Vec::new();
        while let Some(line) = reader.next_record().expect("reads") {
            let fields = reader.fields().into_iter().map(String::from).collect();
            found.push((line, fields));
        }
        found
    }

    #[test]
    fn line_counting_treats_every_line_ending_alike() {
        let cases: [(&[u8], u64); 7] = [
            (b"", 1),
            (b"a\nb\n", 3),
            (b"a\r\nb\r\n", 3),
            (b"a\rb\r", 3),
            (b"a\r", 2),
            (b"a\r\r\nb", 3),
            (b"\n\r\n\r", 4),
        ];
        for (bytes, want) in cases {
            let mut whole = LineCounter::default();
            whole.feed(bytes).expect("no NUL");
            assert_eq!(whole.line(), want, "{bytes:?}");

            // A `\r\n` split between two reads is still one line break.
            let mut piecewise = LineCounter::default();
            for byte in bytes.chunks(1) {
                piecewise.feed(byte).expect("no NUL");
            }
            assert_eq!(piecewise.line(), want, "{bytes:?} fed byte by byte");
        }
    }

    #[test]
    fn records_start_on_their_physical_line_whatever_the_line_ending() {
        let lf = "h1,h2\n\na,\"multi\nline\"\n\n\nb,c\n\"x\n\ny\",z";
        let want: Vec<(u64, Vec<String>)> = vec![
            (1, vec!["h1".into(), "h2".into()]),
            (3, vec!["a".into(), "multi\nline".into()]),
            (7, vec!["b".into(), "c".into()]),
            (8, vec!["x\n\ny".into(), "z".into()]),
        ];
        assert_eq!(records(lf.as_bytes(), b','), want);

        let crlf = lf.replace('\n', "\r\n");
        let found = records(crlf.as_bytes(), b',');
        let lines: Vec<u64> = found.iter().map(|(line, _)| *line).collect();
        assert_eq!(lines, [1, 3, 7, 8]);
        assert_eq!(found[1].1[1], "multi\r\nline");
    }

    #[test]
    fn quoting_ragged_rows_and_other_delimiters() {
        let text = "k;e;l\n\"a;b\";\"say \"\"hi\"\"\"\nonly\n1;2;3;4;\n";
        let want: Vec<(u64, Vec<String>)> = vec![
            (1, vec!["k".into(), "e".into(), "l".into()]),
            (2, vec!["a;b".into(), "say \"hi\"".into()]),
            (3, vec!["only".into()]),
            (
                4,
                vec!["1".into(), "2".into(), "3".into(), "4".into(), "".into()],
            ),
        ];
        assert_eq!(records(text.as_bytes(), b';'), want);
    }

    #[test]
    fn an_overlong_record_is_refused_at_its_line() {
        let mut text = b"h\nok\n\"open quote\n".to_vec();
        text.resize(text.len() + MAX_RECORD + 10, b'x');
        let mut reader = RecordReader::new(Buffered::new(text.as_slice()), b',');
        assert_eq!(reader.next_record(), Ok(Some(1)));
        assert_eq!(reader.next_record(), Ok(Some(2)));
        let error = reader.next_record().expect_err("too long");
        assert_eq!(error.line, 3);
        assert!(
            error.message.contains("longer than 1 MiB"),
            "{}",
            error.message
        );
    }

    #[test]
    fn quotes_jumping_between_quotes_end_where_stepping_every_byte_ends() {
        let pieces: [&[u8]; 7] = [b"\"", b",", b"\n", b"\r", b"ab", b"\"\"", b" "];
        let mut seed: u32 = 7;
        for round in 0..3000 {
            let mut bytes = Vec::new();
            for _ in 0..(round % 17) {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                bytes.extend_from_slice(pieces[(seed >> 24) as usize % pieces.len()]);
            }
            let split = (seed as usize >> 3) % (bytes.len() + 1);
            let mut fast = super::Quotes::new(b',');
            fast.feed(&bytes[..split]);
            fast.feed(&bytes[split..]);
            let mut slow = super::Quotes::new(b',');
            for &byte in &bytes {
                slow.state = slow.step(slow.state, byte);
            }
            assert_eq!(
                fast.state,
                slow.state,
                "{:?}",
                String::from_utf8_lossy(&bytes)
            );
        }
    }

    #[test]
    fn a_quote_left_open_to_the_end_of_the_file_is_refused_at_its_row() {
        let text = b"k,e\nKEYA,\"a@x.example\nKEYB,b@x.example\nKEYC,c@x.example\n";
        let mut reader = RecordReader::new(Buffered::new(text.as_slice()), b',');
        assert_eq!(reader.next_record(), Ok(Some(1)));
        let error = reader.next_record().expect_err("quote left open");
        assert_eq!((error.line, error.field), (2, Some(1)));
        assert!(error.message.contains("never closed"), "{}", error.message);
    }

    #[test]
    fn quotes_that_close_or_sit_inside_a_cell_are_not_left_open() {
        let cases: [&[u8]; 6] = [
            b"k,e\na,\"x\"",
            b"k,e\na,\"x\"\"y\"\"\"\n",
            b"k,e\na,\"\"",
            b"k,e\na,b\"c\n",
            b"k,e\na,\"multi\nline\"\r\n",
            b"k,e\n\"a,\"\"\",b",
        ];
        for text in cases {
            let mut reader = RecordReader::new(Buffered::new(text), b',');
            let mut rows = 0;
            while reader
                .next_record()
                .unwrap_or_else(|e| panic!("{:?}: {e:?}", String::from_utf8_lossy(text)))
                .is_some()
            {
                rows += 1;
            }
            assert_eq!(rows, 2, "{:?}", String::from_utf8_lossy(text));
        }
    }

    #[test]
    fn a_nul_byte_is_refused_at_its_line() {
        let mut reader = RecordReader::new(Buffered::new(b"h\r\nok\r\nb\0d\r\n".as_slice()), b',');
        assert_eq!(reader.next_record(), Ok(Some(1)));
        assert_eq!(reader.next_record(), Ok(Some(2)));
        let error = reader.next_record().expect_err("NUL");
        assert_eq!(error.line, 3);
        assert!(error.message.contains("NUL"), "{}", error.message);
    }

    #[test]
    fn peeking_skips_blank_lines_and_keeps_the_line() {
        let mut input = Buffered::new(b"\r\n\nsep=;\r\nk;e\n".as_slice());
        let first = input.peek_line().expect("reads").expect("a line");
        assert_eq!(first, "sep=;");
        input.skip_line(&first).expect("skips");
        assert_eq!(input.peek_line(), Ok(Some("k;e".into())));
        assert_eq!(input.lines.line(), 4);
    }
}
