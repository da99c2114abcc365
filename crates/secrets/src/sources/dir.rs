//! `dir:PATH`: one file per secret key, the key's `/` as folders.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crypto::Secret;
use model::SecretKey;
use zeroize::Zeroizing;

use crate::error::SourceError;
use crate::source::{Answer, Request, SecretSource};
use crate::sources::refused_key;

const KIND: &str = "dir";
/// The largest password file read; anything larger is not a password.
const MAX_SECRET_FILE: u64 = 64 * 1024;

/// Passwords in a folder: the key `event_sources/DC1` is the file `PATH/event_sources/DC1`, its
/// content the password with one trailing newline dropped. An empty file is "not found".
///
/// No key reaches outside PATH: a key part that is empty, `.` or `..`, or a key holding a
/// control character (or, on Windows, `\` or `:`) is refused, and so is a file whose real path
/// (symbolic links resolved) is outside PATH or that is no regular file (a FIFO, a device); a
/// refused key is "not found" and nothing is read.
#[derive(Debug)]
pub struct DirSource {
    root: PathBuf,
}

impl DirSource {
    /// The source reading the folder `path`.
    ///
    /// # Errors
    /// A configuration error when `path` does not exist or is not a folder.
    pub fn open(path: &Path) -> Result<DirSource, SourceError> {
        let root = std::fs::canonicalize(path).map_err(|e| {
            SourceError::config(
                KIND,
                format!(
                    "cannot use the folder {}: {e}; check the path given to --secrets",
                    path.display()
                ),
            )
        })?;
        if !root.is_dir() {
            return Err(SourceError::config(
                KIND,
                format!(
                    "{} is not a folder; dir:PATH takes a folder of secret files",
                    path.display()
                ),
            ));
        }
        Ok(DirSource { root })
    }

    /// The file that holds `key`, or `None` when the key is refused.
    fn path_for(&self, key: &SecretKey) -> Option<PathBuf> {
        if refused_key(key).is_some() {
            return None;
        }
        let mut path = self.root.clone();
        for part in key.as_str().split('/') {
            path.push(part);
        }
        Some(path)
    }
}

impl SecretSource for DirSource {
    fn kind(&self) -> String {
        KIND.into()
    }

    fn lookup(&self, key: &SecretKey, _request: &Request<'_>) -> Result<Answer, SourceError> {
        let Some(path) = self.path_for(key) else { return Ok(Answer::NotFound) };
        let failed = |e: io::Error| {
            SourceError::failed(KIND, format!("cannot read {}: {e}", path.display()))
        };
        let real = match std::fs::canonicalize(&path) {
            Ok(real) => real,
            Err(e)
                if matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory) =>
            {
                return Ok(Answer::NotFound);
            }
            Err(e) => return Err(failed(e)),
        };
        if !real.starts_with(&self.root) || !real.is_file() {
            return Ok(Answer::NotFound);
        }
        let Some(mut secret) = read_secret_file(&real).map_err(failed)? else {
            return Ok(Answer::NotFound);
        };
        secret.trim_one_newline();
        if secret.is_empty() { Ok(Answer::NotFound) } else { Ok(Answer::Found(secret)) }
    }
}

/// Reads a whole small file into a buffer sized once from its length (no reallocation leaves
/// copies of the password behind); `None` when it is no regular file (it was swapped for a
/// FIFO or a device since it was looked at: opened without blocking, then checked).
fn read_secret_file(path: &Path) -> io::Result<Option<Secret>> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file =
        std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Ok(None);
    }
    let len = meta.len();
    if len > MAX_SECRET_FILE {
        return Err(io::Error::other(format!(
            "the file holds {len} bytes, more than the {MAX_SECRET_FILE} a password may have"
        )));
    }
    let mut buf = Zeroizing::new(vec![0u8; len as usize]);
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Some(Secret::copy_from(&buf[..filled])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_key_parts() {
        let d = DirSource { root: PathBuf::from("/r") };
        let p = |k: &str| d.path_for(&SecretKey::from_text(k));
        assert_eq!(p("event_sources/DC1"), Some(PathBuf::from("/r/event_sources/DC1")));
        for bad in ["", "/etc/passwd", "a//b", "a/./b", "../x", "a/..", "a/b\0c", "a/", "a\nb"] {
            assert_eq!(p(bad), None, "{bad:?}");
        }
    }
}
