//! Column resolution: which header is the key, which the emails, which the label.
//! Names are compared after [`clean::header_name`], so spacing, case, `_` and `-`
//! never matter.

use super::InputOptions;
use super::clean;

/// Headers taken as the API key column when `--key-column` is not given.
pub const KEY_ALIASES: &[&str] = &["api_key", "apikey", "key", "partner_api_key"];

/// Headers taken as the email column when `--email-column` is not given.
pub const EMAIL_ALIASES: &[&str] = &[
    "email",
    "emails",
    "email_address",
    "emergency_email",
    "emergency_emails",
    "emergency_contact_email",
    "emergency_contact_emails",
    "contact_email",
];

/// Headers taken as the label column when `--account-column` is not given.
pub const LABEL_ALIASES: &[&str] = &["account", "account_name", "name", "subaccount", "label"];

/// Zero-based positions of the columns a row is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Columns {
    /// The API key column.
    pub key: usize,
    /// The email column.
    pub email: usize,
    /// The label column, when the file has one.
    pub label: Option<usize>,
}

/// One thing a column can be, and how the user names it.
struct Role<'a> {
    what: &'static str,
    flag: &'static str,
    aliases: &'static [&'static str],
    explicit: Option<&'a str>,
}

/// Finds the columns in a header row. The error says what was found and which flag
/// picks the column, since a person has to fix the file or the command line.
pub fn resolve(headers: &[&str], options: &InputOptions) -> Result<Columns, String> {
    let key_role = Role {
        what: "API key",
        flag: "--key-column",
        aliases: KEY_ALIASES,
        explicit: options.key_column.as_deref(),
    };
    let email_role = Role {
        what: "email",
        flag: "--email-column",
        aliases: EMAIL_ALIASES,
        explicit: options.email_column.as_deref(),
    };
    let label_role = Role {
        what: "account label",
        flag: "--account-column",
        aliases: LABEL_ALIASES,
        explicit: options.account_column.as_deref(),
    };
    let names: Vec<String> = headers.iter().map(|h| clean::header_name(h)).collect();

    let key = find(&key_role, headers, &names)?.ok_or_else(|| missing(&key_role, headers))?;
    let email = find(&email_role, headers, &names)?.ok_or_else(|| missing(&email_role, headers))?;
    let label = match find(&label_role, headers, &names)? {
        None if label_role.explicit.is_some() => return Err(missing(&label_role, headers)),
        found => found,
    };

    distinct(headers, (&key_role, key), (&email_role, email))?;
    if let Some(label) = label {
        distinct(headers, (&key_role, key), (&label_role, label))?;
        distinct(headers, (&email_role, email), (&label_role, label))?;
    }
    Ok(Columns { key, email, label })
}

/// The one column that plays `role`, if any; two candidates are refused rather than
/// guessed between, since picking the wrong one would send the wrong data.
fn find(role: &Role, headers: &[&str], names: &[String]) -> Result<Option<usize>, String> {
    let wanted: Vec<String> = match role.explicit {
        Some(name) => vec![clean::header_name(name)],
        None => role.aliases.iter().map(|a| clean::header_name(a)).collect(),
    };
    let found: Vec<usize> = (0..names.len())
        .filter(|&i| !names[i].is_empty() && wanted.contains(&names[i]))
        .collect();

    match found[..] {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        [first, second, ..] => Err(ambiguous(role, headers, first, second)),
    }
}

fn ambiguous(role: &Role, headers: &[&str], first: usize, second: usize) -> String {
    let both = format!(
        "both {} and {}",
        describe(headers, first),
        describe(headers, second)
    );
    match role.explicit {
        Some(name) => format!(
            "{both} match {} {}: rename one of them in the file",
            role.flag,
            shown(name)
        ),
        None => format!(
            "{both} could be the {} column: choose one with {}",
            role.what, role.flag
        ),
    }
}

fn missing(role: &Role, headers: &[&str]) -> String {
    let found = list(headers);
    match role.explicit {
        Some(name) => format!(
            "no column named {} (given with {}); the header row has {found}",
            shown(name),
            role.flag
        ),
        None => format!(
            "no {} column: the header row has {found}; name the column with {}, or call it {}",
            role.what,
            role.flag,
            or_list(role.aliases)
        ),
    }
}

fn distinct(headers: &[&str], a: (&Role, usize), b: (&Role, usize)) -> Result<(), String> {
    if a.1 != b.1 {
        return Ok(());
    }
    Err(format!(
        "{} cannot be both the {} and the {} column: check {} and {}",
        describe(headers, a.1),
        a.0.what,
        b.0.what,
        a.0.flag,
        b.0.flag
    ))
}

/// `"Email" (column 3)`: quoted with escapes, so an invisible character shows.
fn describe(headers: &[&str], index: usize) -> String {
    format!("{} (column {})", shown(headers[index]), index + 1)
}

/// The headers for a message. A binary file read as CSV can have a "header" of
/// thousands of cells, so only the first few are listed, each cut short.
fn list(headers: &[&str]) -> String {
    const SHOWN: usize = 12;
    let mut text: Vec<String> = headers.iter().take(SHOWN).map(|h| shown(h)).collect();
    if headers.len() > SHOWN {
        text.push(format!("and {} more", headers.len() - SHOWN));
    }
    text.join(", ")
}

/// A header cell for a message: cut short, and masked when it could be an API key
/// (a file without a header row has its first data row taken for one).
fn shown(header: &str) -> String {
    const LONGEST: usize = 40;
    let header = crate::key::redact(header);
    if header.chars().count() <= LONGEST {
        return format!("{header:?}");
    }
    let cut: String = header.chars().take(LONGEST).collect();
    format!("{cut:?}…")
}

fn or_list(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::{Columns, resolve};
    use crate::input::InputOptions;

    fn columns(headers: &[&str]) -> Result<Columns, String> {
        resolve(headers, &InputOptions::default())
    }

    #[test]
    fn aliases_and_spellings_resolve() {
        let cases: &[(&[&str], Columns)] = &[
            (
                &["api_key", "email"],
                Columns {
                    key: 0,
                    email: 1,
                    label: None,
                },
            ),
            (
                &[" API Key ", "Emergency-Contact-Emails", "Account Name"],
                Columns {
                    key: 0,
                    email: 1,
                    label: Some(2),
                },
            ),
            (
                &["notes", "Label", "E-Mail", "\u{FEFF}ApiKey"],
                Columns {
                    key: 3,
                    email: 2,
                    label: Some(1),
                },
            ),
            (
                &["Partner API Key", "contact_email", "", "extra"],
                Columns {
                    key: 0,
                    email: 1,
                    label: None,
                },
            ),
            (
                &["KEY", "EMAIL_ADDRESS", "sub\u{200B}account"],
                Columns {
                    key: 0,
                    email: 1,
                    label: Some(2),
                },
            ),
        ];
        for (headers, want) in cases {
            assert_eq!(columns(headers), Ok(*want), "{headers:?}");
        }
    }

    #[test]
    fn flags_name_columns_with_the_same_matching() {
        let options = InputOptions {
            key_column: Some("Secret Token".into()),
            email_column: Some("who_to_call".into()),
            account_column: Some("Customer".into()),
            ..InputOptions::default()
        };
        let headers = ["customer", "secret_token", "Who To Call", "email"];
        assert_eq!(
            resolve(&headers, &options),
            Ok(Columns {
                key: 1,
                email: 2,
                label: Some(0)
            })
        );
    }

    #[test]
    fn refusals_name_what_was_found_and_the_flag() {
        let cases: &[(&[&str], &[&str])] = &[
            (
                &["token", "email"],
                &["no API key column", "\"token\"", "--key-column"],
            ),
            (
                &["key", "mail"],
                &["no email column", "\"mail\"", "--email-column"],
            ),
            (
                &["key", "Email", "email"],
                &[
                    "\"Email\" (column 2)",
                    "\"email\" (column 3)",
                    "--email-column",
                ],
            ),
            (
                &["key", "email", "emails"],
                &[
                    "\"email\" (column 2)",
                    "\"emails\" (column 3)",
                    "--email-column",
                ],
            ),
            (
                &["api_key", "key", "email"],
                &["\"api_key\"", "\"key\"", "--key-column"],
            ),
            (
                &["key", "email", "name", "account"],
                &["\"name\"", "--account-column"],
            ),
            (&[], &["no API key column"]),
        ];
        for (headers, parts) in cases {
            let error = columns(headers).expect_err(&format!("{headers:?}"));
            for part in *parts {
                assert!(error.contains(part), "{headers:?}: {error}");
            }
        }
    }

    #[test]
    fn a_named_column_that_is_missing_or_taken_is_refused() {
        let cases = [
            (
                Some("token"),
                None,
                None,
                "no column named \"token\" (given with --key-column)",
            ),
            (None, None, Some("customer"), "--account-column"),
            (
                None,
                Some("key"),
                None,
                "cannot be both the API key and the email column",
            ),
            (
                None,
                None,
                Some("email"),
                "cannot be both the email and the account label",
            ),
        ];
        for (key, email, account, want) in cases {
            let options = InputOptions {
                key_column: key.map(Into::into),
                email_column: email.map(Into::into),
                account_column: account.map(Into::into),
                ..InputOptions::default()
            };
            let error = resolve(&["key", "email"], &options).expect_err(want);
            assert!(error.contains(want), "{error}");
        }
    }

    #[test]
    fn long_header_rows_are_listed_briefly() {
        let long = "x".repeat(500);
        let headers: Vec<&str> = std::iter::repeat_n(long.as_str(), 100).collect();
        let error = columns(&headers).unwrap_err();
        assert!(error.contains("and 88 more"), "{error}");
        assert!(error.len() < 1000, "{}", error.len());
    }
}
