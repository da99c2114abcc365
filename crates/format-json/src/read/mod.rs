//! The JSON bundle reader: serde visitors that build the model's types as serde_json parses,
//! with no intermediate `serde_json::Value` tree.
//!
//! Errors found by the visitors are recorded in a [`State`] (kind, message, and the member
//! path, which each enclosing visitor extends as the error travels out); serde_json then
//! supplies the line and the byte column where parsing stopped, which become a line and a
//! column in characters ([`model::read::line_column`], as the XML reader counts them). The
//! rules that are no JSON's own (limits, header fields, section ids, transports files, full
//! scope, passwords outside their field) are [`model::read`]'s, called here.
//!
//! The modules, from the outside in:
//! - [`state`]: what the visitors share, and the checks of every value and element;
//! - [`scalars`]: member names and string values;
//! - [`header`]: `{"jims_export": {…}}` and the header's fields;
//! - [`sections`]: `sections` and the shape of each section;
//! - [`elements`]: a generic element and its members.

#[macro_use]
mod macros;
mod elements;
mod header;
mod scalars;
mod sections;
mod state;

use model::Export;
use model::read::Error;
use serde::de::DeserializeSeed;

use self::header::BundleSeed;
use self::state::State;

/// Reads a JSON bundle into an export.
///
/// Accepts input of at most [`model::read::MAX_INPUT_BYTES`], in UTF-8 (a leading byte-order
/// mark is skipped), nested at most [`model::read::MAX_DEPTH`] levels. Every problem is an
/// [`Error`] with the line and column (in characters) where it was found; values of the wrong
/// type are named by their member path, e.g. `sections.event_sources[3].domain_controller.server`.
/// Never panics on any input.
///
/// The header may leave out any member (a bundle written by hand), `format_version`
/// included; a header member given twice is refused, as XML refuses a repeated attribute.
/// Member names of elements may repeat: each is one more attribute or child, in order. An
/// element's `#children` (an array of one-member objects) adds its children in order, where it
/// stands; it may be given once per element.
pub fn read_bundle(bytes: &[u8]) -> Result<Export, Error> {
    model::read::check_size(bytes.len() as u64)?;
    let (text, bom) =
        model::read::strip_bom(model::read::decode(bytes).map_err(|r| r.locate(bytes))?);
    let state = State::default();
    let mut de = serde_json::Deserializer::from_str(text);
    let result = BundleSeed { st: &state }.deserialize(&mut de).and_then(|export| {
        de.end()?;
        Ok(export)
    });
    result.map_err(|e| {
        let offset = bom + byte_offset(text, e.line(), e.column());
        state.into_error(&e).at_offset(bytes, offset)
    })
}

/// The byte offset in `text` of serde_json's position: the last byte read on 1-based `line`,
/// `column` bytes into it (the line's start when `column` is 0).
fn byte_offset(text: &str, line: usize, column: usize) -> usize {
    let line_start = match line {
        0 | 1 => 0,
        n => text
            .bytes()
            .enumerate()
            .filter(|&(_, b)| b == b'\n')
            .nth(n - 2)
            .map_or(text.len(), |(i, _)| i + 1),
    };
    (line_start + column.saturating_sub(1)).min(text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_json_positions_become_byte_offsets() {
        let text = "{\n  \"é\": 1,\n}";
        assert_eq!(byte_offset(text, 1, 0), 0);
        assert_eq!(byte_offset(text, 1, 1), 0);
        assert_eq!(byte_offset(text, 2, 0), 2);
        // Line 2 is `  "é": 1,`: its 7th byte is the ':' after the two-byte é.
        assert_eq!(&text[byte_offset(text, 2, 7)..][..1], ":");
        assert_eq!(byte_offset(text, 9, 9), text.len());
    }

    #[test]
    fn invalid_utf8_is_placed_in_characters() {
        let e = read_bundle(b"{\n  \"\xC3\xA9\xff").unwrap_err();
        assert_eq!(*e.kind(), model::read::ErrorKind::InvalidUtf8);
        assert_eq!((e.line(), e.column()), (Some(2), Some(5)));
        // A byte order mark is no character.
        let e = read_bundle(b"\xEF\xBB\xBF{\xff").unwrap_err();
        assert_eq!((e.line(), e.column()), (Some(1), Some(2)));
    }
}
