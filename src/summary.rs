//! The closing summary: counts that agree with the report, printed on stderr at the
//! end of every run.

use crate::input::InputSource;
use crate::key::KeyError;
use crate::limits::WindowSpec;
use crate::plan::Plan;
use crate::report::{Row, Rows};
use crate::status::Status;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

/// What a run did, counted from its report rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Report rows per status.
    pub rows: BTreeMap<Status, usize>,
    /// Accounts (distinct non-empty key cells) in the input.
    pub accounts: usize,
    /// Requests planned (chunks).
    pub requests: usize,
    /// Requests sent, retries included.
    pub attempts: u64,
    /// Failed rows per error code (DigiCert's code, else `http_<status>`, else `transport`).
    pub failures_by_code: BTreeMap<String, usize>,
}

impl Summary {
    /// Counts every row of the report, in blocks on rayon's threads: a report can
    /// have a million rows.
    pub fn count(plan: &Plan, rows: &Rows<'_>, attempts: u64) -> Summary {
        const BLOCK: usize = 16 * 1024;
        let counted = rows
            .entries()
            .par_chunks(BLOCK)
            .map(|block| {
                let mut counted = Summary::default();
                counted.add(block.iter().map(|entry| rows.row(entry)));
                counted
            })
            .reduce(Summary::default, Summary::merge);
        Summary {
            // Rows with an empty key cell share one pseudo-account; it is no account.
            accounts: plan
                .accounts
                .iter()
                .filter(|a| a.key != Err(KeyError::Empty))
                .count(),
            requests: plan.chunks.len(),
            attempts,
            ..counted
        }
    }

    /// Adds the rows and failures of `other`, which counted other rows.
    fn merge(mut self, other: Summary) -> Summary {
        for (status, count) in other.rows {
            *self.rows.entry(status).or_default() += count;
        }
        for (code, count) in other.failures_by_code {
            *self.failures_by_code.entry(code).or_default() += count;
        }
        self
    }

    /// Counts `rows` by status, and failed ones by code.
    fn add<'a>(&mut self, rows: impl Iterator<Item = Row<'a>>) {
        for row in rows {
            *self.rows.entry(row.status).or_default() += 1;
            if row.status == Status::Failed {
                let code = match (row.error_code, row.http_status) {
                    (Some(code), _) if !code.is_empty() => code.to_string(),
                    (_, Some(status)) => format!("http_{status}"),
                    _ => "transport".to_string(),
                };
                *self.failures_by_code.entry(code).or_default() += 1;
            }
        }
    }

    /// Rows with `status`.
    pub fn rows_with(&self, status: Status) -> usize {
        self.rows.get(&status).copied().unwrap_or(0)
    }

    /// Rows a later run could still add: `failed` and `not_attempted`.
    pub fn left_to_do(&self) -> usize {
        self.rows_with(Status::Failed) + self.rows_with(Status::NotAttempted)
    }

    /// Rows that keep the run from exiting 0. A run that sends must leave every row
    /// settled (added, skipped or a duplicate); a dry run must leave nothing that
    /// would not be sent: invalid rows, and with `--check-keys`, rows whose key was
    /// refused or could not be checked.
    pub fn unsettled(&self, dry_run: bool) -> usize {
        if dry_run {
            return self.rows_with(Status::Invalid) + self.rows_with(Status::Failed);
        }
        Status::ALL
            .iter()
            .filter(|s| !s.is_settled())
            .map(|s| self.rows_with(*s))
            .sum()
    }

    /// All report rows.
    pub fn total_rows(&self) -> usize {
        self.rows.values().sum()
    }

    /// The text printed on stderr: one line per fact, stable enough to grep.
    pub fn render(&self, report: &str, elapsed: Duration, estimate: Option<Duration>) -> String {
        let mut text = String::new();
        let by_status: Vec<String> = Status::ALL
            .iter()
            .filter(|s| self.rows_with(**s) > 0)
            .map(|s| format!("{} {}", self.rows_with(*s), s))
            .collect();
        let by_status = if by_status.is_empty() {
            "none".to_string()
        } else {
            by_status.join(", ")
        };
        let _ = writeln!(text, "rows:     {} ({by_status})", self.total_rows());
        let _ = writeln!(text, "accounts: {}", self.accounts);
        match estimate {
            Some(estimate) => {
                let _ = writeln!(
                    text,
                    "requests: {} would be sent, taking about {} at the configured pace",
                    self.requests,
                    human_duration(estimate)
                );
            }
            None => {
                let _ = writeln!(
                    text,
                    "requests: {} planned, {} sent (retries included) in {}",
                    self.requests,
                    self.attempts,
                    human_duration(elapsed)
                );
            }
        }
        if !self.failures_by_code.is_empty() {
            let failures: Vec<String> = self
                .failures_by_code
                .iter()
                .map(|(code, n)| format!("{code} {n}"))
                .collect();
            let _ = writeln!(text, "failures: {}", failures.join(", "));
        }
        let _ = writeln!(text, "report:   {report}");
        text
    }
}

/// The summary's last line when something is left to do: the command that resumes.
/// `resume_from` is the report or kept journal; `None` when the report went to
/// standard output, which leaves no file this run knows of.
pub fn retry_hint(input: &InputSource, resume_from: Option<&Path>) -> String {
    let input = match input {
        InputSource::Path(path) => shell_word(&path.display().to_string()),
        InputSource::Stdin => "-".to_string(),
    };
    match resume_from {
        Some(path) => format!(
            "to retry what is left: ecbulk run {input} --resume {}",
            shell_word(&path.display().to_string())
        ),
        None => format!(
            "to retry what is left: ecbulk run {input} --resume REPORT (the file standard output went to)"
        ),
    }
}

/// Quotes a word for a POSIX shell when it holds anything but plain characters, so
/// that the hint can be pasted as it is.
fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./+=:,@%".contains(&b));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// How long sending `plan` takes at least, at `rate` requests per second with
/// `burst`, under per-key `windows`.
pub fn estimate_duration(
    plan: &Plan,
    rate: Option<f64>,
    burst: u32,
    windows: &WindowSpec,
) -> Duration {
    let requests = plan.chunks.len() as f64;
    let global = match rate {
        Some(rate) if requests > 0.0 => (requests - f64::from(burst)).max(0.0) / rate,
        _ => 0.0,
    };
    let mut per_account = vec![0u32; plan.accounts.len()];
    for chunk in &plan.chunks {
        per_account[chunk.account as usize] += 1;
    }
    let busiest = per_account.into_iter().max().unwrap_or(0);
    let per_key = windows
        .0
        .iter()
        .map(|w| (busiest.saturating_sub(1) / w.max) as f64 * w.period.as_secs_f64())
        .fold(0.0, f64::max);
    Duration::from_secs_f64(global.max(per_key))
}

/// `1.2 s`, `3 min 20 s`, `1 h 5 min`.
pub fn human_duration(duration: Duration) -> String {
    let secs = duration.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1} s")
    } else if secs < 3600.0 {
        format!("{} min {} s", (secs / 60.0) as u64, (secs % 60.0) as u64)
    } else {
        format!(
            "{} h {} min",
            (secs / 3600.0) as u64,
            (secs % 3600.0 / 60.0) as u64
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_counted_in_blocks_add_up_to_every_row() {
        let mut planner = crate::plan::Planner::new();
        for line in 0..50_000u64 {
            let key = if line % 7 == 0 { "" } else { "key-abcdefgh" };
            planner.push(&crate::input::InputRow {
                line: line + 2,
                key: key.into(),
                emails: format!("a{}@x.example", line % 20_000),
                label: String::new(),
            });
        }
        let plan = planner.finish(&crate::plan::ChunkOptions::default());
        let summary = Summary::count(&plan, &Rows::new(&plan, &[], true), 0);

        let mut by_status = BTreeMap::new();
        for entry in &plan.entries {
            *by_status.entry(entry.status).or_default() += 1;
        }
        assert_eq!(summary.rows, by_status);
        assert_eq!(summary.rows.values().sum::<usize>(), 50_000);
        assert_eq!(summary.rows_with(Status::Invalid), 50_000_usize.div_ceil(7));
        assert_eq!(summary.accounts, 1);
    }

    #[test]
    fn the_retry_hint_can_be_pasted_into_a_shell() {
        let input = InputSource::Path("in put/it's.csv".into());
        assert_eq!(
            retry_hint(&input, Some(Path::new("report.csv"))),
            r"to retry what is left: ecbulk run 'in put/it'\''s.csv' --resume report.csv"
        );
        assert_eq!(
            retry_hint(&InputSource::Stdin, None),
            "to retry what is left: ecbulk run - --resume REPORT (the file standard output went to)"
        );
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(Duration::from_millis(1234)), "1.2 s");
        assert_eq!(human_duration(Duration::from_secs(200)), "3 min 20 s");
        assert_eq!(human_duration(Duration::from_secs(3900)), "1 h 5 min");
    }
}
