//! Standard output and standard error: every byte jimsctl prints goes through here.
//!
//! - A closed standard output (`jimsctl … | head -1`) ends nothing: the output is dropped
//!   quietly and the command keeps its own exit code, so that a failure stays a failure for
//!   `set -o pipefail`. Any other failure to write it is said once on standard error and turns a
//!   success into exit 1.
//! - Standard error that cannot be written is ignored: never a panic (exit 101).
//! - Both streams are anstream's, with jimsctl's own colour choice ([`crate::term`]: `--color`,
//!   `NO_COLOR`, `CLICOLOR`, `CLICOLOR_FORCE`, a terminal or not): where it says no colour, any
//!   colour left in the text is stripped there, whoever put it in.
//! - Whatever is printed passes [`render::terminal_safe`]: a control character that jimsctl did
//!   not put there itself (its colours) is escaped, a second line of defence behind
//!   [`render::escape_for_terminal`], which every piece of input text passes where it is
//!   formatted. JSON goes out through [`json`], which escapes what `serde_json` leaves raw.

use std::fmt;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::render;

/// The reader of standard output has gone away: nothing more is written there.
static STDOUT_GONE: AtomicBool = AtomicBool::new(false);
/// Writing standard output failed otherwise: a success becomes exit 1.
static STDOUT_FAILED: AtomicBool = AtomicBool::new(false);

/// Writes to standard output (see the module documentation).
pub(crate) fn stdout(args: fmt::Arguments<'_>) {
    if STDOUT_GONE.load(Ordering::Relaxed) {
        return;
    }
    let text = fmt::format(args);
    let text = render::terminal_safe(&text);
    let raw = std::io::stdout();
    let choice = crate::term::stream_choice(raw.is_terminal());
    let mut out = anstream::AutoStream::new(raw.lock(), choice);
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        STDOUT_GONE.store(true, Ordering::Relaxed);
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            STDOUT_FAILED.store(true, Ordering::Relaxed);
            stderr(format_args!("error: cannot write to standard output: {e}\n"));
        }
    }
}

/// Writes to standard error; a failure to do so is ignored (there is nowhere left to say it).
pub(crate) fn stderr(args: fmt::Arguments<'_>) {
    let text = fmt::format(args);
    let text = render::terminal_safe(&text);
    let raw = std::io::stderr();
    let choice = crate::term::stream_choice(raw.is_terminal());
    let mut err = anstream::AutoStream::new(raw.lock(), choice);
    let _ = err.write_all(text.as_bytes()).and_then(|()| err.flush());
}

/// `value` as pretty JSON text in which no control character is left raw: `serde_json` escapes
/// those below U+0020; DEL, the C1 controls (U+0080–U+009F, which some terminals obey) and the
/// bidirectional overrides become `\uXXXX` escapes too, which JSON reads back as the same
/// string.
pub(crate) fn json(value: &serde_json::Value) -> String {
    let text = format!("{value:#}");
    if !text.chars().any(render::is_hidden_control) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if render::is_hidden_control(c) {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The process's exit code for a command that returned `code`: a success whose output could
/// not be written is a failure (1); a closed pipe changes nothing.
pub(crate) fn exit_code(code: u8) -> u8 {
    if code == 0 && STDOUT_FAILED.load(Ordering::Relaxed) {
        crate::exit::Exit::Failed.code()
    } else {
        code
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escapes_what_a_terminal_would_obey_and_reads_back_the_same() {
        let v = serde_json::json!({"id": "a\u{1b}[2J\u{9b}31m\u{7f}\u{202e}b\n", "n": 1});
        let text = json(&v);
        assert!(
            !text.chars().any(|c| c != '\n' && (c.is_control() || render::is_hidden_control(c))),
            "{text:?}"
        );
        assert!(text.contains(r"\u001b[2J\u009b31m\u007f\u202eb\n"), "{text}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap(), v);
    }
}
