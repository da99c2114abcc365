//! Building a version and switching it in, atomically for the whole `cwd/` folder, and finishing
//! or undoing a commit that a crash interrupted.
//!
//! A commit of version N, replacing version N−1:
//! 1. builds, in `.jims-import/staging/`, `record.json` (version N's record), `version/cwd/`
//!    (the new `cwd/`: unchanged files are hard links to the live ones, changed ones are written
//!    with their mode) and, for each live file the new version keeps, a private copy
//!    `kept.<path>` (from the bytes already read: nothing is read back), everything synced;
//! 2. writes `.jims-import/journal.json` (the version, the fingerprints of the old and the new
//!    native files) through a synced temporary file and a rename;
//! 3. renames `staging/record.json` to `history/N.json`;
//! 4. exchanges `staging/version/cwd` with `DIR/cwd` in one `renameat2(RENAME_EXCHANGE)` (the
//!    commit point), or, where the kernel cannot, renames `DIR/cwd` to `staging/old` and
//!    `staging/version/cwd` to `DIR/cwd`;
//! 5. syncs `DIR`, then keeps the replaced `cwd/` where it is: its shared files are replaced by
//!    their private copies (renames), anything but native files leaves it, and
//!    `staging/version` (now holding it) is renamed to `history/N−1/`, then
//!    `history/N−1.json` into it as `meta.json`; puts in place the state files the commit
//!    carries (a key rotation's new `keyring`, `server.key` and `server.toml`, a retirement's
//!    re-sealed history files, staged in `staging/state/`; see [`crate::txn`]); appends the
//!    audit line; removes the staging folder and the journal.
//!
//! So the current version is the live `cwd/` and its record; each earlier version is the very
//! folder that was live until the next one replaced it (with whatever was edited in it
//! meanwhile): a rollback restores exactly what an import replaced, nothing is read back or
//! copied but the files both versions share, and a new folder keeps no earlier version at all.
//!
//! [`recover`] reads a journal left by a crash and compares the fingerprint of `DIR/cwd`: the new
//! one means the commit happened (finish it), the old one means it did not (undo it). It also
//! finishes or undoes the commits of layout 2, which archived the replaced version as
//! `history/N−1.tar` before the switch.
//!
//! History never shares a file with the live `cwd/`: JIMS, and editors of hard-linked files such
//! as vim, write a file in place, which would alter every version sharing it. Live versions
//! share unchanged files with each other (a file an import does not change keeps its inode).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind};
use crate::fsops::{self, Syncs};
use crate::history::Record;
use crate::layout::{CWD, PARTIAL_PREFIX, StatePaths};
use crate::live::{self, Bytes, Extra, NativeFiles, Stamps};

/// Mode of a native file written where none existed before.
const NEW_FILE_MODE: u32 = 0o640;
/// Mode of a folder of the live tree made where none existed before.
const NEW_DIR_MODE: u32 = 0o755;
/// Mode of files and folders inside `.jims-import/`.
const PRIVATE_FILE_MODE: u32 = 0o600;
const PRIVATE_DIR_MODE: u32 = 0o700;
/// The folder in the staging folder that holds the new `cwd/` until the switch, the replaced one
/// after it, and becomes `history/N−1/`.
const STAGED_VERSION: &str = "version";
/// Where the replaced `cwd/` is between the two renames of a switch without `RENAME_EXCHANGE`.
const STAGED_OLD: &str = "old";
/// The prefix of a private copy in the staging folder of a file the new version keeps.
const KEPT_PREFIX: &str = "kept.";
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
    /// A hard link to the live file (its mode, for the replaced version's private copy).
    Link(u32),
    /// Written from the planned bytes with this mode.
    Write(u32),
}

struct PlannedFile {
    path: &'static str,
    bytes: Bytes,
    live: Src,
}

/// The name in the staging folder of the private copy of `rel` (relative to `cwd/`).
fn kept_name(rel: &str) -> String {
    format!("{KEPT_PREFIX}{}", rel.replace('/', "."))
}

/// The native file whose private copy is named `name`, if any.
fn kept_file(name: &str) -> Option<&'static str> {
    live::native_paths().map(|(_, rel)| rel).find(|rel| kept_name(rel) == name)
}

/// What a new version is made of, decided against the live `cwd/` as it was read.
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
}

impl Plan {
    /// Plans the new `cwd/`: `new_files` are all its native files (any other native file is
    /// removed); a file whose bytes equal the live file's is linked; everything else in `cwd`
    /// (when it exists) is carried over.
    ///
    /// `read` is the live native files and their stamps when the caller has already read them
    /// (and, under the lock it holds, checked that they are still the ones read): they are then
    /// not read again.
    pub(crate) fn new(
        cwd: &Path,
        new_files: Vec<NewFile>,
        read: Option<(NativeFiles, Stamps)>,
    ) -> Result<Plan, Error> {
        let (live, stamps) = match read {
            Some(read) => read,
            None => live::read_native_stamped(cwd)?,
        };
        let extras = match stamps.cwd {
            Some(_) => live::extras(cwd, &stamps)?,
            None => Vec::new(),
        };
        let mode = |rel: &str| stamps.files.get(rel).map_or(NEW_FILE_MODE, |s| s.permissions());
        let mut files: Vec<PlannedFile> = Vec::with_capacity(new_files.len());
        for nf in new_files {
            let live_src = match live.get(nf.path) {
                Some(old) if **old == *nf.bytes => Src::Link(mode(nf.path)),
                _ => Src::Write(mode(nf.path)),
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
            cwd_mode: stamps.cwd.map_or(NEW_DIR_MODE, |s| s.permissions()),
            old_fingerprint: match stamps.cwd {
                Some(_) => live::fingerprint(&live),
                None => live::ABSENT.to_owned(),
            },
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

    /// Builds the live tree at `root` (which must not exist) and syncs it (as `syncs` says).
    pub(crate) fn build_live_at(&self, root: &Path, syncs: Syncs) -> Result<(), Error> {
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
                Src::Link(_) => fsops::hard_link(&self.cwd.join(f.path), &path)?,
                Src::Write(mode) => fsops::write_new_file(&path, &f.bytes, *mode, syncs)?,
            }
        }
        sync_all(&dirs, syncs)
    }

    /// Writes into `staging` a private copy of each live file the new version keeps (linked),
    /// with its mode: what the replaced version's folder holds in their place once the switch is
    /// made, so that it shares no file with the live `cwd/`. From the bytes in hand, which equal
    /// the live file's. (The caller syncs `staging`.)
    fn write_kept(&self, staging: &Path, syncs: Syncs) -> Result<(), Error> {
        for f in &self.files {
            if let Src::Link(mode) = f.live {
                fsops::write_new_file(&staging.join(kept_name(f.path)), &f.bytes, mode, syncs)?;
            }
        }
        Ok(())
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

fn sync_all(dirs: &[PathBuf], syncs: Syncs) -> Result<(), Error> {
    for d in dirs {
        fsops::sync_dir(d, syncs)?;
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
    /// The version replaced, kept in history by this commit (none when it creates the folder).
    #[serde(default)]
    pub(crate) replaced: Option<u64>,
    /// The replaced version is kept as the folder `history/N/` (layout 3), moved there after
    /// the switch; `false` in the journal of a layout 2 commit, which installed its archive
    /// `history/N.tar` before the switch.
    #[serde(default)]
    pub(crate) keeps: bool,
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
    /// The version this commit replaces, kept in history by it (`None` when the commit creates
    /// the folder).
    pub(crate) replaced: Option<u64>,
    /// The state files the commit carries (a key rotation's new keys and ring, a retirement's
    /// re-sealed history files and ring), put in place once the switch is made and the replaced
    /// version kept (`None` for every other commit).
    pub(crate) state_files: Option<crate::txn::WithCommit>,
    /// `server.toml` says an older layout: the first version folder upgrades it.
    pub(crate) upgrade: bool,
    /// The switch was made by two renames (no `RENAME_EXCHANGE`).
    pub(crate) fell_back: std::cell::Cell<bool>,
    /// Whether its steps sync as they go, or leave it to its group's `syncfs`.
    pub(crate) syncs: Syncs,
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
            crate::history::write_record(&staging.join(STAGED_RECORD), &self.record, self.syncs)?;
            let version = staging.join(STAGED_VERSION);
            fsops::create_dir(&version, PRIVATE_DIR_MODE)?;
            self.plan.build_live_at(&version.join(CWD), self.syncs)?;
            fsops::sync_dir(&version, self.syncs)?;
            if self.replaced.is_some() {
                self.plan.write_kept(&staging, self.syncs)?;
            }
            fsops::sync_dir(&staging, self.syncs)?;
            // Nothing the commit renames into `history/` may be there already.
            let mut taken = vec![self.state.record(self.version)];
            if let Some(n) = self.replaced {
                taken.extend([self.state.version_dir(n), self.state.archive(n)]);
            }
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
            replaced: self.replaced,
            keeps: true,
            old: self.plan.old_fingerprint.clone(),
            new: self.plan.fingerprint(),
            audit: self.record.audit_line(),
            key_from: switch.as_ref().map(|(from, _)| from.clone()),
            key_switch: switch.map(|(_, to)| to),
            state: entries,
        };
        if let Err(e) = write_journal(&self.state, &journal, self.syncs) {
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
        fsops::rename(&staging.join(STAGED_RECORD), &self.state.record(self.version))?;
        fsops::sync_dir(&self.state.history(), self.syncs)?;
        fsops::sync_dir(&staging, self.syncs)
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
        let live = staging.join(STAGED_VERSION).join(CWD);
        let cwd = self.cwd();
        if fsops::lstat(&cwd)?.is_some() {
            if !fsops::exchange(&live, &cwd)? {
                self.fell_back.set(true);
                fsops::rename(&cwd, &staging.join(STAGED_OLD))?;
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
        fsops::sync_dir(&self.dir, self.syncs)?;
        self.keep()?;
        self.audit()?;
        self.clean_up()
    }

    /// Step 5a: the replaced version kept as `history/N−1/`, then the state files the commit
    /// carries put in place (some may be files of that version: a retirement's re-sealed ones)
    /// (the switch must be durable first).
    pub(crate) fn keep(&self) -> Result<(), Error> {
        if let Some(n) = self.replaced {
            let kept = self.plan.kept();
            let known =
                Known { kept: &kept, extras: &self.plan.extras, fell_back: self.fell_back.get() };
            keep_replaced(&self.state, n, Some(known), self.syncs)?;
        }
        if let Some(with) = &self.state_files {
            let entries: Vec<crate::txn::Entry> = with
                .changes
                .iter()
                .map(|c| crate::txn::Entry { name: c.name.clone(), remove: c.new.is_none() })
                .collect();
            crate::txn::apply(&self.state, &staged_state(&self.state), &entries)?;
        }
        if self.upgrade {
            // After the state files: a rotation's `server.toml` says the layout it was read at.
            crate::server::upgrade_layout(&self.state)?;
        }
        Ok(())
    }

    /// Step 5b: the audit line (the switch must be durable first).
    pub(crate) fn audit(&self) -> Result<(), Error> {
        fsops::append_line(&self.state.audit(), &self.record.audit_line(), self.syncs)
    }

    /// Step 5c: the staging folder and the journal go (the audit line must be durable first).
    pub(crate) fn clean_up(&self) -> Result<(), Error> {
        fsops::remove_dir_or_tree(&self.state.staging())?;
        fsops::remove_file(&self.state.journal())?;
        fsops::sync_dir(&self.state.root, self.syncs)
    }
}

/// Keeps the `cwd/` that a commit replaced, version `n`, as `history/N/`, once the switch is
/// durable: the replaced tree, in `staging/version/cwd` (or `staging/old` after a switch by two
/// renames), gets the private copies `staging/kept.*` in place of the files it shares with the
/// live `cwd/`, loses everything but native files, and `staging/version` is renamed to
/// `history/N/`; then `history/N.json` is moved into it as `meta.json`.
///
/// Every step can be done again: a commit does them knowing what it kept (`kept`) and carried
/// over (`extras`); the recovery of an interrupted one (`None`) finds out from the folders. Each
/// folder is synced before any later step could make the step after it durable first.
fn keep_replaced(
    state: &StatePaths,
    n: u64,
    known: Option<Known<'_>>,
    syncs: Syncs,
) -> Result<(), Error> {
    let staging = state.staging();
    let version = staging.join(STAGED_VERSION);
    let into = state.version_dir(n);
    let (kept, extras) = match &known {
        Some(k) => (Some(k.kept), Some(k.extras)),
        None => (None, None),
    };
    if known.is_some() || fsops::lstat(&version)?.is_some() {
        let old_tree = version.join(CWD);
        let fallback = staging.join(STAGED_OLD);
        let fell_back = match &known {
            Some(k) => k.fell_back,
            None => fsops::lstat(&fallback)?.is_some() && fsops::lstat(&old_tree)?.is_none(),
        };
        if fell_back {
            fsops::rename(&fallback, &old_tree)?;
            fsops::sync_dir(&version, syncs)?;
        }
        let found;
        let kept = match kept {
            Some(k) => k,
            None => {
                found = staged_copies(&staging)?;
                &found
            }
        };
        let mut touched: Vec<PathBuf> = Vec::new();
        for rel in kept {
            let to = old_tree.join(rel);
            fsops::rename(&staging.join(kept_name(rel)), &to)?;
            let parent = to.parent().unwrap_or(&old_tree).to_path_buf();
            if !touched.contains(&parent) {
                touched.push(parent);
            }
        }
        let found;
        let extras = match extras {
            Some(e) => e,
            None => {
                found = live::extras(&old_tree, &Stamps::default())?;
                &found
            }
        };
        // Deepest first: a folder's contents are listed after it. The folders of the native
        // files stay.
        let mut gone: Vec<PathBuf> = Vec::new();
        for extra in extras.iter().rev() {
            let path = match extra {
                Extra::Dir(rel, _) if live::holds_native(rel) => continue,
                Extra::Dir(rel, _) => {
                    let path = old_tree.join(rel);
                    fsops::remove_tree(&path)?;
                    gone.push(path.clone());
                    path
                }
                Extra::File(rel) | Extra::Symlink(rel) => {
                    let path = old_tree.join(rel);
                    fsops::remove_file(&path)?;
                    path
                }
            };
            let parent = path.parent().unwrap_or(&old_tree).to_path_buf();
            if !touched.contains(&parent) {
                touched.push(parent);
            }
        }
        for dir in touched.iter().filter(|d| !gone.iter().any(|g| d.starts_with(g))) {
            fsops::sync_dir(dir, syncs)?;
        }
        fsops::rename(&version, &into)?;
        fsops::sync_dir(&state.history(), syncs)?;
    }
    let record = state.record(n);
    if kept.is_none() && fsops::lstat(&record)?.is_none() {
        return Ok(());
    }
    let meta = into.join(crate::history::META);
    if kept.is_none() && fsops::lstat(&meta)?.is_some() {
        // Renamed already, and the old name came back (a power cut before `history/` was
        // synced): the same file under two names.
        fsops::remove_file(&record)?;
    } else {
        fsops::rename(&record, &meta)?;
        fsops::sync_dir(&into, syncs)?;
    }
    fsops::sync_dir(&state.history(), syncs)
}

/// The replaced `cwd/` of a commit that has switched but not yet moved it into `history/`
/// (another process's, read without a lock): its native files and where they were read, or
/// `None` when it is not (or no longer) in the staging folder, or moved while it was read.
pub(crate) fn replaced_tree(state: &StatePaths) -> Result<Option<(NativeFiles, PathBuf)>, Error> {
    let staging = state.staging();
    for tree in [staging.join(STAGED_VERSION).join(CWD), staging.join(STAGED_OLD)] {
        let read = live::read_native_stamped(&tree);
        let still = fsops::lstat(&tree)?.map(|m| live::Stamp::of(&m));
        match read {
            Ok((files, stamps)) if stamps.cwd.is_some() && still == stamps.cwd => {
                return Ok(Some((files, tree)));
            }
            // A file renamed away under the reader: the tree is on the move.
            Ok(_) | Err(_) => {}
        }
    }
    Ok(None)
}

/// What a commit knows of the replaced tree it keeps (a recovery finds it out from the folders).
struct Known<'a> {
    /// The files the new version kept, whose private copies are in the staging folder.
    kept: &'a [&'static str],
    /// What else the replaced `cwd/` holds.
    extras: &'a [Extra],
    /// The switch was made by two renames: the replaced `cwd/` is `staging/old`.
    fell_back: bool,
}

/// The native files whose private copies are in `staging` (an interrupted commit's).
fn staged_copies(staging: &Path) -> Result<Vec<&'static str>, Error> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(staging).map_err(|e| Error::io("list", staging, e))? {
        let entry = entry.map_err(|e| Error::io("list", staging, e))?;
        if let Some(rel) = entry.file_name().to_str().and_then(kept_file) {
            out.push(rel);
        }
    }
    Ok(out)
}

fn write_journal(state: &StatePaths, journal: &Journal, syncs: Syncs) -> Result<(), Error> {
    let text = serde_json::to_string(journal).unwrap_or_default();
    fsops::remove_file(&state.journal_tmp())?;
    fsops::write_new_file(&state.journal_tmp(), text.as_bytes(), PRIVATE_FILE_MODE, syncs)?;
    fsops::rename(&state.journal_tmp(), &state.journal())?;
    fsops::sync_dir(&state.root, syncs)
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

/// Whether a recovery is needed: a journal or a staging folder is there (a temporary journal
/// is only ever there with the staging folder).
pub(crate) fn needs_recovery(state: &StatePaths) -> Result<bool, Error> {
    Ok(fsops::lstat(&state.staging())?.is_some()
        || fsops::lstat(&state.journal())?.is_some()
        || crate::txn::pending(state)?)
}

/// Finishes or undoes an interrupted commit (the caller holds the exclusive lock).
pub(crate) fn recover(dir: &Path, state: &StatePaths) -> Result<Recovery, Error> {
    // A change of state files alone (a transport key rotation, a retirement): finished or
    // undone first. It never overlaps a commit, both being made under the lock.
    crate::txn::recover(state)?;
    let journal_path = state.journal();
    let Some(bytes) = fsops::read_file(&journal_path)? else {
        // Interrupted before the journal was complete: only staging to clear away. (A
        // temporary journal is only ever written while the staging folder is there, and that
        // goes last.)
        if fsops::lstat(&state.staging())?.is_none() {
            return Ok(Recovery::Nothing);
        }
        fsops::remove_file(&state.journal_tmp())?;
        fsops::remove_tree(&state.staging())?;
        fsops::sync_dir(&state.root, Syncs::Now)?;
        return Ok(Recovery::Undone);
    };
    let journal: Journal = serde_json::from_slice(&bytes).map_err(|e| {
        Error::corrupt(&journal_path, format!("an interrupted commit's journal is unreadable: {e}"))
    })?;
    let cwd = dir.join(CWD);
    let staging = state.staging();
    let old_tree = staging.join(STAGED_OLD);
    if fsops::lstat(&cwd)?.is_none() && fsops::lstat(&old_tree)?.is_some() {
        // The fallback switch stopped between its two renames.
        fsops::rename(&old_tree, &cwd)?;
        fsops::sync_dir(dir, Syncs::Now)?;
    }
    let now = live::fingerprint_dir(&cwd)?;
    let record = state.record(journal.version);
    if now == journal.new {
        if fsops::lstat(&record)?.is_none() {
            return Err(interrupted(dir, &journal, "its history entry is missing"));
        }
        if let Some(r) = journal.replaced {
            let kept_somewhere = if journal.keeps {
                fsops::lstat(&state.version_dir(r))?.is_some()
                    || fsops::lstat(&staging.join(STAGED_VERSION))?.is_some()
            } else {
                fsops::lstat(&state.archive(r))?.is_some()
            };
            if !kept_somewhere {
                return Err(interrupted(
                    dir,
                    &journal,
                    "the version it replaced is missing from the history",
                ));
            }
        }
        fsops::sync_dir(dir, Syncs::Now)?;
        match journal.replaced {
            Some(r) if journal.keeps => keep_replaced(state, r, None, Syncs::Now)?,
            Some(r) => {
                // Layout 2: the archive holds the record now.
                fsops::remove_file(&state.record(r))?;
                fsops::sync_dir(&state.history(), Syncs::Now)?;
            }
            None => {}
        }
        crate::txn::apply(state, &staged_state(state), &journal.state)?;
        if let (Some(id), true) = (&journal.key_switch, journal.state.is_empty()) {
            // A rotation journaled by an earlier jimsctl: its new key staged alone.
            crate::keys::finish_earlier_rotation(state, id)?;
        }
        if journal.keeps {
            // A version folder is in history: `server.toml` says layout 3.
            crate::server::upgrade_layout(state)?;
        }
        if last_line(&state.audit())?.as_deref() != Some(journal.audit.as_str()) {
            fsops::append_line(&state.audit(), &journal.audit, Syncs::Now)?;
        }
        fsops::remove_tree(&staging)?;
        fsops::remove_file(&journal_path)?;
        fsops::sync_dir(&state.root, Syncs::Now)?;
        Ok(Recovery::Finished)
    } else if now == journal.old {
        if journal.created {
            let away = dir.join(format!("{PARTIAL_PREFIX}{}", fsops::random_suffix()?));
            fsops::rename(&state.root, &away)?;
            fsops::sync_dir(dir, Syncs::Now)?;
            fsops::remove_tree(&away)?;
            return Ok(Recovery::Removed);
        }
        if !journal.keeps {
            // Layout 2: the replaced version's archive goes only while its record is still
            // there (it always is before the switch).
            let archive = journal.replaced.map(|r| (state.archive(r), state.record(r)));
            if let Some((archive, its_record)) = archive
                && fsops::lstat(&its_record)?.is_some()
            {
                fsops::remove_file(&archive)?;
            }
        }
        fsops::remove_file(&record)?;
        fsops::sync_dir(&state.history(), Syncs::Now)?;
        fsops::remove_tree(&staging)?;
        fsops::remove_file(&journal_path)?;
        fsops::sync_dir(&state.root, Syncs::Now)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::CommitMeta;

    /// A copy of the frozen layout 2 folder (version 3 current, 1 and 2 archived), keys private.
    fn layout2() -> (PathBuf, StatePaths) {
        use std::os::unix::fs::PermissionsExt;
        let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/managed-layout2");
        let dir = std::env::temp_dir()
            .join(format!("store-commit-{}", fsops::random_suffix().unwrap()))
            .join("srv");
        std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
        let status =
            std::process::Command::new("cp").arg("-r").arg(&from).arg(&dir).status().unwrap();
        assert!(status.success());
        for key in ["server.key", "transport.key"] {
            let path = dir.join(".jims-import").join(key);
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let state = StatePaths::new(dir.join(".jims-import"));
        (dir, state)
    }

    /// The state a jimsctl of layout 2 leaves when it dies in the middle of committing version
    /// 4: `history/3.tar` and `history/4.json` installed, the new tree in `staging/live`, the
    /// journal written (without `keeps`); the switch made when `switched`.
    fn interrupted_layout2_commit(dir: &Path, state: &StatePaths, switched: bool) -> Journal {
        let cwd = dir.join(CWD);
        let old = live::read_native(&cwd).unwrap();
        let record3 = crate::history::read_record(state, 3).unwrap();
        let files = old.iter().map(|(rel, b)| (*rel, b.as_slice()));
        let tar = crate::snapshot::build(&record3, files).unwrap();
        std::fs::write(state.archive(3), &*tar).unwrap();
        let record4 = Record::new(4, &CommitMeta::default(), None);
        std::fs::write(state.record(4), record4.to_json()).unwrap();
        let staging = state.staging();
        let new_tree = staging.join("live");
        std::fs::create_dir_all(new_tree.join("config")).unwrap();
        std::fs::create_dir_all(new_tree.join("system/init")).unwrap();
        let mut new = old.clone();
        for (rel, bytes) in &old {
            let bytes = if *rel == "config/cache.xml" {
                Bytes::new(b"<cache/>\n".to_vec())
            } else {
                bytes.clone()
            };
            std::fs::write(new_tree.join(rel), &*bytes).unwrap();
            new.insert(rel, bytes);
        }
        let journal = Journal {
            version: 4,
            created: false,
            replaced: Some(3),
            keeps: false,
            old: live::fingerprint(&old),
            new: live::fingerprint(&new),
            audit: record4.audit_line(),
            key_switch: None,
            key_from: None,
            state: Vec::new(),
        };
        // As layout 2 wrote it: no `keeps`.
        let text = serde_json::to_string(&journal).unwrap().replace(",\"keeps\":false", "");
        assert!(!text.contains("keeps"));
        std::fs::write(state.journal(), text).unwrap();
        if switched {
            assert!(fsops::exchange(&new_tree, &cwd).unwrap());
        }
        journal
    }

    #[test]
    fn an_interrupted_layout_2_commit_is_undone_or_finished_as_layout_2_would() {
        for switched in [false, true] {
            let (dir, state) = layout2();
            let journal = interrupted_layout2_commit(&dir, &state, switched);
            let audit_before = std::fs::read_to_string(state.audit()).unwrap();
            let done = recover(&dir, &state).unwrap();
            let names: Vec<String> = std::fs::read_dir(state.history())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            let mut names = names;
            names.sort();
            assert!(!state.staging().exists() && !state.journal().exists());
            let audit = std::fs::read_to_string(state.audit()).unwrap();
            if switched {
                assert_eq!(done, Recovery::Finished);
                assert_eq!(names, ["1.tar", "2.tar", "3.tar", "4.json"]);
                assert_eq!(live::fingerprint_dir(&dir.join(CWD)).unwrap(), journal.new);
                assert_eq!(audit, format!("{audit_before}{}\n", journal.audit));
            } else {
                assert_eq!(done, Recovery::Undone);
                assert_eq!(names, ["1.tar", "2.tar", "3.json"]);
                assert_eq!(live::fingerprint_dir(&dir.join(CWD)).unwrap(), journal.old);
                assert_eq!(audit, audit_before);
            }
            std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
        }
    }
}
