//! The folder's lock: `.jims-import/lock`, a file of its own that no rename ever replaces,
//! locked with `File::try_lock` (exclusive, for imports) or `File::try_lock_shared` (readers).
//! The operating system releases it when the handle is dropped or the process dies, so a
//! killed import never blocks the next one.

use std::fs::{File, OpenOptions, TryLockError};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::error::Error;

/// How a folder is held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// One holder: imports, rollbacks, recovery.
    Exclusive,
    /// Many readers, no writer.
    Shared,
}

/// A held lock; released on drop.
#[derive(Debug)]
pub(crate) struct Lock {
    file: File,
    path: PathBuf,
    mode: Mode,
}

impl Lock {
    /// Locks `path` (created with mode 0600 when absent) without waiting. Someone else holding
    /// it is [`crate::ErrorKind::Busy`] about `dir`.
    ///
    /// A shared lock on a folder that cannot be written (a read-only mount, or a user without
    /// write permission) is taken on the existing lock file opened for reading only, so that
    /// such a folder can still be exported and listed.
    pub(crate) fn acquire(path: &Path, mode: Mode, dir: &Path) -> Result<Lock, Error> {
        let opened = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path);
        let opened = match opened {
            Err(e)
                if mode == Mode::Shared
                    && matches!(e.raw_os_error(), Some(libc::EROFS | libc::EACCES)) =>
            {
                OpenOptions::new()
                    .read(true)
                    .custom_flags(libc::O_NOFOLLOW)
                    .open(path)
                    .map_err(|_| e)
            }
            other => other,
        };
        let file = opened.map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => Error::symlink(path),
            _ => Error::io("open the lock file", path, e),
        })?;
        let result = match mode {
            Mode::Exclusive => file.try_lock(),
            Mode::Shared => file.try_lock_shared(),
        };
        match result {
            Ok(()) => Ok(Lock { file, path: path.to_path_buf(), mode }),
            Err(TryLockError::WouldBlock) => Err(Error::busy(dir)),
            Err(TryLockError::Error(e)) => Err(Error::io("lock", path, e)),
        }
    }

    /// Locks the folder `path` itself (exclusive, without waiting): used on temporary folders
    /// being built, so that a cleaner can tell a live builder from a dead one.
    pub(crate) fn acquire_folder(path: &Path, dir: &Path) -> Result<Lock, Error> {
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_DIRECTORY)
            .open(path)
            .map_err(|e| Error::io("open the folder", path, e))?;
        match file.try_lock() {
            Ok(()) => Ok(Lock { file, path: path.to_path_buf(), mode: Mode::Exclusive }),
            Err(TryLockError::WouldBlock) => Err(Error::busy(dir)),
            Err(TryLockError::Error(e)) => Err(Error::io("lock", path, e)),
        }
    }

    /// The mode held.
    pub(crate) fn mode(&self) -> Mode {
        self.mode
    }

    /// Trades a shared lock for an exclusive one (or back), without waiting. On failure the
    /// lock is released.
    pub(crate) fn relock(self, mode: Mode, dir: &Path) -> Result<Lock, Error> {
        let path = self.path.clone();
        drop(self);
        Lock::acquire(&path, mode, dir)
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Closing the handle releases the lock too; unlocking first makes it immediate even if
        // another handle to the file lives on in this process.
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn exclusive_excludes_and_drop_releases() {
        let d = std::env::temp_dir().join(format!("store-lock-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let p = d.join("lock");
        let first = Lock::acquire(&p, Mode::Exclusive, &d).unwrap();
        let err = Lock::acquire(&p, Mode::Exclusive, &d).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Busy);
        assert_eq!(Lock::acquire(&p, Mode::Shared, &d).unwrap_err().kind(), ErrorKind::Busy);
        drop(first);
        let a = Lock::acquire(&p, Mode::Shared, &d).unwrap();
        let b = Lock::acquire(&p, Mode::Shared, &d).unwrap();
        assert_eq!(Lock::acquire(&p, Mode::Exclusive, &d).unwrap_err().kind(), ErrorKind::Busy);
        drop(b);
        let a = a.relock(Mode::Exclusive, &d).unwrap();
        assert_eq!(a.mode(), Mode::Exclusive);
        drop(a);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
