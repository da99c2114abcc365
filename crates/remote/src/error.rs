//! The errors of the remote stage. None ever holds a body or a password.

use std::fmt;

use crate::Url;

/// What kind of failure an [`crate::Error`] is.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// A URL that is not `https://HOST[:PORT]`.
    Url,
    /// A fingerprint that is not 32 bytes of hex.
    Pin,
    /// A CA file that cannot be read or holds no certificate.
    CaFile,
    /// No connection could be made (refused, unreachable, unknown host).
    Connect,
    /// The TLS handshake failed or the certificate was not trusted: nothing was sent.
    Tls,
    /// The time limit of a request ran out.
    Timeout,
    /// The connection closed before the server's whole answer.
    Dropped,
    /// The server's answer is not HTTP.
    Protocol,
}

/// An error of the remote stage: a sentence naming the server, never a secret.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error { kind, message: message.into(), source: None }
    }

    pub(crate) fn with_source(
        mut self,
        e: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        self.source = Some(Box::new(e));
        self
    }

    pub(crate) fn io(kind: ErrorKind, url: &Url, what: &str, e: impl fmt::Display) -> Error {
        Error::new(kind, format!("{url}: could not {what}: {e}"))
    }

    pub(crate) fn timeout(url: &Url, what: &str) -> Error {
        Error::new(
            ErrorKind::Timeout,
            format!("{url}: no answer in time while {what} (see --timeout)"),
        )
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
