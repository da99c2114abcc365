//! The tokens of the input: start tags, end tags and text, on quick-xml's borrowing slice
//! reader over an input checked once up front (encoding, UTF-8, no control bytes); comments,
//! processing instructions and the declaration are skipped, a DOCTYPE refused, and quick-xml's
//! errors said in our words.

use model::name::check_xml_name;
use model::read::{ErrorKind, Refusal};
use model::text::quoted;
use model::{Attribute, Element};
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, errors::IllFormedError, errors::SyntaxError};

use super::attributes::read_attributes;

/// Fails on text that is not whitespace where only elements belong; `place` says where
/// (`in <jims_export>`).
pub(super) fn refuse_text(
    raw: &str,
    offset: usize,
    cdata: bool,
    place: &str,
) -> Result<(), Refusal> {
    if cdata || !is_whitespace(raw) {
        let at = raw.bytes().position(|b| !is_ws_byte(b)).unwrap_or(0);
        return Err(Refusal::new(
            ErrorKind::UnexpectedContent,
            offset + at,
            format!("text {place} is not allowed; only elements belong there"),
        ));
    }
    Ok(())
}

/// Whether `b` is XML whitespace (space, tab, newline, carriage return).
pub(super) fn is_ws_byte(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Whether `s` is all XML whitespace.
pub(super) fn is_whitespace(s: &str) -> bool {
    s.bytes().all(is_ws_byte)
}

/// `s` without the XML whitespace around it.
pub(super) fn trim_ws(s: &str) -> &str {
    s.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))
}

/// Checks that the input can be text: encoding, UTF-8, no NUL or control bytes (which no XML
/// document holds). Returns the whole input as a string. The size is checked before.
fn check_input(input: &[u8]) -> Result<&str, Refusal> {
    let decoded = model::read::decode(input);
    // A control byte before the first invalid UTF-8 sequence is the first problem.
    let valid = decoded.as_ref().map_or_else(|r| r.offset, |_| input.len());
    let Some(c) = first_control_byte(&input[..valid]) else { return decoded };
    let byte = input[c];
    if byte == 0 && c < 2 && input.len() >= 2 {
        return Err(Refusal::new(
            ErrorKind::Encoding,
            c,
            "the input holds NUL bytes and looks like UTF-16; only UTF-8 is accepted",
        ));
    }
    let what =
        if byte == 0 { "a NUL byte".to_owned() } else { format!("the control byte 0x{byte:02X}") };
    Err(Refusal::new(
        ErrorKind::Binary,
        c,
        format!("the input holds {what}: it is binary data, not XML text"),
    ))
}

/// The offset of the first byte below 0x20 other than tab, newline and carriage return.
fn first_control_byte(input: &[u8]) -> Option<usize> {
    let bad = |b: u8| (b < 0x20) & (b != b'\t') & (b != b'\n') & (b != b'\r');
    let mut start = 0;
    for chunk in input.chunks(64) {
        // Branch-free test per chunk (vectorises), then find the byte in the rare bad chunk.
        if chunk.iter().fold(false, |acc, &b| acc | bad(b)) {
            return chunk.iter().position(|&b| bad(b)).map(|p| start + p);
        }
        start += chunk.len();
    }
    None
}

/// A token of the input, comments, processing instructions and the declaration skipped.
pub(super) enum Token<'a> {
    /// A start tag (`empty` for `<x/>`), at the offset of its `<`.
    Start { tag: BytesStart<'a>, empty: bool, offset: usize },
    /// An end tag (quick-xml has checked that it matches the open element).
    End,
    /// Text, raw (references not decoded), or the content of a CDATA section.
    Text { raw: &'a str, offset: usize, cdata: bool },
    /// The end of the input, at its offset.
    Eof { offset: usize },
}

/// The tokenizer: quick-xml's slice reader over the checked input.
pub(super) struct Lexer<'a> {
    /// The whole input.
    input: &'a [u8],
    text: &'a str,
    reader: Reader<&'a [u8]>,
    /// Length of the byte order mark skipped: quick-xml's offsets start after it.
    base: usize,
    seen_any: bool,
    /// Scratch space of the tree builder, kept to be reused.
    pub(super) scratch: Vec<Element>,
    /// Scratch space for the attributes of one start tag.
    attributes: Vec<Attribute>,
    /// Scratch space for their names.
    keys: Vec<&'a str>,
}

impl<'a> Lexer<'a> {
    pub(super) fn new(input: &'a [u8]) -> Result<Lexer<'a>, Refusal> {
        let text = check_input(input)?;
        let base = model::read::strip_bom(text).1;
        let mut reader = Reader::from_reader(&input[base..]);
        let config = reader.config_mut();
        config.trim_text(false);
        config.check_end_names = true;
        config.check_comments = false;
        config.expand_empty_elements = false;
        config.allow_unmatched_ends = false;
        // A lone `&` in text reaches `unescape`, which refuses it in this crate's words.
        config.allow_dangling_amp = true;
        Ok(Lexer {
            input,
            text,
            reader,
            base,
            seen_any: false,
            scratch: Vec::new(),
            attributes: Vec::new(),
            keys: Vec::new(),
        })
    }

    /// The whole input.
    pub(super) fn input(&self) -> &'a [u8] {
        self.input
    }

    /// The offset of `s` in the input, when `s` borrows from it.
    fn offset_of(&self, s: &[u8]) -> Option<usize> {
        let off = (s.as_ptr() as usize).checked_sub(self.input.as_ptr() as usize)?;
        (off.checked_add(s.len())? <= self.input.len()).then_some(off)
    }

    /// `s`, which borrows from the input, as text with the input's lifetime, and its offset.
    /// `fallback` is the offset used for an empty `s`.
    fn sub(&self, s: &[u8], fallback: usize) -> Result<(&'a str, usize), Refusal> {
        if s.is_empty() {
            return Ok(("", fallback));
        }
        self.offset_of(s)
            .and_then(|off| Some((self.text.get(off..off + s.len())?, off)))
            .ok_or_else(|| not_in_input(fallback))
    }

    /// The next token.
    pub(super) fn next(&mut self) -> Result<Token<'a>, Refusal> {
        loop {
            let start = self.base + self.reader.buffer_position() as usize;
            let event = match self.reader.read_event() {
                Ok(e) => e,
                Err(e) => return Err(self.xml_error(e)),
            };
            let first = !self.seen_any;
            self.seen_any = true;
            match event {
                Event::Start(tag) => return Ok(Token::Start { tag, empty: false, offset: start }),
                Event::Empty(tag) => return Ok(Token::Start { tag, empty: true, offset: start }),
                Event::End(_) => return Ok(Token::End),
                Event::Text(t) => {
                    let (raw, offset) = self.sub(t.as_bytes(), start)?;
                    if raw.is_empty() {
                        continue;
                    }
                    return Ok(Token::Text { raw, offset, cdata: false });
                }
                Event::CData(c) => {
                    let (raw, offset) = self.sub(c.as_bytes(), start)?;
                    return Ok(Token::Text { raw, offset, cdata: true });
                }
                Event::GeneralRef(_) => {
                    // An entity or character reference in text, `&…;` as written: it is text,
                    // which `unescape` decodes (or refuses) with the rest of the run.
                    let end = self.base + self.reader.buffer_position() as usize;
                    let raw = self.text.get(start..end).ok_or_else(|| not_in_input(start))?;
                    return Ok(Token::Text { raw, offset: start, cdata: false });
                }
                Event::Comment(_) | Event::PI(_) => {}
                Event::Decl(decl) => {
                    if !first {
                        return Err(Refusal::new(
                            ErrorKind::Syntax,
                            start,
                            "an XML declaration (<?xml …?>) may only stand at the very start of \
                             the input",
                        ));
                    }
                    if let Some(Ok(enc)) = decl.encoding()
                        && !enc.eq_ignore_ascii_case("UTF-8")
                    {
                        let shown = enc.as_ref();
                        return Err(Refusal::new(
                            ErrorKind::Encoding,
                            start,
                            format!(
                                "the XML declaration says encoding={}; only UTF-8 is accepted",
                                quoted(shown)
                            ),
                        ));
                    }
                }
                Event::DocType(_) => return Err(doctype(start)),
                Event::Eof => return Ok(Token::Eof { offset: self.input.len() }),
            }
        }
    }

    /// Skips to the root element; fails on text or the end of the input.
    pub(super) fn root(&mut self) -> Result<(BytesStart<'a>, bool, usize), Refusal> {
        loop {
            match self.next()? {
                Token::Start { tag, empty, offset } => return Ok((tag, empty, offset)),
                Token::Text { raw, offset, cdata } => {
                    refuse_text(raw, offset, cdata, "before the root element")?;
                }
                Token::End | Token::Eof { .. } => {
                    return Err(Refusal::new(
                        ErrorKind::Syntax,
                        self.input.len(),
                        "the input holds no XML element",
                    ));
                }
            }
        }
    }

    /// After the root element: only whitespace, comments and processing instructions.
    pub(super) fn finish(&mut self, root: &str) -> Result<(), Refusal> {
        loop {
            match self.next()? {
                Token::Eof { .. } => return Ok(()),
                Token::Text { raw, offset, cdata } => {
                    refuse_text(raw, offset, cdata, &format!("after the end of <{root}>"))?;
                }
                Token::Start { tag, offset, .. } => {
                    let name = self.name_of(&tag, offset)?;
                    return Err(Refusal::new(
                        ErrorKind::UnexpectedContent,
                        offset,
                        format!(
                            "a second root element <{name}> after <{root}>: a document has \
                             exactly one root"
                        ),
                    ));
                }
                Token::End => {
                    return Err(Refusal::new(
                        ErrorKind::Syntax,
                        self.input.len(),
                        "an unmatched end tag",
                    ));
                }
            }
        }
    }

    /// The error for the input ending while `name` (opened at `open`) is not closed.
    pub(super) fn unclosed(&self, name: &str, open: usize, end: usize) -> Refusal {
        let (line, column) = model::read::line_column(self.input, open);
        Refusal::new(
            ErrorKind::Syntax,
            end,
            format!(
                "the input ends before <{name}> (opened at line {line}, column {column}) is \
                 closed: it is truncated or a tag is not closed"
            ),
        )
    }

    /// A quick-xml error, at the position quick-xml reports.
    fn xml_error(&self, e: quick_xml::Error) -> Refusal {
        let at = self.base + self.reader.error_position() as usize;
        let (kind, message) = match e {
            quick_xml::Error::Syntax(s) => match s {
                SyntaxError::UnclosedDoctype => return doctype(at),
                SyntaxError::InvalidBangMarkup => (
                    ErrorKind::Syntax,
                    "'<!' starts neither a comment, a CDATA section nor a DOCTYPE".to_owned(),
                ),
                SyntaxError::UnclosedPI => (
                    ErrorKind::Syntax,
                    "a processing instruction is not closed (no '?>' before the end of the input)"
                        .to_owned(),
                ),
                SyntaxError::UnclosedXmlDecl => (
                    ErrorKind::Syntax,
                    "the XML declaration is not closed (no '?>' before the end of the input)"
                        .to_owned(),
                ),
                SyntaxError::UnclosedComment => (
                    ErrorKind::Syntax,
                    "a comment is not closed (no '-->' before the end of the input)".to_owned(),
                ),
                SyntaxError::UnclosedCData => (
                    ErrorKind::Syntax,
                    "a CDATA section is not closed (no ']]>' before the end of the input)"
                        .to_owned(),
                ),
                SyntaxError::UnclosedTag => (
                    ErrorKind::Syntax,
                    "a tag is not closed (no '>' before the end of the input): the input is \
                     truncated or malformed"
                        .to_owned(),
                ),
                SyntaxError::UnclosedSingleQuotedAttributeValue
                | SyntaxError::UnclosedDoubleQuotedAttributeValue => (
                    ErrorKind::Syntax,
                    "a tag is not closed (an attribute value's quote is not closed before the \
                     end of the input): the input is truncated or malformed"
                        .to_owned(),
                ),
            },
            quick_xml::Error::IllFormed(i) => match i {
                IllFormedError::MissingDoctypeName => return doctype(at),
                IllFormedError::MismatchedEndTag { expected, found } => (
                    ErrorKind::Syntax,
                    format!("the end tag </{found}> does not close the open element <{expected}>"),
                ),
                IllFormedError::UnmatchedEndTag(found) => {
                    (ErrorKind::Syntax, format!("the end tag </{found}> has no matching start tag"))
                }
                IllFormedError::MissingDeclVersion(_) | IllFormedError::UnknownVersion => (
                    ErrorKind::Syntax,
                    "the XML declaration must start with version=\"1.0\"".to_owned(),
                ),
                other => (ErrorKind::Syntax, format!("malformed XML: {other}")),
            },
            other => (ErrorKind::Syntax, format!("malformed XML: {other}")),
        };
        Refusal::new(kind, at, message)
    }

    /// The checked name of a start tag at `offset` (see [`model::name`]).
    pub(super) fn name_of(&self, tag: &BytesStart<'_>, offset: usize) -> Result<&'a str, Refusal> {
        let (name, at) = self.sub(tag.name().as_ref().as_bytes(), offset + 1)?;
        if let Err(why) = check_xml_name(name) {
            return Err(Refusal::new(
                ErrorKind::Syntax,
                at,
                if name.is_empty() {
                    "a tag without an element name".to_owned()
                } else {
                    format!("{} is not a valid element name: {why}", quoted(name))
                },
            ));
        }
        Ok(name)
    }

    /// An element from a start tag at `offset`: its name and attributes, values decoded,
    /// duplicates refused. When `offsets` is given, it receives each attribute's offset.
    pub(super) fn open(
        &mut self,
        tag: &BytesStart<'_>,
        offset: usize,
        offsets: Option<&mut Vec<usize>>,
    ) -> Result<Element, Refusal> {
        let name = self.name_of(tag, offset)?;
        let (raw, raw_at) = self.sub(tag.attributes_raw().as_bytes(), offset + 1 + name.len())?;
        // Attributes are gathered in a reused list, then moved into one allocation of the
        // exact size.
        let mut attributes = std::mem::take(&mut self.attributes);
        let mut keys = std::mem::take(&mut self.keys);
        attributes.clear();
        keys.clear();
        let read = read_attributes(raw, raw_at, name, &mut attributes, &mut keys, offsets);
        let mut exact = Vec::with_capacity(attributes.len());
        exact.append(&mut attributes);
        let element =
            Element { name: name.to_owned(), attributes: exact, children: Vec::new(), text: None };
        self.attributes = attributes;
        self.keys = keys;
        read.map(|()| element)
    }
}

/// A token that does not borrow from the input: it cannot happen with the slice reader, and is
/// an error rather than a panic.
fn not_in_input(at: usize) -> Refusal {
    Refusal::new(ErrorKind::Syntax, at, "internal error: a token is not in the input")
}

/// The refusal of a DOCTYPE at `at`.
fn doctype(at: usize) -> Refusal {
    Refusal::new(ErrorKind::Doctype, at, "DOCTYPE and entity declarations are not accepted")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_bytes_are_found_in_any_chunk() {
        let mut v = vec![b'a'; 200];
        assert_eq!(first_control_byte(&v), None);
        v[130] = 1;
        assert_eq!(first_control_byte(&v), Some(130));
        v[5] = 0;
        assert_eq!(first_control_byte(&v), Some(5));
        assert_eq!(first_control_byte(b"\t\r\n"), None);
    }

    #[test]
    fn a_control_byte_before_invalid_utf8_is_the_first_problem() {
        let r = check_input(b"a\x01b\xFF").unwrap_err();
        assert_eq!((r.error.kind(), r.offset), (&ErrorKind::Binary, 1));
        let r = check_input(b"ab\xFF\x01").unwrap_err();
        assert_eq!((r.error.kind(), r.offset), (&ErrorKind::InvalidUtf8, 2));
        assert_eq!(check_input("\u{feff}<a/>".as_bytes()).unwrap(), "\u{feff}<a/>");
    }
}
