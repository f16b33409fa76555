//! The planner's copy of every key and label text, back to back in one buffer, for
//! finding a row's account and label by comparing text.
//!
//! The plan keeps each text in an allocation of its own, scattered over the heap
//! among a million addresses; comparing a row's key against it costs a trip to main
//! memory. Texts written one after another in the order they are first seen stay in
//! a few megabytes that the cache holds.

use std::fmt;

/// Where [`Texts::push`] put a text; [`NOT_KEPT`] when the buffer was full.
pub type TextAt = u32;

/// A text the buffer had no room for: look-ups compare against the plan's own copy.
pub const NOT_KEPT: TextAt = TextAt::MAX;

/// Marks the end of each text: `0xFF` never occurs in UTF-8.
const END: u8 = 0xFF;

/// Texts stored one after another, each followed by [`END`].
#[derive(Default)]
pub struct Texts {
    bytes: Vec<u8>,
}

impl Texts {
    /// Stores `text` and says where; [`NOT_KEPT`] once offsets no longer fit.
    pub fn push(&mut self, text: &str) -> TextAt {
        let at = self.bytes.len();
        match TextAt::try_from(at + text.len() + 1) {
            Ok(end) if end < NOT_KEPT => {
                self.bytes.extend_from_slice(text.as_bytes());
                self.bytes.push(END);
                at as TextAt
            }
            _ => NOT_KEPT,
        }
    }

    /// The first byte stored at `at`, or 0: reading it brings the text into the cache.
    pub fn first_byte(&self, at: TextAt) -> u8 {
        self.bytes.get(at as usize).copied().unwrap_or(0)
    }

    /// Whether the text stored at `at` is `text`; `None` for [`NOT_KEPT`].
    pub fn holds(&self, at: TextAt, text: &str) -> Option<bool> {
        if at == NOT_KEPT {
            return None;
        }
        let start = at as usize;
        let end = start + text.len();
        Some(
            self.bytes.get(start..end) == Some(text.as_bytes())
                && self.bytes.get(end) == Some(&END),
        )
    }
}

/// The texts include API keys: never shown, not even their size's worth of detail.
impl fmt::Debug for Texts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Texts(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_matches_only_itself_not_its_prefix_or_extension() {
        let mut texts = Texts::default();
        let short = texts.push("abc");
        let empty = texts.push("");
        let long = texts.push("abcd");
        assert_eq!(texts.holds(short, "abc"), Some(true));
        assert_eq!(texts.holds(short, "ab"), Some(false));
        assert_eq!(texts.holds(short, "abcd"), Some(false));
        assert_eq!(texts.holds(empty, ""), Some(true));
        assert_eq!(texts.holds(empty, "a"), Some(false));
        assert_eq!(texts.holds(long, "abcd"), Some(true));
        assert_eq!(texts.holds(long, "abc"), Some(false));
        assert_eq!(texts.holds(NOT_KEPT, "abc"), None);
    }

    #[test]
    fn debug_shows_none_of_the_texts() {
        let mut texts = Texts::default();
        texts.push("SECRETKEY1234");
        assert!(!format!("{texts:?}").contains("1234"));
    }
}
