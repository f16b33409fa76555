//! Real files, written to a temporary folder, read through `ecbulk::input::open`: every
//! kind of export a partner's tools produce, and files meant to break the reader.

use ecbulk::input::{self, InputError, InputOptions, InputRow, InputSource};
use ecbulk::plan::{ChunkOptions, Planner};
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

const KEY_A: &str = "TESTKEY-FAKE-9001-AAAAAAAAAAAA";
const KEY_B: &str = "TESTKEY-FAKE-9002-BBBBBBBBBBBB";

fn write(dir: &TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    fs::write(&path, bytes).expect("write the test file");
    path
}

fn read_with(path: &Path, options: &InputOptions) -> Result<Vec<InputRow>, InputError> {
    input::open(&InputSource::Path(path.to_path_buf()), options)?.collect()
}

fn read(path: &Path) -> Result<Vec<InputRow>, InputError> {
    read_with(path, &InputOptions::default())
}

/// Writes `text` and reads it back as (line, key, emails, label).
fn rows_of(text: &str) -> Vec<(u64, String, String, String)> {
    let dir = TempDir::new().expect("temp dir");
    let path = write(&dir, "in.csv", text.as_bytes());
    read(&path)
        .expect("reads")
        .into_iter()
        .map(|r| (r.line, r.key, r.emails, r.label))
        .collect()
}

fn row(line: u64, key: &str, emails: &str, label: &str) -> (u64, String, String, String) {
    (line, key.into(), emails.into(), label.into())
}

fn error_of(bytes: &[u8], options: &InputOptions) -> InputError {
    let dir = TempDir::new().expect("temp dir");
    let path = write(&dir, "in.csv", bytes);
    match read_with(&path, options) {
        Ok(rows) => panic!("read {} rows instead of refusing the file", rows.len()),
        Err(error) => error,
    }
}

fn assert_mentions(error: &InputError, parts: &[&str]) {
    let text = error.to_string();
    for part in parts {
        assert!(text.contains(part), "{part:?} missing from: {text}");
    }
}

fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    let mut bytes = if big_endian {
        vec![0xFE, 0xFF]
    } else {
        vec![0xFF, 0xFE]
    };
    for unit in text.encode_utf16() {
        let pair = if big_endian {
            unit.to_be_bytes()
        } else {
            unit.to_le_bytes()
        };
        bytes.extend_from_slice(&pair);
    }
    bytes
}

#[test]
fn aliases_and_spaced_headers_are_recognised() {
    let text = format!(
        "Notes, API Key ,Emergency-Contact-Emails,Account Name\n\
         n,{KEY_A},a@x.com,Acme\n"
    );
    assert_eq!(rows_of(&text), [row(2, KEY_A, "a@x.com", "Acme")]);

    let text = format!("partner_api_key,CONTACT_EMAIL\n{KEY_B},b@y.com\n");
    assert_eq!(rows_of(&text), [row(2, KEY_B, "b@y.com", "")]);
}

#[test]
fn flags_name_other_columns() {
    let dir = TempDir::new().expect("temp dir");
    let text = format!("Token,Who,Customer\n{KEY_A},a@x.com,Acme\n");
    let path = write(&dir, "in.csv", text.as_bytes());
    let options = InputOptions {
        key_column: Some("token".into()),
        email_column: Some("WHO".into()),
        account_column: Some("customer".into()),
        ..InputOptions::default()
    };
    let rows = read_with(&path, &options).expect("reads");
    assert_eq!(
        (rows[0].key.as_str(), rows[0].label.as_str()),
        (KEY_A, "Acme")
    );
}

#[test]
fn semicolon_and_tab_files_are_sniffed_from_the_header() {
    let semicolon = format!("key;email;name\n{KEY_A};\"a@x.com, b@y.com\";Doe, Jane\n");
    assert_eq!(
        rows_of(&semicolon),
        [row(2, KEY_A, "a@x.com, b@y.com", "Doe, Jane")]
    );

    let tab = format!("key\temail\tname\n{KEY_A}\ta@x.com; b@y.com\tAcme, Inc\n");
    assert_eq!(
        rows_of(&tab),
        [row(2, KEY_A, "a@x.com; b@y.com", "Acme, Inc")]
    );
}

#[test]
fn the_delimiter_option_overrides_sniffing() {
    let dir = TempDir::new().expect("temp dir");
    let text = format!("key|email|note\n{KEY_A}|a@x.com|one; two; three\n");
    let path = write(&dir, "in.csv", text.as_bytes());
    let options = InputOptions {
        delimiter: Some(b'|'),
        ..InputOptions::default()
    };
    let rows = read_with(&path, &options).expect("reads");
    assert_eq!(rows[0].emails, "a@x.com");
}

#[test]
fn a_utf8_bom_is_not_part_of_the_first_header() {
    let text = format!("\u{FEFF}api_key,email\n{KEY_A},a@x.com\n");
    assert_eq!(rows_of(&text), [row(2, KEY_A, "a@x.com", "")]);
}

#[test]
fn lf_and_crlf_files_give_the_same_physical_lines() {
    let lf = format!(
        "key,email,name\n\
         {KEY_A},\"a@x.com\nb@y.com\",\"Two\nline label\"\n\
         \n\
         {KEY_B},c@z.com,plain\n\
         {KEY_A},\"d@w.com\n\ne@v.com\",x\n\
         {KEY_B},f@u.com,last"
    );
    let crlf = lf.replace('\n', "\r\n");
    let lines = |text: &str| -> Vec<u64> { rows_of(text).iter().map(|r| r.0).collect() };
    assert_eq!(lines(&lf), [2, 6, 7, 10]);
    assert_eq!(lines(&crlf), [2, 6, 7, 10]);

    let cells = rows_of(&crlf);
    assert_eq!(cells[0].2, "a@x.com\r\nb@y.com");
    assert_eq!(cells[0].3, "Two\r\nline label");
}

#[test]
fn an_excel_sep_line_is_honoured_and_skipped() {
    let text = format!("sep=;\r\nkey;email\r\n{KEY_A};a@x.com,b@y.com\r\n");
    assert_eq!(rows_of(&text), [row(3, KEY_A, "a@x.com,b@y.com", "")]);

    // A missing column is reported at the header's own line, 2.
    let error = error_of(b"sep=,\nkey,mail\n", &InputOptions::default());
    assert_eq!(error.line, Some(2));
}

#[test]
fn a_powershell_type_line_is_skipped() {
    // Windows PowerShell 5's `Export-Csv`: a `#TYPE` line, every cell quoted, CRLF.
    let text = format!(
        "#TYPE System.Management.Automation.PSCustomObject\r\n\"ApiKey\",\"Email\"\r\n\
         \"{KEY_A}\",\"a@x.com\"\r\n"
    );
    assert_eq!(rows_of(&text), [row(3, KEY_A, "a@x.com", "")]);

    let error = error_of(
        b"#TYPE System.Object\r\nkey,mail\r\n",
        &InputOptions::default(),
    );
    assert_eq!(error.line, Some(2));
}

#[test]
fn utf16_unicode_text_is_transcoded() {
    let text = format!("api_key\temail\tname\r\n{KEY_A}\ta@bücher.de\tMüller GmbH\r\n");
    for big_endian in [false, true] {
        let dir = TempDir::new().expect("temp dir");
        let path = write(&dir, "unicode.txt", &utf16(&text, big_endian));
        let rows = read(&path).expect("reads");
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (
                rows[0].line,
                rows[0].emails.as_str(),
                rows[0].label.as_str()
            ),
            (2, "a@bücher.de", "Müller GmbH")
        );
    }
}

#[test]
fn windows_1252_is_refused_as_utf8_and_read_with_the_flag() {
    let text = format!("key,email,name\r\n{KEY_A},a@x.com,Acme\r\n{KEY_B},b@y.com,Café\r\n");
    let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(&text);

    let error = error_of(&bytes, &InputOptions::default());
    assert_eq!(error.line, Some(3));
    assert_mentions(
        &error,
        &[
            "in.csv, line 3: column 3 (\"name\")",
            "0xE9",
            "--encoding windows-1252",
            "CSV UTF-8",
        ],
    );

    let dir = TempDir::new().expect("temp dir");
    let path = write(&dir, "legacy.csv", &bytes);
    let options = InputOptions {
        encoding: Some("windows-1252".into()),
        ..InputOptions::default()
    };
    let rows = read_with(&path, &options).expect("reads");
    assert_eq!(rows[1].label, "Café");
}

#[test]
fn an_invalid_byte_in_an_unused_column_still_refuses_the_file() {
    let mut bytes = format!("key,email,notes\n{KEY_A},a@x.com,ok\n{KEY_B},b@y.com,").into_bytes();
    bytes.extend_from_slice(b"\xFF\n");
    let error = error_of(&bytes, &InputOptions::default());
    assert_eq!(error.line, Some(3));
    assert_mentions(&error, &["column 3 (\"notes\")", "0xFF"]);
}

#[test]
fn an_unknown_encoding_names_the_flag() {
    let options = InputOptions {
        encoding: Some("klingon-8".into()),
        ..InputOptions::default()
    };
    let error = error_of(b"key,email\n", &options);
    assert_mentions(&error, &["--encoding", "klingon-8"]);
    assert_eq!(error.line, None);
}

#[test]
fn ragged_rows_read_missing_cells_as_empty() {
    let text = format!(
        "key,email,name,,\n\
         {KEY_A}\n\
         {KEY_B},b@y.com\n\
         {KEY_A},a@x.com,Acme,extra,more,and more\n\
         {KEY_B},c@z.com,Beta,,\n"
    );
    assert_eq!(
        rows_of(&text),
        [
            row(2, KEY_A, "", ""),
            row(3, KEY_B, "b@y.com", ""),
            row(4, KEY_A, "a@x.com", "Acme"),
            row(5, KEY_B, "c@z.com", "Beta"),
        ]
    );
}

#[test]
fn blank_and_delimiter_only_rows_are_skipped() {
    let text = format!(",,\n\nkey,email,name\n,,\n{KEY_A},a@x.com,\n ,\u{A0}, \n\n;;\n");
    assert_eq!(
        rows_of(&text),
        [row(5, KEY_A, "a@x.com", ""), row(8, ";;", "", "")]
    );
}

#[test]
fn a_dos_end_of_file_mark_is_not_a_row() {
    let text = format!("key,email\r\n{KEY_A},a@x.com\r\n\u{1A}");
    assert_eq!(rows_of(&text), [row(2, KEY_A, "a@x.com", "")]);
}

#[test]
fn a_row_with_only_an_ignored_cell_is_kept_for_the_report() {
    let text = format!("key,email,note\n{KEY_A},a@x.com,\n,,left blank on purpose\n");
    assert_eq!(rows_of(&text)[1], row(3, "", "", ""));
}

#[test]
fn duplicate_headers_are_refused_naming_both() {
    let cases: [(&str, &[&str]); 3] = [
        (
            "key,Email,email\n",
            &[
                "\"Email\" (column 2)",
                "\"email\" (column 3)",
                "--email-column",
            ],
        ),
        (
            "key,email,emails\n",
            &["\"email\"", "\"emails\"", "--email-column"],
        ),
        (
            "API Key,api_key,email\n",
            &["\"API Key\"", "\"api_key\"", "--key-column"],
        ),
    ];
    for (header, parts) in cases {
        let error = error_of(header.as_bytes(), &InputOptions::default());
        assert_eq!(error.line, Some(1), "{header}");
        assert_mentions(&error, parts);
    }
}

#[test]
fn a_title_above_the_header_is_refused_naming_the_header_line() {
    let text = format!(
        "Emergency contacts, exported 2026-05-01\r\n\r\nAPI Key,Email\r\n{KEY_A},a@x.com\r\n"
    );
    let error = error_of(text.as_bytes(), &InputOptions::default());
    assert_eq!(error.line, Some(1));
    assert_mentions(
        &error,
        &["no API key column", "line 3 looks like the header"],
    );

    // Without a later row that would do as the header, there is no such hint.
    let error = error_of(b"token,email\nk1,a@x.com\n", &InputOptions::default());
    assert!(!error.message.contains("looks like"), "{error}");
}

#[test]
fn a_missing_column_lists_the_headers_and_the_flag() {
    let error = error_of(b"token,email\nabc,a@x.com\n", &InputOptions::default());
    assert_mentions(
        &error,
        &["line 1", "\"token\"", "\"email\"", "--key-column"],
    );
    let error = error_of(b"key,mail\n", &InputOptions::default());
    assert_mentions(&error, &["\"mail\"", "--email-column"]);
}

#[test]
fn invisible_characters_never_change_a_key_or_address() {
    let text = format!(
        "\u{FEFF}\u{200B}key\u{2060},email\n\
         \u{200B}{KEY_A}\u{FEFF},\u{A0}a@x.com\u{200D}\n\
         {}\u{2060},b@y.com\n",
        KEY_B.replacen('-', "-\u{200C}", 1)
    );
    let rows = rows_of(&text);
    assert_eq!(rows[0].1, KEY_A);
    assert_eq!(rows[1].1, KEY_B);
    assert_eq!(rows[0].2, "a@x.com");
}

#[test]
fn a_hundred_megabyte_line_is_refused_without_reading_it_all() {
    let dir = TempDir::new().expect("temp dir");
    let path = dir.path().join("huge.csv");
    let mut file = fs::File::create(&path).expect("create");
    write!(file, "key,email\n{KEY_A},").expect("write");
    let block = vec![b'a'; 1024 * 1024];
    for _ in 0..100 {
        file.write_all(&block).expect("write");
    }
    drop(file);

    let started = std::time::Instant::now();
    let error = read(&path).expect_err("refused");
    assert_eq!(error.line, Some(2));
    assert_mentions(&error, &["longer than 1 MiB"]);
    assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
}

#[test]
fn a_huge_first_line_is_refused_too() {
    let mut bytes = vec![b'x'; 3 * 1024 * 1024];
    bytes.extend_from_slice(b"\nkey,email\n");
    let error = error_of(&bytes, &InputOptions::default());
    assert_eq!(error.line, Some(1));
}

#[test]
fn an_open_quote_cannot_swallow_the_file() {
    let mut text = format!("key,email\n{KEY_A},a@x.com\n{KEY_B},\"b@y.com\n");
    for _ in 0..60_000 {
        text.push_str("just,more,rows,of,text\n");
    }
    let error = error_of(text.as_bytes(), &InputOptions::default());
    assert_eq!(error.line, Some(3));
    assert_mentions(&error, &["quote"]);
}

#[test]
fn a_file_of_nul_bytes_is_refused() {
    let error = error_of(&[0u8; 4096], &InputOptions::default());
    assert_eq!(error.line, Some(1));
    assert_mentions(&error, &["NUL"]);
}

#[test]
fn binary_files_are_refused_with_a_clear_error() {
    // A fixed pseudo-random stream: the same bytes every run.
    let mut state: u32 = 0x1234_5678;
    let noise: Vec<u8> = (0..200_000)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 24) as u8
        })
        .collect();
    let error = error_of(&noise, &InputOptions::default());
    assert!(error.line.is_some(), "{error}");

    let xlsx = b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml";
    let error = error_of(xlsx, &InputOptions::default());
    assert_mentions(&error, &["xlsx", "CSV UTF-8"]);
}

#[test]
fn an_empty_file_has_no_header() {
    for bytes in [
        &b""[..],
        b"\n\r\n\n",
        b"\xEF\xBB\xBF",
        b",,,\n , ,\n",
        b"sep=;\n",
    ] {
        let error = error_of(bytes, &InputOptions::default());
        assert_mentions(&error, &["no header"]);
    }
}

#[test]
fn a_header_alone_gives_no_rows() {
    assert_eq!(rows_of("key,email\n"), []);
    assert_eq!(rows_of("key,email"), []);
}

#[test]
fn a_missing_file_is_named() {
    let dir = TempDir::new().expect("temp dir");
    let path = dir.path().join("absent.csv");
    let error = read(&path).expect_err("refused");
    assert!(error.file.ends_with("absent.csv"), "{error}");
    assert_mentions(&error, &["cannot open"]);
}

/// What the sandbox would hold after a run: the planned addresses of each key.
fn planned(rows: &[InputRow]) -> BTreeMap<String, Vec<String>> {
    let mut planner = Planner::new();
    for row in rows {
        planner.push(row);
    }
    let plan = planner.finish(&ChunkOptions::default());
    let mut held: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for chunk in &plan.chunks {
        let key = plan.chunk_key(chunk).expect("chunks carry valid keys");
        let emails = plan.chunk_emails(chunk).into_iter().map(String::from);
        held.entry(key.expose().to_string())
            .or_default()
            .extend(emails);
    }
    held.values_mut().for_each(|emails| emails.sort());
    held
}

#[test]
fn samples_give_their_expected_sandbox_contents() {
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let mut checked = 0;
    for entry in fs::read_dir(&samples).expect("samples folder") {
        let expected_path = entry.expect("entry").path();
        let name = expected_path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let Some(stem) = name.strip_suffix(".expected.json") else {
            continue;
        };
        let input = ["csv", "txt", "tsv"]
            .iter()
            .map(|ext| samples.join(format!("{stem}.{ext}")))
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("no input beside {name}"));
        let mut options = InputOptions {
            encoding: ["windows-1252", "macintosh"]
                .into_iter()
                .find(|label| stem.contains(label))
                .map(String::from),
            ..InputOptions::default()
        };
        // `NAME.flags`: the column flags a sample with unrecognised headers needs.
        let flags = fs::read_to_string(samples.join(format!("{stem}.flags"))).unwrap_or_default();
        let flags: Vec<&str> = flags.lines().filter(|l| !l.trim().is_empty()).collect();
        for pair in flags.chunks(2) {
            let [flag, value] = pair else {
                panic!("{stem}.flags: {flags:?} is not flag-value pairs")
            };
            let field = match *flag {
                "--key-column" => &mut options.key_column,
                "--email-column" => &mut options.email_column,
                "--account-column" => &mut options.account_column,
                other => panic!("{stem}.flags: {other} is not a column flag"),
            };
            *field = Some(value.to_string());
        }

        let rows = read_with(&input, &options).unwrap_or_else(|e| panic!("{e}"));
        let text = fs::read_to_string(&expected_path).expect("expected file");
        let mut expected: BTreeMap<String, Vec<String>> =
            serde_json::from_str(&text).expect("expected JSON");
        expected.values_mut().for_each(|emails| emails.sort());
        assert_eq!(planned(&rows), expected, "{name}");
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} samples");
}

/// A fixed pseudo-random source, so a failure can be repeated.
struct Dice(u32);

impl Dice {
    fn pick<'a>(&mut self, items: &[&'a [u8]]) -> &'a [u8] {
        self.0 = self.0.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        items[(self.0 >> 16) as usize % items.len()]
    }
}

#[test]
fn scrambled_files_never_panic() {
    let pieces: &[&[u8]] = &[
        b"key",
        b"email",
        b",",
        b";",
        b"\t",
        b"\"",
        b"\r",
        b"\n",
        b"\r\n",
        b"sep=;",
        b"a@x.com",
        b"\xEF\xBB\xBF",
        b"\xFF\xFE",
        b"\xE9",
        b"\x00",
        b" ",
        b"<",
        b">",
        "\u{200B}".as_bytes(),
        "ü".as_bytes(),
        b"\xE2\x82",
    ];
    let dir = TempDir::new().expect("temp dir");
    let mut dice = Dice(7);
    for round in 0..300 {
        let mut bytes = Vec::new();
        for _ in 0..(round % 60) {
            bytes.extend_from_slice(dice.pick(pieces));
        }
        let path = write(&dir, "scrambled.csv", &bytes);
        let Ok(rows) = input::open(&InputSource::Path(path), &InputOptions::default()) else {
            continue;
        };
        for row in rows.flatten() {
            let _ = ecbulk::email::parse_cell(&row.emails);
        }
    }
}
