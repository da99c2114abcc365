//! Writing an output file (an export or a converted bundle) atomically and durably: a temporary
//! file in the same folder, created with its final mode, written, synced, renamed, and the
//! folder synced.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::error::{Error, ErrorKind};
use crate::input::io_reason;

/// Writes `bytes` to `path` atomically with permission bits `mode` (e.g. `0o600` for a file
/// holding plaintext passwords). A reader sees the old file or the new one, never a part.
pub fn write_file_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), Error> {
    let fail = |what: &str, e: std::io::Error| {
        Error::new(ErrorKind::Io, format!("cannot {what} {}: {}", path.display(), io_reason(&e)))
            .with_path(path)
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path.file_name().ok_or_else(|| {
        Error::new(ErrorKind::Usage, format!("{} is not a file name", path.display()))
    })?;
    if !dir.is_dir() {
        // Bad usage (exit 2), as for `import` and `server init`: the user named a place that
        // is not there.
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
    let tmp = dir.join(format!(".{}.tmp-{}", name.to_string_lossy(), std::process::id()));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)
            .map_err(|e| fail("create a temporary file beside", e))?;
        f.write_all(bytes).map_err(|e| fail("write", e))?;
        f.sync_all().map_err(|e| fail("sync", e))?;
        std::fs::rename(&tmp, path).map_err(|e| fail("replace", e))?;
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| fail("sync the folder of", e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
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
}
