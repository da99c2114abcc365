//! The input as a whole: its encoding (UTF-8 only, an optional byte order mark), and the line
//! and column of a byte of it, the one way every reader places its errors.

use super::error::{Error, ErrorKind};

/// The UTF-8 byte order mark, accepted (and skipped) at the start of an input.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// An error found at a byte offset of the input, not yet placed: its line and column are
/// counted once, when it leaves the reader ([`Refusal::locate`]), so that the happy path never
/// counts lines.
#[derive(Debug)]
pub struct Refusal {
    /// The error, without a position.
    pub error: Error,
    /// The byte offset in the input where the problem is.
    pub offset: usize,
}

impl Refusal {
    /// A refusal of this kind at `offset`.
    pub fn new(kind: ErrorKind, offset: usize, message: impl Into<String>) -> Refusal {
        Refusal { error: Error::new(kind, message), offset }
    }

    /// The error, placed at the line and column of `offset` in `input` (the whole input the
    /// offset counts in, byte order mark included).
    pub fn locate(self, input: &[u8]) -> Error {
        self.error.at_offset(input, self.offset)
    }
}

/// The input as text: refuses a UTF-16 byte order mark and any byte sequence that is not
/// UTF-8, at the offset where it starts. The text returned is the whole input, byte order mark
/// included, so that offsets in it are offsets in the input ([`strip_bom`] skips the mark).
pub fn decode(input: &[u8]) -> Result<&str, Refusal> {
    if input.starts_with(b"\xFE\xFF") || input.starts_with(b"\xFF\xFE") {
        return Err(Refusal::new(
            ErrorKind::Encoding,
            0,
            "the input starts with a UTF-16 byte order mark; only UTF-8 is accepted",
        ));
    }
    std::str::from_utf8(input).map_err(|e| {
        Refusal::new(
            ErrorKind::InvalidUtf8,
            e.valid_up_to(),
            "the input is not valid UTF-8 (an invalid byte sequence starts here); only UTF-8 is \
             accepted",
        )
    })
}

/// `text` without its UTF-8 byte order mark, and the length of the mark (0 or 3).
pub fn strip_bom(text: &str) -> (&str, usize) {
    match text.strip_prefix('\u{feff}') {
        Some(rest) => (rest, UTF8_BOM.len()),
        None => (text, 0),
    }
}

/// The 1-based line and column of the character that holds byte `offset` of `input`, the column
/// counted in characters (a byte that continues a UTF-8 sequence belongs to the character it
/// continues). A UTF-8 byte order mark at the start is not counted. Works on any bytes, valid
/// UTF-8 or not; an offset past the end is the end.
pub fn line_column(input: &[u8], offset: usize) -> (u64, u64) {
    let offset = offset.min(input.len());
    let line_start = input[..offset].iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    let offset = char_start(input, offset, line_start);
    let before = &input[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    let mut segment = &before[line_start..];
    if line_start == 0 {
        segment = segment.strip_prefix(UTF8_BOM).unwrap_or(segment);
    }
    let column = segment.iter().filter(|&&b| !is_continuation(b)).count() as u64 + 1;
    (line, column)
}

/// The start of the UTF-8 sequence that holds byte `offset` (not before `floor`): `offset`
/// itself unless it continues a sequence whose lead byte is at most 3 bytes before it.
fn char_start(input: &[u8], offset: usize, floor: usize) -> usize {
    if !input.get(offset).is_some_and(|&b| is_continuation(b)) {
        return offset;
    }
    for back in 1..=3 {
        let Some(start) = offset.checked_sub(back).filter(|&s| s >= floor) else { break };
        let lead = input[start];
        if !is_continuation(lead) {
            let len = match lead {
                0xC0..=0xDF => 2,
                0xE0..=0xEF => 3,
                0xF0..=0xF7 => 4,
                _ => 1,
            };
            return if back < len { start } else { offset };
        }
    }
    offset
}

/// Whether `b` continues a UTF-8 sequence (10xxxxxx).
fn is_continuation(b: u8) -> bool {
    b & 0xC0 == 0x80
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_characters() {
        let input = "ab\ncé€d\nx".as_bytes();
        assert_eq!(line_column(input, 0), (1, 1));
        assert_eq!(line_column(input, 2), (1, 3));
        assert_eq!(line_column(input, 3), (2, 1));
        // 'd' follows c (1 byte), é (2 bytes), € (3 bytes).
        assert_eq!(line_column(input, 9), (2, 4));
        // Inside the € (bytes 6, 7, 8): the € itself.
        assert_eq!(line_column(input, 7), (2, 3));
        assert_eq!(line_column(input, 8), (2, 3));
        assert_eq!(line_column(input, 1000), (3, 2));
        assert_eq!(line_column(b"\xEF\xBB\xBF<a>", 3), (1, 1));
        assert_eq!(line_column(b"\xEF\xBB\xBF<a>", 4), (1, 2));
        assert_eq!(line_column(b"", 0), (1, 1));
        // Bytes that are no UTF-8 count as they come.
        assert_eq!(line_column(b"a\xFF\xFFb", 3), (1, 4));
        // A stray continuation byte is where it is, not in the character before it.
        assert_eq!(line_column(b"ab\x80", 2), (1, 3));
    }

    #[test]
    fn decoding_refuses_utf16_and_invalid_utf8_where_they_start() {
        assert_eq!(decode("\u{feff}é".as_bytes()).unwrap(), "\u{feff}é");
        assert_eq!(strip_bom("\u{feff}é"), ("é", 3));
        assert_eq!(strip_bom("é"), ("é", 0));
        let r = decode(b"\xFF\xFE<\0").unwrap_err();
        assert_eq!((r.error.kind(), r.offset), (&ErrorKind::Encoding, 0));
        let r = decode(b"ab\n\xC3(").unwrap_err();
        assert_eq!((r.error.kind(), r.offset), (&ErrorKind::InvalidUtf8, 3));
        let e = r.locate(b"ab\n\xC3(");
        assert_eq!((e.line(), e.column()), (Some(2), Some(1)));
        assert!(e.message().starts_with("the input is not valid UTF-8"));
    }
}
