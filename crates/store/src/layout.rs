//! The layout of a managed folder and how a folder on disk is classified.
//!
//! ```text
//! DIR/cwd/config/*.xml                          the native files (SectionId::native_files)
//! DIR/cwd/system/init/admin_whitelist_static.xml
//! DIR/.jims-import/server.toml                  server id, key id, created time, layout version
//! DIR/.jims-import/server.key                   64 hex digits and a newline, mode 0600
//! DIR/.jims-import/history/N.json              the current version's record (0 is init or
//!                                               adopt; an import into a new folder makes 1)
//! DIR/.jims-import/history/N.tar               each earlier version as it was when replaced:
//!                                               meta.json and cwd/ (a tar archive)
//! (an older jimsctl also left DIR/.jims-import/lock: the lock is now the state folder itself)
//! DIR/.jims-import/audit.log                    one JSON line per version
//! DIR/.jims-import/journal.json                 only while a commit is switching
//! DIR/.jims-import/staging/                     only while a commit is being built
//! DIR/.jims-import/remote.toml                  the folder's live JIMS (push), no password
//! DIR/.jims-import/remote.json                  the last successful push: per native file
//!                                               the version and SHA-256 of what was sent
//! DIR/.jims-import/push.journal                 only while a push is sending
//! DIR/.jims-import/transport.key, keyring       the transport key, the retired keys (keys.rs)
//! DIR/.jims-import/txn.json, txn/               only while several state files change as one
//! ```

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind};
use crate::fsops;
use crate::lock::Lock;

/// The folder of jimsctl's own state.
pub(crate) const STATE_DIR: &str = ".jims-import";
/// The live configuration folder.
pub(crate) const CWD: &str = "cwd";
/// Prefix of a state folder being created in place (a unique suffix follows).
pub(crate) const PARTIAL_PREFIX: &str = ".jims-import.partial-";
/// The layout version written to `server.toml`.
/// 2: the current version's record is `history/N.json`, earlier versions `history/N.tar`
/// archives (1 had a `history/N/` folder for every version).
pub(crate) const LAYOUT_VERSION: u32 = 2;

/// Paths inside a state folder.
#[derive(Clone, Debug)]
pub(crate) struct StatePaths {
    /// The state folder itself (`DIR/.jims-import`, or a partial one being created).
    pub(crate) root: PathBuf,
}

impl StatePaths {
    pub(crate) fn new(root: PathBuf) -> StatePaths {
        StatePaths { root }
    }
    pub(crate) fn server_toml(&self) -> PathBuf {
        self.root.join(crate::server::TOML_FILE)
    }
    pub(crate) fn key(&self) -> PathBuf {
        self.root.join(crate::server::KEY_FILE)
    }
    pub(crate) fn audit(&self) -> PathBuf {
        self.root.join("audit.log")
    }
    pub(crate) fn history(&self) -> PathBuf {
        self.root.join("history")
    }
    /// The archive of version `n`, written when it is replaced.
    pub(crate) fn archive(&self, n: u64) -> PathBuf {
        self.history().join(format!("{n}.tar"))
    }
    /// The record of version `n` while it is current.
    pub(crate) fn record(&self, n: u64) -> PathBuf {
        self.history().join(format!("{n}.json"))
    }
    pub(crate) fn journal(&self) -> PathBuf {
        self.root.join("journal.json")
    }
    pub(crate) fn journal_tmp(&self) -> PathBuf {
        self.root.join("journal.json.tmp")
    }
    pub(crate) fn staging(&self) -> PathBuf {
        self.root.join("staging")
    }
}

/// What a folder on disk is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DirState {
    /// Nothing at that path.
    Missing,
    /// An empty folder (stale partial state folders of dead processes do not count).
    Empty,
    /// A managed folder: it holds `.jims-import/`.
    Managed,
    /// A JIMS folder that is not managed: it holds `cwd/` but no `.jims-import/`.
    Unmanaged,
    /// A folder holding other things.
    Other,
}

/// Classifies `dir`, refusing `dir` itself, `cwd` or `.jims-import` when they are symbolic
/// links.
/// Stale partial state folders (left by a process that died while creating one) are removed;
/// one that is still locked makes the folder [`ErrorKind::Busy`].
///
/// Another process may make the folder a managed one while it is looked at (its
/// `.jims-import` appears, then its `cwd/`): a look that sees either appear part-way through
/// is made again, and a folder that keeps changing is busy.
pub(crate) fn classify(dir: &Path) -> Result<DirState, Error> {
    for _ in 0..3 {
        if let Some(state) = classify_once(dir)? {
            return Ok(state);
        }
    }
    Err(Error::busy(dir))
}

/// One look at `dir` for [`classify`]; `None` when `.jims-import` or `cwd/` appeared during it.
fn classify_once(dir: &Path) -> Result<Option<DirState>, Error> {
    match fs::symlink_metadata(dir) {
        Ok(m) if m.file_type().is_symlink() => {
            return Err(Error::new(
                ErrorKind::Symlink,
                format!(
                    "{} is a symbolic link; jimsctl does not follow it to a server folder \
                     elsewhere: give the real folder's path",
                    dir.display()
                ),
            )
            .at(dir));
        }
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(Error::new(
                ErrorKind::NotManaged,
                format!("{} is a file, not a server folder", dir.display()),
            )
            .at(dir));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Some(DirState::Missing)),
        Err(e) => return Err(Error::io("inspect", dir, e)),
    }
    let state = dir.join(STATE_DIR);
    match fsops::lstat(&state)? {
        Some(m) if m.is_dir() => {
            check_not_symlink(&dir.join(CWD))?;
            return Ok(Some(DirState::Managed));
        }
        Some(_) => return Err(Error::corrupt(&state, "expected a folder, found a file")),
        None => {}
    }
    remove_stale_partials(dir)?;
    if fsops::lstat(&dir.join(CWD))?.is_some() {
        // Another process may have made this empty folder a managed one since `state` was
        // looked at above: it renames its state folder into place before its `cwd/` appears
        // (`create::InPlace::install`, then the switch), so look again.
        if fsops::lstat(&state)?.is_some() {
            return Ok(None);
        }
        return Ok(Some(DirState::Unmanaged));
    }
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| Error::io("list", dir, e))? {
        names.push(entry.map_err(|e| Error::io("list", dir, e))?.file_name());
    }
    if names.is_empty() {
        return Ok(Some(DirState::Empty));
    }
    if names.iter().any(|n| n == STATE_DIR || n == CWD) {
        return Ok(None);
    }
    // Only partial state folders made since the clean-up above: another process is making
    // this folder a managed one right now.
    if names.iter().all(|n| n.to_str().is_some_and(|n| n.starts_with(PARTIAL_PREFIX))) {
        return Err(Error::busy(dir));
    }
    Ok(Some(DirState::Other))
}

/// Errors when `path` is a symbolic link.
pub(crate) fn check_not_symlink(path: &Path) -> Result<(), Error> {
    fsops::lstat(path).map(|_| ())
}

/// Removes partial state folders whose creator has died (their lock is free).
fn remove_stale_partials(dir: &Path) -> Result<(), Error> {
    let entries = fs::read_dir(dir).map_err(|e| Error::io("list", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("list", dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !name.starts_with(PARTIAL_PREFIX) {
            continue;
        }
        let path = entry.path();
        if fsops::lstat(&path)?.is_some_and(|m| m.is_dir()) {
            let lock = match Lock::acquire_folder(&path, dir) {
                Ok(lock) => lock,
                // Gone since it was listed: the process making it renamed it into place
                // (`create::InPlace::install`), or another one removed it. Nothing to clean.
                Err(_) if fsops::lstat(&path)?.is_none() => continue,
                Err(e) => return Err(e),
            };
            if fsops::remove_tree(&path).is_err() {
                // Its maker made it just before we looked and is still at work in it (it will
                // find its lock taken and give up), or another process is removing it too:
                // gone is gone; else another process is making this folder: busy.
                if fsops::lstat(&path)?.is_none() {
                    continue;
                }
                return Err(Error::busy(dir));
            }
            drop(lock);
        }
    }
    Ok(())
}

/// The error for a folder that holds a `cwd/` but is not managed.
pub(crate) fn not_managed_adopt(dir: &Path) -> Error {
    Error::new(
        ErrorKind::NotManaged,
        format!(
            "{} holds a JIMS configuration (cwd/) that jimsctl does not manage yet; \
             take it over with `jimsctl server init --adopt {}`",
            dir.display(),
            dir.display()
        ),
    )
    .at(dir)
}

/// The error for a non-empty folder that is not a server folder at all.
pub(crate) fn not_a_server_folder(dir: &Path) -> Error {
    Error::new(
        ErrorKind::NotManaged,
        format!(
            "{} is not a managed server folder (it has no .jims-import/ and no cwd/) and is not \
             empty; give a new or empty folder, or run `jimsctl server init` on it first",
            dir.display()
        ),
    )
    .at(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_each_kind_of_folder() {
        let base = std::env::temp_dir().join(format!("store-layout-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        fs::create_dir_all(&base).unwrap();
        assert_eq!(classify(&base.join("nope")).unwrap(), DirState::Missing);
        assert_eq!(classify(&base).unwrap(), DirState::Empty);
        fs::create_dir(base.join(CWD)).unwrap();
        assert_eq!(classify(&base).unwrap(), DirState::Unmanaged);
        fs::create_dir(base.join(STATE_DIR)).unwrap();
        assert_eq!(classify(&base).unwrap(), DirState::Managed);
        fs::remove_dir(base.join(STATE_DIR)).unwrap();
        fs::remove_dir(base.join(CWD)).unwrap();
        fs::write(base.join("README"), "x").unwrap();
        assert_eq!(classify(&base).unwrap(), DirState::Other);
        fs::remove_file(base.join("README")).unwrap();
        // A partial state folder whose creator is gone is cleaned away.
        fs::create_dir(base.join(format!("{PARTIAL_PREFIX}dead"))).unwrap();
        assert_eq!(classify(&base).unwrap(), DirState::Empty);
        assert!(!base.join(format!("{PARTIAL_PREFIX}dead")).exists());
        fs::remove_dir_all(&base).unwrap();
    }
}
