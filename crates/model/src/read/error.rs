//! The one error of every reader and writer of a configuration: what failed, and where (file,
//! line, column in characters).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::location::Location;

/// What kind of failure an [`Error`] is. Most kinds belong to both readers; a few name what only
/// one format can hold (a DOCTYPE, an entity reference, a JSON value of the wrong type).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input is larger than [`MAX_INPUT_BYTES`](super::MAX_INPUT_BYTES).
    TooLarge,
    /// The input is not in UTF-8 (a UTF-16 byte order mark, NUL bytes that look like UTF-16, or
    /// another encoding declared).
    Encoding,
    /// The input holds a byte sequence that is not valid UTF-8.
    InvalidUtf8,
    /// The input holds a NUL byte or another control character: binary data, not XML text.
    Binary,
    /// The input is not well-formed: a tag, comment or element is not closed, an end tag does
    /// not match, a name or an attribute is malformed (XML), a token is out of place (JSON), or
    /// the input is truncated.
    Syntax,
    /// XML: the input holds a DOCTYPE (and with it, possibly, entity declarations).
    Doctype,
    /// XML: an entity reference other than the five predefined ones and numeric character
    /// references, or a malformed reference.
    Entity,
    /// XML: an element carries the same attribute twice.
    DuplicateAttribute,
    /// A `password` or `fswSpi1` attribute or a `<password>` element that is not the secret
    /// field of its item ([`crate::misplaced`]), or a password in a bundle's header.
    MisplacedSecret,
    /// The XML writers: an element or attribute name of the model is not a valid XML name
    /// ([`crate::name`]), or a value holds a NUL character, which no XML document can hold.
    Unwritable,
    /// Elements (XML) or objects and arrays (JSON) nest deeper than
    /// [`MAX_DEPTH`](super::MAX_DEPTH).
    TooDeep,
    /// An element carries more than [`MAX_ATTRIBUTES`](super::MAX_ATTRIBUTES) attributes, or a
    /// value or an element's text is longer than [`MAX_VALUE_BYTES`](super::MAX_VALUE_BYTES).
    TooBig,
    /// XML: the root element is not the one expected (`jims_export`, or the section's root).
    WrongRoot,
    /// XML: text or an element where none is allowed (at the top level, in `<jims_export>`, in
    /// a `<section>`, or after the root element).
    UnexpectedContent,
    /// A section id, or the name of a `transports` file, that does not exist.
    UnknownSection,
    /// A section, or a `transports` file, given twice in one bundle.
    DuplicateSection,
    /// XML: a `<section>` element that is malformed: no `id`, another attribute, no root
    /// element, or an `<xports>` without its `file`.
    InvalidSection,
    /// `format_version` is absent (XML) or is not a version this jimsctl reads.
    UnsupportedVersion,
    /// A header field is invalid (`scope`, `passwords`, the fields of a sealed bundle) or given
    /// twice (JSON).
    InvalidHeader,
    /// A bundle says its scope is full but lacks sections.
    MissingSections,
    /// A path that is not one of the section's native files.
    NotNativeFile,
    /// A folder holds no JIMS configuration file at all.
    NoConfiguration,
    /// Reading a file or folder failed.
    Io,
    /// JSON: well-formed JSON that is not a bundle: the wrong top level, or a value of the wrong
    /// type (a number, boolean or null where a string belongs, …).
    Shape,
    /// JSON: a member that does not name a valid XML element or attribute ([`crate::name`]);
    /// from the JSON writer, a name in the model that is not one.
    InvalidName,
    /// JSON: a value holds a NUL character (`\u0000`), which no XML file can hold.
    NulCharacter,
}

/// Why a bundle, a native file or a server folder could not be read (or an export not
/// written), with the file, line and column when known.
///
/// Its `Display` reads `<path>:<line>:<column>: <message>`, each part left out when unknown.
/// The column counts characters (not bytes) from 1, in both formats; a UTF-8 byte order mark is
/// not counted. Messages never quote a password or any other value that may be one.
#[derive(Clone, Debug)]
pub struct Error {
    kind: ErrorKind,
    location: Location,
    message: String,
    source: Option<Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// An error with no position.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error { kind, location: Location::default(), message: message.into(), source: None }
    }

    /// The same error at this 1-based line and column (in characters); 0 means unknown.
    #[must_use]
    pub fn at(mut self, line: u64, column: u64) -> Error {
        let path = self.location.path.take();
        self.location = Location { path, ..Location::at(line, column) };
        self
    }

    /// The same error at the character that holds byte `offset` of `input`
    /// ([`line_column`](super::line_column)).
    #[must_use]
    pub fn at_offset(self, input: &[u8], offset: usize) -> Error {
        let (line, column) = super::line_column(input, offset);
        self.at(line, column)
    }

    /// The same error, saying which file it is about.
    #[must_use]
    pub fn with_path(mut self, path: impl Into<PathBuf>) -> Error {
        self.location.path = Some(path.into());
        self
    }

    /// The same error, caused by `source` (an I/O error reading the file, say), which
    /// [`std::error::Error::source`] then returns.
    #[must_use]
    pub fn caused_by(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Error {
        self.source = Some(Arc::new(source));
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

    /// The 1-based column of the error in its line, in characters, when known.
    pub fn column(&self) -> Option<u64> {
        self.location.column
    }

    /// Where the error is: file, line and column, each when known.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The message alone, without the path and position.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// Two errors are equal when they are of the same kind, at the same place, and say the same.
impl PartialEq for Error {
    fn eq(&self, other: &Error) -> bool {
        (self.kind, &self.location, &self.message) == (other.kind, &other.location, &other.message)
    }
}

impl Eq for Error {}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.location, self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_omits_unknown_parts() {
        let e = Error::new(ErrorKind::Syntax, "bad");
        assert_eq!(e.to_string(), "bad");
        let e = e.at(3, 7);
        assert_eq!(e.to_string(), "3:7: bad");
        let e = e.with_path("x/y.xml");
        assert_eq!(e.to_string(), "x/y.xml:3:7: bad");
        assert_eq!((e.line(), e.column()), (Some(3), Some(7)));
        // Setting the position keeps the path.
        assert_eq!(e.at(1, 2).to_string(), "x/y.xml:1:2: bad");
        let e = Error::new(ErrorKind::Io, "gone").with_path("f.xml");
        assert_eq!(e.to_string(), "f.xml: gone");
        assert_eq!(e.kind(), &ErrorKind::Io);
        assert_eq!(e.path(), Some(Path::new("f.xml")));
        assert_eq!(e.line(), None);
        assert_eq!(Error::new(ErrorKind::Shape, "x").at(0, 0).line(), None);
    }

    #[test]
    fn the_cause_is_the_source() {
        use std::error::Error as _;
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
        let e = Error::new(ErrorKind::Io, "cannot read").caused_by(io);
        let source = e.source().expect("a source");
        assert!(source.downcast_ref::<std::io::Error>().is_some());
        // Equality ignores the cause, and a clone keeps it.
        assert_eq!(e.clone(), Error::new(ErrorKind::Io, "cannot read"));
        assert!(e.clone().source().is_some());
    }

    #[test]
    fn at_offset_counts_characters() {
        let input = "a\nxé€<".as_bytes();
        let e = Error::new(ErrorKind::Syntax, "here").at_offset(input, input.len() - 1);
        assert_eq!((e.line(), e.column()), (Some(2), Some(4)));
    }
}
