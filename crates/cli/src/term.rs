//! The terminal: whether to use colour, and asking a yes/no question.

use std::io::{BufRead, IsTerminal};

/// Whether standard output gets colour: only on a terminal, never with `NO_COLOR`.
pub(crate) fn color_stdout() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
}

/// Whether there is a person to ask: standard input and standard error are terminals.
pub(crate) fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// ANSI styles, or nothing when colour is off.
#[derive(Clone, Copy)]
pub(crate) struct Style {
    pub(crate) on: bool,
}

impl Style {
    /// Every escape sequence a style writes: the only ones [`crate::render::terminal_safe`]
    /// lets through.
    pub(crate) const SEQUENCES: [&'static str; 5] =
        ["\x1b[0m", "\x1b[1m", "\x1b[31m", "\x1b[32m", "\x1b[33m"];

    fn paint(self, code: &str, text: &str) -> String {
        if self.on { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_owned() }
    }
    pub(crate) fn red(self, text: &str) -> String {
        self.paint("31", text)
    }
    pub(crate) fn green(self, text: &str) -> String {
        self.paint("32", text)
    }
    pub(crate) fn yellow(self, text: &str) -> String {
        self.paint("33", text)
    }
    pub(crate) fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }
}

/// Asks `question` on the terminal; true only for an explicit yes.
pub(crate) fn confirm(question: &str) -> bool {
    crate::stdio::stderr(format_args!("{question} [y/N] "));
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() {
        return false;
    }
    matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}
