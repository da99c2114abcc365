//! Outputs: the files and folders jimsctl writes outside any managed folder (an export, a
//! converted bundle or folder, a secrets file to fill in, a batch report, its own settings),
//! through the same durable steps as a commit ([`crate::fsops`], fault injection included).
//!
//! Before anything is written, the output's place is checked ([`check`]): its folder must
//! exist (links, `.` and `..` resolved), lie in no managed folder (no ancestor holds
//! `.jims-import/`), and what is at the path may only be replaced when it is a regular file (for
//! a folder output: an empty folder). A FIFO, a device node, a socket, a folder or a symbolic
//! link is refused ([`ErrorKind::Output`], exit 2), never written through nor replaced.
//!
//! A file is written unnamed (`O_TMPFILE`) and synced, then linked under its name (a new output)
//! or under a temporary name that is at once renamed over the old file (a replaced one), and the
//! folder is synced: a process killed at any step leaves the old file or the new one, and a
//! plaintext export never lies about under another name but for the instant between that link
//! and the rename. Where the filesystem has no unnamed files, and for folders, a temporary
//! sibling `.NAME.jims-tmp-RANDOM` is written instead, and removed on failure. Every temporary
//! is locked (`flock`) by its writer for as long as it lives; the next write of the same output
//! removes those whose writer died (their lock is free), never a live writer's.

use std::ffi::OsString;
use std::fs::{self, File};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, ErrorKind};
use crate::fsops;
use crate::layout::STATE_DIR;

/// What an output is: one file, or a folder of files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputKind {
    /// A file (an export, a converted bundle, a report…); it may replace a regular file.
    File,
    /// A new folder (a converted server folder); it may replace an empty folder.
    Folder,
}

/// Where an output goes, checked.
struct Place<'a> {
    /// The output as it was named (what messages show).
    shown: &'a Path,
    /// Its folder, resolved: no link, no `.` or `..`.
    dir: PathBuf,
    /// Its name in `dir`.
    name: OsString,
    /// What is there now (a regular file, or an empty folder for a folder output), if anything.
    existing: Option<fs::Metadata>,
}

impl Place<'_> {
    /// The output's resolved path.
    fn target(&self) -> PathBuf {
        self.dir.join(&self.name)
    }

    /// A new temporary name beside the output.
    fn temporary(&self) -> Result<PathBuf, Error> {
        let mut name = OsString::from(".");
        name.push(&self.name);
        name.push(TEMP_MARK);
        name.push(fsops::random_suffix()?);
        Ok(self.dir.join(name))
    }
}

/// What follows `.NAME` in a temporary's name, before its 16 random hex digits.
const TEMP_MARK: &str = ".jims-tmp-";

/// An output that cannot be written where it was asked for (exit 2).
fn refuse(path: &Path, message: String) -> Error {
    Error::new(ErrorKind::Output, message).at(path)
}

/// What a file that is neither a regular file, a folder nor a link is, in words.
fn describe(t: fs::FileType) -> &'static str {
    if t.is_fifo() {
        "a named pipe (FIFO)"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// Checks that `path` may be written as an output of `kind`: its folder exists, lies in no
/// managed folder, and what is at `path` (if anything) is a regular file (an empty folder for
/// [`OutputKind::Folder`]). Writes nothing. [`write_file_atomic`] and [`write_folder_atomic`]
/// check again; call this first to refuse before any work is done.
pub fn check(path: &Path, kind: OutputKind) -> Result<(), Error> {
    place(path, kind).map(|_| ())
}

/// The first of `dir` and its ancestors that is a managed folder (holds `.jims-import`).
fn managed_ancestor(dir: &Path) -> Result<Option<&Path>, Error> {
    for a in dir.ancestors() {
        let state = a.join(STATE_DIR);
        match fs::symlink_metadata(&state) {
            Ok(_) => return Ok(Some(a)),
            Err(e)
                if matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory) => {}
            Err(e) => return Err(Error::io("inspect", &state, e)),
        }
    }
    Ok(None)
}

fn place(path: &Path, kind: OutputKind) -> Result<Place<'_>, Error> {
    let name = path
        .file_name()
        .ok_or_else(|| refuse(path, format!("{} is not a file or folder name", path.display())))?;
    let given = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let missing = || {
        refuse(
            path,
            format!(
                "cannot write {}: its folder {} does not exist; make it first",
                path.display(),
                given.display()
            ),
        )
    };
    let dir = match fs::canonicalize(given) {
        Ok(d) => d,
        Err(e) if matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory) => {
            return Err(missing());
        }
        Err(e) => return Err(Error::io("find the folder of", path, e)),
    };
    if !dir.is_dir() {
        return Err(missing());
    }
    if let Some(managed) = managed_ancestor(&dir)? {
        return Err(refuse(
            path,
            format!(
                "refusing to write {}: it is inside the managed server folder {}, which only \
                 `jimsctl import` and `rollback` change; write it outside that folder",
                path.display(),
                managed.display()
            ),
        ));
    }
    if name == STATE_DIR {
        return Err(refuse(
            path,
            format!(
                "refusing to write {}: `{STATE_DIR}` names a managed folder's state; choose \
                 another name",
                path.display()
            ),
        ));
    }
    let at = dir.join(name);
    let existing = match fs::symlink_metadata(&at) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io("inspect", path, e)),
        Ok(m) => {
            let t = m.file_type();
            let not_empty_folder = || {
                refuse(
                    path,
                    format!(
                        "{} exists and is not empty; the output is a new folder, made where nothing is or in \
                 an empty folder",
                        path.display()
                    ),
                )
            };
            if t.is_symlink() {
                return Err(refuse(
                    path,
                    format!(
                        "refusing to replace {}: it is a symbolic link, which jimsctl neither \
                         writes through nor replaces; remove it or choose another name",
                        path.display()
                    ),
                ));
            }
            match kind {
                OutputKind::File if t.is_file() => Some(m),
                OutputKind::File if t.is_dir() => {
                    return Err(refuse(
                        path,
                        format!(
                            "refusing to replace {}: it is a folder, and the output is a file; \
                             name a file",
                            path.display()
                        ),
                    ));
                }
                OutputKind::Folder if t.is_dir() => {
                    let mut entries =
                        fs::read_dir(&at).map_err(|e| Error::io("read the folder", path, e))?;
                    if entries.next().is_some() {
                        return Err(not_empty_folder());
                    }
                    Some(m)
                }
                OutputKind::Folder if t.is_file() => return Err(not_empty_folder()),
                _ => {
                    return Err(refuse(
                        path,
                        format!(
                            "refusing to replace {}: it is {}; an output replaces only a \
                             regular file",
                            path.display(),
                            describe(t)
                        ),
                    ));
                }
            }
        }
    };
    Ok(Place { shown: path, dir, name: name.to_owned(), existing })
}

/// Removes the temporaries of earlier writes of this output whose writer died (their lock is
/// free). Best effort: what cannot be inspected or removed is left alone.
fn clean_leftovers(place: &Place<'_>) {
    let mut prefix = b".".to_vec();
    prefix.extend_from_slice(place.name.as_bytes());
    prefix.extend_from_slice(TEMP_MARK.as_bytes());
    let Ok(entries) = fs::read_dir(&place.dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(random) = name.as_bytes().strip_prefix(prefix.as_slice()) else { continue };
        if random.len() != 16 || !random.iter().all(u8::is_ascii_hexdigit) {
            continue;
        }
        let path = place.dir.join(&name);
        let Ok(file) = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(&path)
        else {
            continue;
        };
        let Ok(meta) = file.metadata() else { continue };
        if !(meta.is_file() || meta.is_dir()) || !matches!(fsops::lock(&file, false), Ok(true)) {
            continue;
        }
        // Still the same file under that name (random names are never reused).
        match fs::symlink_metadata(&path) {
            Ok(m) if m.dev() == meta.dev() && m.ino() == meta.ino() => {}
            _ => continue,
        }
        let _ = if meta.is_dir() { fsops::remove_tree(&path) } else { fsops::remove_file(&path) };
    }
}

/// An output that appeared or changed at its path while it was being written.
fn changed_meanwhile(path: &Path) -> Error {
    refuse(
        path,
        format!(
            "{} appeared or changed while jimsctl was writing it; nothing was replaced: run \
             again",
            path.display()
        ),
    )
}

/// Moves the complete temporary `tmp` to the output's name, after checking that what is there
/// is still what [`place`] found (nothing, or the same regular file); removes `tmp` on failure.
fn replace(place: &Place<'_>, tmp: &Path) -> Result<(), Error> {
    let target = place.target();
    let same = match (fs::symlink_metadata(&target), &place.existing) {
        (Err(e), None) => e.kind() == io::ErrorKind::NotFound,
        (Ok(now), Some(was)) => {
            now.dev() == was.dev() && now.ino() == was.ino() && now.file_type() == was.file_type()
        }
        _ => false,
    };
    let result = if same {
        fsops::rename_raw(tmp, &target).map_err(|e| match e.kind() {
            io::ErrorKind::DirectoryNotEmpty
            | io::ErrorKind::AlreadyExists
            | io::ErrorKind::NotADirectory
            | io::ErrorKind::IsADirectory => changed_meanwhile(place.shown),
            _ => Error::io("replace", place.shown, e),
        })
    } else {
        Err(changed_meanwhile(place.shown))
    };
    if result.is_err() {
        let _ = if tmp.is_dir() { fsops::remove_tree(tmp) } else { fsops::remove_file(tmp) };
    }
    result
}

/// Syncs the output's folder, so that its new name is durable.
fn sync_folder(place: &Place<'_>) -> Result<(), Error> {
    fsops::sync_dir(&place.dir).map_err(|e| {
        Error::new(
            ErrorKind::Io,
            format!("could not sync the folder of {}: {e}", place.shown.display()),
        )
        .at(place.shown)
    })
}

/// Makes the folder `path`, and every missing folder above it, for outputs to go in (the
/// targets of `batch --exports`, the settings' folder, `man --out`). A folder that exists is
/// fine; one inside a managed folder (links and `..` resolved) is refused, as every output
/// there is.
///
/// # Errors
/// [`ErrorKind::Output`] (exit 2) for a folder inside a managed folder; [`ErrorKind::Io`]
/// naming the folder when it cannot be made.
pub fn create_folder(path: &Path) -> Result<(), Error> {
    // The nearest part of the path that exists, resolved, says where the folder would be.
    let mut existing = path;
    while !existing.as_os_str().is_empty() && fs::symlink_metadata(existing).is_err() {
        existing = existing.parent().unwrap_or(Path::new(""));
    }
    let existing = if existing.as_os_str().is_empty() { Path::new(".") } else { existing };
    if let Ok(real) = fs::canonicalize(existing)
        && let Some(managed) = managed_ancestor(&real)?
    {
        return Err(refuse(
            path,
            format!(
                "refusing to make {}: it is inside the managed server folder {}, which only \
                 `jimsctl import` and `rollback` change; choose a folder outside it",
                path.display(),
                managed.display()
            ),
        ));
    }
    fs::create_dir_all(path).map_err(|e| {
        Error::new(ErrorKind::Io, format!("cannot create {}: {e}", path.display())).at(path)
    })
}

/// Writes `bytes` to `path` atomically and durably, with permission bits `mode` from the start
/// (e.g. `0o600` for a file holding plaintext passwords): a reader, or the next run after a
/// crash, sees the old file or the new one, never a part. See the module documentation for what
/// is refused (exit 2) and how.
pub fn write_file_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), Error> {
    let place = place(path, OutputKind::File)?;
    clean_leftovers(&place);
    if let Some(mut file) = fsops::create_unnamed(&place.dir, mode)? {
        // Locked before it has any name: a leftover of this write is one whose writer died.
        fsops::lock(&file, true).map_err(|e| Error::io("lock", path, e))?;
        fsops::write_all(&mut file, bytes, path)?;
        fsops::sync_file(&file, path)?;
        if publish_unnamed(&place, &file)? {
            return sync_folder(&place);
        }
    }
    write_named(&place, bytes, mode)?;
    sync_folder(&place)
}

/// Links the written unnamed `file` as the output; `Ok(false)` when the system cannot link it.
fn publish_unnamed(place: &Place<'_>, file: &File) -> Result<bool, Error> {
    if place.existing.is_none() {
        // A new output: its final name at once, and never over something that appeared.
        return match fsops::link_unnamed(file, &place.target()) {
            Ok(linked) => Ok(linked),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                Err(changed_meanwhile(place.shown))
            }
            Err(e) => Err(Error::io("link the new file as", place.shown, e)),
        };
    }
    let tmp = place.temporary()?;
    match fsops::link_unnamed(file, &tmp) {
        Ok(true) => {}
        Ok(false) => return Ok(false),
        Err(e) => return Err(Error::io("link a temporary file beside", place.shown, e)),
    }
    replace(place, &tmp)?;
    Ok(true)
}

/// Writes the output through a named temporary file (no `O_TMPFILE`), removed on failure.
fn write_named(place: &Place<'_>, bytes: &[u8], mode: u32) -> Result<(), Error> {
    let path = place.shown;
    for _ in 0..8 {
        let tmp = place.temporary()?;
        let mut file = match fsops::create_file(&tmp, mode) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io("create a temporary file beside", path, e)),
        };
        fsops::lock(&file, true).map_err(|e| Error::io("lock", path, e))?;
        // Another run took it for a dead writer's leftover before the lock: start again.
        if file.metadata().map(|m| m.nlink() == 0).unwrap_or(true) {
            continue;
        }
        let written =
            fsops::write_all(&mut file, bytes, path).and_then(|()| fsops::sync_file(&file, path));
        if let Err(e) = written {
            let _ = fsops::remove_file(&tmp);
            return Err(e);
        }
        return replace(place, &tmp);
    }
    Err(Error::new(
        ErrorKind::Io,
        format!("could not create a temporary file beside {}", path.display()),
    )
    .at(path))
}

/// Writes the new folder `path` holding `files` (each a path relative to the folder, made of
/// plain names only, and its bytes), atomically and durably: the whole folder appears at once or
/// not at all.
///
/// Every file is created with permission bits `file_mode` and every folder with `dir_mode`
/// (`0o600` and `0o700` when a file holds plaintext passwords). The folder is built in a locked
/// temporary sibling, every file and folder synced, then renamed to `path` and the parent folder
/// synced; on failure the temporary folder is removed. `path` may be an empty folder, which the
/// new one replaces; anything else there is refused (exit 2), as is a missing parent folder.
pub fn write_folder_atomic<B: AsRef<[u8]>>(
    path: &Path,
    files: &[(PathBuf, B)],
    file_mode: u32,
    dir_mode: u32,
) -> Result<(), Error> {
    for (rel, _) in files {
        if rel.as_os_str().is_empty()
            || !rel.components().all(|c| matches!(c, Component::Normal(_)))
        {
            return Err(refuse(
                path,
                format!("{}: not a plain relative path inside the folder", rel.display()),
            ));
        }
    }
    let place = place(path, OutputKind::Folder)?;
    clean_leftovers(&place);
    let (tmp, _lock) = temporary_folder(&place, dir_mode)?;
    let result = fill_folder(&tmp, path, files, file_mode, dir_mode)
        .and_then(|()| replace(&place, &tmp).map_err(|e| folder_refusal(path, e)));
    if result.is_err() && tmp.exists() {
        let _ = fsops::remove_tree(&tmp);
    }
    result?;
    // The folder is in place: a failure to sync its parent is reported, and removes nothing.
    sync_folder(&place)
}

/// A new temporary folder beside the output, locked by this process.
fn temporary_folder(place: &Place<'_>, mode: u32) -> Result<(PathBuf, File), Error> {
    for _ in 0..8 {
        let tmp = place.temporary()?;
        match fsops::create_dir(&tmp, mode) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::Io && tmp.exists() => continue,
            Err(e) => return Err(e),
        }
        let Ok(dir) = File::open(&tmp) else { continue };
        fsops::lock(&dir, true).map_err(|e| Error::io("lock", &tmp, e))?;
        match (fs::symlink_metadata(&tmp), dir.metadata()) {
            (Ok(a), Ok(b)) if a.ino() == b.ino() && a.dev() == b.dev() => return Ok((tmp, dir)),
            _ => continue,
        }
    }
    Err(Error::new(
        ErrorKind::Io,
        format!("could not create a temporary folder beside {}", place.shown.display()),
    )
    .at(place.shown))
}

/// Where the file `rel` of the output `path` is, for messages.
fn shown_in(path: &Path, tmp: &Path, at: &Path) -> PathBuf {
    path.join(at.strip_prefix(tmp).unwrap_or(at))
}

/// Writes every file of the output into the temporary folder `tmp` and syncs them all.
fn fill_folder<B: AsRef<[u8]>>(
    tmp: &Path,
    path: &Path,
    files: &[(PathBuf, B)],
    file_mode: u32,
    dir_mode: u32,
) -> Result<(), Error> {
    let rename = |e: Error, at: &Path| -> Error {
        let shown = shown_in(path, tmp, at);
        let text = e.to_string().replace(&at.display().to_string(), &shown.display().to_string());
        Error::new(e.kind(), text).at(path)
    };
    // Every folder made, parents first; synced in reverse once every file is in.
    let mut made = vec![tmp.to_owned()];
    for (rel, bytes) in files {
        let mut at = tmp.to_owned();
        if let Some(parent) = rel.parent() {
            for part in parent.components() {
                at.push(part);
                if !made.contains(&at) {
                    fsops::create_dir(&at, dir_mode).map_err(|e| rename(e, &at))?;
                    made.push(at.clone());
                }
            }
        }
        let file_at = tmp.join(rel);
        let shown = shown_in(path, tmp, &file_at);
        let mut f = fsops::create_file(&file_at, file_mode)
            .map_err(|e| Error::io("create", &shown, e).at(path))?;
        fsops::write_all(&mut f, bytes.as_ref(), &shown)?;
        fsops::sync_file(&f, &shown)?;
    }
    for at in made.iter().rev() {
        fsops::sync_dir(at).map_err(|e| rename(e, at))?;
    }
    Ok(())
}

/// A folder output refused at the rename keeps the words of [`place`]'s refusal.
fn folder_refusal(path: &Path, e: Error) -> Error {
    if e.kind() == ErrorKind::Output {
        refuse(
            path,
            format!(
                "{} exists and is not empty; the output is a new folder, made where nothing is or in \
                 an empty folder",
                path.display()
            ),
        )
    } else {
        e
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    /// The names in `dir`, sorted.
    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn writes_with_mode_and_replaces_a_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.xml");
        write_file_atomic(&p, b"one", 0o600).unwrap();
        let first = fs::metadata(&p).unwrap().ino();
        write_file_atomic(&p, b"two", 0o600).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_ne!(fs::metadata(&p).unwrap().ino(), first, "a new file, not the old one rewritten");
        assert_eq!(fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(names(dir.path()), ["out.xml"], "no temporary file left");
    }

    #[test]
    fn the_named_fallback_writes_the_same_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.xml");
        for (bytes, existing) in [(b"one", None), (b"two", Some(()))] {
            let place = place(&p, OutputKind::File).unwrap();
            assert_eq!(place.existing.is_some(), existing.is_some());
            write_named(&place, bytes, 0o640).unwrap();
            assert_eq!(&fs::read(&p).unwrap(), bytes);
        }
        assert_eq!(names(dir.path()), ["out.xml"]);
    }

    #[test]
    fn a_missing_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = write_file_atomic(&dir.path().join("no/such/out.xml"), b"x", 0o644).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Output);
        assert!(e.to_string().contains("does not exist"), "{e}");
        assert!(!dir.path().join("no").exists());
    }

    #[test]
    fn what_is_not_a_regular_file_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::create_dir(d.join("folder")).unwrap();
        fs::write(d.join("real"), "real").unwrap();
        std::os::unix::fs::symlink(d.join("real"), d.join("link")).unwrap();
        std::os::unix::fs::symlink(d.join("absent"), d.join("dangling")).unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            d.join("fifo"),
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o644),
            0,
        )
        .unwrap();
        let sock = std::os::unix::net::UnixListener::bind(d.join("sock")).unwrap();
        for (name, words) in [
            ("folder", "it is a folder"),
            ("link", "it is a symbolic link"),
            ("dangling", "it is a symbolic link"),
            ("fifo", "it is a named pipe (FIFO)"),
            ("sock", "it is a socket"),
        ] {
            let p = d.join(name);
            let e = write_file_atomic(&p, b"x", 0o644).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Output, "{name}: {e}");
            assert!(e.to_string().contains(words), "{name}: {e}");
            assert!(e.to_string().contains(&p.display().to_string()), "{name}: {e}");
            assert_eq!(e.path(), Some(p.as_path()));
        }
        drop(sock);
        assert_eq!(fs::read(d.join("real")).unwrap(), b"real", "the link's target is untouched");
        assert!(!d.join("absent").exists(), "a dangling link is not followed");
        assert!(fs::symlink_metadata(d.join("fifo")).unwrap().file_type().is_fifo());
        assert_eq!(names(&d.join("folder")).len(), 0);
    }

    #[test]
    fn nothing_is_written_inside_a_managed_folder() {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path().join("t");
        fs::create_dir_all(t.join(".jims-import")).unwrap();
        fs::write(t.join(".jims-import/server.key"), "key").unwrap();
        fs::create_dir_all(t.join("cwd/config")).unwrap();
        let outside = dir.path().join("out");
        fs::create_dir(&outside).unwrap();
        std::os::unix::fs::symlink(t.join("cwd"), dir.path().join("via-link")).unwrap();
        for p in [
            t.join(".jims-import/server.key"),
            t.join("cwd/config/x.xml"),
            t.join("x.xml"),
            outside.join("../t/cwd/x.xml"),
            dir.path().join("via-link/config/x.xml"),
        ] {
            let e = write_file_atomic(&p, b"x", 0o644).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Output, "{}: {e}", p.display());
            assert!(e.to_string().contains("inside the managed server folder"), "{e}");
            let e =
                write_folder_atomic(&p, &[(PathBuf::from("a"), b"a")], 0o644, 0o755).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Output, "{}: {e}", p.display());
        }
        assert_eq!(fs::read(t.join(".jims-import/server.key")).unwrap(), b"key");
        assert!(names(&t.join("cwd/config")).is_empty());
        let e = write_file_atomic(&outside.join(".jims-import"), b"x", 0o644).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Output, "{e}");
    }

    #[test]
    fn a_dead_writers_temporary_is_removed_and_a_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let dead = d.join(".out.xml.jims-tmp-0123456789abcdef");
        let dead_folder = d.join(".out.xml.jims-tmp-fedcba9876543210");
        let live = d.join(".out.xml.jims-tmp-00000000000000aa");
        let other = d.join(".other.jims-tmp-0123456789abcdef");
        let unlike = d.join(".out.xml.jims-tmp-not-ours");
        for p in [&dead, &live, &other, &unlike] {
            fs::write(p, "plaintext").unwrap();
        }
        fs::create_dir(&dead_folder).unwrap();
        fs::write(dead_folder.join("f"), "x").unwrap();
        let held = File::open(&live).unwrap();
        assert!(fsops::lock(&held, false).unwrap());
        write_file_atomic(&d.join("out.xml"), b"new", 0o600).unwrap();
        assert!(!dead.exists() && !dead_folder.exists());
        for p in [&live, &other, &unlike] {
            assert!(p.exists(), "{}", p.display());
        }
        drop(held);
    }

    /// Every entry under `dir` as `(relative path, mode)`, sorted.
    fn modes(dir: &Path) -> Vec<(String, u32)> {
        let mut out = Vec::new();
        let mut todo = vec![dir.to_owned()];
        while let Some(d) = todo.pop() {
            for e in fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                let mode = fs::symlink_metadata(&p).unwrap().permissions().mode() & 0o777;
                out.push((p.strip_prefix(dir).unwrap().display().to_string(), mode));
                if p.is_dir() {
                    todo.push(p);
                }
            }
        }
        out.sort();
        out
    }

    fn sample() -> Vec<(PathBuf, Vec<u8>)> {
        vec![
            (PathBuf::from("cwd/config/a.xml"), b"a".to_vec()),
            (PathBuf::from("cwd/config/b.xml"), b"b".to_vec()),
            (PathBuf::from("cwd/system/init/c.xml"), b"c".to_vec()),
        ]
    }

    #[test]
    fn a_folder_is_written_whole_with_its_modes() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        write_folder_atomic(&out, &sample(), 0o600, 0o700).unwrap();
        assert_eq!(
            modes(&out),
            [
                ("cwd".to_owned(), 0o700),
                ("cwd/config".to_owned(), 0o700),
                ("cwd/config/a.xml".to_owned(), 0o600),
                ("cwd/config/b.xml".to_owned(), 0o600),
                ("cwd/system".to_owned(), 0o700),
                ("cwd/system/init".to_owned(), 0o700),
                ("cwd/system/init/c.xml".to_owned(), 0o600),
            ]
        );
        assert_eq!(fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o700);
        assert_eq!(fs::read(out.join("cwd/system/init/c.xml")).unwrap(), b"c");
        assert_eq!(names(dir.path()), ["out"], "no temporary folder left");

        // Without plaintext: 0644 and 0755, which the umask may only narrow.
        let open = dir.path().join("open");
        write_folder_atomic(&open, &sample(), 0o644, 0o755).unwrap();
        for (rel, m) in modes(&open) {
            let want = if rel.ends_with(".xml") { 0o644 } else { 0o755 };
            assert_eq!(m & !want, 0, "{rel}: {m:o}");
            assert_eq!(m & 0o700, want & 0o700, "{rel}: {m:o}");
        }
    }

    #[test]
    fn an_empty_folder_is_replaced_and_anything_else_refused() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty");
        fs::create_dir(&empty).unwrap();
        write_folder_atomic(&empty, &sample(), 0o600, 0o700).unwrap();
        assert_eq!(fs::read(empty.join("cwd/config/a.xml")).unwrap(), b"a");

        // Not empty: refused, the folder untouched, nothing left beside it.
        let e = write_folder_atomic(&empty, &sample()[..1], 0o600, 0o700).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Output, "{e}");
        assert_eq!(e.path(), Some(empty.as_path()));
        assert!(e.to_string().contains("exists and is not empty"), "{e}");
        assert_eq!(modes(&empty).len(), 7);

        let file = dir.path().join("file");
        fs::write(&file, "x").unwrap();
        let e = write_folder_atomic(&file, &sample(), 0o600, 0o700).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Output, "{e}");
        assert_eq!(fs::read(&file).unwrap(), b"x");
        assert_eq!(names(dir.path()), ["empty", "file"], "no temporary folder left");
    }

    #[test]
    fn a_failing_folder_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let e =
            write_folder_atomic(&dir.path().join("no/out"), &sample(), 0o600, 0o700).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Output);
        assert!(e.to_string().contains("does not exist"), "{e}");
        // A failure halfway (a file where a folder must go) is an I/O error naming the file's
        // place in the output; the temporary folder is removed.
        let mut files = sample();
        files.push((PathBuf::from("cwd/config/a.xml/d.xml"), b"d".to_vec()));
        let e = write_folder_atomic(&out, &files, 0o600, 0o700).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Io, "{e}");
        assert!(e.to_string().contains(&out.join("cwd/config/a.xml").display().to_string()), "{e}");
        assert!(names(dir.path()).is_empty(), "nothing left");
        for bad in ["../x.xml", "/etc/x.xml", ""] {
            let e =
                write_folder_atomic(&out, &[(PathBuf::from(bad), b"x")], 0o600, 0o700).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Output, "{bad}: {e}");
        }
        assert!(names(dir.path()).is_empty(), "nothing left");
    }
}
