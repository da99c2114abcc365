//! The built-in secret sources: `env`, `file:`, `dir:` and `cmd:`.
//!
//! An empty password is no password: `env`, `file:` and `dir:` answer "not found" for an empty
//! value (so a skeleton file with empty values can be filled in bit by bit), and `cmd:` treats
//! empty output as a failure.

mod cmd;
mod dir;
mod env;
mod file;

use model::SecretKey;

pub use cmd::{CmdSource, KEYS_VARIABLE};
pub use dir::DirSource;
pub use env::{EnvLookup, EnvSource};
pub use file::{FileFormat, FileSource, MAX_SECRETS_FILE};

/// Why `key` may not be handed to a source that makes a path or a program's input of it
/// (`dir:`, `cmd:`): a part between `/` that is empty, `.` or `..` (it would name another
/// folder), or a control character anywhere (a NUL cuts a path; a newline would give a
/// program reading `JIMS_SECRET_KEYS` line by line two keys; on Windows also `\` and `:`).
/// `None` when the key is fine. Such a key is "not found" and the source is not asked.
pub(crate) fn refused_key(key: &SecretKey) -> Option<&'static str> {
    let text = key.as_str();
    if text.chars().any(char::is_control) {
        return Some("it holds a control character");
    }
    for part in text.split('/') {
        if part.is_empty() {
            return Some("it has an empty part");
        }
        if part == "." || part == ".." {
            return Some("it has a `.` or `..` part");
        }
        if cfg!(windows) && (part.contains('\\') || part.contains(':')) {
            return Some("it holds `\\` or `:`");
        }
    }
    None
}

/// `text` with every control character escaped (`\x1b`, `\n`, `\u{9b}`), as `git` and `ls`
/// quote odd names, so that nothing a program printed reaches a terminal raw.
pub(crate) fn escape_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 && c.is_control() => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_that_could_escape_are_refused() {
        let refused = |k: &str| refused_key(&SecretKey::from_text(k)).is_some();
        assert!(!refused("event_sources/DC1") && !refused("account/CORP\\svc"));
        for bad in
            ["", "/etc/passwd", "a//b", "a/./b", "../x", "a/..", "a/b\0c", "a/", "a\nb", "a\x1b[2J"]
        {
            assert!(refused(bad), "{bad:?}");
        }
    }

    #[test]
    fn controls_are_escaped() {
        assert_eq!(escape_controls("a\x1b[31mb\nc\u{9b}"), "a\\x1b[31mb\\nc\\u{9b}");
    }
}
