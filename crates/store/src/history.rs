//! Versions: what each commit records (`history/N.json` while version N is current, then
//! `history/N/meta.json` beside the native files it had, or `meta.json` in the archive
//! `history/N.tar` that layout 2 wrote, see [`crate::snapshot`]), the public [`VersionInfo`],
//! the listing of a folder's history, and the native files of an earlier version wherever it is
//! kept.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use model::SectionId;
use serde::{Deserialize, Serialize, Serializer};

use crate::error::Error;
use crate::fsops;
use crate::layout::{CWD, StatePaths};
use crate::live::NativeFiles;

/// What a commit is: recorded in the version's archive and in the audit log. Never holds a
/// secret: only names and numbers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommitMeta {
    /// `import` or `rollback` (`init` and `adopt` are recorded by [`crate::init`] and
    /// [`crate::adopt`]).
    pub action: String,
    /// The export's path as the user gave it.
    pub export: Option<String>,
    /// The sections replaced.
    pub sections: Vec<SectionId>,
    /// Item and password counts.
    pub counts: Counts,
    /// The digest of every item of the new version (set by the store, which has the
    /// configuration), recorded for `status`.
    pub(crate) items: Option<crate::digest::ItemDigests>,
}

impl CommitMeta {
    /// The meta of an import of `export` replacing `sections`.
    pub fn import(export: Option<String>, sections: Vec<SectionId>, counts: Counts) -> CommitMeta {
        CommitMeta { action: "import".to_owned(), export, sections, counts, items: None }
    }
}

/// Numbers recorded with a version.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Items per section, for the sections replaced.
    #[serde(serialize_with = "section_map")]
    pub items: BTreeMap<SectionId, u64>,
    /// The password counters of the import.
    pub passwords: PasswordCounts,
}

/// The password counters of an import.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PasswordCounts {
    /// Rows of the Add Missing Passwords table.
    pub total: u64,
    /// Rows assigned from secret sources.
    pub fixed: u64,
    /// Passwords sealed under the server's key by this commit (plaintext found, or resolved).
    pub sealed: u64,
}

fn section_map<S: Serializer>(map: &BTreeMap<SectionId, u64>, s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(map.iter().map(|(k, v)| (k.as_str(), v)))
}

fn section_list<S: Serializer>(list: &[SectionId], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(list.iter().map(|k| k.as_str()))
}

/// One version of a managed folder, as `history` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VersionInfo {
    /// 0 for `init`/`adopt`, then 1, 2, 3… one per import or rollback (a folder made by an
    /// import starts at 1).
    pub version: u64,
    /// When it was committed (RFC 3339 UTC).
    pub time: String,
    /// `init`, `adopt`, `import` or `rollback`.
    pub action: String,
    /// The export's path as given, for imports.
    pub export: Option<String>,
    /// The sections replaced.
    #[serde(serialize_with = "section_list")]
    pub sections: Vec<SectionId>,
    /// For a rollback: the version it restored.
    pub restored: Option<u64>,
    /// Whether this is the current version (the highest).
    pub current: bool,
}

/// A version's record (`history/N.json`, an archive's `meta.json`) and the audit log's line:
/// the same record.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Record {
    pub(crate) time: String,
    pub(crate) action: String,
    pub(crate) version: u64,
    pub(crate) export: Option<String>,
    pub(crate) sections: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) restored: Option<u64>,
    pub(crate) counts: serde_json::Value,
    /// What the version holds, for `status` (absent from versions written before it was
    /// recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) digests: Option<crate::digest::Digests>,
}

impl Record {
    pub(crate) fn new(version: u64, meta: &CommitMeta, restored: Option<u64>) -> Record {
        Record {
            time: crate::time::now_rfc3339(),
            action: meta.action.clone(),
            version,
            export: meta.export.clone(),
            sections: meta.sections.iter().map(|s| s.as_str().to_owned()).collect(),
            restored,
            counts: serde_json::to_value(&meta.counts).unwrap_or_default(),
            digests: None,
        }
    }

    /// This record with the digests of `files` and the digests of the items (those a
    /// [`CommitMeta`] carries, moved here rather than copied: a few per item).
    pub(crate) fn with_digests(
        mut self,
        items: Option<crate::digest::ItemDigests>,
        files: &[crate::commit::NewFile],
    ) -> Record {
        self.digests = Some(crate::digest::Digests {
            files: crate::digest::files(files),
            items: items.unwrap_or_default(),
        });
        self
    }

    /// `meta.json`'s text.
    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The audit log's line: time, action, version, export, sections, counts.
    pub(crate) fn audit_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    fn info(&self, path: &Path, current: bool) -> Result<VersionInfo, Error> {
        let sections = self
            .sections
            .iter()
            .map(|s| {
                SectionId::parse(s)
                    .ok_or_else(|| Error::corrupt(path, format!("unknown section {s:?}")))
            })
            .collect::<Result<_, _>>()?;
        Ok(VersionInfo {
            version: self.version,
            time: self.time.clone(),
            action: self.action.clone(),
            export: self.export.clone(),
            sections,
            restored: self.restored,
            current,
        })
    }
}

/// The name of the record in a version's folder (and in a layout 2 archive).
pub(crate) const META: &str = "meta.json";

/// Reads the record of version `n`: `history/N.json` while it is current, else
/// `history/N/meta.json`, else the first member of its layout 2 archive `history/N.tar`. (A
/// commit moves `N.json` into `N/` by one rename once `N/` is in place, so one of them is there
/// at every moment.)
pub(crate) fn read_record(paths: &StatePaths, n: u64) -> Result<Record, Error> {
    let json = paths.record(n);
    let in_folder = paths.version_dir(n).join(META);
    let parse = |bytes: &[u8], path: &Path| -> Result<Record, Error> {
        serde_json::from_slice(bytes)
            .map_err(|e| Error::corrupt(path, format!("not a valid version record: {e}")))
    };
    let (record, path) = if let Some(bytes) = fsops::read_file(&json)? {
        (parse(&bytes, &json)?, json)
    } else if let Some(bytes) = fsops::read_file(&in_folder)? {
        (parse(&bytes, &in_folder)?, in_folder)
    } else {
        let tar = paths.archive(n);
        let record = crate::snapshot::read_record(&tar)?
            .ok_or_else(|| Error::corrupt(&tar, "missing; the history entry is damaged"))?;
        (record, tar)
    };
    if record.version != n {
        return Err(Error::corrupt(&path, format!("records version {}", record.version)));
    }
    Ok(record)
}

/// The native files of the earlier version `n` as they were when it was replaced, byte for
/// byte: from its folder `history/N/cwd/`, or from its layout 2 archive. Also the path they were
/// read from (for messages, and as the `cwd` to parse them against).
///
/// A version that a commit in progress (another process's, read without a lock) has just
/// replaced is not in `history/` yet for a moment: it is read where the commit holds it, the
/// replaced `cwd/` in the staging folder (each of its files the kept one or its private copy,
/// the same bytes), and looked for again if the commit moves it meanwhile.
pub(crate) fn version_files(paths: &StatePaths, n: u64) -> Result<(NativeFiles, PathBuf), Error> {
    let mut pause = std::time::Duration::from_micros(500);
    for _ in 0..READ_ATTEMPTS {
        let dir = paths.version_dir(n);
        match fsops::lstat(&dir)? {
            Some(m) if m.is_dir() => {
                let cwd = dir.join(CWD);
                let (files, stamps) = crate::live::read_native_stamped(&cwd)?;
                if stamps.cwd.is_none() {
                    return Err(Error::corrupt(&cwd, "missing; the history entry is damaged"));
                }
                return Ok((files, cwd));
            }
            Some(_) => return Err(Error::corrupt(&dir, "expected a folder, found a file")),
            None => {}
        }
        let archive = paths.archive(n);
        if fsops::lstat(&archive)?.is_some() {
            let (_, files) = crate::snapshot::read(&archive)?;
            return Ok((files, archive));
        }
        match crate::commit::journal(paths)? {
            Some(j) if j.keeps && j.replaced == Some(n) => {
                if let Some(found) = crate::commit::replaced_tree(paths)? {
                    return Ok(found);
                }
            }
            // No commit is putting it in place: it is not there.
            _ => {
                let _ = crate::snapshot::read(&archive)?;
            }
        }
        // Moved by the commit while it was looked for: look again.
        std::thread::sleep(pause);
        pause = (pause * 2).min(std::time::Duration::from_millis(20));
    }
    Err(Error::busy(paths.root.parent().unwrap_or(&paths.root)))
}

/// How many times [`version_files`] looks again for a version a commit is moving.
const READ_ATTEMPTS: u32 = 200;

/// Writes `record` as a new file at `path` (in the staging folder, from which a commit renames
/// it to `history/N.json`; or straight there when a folder is created beside its place).
pub(crate) fn write_record(path: &Path, record: &Record, syncs: fsops::Syncs) -> Result<(), Error> {
    fsops::write_new_file(path, record.to_json().as_bytes(), 0o600, syncs)
}

/// The version numbers in `history/` (files `N.json` and `N.tar`, folders `N`), ascending.
/// Other entries are ignored; an entry that is a symbolic link is an error.
pub(crate) fn versions(paths: &StatePaths) -> Result<Vec<u64>, Error> {
    let dir = paths.history();
    let Some(entries) = fsops::list_dir(&dir)? else { return Ok(Vec::new()) };
    let number = |s: &str| {
        Some(s)
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .filter(|s| *s == "0" || !s.starts_with('0'))
            .and_then(|s| s.parse::<u64>().ok())
    };
    let mut out = Vec::new();
    for (name, kind) in entries {
        let Some(name) = name.to_str() else { continue };
        let n = match name.strip_suffix(".tar").or_else(|| name.strip_suffix(".json")) {
            Some(stem) => number(stem),
            None => number(name),
        };
        let Some(n) = n else { continue };
        if kind == fsops::EntryKind::Symlink {
            return Err(Error::symlink(&dir.join(name)));
        }
        out.push(n);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Every version up to `current`, oldest first, `current` marked current. (A commit in
/// progress installs the record of the version it makes before its switch: that one is not
/// listed while it is not current.)
pub(crate) fn list_upto(paths: &StatePaths, current: u64) -> Result<Vec<VersionInfo>, Error> {
    versions(paths)?
        .into_iter()
        .filter(|n| *n <= current)
        .map(|n| read_record(paths, n)?.info(&paths.record(n), n == current))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_serialize_section_ids_and_counts() {
        let mut counts = Counts::default();
        counts.items.insert(SectionId::Templates, 3);
        counts.passwords = PasswordCounts { total: 2, fixed: 1, sealed: 2 };
        let meta = CommitMeta::import(
            Some("hq.xml".into()),
            vec![SectionId::UserDirectories, SectionId::Templates],
            counts,
        );
        let r = Record::new(4, &meta, None);
        let line = r.audit_line();
        assert!(line.contains(r#""sections":["user_directories","templates"]"#), "{line}");
        assert!(line.contains(r#""items":{"templates":3}"#), "{line}");
        assert!(line.contains(r#""passwords":{"total":2,"fixed":1,"sealed":2}"#), "{line}");
        assert!(!line.contains("restored"));
        let back: Record = serde_json::from_str(&line).unwrap();
        let info = back.info(Path::new("m"), true).unwrap();
        assert_eq!(info.sections, [SectionId::UserDirectories, SectionId::Templates]);
        assert_eq!(info.version, 4);
        let json = serde_json::to_string(&info).unwrap();
        assert!(json.contains(r#""current":true"#), "{json}");
    }
}
