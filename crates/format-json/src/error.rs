//! The error of reading a JSON bundle: what went wrong, and where (file, line, column, member).

use std::fmt;
use std::path::{Path, PathBuf};

use model::Location;

/// What kind of problem a JSON bundle has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input is larger than [`crate::MAX_INPUT_BYTES`].
    TooLarge,
    /// The input is not valid UTF-8.
    InvalidUtf8,
    /// The input is not well-formed JSON (or ends too early).
    Syntax,
    /// Objects and arrays nest deeper than [`crate::MAX_DEPTH`].
    TooDeep,
    /// A string value longer than [`crate::MAX_VALUE_BYTES`], or an element with more than
    /// [`crate::MAX_ATTRIBUTES`] attributes.
    TooBig,
    /// Well-formed JSON that is not a bundle: the wrong top level, or a value of the wrong type
    /// (a number, boolean or null where a string belongs, …).
    Shape,
    /// A `format_version` other than 1.
    UnsupportedVersion,
    /// A header member that is invalid (`scope`, `passwords`) or repeated.
    InvalidHeader,
    /// A section id (or a `transports` file name) that does not exist.
    UnknownSection,
    /// A section (or a `transports` file) given more than once.
    DuplicateSection,
    /// A bundle whose `scope` is `full` lacks some sections.
    MissingSections,
    /// A member that does not name a valid XML element or attribute ([`model::name`]); from
    /// the writer, a name in the model that is not one.
    InvalidName,
    /// A value that holds a NUL character (`\u0000`), which no XML file can hold.
    NulCharacter,
    /// A `password` or `fswSpi1` member or a `password` element that is not the secret field of
    /// its item ([`model::misplaced`]), or a password in the header.
    MisplacedSecret,
}

/// Why a JSON bundle could not be read, with the file, line and column when known.
///
/// Its `Display` reads `<path>:<line>:<column>: <message>`, each part left out when unknown.
/// Messages never hold a password or any other value of the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    location: Location,
    message: String,
}

impl Error {
    /// A new error with no position.
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error { kind, location: Location::default(), message: message.into() }
    }

    /// This error at `line` and `column` (1-based; 0 means unknown).
    pub(crate) fn at(mut self, line: u64, column: u64) -> Error {
        let path = self.location.path.take();
        // serde_json reports column 0 for a problem at a line's very start: that is column 1.
        self.location = Location { path, ..Location::at(line, column.max(1)) };
        self
    }

    /// This error, naming the file it was read from.
    pub fn with_path(mut self, path: impl Into<PathBuf>) -> Error {
        self.location.path = Some(path.into());
        self
    }

    /// What kind of problem this is.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The file, if [`Error::with_path`] named one.
    pub fn path(&self) -> Option<&Path> {
        self.location.path()
    }

    /// The 1-based line of the problem, when known.
    pub fn line(&self) -> Option<u64> {
        self.location.line
    }

    /// The 1-based column (in bytes) of the problem, when known.
    pub fn column(&self) -> Option<u64> {
        self.location.column
    }

    /// The message alone, without file, line or column.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.location, self.message)
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_omits_unknown_parts() {
        let e = Error::new(ErrorKind::Syntax, "malformed JSON");
        assert_eq!(e.to_string(), "malformed JSON");
        let e = e.at(3, 7);
        assert_eq!(e.to_string(), "3:7: malformed JSON");
        let e = e.with_path("dir/bundle.json");
        assert_eq!(e.to_string(), "dir/bundle.json:3:7: malformed JSON");
        assert_eq!(e.path(), Some(Path::new("dir/bundle.json")));
        assert_eq!((e.line(), e.column()), (Some(3), Some(7)));
        let e = Error::new(ErrorKind::TooLarge, "too big").with_path("b.json");
        assert_eq!(e.to_string(), "b.json: too big");
        assert_eq!(*e.kind(), ErrorKind::TooLarge);
        assert_eq!(Error::new(ErrorKind::Shape, "x").at(0, 0).line(), None);
    }
}
