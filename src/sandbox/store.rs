//! The addresses the sandbox holds for each API key, kept as DigiCert keeps them:
//! new ones join the list, and one already there in any letter case is dropped, so
//! the first spelling and the order of arrival stay.

use std::collections::{HashMap, HashSet};

/// Every key's list of emergency contact addresses, by the key's full text.
#[derive(Debug, Default)]
pub struct Store {
    lists: HashMap<String, KeyList>,
}

/// One key's addresses in order, and their lower-case forms for the duplicate check.
#[derive(Debug, Default)]
struct KeyList {
    emails: Vec<String>,
    folded: HashSet<String>,
}

impl Store {
    /// Adds `emails` to `key`'s list, dropping any already there or earlier in
    /// `emails` (compared case-insensitively). Returns how many were new.
    pub fn add<S: AsRef<str>>(&mut self, key: &str, emails: &[S]) -> usize {
        let list = self.lists.entry(key.to_owned()).or_default();
        let before = list.emails.len();
        for email in emails {
            let email = email.as_ref();
            if list.folded.insert(email.to_lowercase()) {
                list.emails.push(email.to_owned());
            }
        }
        list.emails.len() - before
    }

    /// `key`'s addresses in the order they were first added; empty for an unknown key.
    pub fn emails_of(&self, key: &str) -> Vec<String> {
        self.lists
            .get(key)
            .map(|list| list.emails.clone())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::Store;

    #[test]
    fn dedupe_keeps_the_first_spelling_and_the_order() {
        let cases: &[(&[&[&str]], &[&str])] = &[
            (&[&["a@x.com", "b@x.com"]], &["a@x.com", "b@x.com"]),
            (
                &[&["A@X.com", "a@x.COM", "b@x.com"]],
                &["A@X.com", "b@x.com"],
            ),
            (
                &[&["b@x.com"], &["a@x.com", "B@X.COM"]],
                &["b@x.com", "a@x.com"],
            ),
            (&[&["a@x.com"], &["a@x.com"], &[]], &["a@x.com"]),
        ];
        for (requests, expected) in cases {
            let mut store = Store::default();
            for emails in *requests {
                store.add("key", emails);
            }
            assert_eq!(store.emails_of("key"), *expected, "{requests:?}");
        }
    }

    #[test]
    fn keys_hold_separate_lists() {
        let mut store = Store::default();
        assert_eq!(store.add("k1", &["a@x.com", "A@x.com"]), 1);
        assert_eq!(store.add("k2", &["a@x.com"]), 1);
        assert_eq!(store.add("k1", &["a@X.com"]), 0);
        assert_eq!(store.emails_of("k1"), ["a@x.com"]);
        assert_eq!(store.emails_of("k2"), ["a@x.com"]);
        assert!(store.emails_of("nobody").is_empty());
    }
}
