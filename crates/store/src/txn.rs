//! Changes of several of a managed folder's state files made as one: the key ring and the keys
//! (a rotation, a retirement), re-sealed archives, the remote's records. After a crash at any
//! moment, the next open leaves every one of them as it was or every one as it was to become.
//!
//! A standalone change ([`run`]):
//! 1. writes each new file into `.jims-import/txn/` (created anew, 0700), synced, and the folder
//!    synced;
//! 2. writes `.jims-import/txn.json` (the files, in order, each to replace or to remove) through a
//!    synced temporary file and a rename, and syncs `.jims-import/`: the commit point;
//! 3. applies the entries in order ([`apply`]): a staged file renamed over its state file, a
//!    file to remove unlinked, then every folder changed synced;
//! 4. removes `txn/` and the journal, and syncs `.jims-import/`.
//!
//! [`recover`] finishes a change whose journal is there (step 3 again: every entry is
//! idempotent, a staged file already moved is skipped) and undoes one whose journal is not (its
//! staging folder goes). Changes that ride on a commit (a rotation's new keys) are staged in the
//! commit's staging folder instead and named by its journal; the commit applies them once its
//! switch is made, with the same [`apply`] (see [`crate::commit`]).
//!
//! The order of the entries is the order a lock-free reader may see them in: a key goes into
//! the ring before the file that held it is replaced, and re-sealed archives are in place
//! before the ring lets their old key go, so a reader that reads the key files before the ring
//! always holds every key the values it reads need (see [`crate::keys`]).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::Error;
use crate::fsops;
use crate::layout::StatePaths;

/// The staging folder of a standalone change, in the state folder.
const STAGING: &str = "txn";
/// Its journal, in the state folder.
const JOURNAL: &str = "txn.json";
const JOURNAL_TMP: &str = "txn.json.tmp";

/// One change of a state file.
pub(crate) struct Change {
    /// The file, relative to the state folder (`keyring`, `history/3.tar`…).
    pub(crate) name: String,
    /// Its new bytes and mode; `None`: the file is removed.
    pub(crate) new: Option<(Zeroizing<Vec<u8>>, u32)>,
}

impl Change {
    /// The file `name` replaced by `bytes`, with `mode`.
    pub(crate) fn replace(name: impl Into<String>, bytes: &[u8], mode: u32) -> Change {
        Change { name: name.into(), new: Some((Zeroizing::new(bytes.to_vec()), mode)) }
    }

    /// The file `name` removed (nothing when it is absent).
    pub(crate) fn remove(name: impl Into<String>) -> Change {
        Change { name: name.into(), new: None }
    }
}

/// A journal's entry: which file, and whether it is removed rather than replaced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Entry {
    /// Relative to the state folder.
    pub(crate) name: String,
    /// Removed (else replaced by the staged file).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) remove: bool,
}

/// The journal of a standalone change.
#[derive(Debug, Serialize, Deserialize)]
struct Journal {
    /// A key switch this change makes (the old and the new key's id), for lock-free readers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key_switch: Option<(String, String)>,
    entries: Vec<Entry>,
}

/// State-file changes that ride on a commit, applied once its switch is made.
pub(crate) struct WithCommit {
    /// The server key a rotation switches from and to (ids), for lock-free readers.
    pub(crate) key_switch: Option<(String, String)>,
    /// The changes, in the order they are applied.
    pub(crate) changes: Vec<Change>,
}

/// The staged file of `name` in the staging folder `dir` (`history/3.tar` is `history~3.tar`).
pub(crate) fn staged(dir: &Path, name: &str) -> PathBuf {
    dir.join(name.replace('/', "~"))
}

/// Checks a name read from a journal: a state file, one folder deep at most, nothing that
/// leaves the state folder.
fn check_name(state: &StatePaths, name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.split('/').count() <= 2
        && name.split('/').all(|part| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && part.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        });
    if ok {
        Ok(())
    } else {
        Err(Error::corrupt(
            &state.root,
            format!(
                "an interrupted change's journal names {name:?}, which is no state file; nothing \
                 was changed: remove {JOURNAL} and {STAGING}/ there to keep the state files as \
                 they are"
            ),
        ))
    }
}

/// Writes the new files of `changes` into `dir` (made now; it must not exist), each synced,
/// then the folder; returns the journal's entries.
pub(crate) fn stage(dir: &Path, changes: &[Change]) -> Result<Vec<Entry>, Error> {
    fsops::create_dir(dir, 0o700)?;
    let mut entries = Vec::with_capacity(changes.len());
    for c in changes {
        if let Some((bytes, mode)) = &c.new {
            fsops::write_new_file(&staged(dir, &c.name), bytes, *mode)?;
        }
        entries.push(Entry { name: c.name.clone(), remove: c.new.is_none() });
    }
    fsops::sync_dir(dir)?;
    Ok(entries)
}

/// Applies `entries` from the staging folder `dir`, in order, then syncs every folder they
/// changed. Each entry is idempotent: a staged file already moved into place is skipped, a
/// removed file already gone is fine; so a crash anywhere is finished by applying them again.
pub(crate) fn apply(state: &StatePaths, dir: &Path, entries: &[Entry]) -> Result<(), Error> {
    for e in entries {
        check_name(state, &e.name)?;
    }
    let mut changed: Vec<PathBuf> = Vec::new();
    for e in entries {
        let path = state.root.join(&e.name);
        let folder = path.parent().unwrap_or(&state.root).to_path_buf();
        if e.remove {
            if fsops::lstat(&path)?.is_none() {
                continue;
            }
            fsops::remove_file(&path)?;
        } else {
            let from = staged(dir, &e.name);
            if fsops::lstat(&from)?.is_none() {
                continue;
            }
            fsops::rename(&from, &path)?;
        }
        if !changed.contains(&folder) {
            changed.push(folder);
        }
    }
    for folder in changed {
        fsops::sync_dir(&folder)?;
    }
    Ok(())
}

/// Makes `changes` as one (see the module documentation), `key_switch` saying which server key
/// it makes current, if any. The caller holds the folder's lock.
pub(crate) fn run(
    state: &StatePaths,
    changes: &[Change],
    key_switch: Option<(String, String)>,
) -> Result<(), Error> {
    let dir = state.root.join(STAGING);
    // Under the lock, after the open's recovery: anything here is a dead writer's, undone.
    fsops::remove_tree(&dir)?;
    let staged = stage(&dir, changes).and_then(|entries| {
        let journal = Journal { key_switch, entries };
        let text = serde_json::to_vec(&journal).unwrap_or_default();
        let tmp = state.root.join(JOURNAL_TMP);
        fsops::remove_file(&tmp)?;
        fsops::write_new_file(&tmp, &text, 0o600)?;
        fsops::rename(&tmp, &state.root.join(JOURNAL))?;
        fsops::sync_dir(&state.root)?;
        Ok(journal)
    });
    let journal = match staged {
        Ok(j) => j,
        Err(e) => {
            let _ = recover(state);
            return Err(e);
        }
    };
    apply(state, &dir, &journal.entries)?;
    clean_up(state)
}

fn clean_up(state: &StatePaths) -> Result<(), Error> {
    fsops::remove_tree(&state.root.join(STAGING))?;
    fsops::remove_file(&state.root.join(JOURNAL))?;
    fsops::sync_dir(&state.root)
}

/// Whether a standalone change was interrupted (its journal or staging folder is there).
pub(crate) fn pending(state: &StatePaths) -> Result<bool, Error> {
    for name in [JOURNAL, JOURNAL_TMP, STAGING] {
        if fsops::lstat(&state.root.join(name))?.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The key switch a standalone change under way makes (old and new key id), if any: what a
/// lock-free reader may see half made.
pub(crate) fn key_switch(state: &StatePaths) -> Result<Option<(String, String)>, Error> {
    Ok(read_journal(state)?.and_then(|j| j.key_switch))
}

fn read_journal(state: &StatePaths) -> Result<Option<Journal>, Error> {
    let path = state.root.join(JOURNAL);
    let Some(bytes) = fsops::read_file(&path)? else { return Ok(None) };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        Error::corrupt(&path, format!("an interrupted change's journal is unreadable: {e}"))
    })
}

/// Finishes (its journal is there) or undoes (it is not) an interrupted standalone change.
/// The caller holds the folder's lock. Returns whether there was one.
pub(crate) fn recover(state: &StatePaths) -> Result<bool, Error> {
    if !pending(state)? {
        return Ok(false);
    }
    match read_journal(state)? {
        Some(journal) => apply(state, &state.root.join(STAGING), &journal.entries)?,
        None => fsops::remove_file(&state.root.join(JOURNAL_TMP))?,
    }
    clean_up(state)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder() -> (tempfile::TempDir, StatePaths) {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join(".jims-import");
        std::fs::create_dir_all(root.join("history")).unwrap();
        std::fs::write(root.join("keyring"), "old ring").unwrap();
        std::fs::write(root.join("remote.json"), "record").unwrap();
        std::fs::write(root.join("history/1.tar"), "old archive").unwrap();
        (d, StatePaths::new(root))
    }

    fn read(state: &StatePaths, name: &str) -> Option<String> {
        std::fs::read_to_string(state.root.join(name)).ok()
    }

    fn leftovers(state: &StatePaths) -> bool {
        [STAGING, JOURNAL, JOURNAL_TMP].iter().any(|n| state.root.join(n).exists())
    }

    fn changes() -> Vec<Change> {
        vec![
            Change::replace("history/1.tar", b"new archive", 0o600),
            Change::replace("keyring", b"new ring", 0o600),
            Change::remove("remote.json"),
        ]
    }

    #[test]
    fn a_change_replaces_and_removes_every_file_and_leaves_nothing_behind() {
        use std::os::unix::fs::MetadataExt;
        let (_d, state) = folder();
        run(&state, &changes(), None).unwrap();
        assert_eq!(read(&state, "keyring").as_deref(), Some("new ring"));
        assert_eq!(read(&state, "history/1.tar").as_deref(), Some("new archive"));
        assert_eq!(read(&state, "remote.json"), None);
        let mode = std::fs::metadata(state.root.join("keyring")).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(!leftovers(&state));
        assert!(!pending(&state).unwrap());
        assert!(!recover(&state).unwrap());
    }

    /// Stages `changes` and writes the journal (when `journal`), as `run` does before applying.
    fn interrupted(state: &StatePaths, journal: bool) {
        let entries = stage(&state.root.join(STAGING), &changes()).unwrap();
        if journal {
            let j = Journal { key_switch: Some(("a".into(), "b".into())), entries };
            std::fs::write(state.root.join(JOURNAL), serde_json::to_vec(&j).unwrap()).unwrap();
        }
    }

    #[test]
    fn a_change_interrupted_after_its_journal_is_finished_and_before_it_undone() {
        let (_d, state) = folder();
        interrupted(&state, true);
        assert!(pending(&state).unwrap());
        assert_eq!(key_switch(&state).unwrap(), Some(("a".to_owned(), "b".to_owned())));
        // Interrupted part-way through applying, too: the first entry already in place.
        std::fs::rename(state.root.join("txn/history~1.tar"), state.root.join("history/1.tar"))
            .unwrap();
        assert!(recover(&state).unwrap());
        assert_eq!(read(&state, "keyring").as_deref(), Some("new ring"));
        assert_eq!(read(&state, "history/1.tar").as_deref(), Some("new archive"));
        assert_eq!(read(&state, "remote.json"), None);
        assert!(!leftovers(&state));

        let (_d, state) = folder();
        interrupted(&state, false);
        std::fs::write(state.root.join(JOURNAL_TMP), "{").unwrap();
        assert!(recover(&state).unwrap());
        assert_eq!(read(&state, "keyring").as_deref(), Some("old ring"));
        assert_eq!(read(&state, "history/1.tar").as_deref(), Some("old archive"));
        assert_eq!(read(&state, "remote.json").as_deref(), Some("record"));
        assert!(!leftovers(&state));
    }

    #[test]
    fn applying_again_changes_nothing() {
        let (_d, state) = folder();
        interrupted(&state, true);
        let entries: Vec<Entry> = changes()
            .iter()
            .map(|c| Entry { name: c.name.clone(), remove: c.new.is_none() })
            .collect();
        let dir = state.root.join(STAGING);
        apply(&state, &dir, &entries).unwrap();
        std::fs::write(state.root.join("remote.json"), "a new record since").unwrap();
        apply(&state, &dir, &entries[..2]).unwrap();
        assert_eq!(read(&state, "keyring").as_deref(), Some("new ring"));
        assert_eq!(read(&state, "remote.json").as_deref(), Some("a new record since"));
    }

    #[test]
    fn a_journal_naming_anything_but_a_state_file_is_refused_and_nothing_moves() {
        for bad in ["../cwd/config/x.xml", "/etc/passwd", "a/b/c", "", "history/..", "a\\b", "k y"]
        {
            let (_d, state) = folder();
            std::fs::create_dir(state.root.join(STAGING)).unwrap();
            let j = serde_json::json!({"entries": [{"name": "keyring", "remove": true}, {"name": bad}]});
            std::fs::write(state.root.join(JOURNAL), j.to_string()).unwrap();
            let e = recover(&state).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::Corrupt, "{bad:?}: {e}");
            assert!(e.to_string().contains("txn.json") || e.to_string().contains("journal"), "{e}");
            assert_eq!(read(&state, "keyring").as_deref(), Some("old ring"), "{bad:?}");
        }
        let (_d, state) = folder();
        std::fs::write(state.root.join(JOURNAL), "not json").unwrap();
        let e = recover(&state).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Corrupt);
        assert!(e.to_string().contains("txn.json"), "{e}");
    }
}
