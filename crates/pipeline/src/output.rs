//! Writing an output (an export, a converted bundle or a converted server folder) atomically
//! and durably, the way sapling's `atomicfile` does it: a temporary file or folder beside
//! it, every file created with its final mode, written and synced, every folder synced, then
//! one rename and the parent folder synced. A failure leaves nothing behind.

use std::ffi::OsStr;
use std::fs::{DirBuilder, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, ErrorKind};
use crate::input::io_reason;

/// The folder that will hold `path` and `path`'s name in it. A folder that does not exist is
/// bad usage (exit 2), as for `import` and `server init`: the user named a place that is not
/// there.
fn place(path: &Path) -> Result<(&Path, &OsStr), Error> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path.file_name().ok_or_else(|| {
        Error::new(ErrorKind::Usage, format!("{} is not a file or folder name", path.display()))
            .with_path(path)
    })?;
    if !dir.is_dir() {
        return Err(Error::new(
            ErrorKind::Usage,
            format!(
                "cannot write {}: its folder {} does not exist; make it first",
                path.display(),
                dir.display()
            ),
        )
        .with_path(path));
    }
    Ok((dir, name))
}

/// The temporary name beside `name` in `dir`: hidden, and holding the process id.
fn temporary(dir: &Path, name: &OsStr) -> PathBuf {
    dir.join(format!(".{}.tmp-{}", name.to_string_lossy(), std::process::id()))
}

/// An I/O failure about `what` at `at`, naming the output `path`.
fn io_error(path: &Path, what: &str, at: &Path, e: &std::io::Error) -> Error {
    Error::new(ErrorKind::Io, format!("cannot {what} {}: {}", at.display(), io_reason(e)))
        .with_path(path)
}

/// Syncs the folder `dir` (its entries: the names created or renamed in it).
fn sync_folder(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Writes `bytes` to `path` atomically with permission bits `mode` (e.g. `0o600` for a file
/// holding plaintext passwords). A reader sees the old file or the new one, never a part.
pub fn write_file_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), Error> {
    let fail = |what: &str, e: std::io::Error| io_error(path, what, path, &e);
    let (dir, name) = place(path)?;
    let tmp = temporary(dir, name);
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)
            .map_err(|e| fail("create a temporary file beside", e))?;
        f.write_all(bytes).map_err(|e| fail("write", e))?;
        f.sync_all().map_err(|e| fail("sync", e))?;
        std::fs::rename(&tmp, path).map_err(|e| fail("replace", e))?;
        sync_folder(dir).map_err(|e| fail("sync the folder of", e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes the new folder `path` holding `files` (each a path relative to the folder, made of
/// plain names only, and its bytes), atomically and durably: the whole folder appears at once
/// or not at all.
///
/// Every file is created with permission bits `file_mode` and every folder with `dir_mode`
/// (`0o600` and `0o700` when a file holds plaintext passwords). The folder is built in a
/// temporary sibling (`.<name>.tmp-<pid>`), every file synced, every folder synced, then renamed
/// to `path` and the parent folder synced; on failure the temporary folder is removed. `path`
/// may be an empty folder, which the new one replaces; an existing file or a folder with
/// anything in it is refused as bad usage (exit 2), as is a parent folder that does not exist.
pub(crate) fn write_folder_atomic<B: AsRef<[u8]>>(
    path: &Path,
    files: &[(PathBuf, B)],
    file_mode: u32,
    dir_mode: u32,
) -> Result<(), Error> {
    let (dir, name) = place(path)?;
    for (rel, _) in files {
        if rel.as_os_str().is_empty()
            || !rel.components().all(|c| matches!(c, Component::Normal(_)))
        {
            return Err(Error::new(
                ErrorKind::Usage,
                format!("{}: not a plain relative path inside the folder", rel.display()),
            )
            .with_path(path));
        }
    }
    let tmp = temporary(dir, name);
    let mut folder = DirBuilder::new();
    folder.mode(dir_mode);
    // Not ours to remove when this fails (it may be another writer's): nothing is cleaned.
    folder
        .create(&tmp)
        .map_err(|e| io_error(path, "create a temporary folder beside", path, &e))?;
    let result = (|| {
        // Every folder made, parents first; synced in reverse once every file is in.
        let mut made = vec![tmp.clone()];
        for (rel, bytes) in files {
            let shown = path.join(rel);
            let mut at = tmp.clone();
            if let Some(parent) = rel.parent() {
                for part in parent.components() {
                    at.push(part);
                    if !made.contains(&at) {
                        folder.create(&at).map_err(|e| {
                            let shown = path.join(at.strip_prefix(&tmp).unwrap_or(&at));
                            io_error(path, "create the folder", &shown, &e)
                        })?;
                        made.push(at.clone());
                    }
                }
            }
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(file_mode)
                .open(tmp.join(rel))
                .map_err(|e| io_error(path, "create", &shown, &e))?;
            f.write_all(bytes.as_ref()).map_err(|e| io_error(path, "write", &shown, &e))?;
            f.sync_all().map_err(|e| io_error(path, "sync", &shown, &e))?;
        }
        for at in made.iter().rev() {
            let shown = path.join(at.strip_prefix(&tmp).unwrap_or(at));
            sync_folder(at).map_err(|e| io_error(path, "sync the folder", &shown, &e))?;
        }
        std::fs::rename(&tmp, path).map_err(|e| match e.kind() {
            std::io::ErrorKind::DirectoryNotEmpty
            | std::io::ErrorKind::AlreadyExists
            | std::io::ErrorKind::NotADirectory => Error::new(
                ErrorKind::Usage,
                format!(
                    "{} exists and is not an empty folder; the output is a new folder",
                    path.display()
                ),
            )
            .with_path(path),
            _ => io_error(path, "move the new folder to", path, &e),
        })
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result?;
    // The folder is in place: a failure to sync its parent is reported, and removes nothing.
    sync_folder(dir).map_err(|e| io_error(path, "sync the folder of", path, &e))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn writes_with_mode_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.xml");
        write_file_atomic(&p, b"one", 0o600).unwrap();
        write_file_atomic(&p, b"two", 0o600).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left");
    }

    #[test]
    fn a_missing_folder_is_bad_usage() {
        let dir = tempfile::tempdir().unwrap();
        let e = write_file_atomic(&dir.path().join("no/such/out.xml"), b"x", 0o644).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("does not exist"), "{e}");
        assert!(!dir.path().join("no").exists());
    }

    /// Every entry under `dir` as `(relative path, mode)`, sorted.
    fn modes(dir: &Path) -> Vec<(String, u32)> {
        let mut out = Vec::new();
        let mut todo = vec![dir.to_owned()];
        while let Some(d) = todo.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                let mode = std::fs::symlink_metadata(&p).unwrap().permissions().mode() & 0o777;
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
        assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o700);
        assert_eq!(std::fs::read(out.join("cwd/system/init/c.xml")).unwrap(), b"c");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary folder left");

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
        std::fs::create_dir(&empty).unwrap();
        write_folder_atomic(&empty, &sample(), 0o600, 0o700).unwrap();
        assert_eq!(std::fs::read(empty.join("cwd/config/a.xml")).unwrap(), b"a");

        // Not empty: refused as bad usage, the folder untouched, nothing left beside it.
        let e = write_folder_atomic(&empty, &sample()[..1], 0o600, 0o700).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{e}");
        assert_eq!(e.path(), Some(empty.as_path()));
        assert!(e.to_string().contains("not an empty folder"), "{e}");
        assert_eq!(modes(&empty).len(), 7);

        let file = dir.path().join("file");
        std::fs::write(&file, "x").unwrap();
        let e = write_folder_atomic(&file, &sample(), 0o600, 0o700).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{e}");
        assert_eq!(std::fs::read(&file).unwrap(), b"x");
        let mut names: Vec<_> =
            std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        names.sort();
        assert_eq!(names, ["empty", "file"], "no temporary folder left");
    }

    #[test]
    fn a_failure_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        // A missing parent folder is bad usage, as for a file.
        let e =
            write_folder_atomic(&dir.path().join("no/out"), &sample(), 0o600, 0o700).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("does not exist"), "{e}");
        // A failure halfway (a file where a folder must go) is an I/O error naming the file's
        // place in the output; the temporary folder is removed.
        let mut files = sample();
        files.push((PathBuf::from("cwd/config/a.xml/d.xml"), b"d".to_vec()));
        let e = write_folder_atomic(&out, &files, 0o600, 0o700).unwrap_err();
        assert_eq!(e.exit_code(), 1, "{e}");
        assert!(e.to_string().contains(&out.join("cwd/config/a.xml").display().to_string()), "{e}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "nothing left");
        // A path that leaves the folder is refused before anything is made.
        for bad in ["../x.xml", "/etc/x.xml", ""] {
            let e =
                write_folder_atomic(&out, &[(PathBuf::from(bad), b"x")], 0o600, 0o700).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}: {e}");
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "nothing left");
    }
}
