//! Exit codes as a type, with the rule for merging the outcomes of many accounts.

/// How a run ended. The numeric values are a contract documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// Every row was added (or, in a dry run, nothing is invalid). Code 0.
    Success,
    /// The run finished, but some rows are not added. Code 2.
    Incomplete,
    /// Nothing was sent because of a usage or input error. Code 1.
    Usage,
    /// Stopped by Ctrl-C or SIGTERM. Code 130.
    Interrupted,
}

impl Exit {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Usage => 1,
            Exit::Incomplete => 2,
            Exit::Interrupted => 130,
        }
    }

    /// The outcome of two parts of one run: the more serious one wins
    /// (interrupted over usage error over incomplete over success).
    pub fn merge(self, other: Exit) -> Exit {
        self.max(other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_more_serious_outcome_wins() {
        assert_eq!(Exit::Success.merge(Exit::Incomplete), Exit::Incomplete);
        assert_eq!(Exit::Incomplete.merge(Exit::Success), Exit::Incomplete);
        assert_eq!(Exit::Incomplete.merge(Exit::Interrupted), Exit::Interrupted);
        assert_eq!(Exit::Success.merge(Exit::Success), Exit::Success);
    }

    #[test]
    fn codes_are_the_documented_ones() {
        let codes: Vec<u8> = [
            Exit::Success,
            Exit::Usage,
            Exit::Incomplete,
            Exit::Interrupted,
        ]
        .iter()
        .map(|e| e.code())
        .collect();
        assert_eq!(codes, [0, 1, 2, 130]);
    }
}
