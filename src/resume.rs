//! `--resume`: reads an earlier run's report or journal and says which addresses
//! that run already added, so this run reports them `skipped` instead of sending
//! them again. Rows are matched by key id and address, never by line, so the input
//! may have been edited or grown since.

use crate::key::KeyId;
use crate::report::{self, COLUMNS};
use crate::status::Status;
use std::collections::HashSet;
use std::path::Path;

/// The addresses an earlier run added, by key id.
#[derive(Debug, Default)]
pub struct AlreadyAdded {
    /// Key id and lowercase address. Valid addresses are ASCII, so ASCII case
    /// folding matches the planner's own dedupe.
    done: HashSet<(KeyId, Box<str>)>,
    /// Whether the file's last row was cut off by a crash and ignored.
    pub torn_last_row: bool,
}

impl AlreadyAdded {
    /// Whether the earlier run added `email` for the key with id `key`.
    pub fn contains(&self, key: KeyId, email: &str) -> bool {
        // Asked once per address of the input: without a resume, fold nothing.
        !self.done.is_empty()
            && self
                .done
                .contains(&(key, email.to_ascii_lowercase().into_boxed_str()))
    }

    /// How many distinct addresses the earlier run added.
    pub fn len(&self) -> usize {
        self.done.len()
    }

    /// Whether the earlier run added nothing.
    pub fn is_empty(&self) -> bool {
        self.done.is_empty()
    }
}

/// Where the three columns resume needs sit in a report's header.
struct Columns {
    key_id: usize,
    email: usize,
    status: usize,
    width: usize,
}

/// Reads a report or journal written by `ecbulk run`. The whole file is read before
/// anything else happens, so it may be the very report (or journal) this run
/// is about to replace. Errors name the file and say what is wrong with it.
pub fn load(path: &Path) -> Result<AlreadyAdded, String> {
    let name = path.display();
    // Read whole, a device or pipe (`/dev/zero`) would take memory without end.
    if let Ok(metadata) = std::fs::metadata(path)
        && !metadata.is_file()
        && !metadata.is_dir()
    {
        return Err(format!(
            "--resume {name}: not a regular file (a device, pipe or socket); give it the \
             report or the .partial journal of an earlier run"
        ));
    }
    let data = std::fs::read(path).map_err(|e| format!("--resume {name}: cannot read it: {e}"))?;
    let added = parse(&data).map_err(|e| format!("--resume {name}: {e}"))?;
    if added.torn_last_row {
        crate::term::print_warning(&format!(
            "--resume {name}: its last line is cut off (the run that wrote it was killed); \
             ignoring that line, so what it recorded is sent again (the API keeps no duplicates)"
        ));
    }
    Ok(added)
}

/// Reads report text. Rows recorded as `added`, or as `skipped` (which an earlier
/// resumed run wrote for what the run before it added), count as done.
pub fn parse(data: &[u8]) -> Result<AlreadyAdded, String> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(data);
    let columns = header_columns(&mut reader)?;

    let mut records = Vec::new();
    let mut record = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => records.push(record.clone()),
            Ok(false) => break,
            // The csv reader stops only at I/O errors or bad UTF-8 in the header; the
            // data is in memory, so this is unreachable in practice.
            Err(error) => return Err(format!("cannot read it as CSV: {error}")),
        }
    }

    let mut added = AlreadyAdded::default();
    if let Some(last) = records.last()
        && is_torn(data, last)
    {
        records.pop();
        added.torn_last_row = true;
    }
    for record in &records {
        if let Some(done) = done_row(record, &columns).map_err(|e| at_line(data, record, &e))? {
            added.done.insert(done);
        }
    }
    Ok(added)
}

/// Finds the columns resume needs; anything else about the header may differ, so a
/// report with columns added by a later version still resumes.
fn header_columns(reader: &mut csv::Reader<&[u8]>) -> Result<Columns, String> {
    let expected = COLUMNS.join(",");
    let headers = match reader.headers() {
        Ok(headers) if !headers.is_empty() => headers.clone(),
        Ok(_) => {
            return Err(format!(
                "the file is empty; a report starts with the header {expected}"
            ));
        }
        Err(error) => return Err(format!("cannot read its header: {error}")),
    };
    let find = |name: &str| headers.iter().position(|h| h == name);
    let (Some(key_id), Some(email), Some(status)) = (find("key_id"), find("email"), find("status"))
    else {
        // A file without a header has a data row here: its key is not shown.
        let cells: Vec<_> = headers.iter().map(crate::key::redact).collect();
        let found = crate::term::clean(&cells.join(","), 200);
        return Err(format!(
            "not an ecbulk report: its header is '{found}', a report's is '{expected}' \
             (give --resume the report or the .partial journal of an earlier run)"
        ));
    };
    Ok(Columns {
        key_id,
        email,
        status,
        width: headers.len(),
    })
}

/// A crash can cut the journal's last write short. The last row is whole only if
/// the file ends with a line break outside any quoted cell: a row's quotes come in
/// pairs (an escaped quote is two), so an odd count means it stopped mid-cell.
fn is_torn(data: &[u8], last: &csv::ByteRecord) -> bool {
    let tail = data.get(record_start(data, last)..).unwrap_or_default();
    let quotes = tail.iter().filter(|&&b| b == b'"').count();
    !data.ends_with(b"\n") || quotes % 2 == 1
}

/// The key id and lowercase address of a row recorded as done, `None` for other rows.
fn done_row(
    record: &csv::ByteRecord,
    columns: &Columns,
) -> Result<Option<(KeyId, Box<str>)>, String> {
    if record.len() != columns.width {
        return Err(format!(
            "{} cells where the header has {}",
            record.len(),
            columns.width
        ));
    }
    let cell = |index: usize, name: &str| {
        let bytes = record.get(index).unwrap_or_default();
        std::str::from_utf8(bytes)
            .map(report::restore)
            .map_err(|_| format!("the {name} cell is not UTF-8"))
    };
    let status: Status = cell(columns.status, "status")?
        .parse()
        .map_err(|e| format!("{e} in the status column"))?;
    // `present`: a `--check-keys` audit found the account already holds the address,
    // so a run resumed from the audit's report need not send it.
    if !matches!(status, Status::Added | Status::Skipped | Status::Present) {
        return Ok(None);
    }
    let key_text = cell(columns.key_id, "key_id")?;
    let key = KeyId::parse(key_text).ok_or_else(|| {
        format!(
            "key_id '{}' is not 12 lowercase hex digits",
            crate::term::clean(key_text, 40)
        )
    })?;
    let email = cell(columns.email, "email")?.to_ascii_lowercase();
    Ok(Some((key, email.into_boxed_str())))
}

/// Where a record's first cell starts. In a CRLF file the csv reader places a record
/// at the `\n` that ends the line before it, so line breaks are stepped over.
fn record_start(data: &[u8], record: &csv::ByteRecord) -> usize {
    let start = record.position().map_or(0, |p| p.byte() as usize);
    let breaks = data
        .get(start..)
        .unwrap_or_default()
        .iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count();
    (start + breaks).min(data.len())
}

/// Prefixes a row's problem with its physical line. Counted here rather than taken
/// from the csv reader, whose line numbers run one low in CRLF files.
fn at_line(data: &[u8], record: &csv::ByteRecord, problem: &str) -> String {
    let line = data[..record_start(data, record)]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1;
    format!("line {line}: {problem}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        "line,account,key,key_id,email,status,http_status,attempts,error_code,error_message\n";
    const ID_A: &str = "aaaaaaaaaaaa";
    const ID_B: &str = "bbbbbbbbbbbb";

    fn id(text: &str) -> KeyId {
        KeyId::parse(text).unwrap()
    }

    fn report(rows: &[&str]) -> String {
        let mut text = HEADER.to_string();
        for row in rows {
            text.push_str(row);
            text.push('\n');
        }
        text
    }

    #[test]
    fn added_and_skipped_rows_count_as_done_whatever_their_case() {
        let text = report(&[
            "2,A,…keyA,aaaaaaaaaaaa,Ops@Example.com,added,204,1,,",
            "3,A,…keyA,aaaaaaaaaaaa,old@example.com,skipped,,0,,",
            "4,B,…keyB,bbbbbbbbbbbb,fail@example.com,failed,403,1,access_denied,no",
            "5,B,…keyB,bbbbbbbbbbbb,later@example.com,not_attempted,,0,,",
            "6,B,…keyB,bbbbbbbbbbbb,x,invalid,,0,,bad",
        ]);
        let done = parse(text.as_bytes()).unwrap();
        assert_eq!(done.len(), 2);
        assert!(done.contains(id(ID_A), "ops@example.com"));
        assert!(done.contains(id(ID_A), "OPS@EXAMPLE.COM"));
        assert!(done.contains(id(ID_A), "old@example.com"));
        assert!(!done.contains(id(ID_B), "ops@example.com"), "keys differ");
        assert!(!done.contains(id(ID_B), "fail@example.com"));
        assert!(!done.contains(id(ID_B), "later@example.com"));
        assert!(!done.torn_last_row);
    }

    #[test]
    fn addresses_an_audit_found_present_count_as_done() {
        let text = report(&[
            "2,A,…keyA,aaaaaaaaaaaa,held@example.com,present,200,1,,",
            "3,A,…keyA,aaaaaaaaaaaa,new@example.com,planned,,0,,",
        ]);
        let done = parse(text.as_bytes()).unwrap();
        assert_eq!(done.len(), 1);
        assert!(done.contains(id(ID_A), "held@example.com"));
    }

    #[test]
    fn neutralized_cells_are_restored() {
        let text = report(&[
            "2,'=cmd,…keyA,aaaaaaaaaaaa,'+ops@example.com,added,204,1,,",
            "3,'@x,…keyA,aaaaaaaaaaaa,''+q@example.com,added,204,1,,",
        ]);
        let done = parse(text.as_bytes()).unwrap();
        assert!(done.contains(id(ID_A), "+ops@example.com"));
        assert!(done.contains(id(ID_A), "'+q@example.com"));
        assert!(!done.contains(id(ID_A), "'+ops@example.com"));
    }

    #[test]
    fn a_torn_last_row_is_ignored_and_noted() {
        let whole = "2,A,…keyA,aaaaaaaaaaaa,a@example.com,added,204,1,,\n";
        let cases = [
            // Cut mid-row, in an unquoted cell.
            format!("{HEADER}{whole}3,A,…keyA,aaaaaaaaaaaa,b@exa"),
            // Cut just before the line break.
            format!("{HEADER}{whole}3,A,…keyA,aaaaaaaaaaaa,b@example.com,added,204,1,,"),
            // Cut after a line break inside a quoted label.
            format!("{HEADER}{whole}3,\"two\nlines"),
            format!("{HEADER}{whole}3,\"two\n"),
        ];
        for text in &cases {
            let done = parse(text.as_bytes()).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert!(done.torn_last_row, "{text:?}");
            assert!(done.contains(id(ID_A), "a@example.com"), "{text:?}");
            assert!(!done.contains(id(ID_A), "b@example.com"), "{text:?}");
        }

        let quoted =
            format!("{HEADER}3,\"two\nlines\",…keyA,aaaaaaaaaaaa,c@example.com,added,,1,,\n");
        let done = parse(quoted.as_bytes()).unwrap();
        assert!(!done.torn_last_row);
        assert!(done.contains(id(ID_A), "c@example.com"));
    }

    #[test]
    fn a_header_alone_is_a_report_of_nothing() {
        let done = parse(HEADER.as_bytes()).unwrap();
        assert!(done.is_empty());
        assert!(!done.torn_last_row);
    }

    #[test]
    fn files_that_are_not_reports_are_refused_with_the_reason() {
        let cases: &[(&str, &str)] = &[
            ("", "empty"),
            ("api_key,email\nKEY,a@example.com\n", "not an ecbulk report"),
            (
                "line,key_id,email,status\n2,aaaaaaaaaaaa,a@example.com,addded\n",
                "line 2: unknown status 'addded'",
            ),
            (
                "line,key_id,email,status\n2,aaaaaaaaaaaa,a@example.com\n3,aaaaaaaaaaaa,b@example.com,added\n",
                "line 2: 3 cells where the header has 4",
            ),
            (
                "line,key_id,email,status\r\n2,…keyA,a@example.com,added\r\n",
                "line 2: key_id '…keyA' is not 12 lowercase hex digits",
            ),
        ];
        for (text, want) in cases {
            let error = parse(text.as_bytes()).unwrap_err();
            assert!(error.contains(want), "{text:?}: {error}");
        }
    }

    #[test]
    fn load_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("input.csv");
        std::fs::write(&path, "api_key,email\nK,a@example.com\n").unwrap();
        let error = load(&path).unwrap_err();
        assert!(error.contains("input.csv"), "{error}");
        assert!(error.contains("not an ecbulk report"), "{error}");

        let error = load(&dir.path().join("missing.csv")).unwrap_err();
        assert!(
            error.contains("missing.csv") && error.contains("cannot read"),
            "{error}"
        );
    }
}
