//! The store's error: what failed, on which file or folder, and what to do about it.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// What kind of failure an [`Error`] is. The command line maps kinds to exit codes; the
/// codes of docs/cli.md that fit are given with each kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Reading, writing, syncing or renaming a file failed (exit 1).
    Io,
    /// Another process holds the folder's lock, or the folder appeared meanwhile (exit 5).
    Busy,
    /// The folder is not a managed folder: it holds a `cwd/` without `.jims-import/` (adopt it)
    /// or other files (exit 2).
    NotManaged,
    /// `server init` or `adopt` on a folder that is already managed (exit 2).
    AlreadyManaged,
    /// The folder (or, for adopt, its `cwd/`) does not exist (exit 2).
    NotFound,
    /// A path inside the folder is a symbolic link, which the store refuses to follow (exit 2).
    Symlink,
    /// jimsctl's own state (`server.toml`, `server.key`, history, journal) is damaged or
    /// unreadable (exit 2).
    Corrupt,
    /// A native configuration file does not parse (exit 2).
    Parse,
    /// Key generation or sealing failed (exit 1).
    Crypto,
    /// The version asked for is not in the folder's history (exit 2).
    NoSuchVersion,
    /// The server id is not acceptable (exit 2).
    InvalidServerId,
    /// An interrupted commit could not be finished nor undone automatically (exit 1).
    Interrupted,
    /// The folder was written by a newer jimsctl (unknown layout version) (exit 2).
    Unsupported,
    /// A sealed value of the folder does not open with its keys: altered or corrupt (exit 2).
    Tampered,
    /// A key still needed (the current key, or one that seals passwords of a version) cannot
    /// be retired (exit 2).
    KeyInUse,
    /// An output (an export, a converted bundle or folder, a report) cannot go where it was
    /// asked for: inside a managed folder, over something that is not a regular file, or in a
    /// folder that does not exist (exit 2). See [`crate::output`].
    Output,
}

/// An error of the store. Its `Display` is a sentence naming the path; it never holds a
/// secret.
pub struct Error {
    kind: ErrorKind,
    message: String,
    path: Option<PathBuf>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// A new error of `kind` whose message is already a full sentence.
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error { kind, message: message.into(), path: None, source: None }
    }

    /// Attaches the path the error is about (not shown again: the message names it).
    pub(crate) fn at(mut self, path: &Path) -> Error {
        self.path = Some(path.to_path_buf());
        self
    }

    /// Attaches the underlying cause.
    pub(crate) fn caused_by(
        mut self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        self.source = Some(Box::new(source));
        self
    }

    /// An I/O failure: "could not {what} {path}: {err}".
    pub(crate) fn io(what: &str, path: &Path, err: io::Error) -> Error {
        Error::new(ErrorKind::Io, format!("could not {what} {}: {err}", path.display()))
            .at(path)
            .caused_by(err)
    }

    /// The folder is locked by someone else.
    pub(crate) fn busy(dir: &Path) -> Error {
        Error::new(
            ErrorKind::Busy,
            format!(
                "the server folder {} is busy: another jimsctl process holds its lock; \
                 try again when that one has finished",
                dir.display()
            ),
        )
        .at(dir)
    }

    /// A symbolic link where the store expects a real file or folder.
    pub(crate) fn symlink(path: &Path) -> Error {
        Error::new(
            ErrorKind::Symlink,
            format!(
                "{} is a symbolic link; jimsctl does not follow links inside a server folder: \
                 replace it with the real file or folder",
                path.display()
            ),
        )
        .at(path)
    }

    /// Damaged state: "{path}: {what}".
    pub(crate) fn corrupt(path: &Path, what: impl fmt::Display) -> Error {
        Error::new(ErrorKind::Corrupt, format!("{}: {what}", path.display())).at(path)
    }

    /// What kind of error this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The file or folder the error is about, when there is one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("message", &self.message)
            .field("path", &self.path)
            .finish()
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
    fn io_errors_name_the_path_and_keep_the_cause() {
        let e = Error::io(
            "read",
            Path::new("/srv/jims/cwd/config/cache.xml"),
            io::Error::from(io::ErrorKind::PermissionDenied),
        );
        assert_eq!(e.kind(), ErrorKind::Io);
        let shown = e.to_string();
        assert!(shown.starts_with("could not read /srv/jims/cwd/config/cache.xml: "), "{shown}");
        assert!(std::error::Error::source(&e).is_some());
        assert_eq!(e.path(), Some(Path::new("/srv/jims/cwd/config/cache.xml")));
    }

    #[test]
    fn busy_says_what_to_do() {
        let e = Error::busy(Path::new("/srv/jims"));
        assert_eq!(e.kind(), ErrorKind::Busy);
        assert!(e.to_string().contains("try again"));
    }
}
