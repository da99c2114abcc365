//! Text that came from an input, as the model judges and shows it: which characters are control
//! characters, and how a value is quoted in a message so that none of them reaches a terminal.

use std::fmt;

/// Whether `c` is a control character: C0 (U+0000–U+001F, tab and newline included), DEL
/// (U+007F) or C1 (U+0080–U+009F). None of them belongs in an id or in what a person reads.
pub fn is_control(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}')
}

/// The first control character of `s` (see [`is_control`]), if any.
pub fn first_control(s: &str) -> Option<char> {
    // Every control character starts with a byte below 0x20, 0x7F, or 0xC2 (C1, U+0080–U+009F
    // in UTF-8 is C2 80–C2 9F): one pass over the bytes finds a candidate.
    if !s.bytes().any(|b| b < 0x20 || b == 0x7f || b == 0xc2) {
        return None;
    }
    s.chars().find(|&c| is_control(c))
}

/// `s` for a message: every control character written as an escape (`\x1b`, `\u{85}`), as `git`
/// and `ls` quote odd names; everything else as it is.
#[derive(Clone, Copy)]
pub struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        if first_control(s).is_none() {
            return f.write_str(s);
        }
        for c in s.chars() {
            write_char(f, c)?;
        }
        Ok(())
    }
}

/// One character as [`Escaped`] writes it.
fn write_char(f: &mut fmt::Formatter<'_>, c: char) -> fmt::Result {
    match c {
        '\u{0}'..='\u{1f}' | '\u{7f}' => write!(f, "\\x{:02x}", c as u32),
        '\u{80}'..='\u{9f}' => write!(f, "\\u{{{:x}}}", c as u32),
        c => fmt::Write::write_char(f, c),
    }
}

/// A character for a message, in single quotes (`'<'`, `'\x1b'`).
pub fn quoted_char(c: char) -> String {
    let mut s = String::with_capacity(8);
    s.push('\'');
    s.push_str(&Escaped(c.encode_utf8(&mut [0; 4])).to_string());
    s.push('\'');
    s
}

/// `s` for a message: in double quotes, cut to its first 40 characters (`…` marks the cut),
/// control characters escaped ([`Escaped`]) and a double quote inside written `\"`.
pub fn quoted(s: &str) -> String {
    const SHOWN: usize = 40;
    let mut out = String::with_capacity(s.len().min(4 * SHOWN) + 4);
    out.push('"');
    let mut chars = s.chars();
    for c in chars.by_ref().take(SHOWN) {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push_str(&Escaped(c.encode_utf8(&mut [0; 4])).to_string()),
        }
    }
    if chars.next().is_some() {
        out.push('…');
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_c0_del_and_c1() {
        for c in
            ['\0', '\t', '\n', '\r', '\u{1b}', '\u{1f}', '\u{7f}', '\u{80}', '\u{85}', '\u{9f}']
        {
            assert!(is_control(c), "{c:?}");
        }
        for c in [' ', 'a', '~', '\u{a0}', 'é', '€', '\u{2028}'] {
            assert!(!is_control(c), "{c:?}");
        }
        assert_eq!(first_control("abc"), None);
        assert_eq!(first_control("é€ and Â"), None);
        assert_eq!(first_control("a\u{85}b\u{1b}"), Some('\u{85}'));
        assert_eq!(first_control("a\u{7f}"), Some('\u{7f}'));
    }

    #[test]
    fn escapes_as_git_quotes_names() {
        assert_eq!(Escaped("plain é").to_string(), "plain é");
        assert_eq!(Escaped("a\u{1b}[2Jb\n\u{7f}\u{9b}").to_string(), "a\\x1b[2Jb\\x0a\\x7f\\u{9b}");
        assert_eq!(quoted_char('\u{1b}'), "'\\x1b'");
        assert_eq!(quoted_char('<'), "'<'");
        assert_eq!(quoted("x=\"1\"\u{1b}"), "\"x=\\\"1\\\"\\x1b\"");
        let long = "a".repeat(50);
        assert_eq!(quoted(&long), format!("\"{}…\"", "a".repeat(40)));
    }
}
