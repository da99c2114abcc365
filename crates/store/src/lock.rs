//! The folder's lock: an exclusive `flock` on the state folder `.jims-import` itself, opened
//! read-only as a folder. Nothing can delete a folder that is not empty, so, unlike a lock
//! file (which a person might remove as "stale", letting a second writer lock a new file while
//! the first still writes), the lock cannot be taken away from its holder. The operating
//! system releases it when the handle is dropped or the process dies, so a killed import never
//! blocks the next one.
//!
//! Only writers lock: an import while it commits, a rollback, the recovery of an interrupted
//! commit, the making of a folder (its temporary folders are locked the same way). Readers
//! take no lock at all (see [`crate::Target::open_read`]).

use std::fs::{File, OpenOptions, TryLockError};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::error::Error;

/// A held lock; released on drop.
#[derive(Debug)]
pub(crate) struct Lock {
    file: File,
}

impl Lock {
    /// Locks the folder `path` (exclusive, without waiting): a managed folder's state folder,
    /// or a temporary folder being built, so that a cleaner can tell a live builder from a dead
    /// one. Someone else holding it is [`crate::ErrorKind::Busy`] about `dir`; a folder that is
    /// gone is [`crate::ErrorKind::Io`] with the cause `NotFound` ([`Lock::vanished`]).
    pub(crate) fn acquire_folder(path: &Path, dir: &Path) -> Result<Lock, Error> {
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_DIRECTORY)
            .open(path)
            .map_err(|e| match e.raw_os_error() {
                Some(libc::ELOOP) => Error::symlink(path),
                _ => Error::io("open the folder", path, e),
            })?;
        match file.try_lock() {
            Ok(()) => Ok(Lock { file }),
            Err(TryLockError::WouldBlock) => Err(Error::busy(dir)),
            Err(TryLockError::Error(e)) => Err(Error::io("lock", path, e)),
        }
    }

    /// Whether `e`, from [`Lock::acquire_folder`], says that the folder is gone.
    pub(crate) fn vanished(e: &Error) -> bool {
        std::error::Error::source(e)
            .and_then(|c| c.downcast_ref::<std::io::Error>())
            .is_some_and(|io| io.kind() == std::io::ErrorKind::NotFound)
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Closing the handle releases the lock too; unlocking first makes it immediate even if
        // another handle to the folder lives on in this process.
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
        std::fs::create_dir_all(d.join("state")).unwrap();
        let p = d.join("state");
        let first = Lock::acquire_folder(&p, &d).unwrap();
        let err = Lock::acquire_folder(&p, &d).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Busy);
        drop(first);
        let again = Lock::acquire_folder(&p, &d).unwrap();
        drop(again);
        let gone = Lock::acquire_folder(&d.join("gone"), &d).unwrap_err();
        assert!(Lock::vanished(&gone), "{gone}");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
