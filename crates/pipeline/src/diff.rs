//! `jimsctl diff A B`: two configurations compared as the plan shows an import, each side a
//! bundle (XML or JSON), a server folder, a managed folder (its live configuration) or a
//! version of one (`DIR@N`). Passwords are compared by value where both sides can be opened
//! (plaintext, or sealed under a key at hand: a managed side's own, or one given); otherwise by
//! their written form. The result names sections, items and fields, never a value.

use std::path::{Path, PathBuf};

use model::{Configuration, SectionId};
use select::{Plan, Selection};

use crate::error::{Error, ErrorKind};

use crate::input::{ExportFormat, read_export};
pub use store::{Drift, FileDrift, VersionInfo};

/// What one side of a diff is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SideKind {
    /// An XML bundle.
    Xml,
    /// A JSON bundle.
    Json,
    /// A server configuration folder (not managed).
    Folder,
    /// A managed folder's live configuration.
    Managed,
    /// A version of a managed folder (`DIR@N`).
    Version,
}

/// One side of a diff, opened.
pub struct Side {
    /// As given on the command line.
    pub label: String,
    /// What it is.
    pub kind: SideKind,
    /// For [`SideKind::Version`], the version; for [`SideKind::Managed`], the current one.
    pub version: Option<u64>,
    /// The sections it holds.
    pub configuration: Configuration,
    /// A managed side's folder, open for reading: its key opens the side's sealed passwords.
    target: Option<store::TargetView>,
}

impl std::fmt::Debug for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Side")
            .field("label", &self.label)
            .field("kind", &self.kind)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl Side {
    /// Every key of the managed folder (its current key, then its retired ones), for a managed
    /// side or a version of one; none for another side.
    pub fn keys(&self) -> Vec<&crypto::ServerKey> {
        self.target.as_ref().map(store::TargetView::server_keys).unwrap_or_default()
    }

    /// For a side read from a managed folder's live files (the folder itself, or `DIR@N` of
    /// its current version): the native files changed by hand since that version was written
    /// (paths under `cwd/`), which the side shows as they are now. Empty otherwise, or when
    /// the version predates the records that tell.
    pub fn edited_by_hand(&self) -> Vec<String> {
        let Some(target) = &self.target else { return Vec::new() };
        if self.version != Some(target.version()) {
            return Vec::new();
        }
        match target.drift() {
            Ok(Some(d)) => d.files.iter().map(|f| f.path.to_owned()).collect(),
            _ => Vec::new(),
        }
    }
}

/// Whether `dir` is a managed folder (it holds jimsctl's `.jims-import/`).
pub fn is_managed(dir: &Path) -> bool {
    dir.join(".jims-import").is_dir()
}

/// Splits `DIR@N` into the folder and the version, when `spec` ends in `@` and digits and the
/// part before is a managed folder (a file whose name holds an `@` is taken as a file).
fn version_spec(spec: &str) -> Option<(PathBuf, u64)> {
    let (dir, n) = spec.rsplit_once('@')?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) || Path::new(spec).exists() {
        return None;
    }
    Some((PathBuf::from(dir), n.parse().ok()?))
}

/// Opens one side: `DIR@N`, a managed folder, a server folder or a bundle.
///
/// # Errors
/// As `import` reports them: a file that cannot be read or parsed (exit 2), a version not in
/// the history or a folder that is not managed for `DIR@N` (exit 2).
pub fn open_side(spec: &str) -> Result<Side, Error> {
    if let Some((dir, n)) = version_spec(spec) {
        if !is_managed(&dir) {
            return Err(Error::new(
                ErrorKind::Target,
                format!(
                    "{spec}: {} is not a managed server folder, so it has no version {n} (DIR@N \
                     names a version of a managed folder; see `jimsctl history --target DIR`)",
                    dir.display()
                ),
            )
            .with_path(&dir));
        }
        let target = store::Target::open_state(&dir)?;
        let configuration = target.version_configuration(n)?;
        return Ok(Side {
            label: spec.to_owned(),
            kind: SideKind::Version,
            version: Some(n),
            configuration,
            target: Some(target),
        });
    }
    let path = Path::new(spec);
    if is_managed(path) {
        let target = store::Target::open_read(path)?;
        return Ok(Side {
            label: spec.to_owned(),
            kind: SideKind::Managed,
            version: Some(target.version()),
            configuration: target.configuration().clone(),
            target: Some(target),
        });
    }
    let (export, format) = read_export(path)?;
    let kind = match format {
        ExportFormat::Xml => SideKind::Xml,
        ExportFormat::Json => SideKind::Json,
        ExportFormat::Folder => SideKind::Folder,
    };
    Ok(Side {
        label: spec.to_owned(),
        kind,
        version: None,
        configuration: export.configuration,
        target: None,
    })
}

/// What differs from `a` to `b`, as a plan: every section either side holds, with the items
/// added (only in `b`), removed (only in `a`) and changed. Passwords that both sides hold and
/// that the keys at hand open (each managed side's own key, and `extra_keys`) are compared by
/// value.
pub fn diff(a: &Side, b: &Side, extra_keys: &[crypto::ServerKey]) -> Plan {
    let mut keys: Vec<&crypto::ServerKey> = extra_keys.iter().collect();
    keys.extend(a.keys());
    keys.extend(b.keys());
    let mut right = b.configuration.clone();
    compare(&a.configuration, &mut right, &keys)
}

/// The plan from `before` to `after`, over every section either holds; a password of `after`
/// equal by value to `before`'s (opened with `keys`) is made to hold `before`'s written form,
/// so that it is not reported changed.
fn compare(before: &Configuration, after: &mut Configuration, keys: &[&crypto::ServerKey]) -> Plan {
    secrets::align_equal_secrets(before, after, keys);
    let mut sections: Vec<SectionId> = before.ids();
    sections.extend(after.ids());
    sections.sort();
    sections.dedup();
    let selection = Selection { sections, partial: false, merge_event_sources: false };
    select::plan(before, after, &selection)
}

/// A version of a managed folder against the one before it (`history show N`).
#[derive(Debug)]
pub struct VersionChanges {
    /// The version's record.
    pub info: VersionInfo,
    /// The version before it, if any.
    pub previous: Option<u64>,
    /// The previous version's configuration (empty for the first version).
    pub before: Configuration,
    /// The version's configuration (its passwords equal to the previous version's hold the
    /// same written form).
    pub after: Configuration,
    /// What changed from `before` to `after`.
    pub plan: Plan,
}

/// `history show N`: version `n` of the folder `dir` and what it changed from the version
/// before it (from an empty folder for the first).
///
/// # Errors
/// A folder that is not managed, a version not in its history, or one that cannot be read.
pub fn version_changes(dir: &Path, n: u64) -> Result<VersionChanges, Error> {
    let target = store::Target::open_state(dir)?;
    let info = target.version_info(n)?;
    let mut after = target.version_configuration(n)?;
    let versions = target.history()?;
    let previous = versions.iter().map(|v| v.version).filter(|v| *v < n).max();
    let before = match previous {
        Some(p) => target.version_configuration(p)?,
        None => Configuration::new(),
    };
    let plan = compare(&before, &mut after, &target.server_keys());
    Ok(VersionChanges { info, previous, before, after, plan })
}

/// What a rollback would change (`rollback --dry-run`).
#[derive(Debug)]
pub struct RollbackPreview {
    /// The current version.
    pub from: u64,
    /// The version restored.
    pub to: u64,
    /// The live configuration as it is, hand edits included (what the rollback replaces),
    /// without the sections whose live file no longer reads.
    pub now: Configuration,
    /// The configuration restored, whole.
    pub then: Configuration,
    /// The configuration restored as compared: without the sections in `unreadable`, and its
    /// passwords equal to the current ones holding the same written form.
    pub compared: Configuration,
    /// What the rollback would change from `now` to `compared`.
    pub plan: Plan,
    /// The sections whose live file a hand edit broke, each with why it does not read: not
    /// compared item by item, only named (the rollback replaces them).
    pub unreadable: Vec<(SectionId, String)>,
    /// What was changed by hand in the live files since the current version, if anything (and
    /// if the version's record tells).
    pub edited: Option<Drift>,
}

/// `rollback --dry-run`: what restoring version `to` of the folder `dir` (by default the one
/// before the current) would change to the live files as they are, writing nothing.
///
/// # Errors
/// [`ErrorKind::Target`] for a folder with no history, no earlier version, or `to` the current
/// version; a folder that is not managed, or a version not in its history.
pub fn rollback_preview(dir: &Path, to: Option<u64>) -> Result<RollbackPreview, Error> {
    let target = store::Target::open_state(dir)?;
    let versions = target.history()?;
    let current = target.version();
    if versions.is_empty() {
        return Err(Error::new(
            ErrorKind::Target,
            format!("{} has no history yet: there is nothing to roll back", dir.display()),
        ));
    }
    let to = match to {
        Some(n) => n,
        None => {
            versions.iter().map(|v| v.version).filter(|v| *v < current).max().ok_or_else(|| {
                Error::new(
                    ErrorKind::Target,
                    format!(
                        "{} is at its first version: there is no earlier version to roll back to",
                        dir.display()
                    ),
                )
            })?
        }
    };
    if to == current {
        return Err(Error::new(
            ErrorKind::Target,
            format!(
                "version {to} is the current version of {}: there is nothing to restore",
                dir.display()
            ),
        ));
    }
    // The live files as they are, hand edits included: what the rollback replaces. A section
    // whose live file a hand edit broke is not compared item by item, only named.
    let (now, unreadable) = target.live_configuration_readable()?;
    let edited = target.drift()?.filter(|d| !d.is_clean());
    let then = target.version_configuration(to)?;
    let mut compared = then.clone();
    for (id, _) in &unreadable {
        compared.remove(*id);
    }
    let plan = compare(&now, &mut compared, &target.server_keys());
    Ok(RollbackPreview { from: current, to, now, then, compared, plan, unreadable, edited })
}

/// Reads a server key file (`--source-key`), for [`diff`].
///
/// # Errors
/// A file that cannot be read, or that is not a key file (exit 2).
pub fn read_key(path: &Path) -> Result<crypto::ServerKey, Error> {
    crate::import::read_key_file(path)
}
