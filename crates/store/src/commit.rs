//! Building a version and switching it in, atomically for the whole `cwd/` folder, and finishing
//! or undoing a commit that a crash interrupted.
//!
//! A commit of version N, replacing version N−1:
//! 1. builds, in `.jims-import/staging/`, `record.json` (version N's record), `replaced.tar`
//!    (version N−1 as it is now: its record and the live native files, see [`crate::snapshot`])
//!    and `live/` (the new `cwd/`: unchanged files are hard links, changed ones are written with
//!    their mode), everything synced;
//! 2. writes `.jims-import/journal.json` (the version, the fingerprints of the old and the new
//!    native files) through a synced temporary file and a rename;
//! 3. renames `staging/replaced.tar` to `history/N−1.tar` and `staging/record.json` to
//!    `history/N.json`;
//! 4. exchanges `staging/live` with `DIR/cwd` in one `renameat2(RENAME_EXCHANGE)` (the commit
//!    point), or, where the kernel cannot, renames `DIR/cwd` to `staging/old` and `staging/live`
//!    to `DIR/cwd`;
//! 5. syncs `DIR`, puts in place the state files the commit carries (a key rotation's new
//!    `keyring`, `server.key` and `server.toml`, staged in `staging/state/`; see
//!    [`crate::txn`]), appends the audit line, removes `history/N−1.json` (its archive holds it
//!    now), the staging folder and the journal.
//!
//! So the current version has only its record; each earlier version is archived as it was when
//! the next one replaced it (with whatever was edited in `cwd/` meanwhile): a rollback restores
//! exactly what an import replaced, and a new folder writes no archive at all.
//!
//! [`recover`] reads a journal left by a crash and compares the fingerprint of `DIR/cwd`: the new
//! one means the commit happened (finish it), the old one means it did not (undo it).
//!
//! Archives in `history/` never share a file with the live `cwd/` (something editing a live file
//! in place cannot alter history); live versions share unchanged files with each other.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind};
use crate::fsops;
use crate::history::Record;
use crate::layout::{CWD, PARTIAL_PREFIX, StatePaths};
use crate::live::{self, Bytes, Extra, NativeFiles};

/// Mode of a native file written where none existed before.
const NEW_FILE_MODE: u32 = 0o640;
/// Mode of a folder of the live tree made where none existed before.
const NEW_DIR_MODE: u32 = 0o755;
/// Mode of files and folders inside `.jims-import/`.
const PRIVATE_FILE_MODE: u32 = 0o600;
const PRIVATE_DIR_MODE: u32 = 0o700;
/// The replaced version's archive in the staging folder, until it is installed in `history/`.
const STAGED_ARCHIVE: &str = "replaced.tar";
/// The new version's record in the staging folder, until it is installed in `history/`.
const STAGED_RECORD: &str = "record.json";
/// The state files a commit carries (a key rotation's), in the staging folder until the switch
/// is made (so an undone commit leaves none of them behind).
const STAGED_STATE: &str = "state";

/// Where a commit stages the state files it carries.
pub(crate) fn staged_state(state: &StatePaths) -> PathBuf {
    state.staging().join(STAGED_STATE)
}

/// A native file of the new version.
pub(crate) struct NewFile {
    /// Path relative to `cwd/`.
    pub(crate) path: &'static str,
    /// Its exact bytes.
    pub(crate) bytes: Bytes,
}

/// Where a file of a new tree comes from.
enum Src {
    /// A hard link to this existing file.
    Link(PathBuf),
    /// Written from the planned bytes with this mode.
    Write(u32),
}

struct PlannedFile {
    path: &'static str,
    bytes: Bytes,
    live: Src,
}

/// What a new version is made of, decided against the live `cwd/` as it is on disk now.
pub(crate) struct Plan {
    /// The live `cwd/` the plan was made against; extras are linked from it.
    cwd: PathBuf,
    files: Vec<PlannedFile>,
    removed: Vec<&'static str>,
    extras: Vec<Extra>,
    cwd_mode: u32,
    /// Fingerprint of the live native files the plan was made against ([`live::ABSENT`] when
    /// there is no `cwd/`).
    pub(crate) old_fingerprint: String,
    /// The live native files the plan was made against: the replaced version's archive.
    old_files: NativeFiles,
}

impl Plan {
    /// Plans the new `cwd/`: `new_files` are all its native files (any other native file is
    /// removed); a file whose bytes equal the live file's is linked; everything else in `cwd`
    /// (when it exists) is carried over.
    ///
    /// `read` is the live native files when the caller has already read them under the lock it
    /// still holds (they are then not read again).
    pub(crate) fn new(
        cwd: &Path,
        new_files: Vec<NewFile>,
        read: Option<NativeFiles>,
    ) -> Result<Plan, Error> {
        let cwd_meta = fsops::lstat(cwd)?;
        let (live, extras) = match (&cwd_meta, read) {
            (Some(_), Some(read)) => (read, live::extras(cwd)?),
            (Some(_), None) => (live::read_native(cwd)?, live::extras(cwd)?),
            (None, _) => (NativeFiles::new(), Vec::new()),
        };
        let mut files: Vec<PlannedFile> = Vec::with_capacity(new_files.len());
        for nf in new_files {
            let live_src = match live.get(nf.path) {
                Some(old) if **old == *nf.bytes => Src::Link(cwd.join(nf.path)),
                Some(_) => {
                    let meta = fsops::lstat(&cwd.join(nf.path))?;
                    Src::Write(meta.map_or(NEW_FILE_MODE, |m| fsops::mode_of(&m)))
                }
                None => Src::Write(NEW_FILE_MODE),
            };
            files.push(PlannedFile { path: nf.path, bytes: nf.bytes, live: live_src });
        }
        let removed =
            live.keys().filter(|p| !files.iter().any(|f| f.path == **p)).copied().collect();
        Ok(Plan {
            cwd: cwd.to_path_buf(),
            files,
            removed,
            extras,
            cwd_mode: cwd_meta.as_ref().map_or(NEW_DIR_MODE, fsops::mode_of),
            old_fingerprint: match cwd_meta {
                Some(_) => live::fingerprint(&live),
                None => live::ABSENT.to_owned(),
            },
            old_files: live,
        })
    }

    /// Fingerprint of the new native files (only while the bytes are held: before
    /// [`Plan::forget_bytes`]). Computed for a journal only: a new folder placed by one rename
    /// needs none.
    pub(crate) fn fingerprint(&self) -> String {
        live::fingerprint_by(|rel| {
            self.files.iter().find(|f| f.path == rel).map(|f| f.bytes.as_slice())
        })
    }

    /// Drops the planned bytes (once the new trees are built, only the names are needed), so
    /// that a commit waiting in a group holds no file contents.
    pub(crate) fn forget_bytes(&mut self) {
        for f in &mut self.files {
            f.bytes = Bytes::default();
        }
        self.old_files = NativeFiles::new();
    }

    /// Native files the new version writes afresh.
    pub(crate) fn written(&self) -> Vec<&'static str> {
        self.files.iter().filter(|f| matches!(f.live, Src::Write(_))).map(|f| f.path).collect()
    }

    /// Native files the new version keeps (hard links to the live file).
    pub(crate) fn kept(&self) -> Vec<&'static str> {
        self.files.iter().filter(|f| matches!(f.live, Src::Link(_))).map(|f| f.path).collect()
    }

    /// Native files the new version no longer has.
    pub(crate) fn removed(&self) -> Vec<&'static str> {
        self.removed.clone()
    }

    /// Builds the live tree at `root` (which must not exist) and syncs it.
    pub(crate) fn build_live_at(&self, root: &Path) -> Result<(), Error> {
        let mut dirs = vec![root.to_path_buf()];
        fsops::create_dir(root, self.cwd_mode)?;
        for extra in &self.extras {
            match extra {
                Extra::Dir(rel, mode) => {
                    fsops::create_dir(&root.join(rel), *mode)?;
                    dirs.push(root.join(rel));
                }
                Extra::File(rel) => fsops::hard_link(&self.cwd.join(rel), &root.join(rel))?,
                Extra::Symlink(rel) => fsops::copy_symlink(&self.cwd.join(rel), &root.join(rel))?,
            }
        }
        for f in &self.files {
            let path = root.join(f.path);
            ensure_parents(root, f.path, NEW_DIR_MODE, &mut dirs)?;
            match &f.live {
                Src::Link(from) => fsops::hard_link(from, &path)?,
                Src::Write(mode) => fsops::write_new_file(&path, &f.bytes, *mode)?,
            }
        }
        sync_all(&dirs)
    }

    /// Writes the archive of the version being replaced (its `record` and the live native
    /// files the plan was made against) at `path`, which must not exist, and syncs it.
    pub(crate) fn write_replaced(&self, path: &Path, record: &Record) -> Result<(), Error> {
        let files = self.old_files.iter().map(|(rel, bytes)| (*rel, bytes.as_slice()));
        let bytes = crate::snapshot::build(record, files)?;
        fsops::write_new_file(path, &bytes, PRIVATE_FILE_MODE)
    }
}

/// Creates the missing parent folders of `rel` under `root`, remembering them for syncing.
/// `dirs` holds every folder of the tree built so far (the tree is new: nothing else exists).
fn ensure_parents(root: &Path, rel: &str, mode: u32, dirs: &mut Vec<PathBuf>) -> Result<(), Error> {
    let mut path = root.to_path_buf();
    let parts: Vec<&str> = rel.split('/').collect();
    for part in &parts[..parts.len() - 1] {
        path.push(part);
        if !dirs.contains(&path) {
            fsops::create_dir(&path, mode)?;
            dirs.push(path.clone());
        }
    }
    Ok(())
}

fn sync_all(dirs: &[PathBuf]) -> Result<(), Error> {
    for d in dirs {
        fsops::sync_dir(d)?;
    }
    Ok(())
}

/// The journal of a commit in its switching phase.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Journal {
    /// The version the commit makes.
    pub(crate) version: u64,
    /// The commit also created the state folder: undoing it removes `.jims-import/`.
    pub(crate) created: bool,
    /// The version replaced, archived by this commit (none when it creates the folder).
    #[serde(default)]
    pub(crate) replaced: Option<u64>,
    /// The fingerprint of the native files the commit replaces ([`live::ABSENT`]: none).
    pub(crate) old: String,
    /// The fingerprint of the native files the commit makes live.
    pub(crate) new: String,
    audit: String,
    /// A key rotation's new key id: finishing the commit makes it the folder's key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key_switch: Option<String>,
    /// A key rotation's old key id, current until the switch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key_from: Option<String>,
    /// The state files the commit puts in place once switched, in order (staged in
    /// `staging/state/`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    state: Vec<crate::txn::Entry>,
}

impl Journal {
    /// A key rotation's switch: the old and the new key id.
    pub(crate) fn key_switch(&self) -> Option<(&str, &str)> {
        Some((self.key_from.as_deref()?, self.key_switch.as_deref()?))
    }
}

/// The journal of a commit that is switching (or was interrupted while switching), if any.
/// It is written whole through a rename, so it is read whole or not at all.
pub(crate) fn journal(state: &StatePaths) -> Result<Option<Journal>, Error> {
    let path = state.journal();
    let Some(bytes) = fsops::read_file(&path)? else { return Ok(None) };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        Error::corrupt(&path, format!("an interrupted commit's journal is unreadable: {e}"))
    })
}

/// One commit of one version.
pub(crate) struct Commit {
    pub(crate) dir: PathBuf,
    pub(crate) state: StatePaths,
    pub(crate) version: u64,
    pub(crate) record: Record,
    pub(crate) plan: Plan,
    pub(crate) created: bool,
    /// The record of the version this commit replaces, archived by it (`None` when the commit
    /// creates the folder).
    pub(crate) replaced: Option<Record>,
    /// The state files the commit carries (a key rotation's new keys and ring, a retirement's
    /// re-sealed archives and ring), put in place once the switch is made (`None` for every
    /// other commit).
    pub(crate) state_files: Option<crate::txn::WithCommit>,
}

impl Commit {
    fn cwd(&self) -> PathBuf {
        self.dir.join(CWD)
    }

    /// Steps 1–3: build, journal, install the history entry. On failure nothing remains.
    pub(crate) fn prepare(&self) -> Result<(), Error> {
        self.stage()?;
        self.install()
    }

    /// Steps 1–2: build the staging folder and write the journal. On failure nothing remains.
    pub(crate) fn stage(&self) -> Result<(), Error> {
        let staging = self.state.staging();
        let result = (|| {
            fsops::remove_tree(&staging)?;
            fsops::create_dir(&staging, PRIVATE_DIR_MODE)?;
            let entries = match &self.state_files {
                Some(with) => crate::txn::stage(&staged_state(&self.state), &with.changes)?,
                None => Vec::new(),
            };
            crate::history::write_record(&staging.join(STAGED_RECORD), &self.record)?;
            if let Some(replaced) = &self.replaced {
                self.plan.write_replaced(&staging.join(STAGED_ARCHIVE), replaced)?;
            }
            self.plan.build_live_at(&staging.join("live"))?;
            fsops::sync_dir(&staging)?;
            let mut taken = vec![self.state.record(self.version), self.state.archive(self.version)];
            taken.extend(self.replaced.as_ref().map(|r| self.state.archive(r.version)));
            for path in taken {
                if fsops::lstat(&path)?.is_some() {
                    return Err(Error::corrupt(&path, "already exists; the history is damaged"));
                }
            }
            Ok(entries)
        })();
        let entries = match result {
            Ok(entries) => entries,
            Err(e) => {
                let _ = fsops::remove_tree(&staging);
                return Err(e);
            }
        };
        let switch = self.state_files.as_ref().and_then(|w| w.key_switch.clone());
        let journal = Journal {
            version: self.version,
            created: self.created,
            replaced: self.replaced.as_ref().map(|r| r.version),
            old: self.plan.old_fingerprint.clone(),
            new: self.plan.fingerprint(),
            audit: self.record.audit_line(),
            key_from: switch.as_ref().map(|(from, _)| from.clone()),
            key_switch: switch.map(|(_, to)| to),
            state: entries,
        };
        if let Err(e) = write_journal(&self.state, &journal) {
            let _ = fsops::remove_file(&self.state.journal_tmp());
            let _ = fsops::remove_tree(&staging);
            return Err(e);
        }
        Ok(())
    }

    /// Step 3: install the history entry (the journal must be durable first). On failure the
    /// commit is undone.
    pub(crate) fn install(&self) -> Result<(), Error> {
        self.install_steps().inspect_err(|_| {
            let _ = recover(&self.dir, &self.state);
        })
    }

    /// [`Commit::install`] without the undoing on failure (a group undoes outside its deferred
    /// syncs).
    pub(crate) fn install_steps(&self) -> Result<(), Error> {
        let staging = self.state.staging();
        if let Some(replaced) = &self.replaced {
            fsops::rename(&staging.join(STAGED_ARCHIVE), &self.state.archive(replaced.version))?;
        }
        fsops::rename(&staging.join(STAGED_RECORD), &self.state.record(self.version))?;
        fsops::sync_dir(&self.state.history())?;
        fsops::sync_dir(&staging)
    }

    /// Steps 4–5: the switch, then the clean-up. Once the switch is made the commit stands: a
    /// failure to clean up leaves the journal, which the next open finishes.
    pub(crate) fn switch(&self) -> Result<(), Error> {
        self.exchange()?;
        let _ = self.finish();
        Ok(())
    }

    /// Step 4 alone: the switch, the commit point. On failure the commit is undone.
    pub(crate) fn exchange(&self) -> Result<(), Error> {
        self.exchange_steps().inspect_err(|_| {
            // Nothing switched, or the fallback's first rename only: undo (best effort; if
            // this fails too, the journal stays for the next open).
            let _ = recover(&self.dir, &self.state);
        })
    }

    /// [`Commit::exchange`] without the undoing on failure.
    pub(crate) fn exchange_steps(&self) -> Result<(), Error> {
        let staging = self.state.staging();
        let live = staging.join("live");
        let cwd = self.cwd();
        if fsops::lstat(&cwd)?.is_some() {
            if !fsops::exchange(&live, &cwd)? {
                fsops::rename(&cwd, &staging.join("old"))?;
                fsops::rename(&live, &cwd)?;
            }
        } else if let Err(e) = fsops::rename_raw(&live, &cwd) {
            return Err(match e.raw_os_error() {
                Some(libc::EEXIST | libc::ENOTEMPTY) => Error::busy(&self.dir),
                _ => Error::io("rename the new configuration to", &cwd, e),
            });
        }
        Ok(())
    }

    /// Step 5: the clean-up after the switch. A failure leaves the journal, which the next open
    /// finishes.
    pub(crate) fn finish(&self) -> Result<(), Error> {
        fsops::sync_dir(&self.dir)?;
        if let Some(with) = &self.state_files {
            let entries: Vec<crate::txn::Entry> = with
                .changes
                .iter()
                .map(|c| crate::txn::Entry { name: c.name.clone(), remove: c.new.is_none() })
                .collect();
            crate::txn::apply(&self.state, &staged_state(&self.state), &entries)?;
        }
        self.audit()?;
        self.clean_up()
    }

    /// Step 5a: the audit line (the switch must be durable first).
    pub(crate) fn audit(&self) -> Result<(), Error> {
        fsops::append_line(&self.state.audit(), &self.record.audit_line())
    }

    /// Step 5b: the replaced version's record (now in its archive), the staging folder and the
    /// journal go (the audit line must be durable first).
    pub(crate) fn clean_up(&self) -> Result<(), Error> {
        if let Some(replaced) = &self.replaced {
            fsops::remove_file(&self.state.record(replaced.version))?;
            fsops::sync_dir(&self.state.history())?;
        }
        fsops::remove_tree(&self.state.staging())?;
        fsops::remove_file(&self.state.journal())?;
        fsops::sync_dir(&self.state.root)
    }
}

fn write_journal(state: &StatePaths, journal: &Journal) -> Result<(), Error> {
    let text = serde_json::to_string(journal).unwrap_or_default();
    fsops::remove_file(&state.journal_tmp())?;
    fsops::write_new_file(&state.journal_tmp(), text.as_bytes(), PRIVATE_FILE_MODE)?;
    fsops::rename(&state.journal_tmp(), &state.journal())?;
    fsops::sync_dir(&state.root)
}

/// What [`recover`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Recovery {
    /// There was no interrupted commit.
    Nothing,
    /// An interrupted commit had switched: it is finished now.
    Finished,
    /// An interrupted commit had not switched: it is undone.
    Undone,
    /// An interrupted creation was undone: the state folder is gone.
    Removed,
}

/// Whether a recovery is needed: a journal or a staging folder is there.
pub(crate) fn needs_recovery(state: &StatePaths) -> Result<bool, Error> {
    Ok(fsops::lstat(&state.journal())?.is_some()
        || fsops::lstat(&state.journal_tmp())?.is_some()
        || fsops::lstat(&state.staging())?.is_some()
        || crate::txn::pending(state)?)
}

/// Finishes or undoes an interrupted commit (the caller holds the exclusive lock).
pub(crate) fn recover(dir: &Path, state: &StatePaths) -> Result<Recovery, Error> {
    // A change of state files alone (a transport key rotation, a retirement): finished or
    // undone first. It never overlaps a commit, both being made under the lock.
    crate::txn::recover(state)?;
    let journal_path = state.journal();
    let Some(bytes) = fsops::read_file(&journal_path)? else {
        // Interrupted before the journal was complete: only staging to clear away.
        if fsops::lstat(&state.journal_tmp())?.is_some() {
            fsops::remove_file(&state.journal_tmp())?;
        }
        if fsops::lstat(&state.staging())?.is_some() {
            fsops::remove_tree(&state.staging())?;
            fsops::sync_dir(&state.root)?;
            return Ok(Recovery::Undone);
        }
        return Ok(Recovery::Nothing);
    };
    let journal: Journal = serde_json::from_slice(&bytes).map_err(|e| {
        Error::corrupt(&journal_path, format!("an interrupted commit's journal is unreadable: {e}"))
    })?;
    let cwd = dir.join(CWD);
    let staging = state.staging();
    let old_tree = staging.join("old");
    if fsops::lstat(&cwd)?.is_none() && fsops::lstat(&old_tree)?.is_some() {
        // The fallback switch stopped between its two renames.
        fsops::rename(&old_tree, &cwd)?;
        fsops::sync_dir(dir)?;
    }
    let now = live::fingerprint_dir(&cwd)?;
    let record = state.record(journal.version);
    if now == journal.new {
        if fsops::lstat(&record)?.is_none() {
            return Err(interrupted(dir, &journal, "its history entry is missing"));
        }
        if let Some(r) = journal.replaced
            && fsops::lstat(&state.archive(r))?.is_none()
        {
            return Err(interrupted(
                dir,
                &journal,
                "the archive of the version it replaced is missing",
            ));
        }
        fsops::sync_dir(dir)?;
        crate::txn::apply(state, &staged_state(state), &journal.state)?;
        if let (Some(id), true) = (&journal.key_switch, journal.state.is_empty()) {
            // A rotation journaled by an earlier jimsctl: its new key staged alone.
            crate::keys::finish_earlier_rotation(state, id)?;
        }
        if last_line(&state.audit())?.as_deref() != Some(journal.audit.as_str()) {
            fsops::append_line(&state.audit(), &journal.audit)?;
        }
        if let Some(r) = journal.replaced {
            fsops::remove_file(&state.record(r))?;
            fsops::sync_dir(&state.history())?;
        }
        fsops::remove_tree(&staging)?;
        fsops::remove_file(&journal_path)?;
        fsops::sync_dir(&state.root)?;
        Ok(Recovery::Finished)
    } else if now == journal.old {
        if journal.created {
            let away = dir.join(format!("{PARTIAL_PREFIX}{}", fsops::random_suffix()?));
            fsops::rename(&state.root, &away)?;
            fsops::sync_dir(dir)?;
            fsops::remove_tree(&away)?;
            return Ok(Recovery::Removed);
        }
        // The replaced version's archive goes only while its record is still there (it always
        // is before the switch).
        let archive = journal.replaced.map(|r| (state.archive(r), state.record(r)));
        if let Some((archive, its_record)) = archive
            && fsops::lstat(&its_record)?.is_some()
        {
            fsops::remove_file(&archive)?;
        }
        fsops::remove_file(&record)?;
        fsops::sync_dir(&state.history())?;
        fsops::remove_tree(&staging)?;
        fsops::remove_file(&journal_path)?;
        fsops::sync_dir(&state.root)?;
        Ok(Recovery::Undone)
    } else {
        Err(interrupted(dir, &journal, "cwd/ now matches neither the old nor the new version"))
    }
}

fn interrupted(dir: &Path, journal: &Journal, why: &str) -> Error {
    Error::new(
        ErrorKind::Interrupted,
        format!(
            "a commit of version {} in {} was interrupted and cannot be finished or undone \
             automatically: {why}; compare {}/cwd with .jims-import/history/, then remove \
             .jims-import/journal.json",
            journal.version,
            dir.display(),
            dir.display()
        ),
    )
    .at(dir)
}

/// The last line of a file (without its newline), reading at most its last 64 KiB.
fn last_line(path: &Path) -> Result<Option<String>, Error> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("open", path, e)),
    };
    let len = file.metadata().map_err(|e| Error::io("inspect", path, e))?.len();
    let start = len.saturating_sub(64 * 1024);
    file.seek(SeekFrom::Start(start)).map_err(|e| Error::io("read", path, e))?;
    let mut buf = Vec::new();
    file.read_to_end(&mut buf).map_err(|e| Error::io("read", path, e))?;
    let text = String::from_utf8_lossy(&buf);
    Ok(text.trim_end_matches('\n').rsplit('\n').next().map(str::to_owned))
}
