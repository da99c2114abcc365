//! A FUSE filesystem for tests that forgets, at a simulated power cut, everything that was not
//! made durable, by the kernel's rules (see the `model` module): a file's data after its
//! `fsync`/`fdatasync`, a folder's entries (create, mkdir, symlink, link, unlink, rmdir, rename,
//! `RENAME_EXCHANGE`) after an `fsync` of that folder. Its tree lives in the test process's
//! memory (the "page cache" that a power cut loses, as in LazyFS), beside a model of what the
//! disk holds; [`PowerCutFs::crash`] unmounts it and keeps only the disk, and it can be mounted
//! again.
//!
//! `syncfs(2)` is invisible to a FUSE filesystem: the kernel forwards it only to virtiofs
//! servers (`fuse_sync_fs` in `fs/fuse/inode.c` returns at once unless the connection's
//! `sync_fs` is set, which only virtiofs does). So it makes nothing durable here, which is exactly what it guarantees on any FUSE
//! filesystem (sshfs, s3fs…): a program that relies on `syncfs` for its durability loses its
//! work there at a power cut.
//! A program can announce its `syncfs` by reading the attribute [`SYNCFS_XATTR`],
//! which then makes everything durable, as on a disk.
//!
//! While [`PowerCutFs::start_recording`] is on, every change (each FUSE call that alters the tree
//! or makes something durable) is counted and the durable state after it noted: a crash after
//! call N leaves [`Recording::after`]`(N)`, so one run of an operation gives every crash point.
//!
//! Mounting needs `/dev/fuse` and either root or the `fusermount3` helper (Debian package
//! `fuse3`); [`require`] says what is missing. Test-only: no other crate depends on it but for
//! its tests.

mod fs;
mod model;

/// The extended attribute whose reading (`getxattr` on any path of the filesystem) acts as a
/// `syncfs(2)` would on a disk: everything becomes durable. A program under test announces its
/// `syncfs` calls so (the store does under its `fault-injection` feature, with
/// `JIMSCTL_FAULT_SYNCFS_XATTR=1`), to test the order of its syncs as a disk sees it. The read
/// itself fails with `ENODATA`, as on any filesystem without the attribute.
pub const SYNCFS_XATTR: &str = "user.powercut.syncfs";

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use model::{Durable, Kind, State};

/// What the FUSE side and the test share.
struct Shared {
    state: State,
    /// Changes served since the filesystem was made.
    calls: u64,
    /// The recording, while on.
    log: Option<Log>,
}

/// The recording being made.
struct Log {
    calls: Vec<(&'static str, usize)>,
    states: Vec<Snapshot>,
}

/// What a folder entry of a durable state is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    /// A regular file: its bytes, its permission bits, and which file it is (the same number
    /// for every name of one file, numbered in the order the tree lists them).
    File {
        /// The bytes.
        data: Arc<Vec<u8>>,
        /// Permission bits.
        perm: u16,
        /// Identity among the hard links of the state.
        file: usize,
    },
    /// A folder and its permission bits.
    Dir {
        /// Permission bits.
        perm: u16,
    },
    /// A symbolic link and its target.
    Symlink(PathBuf),
}

/// A durable state: what a power cut leaves. Two snapshots are equal when they hold the same
/// tree (names, bytes, modes, links), whatever the inode numbers.
#[derive(Clone, Debug)]
pub struct Snapshot {
    durable: Arc<Durable>,
    tree: Arc<BTreeMap<PathBuf, Node>>,
}

impl PartialEq for Snapshot {
    fn eq(&self, other: &Snapshot) -> bool {
        Arc::ptr_eq(&self.tree, &other.tree) || self.tree == other.tree
    }
}

impl Eq for Snapshot {}

impl Snapshot {
    fn of(durable: &Durable) -> Snapshot {
        // Only what is reachable from the root survives.
        let state = State::from_durable(durable);
        let durable = state.durable;
        let mut tree = BTreeMap::new();
        let mut ids: std::collections::HashMap<u64, usize> = Default::default();
        let mut stack = vec![(PathBuf::new(), model::ROOT)];
        while let Some((path, ino)) = stack.pop() {
            let Kind::Dir(entries) = &durable.inodes[&ino].kind else { unreachable!() };
            for (name, child) in entries.iter().rev() {
                let p = path.join(name);
                let d = &durable.inodes[child];
                let node = match &d.kind {
                    Kind::File(data) => {
                        let n = ids.len();
                        let file = *ids.entry(*child).or_insert(n);
                        Node::File { data: Arc::clone(data), perm: d.perm, file }
                    }
                    Kind::Dir(_) => {
                        stack.push((p.clone(), *child));
                        Node::Dir { perm: d.perm }
                    }
                    Kind::Symlink(t) => Node::Symlink(t.clone()),
                };
                tree.insert(p, node);
            }
        }
        // Number the files in path order, so that equal trees compare equal.
        let mut renumber: std::collections::HashMap<usize, usize> = Default::default();
        for node in tree.values_mut() {
            if let Node::File { file, .. } = node {
                let n = renumber.len();
                *file = *renumber.entry(*file).or_insert(n);
            }
        }
        Snapshot { durable: Arc::new(durable), tree: Arc::new(tree) }
    }

    /// Every entry, by path relative to the root of the filesystem.
    pub fn tree(&self) -> &BTreeMap<PathBuf, Node> {
        &self.tree
    }

    /// Writes the state into `dir` (which must not exist) as a real folder tree: files with
    /// their bytes and modes, hard links as hard links, symbolic links: what a power cut left,
    /// to look at when a test fails.
    pub fn write_to(&self, dir: &Path) -> io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir(dir)?;
        let mut written: std::collections::HashMap<usize, PathBuf> = Default::default();
        let mut modes = Vec::new();
        for (rel, node) in self.tree.iter() {
            let at = dir.join(rel);
            match node {
                Node::Dir { perm } => {
                    std::fs::create_dir(&at)?;
                    modes.push((at, *perm));
                }
                Node::File { data, perm, file } => match written.get(file) {
                    Some(first) => std::fs::hard_link(first, &at)?,
                    None => {
                        std::fs::write(&at, data.as_slice())?;
                        std::fs::set_permissions(
                            &at,
                            std::fs::Permissions::from_mode(u32::from(*perm)),
                        )?;
                        written.insert(*file, at);
                    }
                },
                Node::Symlink(target) => std::os::unix::fs::symlink(target, &at)?,
            }
        }
        // Folders last: a folder without write permission would refuse what goes in it.
        for (at, perm) in modes.into_iter().rev() {
            std::fs::set_permissions(&at, std::fs::Permissions::from_mode(u32::from(perm)))?;
        }
        Ok(())
    }

    /// The bytes of the file at `path` (relative to the root), if it is one.
    pub fn file(&self, path: impl AsRef<Path>) -> Option<&[u8]> {
        match self.tree.get(path.as_ref()) {
            Some(Node::File { data, .. }) => Some(data.as_slice()),
            _ => None,
        }
    }
}

/// A change served while recording.
#[derive(Clone, Debug)]
pub struct Call {
    /// What it was (`write`, `rename`, `fsync folder`…).
    pub what: &'static str,
    /// The index in [`Recording::states`] of the durable state right after it.
    pub state: usize,
}

/// Every change served between [`PowerCutFs::start_recording`] and
/// [`PowerCutFs::stop_recording`], and the durable states they went through.
#[derive(Clone, Debug)]
pub struct Recording {
    /// The changes, in order.
    pub calls: Vec<Call>,
    /// The durable states: the first is the state when the recording started, then one per
    /// change that made something durable.
    pub states: Vec<Snapshot>,
}

impl Recording {
    /// What a power cut right after change `n` (1-based; 0: before the first) leaves.
    pub fn after(&self, n: usize) -> &Snapshot {
        match n {
            0 => &self.states[0],
            n => &self.states[self.calls[n - 1].state],
        }
    }

    /// The distinct durable states, each with the changes after which a power cut leaves it
    /// (1-based, 0 for before the first change): a power cut after any of them is the same
    /// power cut.
    pub fn distinct(&self) -> Vec<(Snapshot, Vec<usize>)> {
        let mut out: Vec<(Snapshot, Vec<usize>)> = Vec::new();
        for n in 0..=self.calls.len() {
            let s = self.after(n);
            match out.iter_mut().find(|(t, _)| t == s) {
                Some((_, at)) => at.push(n),
                None => out.push((s.clone(), vec![n])),
            }
        }
        out
    }
}

/// Whether this machine can mount the filesystem: `Err` says what is missing and how to get it.
pub fn require() -> Result<(), String> {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let helper = ["/usr/bin/fusermount3", "/bin/fusermount3", "/usr/local/bin/fusermount3"]
        .iter()
        .any(|p| Path::new(p).exists());
    what_is_missing(Path::new("/dev/fuse").exists(), root, helper)
}

/// [`require`]'s verdict from what it found.
fn what_is_missing(device: bool, root: bool, helper: bool) -> Result<(), String> {
    let mut missing = Vec::new();
    if !device {
        missing.push(
            "the FUSE device /dev/fuse (load the kernel module: `modprobe fuse`; in a container, \
             pass --device /dev/fuse)",
        );
    }
    if !root && !helper {
        missing.push(
            "fusermount3, to mount without root (Debian package fuse3: `apt-get install fuse3`)",
        );
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the power-loss tests mount a FUSE filesystem, and this machine lacks {}",
            missing.join(", and ")
        ))
    }
}

/// A mount in progress.
struct Mounted {
    session: Option<fuser::BackgroundSession>,
    at: PathBuf,
}

impl Mounted {
    fn unmount(&mut self) -> io::Result<()> {
        let Some(session) = self.session.take() else { return Ok(()) };
        let at = self.at.clone();
        // A process forked by another thread of the test may hold a descriptor of the mount for
        // a moment (until its exec closes it): busy is retried for a while.
        for _ in 0..100 {
            match umount(&at) {
                // Unmounted: the session's thread ends (its device reports the end).
                Ok(()) => return session.join(),
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                // Not root: fuser goes through fusermount3.
                Err(_) => break,
            }
        }
        match session.umount_and_join() {
            Ok(()) => Ok(()),
            Err(e) => {
                // Busy (a process still in it): detach it, so that no mount is left behind.
                lazy_unmount(&at);
                Err(e)
            }
        }
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = self.unmount();
    }
}

fn umount(at: &Path) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(at.as_os_str().as_bytes())?;
    // SAFETY: a valid NUL-terminated path that outlives the call.
    if unsafe { libc::umount2(c.as_ptr(), 0) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn lazy_unmount(at: &Path) {
    use std::os::unix::ffi::OsStrExt;
    if let Ok(c) = std::ffi::CString::new(at.as_os_str().as_bytes()) {
        // SAFETY: a valid NUL-terminated path that outlives the call.
        unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
    }
    let _ = std::process::Command::new("fusermount3")
        .arg("-uz")
        .arg(at)
        .stderr(std::process::Stdio::null())
        .status();
}

/// The filesystem: its state, and its mount while mounted. Dropping it unmounts it.
pub struct PowerCutFs {
    shared: Arc<Mutex<Shared>>,
    mounted: Option<Mounted>,
}

impl std::fmt::Debug for PowerCutFs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PowerCutFs").field("mounted", &self.mountpoint()).finish()
    }
}

impl Default for PowerCutFs {
    fn default() -> Self {
        PowerCutFs::new()
    }
}

impl PowerCutFs {
    /// An empty filesystem (its root folder, mode 0755, durable).
    pub fn new() -> PowerCutFs {
        PowerCutFs::with_state(State::empty())
    }

    /// A filesystem holding `snapshot`, all of it durable: the disk after a power cut.
    pub fn from_snapshot(snapshot: &Snapshot) -> PowerCutFs {
        PowerCutFs::with_state(State::from_durable(&snapshot.durable))
    }

    fn with_state(state: State) -> PowerCutFs {
        PowerCutFs {
            shared: Arc::new(Mutex::new(Shared { state, calls: 0, log: None })),
            mounted: None,
        }
    }

    fn shared(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Mounts it at `at` (an existing empty folder). Panics with what is missing when the machine
    /// cannot mount FUSE filesystems.
    pub fn mount(&mut self, at: &Path) -> io::Result<()> {
        if let Err(missing) = require() {
            panic!("{missing}");
        }
        if self.mounted.is_some() {
            return Err(io::Error::other("already mounted"));
        }
        let mut config = fuser::Config::default();
        config.mount_options = vec![
            fuser::MountOption::FSName("powercut".into()),
            fuser::MountOption::Subtype("powercut".into()),
            fuser::MountOption::RW,
        ];
        config.n_threads = Some(1);
        let fs = fs::PowerCut { shared: Arc::clone(&self.shared) };
        let session = fuser::spawn_mount(fs, at, &config)?;
        self.mounted = Some(Mounted { session: Some(session), at: at.to_path_buf() });
        Ok(())
    }

    /// Where it is mounted.
    pub fn mountpoint(&self) -> Option<&Path> {
        self.mounted.as_ref().map(|m| m.at.as_path())
    }

    /// Unmounts it, keeping everything (a clean shutdown: as if everything were synced, which
    /// [`PowerCutFs::sync_all`] makes true).
    pub fn unmount(&mut self) -> io::Result<()> {
        match self.mounted.take() {
            Some(mut m) => m.unmount(),
            None => Ok(()),
        }
    }

    /// The power cut: unmounts it and forgets everything that was not durable. It can be
    /// mounted again.
    pub fn crash(&mut self) -> io::Result<()> {
        let unmounted = self.unmount();
        let mut s = self.shared();
        s.state = State::from_durable(&s.state.durable);
        unmounted
    }

    /// Makes everything durable (to prepare a starting state).
    pub fn sync_all(&self) {
        self.shared().state.sync_all();
    }

    /// The changes served so far.
    pub fn calls(&self) -> u64 {
        self.shared().calls
    }

    /// What a power cut now would leave.
    pub fn durable(&self) -> Snapshot {
        Snapshot::of(&self.shared().state.durable)
    }

    /// Starts recording the changes and the durable states they go through (see
    /// [`Recording`]).
    pub fn start_recording(&self) {
        let mut s = self.shared();
        let first = Snapshot::of(&s.state.durable);
        s.log = Some(Log { calls: Vec::new(), states: vec![first] });
    }

    /// Stops recording and returns the recording (empty when none was started).
    pub fn stop_recording(&self) -> Recording {
        let log = self.shared().log.take();
        match log {
            Some(log) => Recording {
                calls: log.calls.into_iter().map(|(what, state)| Call { what, state }).collect(),
                states: log.states,
            },
            None => Recording { calls: Vec::new(), states: vec![self.durable()] },
        }
    }
}

/// A temporary mount point with a [`PowerCutFs`] mounted on it, for tests: unmounted (and the
/// folder removed) on drop, whatever happened.
pub struct TestMount {
    /// The filesystem.
    pub fs: PowerCutFs,
    dir: PathBuf,
}

impl TestMount {
    /// Mounts `fs` on a new folder under the system's temporary folder.
    pub fn new(mut fs: PowerCutFs) -> TestMount {
        let dir = std::env::temp_dir().join(format!(
            "powercut-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).expect("a mount point");
        fs.mount(&dir)
            .unwrap_or_else(|e| panic!("mounting the test filesystem on {}: {e}", dir.display()));
        TestMount { fs, dir }
    }

    /// The mount point.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The power cut, then mounted again on the same folder.
    pub fn crash_and_remount(&mut self) {
        self.fs.crash().expect("unmounting for the power cut");
        self.fs.mount(&self.dir).expect("mounting again after the power cut");
    }
}

static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl Drop for TestMount {
    fn drop(&mut self) {
        let _ = self.fs.unmount();
        let _ = std::fs::remove_dir(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_missing_is_said_with_how_to_get_it() {
        assert!(what_is_missing(true, true, false).is_ok());
        assert!(what_is_missing(true, false, true).is_ok());
        let e = what_is_missing(false, true, true).unwrap_err();
        assert!(e.contains("/dev/fuse") && e.contains("modprobe fuse"), "{e}");
        assert!(!e.contains("fusermount3"), "{e}");
        let e = what_is_missing(true, false, false).unwrap_err();
        assert!(e.contains("fusermount3") && e.contains("apt-get install fuse3"), "{e}");
        let e = what_is_missing(false, false, false).unwrap_err();
        assert!(e.contains("/dev/fuse") && e.contains("fusermount3"), "{e}");
    }
}
