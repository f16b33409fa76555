//! Fuzzes email cells: splitting and cleaning must never panic, and every address
//! found valid must be one `check` accepts and that reads back as itself.

#![no_main]

use ecbulk::email;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|cell: &str| {
    for address in email::parse_cell(cell) {
        if address.invalid.is_some() {
            continue;
        }
        let text = &address.text;
        assert_eq!(email::check(text), Ok(()), "{cell:?} gave {text:?}");
        // What is sent is plain ASCII: the domain in punycode, no invisible character.
        assert!(text.is_ascii(), "{cell:?} gave non-ASCII {text:?}");

        // Sending is idempotent: the sendable form, pasted back into a cell, is found
        // again unchanged and alone.
        let again = email::parse_cell(text);
        assert_eq!(again.len(), 1, "{text:?} read back as {again:?}");
        assert_eq!(&again[0].text, text, "{text:?} read back as {again:?}");
        assert!(
            again[0].invalid.is_none(),
            "{text:?} read back as {again:?}"
        );
    }
});
