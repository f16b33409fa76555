//! The outcome of one report row, in the report's own words.

use std::fmt;
use std::str::FromStr;

/// What happened to one address of the input. The names are a contract: they are
/// the values of the report's `status` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    /// The API accepted the request that carried this address.
    Added,
    /// The request that carried this address failed for good.
    Failed,
    /// The address or the row's key cannot be sent.
    Invalid,
    /// The same account already carries this address from an earlier row.
    Duplicate,
    /// Dry run: the address would be sent.
    Planned,
    /// `--dry-run --check-keys`: the account already holds this address, as its
    /// read-only GET listed it; sending it would change nothing.
    Present,
    /// `--resume`: an earlier run already added this address.
    Skipped,
    /// The run stopped before this address was sent.
    NotAttempted,
}

impl Status {
    /// Every status, in the order summaries list them.
    pub const ALL: [Status; 8] = [
        Status::Added,
        Status::Failed,
        Status::Invalid,
        Status::Duplicate,
        Status::Planned,
        Status::Present,
        Status::Skipped,
        Status::NotAttempted,
    ];

    /// The report's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Added => "added",
            Status::Failed => "failed",
            Status::Invalid => "invalid",
            Status::Duplicate => "duplicate",
            Status::Planned => "planned",
            Status::Present => "present",
            Status::Skipped => "skipped",
            Status::NotAttempted => "not_attempted",
        }
    }

    /// Whether a row with this status leaves its address where the partner wants it:
    /// sent now, sent before, already on the account, or carried by an earlier row
    /// of the same account.
    pub fn is_settled(self) -> bool {
        matches!(
            self,
            Status::Added | Status::Skipped | Status::Duplicate | Status::Present
        )
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = String;

    fn from_str(text: &str) -> Result<Status, String> {
        Status::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| format!("unknown status '{text}'"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for status in Status::ALL {
            assert_eq!(status.as_str().parse(), Ok(status));
        }
        assert!("Added".parse::<Status>().is_err());
    }
}
