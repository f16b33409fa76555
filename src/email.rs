//! Email cells: splitting a cell into addresses, cleaning what people paste, and
//! deciding whether a mail system would take each address as written.

/// One address found in an email cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellAddress {
    /// The address to send when valid (cleaned, in its sendable form), or the piece
    /// of the cell as found when invalid.
    pub text: String,
    /// Why the address cannot be sent; `None` when it is valid.
    pub invalid: Option<String>,
}

/// Splits an email cell into its addresses, in order. An empty cell gives none.
pub fn parse_cell(cell: &str) -> Vec<CellAddress> {
    let _ = cell;
    todo!("email parsing")
}

/// Whether a mail system would take `address` exactly as written: one `@`; a local
/// part of 1-64 characters of letters, digits and ``!#$%&'*+/=?^_`{|}~-`` in
/// dot-separated runs; a domain of two or more labels of 1-63 letters, digits or
/// inner hyphens, the last alphabetic; 254 characters at most. Quoted local parts,
/// IP-literal domains and comments are refused: no contact list needs them, and the
/// API is not documented to take them. The error says why.
pub fn check(address: &str) -> Result<(), String> {
    if address.is_empty() {
        return Err("empty address".into());
    }
    if address.len() > 254 {
        return Err(format!("longer than 254 characters ({})", address.len()));
    }
    if let Some(c) = address
        .chars()
        .find(|c| c.is_whitespace() || c.is_control())
    {
        return Err(format!("contains {}", describe_char(c)));
    }
    let (local, domain) = match address.matches('@').count() {
        0 => return Err("no '@'".into()),
        1 => address.split_once('@').unwrap_or_default(),
        _ => return Err("more than one '@'".into()),
    };
    check_local(local)?;
    check_domain(domain)
}

fn check_local(local: &str) -> Result<(), String> {
    const SPECIALS: &str = "!#$%&'*+/=?^_`{|}~-";
    if local.is_empty() {
        return Err("nothing before the '@'".into());
    }
    if local.len() > 64 {
        return Err(format!(
            "the part before '@' is longer than 64 characters ({})",
            local.len()
        ));
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err("the part before '@' has a leading, trailing or double dot".into());
    }
    match local
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || c == '.' || SPECIALS.contains(c)))
    {
        Some(c) => Err(format!("the part before '@' contains {}", describe_char(c))),
        None => Ok(()),
    }
}

fn check_domain(domain: &str) -> Result<(), String> {
    if domain.is_empty() {
        return Err("nothing after the '@'".into());
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Err(format!("domain '{domain}' has no dot"));
    }
    for label in &labels {
        if label.is_empty() {
            return Err(format!("domain '{domain}' has an empty label"));
        }
        if label.len() > 63 {
            return Err(format!(
                "domain '{domain}' has a label longer than 63 characters"
            ));
        }
        if let Some(c) = label
            .chars()
            .find(|&c| !(c.is_ascii_alphanumeric() || c == '-'))
        {
            return Err(format!("domain '{domain}' contains {}", describe_char(c)));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!(
                "domain '{domain}' has a label starting or ending with '-'"
            ));
        }
    }
    let top = labels[labels.len() - 1];
    if !top.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(format!("top-level domain '{top}' is not alphabetic"));
    }
    Ok(())
}

/// Names a character for a message: visible ASCII quoted, anything else by code point,
/// so that an invisible or look-alike character is plain to see.
fn describe_char(c: char) -> String {
    if c.is_ascii_graphic() {
        format!("'{c}'")
    } else {
        format!("U+{:04X}", c as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn addresses_a_mail_system_takes() {
        for ok in [
            "a@example.com",
            "first.last@sub.example.co.uk",
            "+ops@example.com",
            "o'brien@example.ie",
            "x!#$%&'*+/=?^_`{|}~-y@example.com",
            "user@xn--bcher-kva.example",
            "a@b-c.de",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn addresses_refused_with_a_reason() {
        let long_local = format!("{}@example.com", "a".repeat(65));
        let long_label = format!("a@{}.com", "b".repeat(64));
        let long_total = format!("{}@{}.com", "a".repeat(64), "b.".repeat(95));
        let cases: Vec<(&str, &str)> = vec![
            ("", "empty"),
            ("plainaddress", "no '@'"),
            ("a@b@example.com", "more than one"),
            ("@example.com", "nothing before"),
            ("a@", "nothing after"),
            (".a@example.com", "dot"),
            ("a.@example.com", "dot"),
            ("a..b@example.com", "dot"),
            ("a b@example.com", "U+0020"),
            ("a@localhost", "no dot"),
            ("a@example..com", "empty label"),
            ("a@-example.com", "'-'"),
            ("a@example-.com", "'-'"),
            ("a@example.c0m", "not alphabetic"),
            ("a@1.2.3.4", "not alphabetic"),
            ("a@exa_mple.com", "'_'"),
            ("\"quoted\"@example.com", "'\"'"),
            ("jöhn@example.com", "U+00F6"),
            (&long_local, "longer than 64"),
            (&long_label, "longer than 63"),
            (&long_total, "longer than 254"),
        ];
        for (address, reason) in cases {
            let error = check(address).expect_err(address);
            assert!(error.contains(reason), "{address}: {error}");
        }
    }
}
