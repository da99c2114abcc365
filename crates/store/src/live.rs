//! The native files of a `cwd/` folder: reading them without following links, parsing them into
//! a configuration, fingerprinting them, and listing what else the folder holds.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use model::{Configuration, Section, SectionId};
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::fsops;

/// A file's bytes, wiped when dropped (a native file may hold a plaintext password).
pub(crate) type Bytes = crypto::SecretBytes;

/// The native files present in a `cwd/`, by path relative to it.
pub(crate) type NativeFiles = BTreeMap<&'static str, Bytes>;

/// The fingerprint of a `cwd/` that does not exist.
pub(crate) const ABSENT: &str = "absent";

/// The folders of the native files, relative to `cwd/`, parents first.
const NATIVE_DIRS: [&str; 3] = ["config", "system", "system/init"];

/// Every native file with its section, in document order.
pub(crate) fn native_paths() -> impl Iterator<Item = (SectionId, &'static str)> {
    SectionId::ALL.into_iter().flat_map(|s| s.native_files().iter().map(move |p| (s, *p)))
}

/// Whether the folder `rel` (relative to `cwd/`) holds native files, at any depth.
pub(crate) fn holds_native(rel: &Path) -> bool {
    native_paths().any(|(_, p)| Path::new(p).starts_with(rel))
}

/// Whether `rel` (relative to `cwd/`) is a native file.
fn is_native(rel: &Path) -> bool {
    rel.to_str().is_some_and(|r| SectionId::for_native_file(r).is_some())
}

/// Reads the native files present under `cwd`, refusing symbolic links on the way (none when
/// there is no `cwd`).
pub(crate) fn read_native(cwd: &Path) -> Result<NativeFiles, Error> {
    Ok(read_native_stamped(cwd)?.0)
}

/// What tells, without reading it, that a file or folder is still the one read: its device
/// and inode, size, mode, and modification and change times to the nanosecond (the change
/// time moves with any write, link, rename or change of mode, and cannot be set by hand).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mode: u32,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    /// The stamp of `meta`.
    pub(crate) fn of(meta: &fs::Metadata) -> Stamp {
        use std::os::unix::fs::MetadataExt;
        Stamp {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mode: meta.mode(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }

    /// The permission bits.
    pub(crate) fn permissions(&self) -> u32 {
        self.mode & 0o7777
    }
}

/// The stamps of a `cwd/` as read: the folder's own (`None`: there was none) and each native
/// file's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Stamps {
    pub(crate) cwd: Option<Stamp>,
    pub(crate) files: BTreeMap<&'static str, Stamp>,
    /// The folders of the native files that are there (`config`, `system`, `system/init`).
    pub(crate) dirs: BTreeMap<&'static str, Stamp>,
}

impl Stamps {
    /// Whether `cwd` and its native files are still exactly as stamped (one `lstat` each, no
    /// read): the same files, never written, linked, renamed or re-moded since, and no native
    /// file added or removed.
    ///
    /// Of `cwd/` itself only its identity counts: what else it holds (files JIMS or a person
    /// put beside the native files) changes its times, not the version.
    pub(crate) fn unchanged(&self, cwd: &Path) -> Result<bool, Error> {
        let now = fsops::lstat(cwd)?.map(|m| Stamp::of(&m));
        let identity = |s: &Option<Stamp>| s.map(|s| (s.dev, s.ino));
        if identity(&now) != identity(&self.cwd) {
            return Ok(false);
        }
        if self.cwd.is_none() {
            return Ok(true);
        }
        for (_, rel) in native_paths() {
            let now = fsops::lstat(&cwd.join(rel))?.map(|m| Stamp::of(&m));
            if now.as_ref() != self.files.get(rel) {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// [`read_native`] with the [`Stamps`] of what it read, from the calls the reads make anyway.
pub(crate) fn read_native_stamped(cwd: &Path) -> Result<(NativeFiles, Stamps), Error> {
    let mut stamps = Stamps::default();
    let mut files = NativeFiles::new();
    let Some(meta) = fsops::lstat(cwd)? else { return Ok((files, stamps)) };
    stamps.cwd = Some(Stamp::of(&meta));
    for dir in NATIVE_DIRS {
        if let Some(meta) = fsops::lstat(&cwd.join(dir))? {
            stamps.dirs.insert(dir, Stamp::of(&meta));
        }
    }
    for (_, rel) in native_paths() {
        if let Some((bytes, meta)) = fsops::read_file_stat(&cwd.join(rel))? {
            stamps.files.insert(rel, Stamp::of(&meta));
            files.insert(rel, bytes);
        }
    }
    Ok((files, stamps))
}

/// Parses native files into a configuration: one section per section with at least one file,
/// but for the sections `unparsed`.
pub(crate) fn parse(
    cwd: &Path,
    files: &NativeFiles,
    unparsed: &[SectionId],
) -> Result<Configuration, Error> {
    let mut config = Configuration::new();
    for section in SectionId::ALL.into_iter().filter(|s| !unparsed.contains(s)) {
        let mut found = Vec::new();
        for rel in section.native_files() {
            if let Some(bytes) = files.get(rel) {
                found.push(crate::xml::read(section, rel, bytes, &cwd.join(rel))?);
            }
        }
        if !found.is_empty() {
            config.insert(Section { id: section, files: found });
        }
    }
    Ok(config)
}

/// SHA-256 over the native files in document order: each path, then whether it is present,
/// its length and its bytes.
pub(crate) fn fingerprint(files: &NativeFiles) -> String {
    fingerprint_by(|rel| files.get(rel).map(|b| b.as_slice()))
}

/// [`fingerprint`] of the files that `get` gives by path (without gathering them in a map).
pub(crate) fn fingerprint_by<'a>(get: impl Fn(&str) -> Option<&'a [u8]>) -> String {
    let mut h = Sha256::new();
    for (_, rel) in native_paths() {
        h.update(rel.as_bytes());
        h.update([0]);
        match get(rel) {
            Some(b) => {
                h.update([1]);
                h.update((b.len() as u64).to_le_bytes());
                h.update(b);
            }
            None => h.update([0]),
        }
    }
    hex::encode(h.finalize())
}

/// The fingerprint of `cwd` as it is on disk, [`ABSENT`] when it does not exist.
pub(crate) fn fingerprint_dir(cwd: &Path) -> Result<String, Error> {
    let (files, stamps) = read_native_stamped(cwd)?;
    Ok(match stamps.cwd {
        None => ABSENT.to_owned(),
        Some(_) => fingerprint(&files),
    })
}

/// Something in `cwd/` besides the native files, carried unchanged into every new version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Extra {
    /// A folder and its permission bits.
    Dir(PathBuf, u32),
    /// A regular file (hard-linked).
    File(PathBuf),
    /// A symbolic link (recreated, never followed).
    Symlink(PathBuf),
}

/// Lists everything under `cwd` but the native files, folders before their contents, paths
/// relative to `cwd`. Sockets, devices and pipes are refused. `stamps` are those of the
/// `cwd/` as read: the modes of the native files' folders are taken from them.
pub(crate) fn extras(cwd: &Path, stamps: &Stamps) -> Result<Vec<Extra>, Error> {
    let mut out = Vec::new();
    walk(cwd, Path::new(""), stamps, &mut out)?;
    Ok(out)
}

fn walk(cwd: &Path, rel: &Path, stamps: &Stamps, out: &mut Vec<Extra>) -> Result<(), Error> {
    let dir = cwd.join(rel);
    // The kinds from the listing itself (no call per entry); only a folder is inspected, for
    // its mode, unless it is a native files' folder, whose mode is known.
    let mut entries = fsops::list_dir(&dir)?.unwrap_or_default();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, kind) in entries {
        let rel = rel.join(&name);
        let path = cwd.join(&rel);
        match kind {
            fsops::EntryKind::Dir => {
                let known = rel.to_str().and_then(|r| stamps.dirs.get(r));
                let mode = match known {
                    Some(stamp) => stamp.permissions(),
                    None => fsops::mode_of(
                        &fs::symlink_metadata(&path).map_err(|e| Error::io("inspect", &path, e))?,
                    ),
                };
                out.push(Extra::Dir(rel.clone(), mode));
                walk(cwd, &rel, stamps, out)?;
            }
            _ if is_native(&rel) => {
                if kind != fsops::EntryKind::File {
                    return Err(Error::symlink(&path));
                }
            }
            fsops::EntryKind::File => out.push(Extra::File(rel)),
            fsops::EntryKind::Symlink => out.push(Extra::Symlink(rel)),
            fsops::EntryKind::Other => {
                return Err(Error::corrupt(
                    &path,
                    "is a socket, device or pipe; a configuration folder can only hold files, \
                     folders and links: move it elsewhere",
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_sees_presence_and_bytes() {
        let mut a = NativeFiles::new();
        let empty = fingerprint(&a);
        a.insert("config/cache.xml", Bytes::new(b"<cache/>".to_vec()));
        let one = fingerprint(&a);
        assert_ne!(empty, one);
        a.insert("config/cache.xml", Bytes::new(b"<cache />".to_vec()));
        assert_ne!(fingerprint(&a), one);
        assert_eq!(one.len(), 64);
        assert_ne!(one, ABSENT);
    }

    #[test]
    fn native_paths_cover_every_file_once() {
        let all: Vec<_> = native_paths().map(|(_, p)| p).collect();
        assert_eq!(all.len(), 11);
        assert_eq!(all[0], "config/event_log_reader.xml");
        assert_eq!(all[10], "system/init/admin_whitelist_static.xml");
        assert!(is_native(Path::new("config/clients_http.xml")));
        assert!(!is_native(Path::new("config/other.xml")));
    }
}
