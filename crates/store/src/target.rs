//! [`Target`]: a managed folder opened for an import or a rollback, or for reading, with its
//! key, its current configuration and version, and the commit and rollback that write it.
//!
//! Writers hold the folder's lock ([`crate::lock`]) while they write. An import that asks
//! secret sources (a person at the `prompt`, a plugin, a program) first opens the folder with
//! [`Target::open_unlocked`], which only checks that nobody is writing it and reads it; its
//! commit takes the lock and checks that the version it planned against is still the current
//! one. Readers ([`Target::open_read`]) take no lock: they read the last committed version,
//! around a commit in progress, and never wait for one or fail because of one.

use std::fmt;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use crypto::{KeyId, ServerKey};
use model::{Configuration, SectionId};
use serde::Serialize;

use crate::commit::{Commit, NewFile, Plan, Recovery};
use crate::create::{self, Placement, VersionSpec};
use crate::error::{Error, ErrorKind};
use crate::fsops::Syncs;
use crate::group::{Group, Pending, Staged};
use crate::history::{self, CommitMeta, Counts, Record, VersionInfo};
use crate::layout::{self, CWD, DirState, STATE_DIR, StatePaths};
use crate::live::{self, NativeFiles};
use crate::lock::Lock;
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
    /// Whether nothing changed: every native file would keep its bytes, so no version was
    /// made ([`CommitReport::version`] is the current one, unchanged) and nothing was written.
    pub unchanged: bool,
}

/// How many times a reader looks again at a folder that a commit changed while it read.
const READ_ATTEMPTS: u32 = 200;

/// What a [`Target`] handle may do: [`Write`] or [`Read`], decided by how it was opened and
/// fixed in its type, so that a handle opened for reading cannot even be asked to commit or
/// roll back. Only these two.
pub trait Access: sealed::Sealed {
    /// Whether a handle of this kind may write the folder.
    const WRITES: bool;
}

/// A [`Target`] opened to write the folder ([`Target::open`], [`Target::open_to_replace`],
/// [`Target::open_unlocked`], [`Target::open_exclusive_state`]): it commits and rolls back.
#[derive(Debug)]
pub enum Write {}

/// A [`Target`] opened to look only ([`Target::open_read`], [`Target::open_view`],
/// [`Target::open_state`], [`Target::detached`]): it has no commit and no rollback, takes no
/// lock, and reads the last committed version even in the middle of a commit.
///
/// Asking one to commit or roll back does not compile:
///
/// ```compile_fail
/// let t = store::Target::open_read(std::path::Path::new("srv")).unwrap();
/// let c = t.configuration().clone();
/// t.commit(&c, store::CommitMeta::default());
/// ```
///
/// ```compile_fail
/// store::Target::open_state(std::path::Path::new("srv")).unwrap().rollback(None);
/// ```
///
/// while the same calls on a handle opened to write do:
///
/// ```no_run
/// let t = store::Target::open(std::path::Path::new("srv")).unwrap();
/// let c = t.configuration().clone();
/// t.commit(&c, store::CommitMeta::default()).unwrap();
/// store::Target::open(std::path::Path::new("srv")).unwrap().rollback(None).unwrap();
/// ```
#[derive(Debug)]
pub enum Read {}

impl Access for Write {
    const WRITES: bool = true;
}

impl Access for Read {
    const WRITES: bool = false;
}

mod sealed {
    /// Closes [`super::Access`] to the two kinds of handle.
    pub trait Sealed {}
    impl Sealed for super::Write {}
    impl Sealed for super::Read {}
}

/// A managed folder opened for reading only: see [`Read`].
pub type TargetView = Target<Read>;

/// A managed server folder, opened: to write it ([`Write`], the default) or only to read it
/// ([`Read`], [`TargetView`]). Dropping it releases the lock, when it holds one.
pub struct Target<A: Access = Write> {
    pub(crate) dir: PathBuf,
    /// The folder's lock, while held: from [`Target::open`] on, or from the commit of a target
    /// opened without it.
    pub(crate) lock: Option<Lock>,
    /// Whether the folder exists (is managed); `false` for one the first commit creates.
    pub(crate) managed: bool,
    pub(crate) server_id: String,
    pub(crate) key: ServerKey,
    pub(crate) configuration: Configuration,
    /// The native files as read, for keeping their bytes when a section is unchanged.
    pub(crate) live: NativeFiles,
    /// What tells that the live files are still the ones read, without reading them again.
    pub(crate) stamps: live::Stamps,
    /// The layout `server.toml` says (an older one is upgraded by the next commit).
    pub(crate) layout: u32,
    pub(crate) version: u64,
    /// The retired keys (`keyring`), empty for a new folder.
    pub(crate) ring: crate::keys::KeyRing,
    /// The transport key (`transport.key`), as read at the open; `None` for a new folder or
    /// one made before transport keys.
    pub(crate) transport: Option<crypto::TransportKey>,
    pub(crate) access: PhantomData<A>,
}

impl<A: Access> fmt::Debug for Target<A> {
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

impl Target<Write> {
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
        Target::open_writable(dir, replaced, true)
    }

    /// [`Target::open_to_replace`] for an import that asks its secret sources before it writes:
    /// checks that no other process is writing the folder ([`ErrorKind::Busy`] otherwise),
    /// finishes or undoes an interrupted commit and reads the folder under the lock, then lets
    /// the lock go, so that a slow source (a person at the prompt, a plugin, a program) holds
    /// nothing. [`Target::commit`] takes the lock again and writes only if the folder is still
    /// at the version it was opened at, with the same live files: otherwise another import (or
    /// a hand edit) changed it meanwhile, and the commit is [`ErrorKind::Busy`], writing
    /// nothing.
    pub fn open_unlocked(dir: &Path, replaced: &[SectionId]) -> Result<Target, Error> {
        Target::open_writable(dir, replaced, false)
    }

    /// Opens an existing managed folder under the exclusive lock, parsing none of its native
    /// files (their bytes are read: [`Target::version_files`]): for `push` and `remote set`,
    /// which change only jimsctl's own state and must exclude imports meanwhile. Another
    /// holder is [`ErrorKind::Busy`]; a folder that is not managed is the error
    /// [`Target::open_state`] gives.
    pub fn open_exclusive_state(dir: &Path) -> Result<Target, Error> {
        if layout::classify(dir)? != DirState::Managed {
            // The error a reader gets (no folder, not managed…); a folder made managed
            // meanwhile is opened below.
            Target::open_state(dir)?;
        }
        let target = Target::open_to_replace(dir, &SectionId::ALL)?;
        if target.is_new() {
            return Err(Target::open_state(dir).err().unwrap_or_else(|| Error::busy(dir)));
        }
        Ok(target)
    }

    /// Writes `new` as the next version, atomically for the whole `cwd/`: a reader sees the old
    /// configuration or the new one, never a mix. Files whose bytes do not change are kept (the
    /// same file, not rewritten). A new folder is created with this commit as version 1. When
    /// it returns `Ok`, the version is written and durable: this commit is never staged in a
    /// group (that is [`Target::commit_in`]).
    ///
    /// A commit whose every native file would keep its bytes makes no version: it writes
    /// nothing and takes no lock ([`CommitReport::unchanged`]; the folder held `new` when it was
    /// read).
    pub fn commit(self, new: &Configuration, meta: CommitMeta) -> Result<CommitReport, Error> {
        self.commit_with(new, meta, None).map(|(report, _)| report)
    }

    /// [`Target::commit`] staged in `group`: the new version is written without syncing, the
    /// folder stays locked and as it is, and [`Group::commit`] makes it durable and switches it
    /// in with the group's other commits. Returns the report of the commit as it will be, and
    /// its place in the group's results (`None` when it makes no version: nothing is staged).
    pub fn commit_in(
        self,
        group: &Group,
        new: &Configuration,
        meta: CommitMeta,
    ) -> Result<(CommitReport, Option<Staged>), Error> {
        self.commit_with(new, meta, Some(group))
    }

    /// Restores version `to` (by default the one before the current) as a new version, so that
    /// it can itself be undone. The restored files are byte for byte those of version `to`.
    pub fn rollback(mut self, to: Option<u64>) -> Result<CommitReport, Error> {
        self.check_writable()?;
        self.relock()?;
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
        let (restored, from) = history::version_files(&state, to)?;
        let config = live::parse(&from, &restored, &[])?;
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
        let items = Some(crate::digest::items(&config));
        let meta =
            CommitMeta { action: "rollback".to_owned(), export: None, sections, counts, items };
        self.write_version(files, meta, Some(to), None)
    }
}

impl Target<Read> {
    /// Opens `dir` for reading (export, a dry run), without a lock: what it holds is the last
    /// committed version, whatever commit another process is making meanwhile (it is read
    /// around it, never waited for). An interrupted commit whose process is gone is finished or
    /// undone first, under the lock held briefly. Creates nothing: a folder that is not managed
    /// is an error.
    pub fn open_read(dir: &Path) -> Result<TargetView, Error> {
        Target::open_read_parsing(dir, &[])
    }

    /// [`Target::open_read`] for what only looks at what an import would do (`passwords`, a dry
    /// run): a folder that does not exist or is empty opens as new (as [`Target::open`] would,
    /// for reading only), but for the sections `unparsed`.
    pub fn open_view(dir: &Path, unparsed: &[SectionId]) -> Result<TargetView, Error> {
        match layout::classify(dir)? {
            DirState::Missing | DirState::Empty => Target::fresh(dir),
            _ => Target::open_read_parsing(dir, unparsed),
        }
    }

    /// [`Target::open_read`] for what needs only the folder's state (history, key id): the
    /// live native files are read but not parsed, so [`Target::configuration`] is empty and a
    /// file damaged by hand is no error.
    pub fn open_state(dir: &Path) -> Result<TargetView, Error> {
        Target::open_read_parsing(dir, &SectionId::ALL)
    }

    fn open_read_parsing(dir: &Path, unparsed: &[SectionId]) -> Result<TargetView, Error> {
        let mut pause = std::time::Duration::from_micros(500);
        for _ in 0..READ_ATTEMPTS {
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
                    if crate::commit::needs_recovery(&state)? {
                        match Lock::acquire_folder(&state.root, dir) {
                            // Nobody is writing: an interrupted commit, finished or undone now.
                            Ok(_lock) => {
                                crate::commit::recover(dir, &state)?;
                                continue;
                            }
                            // A commit in progress: read around it.
                            Err(e) if e.kind() == ErrorKind::Busy => {}
                            Err(e) if Lock::vanished(&e) => continue,
                            Err(e) => return Err(e),
                        }
                    }
                    if let Some(target) = Target::<Read>::load_committed(dir, state, unparsed)? {
                        return Ok(target);
                    }
                    // A commit switched while it was read: read again.
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(std::time::Duration::from_millis(20));
                }
            }
        }
        Err(Error::busy(dir))
    }

    /// A new server that lives nowhere: a fresh key and an empty full configuration in
    /// memory, for looking at what an import into a new server would need (`passwords` without
    /// a target). It cannot be committed.
    pub fn detached() -> Result<TargetView, Error> {
        Target::fresh(Path::new(""))
    }
}

impl<A: Access> Target<A> {
    /// Opens `dir` to write it (see [`Target::open_to_replace`]; `hold`: keep the lock), as a
    /// handle of kind `A`: [`Write`] for every caller but a writer generic over the kind, which
    /// has checked that it may write.
    pub(crate) fn open_writable(
        dir: &Path,
        replaced: &[SectionId],
        hold: bool,
    ) -> Result<Target<A>, Error> {
        for _ in 0..3 {
            match layout::classify(dir)? {
                DirState::Missing => {
                    check_parent(dir)?;
                    return Target::fresh(dir);
                }
                DirState::Empty => return Target::fresh(dir),
                DirState::Other => return Err(layout::not_a_server_folder(dir)),
                DirState::Unmanaged => return Err(layout::not_managed_adopt(dir)),
                DirState::Managed => {
                    let state = StatePaths::new(dir.join(STATE_DIR));
                    let lock = match Lock::acquire_folder(&state.root, dir) {
                        Ok(lock) => lock,
                        // Undone (an interrupted creation) since it was looked at: look again.
                        Err(e) if Lock::vanished(&e) => continue,
                        Err(e) => return Err(e),
                    };
                    if crate::commit::recover(dir, &state)? == Recovery::Removed {
                        continue;
                    }
                    let mut target = Target::<A>::load(dir, state, lock, replaced)?;
                    if !hold {
                        target.lock = None;
                    }
                    return Ok(target);
                }
            }
        }
        Err(Error::busy(dir))
    }

    /// Reads the last committed version of the managed folder `dir` without a lock: `None`
    /// when a commit switched `cwd/` (or began or ended) while it was being read, so that what
    /// was read may be a mix (the caller reads again).
    ///
    /// A commit journals the fingerprints of the live files before and after its switch; while
    /// a journal is there, the version read is the new one if the files read are the new ones,
    /// else the one before (whose record stays until the switch is done).
    fn load_committed(
        dir: &Path,
        state: StatePaths,
        unparsed: &[SectionId],
    ) -> Result<Option<Target<A>>, Error> {
        let cwd = dir.join(CWD);
        let identity = |path: &Path| -> Result<Option<(u64, u64)>, Error> {
            use std::os::unix::fs::MetadataExt;
            Ok(crate::fsops::lstat(path)?.map(|m| (m.dev(), m.ino())))
        };
        let before = crate::commit::journal(&state)?;
        // Between the two renames of a switch without RENAME_EXCHANGE, the replaced tree is in
        // the staging folder: read it there.
        let old_tree = state.staging().join("old");
        let read_at = match (identity(&cwd)?, &before) {
            (None, Some(_)) => old_tree,
            _ => cwd.clone(),
        };
        let at_before = identity(&read_at)?;
        layout::check_not_symlink(&state.audit())?;
        // The keys are read inside the window the checks below close: a key switch is made
        // only after the switch of `cwd/`, so what is read here goes with the `cwd/` read.
        let switch = before.as_ref().and_then(|j| j.key_switch()).map(|(from, to)| {
            crate::keys::CommitSwitch {
                from,
                to,
                staged: crate::txn::staged(&crate::commit::staged_state(&state), server::KEY_FILE),
            }
        });
        let keys = crate::keys::read_unlocked(&state, switch.as_ref())?;
        let live = match at_before {
            Some(_) => live::read_native(&read_at)?,
            None => NativeFiles::new(),
        };
        let versions = history::versions(&state)?;
        if crate::commit::journal(&state)? != before || identity(&read_at)? != at_before {
            return Ok(None);
        }
        if read_at != cwd && identity(&cwd)?.is_some() {
            // The second rename happened meanwhile.
            return Ok(None);
        }
        let mut read_new = false;
        let version = match &before {
            None => *versions.last().ok_or_else(|| {
                Error::corrupt(&state.history(), "holds no version; the server folder is damaged")
            })?,
            Some(journal) => {
                let read = match at_before {
                    Some(_) => live::fingerprint(&live),
                    None => live::ABSENT.to_owned(),
                };
                if read == journal.new {
                    read_new = true;
                    journal.version
                } else if read != journal.old {
                    // Neither: changed by hand while a commit is under way. Look again.
                    return Ok(None);
                } else if journal.created {
                    // Being made managed right now: nothing is committed yet.
                    return Err(not_managed_yet(dir));
                } else {
                    journal.replaced.unwrap_or(journal.version.saturating_sub(1))
                }
            }
        };
        let Some((toml, key, ring, transport)) = keys.pick(&state, switch.as_ref(), read_new)?
        else {
            return Ok(None);
        };
        let configuration = live::parse(&cwd, &live, unparsed)?;
        Ok(Some(Target {
            dir: dir.to_path_buf(),
            lock: None,
            managed: true,
            access: PhantomData,
            server_id: toml.server_id,
            key,
            configuration,
            live,
            stamps: live::Stamps::default(),
            layout: toml.layout_version,
            version,
            ring,
            transport,
        }))
    }

    fn fresh(dir: &Path) -> Result<Target<A>, Error> {
        let key = ServerKey::generate().map_err(crypto_error)?;
        Ok(Target {
            dir: dir.to_path_buf(),
            lock: None,
            managed: false,
            access: PhantomData,
            server_id: server::default_server_id(dir, &key),
            key,
            configuration: Configuration::empty_full(),
            live: NativeFiles::new(),
            stamps: live::Stamps::default(),
            layout: layout::LAYOUT_VERSION,
            version: 0,
            ring: crate::keys::KeyRing::default(),
            transport: None,
        })
    }

    fn load(
        dir: &Path,
        state: StatePaths,
        lock: Lock,
        unparsed: &[SectionId],
    ) -> Result<Target<A>, Error> {
        // Refused before anything is written (a commit appends to the audit log last).
        layout::check_not_symlink(&state.audit())?;
        let (toml, key) = server::read(&state)?;
        let version = *history::versions(&state)?.last().ok_or_else(|| {
            Error::corrupt(&state.history(), "holds no version; the server folder is damaged")
        })?;
        let cwd = dir.join(CWD);
        let (live, stamps) = live::read_native_stamped(&cwd)?;
        let configuration = live::parse(&cwd, &live, unparsed)?;
        let transport = crate::keys::read_transport(&state)?;
        let ring = crate::keys::KeyRing::read(&state, Some(key.id()))?;
        Ok(Target {
            dir: dir.to_path_buf(),
            lock: Some(lock),
            managed: true,
            access: PhantomData,
            server_id: toml.server_id,
            key,
            configuration,
            live,
            stamps,
            layout: toml.layout_version,
            version,
            ring,
            transport,
        })
    }

    /// Parses the live files read when the folder was opened into [`Target::configuration`],
    /// but for the sections `unparsed`, whose content then stays unknown (see
    /// [`Target::open_to_replace`]). An import opens its target with every section unparsed, to
    /// read it before its export, and parses it once the export says which sections it
    /// replaces. A new folder's configuration stays the empty one.
    ///
    /// # Errors
    /// [`ErrorKind::Parse`] for a live file that does not parse (the configuration is then
    /// left as it was).
    pub fn parse(&mut self, unparsed: &[SectionId]) -> Result<(), Error> {
        if self.managed {
            self.configuration = live::parse(&self.dir.join(CWD), &self.live, unparsed)?;
        }
        Ok(())
    }

    /// Whether the folder does not exist yet (it is created by the first commit).
    pub fn is_new(&self) -> bool {
        !self.managed
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

    /// The native files of the current version as read when the folder was opened.
    pub(crate) fn live_files(&self) -> &NativeFiles {
        &self.live
    }

    pub(crate) fn state(&self) -> StatePaths {
        StatePaths::new(self.dir.join(STATE_DIR))
    }

    pub(crate) fn check_writable(&self) -> Result<(), Error> {
        if !A::WRITES {
            return Err(Error::new(
                ErrorKind::ReadOnly,
                format!(
                    "{} was opened for reading only; open it for an import",
                    self.dir.display()
                ),
            ));
        }
        Ok(())
    }

    /// Takes the lock of a folder opened without it ([`Target::open_unlocked`]), finishing or
    /// undoing an interrupted commit, and checks that the folder is still at the version it
    /// was opened at, with the same live files: without reading them again, by the stamps of
    /// what was read (a file written, replaced, linked or re-moded since has another one) and
    /// by the record of the version read, which the next commit moves away.
    fn relock(&mut self) -> Result<(), Error> {
        if self.lock.is_some() || !self.managed {
            return Ok(());
        }
        let state = self.state();
        let lock = Lock::acquire_folder(&state.root, &self.dir).map_err(|e| {
            if Lock::vanished(&e) { self.changed("it is no longer a managed folder") } else { e }
        })?;
        if crate::commit::recover(&self.dir, &state)? == Recovery::Removed {
            return Err(self.changed("it is no longer a managed folder"));
        }
        if crate::fsops::lstat(&state.record(self.version))?.is_none() {
            let now = history::versions(&state)?.last().copied().unwrap_or_default();
            return Err(self.changed(&format!(
                "version {now} is current now, not version {} that it was planned against \
                 (another import or a rollback was committed meanwhile)",
                self.version
            )));
        }
        if !self.stamps.unchanged(&self.dir.join(CWD))? {
            return Err(self.changed("its live files in cwd/ were changed meanwhile"));
        }
        self.lock = Some(lock);
        Ok(())
    }

    /// The error of a commit whose folder changed since it was opened (exit 5: busy).
    fn changed(&self, why: &str) -> Error {
        Error::new(
            ErrorKind::Busy,
            format!(
                "the server folder {} changed while this import was being prepared: {why}; \
                 nothing was written: run the import again",
                self.dir.display()
            ),
        )
        .at(&self.dir)
    }

    fn commit_with(
        mut self,
        new: &Configuration,
        mut meta: CommitMeta,
        group: Option<&Group>,
    ) -> Result<(CommitReport, Option<Staged>), Error> {
        self.check_writable()?;
        let files = self.files_for(new)?;
        if !self.is_new() && self.holds(&files) {
            return Ok((self.unchanged_report(&files), None));
        }
        self.relock()?;
        meta.items = Some(crate::digest::items(new));
        if self.is_new() {
            return self.create_with(files, meta, group);
        }
        self.write_version_in(files, meta, None, None, group)
    }

    /// Whether the live files as read are exactly `files`: the same paths, the same bytes.
    fn holds(&self, files: &[NewFile]) -> bool {
        files.len() == self.live.len()
            && files.iter().all(|f| self.live.get(f.path).is_some_and(|b| **b == *f.bytes))
    }

    /// The report of a commit that makes no version: every file kept.
    fn unchanged_report(&self, files: &[NewFile]) -> CommitReport {
        CommitReport {
            version: self.version,
            created: false,
            files_written: Vec::new(),
            files_kept: files.iter().map(|f| f.path).collect(),
            files_removed: Vec::new(),
            unchanged: true,
        }
    }

    /// The native files of `new`, reusing the bytes read for files whose content is unchanged.
    pub(crate) fn files_for(&self, new: &Configuration) -> Result<Vec<NewFile>, Error> {
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
                _ => crypto::SecretBytes::new(crate::xml::write(file)?),
            };
            out.push(NewFile { path: rel, bytes });
        }
        Ok(out)
    }

    fn create_with(
        self,
        files: Vec<NewFile>,
        meta: CommitMeta,
        group: Option<&Group>,
    ) -> Result<(CommitReport, Option<Staged>), Error> {
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
        if let Some(group) = group {
            let (report, staged) = group.stage(&self.dir, |syncs| {
                let (pending, created) = match placement {
                    Placement::Sibling => {
                        let s = create::build_sibling(
                            &self.dir,
                            &toml,
                            &self.key,
                            version,
                            Some(group),
                            syncs,
                        )?;
                        let created = s.created().clone();
                        (Pending::Sibling(s), created)
                    }
                    Placement::InPlace => {
                        let mut p =
                            create::build_in_place(&self.dir, &toml, &self.key, version, syncs)?;
                        p.commit.plan.forget_bytes();
                        let created = p.created();
                        (Pending::InPlace(p), created)
                    }
                };
                Ok((pending, created_report(created)))
            })?;
            return Ok((report, Some(staged)));
        }
        let created = create::create(&self.dir, placement, &toml, &self.key, version)?;
        Ok((created_report(created), None))
    }

    /// Writes `files` as the next version, alone (durable on return).
    pub(crate) fn write_version(
        self,
        files: Vec<NewFile>,
        meta: CommitMeta,
        restored: Option<u64>,
        state_files: Option<crate::txn::WithCommit>,
    ) -> Result<CommitReport, Error> {
        self.write_version_in(files, meta, restored, state_files, None).map(|(report, _)| report)
    }

    /// [`Target::write_version`], staged in `group` when one is given.
    fn write_version_in(
        self,
        files: Vec<NewFile>,
        mut meta: CommitMeta,
        restored: Option<u64>,
        state_files: Option<crate::txn::WithCommit>,
        group: Option<&Group>,
    ) -> Result<(CommitReport, Option<Staged>), Error> {
        if self.holds(&files) {
            // Every live file keeps its bytes: a version would hold what the current one
            // holds, so none is made (the lock is released on return), and the state files
            // the commit carries (a rotation with nothing to re-seal) change on their own.
            if let Some(with) = state_files {
                crate::txn::run(&self.state(), &with.changes, with.key_switch)?;
            }
            return Ok((self.unchanged_report(&files), None));
        }
        let state = self.state();
        let version = self.version + 1;
        let cwd = self.dir.join(CWD);
        let items = meta.items.take();
        let record = Record::new(version, &meta, restored).with_digests(items, &files);
        // The live files were read when the folder was opened, and are still those (checked
        // under the lock still held).
        let plan = Plan::new(&cwd, files, Some((self.live, self.stamps)))?;
        let mut commit = Commit {
            dir: self.dir,
            state,
            version,
            record,
            plan,
            created: false,
            replaced: Some(self.version),
            state_files,
            upgrade: self.layout < layout::LAYOUT_VERSION,
            fell_back: std::cell::Cell::new(false),
            syncs: Syncs::Now,
        };
        if let Some(group) = group {
            let lock = self.lock;
            let dir = commit.dir.clone();
            let (report, staged) = group.stage(&dir, move |syncs| {
                commit.syncs = syncs;
                commit.stage()?;
                commit.plan.forget_bytes();
                let report = CommitReport {
                    version,
                    created: false,
                    files_written: commit.plan.written(),
                    files_kept: commit.plan.kept(),
                    files_removed: commit.plan.removed(),
                    unchanged: false,
                };
                Ok((Pending::Existing { commit, _lock: lock }, report))
            })?;
            return Ok((report, Some(staged)));
        }
        commit.prepare()?;
        commit.switch()?;
        let report = CommitReport {
            version,
            created: false,
            files_written: commit.plan.written(),
            files_kept: commit.plan.kept(),
            files_removed: commit.plan.removed(),
            unchanged: false,
        };
        Ok((report, None))
    }

    /// Every version of the folder, oldest first, the highest marked current. A new folder has
    /// none.
    pub fn history(&self) -> Result<Vec<VersionInfo>, Error> {
        if self.is_new() {
            return Ok(Vec::new());
        }
        history::list_upto(&self.state(), self.version)
    }
}

/// Checks that a folder that does not exist can be made: its parent folder exists.
fn check_parent(dir: &Path) -> Result<(), Error> {
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if parent.is_dir() {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::NotFound,
        format!(
            "cannot create {}: its parent folder {} does not exist; create it first",
            dir.display(),
            parent.display()
        ),
    )
    .at(parent))
}

/// Checks, cheaply and without a lock, that `dir` can be imported into: a managed folder whose
/// `server.toml` and key are usable, an empty folder, or a folder that does not exist but whose
/// parent does. Reads no configuration: the import checks this before it reads its export.
pub fn check_target(dir: &Path) -> Result<(), Error> {
    match layout::classify(dir)? {
        DirState::Missing => check_parent(dir),
        DirState::Empty => Ok(()),
        DirState::Other => Err(layout::not_a_server_folder(dir)),
        DirState::Unmanaged => Err(layout::not_managed_adopt(dir)),
        DirState::Managed => {
            let state = StatePaths::new(dir.join(STATE_DIR));
            match server::read(&state) {
                // A key rotation switching right now (its journal is there): the import's open
                // finds out, under the lock.
                Err(_) if crate::commit::needs_recovery(&state)? => Ok(()),
                r => r.map(|_| ()),
            }
        }
    }
}

/// The error for a folder being made managed by another process right now.
fn not_managed_yet(dir: &Path) -> Error {
    Error::new(
        ErrorKind::NotFound,
        format!(
            "there is no managed server folder at {} yet: another jimsctl is making it one right \
             now; try again when it has finished",
            dir.display()
        ),
    )
    .at(dir)
}

fn created_report(created: create::Created) -> CommitReport {
    CommitReport {
        version: created.version,
        created: true,
        files_written: created.written,
        files_kept: created.kept,
        files_removed: created.removed,
        unchanged: false,
    }
}

/// The native files of an empty full configuration.
pub(crate) fn empty_files() -> Result<Vec<NewFile>, Error> {
    files_of(&Configuration::empty_full())
}

/// Every native file of `config`, serialized.
pub(crate) fn files_of(config: &Configuration) -> Result<Vec<NewFile>, Error> {
    live::native_paths()
        .filter_map(|(section, rel)| {
            let file = config.get(section)?.files.iter().find(|f| f.path == rel)?;
            Some(
                crate::xml::write(file)
                    .map(|bytes| NewFile { path: rel, bytes: crypto::SecretBytes::new(bytes) }),
            )
        })
        .collect()
}

pub(crate) fn crypto_error(e: crypto::Error) -> Error {
    Error::new(ErrorKind::Crypto, format!("could not make or use the server key: {e}")).caused_by(e)
}
