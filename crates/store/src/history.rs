//! Versions: what each commit records (`history/N.json` while version N is current, then
//! `meta.json` in its archive `history/N.tar`, see [`crate::snapshot`]), the public
//! [`VersionInfo`], and the listing of a folder's history.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use model::SectionId;
use serde::{Deserialize, Serialize, Serializer};

use crate::error::Error;
use crate::fsops;
use crate::layout::StatePaths;

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
}

impl CommitMeta {
    /// The meta of an import of `export` replacing `sections`.
    pub fn import(export: Option<String>, sections: Vec<SectionId>, counts: Counts) -> CommitMeta {
        CommitMeta { action: "import".to_owned(), export, sections, counts }
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
        }
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

/// Reads the record of version `n`: `history/N.json` while it is current, else the first
/// member of its archive `history/N.tar`.
pub(crate) fn read_record(paths: &StatePaths, n: u64) -> Result<Record, Error> {
    let json = paths.record(n);
    let (record, path) = match fsops::read_file(&json)? {
        Some(bytes) => {
            let record: Record = serde_json::from_slice(&bytes)
                .map_err(|e| Error::corrupt(&json, format!("not a valid version record: {e}")))?;
            (record, json)
        }
        None => {
            let tar = paths.archive(n);
            let record = crate::snapshot::read_record(&tar)?
                .ok_or_else(|| Error::corrupt(&tar, "missing; the history entry is damaged"))?;
            (record, tar)
        }
    };
    if record.version != n {
        return Err(Error::corrupt(&path, format!("records version {}", record.version)));
    }
    Ok(record)
}

/// Writes `record` as a new file at `path` (in the staging folder, from which a commit renames
/// it to `history/N.json`; or straight there when a folder is created beside its place).
pub(crate) fn write_record(path: &Path, record: &Record) -> Result<(), Error> {
    fsops::write_new_file(path, record.to_json().as_bytes(), 0o600)
}

/// The version numbers in `history/` (files `N.json` and `N.tar`), ascending. Other entries are
/// ignored; an entry that is a symbolic link is an error.
pub(crate) fn versions(paths: &StatePaths) -> Result<Vec<u64>, Error> {
    let dir = paths.history();
    crate::layout::check_not_symlink(&dir)?;
    let entries = match fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("list", &dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("list", &dir, e))?;
        let name = entry.file_name();
        let Some(n) = name
            .to_str()
            .and_then(|s| s.strip_suffix(".tar").or_else(|| s.strip_suffix(".json")))
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .filter(|s| *s == "0" || !s.starts_with('0'))
            .and_then(|s| s.parse::<u64>().ok())
        else {
            continue;
        };
        crate::layout::check_not_symlink(&entry.path())?;
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
