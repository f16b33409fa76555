//! Planning: turns input rows into report entries (one per address), groups them
//! into accounts by key wherever they stand in the file, dedupes each account's
//! addresses, and cuts the requests to send. Nothing here does I/O.

mod texts;

use crate::email::{self, CellAddress};
use crate::input::InputRow;
use crate::key::{self, ApiKey, KeyError, KeyId};
use crate::status::Status;
use hashbrown::HashTable;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use texts::{NOT_KEPT, TextAt, Texts};

/// Keys and labels come from the user's own file, so there is no attacker to defend
/// against by hashing with SipHash; foldhash is several times faster on them.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Accounts with at most this many planned addresses are deduped by comparing each
/// address with the ones kept so far: cheaper than hashing for the usual handful.
const SMALL_ACCOUNT: usize = 16;

/// One account: every row that shares a key (after trimming).
#[derive(Debug)]
pub struct Account {
    /// The key, or why its cell is not a usable key (such an account is never sent).
    pub key: Result<ApiKey, KeyError>,
    /// The key as the report shows it: `…` and the last four characters.
    pub shown_key: key::Masked,
    /// The key's stable public id.
    pub id: KeyId,
}

/// Why an entry has the status it has, beyond the status itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// Nothing to add.
    None,
    /// Why the entry is invalid: an index into [`Plan::reasons`].
    Invalid(u32),
    /// The earlier entry (an index into [`Plan::entries`]) that carries the same
    /// address for the same account.
    DuplicateOf(u32),
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
    /// Where [`Plan::email`] finds the address in [`Plan::emails`].
    email_start: u64,
    email_len: u32,
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
    /// Every entry's address, back to back: the address as it will be sent, or as
    /// found when it is invalid. One buffer spares a million-row input a million
    /// small allocations, and a third of their memory.
    pub emails: String,
    /// Distinct reasons for invalid entries; [`Note::Invalid`] refers to them by
    /// index, which keeps every entry small (a million of them are held at once).
    pub reasons: Vec<Box<str>>,
    /// Requests to send, ordered so that one account's requests are spread out.
    pub chunks: Vec<Chunk>,
}

impl Plan {
    /// Appends an entry for `email`, in input order.
    pub fn push_entry(
        &mut self,
        (line, account, label): (u64, u32, u32),
        email: &str,
        status: Status,
        note: Note,
    ) {
        let email_start = self.emails.len() as u64;
        self.emails.push_str(email);
        self.entries.push(Entry {
            line,
            account,
            label,
            email_start,
            email_len: email.len() as u32,
            status,
            note,
        });
    }

    /// The address of `entry`, an entry of this plan.
    pub fn email(&self, entry: &Entry) -> &str {
        let start = entry.email_start as usize;
        self.emails
            .get(start..start + entry.email_len as usize)
            .unwrap_or_default()
    }

    /// The reason [`Note::Invalid`] refers to.
    pub fn reason(&self, index: u32) -> &str {
        self.reasons.get(index as usize).map_or("", |reason| reason)
    }

    /// The addresses a request carries.
    pub fn chunk_emails(&self, chunk: &Chunk) -> Vec<&str> {
        chunk
            .entries
            .iter()
            .map(|&i| self.email(&self.entries[i as usize]))
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

/// No label seen yet, in [`Planner`]'s `last_label`.
const NO_LABEL: u32 = u32::MAX;

/// The longest label shown once it had to be cleaned.
const LABEL_LIMIT: usize = 1000;

/// Builds a [`Plan`] from rows as they are read, so the input is streamed once.
///
/// Rows find their account and label through tables of indices and hashes that
/// compare against a packed copy of each key and label text ([`Texts`]): with
/// 200,000 accounts whose rows are spread through the file, comparing against the
/// plan's own scattered copies was a trip to main memory for nearly every row.
#[derive(Debug, Default)]
pub struct Planner {
    plan: Plan,
    hasher: foldhash::fast::RandomState,
    /// Accounts with a valid key, found by the key's text.
    account_index: HashTable<Slot>,
    /// The keys of `account_index`, packed.
    key_texts: Texts,
    /// Accounts whose key cell is not a usable key: the plan keeps no text for them.
    odd_keys: FastMap<Box<str>, u32>,
    /// Labels shown as they were written, found by that text.
    label_index: HashTable<Slot>,
    /// The labels of `label_index`, packed.
    label_texts: Texts,
    /// Labels that had to be cleaned, by the text as written.
    odd_labels: FastMap<Box<str>, u32>,
    /// Reasons for invalid entries, to find their index in [`Plan::reasons`].
    reason_index: FastMap<Box<str>, u32>,
    /// Each account's label on its last row (index, and text in `label_texts`),
    /// tried before the label table: an account's rows nearly always share a label,
    /// and a look in a table of a hundred thousand labels misses the cache.
    last_label: Vec<(u32, TextAt)>,
    /// The row being pushed by [`Planner::push`]; kept to reuse its memory.
    prepared: PreparedRow,
}

/// An index into the plan's accounts or labels, with the hash of its text and where
/// the planner's packed copy of the text is: growing the table then moves slots
/// without reading the text again, and a look-up reads the text only when the whole
/// hash matches.
#[derive(Debug, Clone, Copy)]
struct Slot {
    hash: u64,
    index: u32,
    at: TextAt,
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

/// What can be worked out for a row from the row alone, ahead of
/// [`Planner::push_prepared`]: its addresses, split and checked, and the hashes its
/// key and label are looked up by. [`Rows::feed_prepared`](crate::input::Rows::feed_prepared)
/// has the reader's thread do this, so that the planner's thread only looks up and
/// appends.
#[derive(Debug, Clone, Default)]
pub struct PreparedRow {
    addresses: Vec<CellAddress>,
    key_hash: u64,
    label_hash: u64,
}

/// Prepares rows for one [`Planner`]: it hashes with the planner's hasher.
#[derive(Debug, Clone)]
pub struct Preparer {
    hasher: foldhash::fast::RandomState,
}

impl Preparer {
    /// Fills `prepared` for `row`, reusing its memory.
    pub fn prepare(&self, row: &InputRow, prepared: &mut PreparedRow) {
        email::parse_cell_into(&row.emails, &mut prepared.addresses);
        prepared.key_hash = self.hasher.hash_one(&*row.key);
        prepared.label_hash = self.hasher.hash_one(&*row.label);
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
        let mut prepared = std::mem::take(&mut self.prepared);
        self.preparer().prepare(row, &mut prepared);
        self.push_prepared(row, &prepared);
        self.prepared = prepared;
    }

    /// What prepares rows for this planner, on any thread.
    pub fn preparer(&self) -> Preparer {
        Preparer {
            hasher: self.hasher.clone(),
        }
    }

    /// [`Planner::push_prepared`] for a batch of rows in file order.
    pub fn push_batch(&mut self, batch: &[(InputRow, PreparedRow)]) {
        self.warm(batch);
        for (row, prepared) in batch {
            self.push_prepared(row, prepared);
        }
    }

    /// Looks up the batch's accounts by hash alone, ahead of the real look-ups. Over
    /// 200,000 accounts whose rows are spread through the file, nearly every
    /// look-up is a trip to main memory; these ones do not depend on each other, so
    /// the processor makes many trips at once, and the look-ups that follow find
    /// their slots in the cache.
    fn warm(&self, batch: &[(InputRow, PreparedRow)]) {
        let mut seen = 0;
        for (_, prepared) in batch {
            let hash = prepared.key_hash;
            if let Some(slot) = self.account_index.find(hash, |slot| slot.hash == hash) {
                // The account's key text and last label are read next: fetch them too.
                let (_, label_at) = self
                    .last_label
                    .get(slot.index as usize)
                    .copied()
                    .unwrap_or_default();
                seen ^= self.key_texts.first_byte(slot.at) ^ self.label_texts.first_byte(label_at);
            }
        }
        std::hint::black_box(seen);
    }

    /// [`Planner::push`] for a row that its [`Preparer`] has prepared. The prepared
    /// addresses are copied, not taken: the reader's thread then reuses their memory
    /// for the next row instead of allocating for every address, which costs more
    /// on a thread other than the main one (glibc grows such a thread's arena with
    /// `mprotect`).
    pub fn push_prepared(&mut self, row: &InputRow, prepared: &PreparedRow) {
        let account = self.account_for(&row.key, prepared.key_hash);
        let label = match self.last_label.get(account as usize) {
            Some(&(last, at)) if last != NO_LABEL && self.is_label(last, at, &row.label) => last,
            _ => {
                let found = self.label_for(&row.label, prepared.label_hash);
                if let Some(last) = self.last_label.get_mut(account as usize) {
                    *last = found;
                }
                found.0
            }
        };
        let key_error = self.plan.accounts[account as usize]
            .key
            .as_ref()
            .err()
            .copied();

        let addresses = &prepared.addresses;
        if addresses.is_empty() {
            let reason =
                key_error.map_or("no email address in the row".to_string(), |e| e.to_string());
            let reason = self.reason_for(&reason);
            self.plan.push_entry(
                (row.line, account, label),
                "",
                Status::Invalid,
                Note::Invalid(reason),
            );
            return;
        }
        for CellAddress { text, invalid } in addresses {
            let malformed = invalid.is_some();
            let (status, note) = match (key_error, invalid) {
                (Some(error), _) => (
                    Status::Invalid,
                    Note::Invalid(self.reason_for(&error.to_string())),
                ),
                (None, Some(reason)) => (Status::Invalid, Note::Invalid(self.reason_for(reason))),
                (None, None) => (Status::Planned, Note::None),
            };
            // An invalid address is reported as found, like a label, but without
            // the escapes and NULs it may hold (the reason still names them), and
            // masked when it could be a key put in the wrong column.
            let found = text.as_str();
            let mut text = Cow::Borrowed(found);
            if malformed && !found.contains('@') {
                text = key::redact(found);
            }
            if malformed && text.chars().any(char::is_control) {
                text = Cow::Owned(crate::term::clean(&text, LABEL_LIMIT));
            }
            self.plan
                .push_entry((row.line, account, label), &text, status, note);
        }
    }

    /// Dedupes each account's addresses, applies `already_added`, and cuts the requests.
    pub fn finish(mut self, options: &ChunkOptions<'_>) -> Plan {
        // The lookups by text are done with: free them before the chunks take room.
        self.account_index = HashTable::new();
        self.label_index = HashTable::new();
        self.key_texts = Texts::default();
        self.label_texts = Texts::default();
        self.odd_keys = FastMap::default();
        self.odd_labels = FastMap::default();
        self.reason_index = FastMap::default();
        self.last_label = Vec::new();
        let size = options.max_per_request.unwrap_or(usize::MAX).max(1);
        // Each account's addresses to send, back to back in one list; an account's
        // share is `to_send[start..end]`. One list instead of one per account keeps
        // a million rows from costing a million small allocations. It is the grouped
        // list itself, compacted as accounts are deduped: an account never keeps more
        // entries than it had, so writing never overtakes reading.
        let Grouped {
            offsets,
            entries: mut to_send,
        } = self.planned_entries_by_account();
        // Without a cap every account is one request, and the rounds of `interleave`
        // would only repeat account order: the requests are then cut right here,
        // which spares the spans and their list.
        let whole_accounts = options.max_per_request.is_none();
        let mut chunks: Vec<Chunk> = Vec::new();
        let mut spans: Vec<AccountSpan> = Vec::new();
        let mut unique = Vec::new();
        let mut seen = FastMap::default();
        let mut write = 0;

        for (account, range) in accounts_of(&offsets) {
            unique.clear();
            self.dedupe_into(&to_send[range], &mut unique, &mut seen);
            let id = self.plan.accounts[account as usize].id;
            let start = write;
            for &index in &unique {
                let entry = &self.plan.entries[index as usize];
                if (options.already_added)(id, self.plan.email(entry)) {
                    self.plan.entries[index as usize].status = Status::Skipped;
                } else {
                    to_send[write] = index;
                    write += 1;
                }
            }
            if write > start && whole_accounts {
                chunks.push(Chunk {
                    account,
                    entries: to_send[start..write].to_vec(),
                });
                write = start;
            } else if write > start {
                spans.push(AccountSpan {
                    account,
                    start: start as u32,
                    end: write as u32,
                });
            }
        }
        to_send.truncate(write);
        drop((offsets, unique, seen));

        if !whole_accounts {
            chunks = interleave(spans, &to_send, size);
        }
        drop(to_send);
        self.plan.chunks = chunks;
        for (index, chunk) in self.plan.chunks.iter().enumerate() {
            for &entry in &chunk.entries {
                self.plan.entries[entry as usize].note = Note::Chunk(index as u32);
            }
        }
        self.plan
    }

    /// The account of `key_text`, whose hash is `hash`, added if it is new.
    fn account_for(&mut self, key_text: &str, hash: u64) -> u32 {
        let (accounts, key_texts) = (&self.plan.accounts, &self.key_texts);
        let same_key = |slot: &Slot| {
            slot.hash == hash
                && key_texts.holds(slot.at, key_text).unwrap_or_else(|| {
                    accounts[slot.index as usize]
                        .key
                        .as_ref()
                        .is_ok_and(|key| key.expose() == key_text)
                })
        };
        if let Some(slot) = self.account_index.find(hash, same_key) {
            return slot.index;
        }
        if let Some(&index) = self.odd_keys.get(key_text) {
            return index;
        }

        let index = self.plan.accounts.len() as u32;
        let key = ApiKey::parse(key_text);
        let valid = key.is_ok();
        self.plan.accounts.push(Account {
            key,
            shown_key: key::Masked::of(key_text),
            id: KeyId::of(key_text),
        });
        self.last_label.push((NO_LABEL, NOT_KEPT));
        if valid {
            let at = self.key_texts.push(key_text);
            self.account_index
                .insert_unique(hash, Slot { hash, index, at }, |slot| slot.hash);
        } else {
            self.odd_keys.insert(key_text.into(), index);
        }
        index
    }

    /// Whether label `index`, packed at `at`, reads `label`.
    fn is_label(&self, index: u32, at: TextAt, label: &str) -> bool {
        self.label_texts.holds(at, label).unwrap_or_else(|| {
            self.plan
                .labels
                .get(index as usize)
                .is_some_and(|l| **l == *label)
        })
    }

    /// The label `label`, whose hash is `hash`, added if it is new: its index, and
    /// where its packed text is ([`NOT_KEPT`] for a label that had to be cleaned).
    fn label_for(&mut self, label: &str, hash: u64) -> (u32, TextAt) {
        let (labels, label_texts) = (&self.plan.labels, &self.label_texts);
        let same_label = |slot: &Slot| {
            slot.hash == hash
                && label_texts
                    .holds(slot.at, label)
                    .unwrap_or_else(|| *labels[slot.index as usize] == *label)
        };
        if let Some(slot) = self.label_index.find(hash, same_label) {
            return (slot.index, slot.at);
        }
        if let Some(&index) = self.odd_labels.get(label) {
            return (index, NOT_KEPT);
        }

        let index = self.plan.labels.len() as u32;
        // Labels come from anyone's export and end up in reports and on terminals:
        // control characters (line breaks in a quoted cell, escapes) become spaces.
        // Such a label is found by its text as written, which the plan does not keep.
        if label.chars().any(char::is_control) {
            self.plan
                .labels
                .push(crate::term::clean(label, LABEL_LIMIT).into());
            self.odd_labels.insert(label.into(), index);
            (index, NOT_KEPT)
        } else {
            self.plan.labels.push(label.into());
            let at = self.label_texts.push(label);
            self.label_index
                .insert_unique(hash, Slot { hash, index, at }, |slot| slot.hash);
            (index, at)
        }
    }

    /// The index of `reason` in [`Plan::reasons`], added if it is new: a file's
    /// invalid rows mostly share a handful of reasons.
    fn reason_for(&mut self, reason: &str) -> u32 {
        if let Some(&index) = self.reason_index.get(reason) {
            return index;
        }
        let index = self.plan.reasons.len() as u32;
        self.plan.reasons.push(reason.into());
        self.reason_index.insert(reason.into(), index);
        index
    }

    /// The `planned` entries of each account, accounts in first-seen order, each
    /// account's in input order: a counting sort into one list.
    fn planned_entries_by_account(&self) -> Grouped {
        let mut offsets = vec![0u32; self.plan.accounts.len() + 1];
        for entry in &self.plan.entries {
            if entry.status == Status::Planned {
                offsets[entry.account as usize + 1] += 1;
            }
        }
        for i in 1..offsets.len() {
            offsets[i] += offsets[i - 1];
        }
        let mut next = offsets.clone();
        let mut entries = vec![0u32; offsets[offsets.len() - 1] as usize];
        for (index, entry) in self.plan.entries.iter().enumerate() {
            if entry.status == Status::Planned {
                let slot = &mut next[entry.account as usize];
                entries[*slot as usize] = index as u32;
                *slot += 1;
            }
        }
        Grouped { offsets, entries }
    }

    /// Marks later case-insensitive copies among `entries` as duplicates and appends
    /// the first spellings to `unique`. Valid addresses are ASCII, so ASCII case
    /// folding is the whole of it. `seen` is scratch space, kept to reuse its memory.
    fn dedupe_into(
        &mut self,
        entries: &[u32],
        unique: &mut Vec<u32>,
        seen: &mut FastMap<Box<str>, u32>,
    ) {
        let start = unique.len();
        if entries.len() <= SMALL_ACCOUNT {
            for &index in entries {
                let plan = &self.plan;
                let email = plan.email(&plan.entries[index as usize]);
                let first = unique[start..].iter().copied().find(|&kept| {
                    plan.email(&plan.entries[kept as usize])
                        .eq_ignore_ascii_case(email)
                });
                match first {
                    Some(kept) => {
                        let entry = &mut self.plan.entries[index as usize];
                        entry.status = Status::Duplicate;
                        entry.note = Note::DuplicateOf(kept);
                    }
                    None => unique.push(index),
                }
            }
            return;
        }
        seen.clear();
        for &index in entries {
            let lowercase = self
                .plan
                .email(&self.plan.entries[index as usize])
                .to_ascii_lowercase();
            let entry = &mut self.plan.entries[index as usize];
            match seen.entry(lowercase.into()) {
                std::collections::hash_map::Entry::Occupied(first) => {
                    entry.status = Status::Duplicate;
                    entry.note = Note::DuplicateOf(*first.get());
                }
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(index);
                    unique.push(index);
                }
            }
        }
    }
}

/// Entry indices grouped by account: account `a`'s are
/// `entries[offsets[a]..offsets[a + 1]]`.
struct Grouped {
    offsets: Vec<u32>,
    entries: Vec<u32>,
}

/// Accounts with at least one entry in a grouping's `offsets`, and their ranges.
fn accounts_of(offsets: &[u32]) -> impl Iterator<Item = (u32, std::ops::Range<usize>)> + '_ {
    offsets
        .windows(2)
        .enumerate()
        .filter(|(_, bounds)| bounds[1] > bounds[0])
        .map(|(account, bounds)| (account as u32, bounds[0] as usize..bounds[1] as usize))
}

/// One account's addresses to send: `to_send[start..end]` in [`Planner::finish`].
struct AccountSpan {
    account: u32,
    start: u32,
    end: u32,
}

/// Takes the first request of every account, then the second of every account, and
/// so on: requests that share a key end up far apart, so a key's rolling window
/// rarely holds back workers that could serve other accounts. Accounts run out of
/// requests along the way and are dropped from the rounds, so that one account with
/// thousands of requests does not make every round visit every other account.
fn interleave(mut spans: Vec<AccountSpan>, to_send: &[u32], size: usize) -> Vec<Chunk> {
    let total = spans
        .iter()
        .map(|span| ((span.end - span.start) as usize).div_ceil(size))
        .sum();
    let mut chunks = Vec::with_capacity(total);
    while !spans.is_empty() {
        // Each round takes one request from every account that has one left.
        spans.retain_mut(|span| {
            let (start, last) = (span.start as usize, span.end as usize);
            let end = start.saturating_add(size).min(last);
            chunks.push(Chunk {
                account: span.account,
                entries: to_send[start..end].to_vec(),
            });
            span.start = end as u32;
            end < last
        });
    }
    chunks
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
            .map(|e| (e.line, plan.email(e), e.status))
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
        assert_eq!(plan.entries[3].note, Note::DuplicateOf(0));
    }

    #[test]
    fn an_entry_stays_small_since_a_million_of_them_are_held_at_once() {
        assert!(std::mem::size_of::<Note>() <= 8);
        assert!(std::mem::size_of::<Entry>() <= 40);
    }

    #[test]
    fn an_invalid_address_keeps_no_control_character_but_its_reason_names_it() {
        let rows = [row(2, KEY_A, "\u{1b}[2Ja@x.example; b@x.example\0")];
        let plan = plan(&rows, &ChunkOptions::default());
        let shown: Vec<&str> = plan.entries.iter().map(|e| plan.email(e)).collect();
        assert_eq!(shown, [" [2Ja@x.example", "b@x.example "]);
        for entry in &plan.entries {
            assert_eq!(entry.status, Status::Invalid);
            let Note::Invalid(reason) = entry.note else {
                panic!("{entry:?}")
            };
            let reason = plan.reason(reason);
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
