//! [`Target`]: a managed folder opened for an import (exclusive lock) or for reading (shared
//! lock), with its key, its current configuration and version, and the commit and rollback that
//! write it.

use std::fmt;
use std::path::{Path, PathBuf};

use crypto::{KeyId, ServerKey};
use model::{Configuration, SectionId};
use serde::Serialize;

use crate::commit::{Commit, NewFile, Plan, Recovery};
use crate::create::{self, Placement, VersionSpec};
use crate::error::{Error, ErrorKind};
use crate::group::{self, Pending};
use crate::history::{self, CommitMeta, Counts, Record, VersionInfo};
use crate::layout::{self, CWD, DirState, STATE_DIR, StatePaths};
use crate::live::{self, NativeFiles};
use crate::lock::{Lock, Mode};
use crate::server::{self, ServerToml};

/// What a commit or rollback did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CommitReport {
    /// The version now current.
    pub version: u64,
    /// Whether the commit created the managed folder.
    pub created: bool,
    /// Native files written afresh (paths relative to `cwd/`).
    pub files_written: Vec<&'static str>,
    /// Native files kept as they were: the very same file, not rewritten.
    pub files_kept: Vec<&'static str>,
    /// Native files the new version does not have (removed from `cwd/`).
    pub files_removed: Vec<&'static str>,
}

/// A managed server folder, opened. Dropping it releases the lock.
pub struct Target {
    pub(crate) dir: PathBuf,
    /// `None` for a folder that does not exist yet (nothing is on disk until commit).
    pub(crate) lock: Option<Lock>,
    pub(crate) server_id: String,
    pub(crate) key: ServerKey,
    pub(crate) configuration: Configuration,
    /// The native files as read, for keeping their bytes when a section is unchanged.
    pub(crate) live: NativeFiles,
    pub(crate) version: u64,
    /// The retired keys (`keyring`), empty for a new folder.
    pub(crate) ring: crate::keys::KeyRing,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target")
            .field("dir", &self.dir)
            .field("new", &self.is_new())
            .field("server_id", &self.server_id)
            .field("key_id", self.key.id())
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl Target {
    /// Opens `dir` for an import: takes the exclusive lock without waiting (another holder is
    /// [`ErrorKind::Busy`]), finishes or undoes an interrupted commit, and reads `server.toml`,
    /// the key and the current configuration.
    ///
    /// A folder that does not exist, or is empty, opens in the "new" state: a fresh key and an
    /// empty full configuration in memory, nothing on disk until [`Target::commit`]. A folder
    /// holding `cwd/` without `.jims-import/` is [`ErrorKind::NotManaged`] (adopt it first).
    pub fn open(dir: &Path) -> Result<Target, Error> {
        Target::open_to_replace(dir, &[])
    }

    /// [`Target::open`] for an import that replaces the sections `replaced` and will not look
    /// at their current content: their native files are read (a file the new version leaves
    /// byte for byte as it is stays the same file) but not parsed, so [`Target::configuration`]
    /// holds only the other sections, and a replaced section's malformed file is no error.
    pub fn open_to_replace(dir: &Path, replaced: &[SectionId]) -> Result<Target, Error> {
        for _ in 0..3 {
            match layout::classify(dir)? {
                DirState::Missing | DirState::Empty => return Target::fresh(dir),
                DirState::Other => return Err(layout::not_a_server_folder(dir)),
                DirState::Unmanaged => return Err(layout::not_managed_adopt(dir)),
                DirState::Managed => {
                    let state = StatePaths::new(dir.join(STATE_DIR));
                    let lock = Lock::acquire(&state.lock(), Mode::Exclusive, dir)?;
                    if crate::commit::recover(dir, &state)? == Recovery::Removed {
                        continue;
                    }
                    return Target::load(dir, state, lock, replaced);
                }
            }
        }
        Err(Error::busy(dir))
    }

    /// Opens `dir` for reading (export) under a shared lock. An interrupted commit is recovered
    /// first, under the exclusive lock held briefly. Creates nothing: a folder that is not
    /// managed is an error.
    pub fn open_read(dir: &Path) -> Result<Target, Error> {
        Target::open_read_parsing(dir, &[])
    }

    /// [`Target::open_read`] for what needs only the folder's state (history, key id): the
    /// live native files are read but not parsed, so [`Target::configuration`] is empty and a
    /// file damaged by hand is no error.
    pub fn open_state(dir: &Path) -> Result<Target, Error> {
        Target::open_read_parsing(dir, &SectionId::ALL)
    }

    fn open_read_parsing(dir: &Path, unparsed: &[SectionId]) -> Result<Target, Error> {
        for _ in 0..3 {
            match layout::classify(dir)? {
                DirState::Missing | DirState::Empty => {
                    return Err(Error::new(
                        ErrorKind::NotFound,
                        format!(
                            "there is no managed server folder at {}; make one with \
                             `jimsctl server init {}` or by importing into it",
                            dir.display(),
                            dir.display()
                        ),
                    )
                    .at(dir));
                }
                DirState::Other => return Err(layout::not_a_server_folder(dir)),
                DirState::Unmanaged => return Err(layout::not_managed_adopt(dir)),
                DirState::Managed => {
                    let state = StatePaths::new(dir.join(STATE_DIR));
                    let mut lock = Lock::acquire(&state.lock(), Mode::Shared, dir)?;
                    if crate::commit::needs_recovery(&state)? {
                        lock = lock.relock(Mode::Exclusive, dir)?;
                        if crate::commit::recover(dir, &state)? == Recovery::Removed {
                            continue;
                        }
                        lock = lock.relock(Mode::Shared, dir)?;
                    }
                    return Target::load(dir, state, lock, unparsed);
                }
            }
        }
        Err(Error::busy(dir))
    }

    fn fresh(dir: &Path) -> Result<Target, Error> {
        let key = ServerKey::generate().map_err(crypto_error)?;
        Ok(Target {
            dir: dir.to_path_buf(),
            lock: None,
            server_id: server::default_server_id(dir, &key),
            key,
            configuration: Configuration::empty_full(),
            live: NativeFiles::new(),
            version: 0,
            ring: crate::keys::KeyRing::default(),
        })
    }

    fn load(
        dir: &Path,
        state: StatePaths,
        lock: Lock,
        unparsed: &[SectionId],
    ) -> Result<Target, Error> {
        // Refused before anything is written (a commit appends to the audit log last).
        layout::check_not_symlink(&state.audit())?;
        let (toml, key) = server::read(&state)?;
        let version = *history::versions(&state)?.last().ok_or_else(|| {
            Error::corrupt(&state.history(), "holds no version; the server folder is damaged")
        })?;
        let cwd = dir.join(CWD);
        let live = if crate::fsops::lstat(&cwd)?.is_some() {
            live::read_native(&cwd)?
        } else {
            NativeFiles::new()
        };
        let configuration = live::parse(&cwd, &live, unparsed)?;
        let ring = crate::keys::KeyRing::read(&state, key.id())?;
        Ok(Target {
            dir: dir.to_path_buf(),
            lock: Some(lock),
            server_id: toml.server_id,
            key,
            configuration,
            live,
            version,
            ring,
        })
    }

    /// Whether the folder does not exist yet (it is created by the first commit).
    pub fn is_new(&self) -> bool {
        self.lock.is_none()
    }

    /// The server's key.
    pub fn key(&self) -> &ServerKey {
        &self.key
    }

    /// The id of the server's key (the `server_key_id` its exports carry).
    pub fn key_id(&self) -> &KeyId {
        self.key.id()
    }

    /// The server's id.
    pub fn server_id(&self) -> &str {
        &self.server_id
    }

    /// Sets the server id a new folder will be created with (ignored once the folder exists).
    pub fn set_server_id(&mut self, server_id: &str) -> Result<(), Error> {
        server::check_server_id(server_id)?;
        if self.is_new() {
            server_id.clone_into(&mut self.server_id);
        }
        Ok(())
    }

    /// The current configuration (every section, for a new folder; the sections whose files
    /// are present, otherwise, but those opened as replaced: see [`Target::open_to_replace`]).
    pub fn configuration(&self) -> &Configuration {
        &self.configuration
    }

    /// The current version: 0 after `init`/`adopt` (and for a new folder), then one more per
    /// import or rollback.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn state(&self) -> StatePaths {
        StatePaths::new(self.dir.join(STATE_DIR))
    }

    pub(crate) fn check_writable(&self) -> Result<(), Error> {
        match &self.lock {
            Some(l) if l.mode() == Mode::Shared => Err(Error::new(
                ErrorKind::ReadOnly,
                format!(
                    "{} was opened for reading only; open it for an import",
                    self.dir.display()
                ),
            )),
            _ => Ok(()),
        }
    }

    /// Writes `new` as the next version, atomically for the whole `cwd/`: a reader sees the old
    /// configuration or the new one, never a mix. Files whose bytes do not change are kept (the
    /// same file, not rewritten). A new folder is created with this commit as version 1.
    pub fn commit(self, new: &Configuration, meta: CommitMeta) -> Result<CommitReport, Error> {
        self.check_writable()?;
        let files = self.files_for(new);
        if self.is_new() {
            return self.create_with(files, meta);
        }
        self.write_version(files, meta, None, None)
    }

    /// The native files of `new`, reusing the bytes read for files whose content is unchanged.
    pub(crate) fn files_for(&self, new: &Configuration) -> Vec<NewFile> {
        let mut out = Vec::new();
        for (section, rel) in live::native_paths() {
            let Some(file) = new.get(section).and_then(|s| s.files.iter().find(|f| f.path == rel))
            else {
                continue;
            };
            let unchanged = self
                .configuration
                .get(section)
                .and_then(|s| s.files.iter().find(|f| f.path == rel))
                .is_some_and(|old| old == file);
            let bytes = match self.live.get(rel) {
                Some(b) if unchanged => b.clone(),
                _ => crypto::SecretBytes::new(crate::xml::write(file)),
            };
            out.push(NewFile { path: rel, bytes });
        }
        out
    }

    fn create_with(self, files: Vec<NewFile>, meta: CommitMeta) -> Result<CommitReport, Error> {
        let placement = match layout::classify(&self.dir)? {
            DirState::Missing => Placement::Sibling,
            DirState::Empty => Placement::InPlace,
            _ => return Err(Error::busy(&self.dir)),
        };
        let toml = ServerToml {
            layout_version: layout::LAYOUT_VERSION,
            server_id: self.server_id.clone(),
            key_id: self.key.id().as_str().to_owned(),
            created: crate::time::now_rfc3339(),
        };
        let version = VersionSpec { version: self.version + 1, meta, files };
        if group::active() {
            return group::stage(&self.dir, || {
                let (pending, created) = match placement {
                    Placement::Sibling => {
                        let s = create::build_sibling(&self.dir, &toml, &self.key, version)?;
                        let created = s.created().clone();
                        (Pending::Sibling(s), created)
                    }
                    Placement::InPlace => {
                        let mut p = create::build_in_place(&self.dir, &toml, &self.key, version)?;
                        p.commit.plan.forget_bytes();
                        let created = p.created();
                        (Pending::InPlace(p), created)
                    }
                };
                Ok((pending, created_report(created)))
            });
        }
        let created = create::create(&self.dir, placement, &toml, &self.key, version)?;
        Ok(CommitReport {
            version: created.version,
            created: true,
            files_written: created.written,
            files_kept: created.kept,
            files_removed: created.removed,
        })
    }

    pub(crate) fn write_version(
        self,
        files: Vec<NewFile>,
        meta: CommitMeta,
        restored: Option<u64>,
        new_key: Option<ServerKey>,
    ) -> Result<CommitReport, Error> {
        let state = self.state();
        let version = self.version + 1;
        let cwd = self.dir.join(CWD);
        // The live files were read when the folder was opened, under the lock still held.
        let plan = Plan::new(&cwd, files, Some(self.live))?;
        let record = Record::new(version, &meta, restored);
        let replaced = Some(history::read_record(&state, self.version)?);
        let mut commit = Commit {
            dir: self.dir,
            state,
            version,
            record,
            plan,
            created: false,
            replaced,
            new_key,
        };
        if group::active() {
            let lock = self.lock;
            let dir = commit.dir.clone();
            return group::stage(&dir, move || {
                commit.stage()?;
                commit.plan.forget_bytes();
                let report = CommitReport {
                    version,
                    created: false,
                    files_written: commit.plan.written(),
                    files_kept: commit.plan.kept(),
                    files_removed: commit.plan.removed(),
                };
                Ok((Pending::Existing { commit, _lock: lock }, report))
            });
        }
        commit.prepare()?;
        commit.switch()?;
        Ok(CommitReport {
            version,
            created: false,
            files_written: commit.plan.written(),
            files_kept: commit.plan.kept(),
            files_removed: commit.plan.removed(),
        })
    }

    /// Every version of the folder, oldest first, the highest marked current. A new folder has
    /// none.
    pub fn history(&self) -> Result<Vec<VersionInfo>, Error> {
        if self.is_new() {
            return Ok(Vec::new());
        }
        history::list(&self.state())
    }

    /// Restores version `to` (by default the one before the current) as a new version, so that
    /// it can itself be undone. The restored files are byte for byte those of version `to`.
    pub fn rollback(self, to: Option<u64>) -> Result<CommitReport, Error> {
        self.check_writable()?;
        if self.is_new() {
            return Err(Error::new(
                ErrorKind::NoSuchVersion,
                format!("{} has no history yet: there is nothing to roll back", self.dir.display()),
            ));
        }
        let state = self.state();
        let available = history::versions(&state)?;
        let first = available.first().copied().unwrap_or(self.version);
        let to = match to {
            Some(n) => n,
            None if self.version > first => self.version - 1,
            None => {
                return Err(Error::new(
                    ErrorKind::NoSuchVersion,
                    format!(
                        "{} is at version {first}, its first: there is no earlier version to \
                         roll back to",
                        self.dir.display()
                    ),
                ));
            }
        };
        if to == self.version {
            return Err(Error::new(
                ErrorKind::NoSuchVersion,
                format!(
                    "version {to} is the current version of {}: there is nothing to restore; \
                     see `jimsctl history`",
                    self.dir.display()
                ),
            ));
        }
        if !available.contains(&to) {
            return Err(Error::new(
                ErrorKind::NoSuchVersion,
                format!(
                    "version {to} is not in the history of {} (versions {first}–{}); see \
                     `jimsctl history`",
                    self.dir.display(),
                    self.version
                ),
            ));
        }
        let archive = state.archive(to);
        let (_, restored) = crate::snapshot::read(&archive)?;
        let config = live::parse(&archive, &restored, &[])?;
        let mut sections = Vec::new();
        let mut counts = Counts::default();
        for section in SectionId::ALL {
            let differs = section.native_files().iter().any(|rel| {
                self.live.get(rel).map(|b| b.as_slice()) != restored.get(rel).map(|b| b.as_slice())
            });
            if differs {
                sections.push(section);
                if let Some(s) = config.get(section) {
                    counts.items.insert(section, s.item_count() as u64);
                }
            }
        }
        let files = restored.into_iter().map(|(path, bytes)| NewFile { path, bytes }).collect();
        let meta = CommitMeta { action: "rollback".to_owned(), export: None, sections, counts };
        self.write_version(files, meta, Some(to), None)
    }
}

fn created_report(created: create::Created) -> CommitReport {
    CommitReport {
        version: created.version,
        created: true,
        files_written: created.written,
        files_kept: created.kept,
        files_removed: created.removed,
    }
}

/// The native files of an empty full configuration.
pub(crate) fn empty_files() -> Vec<NewFile> {
    files_of(&Configuration::empty_full())
}

/// Every native file of `config`, serialized.
pub(crate) fn files_of(config: &Configuration) -> Vec<NewFile> {
    live::native_paths()
        .filter_map(|(section, rel)| {
            let file = config.get(section)?.files.iter().find(|f| f.path == rel)?;
            Some(NewFile { path: rel, bytes: crypto::SecretBytes::new(crate::xml::write(file)) })
        })
        .collect()
}

pub(crate) fn crypto_error(e: crypto::Error) -> Error {
    Error::new(ErrorKind::Crypto, format!("could not make or use the server key: {e}")).caused_by(e)
}
