//! The terminal: whether to use colour, and asking a yes/no question.

use std::io::{BufRead, IsTerminal};

/// `--color`: when to colour, as ripgrep and cargo take it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Default)]
pub(crate) enum ColorWhen {
    /// On a terminal, unless `NO_COLOR` is set or `CLICOLOR=0` (`CLICOLOR_FORCE` forces it).
    #[default]
    Auto,
    /// Always, even into a file or a pipe.
    Always,
    /// Never.
    Never,
}

static COLOR: std::sync::OnceLock<ColorWhen> = std::sync::OnceLock::new();

/// Sets `--color` for the whole process (once, at the start).
pub(crate) fn set_color(when: ColorWhen) {
    let _ = COLOR.set(when);
}

/// The `--color` given on the command line, before clap parses it (so that clap's own messages
/// follow it too): `--color WHEN` or `--color=WHEN`; the last one wins; `auto` otherwise.
pub(crate) fn color_from_args(args: &[std::ffi::OsString]) -> ColorWhen {
    let mut when = ColorWhen::Auto;
    let mut it = args.iter().skip(1).map(|a| a.to_string_lossy());
    while let Some(a) = it.next() {
        if a == "--" {
            break;
        }
        let value = match a.strip_prefix("--color") {
            Some("") => it.next().map(|v| v.into_owned()),
            Some(v) if v.starts_with('=') => Some(v[1..].to_owned()),
            _ => None,
        };
        match value.as_deref() {
            Some("always") => when = ColorWhen::Always,
            Some("never") => when = ColorWhen::Never,
            Some("auto") => when = ColorWhen::Auto,
            _ => {}
        }
    }
    when
}

/// Whether a stream that `is_terminal` or not gets colour: `--color`, then `NO_COLOR` (set and
/// not empty: never), `CLICOLOR_FORCE` (set and not `0`: always), `CLICOLOR=0` (never), and
/// otherwise only on a terminal.
fn color_for(is_terminal: bool) -> bool {
    let set = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    match COLOR.get().copied().unwrap_or_default() {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => {
            if set("NO_COLOR").is_some() {
                false
            } else if set("CLICOLOR_FORCE").is_some_and(|v| v != "0") {
                true
            } else if set("CLICOLOR").is_some_and(|v| v == "0") {
                false
            } else {
                is_terminal
            }
        }
    }
}

/// Whether standard output gets colour (see [`color_for`]).
pub(crate) fn color_stdout() -> bool {
    color_for(std::io::stdout().is_terminal())
}

/// Whether standard error gets colour (see [`color_for`]).
pub(crate) fn color_stderr() -> bool {
    color_for(std::io::stderr().is_terminal())
}

/// Whether the terminal dialogs (on the terminal by nature) use colour: not with `--color
/// never`, `NO_COLOR` or `CLICOLOR=0`.
pub(crate) fn color_dialog() -> bool {
    color_for(true)
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
    /// (And `\x1b[4m`, underline, which clap's own messages use for `Usage:`.)
    pub(crate) const SEQUENCES: [&'static str; 6] =
        ["\x1b[0m", "\x1b[1m", "\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[4m"];

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
