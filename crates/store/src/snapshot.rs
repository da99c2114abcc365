//! An earlier version as layout 2 kept it: `history/N.tar`, a plain tar archive holding
//! `meta.json` (the version's [`Record`]) followed by `cwd/<path>` for each native file the
//! version had when the next one replaced it, byte for byte. Any tar tool reads it (`tar -xf
//! 3.tar` gives back `meta.json` and `cwd/`).
//!
//! Layout 3 keeps each earlier version as a folder instead (`history/N/`, see
//! [`crate::commit`]), which costs a commit two renames where an archive cost a file built from
//! the old files and the deletion of the old tree. The archives of older folders are still read
//! (listed, shown, rolled back to), and rewritten whole only when a retired key's values in them
//! are sealed again ([`build`]).

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::error::Error;
use crate::history::Record;
use crate::live::{self, Bytes, NativeFiles};

/// The name of the record inside an archive.
const META: &str = "meta.json";
/// The folder of the native files inside an archive.
const CWD_PREFIX: &str = "cwd/";
/// The largest member accepted when reading (a native file is at most the input limit).
const MAX_MEMBER: u64 = model::read::MAX_INPUT_BYTES as u64;
/// The tar block size.
const BLOCK: usize = 512;

/// The archive of a version: `record` and the native `files` (path relative to `cwd/`, bytes),
/// in the order given. The buffer is sized exactly up front and wiped when dropped.
pub(crate) fn build<'a>(
    record: &Record,
    files: impl Iterator<Item = (&'a str, &'a [u8])> + Clone,
) -> Result<Bytes, Error> {
    let meta = record.to_json();
    let padded = |n: usize| n.div_ceil(BLOCK) * BLOCK;
    let size = BLOCK
        + padded(meta.len())
        + files.clone().map(|(_, b)| BLOCK + padded(b.len())).sum::<usize>()
        + 2 * BLOCK;
    let mtime = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut out = Bytes::with_capacity(size);
    {
        let mut builder = tar::Builder::new(&mut *out);
        let mut append = |path: &str, data: &[u8]| {
            let mut header = tar::Header::new_ustar();
            header.set_entry_type(tar::EntryType::Regular);
            header.set_mode(0o600);
            header.set_mtime(mtime);
            header.set_size(data.len() as u64);
            builder.append_data(&mut header, path, data).map_err(|e| {
                Error::new(
                    crate::ErrorKind::Io,
                    format!("could not archive {path} for the history: {e}"),
                )
            })
        };
        append(META, meta.as_bytes())?;
        for (rel, bytes) in files {
            append(&format!("{CWD_PREFIX}{rel}"), bytes)?;
        }
        builder.finish().map_err(|e| {
            Error::new(crate::ErrorKind::Io, format!("could not finish a history archive: {e}"))
        })?;
    }
    debug_assert_eq!(out.len(), size, "the archive's size was computed exactly");
    Ok(out)
}

/// Opens `path` without following a symbolic link; `None` when it does not exist.
fn open(path: &Path) -> Result<Option<File>, Error> {
    match OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW).open(path) {
        Ok(f) => {
            let meta = f.metadata().map_err(|e| Error::io("inspect", path, e))?;
            if !meta.is_file() {
                return Err(Error::corrupt(path, "expected a regular file"));
            }
            Ok(Some(f))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => Err(Error::symlink(path)),
        Err(e) => Err(Error::io("open", path, e)),
    }
}

fn damaged(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::corrupt(path, format!("is not a readable history archive ({why}); the entry is damaged"))
}

/// Reads one member's data, bounded.
fn member_bytes(
    path: &Path,
    name: &str,
    entry: &mut tar::Entry<'_, impl Read>,
) -> Result<Bytes, Error> {
    let size = entry.header().size().map_err(|e| damaged(path, e))?;
    if size > MAX_MEMBER {
        return Err(damaged(path, format!("{name} claims {size} bytes")));
    }
    let mut buf = Bytes::with_capacity(size as usize);
    entry.read_to_end(&mut buf).map_err(|e| damaged(path, e))?;
    if buf.len() as u64 != size {
        return Err(damaged(path, format!("{name} is cut short")));
    }
    Ok(buf)
}

fn parse_record(path: &Path, bytes: &[u8]) -> Result<Record, Error> {
    serde_json::from_slice(bytes)
        .map_err(|e| Error::corrupt(path, format!("holds no valid version record: {e}")))
}

/// Reads the record of the archive at `path` (its first member), without reading the files.
/// `None` when there is no such file.
pub(crate) fn read_record(path: &Path) -> Result<Option<Record>, Error> {
    let Some(file) = open(path)? else { return Ok(None) };
    let mut archive = tar::Archive::new(file);
    let mut entries = archive.entries().map_err(|e| damaged(path, e))?;
    let mut first = match entries.next() {
        Some(e) => e.map_err(|e| damaged(path, e))?,
        None => return Err(damaged(path, "it is empty")),
    };
    let name = member_name(path, &first)?;
    if name != META {
        return Err(damaged(path, format!("its first member is {name:?}, not {META}")));
    }
    let bytes = member_bytes(path, META, &mut first)?;
    parse_record(path, &bytes).map(Some)
}

fn member_name(path: &Path, entry: &tar::Entry<'_, impl Read>) -> Result<String, Error> {
    if entry.header().entry_type() != tar::EntryType::Regular {
        return Err(damaged(path, "it holds something other than regular files"));
    }
    let raw = entry.path_bytes();
    std::str::from_utf8(&raw)
        .map(str::to_owned)
        .map_err(|_| damaged(path, "a member's name is not UTF-8"))
}

/// Reads the whole archive at `path`: its record and its native files. Anything else in it is
/// an error (the archive is jimsctl's own, and restoring must not write elsewhere).
pub(crate) fn read(path: &Path) -> Result<(Record, NativeFiles), Error> {
    let file =
        open(path)?.ok_or_else(|| Error::corrupt(path, "missing; the history is damaged"))?;
    let mut archive = tar::Archive::new(file);
    let mut record = None;
    let mut files = NativeFiles::new();
    for entry in archive.entries().map_err(|e| damaged(path, e))? {
        let mut entry = entry.map_err(|e| damaged(path, e))?;
        let name = member_name(path, &entry)?;
        if record.is_none() {
            if name != META {
                return Err(damaged(path, format!("its first member is {name:?}, not {META}")));
            }
            record = Some(parse_record(path, &member_bytes(path, META, &mut entry)?)?);
            continue;
        }
        let rel = name
            .strip_prefix(CWD_PREFIX)
            .and_then(|rel| live::native_paths().map(|(_, p)| p).find(|p| *p == rel))
            .ok_or_else(|| damaged(path, format!("it holds {name:?}, which is no native file")))?;
        let bytes = member_bytes(path, &name, &mut entry)?;
        if files.insert(rel, bytes).is_some() {
            return Err(damaged(path, format!("it holds {name} twice")));
        }
    }
    let record = record.ok_or_else(|| damaged(path, "it is empty"))?;
    Ok((record, files))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::CommitMeta;

    fn tmp() -> std::path::PathBuf {
        let d = std::env::temp_dir()
            .join(format!("store-snapshot-{}", crate::fsops::random_suffix().unwrap()));
        std::fs::create_dir(&d).unwrap();
        d
    }

    #[test]
    fn round_trips_the_record_and_the_files_byte_for_byte() {
        let d = tmp();
        let record = Record::new(3, &CommitMeta::default(), Some(2));
        let files =
            [("config/cache.xml", &b"<cache/>\n"[..]), ("config/templates.xml", &[0u8; 700])];
        let bytes = build(&record, files.iter().copied()).unwrap();
        let path = d.join("3.tar");
        std::fs::write(&path, &*bytes).unwrap();
        assert_eq!(read_record(&path).unwrap().unwrap().version, 3);
        let (back, natives) = read(&path).unwrap();
        assert_eq!(back.restored, Some(2));
        assert_eq!(natives.len(), 2);
        assert_eq!(natives["config/cache.xml"].as_slice(), b"<cache/>\n");
        assert_eq!(natives["config/templates.xml"].as_slice(), &[0u8; 700]);
        assert!(read_record(&d.join("4.tar")).unwrap().is_none());
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn refuses_foreign_members_links_and_truncation() {
        let d = tmp();
        let record = Record::new(1, &CommitMeta::default(), None);
        let good = build(&record, [("config/cache.xml", &b"<cache/>"[..])].into_iter()).unwrap();
        let path = d.join("1.tar");
        // Cut in the middle of the second member.
        std::fs::write(&path, &good[..BLOCK * 3 + 3]).unwrap();
        assert_eq!(read(&path).unwrap_err().kind(), crate::ErrorKind::Corrupt);
        // A member that is not a native file.
        let evil = build(&record, [("config/other.xml", &b"x"[..])].into_iter()).unwrap();
        std::fs::write(&path, &*evil).unwrap();
        let e = read(&path).unwrap_err();
        assert!(e.to_string().contains("no native file"), "{e}");
        // A symbolic link in place of the archive.
        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink(d.join("elsewhere"), &path).unwrap();
        assert_eq!(read_record(&path).unwrap_err().kind(), crate::ErrorKind::Symlink);
        std::fs::remove_dir_all(d).unwrap();
    }
}
