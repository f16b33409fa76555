//! Text bound for a person's terminal: one printer for errors, with a fixed prefix,
//! and the cleaning that server-supplied text gets before it is shown.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set by `-q`: warnings are dropped, errors still printed.
static QUIET: AtomicBool = AtomicBool::new(false);

/// Whether stderr gets colour. The default, `Auto`, follows <https://no-color.org>.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorChoice {
    /// Colour when stderr is a terminal, `NO_COLOR` is unset or empty, and `TERM`
    /// is not `dumb`.
    #[default]
    Auto,
    /// Colour whatever stderr is.
    Always,
    /// Never colour.
    Never,
}

impl ColorChoice {
    /// Decides, given whether stderr is a terminal and the values of `NO_COLOR` and
    /// `TERM`.
    pub fn resolve(self, terminal: bool, no_color: Option<&str>, term: Option<&str>) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                terminal && no_color.is_none_or(str::is_empty) && term != Some("dumb")
            }
        }
    }
}

/// Sets, for the whole process, whether stderr gets colour and whether warnings are
/// shown. Called once, before anything is printed.
pub fn configure(color: ColorChoice, quiet: bool) {
    let no_color = std::env::var("NO_COLOR").ok();
    let term = std::env::var("TERM").ok();
    let colored = color.resolve(
        std::io::stderr().is_terminal(),
        no_color.as_deref(),
        term.as_deref(),
    );
    // indicatif styles its bar through console, which otherwise decides for itself.
    console::set_colors_enabled_stderr(colored);
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Prints `ecbulk: error: MESSAGE` on stderr. The one place errors are printed.
pub fn print_error(message: &str) {
    let prefix = console::style("ecbulk: error:").red().bold().for_stderr();
    eprintln!("{prefix} {}", clean(message, 2000));
}

/// Prints `ecbulk: warning: MESSAGE` on stderr, unless `-q` asked for errors only.
pub fn print_warning(message: &str) {
    if QUIET.load(Ordering::Relaxed) {
        return;
    }
    let prefix = console::style("ecbulk: warning:").yellow().for_stderr();
    eprintln!("{prefix} {}", clean(message, 2000));
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
    use super::{ColorChoice, clean};

    #[test]
    fn colour_follows_the_choice_then_the_terminal_then_no_color() {
        use ColorChoice::*;
        let cases = [
            (Auto, true, None, Some("xterm"), true),
            (Auto, false, None, Some("xterm"), false),
            (Auto, true, Some("1"), Some("xterm"), false),
            (Auto, true, Some(""), Some("xterm"), true),
            (Auto, true, None, Some("dumb"), false),
            (Always, false, Some("1"), Some("dumb"), true),
            (Never, true, None, Some("xterm"), false),
        ];
        for (choice, terminal, no_color, term, want) in cases {
            assert_eq!(
                choice.resolve(terminal, no_color, term),
                want,
                "{choice:?} {terminal} {no_color:?} {term:?}"
            );
        }
    }

    #[test]
    fn control_characters_never_reach_the_terminal() {
        assert_eq!(clean("a\x1b[31mred\r\nb\0", 100), "a [31mred  b ");
        assert_eq!(clean("abcdef", 3), "abc…");
        assert_eq!(clean("abc", 3), "abc");
        assert_eq!(clean("", 3), "");
    }
}
