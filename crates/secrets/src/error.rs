//! The errors of the password-resolution stage: [`Error`] for the stage as a whole and
//! [`SourceError`] for one secret source. Neither ever carries a secret.

use std::fmt;

use model::SecretKey;

/// What kind of failure an [`Error`] is. The command line maps kinds to exit codes (docs/cli.md).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// A sealed value that this target should open does not open: it was altered, moved to
    /// another item or field, or is malformed (exit 2).
    Tampered,
    /// The `--source-key` given matches no sealed value of the export (exit 2).
    WrongSourceKey,
    /// A `--secrets` SPEC that names no known source, or a source whose configuration is wrong:
    /// a missing or malformed file or folder, a program that does not exist (exit 2).
    SourceConfig,
    /// A source failed while answering: a command that crashed or timed out, an unreadable
    /// secret file (exit 1).
    SourceFailed,
    /// Sealing failed (the operating system's random number generator), or a row no longer
    /// points into the configuration it was made from (exit 1).
    Internal,
}

/// An error of the password-resolution stage: a sentence naming the item, field, source or key
/// concerned, never a secret.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// An error of `kind` with this message.
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error { kind, message: message.into(), source: None }
    }

    /// The same error, with its cause.
    pub(crate) fn with_source(
        mut self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        self.source = Some(Box::new(source));
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<SourceError> for Error {
    fn from(e: SourceError) -> Error {
        let kind = match e.kind {
            SourceErrorKind::Config => ErrorKind::SourceConfig,
            SourceErrorKind::Failed => ErrorKind::SourceFailed,
        };
        Error::new(kind, e.to_string()).with_source(e)
    }
}

/// Whether a source is wrongly configured or failed while answering.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceErrorKind {
    /// The source's configuration is wrong: a file or folder that is missing or malformed, a
    /// program that does not exist, an unknown plugin (exit 2).
    Config,
    /// The source failed while answering (exit 1).
    Failed,
}

/// A secret source's error: which source (its kind, e.g. `cmd` or `plugin:vault`), which key
/// it was looking up, and what went wrong. Never holds a secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceError {
    kind: SourceErrorKind,
    source_kind: String,
    key: Option<String>,
    message: String,
}

impl SourceError {
    /// The source `source_kind` is wrongly configured; `message` says how, as a sentence.
    pub fn config(source_kind: impl Into<String>, message: impl Into<String>) -> SourceError {
        SourceError {
            kind: SourceErrorKind::Config,
            source_kind: source_kind.into(),
            key: None,
            message: message.into(),
        }
    }

    /// The source `source_kind` failed while answering; `message` says how, as a sentence.
    pub fn failed(source_kind: impl Into<String>, message: impl Into<String>) -> SourceError {
        SourceError {
            kind: SourceErrorKind::Failed,
            source_kind: source_kind.into(),
            key: None,
            message: message.into(),
        }
    }

    /// The same error, naming the key that was being looked up (kept if one is named already).
    pub fn with_key(mut self, key: &SecretKey) -> SourceError {
        if self.key.is_none() {
            self.key = Some(key.as_str().to_owned());
        }
        self
    }

    /// Configuration or failure.
    pub fn kind(&self) -> SourceErrorKind {
        self.kind
    }

    /// The source's kind, e.g. `file` or `plugin:vault`.
    pub fn source_kind(&self) -> &str {
        &self.source_kind
    }

    /// The key being looked up, when the error arose during a lookup.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// What went wrong, without the source and key.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            SourceErrorKind::Config => "is not usable",
            SourceErrorKind::Failed => "failed",
        };
        write!(f, "secret source `{}` {what}", self.source_kind)?;
        if let Some(key) = &self.key {
            write!(f, " while looking up `{key}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for SourceError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_errors_name_source_and_key() {
        let e = SourceError::failed("cmd", "the program exited with status 2.")
            .with_key(&SecretKey::from_text("event_sources/DC1"))
            .with_key(&SecretKey::from_text("templates/t"));
        assert_eq!(
            e.to_string(),
            "secret source `cmd` failed while looking up `event_sources/DC1`: \
             the program exited with status 2."
        );
        let e: Error = e.into();
        assert_eq!(e.kind(), ErrorKind::SourceFailed);
        assert!(std::error::Error::source(&e).is_some());
        let e: Error = SourceError::config("file", "x").into();
        assert_eq!(e.kind(), ErrorKind::SourceConfig);
        assert_eq!(e.to_string(), "secret source `file` is not usable: x");
    }
}
