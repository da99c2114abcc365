//! The pipeline's error: its kind (what failed, typed, for a program to act on; the command line
//! maps kinds to the exit codes of docs/cli.md in its one table) and a message that names the
//! file, item or source, never a secret.

use std::path::PathBuf;

use model::Problem;

/// What kind of failure this is; the CLI maps kinds to exit codes in one place (the exit code
/// each kind has there is noted here).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A missing, unreadable or malformed input file (exit 2).
    Input,
    /// Bad usage: a flag combination or value that cannot work (exit 2).
    Usage,
    /// An unknown section, or one the file does not hold (exit 2).
    Selection,
    /// The merged configuration breaks the import rules (exit 2); every problem is listed.
    Invalid(Vec<Problem>),
    /// A wrong source key, or a tampered or corrupt sealed value (exit 2).
    Crypto,
    /// A secret source is wrongly configured (exit 2).
    SourceConfig,
    /// A secret source failed while answering (exit 1).
    SourceFailed,
    /// Another import holds the target (exit 5).
    Busy,
    /// The target is not a managed folder, or not in a state we can use (exit 2).
    Target,
    /// Anything else: I/O and the like (exit 1).
    Io,
    /// A server could not be reached or answered wrongly (`remote fingerprint`) (exit 1).
    Network,
}

/// A pipeline failure: its kind, a message a user can act on, the file it concerns, and the
/// error of the stage it came from ([`std::error::Error::source`]), whose words the message
/// already holds.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    kind: ErrorKind,
    message: String,
    path: Option<PathBuf>,
    #[source]
    cause: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// A new error.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error { kind, message: message.into(), path: None, cause: None }
    }

    /// The same error, naming `path`.
    pub fn with_path(mut self, path: impl Into<PathBuf>) -> Error {
        self.path = Some(path.into());
        self
    }

    /// The same error, caused by `cause` (kept for [`std::error::Error::source`], so a program
    /// embedding the pipeline can look at the stage's own typed error).
    pub fn caused_by(mut self, cause: impl std::error::Error + Send + Sync + 'static) -> Error {
        self.cause = Some(Box::new(cause));
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The file the error concerns, when there is one.
    pub fn path(&self) -> Option<&std::path::Path> {
        self.path.as_deref()
    }
}

impl From<store::Error> for Error {
    fn from(e: store::Error) -> Error {
        let kind = match e.kind() {
            store::ErrorKind::Busy => ErrorKind::Busy,
            store::ErrorKind::NotManaged
            | store::ErrorKind::AlreadyManaged
            | store::ErrorKind::NotFound
            | store::ErrorKind::Symlink
            | store::ErrorKind::Corrupt
            | store::ErrorKind::Parse
            | store::ErrorKind::NoSuchVersion
            | store::ErrorKind::InvalidServerId
            | store::ErrorKind::KeyInUse
            | store::ErrorKind::Unsupported => ErrorKind::Target,
            store::ErrorKind::Tampered => ErrorKind::Crypto,
            store::ErrorKind::Output => ErrorKind::Usage,
            _ => ErrorKind::Io,
        };
        let path = e.path().map(std::path::Path::to_owned);
        let error = Error::new(kind, e.to_string());
        match path {
            Some(p) => error.with_path(p),
            None => error,
        }
        .caused_by(e)
    }
}

impl From<select::Error> for Error {
    fn from(e: select::Error) -> Error {
        Error::new(ErrorKind::Selection, e.to_string()).caused_by(e)
    }
}

impl From<secrets::Error> for Error {
    fn from(e: secrets::Error) -> Error {
        let kind = match e.kind() {
            secrets::ErrorKind::Tampered | secrets::ErrorKind::WrongSourceKey => ErrorKind::Crypto,
            secrets::ErrorKind::SourceConfig => ErrorKind::SourceConfig,
            secrets::ErrorKind::SourceFailed => ErrorKind::SourceFailed,
            _ => ErrorKind::Io,
        };
        Error::new(kind, e.to_string()).caused_by(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stage_s_typed_error_is_kept_as_the_source() {
        let key = crypto::ServerKey::from_bytes(zeroize::Zeroizing::new([7u8; 32]));
        let stage = secrets::check_source_key(&model::Configuration::new(), &key).unwrap_err();
        let shown = stage.to_string();
        let e = Error::from(stage);
        assert_eq!((e.kind(), e.to_string()), (&ErrorKind::Crypto, shown));
        let source = std::error::Error::source(&e).expect("the cause is kept");
        let typed = source.downcast_ref::<secrets::Error>().expect("as the stage's own type");
        assert_eq!(typed.kind(), secrets::ErrorKind::WrongSourceKey);
    }
}
