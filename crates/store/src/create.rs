//! Making a managed folder: beside it and renamed into place when it does not exist, or inside
//! it (for an empty folder, or a `cwd/` being adopted) through a partial state folder that is
//! renamed to `.jims-import` and a journaled switch of `cwd/`.

use std::path::{Path, PathBuf};

use crypto::ServerKey;

use crate::commit::{Commit, NewFile, Plan};
use crate::error::{Error, ErrorKind};
use crate::fsops::{self, Syncs};
use crate::group::Group;
use crate::history::{CommitMeta, Record};
use crate::layout::{CWD, PARTIAL_PREFIX, STATE_DIR, StatePaths};
use crate::lock::Lock;
use crate::server::{self, ServerToml};

/// The version a creation records and makes live: its number (0 for `init` and `adopt`, 1 for
/// an import into a new folder), its meta and its native files.
pub(crate) struct VersionSpec {
    pub(crate) version: u64,
    pub(crate) meta: CommitMeta,
    pub(crate) files: Vec<NewFile>,
}

/// What a creation wrote.
#[derive(Clone)]
pub(crate) struct Created {
    pub(crate) version: u64,
    pub(crate) written: Vec<&'static str>,
    pub(crate) kept: Vec<&'static str>,
    pub(crate) removed: Vec<&'static str>,
}

/// Where a folder is created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Placement {
    /// `dir` does not exist: build a sibling and rename it to `dir`.
    Sibling,
    /// `dir` exists (empty, or holding a `cwd/` to adopt): build inside it.
    InPlace,
}

/// Creates the managed folder `dir` with `version` live and in its history.
pub(crate) fn create(
    dir: &Path,
    placement: Placement,
    server: &ServerToml,
    key: &ServerKey,
    version: VersionSpec,
) -> Result<Created, Error> {
    match placement {
        Placement::Sibling => sibling(dir, server, key, version),
        Placement::InPlace => in_place(dir, server, key, version),
    }
}

/// Writes `server.toml`, `server.key` and an empty `history/` into a new state folder, which is
/// locked (the folder itself: once renamed into place, it is the managed folder's lock).
fn new_state(
    root: &Path,
    server: &ServerToml,
    key: &ServerKey,
    dir: &Path,
    syncs: Syncs,
) -> Result<(StatePaths, Lock), Error> {
    let state = StatePaths::new(root.to_path_buf());
    fsops::create_dir(root, 0o700)?;
    let lock = lock_new(root, dir, || Lock::acquire_folder(root, dir))?;
    server::write(&state, server, key, syncs)?;
    fsops::create_dir(&state.history(), 0o700)?;
    Ok((state, lock))
}

/// Locks the temporary folder `tmp`, just created, with `lock`. Between its creation and its
/// lock, another process creating the same managed folder may take it for what a dead process
/// left and lock or remove it: the folder is then busy (another import is creating it).
fn lock_new(
    tmp: &Path,
    dir: &Path,
    lock: impl FnOnce() -> Result<Lock, Error>,
) -> Result<Lock, Error> {
    let locked = lock();
    match (locked, fsops::lstat(tmp)) {
        (Ok(lock), Ok(Some(_))) => Ok(lock),
        (Err(e), Ok(Some(_))) if e.kind() != ErrorKind::Busy => Err(e),
        _ => Err(Error::busy(dir)),
    }
}

/// Plans `spec` against `cwd` (absent, or the `cwd/` being adopted).
fn plan_version(cwd: &Path, mut spec: VersionSpec) -> Result<(Record, Plan), Error> {
    let items = spec.meta.items.take();
    let record = Record::new(spec.version, &spec.meta, None).with_digests(items, &spec.files);
    let plan = Plan::new(cwd, spec.files, None)?;
    Ok((record, plan))
}

fn sibling(
    dir: &Path,
    server: &ServerToml,
    key: &ServerKey,
    version: VersionSpec,
) -> Result<Created, Error> {
    let built = build_sibling(dir, server, key, version, None, Syncs::Now)?;
    let parent = built.parent.clone();
    let created = built.place()?;
    fsops::sync_dir(&parent, Syncs::Now)?;
    Ok(created)
}

/// A new managed folder built (and, unless syncs are deferred, synced) beside the folder it
/// becomes, under its locks, waiting for [`Sibling::place`].
pub(crate) struct Sibling {
    dir: PathBuf,
    parent: PathBuf,
    tmp: PathBuf,
    _building: Lock,
    _state: Lock,
    created: Created,
}

impl Sibling {
    /// The parent folder, whose entry the placement changes.
    pub(crate) fn parent(&self) -> &Path {
        &self.parent
    }

    /// What the creation writes.
    pub(crate) fn created(&self) -> &Created {
        &self.created
    }

    /// Renames the built folder into place: the commit point. The parent folder still needs a
    /// sync for the placement to be durable. On failure the built folder is removed.
    pub(crate) fn place(self) -> Result<Created, Error> {
        if let Err(e) = fsops::rename_raw(&self.tmp, &self.dir) {
            let _ = fsops::remove_tree(&self.tmp);
            return Err(match e.raw_os_error() {
                Some(libc::EEXIST | libc::ENOTEMPTY) => Error::busy(&self.dir),
                _ => Error::io(&format!("rename {} to", self.tmp.display()), &self.dir, e),
            });
        }
        Ok(self.created)
    }

    /// Removes the built folder: the creation does not happen.
    pub(crate) fn abandon(self) {
        let _ = fsops::remove_tree(&self.tmp);
    }
}

/// Builds a new managed folder beside `dir` (see [`Sibling`]), for `group` when it is staged in
/// one, its steps synced as `syncs` says.
pub(crate) fn build_sibling(
    dir: &Path,
    server: &ServerToml,
    key: &ServerKey,
    version: VersionSpec,
    group: Option<&Group>,
    syncs: Syncs,
) -> Result<Sibling, Error> {
    let name = dir.file_name().ok_or_else(|| {
        Error::new(
            ErrorKind::NotManaged,
            format!("{} does not name a folder that can be created", dir.display()),
        )
    })?;
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !parent.is_dir() {
        return Err(Error::new(
            ErrorKind::NotFound,
            format!(
                "cannot create {}: its parent folder {} does not exist; create it first",
                dir.display(),
                parent.display()
            ),
        )
        .at(&parent));
    }
    let prefix = format!(".{}.jims-new-", name.to_string_lossy());
    // In a group, once per parent for every name (the group's own siblings are made after);
    // alone, the siblings of this folder.
    let any_name = |n: &str| n.starts_with('.') && n.contains(".jims-new-");
    match group {
        Some(group) => {
            group.clean_parent_once(&parent, || remove_stale_siblings(&parent, any_name, dir))?;
        }
        None => remove_stale_siblings(&parent, |n| n.starts_with(&prefix), dir)?,
    }
    let tmp = parent.join(format!("{prefix}{}", fsops::random_suffix()?));
    let result = (|| {
        fsops::create_dir(&tmp, 0o755)?;
        let building = lock_new(&tmp, dir, || Lock::acquire_folder(&tmp, dir))?;
        let (state, lock) = new_state(&tmp.join(STATE_DIR), server, key, dir, syncs)?;
        let cwd = tmp.join(CWD);
        let (record, plan) = plan_version(&cwd, version)?;
        crate::history::write_record(&state.record(record.version), &record, syncs)?;
        fsops::append_line(&state.audit(), &record.audit_line(), syncs)?;
        plan.build_live_at(&cwd, syncs)?;
        fsops::sync_dir(&state.history(), syncs)?;
        fsops::sync_dir(&state.root, syncs)?;
        fsops::sync_dir(&tmp, syncs)?;
        let created = Created {
            version: record.version,
            written: plan.written(),
            kept: plan.kept(),
            removed: plan.removed(),
        };
        Ok((building, lock, created))
    })();
    match result {
        Ok((building, lock, created)) => Ok(Sibling {
            dir: dir.to_path_buf(),
            parent,
            tmp,
            _building: building,
            _state: lock,
            created,
        }),
        Err(e) => {
            let _ = fsops::remove_tree(&tmp);
            Err(e)
        }
    }
}

/// Removes the temporary siblings (whose names `matches`) that a process which died while
/// creating a folder left behind; one still locked belongs to a live process and is left alone.
fn remove_stale_siblings(
    parent: &Path,
    matches: impl Fn(&str) -> bool,
    dir: &Path,
) -> Result<(), Error> {
    let entries = std::fs::read_dir(parent).map_err(|e| Error::io("list", parent, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("list", parent, e))?;
        if !entry.file_name().to_str().is_some_and(&matches) {
            continue;
        }
        let path = entry.path();
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        match Lock::acquire_folder(&path, dir) {
            Ok(lock) => {
                fsops::remove_tree(&path)?;
                drop(lock);
            }
            Err(e) if e.kind() == ErrorKind::Busy => {}
            // Another creator cleaned it up between the listing and now: nothing left to do.
            Err(_) if matches!(fsops::lstat(&path), Ok(None)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn in_place(
    dir: &Path,
    server: &ServerToml,
    key: &ServerKey,
    version: VersionSpec,
) -> Result<Created, Error> {
    let mut built = build_in_place(dir, server, key, version, Syncs::Now)?;
    built.install()?;
    built.commit.switch()?;
    Ok(built.into_created())
}

/// A managed folder being made inside an existing folder: its state folder built (and, unless
/// syncs are deferred, synced) under a partial name, the commit prepared in it, waiting for
/// [`InPlace::install`] and the switch of `cwd/`.
pub(crate) struct InPlace {
    partial: PathBuf,
    pub(crate) commit: Commit,
    _lock: Lock,
}

impl InPlace {
    /// The folder being made managed.
    pub(crate) fn dir(&self) -> &Path {
        &self.commit.dir
    }

    /// What the creation writes.
    pub(crate) fn created(&self) -> Created {
        Created {
            version: self.commit.version,
            written: self.commit.plan.written(),
            kept: self.commit.plan.kept(),
            removed: self.commit.plan.removed(),
        }
    }

    fn into_created(self) -> Created {
        self.created()
    }

    /// Renames the partial state folder to `.jims-import`: from now on the folder is managed and
    /// its journal says how to finish or undo the commit. On failure nothing remains.
    pub(crate) fn install(&mut self) -> Result<(), Error> {
        let dir = self.commit.dir.clone();
        let state_dir = dir.join(STATE_DIR);
        if let Err(e) = fsops::rename_raw(&self.partial, &state_dir) {
            let _ = fsops::remove_tree(&self.partial);
            return Err(match e.raw_os_error() {
                Some(libc::EEXIST | libc::ENOTEMPTY) => Error::busy(&dir),
                _ => Error::io(&format!("rename {} to", self.partial.display()), &state_dir, e),
            });
        }
        self.commit.state = StatePaths::new(state_dir);
        if let Err(e) = fsops::sync_dir(&dir, self.commit.syncs) {
            let _ = crate::commit::recover(&dir, &self.commit.state);
            return Err(e);
        }
        Ok(())
    }

    /// Removes the partial state folder: the folder stays as it was. Only before
    /// [`InPlace::install`].
    pub(crate) fn abandon(self) {
        let _ = fsops::remove_tree(&self.partial);
    }
}

/// Prepares making `dir` managed in place (see [`InPlace`]), its steps synced as `syncs` says.
pub(crate) fn build_in_place(
    dir: &Path,
    server: &ServerToml,
    key: &ServerKey,
    version: VersionSpec,
    syncs: Syncs,
) -> Result<InPlace, Error> {
    let partial = dir.join(format!("{PARTIAL_PREFIX}{}", fsops::random_suffix()?));
    let cwd = dir.join(CWD);
    let prepared = (|| {
        let (state, lock) = new_state(&partial, server, key, dir, syncs)?;
        let (record, plan) = plan_version(&cwd, version)?;
        let commit = Commit {
            dir: dir.to_path_buf(),
            state,
            version: record.version,
            record,
            plan,
            created: true,
            replaced: None,
            state_files: None,
            upgrade: false,
            fell_back: std::cell::Cell::new(false),
            syncs,
        };
        commit.prepare()?;
        Ok((commit, lock))
    })();
    match prepared {
        Ok((commit, lock)) => Ok(InPlace { partial, commit, _lock: lock }),
        Err(e) => {
            let _ = fsops::remove_tree(&partial);
            Err(e)
        }
    }
}
