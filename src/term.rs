//! Text bound for a person's terminal: one printer for errors, with a fixed prefix,
//! and the cleaning that server-supplied text gets before it is shown.

/// Prints `ecbulk: error: MESSAGE` on stderr. The one place errors are printed.
pub fn print_error(message: &str) {
    eprintln!("ecbulk: error: {}", clean(message, 2000));
}

/// Prints `ecbulk: warning: MESSAGE` on stderr.
pub fn print_warning(message: &str) {
    eprintln!("ecbulk: warning: {}", clean(message, 2000));
}

/// Replaces control characters (escape sequences, carriage returns, NULs) with a
/// space and cuts the text to `max` characters, marking the cut with `…`. Line
/// breaks go too: a message from a server stays on one line.
pub fn clean(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max + 3));
    for (count, c) in text.chars().enumerate() {
        if count == max {
            out.push('…');
            break;
        }
        out.push(if c.is_control() { ' ' } else { c });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn control_characters_never_reach_the_terminal() {
        assert_eq!(clean("a\x1b[31mred\r\nb\0", 100), "a [31mred  b ");
        assert_eq!(clean("abcdef", 3), "abc…");
        assert_eq!(clean("abc", 3), "abc");
        assert_eq!(clean("", 3), "");
    }
}
