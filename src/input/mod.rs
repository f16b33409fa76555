//! Reading the partner's CSV: finds the key, email and label columns, and yields
//! one [`InputRow`] per data line with its true physical line number. It knows
//! nothing of validation beyond what is needed to read the file.

use std::fmt;
use std::path::PathBuf;

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
    /// A legacy encoding name as encoding_rs knows it (`windows-1252`); default: UTF-8,
    /// or UTF-16 when the file starts with its BOM.
    pub encoding: Option<String>,
}

/// One data row of the input, as read: cells are trimmed but not validated.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// The rows of an opened input, in file order.
pub struct Rows {
    // TODO: filled in by the input reader.
}

impl Iterator for Rows {
    type Item = Result<InputRow, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        todo!("input reader")
    }
}

/// Opens the input and resolves its header. Errors here (no key column, unreadable
/// file) stop the run before anything is sent.
pub fn open(source: &InputSource, options: &InputOptions) -> Result<Rows, InputError> {
    let _ = (source, options);
    todo!("input reader")
}
