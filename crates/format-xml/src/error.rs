//! The error type of this crate: what failed, and where (file, line, column).

use std::fmt;
use std::path::{Path, PathBuf};

use model::Location;

/// What kind of failure an [`Error`] is.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input is larger than [`crate::MAX_INPUT_BYTES`].
    TooLarge,
    /// The input is not in UTF-8 (a UTF-16 byte order mark, or another declared encoding).
    Encoding,
    /// The input holds a byte sequence that is not valid UTF-8.
    InvalidUtf8,
    /// The input holds a NUL byte or another control character: binary data, not XML text.
    Binary,
    /// The input is not well-formed XML: a tag, comment or element is not closed, an end tag
    /// does not match, a name or an attribute is malformed, or the input is truncated.
    Syntax,
    /// The input holds a DOCTYPE (and with it, possibly, entity declarations).
    Doctype,
    /// An entity reference other than the five predefined ones and numeric character
    /// references, or a malformed reference.
    Entity,
    /// An element carries the same attribute twice.
    DuplicateAttribute,
    /// A `password` or `fswSpi1` attribute or a `<password>` element that is not the secret
    /// field of its item ([`model::misplaced`]), or one in a bundle's header.
    MisplacedSecret,
    /// The writers: an element or attribute name of the model is not a valid XML name
    /// ([`model::name`]), or a value holds a NUL character, which no XML document can hold.
    Unwritable,
    /// Elements are nested deeper than [`crate::MAX_DEPTH`].
    TooDeep,
    /// An element carries more than [`crate::MAX_ATTRIBUTES`] attributes, or an attribute
    /// value or an element's text is longer than [`crate::MAX_VALUE_BYTES`].
    TooBig,
    /// The root element is not the one expected (`jims_export`, or the section's root).
    WrongRoot,
    /// Text or an element where none is allowed (at the top level, in `<jims_export>`, in a
    /// `<section>`, or after the root element).
    UnexpectedContent,
    /// A `<section>` whose `id` is not one of the ten section ids.
    UnknownSection,
    /// A section that appears twice in one bundle.
    DuplicateSection,
    /// A `<section>` element that is malformed: no `id`, another attribute, no root element,
    /// or a wrong or repeated `file` on a transports file.
    InvalidSection,
    /// `format_version` is absent or is not a version this crate reads.
    UnsupportedVersion,
    /// A header attribute (`scope`, `passwords`) has a value that is not allowed.
    InvalidHeader,
    /// A bundle says `scope="full"` but lacks sections.
    MissingSections,
    /// A path that is not one of the section's native files.
    NotNativeFile,
    /// A folder holds no JIMS configuration file at all.
    NoConfiguration,
    /// Reading or writing a file or folder failed.
    Io,
}

/// An error reading or writing XML, a native file or a configuration folder.
///
/// Its `Display` reads `<path>:<line>:<column>: <message>`, each part omitted when unknown.
/// Messages never quote a secret value.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    location: Location,
    message: String,
    source: Option<std::io::Error>,
}

impl Error {
    /// An error with no position.
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error { kind, location: Location::default(), message: message.into(), source: None }
    }

    /// An I/O error about `path`, with its cause.
    pub(crate) fn io(path: &Path, what: &str, source: std::io::Error) -> Error {
        Error {
            kind: ErrorKind::Io,
            location: Location { path: Some(path.to_owned()), ..Location::default() },
            message: format!("{what}: {source}"),
            source: Some(source),
        }
    }

    /// The same error, saying which file it is about.
    #[must_use]
    pub fn with_path(mut self, path: impl Into<PathBuf>) -> Error {
        self.location.path = Some(path.into());
        self
    }

    /// The same error at this 1-based line and column.
    pub(crate) fn at(mut self, line: u64, column: u64) -> Error {
        self.location.line = Some(line);
        self.location.column = Some(column);
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The file the error is about, when known.
    pub fn path(&self) -> Option<&Path> {
        self.location.path()
    }

    /// The 1-based line of the error in its input, when known.
    pub fn line(&self) -> Option<u64> {
        self.location.line
    }

    /// The 1-based column (in characters) of the error in its input, when known.
    pub fn column(&self) -> Option<u64> {
        self.location.column
    }

    /// The message alone, without the path and position.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.location, self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// An error found while parsing, at a byte offset of the input; located (line and column)
/// once, when it leaves the crate.
#[derive(Debug)]
pub(crate) struct Fail {
    pub(crate) kind: ErrorKind,
    pub(crate) offset: usize,
    pub(crate) message: String,
}

impl Fail {
    pub(crate) fn new(kind: ErrorKind, offset: usize, message: impl Into<String>) -> Fail {
        Fail { kind, offset, message: message.into() }
    }

    /// The public error, with the line and column of `offset` in `input`.
    pub(crate) fn locate(self, input: &[u8]) -> Error {
        let (line, column) = line_column(input, self.offset);
        Error::new(self.kind, self.message).at(line, column)
    }
}

/// The 1-based line and column (in characters) of byte `offset` of `input`. A UTF-8 byte order
/// mark at the start is not counted as a character. Works on any bytes, valid UTF-8 or not.
pub(crate) fn line_column(input: &[u8], offset: usize) -> (u64, u64) {
    let offset = offset.min(input.len());
    let before = &input[..offset];
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    let line = before.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    let mut segment = &before[line_start..];
    if line_start == 0 {
        segment = segment.strip_prefix(crate::read::UTF8_BOM).unwrap_or(segment);
    }
    // Count characters: every byte that does not continue a UTF-8 sequence.
    let column = segment.iter().filter(|&&b| b & 0xC0 != 0x80).count() as u64 + 1;
    (line, column)
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
        assert_eq!(line_column(input, 1000), (3, 2));
        assert_eq!(line_column(b"\xEF\xBB\xBF<a>", 3), (1, 1));
    }

    #[test]
    fn display_omits_unknown_parts() {
        let e = Error::new(ErrorKind::Syntax, "bad");
        assert_eq!(e.to_string(), "bad");
        let e = e.at(3, 7);
        assert_eq!(e.to_string(), "3:7: bad");
        let e = e.with_path("x/y.xml");
        assert_eq!(e.to_string(), "x/y.xml:3:7: bad");
        let e = Error::new(ErrorKind::Io, "gone").with_path("f.xml");
        assert_eq!(e.to_string(), "f.xml: gone");
        assert_eq!(e.kind(), &ErrorKind::Io);
        assert_eq!(e.path(), Some(Path::new("f.xml")));
        assert_eq!(e.line(), None);
    }
}
