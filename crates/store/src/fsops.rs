//! Every filesystem change the store makes, one small durable step at a time.
//!
//! Each function here announces itself through [`step`] before it touches the disk. With the
//! `fault-injection` feature, `JIMSCTL_FAULT_STEP=N` aborts the process at the N-th step, which
//! is how the crash tests prove that a commit interrupted anywhere leaves the old or the new
//! configuration and never a mix. Without the feature `step` does nothing.
//!
//! A group commit ([`crate::Group`]) runs these steps inside [`deferring`]: files and folders are
//! then not synced one by one; the group makes them durable all at once with [`syncfs`] between
//! its phases, in the same order as the one-by-one syncs would.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::error::Error;

/// Announces the next filesystem step (see the module documentation).
fn step(what: &'static str) {
    #[cfg(feature = "fault-injection")]
    fault::hit(what);
    #[cfg(not(feature = "fault-injection"))]
    let _ = what;
}

#[cfg(feature = "fault-injection")]
mod fault {
    //! `JIMSCTL_FAULT_STEP=N`: abort at the N-th step. `JIMSCTL_FAULT_PAUSE=N`: stop before the
    //! N-th step, say so on stderr (`jimsctl fault-injection: paused at step N (…)`) and wait
    //! to be killed, so that another process can `SIGKILL` it there.
    //! `JIMSCTL_FAULT_NO_EXCHANGE=1`: act as if the kernel did not support `RENAME_EXCHANGE`.
    //! `JIMSCTL_FAULT_TRACE=1`: print each step.

    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};

    static COUNT: AtomicU64 = AtomicU64::new(0);

    struct Settings {
        abort_at: Option<u64>,
        pause_at: Option<u64>,
        no_exchange: bool,
        trace: bool,
    }

    fn settings() -> &'static Settings {
        static SETTINGS: OnceLock<Settings> = OnceLock::new();
        SETTINGS.get_or_init(|| Settings {
            abort_at: std::env::var("JIMSCTL_FAULT_STEP").ok().and_then(|v| v.parse().ok()),
            pause_at: std::env::var("JIMSCTL_FAULT_PAUSE").ok().and_then(|v| v.parse().ok()),
            no_exchange: std::env::var_os("JIMSCTL_FAULT_NO_EXCHANGE").is_some(),
            trace: std::env::var_os("JIMSCTL_FAULT_TRACE").is_some(),
        })
    }

    pub(super) fn hit(what: &'static str) {
        let n = COUNT.fetch_add(1, Ordering::SeqCst) + 1;
        let s = settings();
        if s.trace {
            eprintln!("jimsctl fault-injection step {n}: {what}");
        }
        if s.abort_at == Some(n) {
            eprintln!("jimsctl fault-injection: aborting at step {n} ({what})");
            std::process::abort();
        }
        if s.pause_at == Some(n) {
            eprintln!("jimsctl fault-injection: paused at step {n} ({what})");
            loop {
                std::thread::sleep(std::time::Duration::from_secs(1));
            }
        }
    }

    /// `JIMSCTL_FAULT_SYNCFS_XATTR=1`: every [`super::syncfs`] is also announced to the
    /// filesystem by a `getxattr` of `user.powercut.syncfs` on the folder (which a FUSE
    /// filesystem sees, unlike `syncfs`), and `syncfs` is trusted on every filesystem: the
    /// power-loss tests' filesystem then acts on it as a disk's would.
    pub(super) fn syncfs_marked() -> bool {
        static MARKED: OnceLock<bool> = OnceLock::new();
        *MARKED.get_or_init(|| {
            std::env::var_os("JIMSCTL_FAULT_SYNCFS_XATTR").is_some_and(|v| v == "1")
        })
    }

    /// Announces a `syncfs` of the filesystem holding `dir` (see [`syncfs_marked`]).
    pub(super) fn mark_syncfs(dir: &std::path::Path) {
        if !syncfs_marked() {
            return;
        }
        let mut buf = [0u8; 1];
        let _ = rustix::fs::getxattr(dir, "user.powercut.syncfs", &mut buf);
    }

    pub(super) fn exchange_disabled() -> bool {
        settings().no_exchange
    }
}

thread_local! {
    /// Whether this thread's syncs are deferred to a group's [`syncfs`] (see [`deferring`]).
    static DEFERRED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f`, which writes to the filesystem holding `dir`, with this thread's per-file and
/// per-folder syncs deferred: the caller promises to call [`syncfs`] on that filesystem before
/// anything depends on what `f` wrote being durable. Only where `syncfs` reaches the disk
/// ([`syncfs_reaches_disk`]); elsewhere every sync still happens.
pub(crate) fn deferring<R>(dir: &Path, f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            DEFERRED.with(|d| d.set(self.0));
        }
    }
    let defer = syncfs_reaches_disk(dir);
    let _restore = Restore(DEFERRED.with(|d| d.replace(defer)));
    f()
}

/// Whether `syncfs(2)` of the filesystem holding `path` (or its nearest existing ancestor)
/// makes everything written to it durable. Not on FUSE filesystems (sshfs, s3fs, rclone,
/// mergerfs…): the kernel forwards `syncfs` only to virtiofs, so on the others it returns
/// without the filesystem's server ever knowing; there only `fsync`s reach it. Not elsewhere
/// than on Linux, which has no `syncfs`.
pub(crate) fn syncfs_reaches_disk(path: &Path) -> bool {
    #[cfg(target_os = "linux")]
    {
        /// `FUSE_SUPER_MAGIC` (linux/magic.h): every FUSE filesystem, fuseblk included.
        const FUSE_SUPER_MAGIC: i64 = 0x6573_5546;
        #[cfg(feature = "fault-injection")]
        if fault::syncfs_marked() {
            return true;
        }
        let mut at = Some(path);
        while let Some(p) = at {
            let p = if p.as_os_str().is_empty() { Path::new(".") } else { p };
            match rustix::fs::statfs(p) {
                #[allow(clippy::unnecessary_cast)]
                Ok(st) => return st.f_type as i64 != FUSE_SUPER_MAGIC,
                Err(rustix::io::Errno::NOENT) => {}
                Err(_) => return false,
            }
            at = p.parent();
        }
        false
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = path;
        false
    }
}

/// Whether syncs are deferred on this thread.
fn deferred() -> bool {
    DEFERRED.with(std::cell::Cell::get)
}

/// Flushes every file and folder of the filesystem holding the folder `dir` to disk
/// (`syncfs(2)`): what any process wrote to that filesystem before the call is durable when it
/// returns. Elsewhere than on Linux the syncs were not deferred, so there is nothing to do.
pub(crate) fn syncfs(dir: &Path) -> Result<(), Error> {
    step("sync filesystem");
    #[cfg(target_os = "linux")]
    {
        let d = File::open(dir).map_err(|e| Error::io("open the folder", dir, e))?;
        rustix::fs::syncfs(&d)
            .map_err(|e| Error::io("sync the filesystem of", dir, io::Error::from(e)))?;
        #[cfg(feature = "fault-injection")]
        fault::mark_syncfs(dir);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = dir;
    Ok(())
}

/// Creates directory `path` with `mode` (the parent must exist).
pub(crate) fn create_dir(path: &Path, mode: u32) -> Result<(), Error> {
    step("create folder");
    fs::DirBuilder::new()
        .mode(mode)
        .create(path)
        .map_err(|e| Error::io("create the folder", path, e))
}

/// Creates a new file with `mode` from the start (never more open than that), writes `bytes`
/// and syncs its data. Fails if the file exists.
pub(crate) fn write_new_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), Error> {
    step("create file");
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| Error::io("create", path, e))?;
    step("write file");
    file.write_all(bytes).map_err(|e| Error::io("write", path, e))?;
    if deferred() {
        return Ok(());
    }
    step("sync file");
    file.sync_all().map_err(|e| Error::io("sync", path, e))
}

/// Makes `link` a new hard link to the file `original`.
pub(crate) fn hard_link(original: &Path, link: &Path) -> Result<(), Error> {
    step("hard link");
    fs::hard_link(original, link).map_err(|e| Error::io("link", link, e))
}

/// Makes `link` a symbolic link with the same target as the symbolic link `original`.
pub(crate) fn copy_symlink(original: &Path, link: &Path) -> Result<(), Error> {
    let target = fs::read_link(original).map_err(|e| Error::io("read the link", original, e))?;
    step("symbolic link");
    std::os::unix::fs::symlink(&target, link).map_err(|e| Error::io("create the link", link, e))
}

/// Flushes a directory's entries to disk.
pub(crate) fn sync_dir(path: &Path) -> Result<(), Error> {
    if deferred() {
        return Ok(());
    }
    step("sync folder");
    File::open(path).and_then(|d| d.sync_all()).map_err(|e| Error::io("sync the folder", path, e))
}

/// Renames `from` to `to` (same filesystem; replaces an empty directory or a file at `to`).
pub(crate) fn rename(from: &Path, to: &Path) -> Result<(), Error> {
    step("rename");
    fs::rename(from, to).map_err(|e| Error::io(&format!("rename {} to", from.display()), to, e))
}

/// Like [`rename`] but hands the raw I/O error back, for callers that map some errors to other
/// kinds.
pub(crate) fn rename_raw(from: &Path, to: &Path) -> io::Result<()> {
    step("rename");
    fs::rename(from, to)
}

/// Atomically exchanges the two paths. `Ok(false)` when the system does not support it
/// (the caller then falls back to two renames).
pub(crate) fn exchange(a: &Path, b: &Path) -> Result<bool, Error> {
    #[cfg(feature = "fault-injection")]
    if fault::exchange_disabled() {
        return Ok(false);
    }
    step("exchange");
    match exchange_sys(a, b) {
        Ok(()) => Ok(true),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS | libc::ENOTSUP)) => {
            Ok(false)
        }
        Err(e) => Err(Error::io(&format!("exchange {} with", a.display()), b, e)),
    }
}

#[cfg(target_os = "linux")]
fn exchange_sys(a: &Path, b: &Path) -> io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    Ok(renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE)?)
}

#[cfg(not(target_os = "linux"))]
fn exchange_sys(_a: &Path, _b: &Path) -> io::Result<()> {
    Err(io::Error::from_raw_os_error(libc::ENOTSUP))
}

/// Removes a file; a file already gone is fine.
pub(crate) fn remove_file(path: &Path) -> Result<(), Error> {
    step("remove file");
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(Error::io("remove", path, e)),
        _ => Ok(()),
    }
}

/// Removes a folder and everything in it (links are removed, not followed); a folder already
/// gone is fine.
pub(crate) fn remove_tree(path: &Path) -> Result<(), Error> {
    step("remove folder");
    match fs::remove_dir_all(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(Error::io("remove", path, e)),
        _ => Ok(()),
    }
}

/// Appends `line` and a newline to `path` (created with mode 0600) and syncs it.
pub(crate) fn append_line(path: &Path, line: &str) -> Result<(), Error> {
    step("append");
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => Error::symlink(path),
            _ => Error::io("open", path, e),
        })?;
    let mut buf = Vec::with_capacity(line.len() + 1);
    buf.extend_from_slice(line.as_bytes());
    buf.push(b'\n');
    file.write_all(&buf).map_err(|e| Error::io("append to", path, e))?;
    if deferred() {
        return Ok(());
    }
    step("sync file");
    file.sync_data().map_err(|e| Error::io("sync", path, e))
}

/// The permission bits of `path`'s metadata.
pub(crate) fn mode_of(meta: &fs::Metadata) -> u32 {
    meta.permissions().mode() & 0o7777
}

/// `symlink_metadata` that maps "not found" to `None` and refuses symbolic links.
pub(crate) fn lstat(path: &Path) -> Result<Option<fs::Metadata>, Error> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(Error::symlink(path)),
        Ok(m) => Ok(Some(m)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("inspect", path, e)),
    }
}

/// Reads a regular file without following a symbolic link; `None` when it does not exist.
pub(crate) fn read_file(path: &Path) -> Result<Option<crypto::SecretBytes>, Error> {
    use std::io::Read;
    let mut file = match OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Err(Error::symlink(path)),
        Err(e) => return Err(Error::io("open", path, e)),
    };
    let meta = file.metadata().map_err(|e| Error::io("inspect", path, e))?;
    if !meta.is_file() {
        return Err(Error::corrupt(path, "expected a regular file"));
    }
    // Pre-sized: the contents may hold passwords, and a growing buffer leaves copies behind.
    // Read into the sized buffer directly (`read_to_end` would inspect and seek the file again:
    // two more calls per file, for every file a re-import reads).
    let mut buf = crypto::SecretBytes::with_capacity(meta.len() as usize + 1);
    buf.resize(meta.len() as usize + 1, 0);
    let mut filled = 0;
    loop {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => {
                filled += n;
                if filled == buf.len() {
                    // The file grew since it was inspected: read the rest as it comes.
                    buf.truncate(filled);
                    file.read_to_end(&mut buf).map_err(|e| Error::io("read", path, e))?;
                    return Ok(Some(buf));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io("read", path, e)),
        }
    }
    buf.truncate(filled);
    Ok(Some(buf))
}

/// Opens an unnamed file in the folder `dir` for writing (`O_TMPFILE`), with permission bits
/// `mode` from the start: it has no name until [`link_unnamed`] gives it one, so a process
/// killed before then leaves nothing behind. `Ok(None)` when the filesystem (or the system)
/// cannot make unnamed files: the caller then writes through a named temporary file.
pub(crate) fn create_unnamed(dir: &Path, mode: u32) -> Result<Option<File>, Error> {
    step("create file");
    #[cfg(target_os = "linux")]
    {
        match OpenOptions::new()
            .write(true)
            .mode(mode)
            .custom_flags(libc::O_TMPFILE | libc::O_CLOEXEC)
            .open(dir)
        {
            Ok(f) => Ok(Some(f)),
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EOPNOTSUPP | libc::EISDIR | libc::EINVAL | libc::ENOSYS)
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(Error::io("create an unnamed temporary file in", dir, e)),
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (dir, mode);
        Ok(None)
    }
}

/// Gives the unnamed file `file` (from [`create_unnamed`]) the name `to`, which must not exist.
/// `Ok(false)` when the system cannot (no `/proc` and no `CAP_DAC_READ_SEARCH` for
/// `AT_EMPTY_PATH`): the caller then writes through a named temporary file.
pub(crate) fn link_unnamed(file: &File, to: &Path) -> io::Result<bool> {
    step("link");
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{AtFlags, CWD, linkat};
        use rustix::io::Errno;
        use std::os::fd::AsRawFd;
        let proc = format!("/proc/self/fd/{}", file.as_raw_fd());
        match linkat(CWD, proc.as_str(), CWD, to, AtFlags::SYMLINK_FOLLOW) {
            Ok(()) => return Ok(true),
            Err(Errno::NOENT) => {}
            Err(e) => return Err(e.into()),
        }
        // No /proc: the descriptor itself, which needs CAP_DAC_READ_SEARCH.
        match linkat(file, "", CWD, to, AtFlags::EMPTY_PATH) {
            Ok(()) => Ok(true),
            Err(Errno::NOENT | Errno::PERM | Errno::ACCESS) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (file, to);
        Ok(false)
    }
}

/// Creates the new file `path` with `mode` for writing (never through a link); the caller
/// writes it with [`write_all`] and syncs it with [`sync_file`].
pub(crate) fn create_file(path: &Path, mode: u32) -> io::Result<File> {
    step("create file");
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

/// Writes all of `bytes` to `file` (named `path` in errors).
pub(crate) fn write_all(file: &mut File, bytes: &[u8], path: &Path) -> Result<(), Error> {
    step("write file");
    file.write_all(bytes).map_err(|e| Error::io("write", path, e))
}

/// Syncs `file`'s data and metadata (named `path` in errors).
pub(crate) fn sync_file(file: &File, path: &Path) -> Result<(), Error> {
    if deferred() {
        return Ok(());
    }
    step("sync file");
    file.sync_all().map_err(|e| Error::io("sync", path, e))
}

/// Takes an exclusive `flock(2)` on the open file or folder `file`: `Ok(false)` when another
/// open file description holds one and `wait` is false. A temporary file or folder is locked by
/// its writer for as long as it lives, so that a later run tells a dead writer's leftover (free)
/// from a live writer's (locked).
pub(crate) fn lock(file: &File, wait: bool) -> io::Result<bool> {
    use rustix::fs::FlockOperation;
    use rustix::io::Errno;
    let op =
        if wait { FlockOperation::LockExclusive } else { FlockOperation::NonBlockingLockExclusive };
    loop {
        match rustix::fs::flock(file, op) {
            Ok(()) => return Ok(true),
            Err(Errno::INTR) => continue,
            Err(Errno::WOULDBLOCK) => return Ok(false),
            Err(e) => return Err(e.into()),
        }
    }
}

/// Eight random bytes as hex, for temporary names.
pub(crate) fn random_suffix() -> Result<String, Error> {
    let mut b = [0u8; 8];
    getrandom::getrandom(&mut b).map_err(|e| {
        Error::new(
            crate::ErrorKind::Crypto,
            format!("the operating system's random number generator failed: {e}"),
        )
    })?;
    Ok(hex::encode(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn tmp() -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("store-fsops-{}", random_suffix().unwrap()));
        fs::create_dir(&d).unwrap();
        d
    }

    #[test]
    fn new_files_have_their_mode_from_the_start_and_refuse_to_overwrite() {
        let d = tmp();
        let p = d.join("k");
        write_new_file(&p, b"abc", 0o600).unwrap();
        assert_eq!(fs::metadata(&p).unwrap().mode() & 0o777, 0o600);
        assert!(write_new_file(&p, b"x", 0o600).is_err());
        assert_eq!(fs::read(&p).unwrap(), b"abc");
        fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn exchange_swaps_two_folders() {
        let d = tmp();
        fs::create_dir(d.join("a")).unwrap();
        fs::write(d.join("a/f"), "A").unwrap();
        fs::create_dir(d.join("b")).unwrap();
        fs::write(d.join("b/f"), "B").unwrap();
        if exchange(&d.join("a"), &d.join("b")).unwrap() {
            assert_eq!(fs::read_to_string(d.join("a/f")).unwrap(), "B");
            assert_eq!(fs::read_to_string(d.join("b/f")).unwrap(), "A");
        }
        fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn reading_refuses_links_and_reports_absence() {
        let d = tmp();
        fs::write(d.join("real"), "x").unwrap();
        std::os::unix::fs::symlink(d.join("real"), d.join("link")).unwrap();
        assert_eq!(read_file(&d.join("link")).unwrap_err().kind(), crate::ErrorKind::Symlink);
        assert!(read_file(&d.join("absent")).unwrap().is_none());
        assert_eq!(read_file(&d.join("real")).unwrap().unwrap().as_slice(), b"x");
        assert_eq!(lstat(&d.join("link")).unwrap_err().kind(), crate::ErrorKind::Symlink);
        fs::remove_dir_all(d).unwrap();
    }
}
