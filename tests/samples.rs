//! Every sample export, end to end: the real binary reads it and sends to a sandbox on
//! 127.0.0.1, and the sandbox must then hold exactly what `NAME.expected.json` says,
//! and nothing for any other key of the file. Samples that must be refused have a
//! `NAME.refused.txt` instead: pieces the message must hold, one a line; for those the
//! run must exit 1 and send nothing. A refused sample is run without the `--encoding`
//! its name implies, so a legacy sample with both files is checked both ways: read
//! right when the encoding is given, refused at its line when it is not. A sample
//! whose headers ecbulk cannot recognise names its flags in `NAME.flags`, one
//! argument a line.

mod common;

use common::{all_output, ecbulk, temp_dir};
use ecbulk::input::{self, InputOptions, InputSource};
use ecbulk::key::KeyId;
use ecbulk::sandbox::{Sandbox, SandboxConfig};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

/// The input files of the samples that carry `suffix` (`.expected.json` or
/// `.refused.txt`), each with that file.
fn samples_with(suffix: &str) -> Vec<(PathBuf, PathBuf)> {
    let mut found = Vec::new();
    for entry in fs::read_dir(samples()).expect("samples folder") {
        let path = entry.expect("an entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let Some(stem) = name.strip_suffix(suffix) else {
            continue;
        };
        let input = ["csv", "txt", "tsv", "xlsx", "xls"]
            .iter()
            .map(|ext| samples().join(format!("{stem}.{ext}")))
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("no input beside {name}"));
        found.push((input, path));
    }
    found.sort();
    found
}

/// Legacy encodings a sample's name may hold; the run is told with `--encoding`, as a
/// person must tell it, since a legacy encoding is never guessed.
const LEGACY: [&str; 2] = ["windows-1252", "macintosh"];

/// Flags a sample needs: those of `NAME.flags`, one argument a line, and the
/// `--encoding` its name implies.
fn flags_for(input: &Path) -> Vec<String> {
    let mut flags = declared_flags(input);
    let name = input
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if let Some(label) = LEGACY.iter().find(|label| name.contains(*label)) {
        flags.extend(["--encoding".to_string(), label.to_string()]);
    }
    flags
}

/// The arguments of `NAME.flags` beside the input, one a line; none without it.
fn declared_flags(input: &Path) -> Vec<String> {
    let path = input.with_extension("flags");
    match fs::read_to_string(&path) {
        Ok(text) => text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => panic!("{path:?}: {e}"),
    }
}

fn run(input: &Path, sandbox: &Sandbox, flags: &[String]) -> Output {
    let dir = temp_dir();
    ecbulk()
        .current_dir(dir.path())
        .arg("run")
        .arg(input)
        .args(["--base-url", &sandbox.base_url(), "--report", "report.csv"])
        .args(["--rate", "0"])
        .args(flags)
        .output()
        .expect("the binary runs")
}

/// Every key cell of the file, as the reader trims it, valid or not.
fn keys_in(input: &Path, flags: &[String]) -> BTreeSet<String> {
    let mut options = InputOptions::default();
    for pair in flags.chunks(2) {
        let [flag, value] = pair else {
            panic!("{input:?}: {flags:?} is not flag-value pairs")
        };
        let field = match flag.as_str() {
            "--encoding" => &mut options.encoding,
            "--key-column" => &mut options.key_column,
            "--email-column" => &mut options.email_column,
            "--account-column" => &mut options.account_column,
            other => panic!("{input:?}: keys_in does not know {other}"),
        };
        *field = Some(value.clone());
    }
    let rows = input::open(&InputSource::Path(input.to_path_buf()), &options)
        .unwrap_or_else(|e| panic!("{e}"));
    rows.map(|row| row.unwrap_or_else(|e| panic!("{e}")).key)
        .collect()
}

fn sorted(mut emails: Vec<String>) -> Vec<String> {
    emails.sort();
    emails
}

#[test]
fn every_sample_leaves_the_sandbox_holding_exactly_its_expected_addresses() {
    let cases = samples_with(".expected.json");
    assert!(cases.len() >= 15, "only {} samples", cases.len());

    for (input, expected_path) in cases {
        let name = input.display().to_string();
        let flags = flags_for(&input);
        let text = fs::read_to_string(&expected_path).expect("expected file");
        let expected: BTreeMap<String, Vec<String>> =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{expected_path:?}: {e}"));

        let sandbox = Sandbox::start(SandboxConfig::default()).expect("the sandbox starts");
        let output = run(&input, &sandbox, &flags);
        // 2 is "some rows not added": samples carry invalid addresses on purpose.
        let code = output.status.code();
        assert!(
            matches!(code, Some(0 | 2)),
            "{name}: exit {code:?}\n{}",
            all_output(&output)
        );

        for (key, emails) in &expected {
            assert_eq!(
                sorted(sandbox.emails_of(key)),
                sorted(emails.clone()),
                "{name}: key …{}",
                &key[key.len().saturating_sub(4)..]
            );
        }
        for key in keys_in(&input, &flags) {
            if !expected.contains_key(&key) {
                assert_eq!(sandbox.emails_of(&key), Vec::<String>::new(), "{name}");
            }
        }
        // No request went out under a key the expected file does not name.
        let expected_ids: BTreeSet<KeyId> = expected.keys().map(|k| KeyId::of(k)).collect();
        for request in sandbox.requests() {
            let id = request.key_id.expect("every request carries a key");
            assert!(expected_ids.contains(&id), "{name}: a request for {id}");
        }
    }
}

#[test]
fn refused_samples_exit_1_name_the_problem_and_send_nothing() {
    let cases = samples_with(".refused.txt");
    assert!(cases.len() >= 2, "only {} refused samples", cases.len());

    for (input, pieces_path) in cases {
        let name = input.display().to_string();
        let sandbox = Sandbox::start(SandboxConfig::default()).expect("the sandbox starts");
        // Never the legacy encoding: a refusal is what a person who forgot it sees.
        let output = run(&input, &sandbox, &declared_flags(&input));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{name}: {stderr}");
        let pieces = fs::read_to_string(&pieces_path).expect("refusal pieces");
        for piece in pieces.lines().filter(|l| !l.trim().is_empty()) {
            assert!(stderr.contains(piece), "{name}: {piece:?} not in {stderr}");
        }
        assert!(sandbox.requests().is_empty(), "{name}: a request was sent");
    }
}

#[test]
fn a_legacy_file_without_its_encoding_is_refused_at_its_line_before_anything_is_sent() {
    let input = samples().join("windows-1252.csv");
    let sandbox = Sandbox::start(SandboxConfig::default()).expect("the sandbox starts");
    let output = run(&input, &sandbox, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);

    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("windows-1252.csv, line 2"), "{stderr}");
    assert!(stderr.contains("--encoding windows-1252"), "{stderr}");
    assert!(sandbox.requests().is_empty(), "a request was sent");
}
