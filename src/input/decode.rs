//! Turning the file's bytes into UTF-8 as they stream past: UTF-8 with or without a
//! BOM, UTF-16 with a BOM (Excel's "Unicode Text"), or a legacy encoding named with
//! `--encoding`. Malformed input is an error, never a replacement character: a
//! silently altered address or key would be sent as if it were right.

use encoding_rs::{Decoder, DecoderResult, Encoding, UTF_8};
use std::fmt;
use std::io::{self, Read};

/// Bytes read from the source at a time.
const CHUNK: usize = 64 * 1024;

/// Room for any one decoded character, whatever the encoding.
const SPILL: usize = 16;

/// The encoding to read with: `label` as encoding_rs knows it (`windows-1252`,
/// `latin1`, `utf-16le`, ...), or UTF-8 when none is given. A BOM at the start of the
/// file still wins, as it can only mean what it says.
pub fn encoding_for(label: Option<&str>) -> Result<&'static Encoding, String> {
    let Some(label) = label else {
        return Ok(UTF_8);
    };
    Encoding::for_label_no_replacement(label.trim().as_bytes()).ok_or_else(|| {
        format!(
            "unknown encoding {label:?} given with --encoding: try windows-1252, iso-8859-15, \
             utf-16le or utf-8"
        )
    })
}

/// What the first bytes of a file say when it is plainly not text: a workbook or an
/// archive saved under a `.csv` name is a common slip, and reading it as CSV would
/// only produce a confusing message about headers or encodings.
pub fn not_text(start: &[u8]) -> Option<String> {
    let kinds: [(&[u8], &str); 4] = [
        (
            b"PK\x03\x04",
            "a ZIP archive, such as an Excel .xlsx workbook",
        ),
        (
            b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1",
            "an Excel .xls workbook",
        ),
        (b"\x1F\x8B", "a gzip archive"),
        (b"%PDF-", "a PDF document"),
    ];
    let (_, what) = kinds.iter().find(|(magic, _)| start.starts_with(magic))?;
    Some(format!(
        "this is {what}, not a CSV file: save the sheet as \"CSV UTF-8\" and use that file"
    ))
}

/// A byte sequence that is not valid in the encoding being read. The reader, which
/// counts lines, turns it into a message naming the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    /// The encoding the bytes were read as.
    pub encoding: &'static Encoding,
    /// The offending bytes, as far as they were still at hand.
    pub bytes: Vec<u8>,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes: Vec<String> = self.bytes.iter().map(|b| format!("0x{b:02X}")).collect();
        let what = match bytes.len() {
            0 => format!("the text is not valid {}", self.encoding.name()),
            _ => format!("{} is not valid {}", bytes.join(" "), self.encoding.name()),
        };
        let advice = if self.encoding == UTF_8 {
            "the file is probably in a legacy encoding (plain \"CSV\" from Excel on Windows \
             is): pass --encoding windows-1252, or re-save it as \"CSV UTF-8\""
        } else if self.encoding.is_single_byte() {
            "pass the file's real encoding with --encoding, or re-save it as \"CSV UTF-8\""
        } else {
            "the file is damaged or not in this encoding: re-save it as \"CSV UTF-8\", or \
             pass its real encoding with --encoding"
        };
        write!(f, "{what}; {advice}")
    }
}

impl std::error::Error for Malformed {}

impl Malformed {
    /// The [`Malformed`] inside an error returned by [`Decode`], if that is what it is.
    pub fn inside(error: &io::Error) -> Option<&Malformed> {
        error.get_ref()?.downcast_ref::<Malformed>()
    }
}

/// An `io::Read` that yields the source's text as UTF-8, decoding a chunk at a time so
/// a file of any size streams. A BOM is removed, and a UTF-16 one switches to UTF-16.
/// After malformed input, every read fails with a [`Malformed`].
pub struct Decode<R> {
    source: R,
    decoder: Decoder,
    input: Box<[u8]>,
    start: usize,
    end: usize,
    source_done: bool,
    done: bool,
    failed: Option<Malformed>,
    // std's `read_to_end` offers buffers too short for one character; those reads are
    // served from here.
    spill: [u8; SPILL],
    spill_start: usize,
    spill_end: usize,
}

impl<R: Read> Decode<R> {
    /// Decodes `source` as `encoding`, unless the source starts with a BOM.
    pub fn new(source: R, encoding: &'static Encoding) -> Decode<R> {
        Decode {
            source,
            decoder: encoding.new_decoder(),
            input: vec![0; CHUNK].into_boxed_slice(),
            start: 0,
            end: 0,
            source_done: false,
            done: false,
            failed: None,
            spill: [0; SPILL],
            spill_start: 0,
            spill_end: 0,
        }
    }

    /// The encoding being read: the one asked for, or the one a BOM named.
    pub fn encoding(&self) -> &'static Encoding {
        self.decoder.encoding()
    }

    fn refill(&mut self) -> io::Result<()> {
        self.start = 0;
        self.end = loop {
            match self.source.read(&mut self.input) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        self.source_done = self.end == 0;
        Ok(())
    }

    fn malformed(&self, consumed_to: usize, bad: u8, after: u8) -> Malformed {
        let bad_end = consumed_to.saturating_sub(after.into());
        let bad_start = bad_end.saturating_sub(bad.into());
        Malformed {
            encoding: self.decoder.encoding(),
            bytes: self.input[bad_start..bad_end].to_vec(),
        }
    }
}

impl<R: Read> Read for Decode<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        if self.spill_start == self.spill_end && out.len() < SPILL {
            let mut spill = self.spill;
            self.spill_end = self.decode_into(&mut spill)?;
            self.spill = spill;
            self.spill_start = 0;
        }
        if self.spill_start < self.spill_end {
            let spilled = &self.spill[self.spill_start..self.spill_end];
            let n = spilled.len().min(out.len());
            out[..n].copy_from_slice(&spilled[..n]);
            self.spill_start += n;
            return Ok(n);
        }
        self.decode_into(out)
    }
}

impl<R: Read> Decode<R> {
    /// Decodes into `out`, which has room for at least one character.
    fn decode_into(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            if let Some(malformed) = &self.failed {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    malformed.clone(),
                ));
            }
            if self.done {
                return Ok(0);
            }
            if self.start == self.end && !self.source_done {
                self.refill()?;
            }

            let input = &self.input[self.start..self.end];
            let (result, read, written) =
                self.decoder
                    .decode_to_utf8_without_replacement(input, out, self.source_done);
            let consumed_to = self.start + read;
            self.start = consumed_to;

            match result {
                DecoderResult::InputEmpty => {
                    self.done = self.source_done;
                    if written > 0 || self.done {
                        return Ok(written);
                    }
                }
                DecoderResult::OutputFull => return Ok(written),
                DecoderResult::Malformed(bad, after) => {
                    self.failed = Some(self.malformed(consumed_to, bad, after));
                    if written > 0 {
                        return Ok(written);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Decode, Malformed, encoding_for, not_text};
    use encoding_rs::{UTF_8, WINDOWS_1252};
    use std::io::{self, Read};

    /// Hands out its bytes one at a time, so every multi-byte character and BOM is
    /// split across reads.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let Some((&first, rest)) = self.0.split_first() else {
                return Ok(0);
            };
            out[0] = first;
            self.0 = rest;
            Ok(1)
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

    fn decode(bytes: &[u8], label: Option<&str>) -> Result<String, io::Error> {
        let encoding = encoding_for(label).expect("known label");
        let mut text = String::new();
        Decode::new(bytes, encoding).read_to_string(&mut text)?;
        let mut trickled = String::new();
        Decode::new(Trickle(bytes), encoding).read_to_string(&mut trickled)?;
        assert_eq!(text, trickled, "whole and trickled reads differ");
        Ok(text)
    }

    #[test]
    fn text_in_each_supported_form_decodes_to_the_same_utf8() {
        let want = "key\temail\nK1\tjosé@bücher.de\n";
        let with_utf8_bom = [b"\xEF\xBB\xBF".as_slice(), want.as_bytes()].concat();
        let cases: Vec<(Vec<u8>, Option<&str>)> = vec![
            (want.as_bytes().to_vec(), None),
            (with_utf8_bom, None),
            (utf16(want, false), None),
            (utf16(want, true), None),
            (
                WINDOWS_1252.encode(want).0.into_owned(),
                Some("windows-1252"),
            ),
            (WINDOWS_1252.encode(want).0.into_owned(), Some(" Latin1 ")),
            (utf16(want, false), Some("windows-1252")),
        ];
        for (bytes, label) in cases {
            assert_eq!(decode(&bytes, label).expect("decodes"), want, "{label:?}");
        }
    }

    #[test]
    fn malformed_input_fails_after_the_good_text_before_it() {
        let mut decoder = Decode::new(b"ok,line\nJos\xE9,x\n".as_slice(), UTF_8);
        let mut text = Vec::new();
        let error = decoder.read_to_end(&mut text).expect_err("malformed");
        assert_eq!(text, b"ok,line\nJos");

        let malformed = Malformed::inside(&error).expect("a Malformed");
        assert_eq!(malformed.bytes, vec![0xE9]);
        let message = malformed.to_string();
        assert!(message.contains("0xE9 is not valid UTF-8"), "{message}");
        assert!(message.contains("--encoding windows-1252"), "{message}");
        assert!(message.contains("CSV UTF-8"), "{message}");
        assert!(decoder.read(&mut [0; 16]).is_err(), "stays failed");
    }

    #[test]
    fn malformed_forms_are_refused() {
        let lone_surrogate = [0xFF, 0xFE, b'a', 0, 0x00, 0xD8, b'b', 0];
        let cut_short = b"abc\xE2\x82";
        for bytes in [lone_surrogate.as_slice(), cut_short, b"\xFF\xFF\xFF"] {
            let error = decode(bytes, None).expect_err("malformed");
            assert!(Malformed::inside(&error).is_some(), "{error}");
        }
    }

    #[test]
    fn unknown_encodings_name_the_flag() {
        for label in ["utf-9", "", "iso-2022-kr"] {
            let error = encoding_for(Some(label)).expect_err(label);
            assert!(error.contains("--encoding"), "{error}");
        }
        assert_eq!(encoding_for(None), Ok(UTF_8));
    }

    #[test]
    fn workbooks_and_archives_are_named() {
        let cases: [(&[u8], Option<&str>); 5] = [
            (b"PK\x03\x04\x14\x00", Some("xlsx")),
            (b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", Some(".xls")),
            (b"\x1F\x8B\x08", Some("gzip")),
            (b"%PDF-1.7", Some("PDF")),
            (b"api_key,email", None),
        ];
        for (start, want) in cases {
            let found = not_text(start);
            assert_eq!(found.is_some(), want.is_some(), "{start:?}");
            if let (Some(found), Some(want)) = (found, want) {
                assert!(found.contains(want), "{found}");
            }
        }
    }
}
