//! Character and entity references: decoding them when reading, writing them when writing.
//!
//! Reading accepts the five predefined entities (`&lt; &gt; &amp; &apos; &quot;`) and numeric
//! character references (`&#10;`, `&#xA;`) of any character but NUL; anything else is refused,
//! because a document without a DOCTYPE cannot declare entities. Messages about a secret value
//! (a `password` or `fswSpi1` attribute, the text of a `<password>` element) never quote it.

use std::borrow::Cow;

use model::read::{ErrorKind, Refusal};

/// Where a value being decoded comes from, for error messages.
#[derive(Copy, Clone, Debug)]
pub(crate) enum Place<'n> {
    /// The value of attribute `name` (`secret` when it holds a password).
    Attribute {
        /// The attribute's name.
        name: &'n str,
        /// Whether the value is a secret.
        secret: bool,
    },
    /// Text content of element `name`.
    Text {
        /// The element's name.
        name: &'n str,
        /// Whether the text is a secret.
        secret: bool,
    },
}

impl Place<'_> {
    fn describe(&self) -> String {
        match self {
            Place::Attribute { name, .. } => format!("the value of attribute '{name}'"),
            Place::Text { name, .. } => format!("the text of <{name}>"),
        }
    }

    fn secret(&self) -> bool {
        match self {
            Place::Attribute { secret, .. } | Place::Text { secret, .. } => *secret,
        }
    }
}

const ACCEPTED: &str = "only &lt; &gt; &amp; &apos; &quot; and numeric character references such as &#10; are accepted";

/// Decodes the references in `raw`, which starts at byte `offset` of the input. Borrows `raw`
/// when it holds no reference. An attribute value may not hold a raw `<`.
pub(crate) fn unescape<'a>(
    raw: &'a str,
    offset: usize,
    place: Place<'_>,
) -> Result<Cow<'a, str>, Refusal> {
    let bytes = raw.as_bytes();
    // One pass finds the first '&' (or, in an attribute value, a '<', which is refused).
    let attribute = matches!(place, Place::Attribute { .. });
    // XML 1.0 §3.3.3: a literal tab, newline or carriage return (a CR LF pair counting as one,
    // §2.11) in an attribute value is read as a space; a character reference such as `&#10;`
    // keeps its character. So a value means here what it means to JIMS's own XML parser.
    let special = |b: u8| b == b'&' || (attribute && matches!(b, b'<' | b'\t' | b'\n' | b'\r'));
    let Some(first) = bytes.iter().position(|&b| special(b)) else {
        return Ok(Cow::Borrowed(raw));
    };
    if attribute && let Some(p) = bytes[first..].iter().position(|&b| b == b'<') {
        return Err(Refusal::new(
            ErrorKind::Syntax,
            offset + first + p,
            format!("{} holds a raw '<'; write it as &lt;", place.describe()),
        ));
    }
    let spaces = attribute && bytes[first..].iter().any(|&b| matches!(b, b'\t' | b'\n' | b'\r'));
    let mut out = String::with_capacity(raw.len());
    let Some(amp) = bytes[first..].iter().position(|&b| b == b'&') else {
        push_literal(&mut out, raw, spaces);
        return Ok(Cow::Owned(out));
    };
    let mut rest_start = 0;
    let mut amp = first + amp;
    loop {
        push_literal(&mut out, &raw[rest_start..amp], spaces);
        let after = &raw[amp + 1..];
        let Some(semi) = after.bytes().take(40).position(|b| b == b';') else {
            return Err(Refusal::new(
                ErrorKind::Entity,
                offset + amp,
                format!(
                    "an '&' in {} does not start a complete entity reference (write a literal \
                     '&' as &amp;)",
                    place.describe()
                ),
            ));
        };
        let name = &after[..semi];
        let decoded = match name {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "apos" => '\'',
            "quot" => '"',
            _ => match name.strip_prefix('#') {
                Some(num) => char_reference(num).ok_or_else(|| {
                    let what = if place.secret() {
                        "a character reference".to_owned()
                    } else {
                        format!("the character reference &{name};")
                    };
                    Refusal::new(
                        ErrorKind::Entity,
                        offset + amp,
                        format!("{what} in {} is not a valid character", place.describe()),
                    )
                })?,
                None => {
                    let what = if place.secret() || !is_plain_name(name) {
                        "an unknown entity reference".to_owned()
                    } else {
                        format!("the unknown entity reference &{name};")
                    };
                    return Err(Refusal::new(
                        ErrorKind::Entity,
                        offset + amp,
                        format!("{} holds {what}: {ACCEPTED}", place.describe()),
                    ));
                }
            },
        };
        out.push(decoded);
        rest_start = amp + 1 + semi + 1;
        match raw[rest_start..].bytes().position(|b| b == b'&') {
            Some(p) => amp = rest_start + p,
            None => {
                push_literal(&mut out, &raw[rest_start..], spaces);
                return Ok(Cow::Owned(out));
            }
        }
    }
}

/// Appends the literal text `text` to `out`; with `spaces`, as an attribute value's literal text
/// is read (XML 1.0 §3.3.3): each tab, newline, carriage return or CR LF pair becomes one space.
fn push_literal(out: &mut String, text: &str, spaces: bool) {
    if !spaces {
        out.push_str(text);
        return;
    }
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                chars.next_if_eq(&'\n');
                out.push(' ');
            }
            '\t' | '\n' => out.push(' '),
            c => out.push(c),
        }
    }
}

/// Whether `name` is short and simple enough to be quoted in a message.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The character of a numeric reference body (`65`, `x41`), if it is a valid non-NUL one.
fn char_reference(num: &str) -> Option<char> {
    let (digits, radix) = match num.strip_prefix('x') {
        Some(hex) => (hex, 16),
        None => (num, 10),
    };
    if digits.is_empty() || !digits.bytes().all(|b| (b as char).is_digit(radix)) {
        return None;
    }
    let code = u32::from_str_radix(digits, radix).ok()?;
    char::from_u32(code).filter(|&c| c != '\0')
}

/// Bytes that an attribute value written in double quotes must escape.
const ATTR_ESCAPES: [bool; 256] = table(true);
/// Bytes that text content must escape.
const TEXT_ESCAPES: [bool; 256] = table(false);

const fn table(attribute: bool) -> [bool; 256] {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = true;
        b += 1;
    }
    if !attribute {
        // Newlines and tabs survive in text as they are.
        t[b'\n' as usize] = false;
        t[b'\t' as usize] = false;
    }
    t[b'&' as usize] = true;
    t[b'<' as usize] = true;
    t[b'>' as usize] = true;
    if attribute {
        t[b'"' as usize] = true;
    }
    t
}

/// The length of `value` escaped for a double-quoted attribute value.
pub(crate) fn escaped_attribute_len(value: &str) -> usize {
    escaped_len(value.as_bytes(), &ATTR_ESCAPES)
}

/// The length of `text` escaped for text content.
pub(crate) fn escaped_text_len(text: &str) -> usize {
    escaped_len(text.as_bytes(), &TEXT_ESCAPES)
}

fn escaped_len(bytes: &[u8], table: &[bool; 256]) -> usize {
    let mut extra = 0;
    for &b in bytes {
        if table[b as usize] {
            extra += match b {
                b'&' => 4,
                b'<' | b'>' => 3,
                b'"' => 5,
                // `&#N;` for a control character.
                _ if b >= 10 => 4,
                _ => 3,
            };
        }
    }
    bytes.len() + extra
}

/// Appends `value` escaped for a double-quoted attribute value.
pub(crate) fn escape_attribute(out: &mut Vec<u8>, value: &str) {
    escape_into(out, value.as_bytes(), &ATTR_ESCAPES);
}

/// Appends `text` escaped for text content.
pub(crate) fn escape_text(out: &mut Vec<u8>, text: &str) {
    escape_into(out, text.as_bytes(), &TEXT_ESCAPES);
}

#[inline]
fn escape_into(out: &mut Vec<u8>, bytes: &[u8], table: &[bool; 256]) {
    let mut last = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if table[b as usize] {
            out.extend_from_slice(&bytes[last..i]);
            match b {
                b'&' => out.extend_from_slice(b"&amp;"),
                b'<' => out.extend_from_slice(b"&lt;"),
                b'>' => out.extend_from_slice(b"&gt;"),
                b'"' => out.extend_from_slice(b"&quot;"),
                _ => {
                    // A control character: `&#N;` with N < 32.
                    out.extend_from_slice(b"&#");
                    if b >= 10 {
                        out.push(b'0' + b / 10);
                    }
                    out.push(b'0' + b % 10);
                    out.push(b';');
                }
            }
            last = i + 1;
        }
    }
    out.extend_from_slice(&bytes[last..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    const ATTR: Place<'static> = Place::Attribute { name: "description", secret: false };
    const SECRET: Place<'static> = Place::Attribute { name: "password", secret: true };

    #[test]
    fn decodes_predefined_and_numeric_references() {
        let s = unescape("a&lt;b&gt;&amp;&apos;&quot;&#65;&#x42;&#x1F600;z", 0, ATTR).unwrap();
        assert_eq!(s, "a<b>&'\"AB\u{1F600}z");
        assert!(matches!(unescape("plain", 0, ATTR).unwrap(), Cow::Borrowed("plain")));
    }

    #[test]
    fn refuses_unknown_and_broken_references() {
        let e = unescape("ab&nbsp;", 10, ATTR).unwrap_err();
        assert_eq!(*e.error.kind(), ErrorKind::Entity);
        assert_eq!(e.offset, 12);
        assert!(e.error.message().contains("&nbsp;"), "{}", e.error.message());
        for bad in ["&#0;", "&#xD800;", "&#;", "&#x;", "&#12a;", "&#99999999999;"] {
            let e = unescape(bad, 0, ATTR).unwrap_err();
            assert_eq!(*e.error.kind(), ErrorKind::Entity, "{bad}");
        }
        let e = unescape("a & b", 0, ATTR).unwrap_err();
        assert_eq!(e.offset, 2);
        assert!(e.error.message().contains("&amp;"));
    }

    #[test]
    fn secret_values_are_not_quoted() {
        let e = unescape("hunter&two;", 0, SECRET).unwrap_err();
        assert!(!e.error.message().contains("two"), "{}", e.error.message());
        let e = unescape("x&#99999999;", 0, SECRET).unwrap_err();
        assert!(!e.error.message().contains("9999"), "{}", e.error.message());
    }

    #[test]
    fn refuses_raw_less_than_in_attributes_only() {
        assert_eq!(unescape("a<b", 5, ATTR).unwrap_err().offset, 6);
        let text = Place::Text { name: "x", secret: false };
        assert_eq!(unescape("a>b", 0, text).unwrap(), "a>b");
    }

    #[test]
    fn literal_white_space_in_attribute_values_reads_as_spaces() {
        // As a conforming XML parser (JIMS's own) reads them: one space each, CR LF as one.
        assert_eq!(unescape("a\tb\nc\r\nd\re", 0, ATTR).unwrap(), "a b c d e");
        assert_eq!(unescape("a\n&amp;\r\n", 0, ATTR).unwrap(), "a & ");
        // Character references keep their character, so what the writer escapes comes back.
        assert_eq!(unescape("a&#10;b&#9;c&#13;", 0, ATTR).unwrap(), "a\nb\tc\r");
        // Element text is left as it is.
        let text = Place::Text { name: "x", secret: false };
        assert_eq!(unescape("a\n\tb", 0, text).unwrap(), "a\n\tb");
    }

    #[test]
    fn escapes_attributes_and_text() {
        let mut out = Vec::new();
        escape_attribute(&mut out, "a<&>\"'\n\t\r\u{1}é");
        assert_eq!(out, "a&lt;&amp;&gt;&quot;'&#10;&#9;&#13;&#1;é".as_bytes());
        assert_eq!(escaped_attribute_len("a<&>\"'\n\t\r\u{1}é"), out.len());
        out.clear();
        escape_text(&mut out, "a<&>\"\n\t\r\u{1f}\u{2}");
        assert_eq!(out, b"a&lt;&amp;&gt;\"\n\t&#13;&#31;&#2;");
        assert_eq!(escaped_text_len("a<&>\"\n\t\r\u{1f}\u{2}"), out.len());
    }
}
