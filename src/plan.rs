//! Planning: turns input rows into report entries (one per address), groups them
//! into accounts by key wherever they stand in the file, dedupes each account's
//! addresses, and cuts the requests to send. Nothing here does I/O.

use crate::email::{self, CellAddress};
use crate::input::InputRow;
use crate::key::{self, ApiKey, KeyError, KeyId};
use crate::status::Status;
use std::collections::{HashMap, HashSet};

/// One account: every row that shares a key (after trimming).
#[derive(Debug)]
pub struct Account {
    /// The key, or why its cell is not a usable key (such an account is never sent).
    pub key: Result<ApiKey, KeyError>,
    /// The key as the report shows it: `…` and the last four characters.
    pub shown_key: Box<str>,
    /// The key's stable public id.
    pub id: KeyId,
}

/// Why an entry has the status it has, beyond the status itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// Nothing to add.
    None,
    /// Why the entry is invalid.
    Invalid(Box<str>),
    /// The earlier line that carries the same address for the same account.
    DuplicateOf(u64),
    /// The request (index into [`Plan::chunks`]) that carries this address.
    Chunk(u32),
}

/// One row of the report: one address of the input, or an input row without one.
#[derive(Debug)]
pub struct Entry {
    /// Physical input line where the row starts.
    pub line: u64,
    /// Index into [`Plan::accounts`].
    pub account: u32,
    /// Index into [`Plan::labels`].
    pub label: u32,
    /// The address as it will be sent, or as found when it is invalid.
    pub email: Box<str>,
    /// The status before sending: `planned` for what goes in a request.
    pub status: Status,
    /// The detail behind the status.
    pub note: Note,
}

/// One request: some of one account's addresses.
#[derive(Debug)]
pub struct Chunk {
    /// Index into [`Plan::accounts`].
    pub account: u32,
    /// The entries whose addresses this request carries, in first-seen order.
    pub entries: Vec<u32>,
}

/// Everything a run will do, and every row it will report.
#[derive(Debug, Default)]
pub struct Plan {
    /// Accounts in order of first appearance.
    pub accounts: Vec<Account>,
    /// Distinct label texts; entries refer to them by index.
    pub labels: Vec<Box<str>>,
    /// Report entries in input order.
    pub entries: Vec<Entry>,
    /// Requests to send, ordered so that one account's requests are spread out.
    pub chunks: Vec<Chunk>,
}

impl Plan {
    /// The addresses a request carries.
    pub fn chunk_emails(&self, chunk: &Chunk) -> Vec<&str> {
        chunk
            .entries
            .iter()
            .map(|&i| &*self.entries[i as usize].email)
            .collect()
    }

    /// The key a request goes out with. Only accounts with a valid key get chunks.
    pub fn chunk_key(&self, chunk: &Chunk) -> Option<&ApiKey> {
        self.accounts[chunk.account as usize].key.as_ref().ok()
    }

    /// Accounts that have at least one request to send.
    pub fn accounts_to_send(&self) -> usize {
        let mut seen = HashSet::new();
        self.chunks
            .iter()
            .filter(|c| seen.insert(c.account))
            .count()
    }
}

/// The longest label shown once it had to be cleaned.
const LABEL_LIMIT: usize = 1000;

/// Builds a [`Plan`] from rows as they are read, so the input is streamed once.
#[derive(Debug, Default)]
pub struct Planner {
    plan: Plan,
    account_index: HashMap<Box<str>, u32>,
    label_index: HashMap<Box<str>, u32>,
}

/// How [`Planner::finish`] cuts requests.
pub struct ChunkOptions<'a> {
    /// At most this many addresses in one request; `None` for no limit.
    pub max_per_request: Option<usize>,
    /// Addresses an earlier run already added (by key id and address), reported
    /// `skipped` and not sent again.
    pub already_added: &'a dyn Fn(KeyId, &str) -> bool,
}

impl Default for ChunkOptions<'_> {
    fn default() -> Self {
        ChunkOptions {
            max_per_request: None,
            already_added: &|_, _| false,
        }
    }
}

impl Planner {
    /// An empty planner.
    pub fn new() -> Planner {
        Planner::default()
    }

    /// Adds one input row: one entry per address in its email cell, or one
    /// `invalid` entry when the cell holds none.
    pub fn push(&mut self, row: &InputRow) {
        let account = self.account_for(&row.key);
        let label = self.label_for(&row.label);
        let key_error = self.plan.accounts[account as usize]
            .key
            .as_ref()
            .err()
            .copied();

        let addresses = email::parse_cell(&row.emails);
        if addresses.is_empty() {
            let reason =
                key_error.map_or("no email address in the row".to_string(), |e| e.to_string());
            self.push_entry(
                row.line,
                account,
                label,
                "",
                Status::Invalid,
                Note::Invalid(reason.into()),
            );
            return;
        }
        for CellAddress { text, invalid } in addresses {
            let malformed = invalid.is_some();
            let (status, note) = match (key_error, invalid) {
                (Some(error), _) => (Status::Invalid, Note::Invalid(error.to_string().into())),
                (None, Some(reason)) => (Status::Invalid, Note::Invalid(reason.into())),
                (None, None) => (Status::Planned, Note::None),
            };
            // An invalid address is reported as found, like a label, but without
            // the escapes and NULs it may hold; the reason still names them.
            let text = match malformed && text.chars().any(char::is_control) {
                true => crate::term::clean(&text, LABEL_LIMIT),
                false => text,
            };
            self.push_entry(row.line, account, label, &text, status, note);
        }
    }

    /// Dedupes each account's addresses, applies `already_added`, and cuts the requests.
    pub fn finish(mut self, options: &ChunkOptions<'_>) -> Plan {
        let per_account = self.planned_entries_by_account();
        let mut account_chunks: Vec<Vec<Vec<u32>>> = Vec::with_capacity(per_account.len());

        for (account, entries) in per_account {
            let unique = self.dedupe(&entries);
            let id = self.plan.accounts[account as usize].id;
            let to_send: Vec<u32> = unique
                .into_iter()
                .filter(|&i| {
                    let entry = &mut self.plan.entries[i as usize];
                    let done = (options.already_added)(id, &entry.email);
                    if done {
                        entry.status = Status::Skipped;
                    }
                    !done
                })
                .collect();
            let size = options.max_per_request.unwrap_or(usize::MAX).max(1);
            account_chunks.push(to_send.chunks(size).map(<[u32]>::to_vec).collect());
        }

        self.plan.chunks = interleave(&mut account_chunks, |entries| {
            let account = self.plan.entries[entries[0] as usize].account;
            Chunk { account, entries }
        });
        for (index, chunk) in self.plan.chunks.iter().enumerate() {
            for &entry in &chunk.entries {
                self.plan.entries[entry as usize].note = Note::Chunk(index as u32);
            }
        }
        self.plan
    }

    fn account_for(&mut self, key_text: &str) -> u32 {
        if let Some(&index) = self.account_index.get(key_text) {
            return index;
        }
        let index = self.plan.accounts.len() as u32;
        self.plan.accounts.push(Account {
            key: ApiKey::parse(key_text),
            shown_key: key::mask(key_text).into(),
            id: KeyId::of(key_text),
        });
        self.account_index.insert(key_text.into(), index);
        index
    }

    fn label_for(&mut self, label: &str) -> u32 {
        if let Some(&index) = self.label_index.get(label) {
            return index;
        }
        let index = self.plan.labels.len() as u32;
        // Labels come from anyone's export and end up in reports and on terminals:
        // control characters (line breaks in a quoted cell, escapes) become spaces.
        let shown = if label.chars().any(char::is_control) {
            crate::term::clean(label, LABEL_LIMIT)
        } else {
            label.to_string()
        };
        self.plan.labels.push(shown.into());
        self.label_index.insert(label.into(), index);
        index
    }

    fn push_entry(
        &mut self,
        line: u64,
        account: u32,
        label: u32,
        email: &str,
        status: Status,
        note: Note,
    ) {
        self.plan.entries.push(Entry {
            line,
            account,
            label,
            email: email.into(),
            status,
            note,
        });
    }

    /// The `planned` entries of each account, accounts in first-seen order.
    fn planned_entries_by_account(&self) -> Vec<(u32, Vec<u32>)> {
        let mut by_account: Vec<Vec<u32>> = vec![Vec::new(); self.plan.accounts.len()];
        for (index, entry) in self.plan.entries.iter().enumerate() {
            if entry.status == Status::Planned {
                by_account[entry.account as usize].push(index as u32);
            }
        }
        by_account
            .into_iter()
            .enumerate()
            .filter(|(_, entries)| !entries.is_empty())
            .map(|(account, entries)| (account as u32, entries))
            .collect()
    }

    /// Marks later case-insensitive copies as duplicates; returns the first spellings.
    /// Valid addresses are ASCII, so ASCII case folding is the whole of it.
    fn dedupe(&mut self, entries: &[u32]) -> Vec<u32> {
        let mut first_seen: HashMap<String, u64> = HashMap::with_capacity(entries.len());
        let mut unique = Vec::with_capacity(entries.len());
        for &index in entries {
            let entry = &mut self.plan.entries[index as usize];
            match first_seen.get(&entry.email.to_ascii_lowercase()) {
                Some(&line) => {
                    entry.status = Status::Duplicate;
                    entry.note = Note::DuplicateOf(line);
                }
                None => {
                    first_seen.insert(entry.email.to_ascii_lowercase(), entry.line);
                    unique.push(index);
                }
            }
        }
        unique
    }
}

/// Takes the first request of every account, then the second of every account, and
/// so on: requests that share a key end up far apart, so a key's rolling window
/// rarely holds back workers that could serve other accounts.
fn interleave<T>(groups: &mut [Vec<Vec<u32>>], mut make: impl FnMut(Vec<u32>) -> T) -> Vec<T> {
    let total = groups.iter().map(Vec::len).sum();
    let mut out = Vec::with_capacity(total);
    for group in groups.iter_mut() {
        group.reverse();
    }
    while out.len() < total {
        for group in groups.iter_mut() {
            if let Some(chunk) = group.pop() {
                out.push(make(chunk));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str = "key-aaaaaaaaaaaaaaaaaaaa";
    const KEY_B: &str = "key-bbbbbbbbbbbbbbbbbbbb";

    fn row(line: u64, key: &str, emails: &str) -> InputRow {
        InputRow {
            line,
            key: key.to_string(),
            emails: emails.to_string(),
            label: String::new(),
        }
    }

    fn plan(rows: &[InputRow], options: &ChunkOptions<'_>) -> Plan {
        let mut planner = Planner::new();
        for r in rows {
            planner.push(r);
        }
        planner.finish(options)
    }

    fn statuses(plan: &Plan) -> Vec<(u64, &str, Status)> {
        plan.entries
            .iter()
            .map(|e| (e.line, &*e.email, e.status))
            .collect()
    }

    #[test]
    fn distant_rows_of_one_key_make_one_request_in_first_seen_order() {
        let rows = [
            row(2, KEY_A, "a@x.example"),
            row(3, KEY_B, "b@x.example"),
            row(9, KEY_A, "c@x.example; A@X.example"),
        ];
        let plan = plan(&rows, &ChunkOptions::default());
        assert_eq!(plan.accounts.len(), 2);
        assert_eq!(plan.chunks.len(), 2);
        assert_eq!(
            plan.chunk_emails(&plan.chunks[0]),
            ["a@x.example", "c@x.example"]
        );
        assert_eq!(
            statuses(&plan),
            [
                (2, "a@x.example", Status::Planned),
                (3, "b@x.example", Status::Planned),
                (9, "c@x.example", Status::Planned),
                (9, "A@X.example", Status::Duplicate),
            ]
        );
        assert_eq!(plan.entries[3].note, Note::DuplicateOf(2));
    }

    #[test]
    fn an_invalid_address_keeps_no_control_character_but_its_reason_names_it() {
        let rows = [row(2, KEY_A, "\u{1b}[2Ja@x.example; b@x.example\0")];
        let plan = plan(&rows, &ChunkOptions::default());
        let shown: Vec<&str> = plan.entries.iter().map(|e| &*e.email).collect();
        assert_eq!(shown, [" [2Ja@x.example", "b@x.example "]);
        for entry in &plan.entries {
            assert_eq!(entry.status, Status::Invalid);
            let Note::Invalid(reason) = &entry.note else {
                panic!("{entry:?}")
            };
            assert!(
                reason.contains("U+001B") || reason.contains("U+0000"),
                "{reason}"
            );
        }
    }

    #[test]
    fn invalid_addresses_and_keys_are_never_planned() {
        let rows = [
            row(2, KEY_A, "not-an-address"),
            row(3, "bad key", "ok@x.example"),
            row(4, "", "ok@x.example"),
            row(5, KEY_B, ""),
        ];
        let plan = plan(&rows, &ChunkOptions::default());
        assert!(plan.chunks.is_empty());
        assert!(plan.entries.iter().all(|e| e.status == Status::Invalid));
        assert_eq!(
            plan.entries.len(),
            4,
            "a row without an address still gets a row"
        );
    }

    #[test]
    fn chunks_split_an_account_and_interleave_with_others() {
        let many: Vec<String> = (0..5).map(|i| format!("m{i}@x.example")).collect();
        let rows = [row(2, KEY_A, &many.join(";")), row(3, KEY_B, "b@x.example")];
        let plan = plan(
            &rows,
            &ChunkOptions {
                max_per_request: Some(2),
                ..ChunkOptions::default()
            },
        );
        let order: Vec<(u32, usize)> = plan
            .chunks
            .iter()
            .map(|c| (c.account, c.entries.len()))
            .collect();
        assert_eq!(order, [(0, 2), (1, 1), (0, 2), (0, 1)]);
    }

    #[test]
    fn addresses_already_added_are_skipped() {
        let rows = [row(2, KEY_A, "a@x.example; b@x.example")];
        let done = |id: KeyId, email: &str| id == KeyId::of(KEY_A) && email == "a@x.example";
        let plan = plan(
            &rows,
            &ChunkOptions {
                max_per_request: None,
                already_added: &done,
            },
        );
        assert_eq!(plan.entries[0].status, Status::Skipped);
        assert_eq!(plan.chunk_emails(&plan.chunks[0]), ["b@x.example"]);
    }
}
