//! Fuzzes the whole input side: bytes are read as a partner's file, every row is
//! planned, and what the plan would send must be a valid key and valid addresses.
//! The first byte picks the reading options, so encodings and delimiters get
//! fuzzed too; the rest is the file.

#![no_main]

use ecbulk::email;
use ecbulk::input::{self, InputOptions};
use ecbulk::plan::{ChunkOptions, Planner};
use libfuzzer_sys::fuzz_target;
use std::io::Cursor;

/// Encodings a user could declare with `--encoding`; `None` is the default, UTF-8.
const ENCODINGS: [Option<&str>; 4] = [
    None,
    Some("windows-1252"),
    Some("utf-16le"),
    Some("utf-16be"),
];

/// Delimiters a user could give with `--delimiter`; `None` sniffs.
const DELIMITERS: [Option<u8>; 4] = [None, Some(b','), Some(b';'), Some(b'\t')];

fuzz_target!(|data: &[u8]| {
    let Some((&choice, file)) = data.split_first() else {
        return;
    };
    let options = InputOptions {
        encoding: ENCODINGS[usize::from(choice & 3)].map(String::from),
        delimiter: DELIMITERS[usize::from((choice >> 2) & 3)],
        ..InputOptions::default()
    };
    // Half the runs cap requests at two addresses, to reach the code that cuts them.
    let max_per_request = (choice & 0x80 != 0).then_some(2);

    let rows = match input::open_reader("fuzz.csv", Box::new(Cursor::new(file.to_vec())), &options)
    {
        Ok(rows) => rows,
        Err(error) => {
            // Messages are printed to a person: building one must not panic either.
            let _ = error.to_string();
            return;
        }
    };

    let mut planner = Planner::new();
    let mut last_line = 0;
    for row in rows {
        match row {
            Ok(row) => {
                // Rows come in file order, each on a later physical line than the one
                // before (the header is on line 1 or later, so data starts at 2).
                assert!(
                    row.line > last_line.max(1),
                    "line {} after {last_line}",
                    row.line
                );
                last_line = row.line;
                planner.push(&row);
            }
            Err(error) => {
                let _ = error.to_string();
                break;
            }
        }
    }

    let plan = planner.finish(&ChunkOptions {
        max_per_request,
        ..ChunkOptions::default()
    });
    for chunk in &plan.chunks {
        let key = plan.chunk_key(chunk).expect("only valid keys get requests");
        assert!(key.expose().bytes().all(|b| b.is_ascii_graphic()));
        let emails = plan.chunk_emails(chunk);
        assert!(!emails.is_empty(), "an empty request");
        if let Some(cap) = max_per_request {
            assert!(
                emails.len() <= cap,
                "{} addresses over the cap {cap}",
                emails.len()
            );
        }
        for address in emails {
            assert_eq!(email::check(address), Ok(()), "{address:?}");
        }
    }
});
