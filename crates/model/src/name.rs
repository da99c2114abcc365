//! The one rule for element and attribute names, which every reader applies before a name
//! enters the model and every writer applies again before it writes one.
//!
//! A name is valid when it is an XML 1.0 (fifth edition) `Name` that is also a namespace
//! `QName`: it starts with a letter, `_` or another `NameStartChar` (non-ASCII letters such as
//! `é` or `名` included), goes on with those, digits, `-`, `.`, `·` and combining marks, and holds
//! at most one `:`, neither first nor last (`xsi:type`). So a name can never hold a space, a
//! quote, `<`, `>`, `&`, `=`, `/` or a control character, and a writer that puts it between `<`
//! and `>` or before `="` writes exactly one name: a name cannot smuggle markup into a file.

use std::fmt;

use crate::text::quoted_char;

/// Why a name is not a valid XML name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NameError {
    /// The name is empty.
    Empty,
    /// Its first character may not start a name (a digit, `-`, `.`, …).
    Start(char),
    /// It holds a character that no name may hold (a space, a quote, `<`, `=`, …).
    Char(char),
    /// A `:` first, last, or more than once.
    Colon,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameError::Empty => f.write_str("a name may not be empty"),
            NameError::Start(c) => {
                write!(
                    f,
                    "a name may not start with {}; start it with a letter or '_'",
                    quoted_char(*c)
                )
            }
            NameError::Char(c) => write!(f, "a name may not hold {}", quoted_char(*c)),
            NameError::Colon => f.write_str(
                "a ':' may only separate a prefix from a local name, once (as in xsi:type)",
            ),
        }
    }
}

impl std::error::Error for NameError {}

/// ASCII bytes that may start a name (the colon is handled apart).
const ASCII_START: [bool; 128] = ascii_table(false);
/// ASCII bytes that may continue a name (the colon is handled apart).
const ASCII_CHAR: [bool; 128] = ascii_table(true);

const fn ascii_table(continuation: bool) -> [bool; 128] {
    let mut t = [false; 128];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        t[b] = c.is_ascii_alphabetic()
            || c == b'_'
            || (continuation && (c.is_ascii_digit() || c == b'-' || c == b'.'));
        b += 1;
    }
    t
}

/// XML 1.0 `NameStartChar`, without `:`.
fn is_name_start(c: char) -> bool {
    if c.is_ascii() {
        return ASCII_START[c as usize];
    }
    matches!(c,
        '\u{C0}'..='\u{D6}'
        | '\u{D8}'..='\u{F6}'
        | '\u{F8}'..='\u{2FF}'
        | '\u{370}'..='\u{37D}'
        | '\u{37F}'..='\u{1FFF}'
        | '\u{200C}'..='\u{200D}'
        | '\u{2070}'..='\u{218F}'
        | '\u{2C00}'..='\u{2FEF}'
        | '\u{3001}'..='\u{D7FF}'
        | '\u{F900}'..='\u{FDCF}'
        | '\u{FDF0}'..='\u{FFFD}'
        | '\u{10000}'..='\u{EFFFF}')
}

/// XML 1.0 `NameChar`, without `:`.
fn is_name_char(c: char) -> bool {
    if c.is_ascii() {
        return ASCII_CHAR[c as usize];
    }
    is_name_start(c) || matches!(c, '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

/// Checks `name` against the rule of this module.
pub fn check_xml_name(name: &str) -> Result<(), NameError> {
    // The usual case, a short ASCII name, in one pass over the bytes.
    let bytes = name.as_bytes();
    let Some(&first) = bytes.first() else { return Err(NameError::Empty) };
    if name.is_ascii() && first != b':' && ASCII_START[first as usize] {
        let mut colons = 0;
        let mut after_colon = false;
        for (i, &b) in bytes.iter().enumerate().skip(1) {
            if b == b':' {
                colons += 1;
                if colons > 1 || i + 1 == bytes.len() {
                    return Err(NameError::Colon);
                }
                after_colon = true;
                continue;
            }
            if !ASCII_CHAR[b as usize] {
                return Err(NameError::Char(b as char));
            }
            if after_colon && !ASCII_START[b as usize] {
                return Err(NameError::Start(b as char));
            }
            after_colon = false;
        }
        return Ok(());
    }
    let mut colons = 0;
    let mut after_colon = true;
    for (i, c) in name.char_indices() {
        if c == ':' {
            colons += 1;
            if colons > 1 || after_colon || i + 1 == name.len() {
                return Err(NameError::Colon);
            }
            after_colon = true;
            continue;
        }
        let fits = if after_colon { is_name_start(c) } else { is_name_char(c) };
        if !fits {
            // A character that may continue a name but not start one is a bad start;
            // anything else is a bad character wherever it stands.
            return Err(if after_colon && is_name_char(c) {
                NameError::Start(c)
            } else {
                NameError::Char(c)
            });
        }
        after_colon = false;
    }
    Ok(())
}

/// Whether `name` is a valid element or attribute name ([`check_xml_name`]).
pub fn is_xml_name(name: &str) -> bool {
    check_xml_name(name).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_names() {
        for name in [
            "a",
            "SRXes",
            "fswSpi1",
            "_x",
            "a-b.c_d",
            "xsi:type",
            "xmlns:xsi",
            "é",
            "Straße",
            "名前",
            "données",
            "a·b",
            "x\u{301}",
            "ünïcödé:ñame",
            "A1",
            "a:b1",
            "\u{10000}",
        ] {
            assert_eq!(check_xml_name(name), Ok(()), "{name:?}");
        }
    }

    #[test]
    fn invalid_names_say_why() {
        use NameError::*;
        let cases: &[(&str, NameError)] = &[
            ("", Empty),
            ("1a", Start('1')),
            ("-a", Start('-')),
            (".a", Start('.')),
            ("·a", Start('·')),
            ("a b", Char(' ')),
            ("x=\"1\"/>\n  <client id=\"evil\" y", Char('=')),
            ("a\"b", Char('"')),
            ("a'b", Char('\'')),
            ("a<b", Char('<')),
            ("a>b", Char('>')),
            ("a&b", Char('&')),
            ("a=b", Char('=')),
            ("a/b", Char('/')),
            ("a\u{1b}b", Char('\u{1b}')),
            ("a\u{85}", Char('\u{85}')),
            ("a\tb", Char('\t')),
            ("×", Char('×')),
            ("a÷", Char('÷')),
            ("a\u{2028}", Char('\u{2028}')),
            ("\u{37E}", Char('\u{37E}')),
            (":a", Colon),
            ("a:", Colon),
            ("a:b:c", Colon),
            ("a::b", Colon),
            (":", Colon),
            ("é:", Colon),
            ("a:1b", Start('1')),
            ("é:-b", Start('-')),
            ("@a", Char('@')),
            ("#text", Char('#')),
            ("$root", Char('$')),
        ];
        for (name, why) in cases {
            assert_eq!(check_xml_name(name), Err(*why), "{name:?}");
        }
    }

    #[test]
    fn messages_escape_what_they_show() {
        assert_eq!(NameError::Char('\u{1b}').to_string(), "a name may not hold '\\x1b'");
        assert!(NameError::Start('1').to_string().contains("start it with a letter"));
    }
}
