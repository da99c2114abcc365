//! The terminal: whether to use colour, and asking a yes/no question.

use std::io::{BufRead, IsTerminal};

/// `--color`: when to colour, as ripgrep and cargo take it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Default)]
pub(crate) enum ColorWhen {
    /// On a terminal that has colours, unless `NO_COLOR` is set or `CLICOLOR=0`
    /// (`CLICOLOR_FORCE` forces it).
    #[default]
    Auto,
    /// Always, even into a file or a pipe.
    Always,
    /// Never.
    Never,
}

/// Sets `--color` for the whole process (once, at the start): anstream's global choice, which
/// every stream jimsctl writes through (and clap's own messages) then follows.
pub(crate) fn set_color(when: ColorWhen) {
    anstream::ColorChoice::write_global(match when {
        ColorWhen::Auto => anstream::ColorChoice::Auto,
        ColorWhen::Always => anstream::ColorChoice::Always,
        ColorWhen::Never => anstream::ColorChoice::Never,
    });
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

/// Whether `stream` gets colour: `--color always` or `never` as given; with `auto`, never when
/// `NO_COLOR` is set and not empty, always when `CLICOLOR_FORCE` asks for it (see
/// [`clicolor_force`]), never when `CLICOLOR=0`, and otherwise only on a terminal that has
/// colours (`TERM` set and not `dumb`, or `CLICOLOR` set, or under CI). anstream's own rule,
/// but for `CLICOLOR_FORCE=0`, which anstream takes as forcing colour and the convention does
/// not; jimsctl's streams, clap's messages, the dialogs and the progress bar all follow this
/// one decision.
fn color_for(is_terminal: bool) -> bool {
    match anstream::ColorChoice::global() {
        anstream::ColorChoice::Always | anstream::ColorChoice::AlwaysAnsi => true,
        anstream::ColorChoice::Never => false,
        anstream::ColorChoice::Auto => {
            let clicolor = anstyle_query::clicolor();
            !anstyle_query::no_color()
                && (clicolor_force()
                    || (clicolor != Some(false)
                        && is_terminal
                        && (anstyle_query::term_supports_color()
                            || clicolor == Some(true)
                            || anstyle_query::is_ci())))
        }
    }
}

/// Whether `CLICOLOR_FORCE` forces colour: set to anything but `0`
/// (<https://bixense.com/clicolors/>: "`CLICOLOR_FORCE != 0`"); set but empty counts as unset,
/// as an empty `NO_COLOR` does.
fn clicolor_force() -> bool {
    clicolor_force_value(std::env::var_os("CLICOLOR_FORCE").as_deref())
}

/// [`clicolor_force`] for the variable's value.
fn clicolor_force_value(value: Option<&std::ffi::OsStr>) -> bool {
    value.is_some_and(|v| !v.is_empty() && v != "0")
}

/// anstream's choice for a stream, from [`color_for`]: `Always` passes jimsctl's colours
/// through, `Never` strips every colour left in the text.
pub(crate) fn stream_choice(is_terminal: bool) -> anstream::ColorChoice {
    if color_for(is_terminal) {
        anstream::ColorChoice::Always
    } else {
        anstream::ColorChoice::Never
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

/// Whether the terminal dialogs (on the terminal by nature, whatever standard error is) use
/// colour: the rules of [`color_for`] for a stream that is a terminal.
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
    /// lets through (the unit tests check them against anstyle's rendering of [`Style::BOLD`],
    /// [`Style::RED`], [`Style::GREEN`], [`Style::YELLOW`]).
    /// (And `\x1b[4m`, underline, which clap's own messages use for `Usage:`.)
    pub(crate) const SEQUENCES: [&'static str; 6] =
        ["\x1b[0m", "\x1b[1m", "\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[4m"];
    /// Headers.
    pub(crate) const BOLD: anstyle::Style = anstyle::Style::new().bold();
    /// What is missing or failed.
    pub(crate) const RED: anstyle::Style = anstyle::AnsiColor::Red.on_default();
    /// What is OK.
    pub(crate) const GREEN: anstyle::Style = anstyle::AnsiColor::Green.on_default();
    /// What changes.
    pub(crate) const YELLOW: anstyle::Style = anstyle::AnsiColor::Yellow.on_default();

    fn paint(self, style: anstyle::Style, text: &str) -> String {
        if self.on { format!("{style}{text}{style:#}") } else { text.to_owned() }
    }
    pub(crate) fn red(self, text: &str) -> String {
        self.paint(Self::RED, text)
    }
    pub(crate) fn green(self, text: &str) -> String {
        self.paint(Self::GREEN, text)
    }
    pub(crate) fn yellow(self, text: &str) -> String {
        self.paint(Self::YELLOW, text)
    }
    pub(crate) fn bold(self, text: &str) -> String {
        self.paint(Self::BOLD, text)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sequences_let_through_are_exactly_what_anstyle_writes_for_our_styles() {
        for style in [Style::BOLD, Style::RED, Style::GREEN, Style::YELLOW] {
            let (on, off) = (style.render().to_string(), style.render_reset().to_string());
            assert!(Style::SEQUENCES.contains(&on.as_str()), "{on:?}");
            assert!(Style::SEQUENCES.contains(&off.as_str()), "{off:?}");
        }
        assert_eq!(Style { on: true }.red("x"), "\x1b[31mx\x1b[0m");
        assert_eq!(Style { on: false }.red("x"), "x");
    }

    #[test]
    fn clicolor_force_forces_for_any_value_but_0_and_empty() {
        use std::ffi::OsStr;
        for v in ["1", "yes", "true", "00", " 0"] {
            assert!(clicolor_force_value(Some(OsStr::new(v))), "{v:?}");
        }
        assert!(!clicolor_force_value(Some(OsStr::new("0"))));
        assert!(!clicolor_force_value(Some(OsStr::new(""))));
        assert!(!clicolor_force_value(None));
    }
}
