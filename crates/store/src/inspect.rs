//! Looking into a managed folder without changing it: what a version holds
//! ([`Target::version_configuration`], [`Target::version_info`]) and what was changed by hand
//! in the live files since the current version was written ([`Target::drift`]).

use std::collections::BTreeMap;

use model::{Configuration, SectionId};
use serde::Serialize;

use crate::error::{Error, ErrorKind};
use crate::history::{self, VersionInfo};
use crate::layout::CWD;
use crate::live;
use crate::target::Target;

/// How a live native file differs from what the current version wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileChange {
    /// Its bytes differ.
    Changed,
    /// The version did not write it, but it is there.
    Added,
    /// The version wrote it, but it is gone.
    Removed,
}

/// One live native file changed by hand.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileDrift {
    /// Its path relative to `cwd/`.
    pub path: &'static str,
    /// How it differs.
    pub change: FileChange,
}

/// The items of one section changed by hand, by id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SectionDrift {
    /// The section.
    #[serde(serialize_with = "section_str")]
    pub section: SectionId,
    /// Items the version did not have.
    pub added: Vec<String>,
    /// Items the version had that are gone.
    pub removed: Vec<String>,
    /// Items whose content differs (an attribute, a child, a password).
    pub changed: Vec<String>,
    /// Why its items cannot be told (a live file that no longer parses), if so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unreadable: Option<String>,
}

fn section_str<S: serde::Serializer>(id: &SectionId, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(id.as_str())
}

/// What changed in the live `cwd/` since the current version was written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Drift {
    /// The native files that differ, in document order (empty: no hand edit).
    pub files: Vec<FileDrift>,
    /// Per section with a changed file: the items that differ.
    pub sections: Vec<SectionDrift>,
}

impl Drift {
    /// Whether the live files are exactly what the current version wrote.
    pub fn is_clean(&self) -> bool {
        self.files.is_empty()
    }
}

impl Target {
    /// What was changed by hand in the live files since the current version was written:
    /// the files whose bytes differ, and in their sections the items added, removed or changed.
    /// `None` when the current version was written before jimsctl recorded what it wrote.
    ///
    /// # Errors
    /// A damaged history record.
    pub fn drift(&self) -> Result<Option<Drift>, Error> {
        if self.is_new() {
            return Ok(None);
        }
        let record = history::read_record(&self.state(), self.version())?;
        let Some(digests) = record.digests else { return Ok(None) };
        let live = self.live_files();
        let mut files = Vec::new();
        let mut touched: Vec<SectionId> = Vec::new();
        for (section, rel) in live::native_paths() {
            let change = match (digests.files.get(rel), live.get(rel)) {
                (Some(want), Some(have)) if *want == crate::digest::bytes(have) => continue,
                (None, None) => continue,
                (Some(_), Some(_)) => FileChange::Changed,
                (None, Some(_)) => FileChange::Added,
                (Some(_), None) => FileChange::Removed,
            };
            files.push(FileDrift { path: rel, change });
            if !touched.contains(&section) {
                touched.push(section);
            }
        }
        let cwd = self.dir().join(CWD);
        let mut sections = Vec::new();
        for id in touched {
            let others: Vec<SectionId> = SectionId::ALL.into_iter().filter(|s| *s != id).collect();
            let mut drift = SectionDrift {
                section: id,
                added: Vec::new(),
                removed: Vec::new(),
                changed: Vec::new(),
                unreadable: None,
            };
            match live::parse(&cwd, live, &others) {
                Err(e) => drift.unreadable = Some(e.to_string()),
                Ok(config) => {
                    let now = crate::digest::items(&config);
                    let empty = BTreeMap::new();
                    let was = digests.items.get(id.as_str()).unwrap_or(&empty);
                    let is = now.get(id.as_str()).unwrap_or(&empty);
                    for (item, digest) in is {
                        match was.get(item) {
                            None => drift.added.push(item.clone()),
                            Some(d) if d != digest => drift.changed.push(item.clone()),
                            Some(_) => {}
                        }
                    }
                    drift.removed = was.keys().filter(|k| !is.contains_key(*k)).cloned().collect();
                }
            }
            sections.push(drift);
        }
        Ok(Some(Drift { files, sections }))
    }

    /// The live configuration as far as it can be read: every section whose live files parse,
    /// and, for each section whose live files do not (a hand edit broke them), why. For what
    /// must not stop at a damaged file, such as showing what a rollback would do.
    ///
    /// # Errors
    /// A live file that cannot be read at all.
    pub fn live_configuration_readable(
        &self,
    ) -> Result<(Configuration, Vec<(SectionId, String)>), Error> {
        let cwd = self.dir().join(CWD);
        let live = self.live_files();
        if let Ok(config) = live::parse(&cwd, live, &[]) {
            return Ok((config, Vec::new()));
        }
        let mut unreadable = Vec::new();
        for id in SectionId::ALL {
            let others: Vec<SectionId> = SectionId::ALL.into_iter().filter(|s| *s != id).collect();
            if let Err(e) = live::parse(&cwd, live, &others) {
                unreadable.push((id, e.to_string()));
            }
        }
        let skipped: Vec<SectionId> = unreadable.iter().map(|(id, _)| *id).collect();
        Ok((live::parse(&cwd, live, &skipped)?, unreadable))
    }

    /// The configuration version `n` holds: the live files for the current version, else its
    /// archive (as the next commit found the live files, hand edits included).
    ///
    /// # Errors
    /// [`ErrorKind::NoSuchVersion`] for a version not in the history; a file that does not
    /// parse; a damaged archive.
    pub fn version_configuration(&self, n: u64) -> Result<Configuration, Error> {
        self.check_version(n)?;
        if n == self.version() {
            return live::parse(&self.dir().join(CWD), self.live_files(), &[]);
        }
        let archive = self.state().archive(n);
        let (_, files) = crate::snapshot::read(&archive)?;
        live::parse(&archive, &files, &[])
    }

    /// The history entry of version `n`.
    ///
    /// # Errors
    /// As [`Target::version_configuration`].
    pub fn version_info(&self, n: u64) -> Result<VersionInfo, Error> {
        self.check_version(n)?;
        self.history()?.into_iter().find(|v| v.version == n).ok_or_else(|| self.no_such_version(n))
    }

    fn check_version(&self, n: u64) -> Result<(), Error> {
        if self.is_new() || !self.history()?.iter().any(|v| v.version == n) {
            return Err(self.no_such_version(n));
        }
        Ok(())
    }

    fn no_such_version(&self, n: u64) -> Error {
        Error::new(
            ErrorKind::NoSuchVersion,
            format!(
                "version {n} is not in the history of {}; see `jimsctl history --target {}`",
                self.dir().display(),
                self.dir().display()
            ),
        )
    }
}
