//! Group commits: many commits made durable together, with a few `syncfs(2)` calls instead of
//! dozens of `fsync`s each.
//!
//! A commit alone syncs every file and folder it writes, in an order that keeps the folder
//! recoverable after a power loss at any moment (see [`crate::commit`]): some 60 syncs for a new
//! folder, a few milliseconds each on a disk. A batch of imports pays that per import. A
//! [`Group`] keeps the same order but pays it per group: every commit made with
//! [`crate::Target::commit_in`] is *staged* in the group it is given: its files and folders are
//! written without syncing, its lock is kept, and nothing is switched in. (The group is always
//! given: [`crate::Target::commit`] never stages, whatever the caller is in the middle of.)
//! [`Group::commit`] then runs every staged commit through the
//! same steps, phase by phase, with one `syncfs` of each filesystem concerned between phases:
//!
//! | phase | new folder (beside) | new folder (in place) | existing folder |
//! |---|---|---|---|
//! | staged | built beside it | state built under a partial name | staging and journal |
//! | 1 | | | |
//! | 2 | renamed into place: **committed** | partial renamed to `.jims-import` | history entry installed |
//! | 3 | | `cwd/` switched: **committed** | `cwd/` switched: **committed** |
//! | 4 | | audit line | replaced version kept in `history/`, audit line |
//! | 5 | | staging and journal removed | staging and journal removed |
//!
//! Each phase starts only once everything the phases before it wrote is durable (the `syncfs`
//! between them), which is exactly what the one-by-one syncs guaranteed, so each commit stays
//! atomic, and a crash at any moment leaves every folder of the group as it was or as committed
//! (the next open finishes or undoes it, as for a commit alone). When [`Group::commit`]
//! returns, every commit it reports done is durable.
//!
//! Where the system has no `syncfs` (other than Linux), or where `syncfs` does not reach the
//! disk (FUSE filesystems: the kernel forwards it only to virtiofs), staging syncs as a commit
//! alone does, each phase `fsync`s the folders whose entries it changed, and the group only
//! delays the switches.

use std::collections::BTreeSet;
use std::fmt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use crate::commit::{Commit, recover};
use crate::create::{InPlace, Sibling};
use crate::error::Error;
use crate::fsops::{self, Syncs};
use crate::lock::Lock;
use crate::target::CommitReport;

/// A commit staged in a group, waiting for [`Group::commit`].
pub(crate) enum Pending {
    /// A new folder built beside the path it takes.
    Sibling(Sibling),
    /// A new folder made inside an existing empty folder.
    InPlace(InPlace),
    /// The next version of a managed folder, under its lock.
    Existing {
        /// The commit, staged (its file contents already dropped).
        commit: Commit,
        /// The folder's exclusive lock, held until the commit is done.
        _lock: Option<Lock>,
    },
}

impl Pending {
    /// A folder on the filesystem that the commit writes to.
    fn filesystem(&self) -> &Path {
        match self {
            Pending::Sibling(s) => s.parent(),
            Pending::InPlace(p) => p.dir(),
            Pending::Existing { commit, .. } => &commit.dir,
        }
    }

    /// Gives the commit up: nothing of it remains (only before it is installed).
    fn abandon(self) {
        match self {
            Pending::Sibling(s) => s.abandon(),
            Pending::InPlace(p) => p.abandon(),
            Pending::Existing { commit, .. } => {
                let _ = recover(&commit.dir, &commit.state);
            }
        }
    }
}

/// One commit staged in a [`Group`] by [`crate::Target::commit_in`]: its place in
/// [`Group::commit`]'s results.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Staged(usize);

impl Staged {
    /// The index of this commit's result in what [`Group::commit`] returns.
    pub fn index(self) -> usize {
        self.0
    }
}

/// Where a staged commit writes, found once when it is staged rather than at every phase: a
/// folder of the filesystem (whose entries the phases change), that filesystem's device, and
/// whether `syncfs` reaches its disk there.
#[derive(Clone, Debug)]
struct Place {
    dir: PathBuf,
    dev: u64,
    syncfs: bool,
}

impl Place {
    fn of(pending: &Pending, syncfs: bool) -> Result<Place, Error> {
        let dir = pending.filesystem().to_path_buf();
        let dev = std::fs::metadata(&dir).map_err(|e| Error::io("inspect", &dir, e))?.dev();
        Ok(Place { dir, dev, syncfs })
    }
}

#[derive(Default)]
struct Inner {
    pending: Mutex<Vec<Option<(Pending, Place)>>>,
    /// Parent folders already cleared of dead processes' temporary siblings in this group.
    cleaned: Mutex<std::collections::HashSet<PathBuf>>,
}

/// A group commit (see the module documentation of `store::group`): commits staged in it by
/// [`crate::Target::commit_in`] are made durable and switched in, all together, by
/// [`Group::commit`]. Shared by reference between threads; each thread stages its own commits.
///
/// Dropping a group without committing it undoes every commit staged in it.
#[derive(Default)]
pub struct Group {
    inner: Arc<Inner>,
}

impl fmt::Debug for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Group").field("staged", &self.len()).finish()
    }
}

impl Group {
    /// An empty group.
    pub fn new() -> Group {
        Group::default()
    }

    /// The number of commits staged.
    pub fn len(&self) -> usize {
        self.inner.pending.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Whether no commit is staged.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Makes every staged commit durable and switches it in, phase by phase (see the
    /// module documentation of `store::group`). Returns one result per staged commit, in the order of
    /// [`Staged::index`]: `Ok` when it is done and durable, the error otherwise (the folder is
    /// then as it was, except as the error says).
    pub fn commit(self) -> Vec<Result<(), Error>> {
        let pending: Vec<Option<(Pending, Place)>> =
            std::mem::take(&mut *self.inner.pending.lock().unwrap_or_else(PoisonError::into_inner));
        let mut results: Vec<Option<Result<(), Error>>> = Vec::with_capacity(pending.len());
        let mut live: Vec<(usize, Pending, Place)> = Vec::with_capacity(pending.len());
        for (i, p) in pending.into_iter().enumerate() {
            match p {
                Some((p, place)) => {
                    results.push(None);
                    live.push((i, p, place));
                }
                None => results.push(Some(Err(gone()))),
            }
        }
        run_phases(live, &mut results);
        results.into_iter().map(|r| r.unwrap_or_else(|| Err(gone()))).collect()
    }

    /// Runs `clean` (clearing `parent` of every dead creator's temporary sibling) unless this
    /// group already did it for `parent`, and returns its result; the other threads of the group
    /// wait meanwhile, so that none of their own siblings exists yet.
    ///
    /// Without this, each new folder of a batch would list the whole parent folder: quadratic in
    /// the number of targets.
    pub(crate) fn clean_parent_once(
        &self,
        parent: &Path,
        clean: impl FnOnce() -> Result<(), Error>,
    ) -> Result<(), Error> {
        let mut cleaned = self.inner.cleaned.lock().unwrap_or_else(PoisonError::into_inner);
        if cleaned.contains(parent) {
            return Ok(());
        }
        let result = clean();
        if result.is_ok() {
            cleaned.insert(parent.to_path_buf());
        }
        result
    }

    /// Stages a commit in this group: `build`, which writes the folder `dir` (or creates it),
    /// runs with syncs deferred where `syncfs` reaches the disk, and returns the pending commit
    /// and its report.
    pub(crate) fn stage(
        &self,
        dir: &Path,
        build: impl FnOnce(Syncs) -> Result<(Pending, CommitReport), Error>,
    ) -> Result<(CommitReport, Staged), Error> {
        let syncfs = fsops::syncfs_reaches_disk(dir);
        let syncs = if syncfs { Syncs::Deferred } else { Syncs::Now };
        let (pending, report) = build(syncs)?;
        let place = match Place::of(&pending, syncfs) {
            Ok(place) => place,
            Err(e) => {
                pending.abandon();
                return Err(e);
            }
        };
        let mut list = self.inner.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let staged = Staged(list.len());
        list.push(Some((pending, place)));
        Ok((report, staged))
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        let pending =
            std::mem::take(&mut *self.inner.pending.lock().unwrap_or_else(PoisonError::into_inner));
        for (p, _) in pending.into_iter().flatten() {
            p.abandon();
        }
    }
}

fn gone() -> Error {
    Error::new(crate::ErrorKind::Io, "a staged commit was lost before its group committed")
}

/// A copy of `e` for each commit a shared failure concerns.
fn copy(e: &Error) -> Error {
    match e.path() {
        Some(p) => Error::new(e.kind(), e.to_string()).at(p),
        None => Error::new(e.kind(), e.to_string()),
    }
}

/// Makes durable what the phase wrote to the folders of `places` (and, for commits staged with
/// syncs deferred, inside them): one `syncfs` of each filesystem whose `syncfs` reaches the
/// disk; elsewhere (FUSE), where the steps synced their files and folders as they went, an
/// `fsync` of each folder, whose entries the phase changed.
fn sync_filesystems<'a>(places: impl IntoIterator<Item = &'a Place>) -> Result<(), Error> {
    let mut seen = BTreeSet::new();
    let mut synced = BTreeSet::new();
    for place in places {
        if !place.syncfs {
            if synced.insert(place.dir.clone()) {
                fsops::sync_dir(&place.dir, Syncs::Now)?;
            }
            continue;
        }
        if seen.insert(place.dev) {
            fsops::syncfs(&place.dir)?;
        }
    }
    Ok(())
}

/// A commit past phase 2, waiting for its switch, under its lock.
enum Switching {
    InPlace(InPlace),
    Existing { commit: Commit, _lock: Option<Lock> },
}

impl Switching {
    fn commit(&self) -> &Commit {
        match self {
            Switching::InPlace(p) => &p.commit,
            Switching::Existing { commit, .. } => commit,
        }
    }
}

type Results = [Option<Result<(), Error>>];

fn run_phases(live: Vec<(usize, Pending, Place)>, results: &mut Results) {
    if live.is_empty() {
        return;
    }
    // Phase 1: everything staged is durable.
    if let Err(e) = sync_filesystems(live.iter().map(|(_, _, place)| place)) {
        for (i, p, _) in live {
            p.abandon();
            results[i] = Some(Err(copy(&e)));
        }
        return;
    }
    // Phase 2: new folders beside are placed (committed); the others are installed.
    let mut placed: Vec<(usize, Place)> = Vec::new();
    let mut installed: Vec<(usize, Switching, Place)> = Vec::with_capacity(live.len());
    for (i, p, place) in live {
        match p {
            Pending::Sibling(s) => match s.place() {
                Ok(_) => placed.push((i, place)),
                Err(e) => results[i] = Some(Err(e)),
            },
            Pending::InPlace(mut p) => match p.install() {
                Ok(()) => installed.push((i, Switching::InPlace(p), place)),
                Err(e) => results[i] = Some(Err(e)),
            },
            Pending::Existing { commit, _lock } => match commit.install_steps() {
                Ok(()) => installed.push((i, Switching::Existing { commit, _lock }, place)),
                Err(e) => {
                    let _ = recover(&commit.dir, &commit.state);
                    results[i] = Some(Err(e));
                }
            },
        }
    }
    let synced = sync_filesystems(
        placed.iter().map(|(_, place)| place).chain(installed.iter().map(|(_, _, place)| place)),
    );
    for (i, _) in &placed {
        results[*i] = Some(synced.as_ref().map(|_| ()).map_err(copy));
    }
    if let Err(e) = synced {
        // Not switched yet: the recovery undoes them.
        for (i, s, _) in installed {
            let commit = s.commit();
            let _ = recover(&commit.dir, &commit.state);
            results[i] = Some(Err(copy(&e)));
        }
        return;
    }
    // Phase 3: the switches, the commit points.
    let mut switched: Vec<(Switching, Place)> = Vec::with_capacity(installed.len());
    for (i, s, place) in installed {
        let commit = s.commit();
        match commit.exchange_steps() {
            Ok(()) => {
                results[i] = Some(Ok(()));
                switched.push((s, place));
            }
            Err(e) => {
                let _ = recover(&commit.dir, &commit.state);
                results[i] = Some(Err(e));
            }
        }
    }
    // Phases 4 and 5: the clean-up. A commit switched stands; a failure here leaves the journal,
    // which the next open finishes, as after a commit alone.
    let places = || switched.iter().map(|(_, place)| place);
    if switched.is_empty() || sync_filesystems(places()).is_err() {
        return;
    }
    for (s, _) in &switched {
        let commit = s.commit();
        let _ = commit.keep().and_then(|()| commit.audit());
    }
    if sync_filesystems(places()).is_err() {
        return;
    }
    for (s, _) in &switched {
        let _ = s.commit().clean_up();
    }
    let _ = sync_filesystems(places());
}
