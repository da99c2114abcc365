//! Many imports at once (`jimsctl batch`): a list of entries from a manifest or from a folder of
//! exports, run in parallel on rayon, each one isolated from the others, with the secret sources
//! opened once and the lookups shared, their commits grouped so that the batch pays a few
//! filesystem syncs per group rather than dozens per import, and a report.
//!
//! - [`read_manifest`] (TOML `[[import]]` tables or JSON `{"import": [...]}`) and [`scan`]
//!   (`EXPORTS/<name>.xml|json` → `TARGETS/<name>/`) make the [`Entry`] list.
//! - [`run`] imports them with [`crate::import`] and returns a [`Report`], which serializes
//!   as the report of docs/cli.md.
//!
//! # Targets
//! A batch creates no folder: an entry whose target's parent folder does not exist fails (exit
//! 2), as `import` does. Targets that nest (one inside another, once links and `..` are
//! resolved: `t/a` and `t/a/cwd`) are refused before anything runs: an import into one would
//! damage the other. The same target twice is fine: its imports run one after the other.
//!
//! # Isolation
//! An entry that fails (a bad file, passwords missing, a busy target, a wrongly configured
//! source of its own) is reported with its own status and exit code; the others go on. The
//! commits of up to [`Options::group_size`] entries are staged in a [`store::Group`] and made
//! durable and switched in together while the next entries are imported; each commit stays
//! atomic, and every import reported `imported` is durable when [`run`] returns. Entries into
//! the same target run one after the other, in list order.
//!
//! # Secrets
//! The `--secrets` SPECs of an entry may hold `{name}` (the export's file name without its
//! extension) and `{dir}` (the export's folder), e.g. `file:{dir}/{name}.secrets.json` for a
//! secrets file beside each export. A SPEC without them is opened once for the whole batch and
//! shared; one with them is opened for its entry only. Entries with the same SPECs share one
//! [`secrets::Cache`], so a secret with the same keys, Data and Username is looked up once for
//! the whole batch; the caches live in memory only and are wiped when [`run`] returns.
//!
//! # Pushing
//! With [`Options::push`] (`batch --push`), each target whose import succeeded is then pushed to
//! its remote ([`crate::push::push`], with the entry's secret sources for the administrator's
//! password) on a pool of its own, while the imports go on: pushes wait on the network, imports
//! on the disk and the CPU. One server down fails its own entries' pushes only. A target
//! without a remote is a failed push (exit 2). A target imported again later in the batch is
//! imported only after its push ended.
//!
//! # Cancelling
//! Setting the `cancel` flag (Ctrl-C) stops starting new imports: the ones running finish and
//! are committed, the others are reported `skipped`. Every target is left whole.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Instant;

use model::SectionId;
use rayon::prelude::*;
use secrets::{Answer, Cache, Chain, Request, SecretSource, SourceError};
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind};
use crate::import::{ImportOptions, Interaction, Outcome, Status};
use crate::input::io_reason;

/// The `import` flags of one entry of a manifest; each one unset takes the batch's.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Overrides {
    /// `--sections`.
    pub sections: Option<Vec<String>>,
    /// `--accept-warning`.
    pub accept_warning: Option<bool>,
    /// `--secrets`, in order (SPECs, `{name}` and `{dir}` expanded per export).
    pub secrets: Option<Vec<String>>,
    /// `--source-key`.
    pub source_key: Option<PathBuf>,
    /// `--dry-run`.
    pub dry_run: Option<bool>,
    /// `--replace-event-sources`.
    pub replace_event_sources: Option<bool>,
}

/// The `import` flags given to the batch: they apply to every entry that does not set its own.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Defaults {
    /// `--sections`.
    pub sections: Option<Vec<String>>,
    /// `--accept-warning`.
    pub accept_warning: bool,
    /// `--secrets`, in order.
    pub secrets: Vec<String>,
    /// `--source-key`.
    pub source_key: Option<PathBuf>,
    /// `--dry-run`.
    pub dry_run: bool,
    /// `--replace-event-sources`.
    pub replace_event_sources: bool,
}

/// One import of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The export.
    pub export: PathBuf,
    /// The managed folder to import into (created when absent).
    pub target: PathBuf,
    /// Its own flags.
    pub overrides: Overrides,
    /// Why the entry cannot run at all (e.g. a name with both an `.xml` and a `.json`): it is
    /// reported failed (exit 2) with this message.
    pub problem: Option<String>,
}

/// How a batch runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// Imports running at once (`-j`); 0 means one per core.
    pub jobs: usize,
    /// Share lookups across the batch through a cache (off with `--no-shared-lookups`).
    pub shared_lookups: bool,
    /// Group the commits: up to `group_size` of them are made durable together (a few
    /// `syncfs` per group). Off, each import commits alone with its own syncs, as `import`
    /// does (slower by far on a disk; kept to measure the difference).
    pub group_commits: bool,
    /// Commits grouped into one durable flush.
    pub group_size: usize,
    /// Push each target after its import succeeds (`--push`).
    pub push: Option<PushSettings>,
}

/// How `batch --push` pushes.
#[derive(Clone, Debug)]
pub struct PushSettings {
    /// Pushes running at once (`--push-jobs`, 8 by default).
    pub jobs: usize,
    /// The time limit of each request.
    pub timeout: std::time::Duration,
}

impl Default for PushSettings {
    fn default() -> PushSettings {
        PushSettings { jobs: 8, timeout: crate::push::DEFAULT_TIMEOUT }
    }
}

/// What became of an entry's push (`"push"` in the report).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PushReport {
    /// `push --format json`'s status (`pushed`, `up-to-date`, `restored`, `mixed`, `refused`,
    /// `failed`, `missing-passwords`, `invalid`, `busy`).
    pub status: &'static str,
    /// Its own exit code, as `jimsctl push` would have returned.
    pub exit_code: u8,
    /// The remote.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote: Option<String>,
    /// One per native file, as `push --format json` has them.
    pub sections: serde_json::Value,
    /// What went wrong, for a push that did not succeed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How long the push took, in seconds.
    pub seconds: f64,
}

impl PushReport {
    fn of(result: Result<crate::push::PushOutcome, Error>, seconds: f64) -> PushReport {
        match result {
            Ok(o) => PushReport {
                status: o.status.as_str(),
                exit_code: o.status.exit_code(),
                sections: serde_json::to_value(&o.files).unwrap_or_default(),
                remote: Some(o.remote),
                error: o.message,
                seconds,
            },
            Err(e) => PushReport {
                status: e.status(),
                exit_code: e.exit_code(),
                remote: None,
                sections: serde_json::Value::Array(Vec::new()),
                error: Some(e.to_string()),
                seconds,
            },
        }
    }
}

/// The push counts of a batch with `--push`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PushTotals {
    /// Pushes run.
    pub pushes: usize,
    /// Pushes that ended with exit 0 (`pushed` or `up-to-date`).
    pub pushed: usize,
    /// Pushes that did not.
    pub failed: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options { jobs: 0, shared_lookups: true, group_commits: true, group_size: 64, push: None }
    }
}

/// Opens the secret source a SPEC names (not `prompt`, which the batch hands to the
/// [`Interaction`]). The CLI's opener knows the built-in sources and plugins.
pub type Opener<'a> = dyn Fn(&str) -> Result<Box<dyn SecretSource>, Error> + Sync + 'a;

/// How an entry ended: `import --format json`'s status, and `skipped` for an entry not started
/// because the batch was cancelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntryStatus {
    /// Written (exit 0).
    Imported,
    /// Nothing to write: the target already held it; no version made (exit 0).
    Unchanged,
    /// A dry run that found nothing in the way (exit 0).
    DryRun,
    /// Passwords still missing (exit 3).
    MissingPasswords,
    /// A partial import whose warning was not accepted (exit 4).
    WarningNotAccepted,
    /// Bad input of any kind: a malformed export, an unknown section, a failed validation, a
    /// wrong key, a misconfigured source (exit 2).
    Invalid,
    /// The target is busy (exit 5).
    Busy,
    /// Any other failure (exit 1).
    Failed,
    /// Not started: the batch was cancelled (exit 1).
    Skipped,
}

impl EntryStatus {
    fn of(status: Status) -> EntryStatus {
        match status {
            Status::Imported => EntryStatus::Imported,
            Status::Unchanged => EntryStatus::Unchanged,
            Status::DryRun => EntryStatus::DryRun,
            Status::MissingPasswords => EntryStatus::MissingPasswords,
            Status::WarningNotAccepted => EntryStatus::WarningNotAccepted,
        }
    }

    /// The status of an entry that ended in `e`, as `import --format json` gives it
    /// ([`Error::status`]).
    fn of_error(e: &Error) -> EntryStatus {
        match e.status() {
            "invalid" => EntryStatus::Invalid,
            "busy" => EntryStatus::Busy,
            _ => EntryStatus::Failed,
        }
    }

    /// The status as the report writes it (`imported`, `dry-run`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            EntryStatus::Imported => "imported",
            EntryStatus::Unchanged => "unchanged",
            EntryStatus::DryRun => "dry-run",
            EntryStatus::MissingPasswords => "missing-passwords",
            EntryStatus::WarningNotAccepted => "warning-not-accepted",
            EntryStatus::Invalid => "invalid",
            EntryStatus::Busy => "busy",
            EntryStatus::Failed => "failed",
            EntryStatus::Skipped => "skipped",
        }
    }
}

/// The password counters of an import.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Passwords {
    /// Rows of the Add Missing Passwords table.
    pub total: usize,
    /// Rows fixed.
    pub fixed: usize,
    /// Rows still missing.
    pub remaining: usize,
}

/// What became of one entry. Holds names and numbers, never a secret.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EntryReport {
    /// The export, as listed.
    #[serde(serialize_with = "display")]
    pub export: PathBuf,
    /// The target, as listed.
    #[serde(serialize_with = "display")]
    pub target: PathBuf,
    /// How it ended.
    pub status: EntryStatus,
    /// Its own exit code, as `jimsctl import` would have returned.
    pub exit_code: u8,
    /// The sections imported (or that would be).
    #[serde(serialize_with = "section_names")]
    pub sections: Vec<SectionId>,
    /// The password counters, when the import got as far as the table.
    pub passwords: Option<Passwords>,
    /// The secret keys still missing (for `missing-passwords`), most specific key of each row;
    /// empty otherwise. Every entry has every field, whatever its status.
    pub missing: Vec<String>,
    /// The version written (or, for `unchanged`, the one the target stays at); `null` else.
    pub version: Option<u64>,
    /// Whether the import created the target.
    pub created: bool,
    /// The error, for a failed entry; `null` else.
    pub error: Option<String>,
    /// How long the import took, in seconds (reading to staging its commit).
    pub seconds: f64,
    /// Its push, with `--push`, when the import succeeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push: Option<PushReport>,
}

fn display<S: serde::Serializer>(path: &Path, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&path.display())
}

fn section_names<S: serde::Serializer>(list: &[SectionId], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(list.iter().map(|k| k.as_str()))
}

impl EntryReport {
    fn new(entry: &Entry, status: EntryStatus, exit_code: u8) -> EntryReport {
        EntryReport {
            export: entry.export.clone(),
            target: entry.target.clone(),
            status,
            exit_code,
            sections: Vec::new(),
            passwords: None,
            missing: Vec::new(),
            version: None,
            created: false,
            error: None,
            seconds: 0.0,
            push: None,
        }
    }

    fn failed(entry: &Entry, e: &Error) -> EntryReport {
        let mut r = EntryReport::new(entry, EntryStatus::of_error(e), e.exit_code());
        r.error = Some(e.to_string());
        r
    }

    fn of_outcome(entry: &Entry, o: &Outcome) -> EntryReport {
        let mut r = EntryReport::new(entry, EntryStatus::of(o.status), o.status.exit_code());
        r.sections.clone_from(&o.sections);
        r.passwords = Some(Passwords {
            total: o.table.total(),
            fixed: o.table.fixed(),
            remaining: o.table.remaining(),
        });
        if o.status == Status::MissingPasswords {
            r.missing = o.table.missing().map(|row| row.key().as_str().to_owned()).collect();
        }
        r.version = o.version;
        r.created = o.creates_target && o.status == Status::Imported;
        r
    }

    /// Whether the import succeeded (exit 0), and its push too when there was one.
    pub fn succeeded(&self) -> bool {
        self.exit_code == 0 && self.push.as_ref().is_none_or(|p| p.exit_code == 0)
    }
}

/// Lookups through the batch's shared chains (those of SPECs without `{name}` or `{dir}`):
/// answered from their caches, and asked of the sources. An entry's own chain is not cached
/// (it could share nothing) and not counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Lookups {
    /// Rows answered from a cache.
    pub hits: usize,
    /// Rows asked of the sources.
    pub misses: usize,
}

/// The counts of a batch.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Totals {
    /// Entries in the batch.
    pub imports: usize,
    /// Entries imported.
    pub imported: usize,
    /// Entries whose target already held what they would write (no version made).
    pub unchanged: usize,
    /// Dry runs that would succeed.
    pub dry_run: usize,
    /// Entries that failed (any other status but `skipped`).
    pub failed: usize,
    /// Entries not started because the batch was cancelled.
    pub skipped: usize,
    /// Entries per status, for every status that occurred.
    pub statuses: std::collections::BTreeMap<&'static str, usize>,
    /// The shared lookups (zero without shared lookups).
    pub lookups: Lookups,
    /// Wall-clock time of the batch, in seconds.
    pub seconds: f64,
    /// The pushes, with `--push`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push: Option<PushTotals>,
}

/// What a batch did: one entry per import, in list order, and the totals. Serialized, it is
/// the `--report` of docs/cli.md.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Report {
    /// One per entry, in list order.
    pub imports: Vec<EntryReport>,
    /// The counts.
    pub totals: Totals,
    /// Whether the batch was cancelled.
    pub cancelled: bool,
}

impl Report {
    /// The batch's exit code: 0 when every import (and push) succeeded, 6 otherwise.
    pub fn exit_code(&self) -> u8 {
        if self.imports.iter().all(EntryReport::succeeded) { 0 } else { 6 }
    }
}

/// What [`run`] tells its observer as entries end (for a progress bar).
#[derive(Debug)]
pub enum Event<'a> {
    /// An entry's import ran (for one that writes, its commit is staged, not yet durable): as
    /// each one ends, for a progress bar that moves import by import.
    Ran(&'a EntryReport),
    /// An entry ended (for an import that wrote: once its commit is durable). Its status may
    /// differ from [`Event::Ran`]'s when the durable commit failed.
    Done(&'a EntryReport),
}

/// The manifest file: `[[import]]` tables (TOML) or `{"import": [...]}` (JSON).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    #[serde(default)]
    import: Vec<ManifestEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestEntry {
    export: PathBuf,
    target: PathBuf,
    #[serde(flatten)]
    overrides: Overrides,
}

/// Reads a manifest: TOML (`[[import]]` tables) or JSON (`{"import": [...]}`), told apart by
/// the extension `.json` or `.toml`, else by content. Each entry has `export` and `target` and
/// optionally `sections`, `accept_warning`, `secrets` (a list of SPECs), `source_key`,
/// `dry_run`, `replace_event_sources`. Relative paths are taken from the manifest's folder: `export`, `target`,
/// `source_key`, and the PATH of a `file:PATH` or `dir:PATH` SPEC (one that starts with a
/// placeholder, `{dir}`, is already anchored); other SPECs are used as given.
///
/// # Errors
/// [`ErrorKind::Input`] (exit 2) for a file that cannot be read, does not parse (with line and
/// column), has an unknown field or no entry.
pub fn read_manifest(path: &Path) -> Result<Vec<Entry>, Error> {
    let input = |m: String| Error::new(ErrorKind::Input, m).with_path(path);
    let text = std::fs::read_to_string(path).map_err(|e| {
        input(format!("cannot read the manifest {}: {}", path.display(), io_reason(&e)))
    })?;
    let json = match path.extension().and_then(|e| e.to_str()) {
        Some("json") => true,
        Some("toml") => false,
        _ => text.trim_start().starts_with('{'),
    };
    let manifest: Manifest = if json {
        serde_json::from_str(&text).map_err(|e| {
            input(format!(
                "{}:{}:{}: not a valid batch manifest: {e}",
                path.display(),
                e.line(),
                e.column()
            ))
        })?
    } else {
        toml::from_str(&text).map_err(|e| {
            let at = e
                .span()
                .map(|s| {
                    let before = &text[..s.start.min(text.len())];
                    let line = before.matches('\n').count() + 1;
                    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                    format!(":{line}:{column}")
                })
                .unwrap_or_default();
            input(format!("{}{at}: not a valid batch manifest: {}", path.display(), e.message()))
        })?
    };
    if manifest.import.is_empty() {
        return Err(input(format!(
            "{}: the manifest lists no import; add {}",
            path.display(),
            if json {
                r#"{"import": [{"export": "…", "target": "…"}]}"#
            } else {
                "[[import]] tables with export = \"…\" and target = \"…\""
            }
        )));
    }
    let base = path.parent().unwrap_or(Path::new(""));
    Ok(manifest
        .import
        .into_iter()
        .map(|m| {
            let mut overrides = m.overrides;
            overrides.source_key = overrides.source_key.map(|k| base.join(k));
            if let Some(specs) = &mut overrides.secrets {
                for spec in specs.iter_mut() {
                    *spec = spec_beside(base, spec);
                }
            }
            Entry {
                export: base.join(m.export),
                target: base.join(m.target),
                overrides,
                problem: None,
            }
        })
        .collect())
}

/// A manifest's SPEC with the relative PATH of `file:PATH` or `dir:PATH` taken from the
/// manifest's folder `base`; any other SPEC, an absolute PATH or one that starts with a
/// placeholder as it is.
fn spec_beside(base: &Path, spec: &str) -> String {
    for scheme in ["file:", "dir:"] {
        if let Some(path) = spec.strip_prefix(scheme)
            && !path.is_empty()
            && !path.starts_with('{')
            && Path::new(path).is_relative()
        {
            return format!("{scheme}{}", base.join(path).display());
        }
    }
    spec.to_owned()
}

/// Lists `exports/<name>.xml` and `exports/<name>.json` (not `*.secrets.json`, not hidden
/// files), sorted by name, each paired with `targets/<name>`. A name with both an `.xml` and a
/// `.json` is one entry with a problem (ambiguous).
///
/// # Errors
/// [`ErrorKind::Input`] when `exports` cannot be listed or holds no export.
pub fn scan(exports: &Path, targets: &Path) -> Result<Vec<Entry>, Error> {
    let input = |m: String| Error::new(ErrorKind::Input, m).with_path(exports);
    let list = std::fs::read_dir(exports)
        .map_err(|e| input(format!("cannot list {}: {}", exports.display(), io_reason(&e))))?;
    let mut found: std::collections::BTreeMap<String, Vec<PathBuf>> = Default::default();
    for item in list {
        let item = item.map_err(|e| input(format!("cannot list {}: {e}", exports.display())))?;
        let name = item.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with('.') || name.ends_with(".secrets.json") {
            continue;
        }
        let Some(stem) = name.strip_suffix(".xml").or_else(|| name.strip_suffix(".json")) else {
            continue;
        };
        if stem.is_empty() || !item.file_type().is_ok_and(|t| t.is_file() || t.is_symlink()) {
            continue;
        }
        found.entry(stem.to_owned()).or_default().push(item.path());
    }
    if found.is_empty() {
        return Err(input(format!(
            "{} holds no export (<name>.xml or <name>.json)",
            exports.display()
        )));
    }
    Ok(found
        .into_iter()
        .map(|(name, mut paths)| {
            paths.sort();
            let problem = (paths.len() > 1).then(|| {
                format!(
                    "{name} is ambiguous: both {}.xml and {}.json are in {}; keep one of them",
                    name,
                    name,
                    exports.display()
                )
            });
            Entry {
                export: paths.swap_remove(0),
                target: targets.join(&name),
                overrides: Overrides::default(),
                problem,
            }
        })
        .collect())
}

/// A source opened once and shared by the chains of the batch.
struct Shared(Arc<dyn SecretSource>);

impl SecretSource for Shared {
    fn kind(&self) -> String {
        self.0.kind()
    }
    fn lookup(&self, key: &model::SecretKey, request: &Request<'_>) -> Result<Answer, SourceError> {
        self.0.lookup(key, request)
    }
    fn start(&self) -> Result<Vec<String>, secrets::Error> {
        self.0.start()
    }
}

/// A chain and its cache, shared by the entries with the same SPECs.
pub(crate) struct Lookup {
    /// The sources.
    pub(crate) chain: Chain,
    /// The answers shared (with shared lookups, for SPECs without placeholders).
    pub(crate) cache: Option<Cache>,
}

/// A source opened for the batch, or why it could not be.
type Opened = Result<Arc<dyn SecretSource>, String>;

/// The sources and chains of a batch.
struct Sources<'a> {
    open: &'a Opener<'a>,
    shared_lookups: bool,
    /// Opened sources by SPEC (only SPECs without placeholders); a failure is kept as its
    /// message.
    opened: Mutex<HashMap<String, Opened>>,
    /// Chains by their SPECs (only chains without placeholders).
    chains: Mutex<HashMap<Vec<String>, Arc<Lookup>>>,
}

fn has_placeholder(spec: &str) -> bool {
    spec.contains("{name}") || spec.contains("{dir}")
}

/// `{name}` and `{dir}` of `export`.
fn expand(spec: &str, export: &Path) -> String {
    let name = export.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let name = name
        .strip_suffix(".xml")
        .or_else(|| name.strip_suffix(".json"))
        .unwrap_or(&name)
        .to_owned();
    let dir = match export.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.display().to_string(),
        _ => ".".to_owned(),
    };
    spec.replace("{name}", &name).replace("{dir}", &dir)
}

impl<'a> Sources<'a> {
    fn new(open: &'a Opener<'a>, shared_lookups: bool) -> Sources<'a> {
        Sources { open, shared_lookups, opened: Mutex::default(), chains: Mutex::default() }
    }

    /// The source of a SPEC without placeholders, opened on first use.
    fn shared_source(&self, spec: &str) -> Result<Arc<dyn SecretSource>, Error> {
        let mut opened = self.opened.lock().unwrap_or_else(PoisonError::into_inner);
        let found = opened
            .entry(spec.to_owned())
            .or_insert_with(|| (self.open)(spec).map(Arc::from).map_err(|e| e.to_string()));
        found.clone().map_err(|m| Error::new(ErrorKind::SourceConfig, m))
    }

    /// The chain and cache for `specs` (without `prompt`) of an entry importing `export`.
    fn lookup_for(&self, specs: &[String], export: &Path) -> Result<Arc<Lookup>, Error> {
        let private = specs.iter().any(|s| has_placeholder(s));
        if !private
            && let Some(l) = self.chains.lock().unwrap_or_else(PoisonError::into_inner).get(specs)
        {
            return Ok(Arc::clone(l));
        }
        let mut sources: Vec<Box<dyn SecretSource>> = Vec::with_capacity(specs.len());
        for spec in specs {
            if has_placeholder(spec) {
                sources.push((self.open)(&expand(spec, export))?);
            } else {
                sources.push(Box::new(Shared(self.shared_source(spec)?)));
            }
        }
        // An entry's own chain (a SPEC naming its export) shares nothing with other entries,
        // and within one export every row has its own item: a cache could never answer.
        let lookup = Arc::new(Lookup {
            chain: Chain::new(sources),
            cache: (self.shared_lookups && !private).then(Cache::new),
        });
        if !private {
            let mut chains = self.chains.lock().unwrap_or_else(PoisonError::into_inner);
            return Ok(Arc::clone(chains.entry(specs.to_vec()).or_insert(lookup)));
        }
        Ok(lookup)
    }

    fn lookups(&self) -> Lookups {
        let mut total = Lookups::default();
        for l in self.chains.lock().unwrap_or_else(PoisonError::into_inner).values() {
            if let Some(c) = &l.cache {
                total.hits += c.hits();
                total.misses += c.misses();
            }
        }
        total
    }
}

/// An entry's flags, its own or the batch's.
fn settle(entry: &Entry, defaults: &Defaults) -> (ImportOptions, Vec<String>) {
    let o = &entry.overrides;
    let mut specs = o.secrets.clone().unwrap_or_else(|| defaults.secrets.clone());
    let prompt = specs.iter().any(|s| s == "prompt");
    specs.retain(|s| s != "prompt");
    let options = ImportOptions {
        sections: o.sections.clone().or_else(|| defaults.sections.clone()),
        accept_warning: o.accept_warning.unwrap_or(defaults.accept_warning),
        dry_run: o.dry_run.unwrap_or(defaults.dry_run),
        source_key: o.source_key.clone().or_else(|| defaults.source_key.clone()),
        prompt,
        replace_event_sources: o.replace_event_sources.unwrap_or(defaults.replace_event_sources),
        // The report has no plan.
        no_plan: true,
    };
    (options, specs)
}

/// `path` as the filesystem resolves it: absolute, its longest existing ancestor with every
/// link resolved (`canonicalize`), the rest made lexically normal.
fn resolved(path: &Path) -> PathBuf {
    let abs = identity(path);
    let mut existing = abs.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = std::fs::canonicalize(existing) {
            let mut out = real;
            for part in rest.iter().rev() {
                out.push(part);
            }
            return identity(&out);
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                existing = parent;
            }
            _ => return abs,
        }
    }
}

/// Refuses a list whose targets nest: one inside another (the same one twice is fine).
///
/// # Errors
/// [`ErrorKind::Usage`] (exit 2) naming each pair, as listed.
pub fn check_targets(entries: &[Entry]) -> Result<(), Error> {
    let resolved: Vec<PathBuf> = entries.iter().map(|e| resolved(&e.target)).collect();
    check_resolved(entries, &resolved)
}

/// [`check_targets`] with each entry's target already [`resolved`] (`resolved[i]` for
/// `entries[i]`): a batch resolves each target once (a call per component of its path).
fn check_resolved(entries: &[Entry], resolved: &[PathBuf]) -> Result<(), Error> {
    let mut all: Vec<(PathBuf, &Path)> =
        entries.iter().zip(resolved).map(|(e, r)| (r.clone(), e.target.as_path())).collect();
    all.sort();
    all.dedup_by(|a, b| a.0 == b.0);
    // In component order a folder's descendants follow it at once: if any target holds
    // another, some target holds the next one.
    let nested: Vec<String> = all
        .windows(2)
        .filter(|w| w[1].0.starts_with(&w[0].0))
        .map(|w| format!("{} is inside {}", w[1].1.display(), w[0].1.display()))
        .collect();
    if nested.is_empty() {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::Usage,
        format!(
            "the batch's targets nest: {}; an import into one would damage the other: give \
             each import a folder of its own; nothing was imported",
            nested.join("; ")
        ),
    ))
}

/// A path made absolute and lexically normal, to tell when two entries share a target.
fn identity(path: &Path) -> PathBuf {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Splits the entries into waves: the k-th entry into a target goes into wave k, so that no
/// two imports into one target run at once and they run in list order.
#[cfg(test)]
fn waves(entries: &[Entry]) -> Vec<Vec<usize>> {
    let resolved: Vec<PathBuf> = entries.iter().map(|e| resolved(&e.target)).collect();
    waves_of(&resolved)
}

/// [`waves`] of the entries whose targets, resolved, are `resolved`.
fn waves_of(resolved: &[PathBuf]) -> Vec<Vec<usize>> {
    let mut seen: HashMap<&Path, usize> = HashMap::new();
    let mut waves: Vec<Vec<usize>> = Vec::new();
    for (i, target) in resolved.iter().enumerate() {
        let n = seen.entry(target.as_path()).or_insert(0);
        if waves.len() <= *n {
            waves.push(Vec::new());
        }
        waves[*n].push(i);
        *n += 1;
    }
    waves
}

/// What the flusher is handed: a group and its staged entries (index, staged, report).
type Flush = (store::Group, Vec<(usize, store::Staged, EntryReport)>);

/// Imports every entry (see the [module documentation](self)) and reports on each.
///
/// `open` opens a SPEC's source; `interaction` answers the partial-import warning and
/// `prompt` (called from several threads: it must serialize what it asks); `observe` hears of
/// each entry as it ends; `cancel` stops the batch from starting more imports.
///
/// # Errors
/// Only for the batch as a whole, before any import starts: targets that nest
/// ([`check_targets`]), the thread pool cannot start, or a SPEC given for the whole batch
/// (without placeholders) names a source that cannot be opened (exit 2). Each entry's own
/// failure is in its [`EntryReport`].
pub fn run(
    entries: &[Entry],
    defaults: &Defaults,
    options: &Options,
    open: &Opener<'_>,
    interaction: &(dyn Interaction + Sync),
    observe: &(dyn Fn(Event<'_>) + Sync),
    cancel: &AtomicBool,
) -> Result<Report, Error> {
    let started = Instant::now();
    let resolved: Vec<PathBuf> = entries.iter().map(|e| resolved(&e.target)).collect();
    check_resolved(entries, &resolved)?;
    let sources = Sources::new(open, options.shared_lookups);
    if entries.iter().any(|e| e.overrides.secrets.is_none()) {
        for spec in defaults.secrets.iter().filter(|s| *s != "prompt" && !has_placeholder(s)) {
            sources.shared_source(spec)?;
        }
    }
    let jobs = match options.jobs {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        n => n,
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .thread_name(|i| format!("jimsctl-batch-{i}"))
        .build()
        .map_err(|e| {
            Error::new(ErrorKind::Io, format!("cannot start {jobs} import threads: {e}"))
        })?;
    let group_size = options.group_size.max(1);
    let reports: Mutex<Vec<Option<EntryReport>>> = Mutex::new(vec![None; entries.len()]);
    let store_report = |i: usize, mut r: EntryReport| {
        observe(Event::Done(&r));
        // Kept to the end without its paths (the entry has them; they are put back then):
        // small blocks that outlive their import would pin the allocator's pages of the
        // import's freed memory, and the batch would grow by some 2 KB per import.
        r.export = PathBuf::new();
        r.target = PathBuf::new();
        reports.lock().unwrap_or_else(PoisonError::into_inner)[i] = Some(r);
    };
    // Groups handed to the flusher, and groups it has committed.
    let flushed = (Mutex::new(0usize), Condvar::new());
    let mut sent = 0usize;
    // Pushes: the queue of entries imported, their reports, and (queued, ended) counts.
    let (push_tx, push_rx) = std::sync::mpsc::channel::<usize>();
    let push_tx = Mutex::new(Some(push_tx));
    let push_rx = Mutex::new(push_rx);
    let pushes: Mutex<Vec<Option<PushReport>>> = Mutex::new(vec![None; entries.len()]);
    let pushed = (Mutex::new((0usize, 0usize)), Condvar::new());
    let queue_push = |i: usize, r: &EntryReport| {
        if options.push.is_some()
            // An import that changed nothing succeeded too: its target is pushed (a push
            // with nothing to send is `up-to-date` and connects nowhere).
            && matches!(r.status, EntryStatus::Imported | EntryStatus::Unchanged)
            && let Some(tx) = push_tx.lock().unwrap_or_else(PoisonError::into_inner).as_ref()
        {
            pushed.0.lock().unwrap_or_else(PoisonError::into_inner).0 += 1;
            let _ = tx.send(i);
        }
    };
    let store_report = |i: usize, r: EntryReport| {
        queue_push(i, &r);
        store_report(i, r);
    };

    std::thread::scope(|s| {
        if let Some(settings) = &options.push {
            for _ in 0..settings.jobs.max(1) {
                s.spawn(|| {
                    loop {
                        let next = push_rx.lock().unwrap_or_else(PoisonError::into_inner).recv();
                        let Ok(i) = next else { break };
                        let report = push_entry(&entries[i], defaults, &sources, settings);
                        pushes.lock().unwrap_or_else(PoisonError::into_inner)[i] = Some(report);
                        let (counts, done) = &pushed;
                        counts.lock().unwrap_or_else(PoisonError::into_inner).1 += 1;
                        done.notify_all();
                    }
                });
            }
        }
        let (tx, rx) = sync_channel::<Flush>(1);
        let flusher = s.spawn(|| {
            for (group, staged) in rx {
                let mut results: Vec<Option<Result<(), store::Error>>> =
                    group.commit().into_iter().map(Some).collect();
                for (i, st, mut report) in staged {
                    let result = results.get_mut(st.index()).and_then(Option::take);
                    if let Some(Err(e)) = result {
                        let seconds = report.seconds;
                        report = EntryReport::failed(&entries[i], &Error::from(e));
                        report.seconds = seconds;
                    }
                    store_report(i, report);
                }
                let (count, done) = &flushed;
                *count.lock().unwrap_or_else(PoisonError::into_inner) += 1;
                done.notify_all();
            }
        });
        for wave in waves_of(&resolved) {
            for chunk in wave.chunks(group_size) {
                let group = store::Group::new();
                let done: Vec<(usize, EntryReport, Option<store::Staged>)> = pool.install(|| {
                    chunk
                        .par_iter()
                        .map(|&i| {
                            let (report, staged) = run_entry(
                                &entries[i],
                                defaults,
                                &sources,
                                options.group_commits.then_some(&group),
                                interaction,
                                cancel,
                            );
                            observe(Event::Ran(&report));
                            (i, report, staged)
                        })
                        .collect()
                });
                let mut staged = Vec::new();
                for (i, report, st) in done {
                    match st {
                        Some(st) => staged.push((i, st, report)),
                        None => store_report(i, report),
                    }
                }
                if staged.is_empty() {
                    continue;
                }
                if tx.send((group, staged)).is_err() {
                    break;
                }
                sent += 1;
            }
            // The next wave imports into the same targets: wait until this one is committed.
            let (count, done) = &flushed;
            let mut n = count.lock().unwrap_or_else(PoisonError::into_inner);
            while *n < sent {
                n = done.wait(n).unwrap_or_else(PoisonError::into_inner);
            }
            drop(n);
            // ... and pushed (a push holds its target's lock).
            let (counts, done) = &pushed;
            let mut c = counts.lock().unwrap_or_else(PoisonError::into_inner);
            while c.1 < c.0 {
                c = done.wait(c).unwrap_or_else(PoisonError::into_inner);
            }
        }
        drop(tx);
        let _ = flusher.join();
        // No more imports: the push workers end when the queue is empty.
        push_tx.lock().unwrap_or_else(PoisonError::into_inner).take();
    });
    let mut pushes = pushes.into_inner().unwrap_or_else(PoisonError::into_inner);

    let imports: Vec<EntryReport> = reports
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
        .into_iter()
        .zip(entries)
        .enumerate()
        .map(|(i, (r, e))| {
            (
                r.map(|mut r| {
                    r.push = pushes[i].take();
                    r
                }),
                e,
            )
        })
        .map(|(r, e)| match r {
            Some(mut r) => {
                r.export.clone_from(&e.export);
                r.target.clone_from(&e.target);
                r
            }
            None => {
                let mut r = EntryReport::new(e, EntryStatus::Failed, 1);
                r.error = Some("the import did not report back".into());
                r
            }
        })
        .collect();
    let mut totals = Totals { imports: imports.len(), ..Totals::default() };
    for r in &imports {
        match r.status {
            EntryStatus::Imported => totals.imported += 1,
            EntryStatus::Unchanged => totals.unchanged += 1,
            EntryStatus::DryRun => totals.dry_run += 1,
            EntryStatus::Skipped => totals.skipped += 1,
            _ => totals.failed += 1,
        }
        *totals.statuses.entry(r.status.as_str()).or_default() += 1;
    }
    if options.push.is_some() {
        let mut t = PushTotals::default();
        for p in imports.iter().filter_map(|r| r.push.as_ref()) {
            t.pushes += 1;
            if p.exit_code == 0 {
                t.pushed += 1;
            } else {
                t.failed += 1;
            }
        }
        totals.push = Some(t);
    }
    totals.lookups = sources.lookups();
    totals.seconds = started.elapsed().as_secs_f64();
    Ok(Report { imports, totals, cancelled: cancel.load(Ordering::Relaxed) })
}

/// Pushes one entry's target, with the entry's secret sources.
fn push_entry(
    entry: &Entry,
    defaults: &Defaults,
    sources: &Sources<'_>,
    settings: &PushSettings,
) -> PushReport {
    let started = Instant::now();
    let (_, specs) = settle(entry, defaults);
    let options = crate::push::PushOptions { timeout: settings.timeout, ..Default::default() };
    let result = sources.lookup_for(&specs, &entry.export).and_then(|lookup| {
        crate::push::push(&entry.target, &options, &lookup.chain, &crate::push::NoAsking)
    });
    PushReport::of(result, started.elapsed().as_secs_f64())
}

/// Runs one entry: its import, with its commit staged in `group`.
fn run_entry(
    entry: &Entry,
    defaults: &Defaults,
    sources: &Sources<'_>,
    group: Option<&store::Group>,
    interaction: &(dyn Interaction + Sync),
    cancel: &AtomicBool,
) -> (EntryReport, Option<store::Staged>) {
    if cancel.load(Ordering::Relaxed) {
        let mut r = EntryReport::new(entry, EntryStatus::Skipped, 1);
        r.error = Some("not started: the batch was interrupted".into());
        return (r, None);
    }
    if let Some(problem) = &entry.problem {
        let e = Error::new(ErrorKind::Input, problem.clone()).with_path(&entry.export);
        return (EntryReport::failed(entry, &e), None);
    }
    let started = Instant::now();
    let (options, specs) = settle(entry, defaults);
    // The entry's own sources (SPECs naming its export) are opened only once its export and
    // target are checked, as `import` opens its own.
    let result = crate::import::import_later(
        &entry.export,
        &entry.target,
        &options,
        || sources.lookup_for(&specs, &entry.export),
        interaction,
        group,
    );
    let staged = result.as_ref().ok().and_then(|o| o.staged);
    let mut report = match &result {
        Ok(outcome) => EntryReport::of_outcome(entry, outcome),
        Err(e) => EntryReport::failed(entry, e),
    };
    report.seconds = started.elapsed().as_secs_f64();
    (report, staged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(rel: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures").join(rel)
    }

    fn entry(export: &str, target: &str) -> Entry {
        Entry {
            export: export.into(),
            target: target.into(),
            overrides: Overrides::default(),
            problem: None,
        }
    }

    #[test]
    fn placeholders_name_the_export_and_its_folder() {
        let spec = "file:{dir}/{name}.secrets.json";
        assert_eq!(expand(spec, Path::new("/e/hq.xml")), "file:/e/hq.secrets.json");
        assert_eq!(expand(spec, Path::new("b.json")), "file:./b.secrets.json");
        assert_eq!(expand("cmd:get {name}", Path::new("/e/srv-folder")), "cmd:get srv-folder");
        assert!(has_placeholder(spec) && !has_placeholder("env"));
    }

    #[test]
    fn entries_into_one_target_go_into_successive_waves() {
        let e = [
            entry("a", "t1"),
            entry("b", "t2"),
            entry("c", "./t1"),
            entry("d", "x/../t1"),
            entry("e", "t3"),
        ];
        assert_eq!(waves(&e), vec![vec![0, 1, 4], vec![2], vec![3]]);
    }

    #[test]
    fn nested_targets_are_refused_naming_both() {
        let d = tempfile::tempdir().unwrap();
        let t = |rel: &str| d.path().join(rel).to_str().unwrap().to_owned();
        std::fs::create_dir_all(d.path().join("real/a")).unwrap();
        std::os::unix::fs::symlink(d.path().join("real"), d.path().join("link")).unwrap();
        let fine = [entry("x", &t("t/a")), entry("y", &t("t/ab")), entry("z", &t("t/./a"))];
        assert!(check_targets(&fine).is_ok());
        for (outer, inner) in [
            ("t/a", "t/a/cwd"),
            ("t/a/b/..", "t/a/.jims-import/x"),
            ("real", "link/a/new"),
            ("link/a", "real/a/cwd/config"),
        ] {
            let entries = [entry("x", &t("other")), entry("y", &t(outer)), entry("z", &t(inner))];
            let e = check_targets(&entries).unwrap_err();
            assert_eq!(e.exit_code(), 2);
            let shown = e.to_string();
            assert!(shown.contains(&t(outer)) && shown.contains(&t(inner)), "{shown}");
            assert!(shown.contains("nothing was imported"), "{shown}");
        }
    }

    #[test]
    fn an_entry_takes_its_own_flags_first() {
        let defaults = Defaults {
            sections: Some(vec!["templates".into()]),
            accept_warning: true,
            secrets: vec!["env".into(), "prompt".into()],
            source_key: Some("k".into()),
            dry_run: true,
            replace_event_sources: true,
        };
        let (o, specs) = settle(&entry("a", "t"), &defaults);
        assert_eq!(specs, ["env"]);
        assert!(o.prompt && o.dry_run && o.accept_warning);
        let mut e = entry("a", "t");
        e.overrides = Overrides {
            sections: Some(vec!["session".into()]),
            accept_warning: Some(false),
            secrets: Some(vec![]),
            source_key: None,
            dry_run: Some(false),
            replace_event_sources: Some(false),
        };
        let (o, specs) = settle(&e, &defaults);
        assert!(specs.is_empty());
        assert_eq!(o.sections, Some(vec!["session".to_owned()]));
        assert!(!o.prompt && !o.dry_run && !o.accept_warning && !o.replace_event_sources);
        assert_eq!(o.source_key, Some(PathBuf::from("k")));
    }

    #[test]
    fn scan_pairs_exports_with_targets() {
        let d = tempfile::tempdir().unwrap();
        for f in ["b.json", "a.xml", "c.xml", "c.json", "a.secrets.json", ".hidden.xml", "n.txt"] {
            std::fs::write(d.path().join(f), "x").unwrap();
        }
        std::fs::create_dir(d.path().join("dir.xml")).unwrap();
        let e = scan(d.path(), Path::new("T")).unwrap();
        let names: Vec<_> = e.iter().map(|e| e.target.display().to_string()).collect();
        assert_eq!(names, ["T/a", "T/b", "T/c"]);
        assert!(e[0].problem.is_none() && e[1].export.ends_with("b.json"));
        assert!(e[2].problem.as_deref().unwrap().contains("ambiguous"));
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(scan(empty.path(), Path::new("T")).unwrap_err().exit_code(), 2);
    }

    #[test]
    fn manifests_in_toml_and_json_resolve_paths_beside_them() {
        let d = tempfile::tempdir().unwrap();
        let toml = d.path().join("m.toml");
        std::fs::write(
            &toml,
            "[[import]]\nexport = \"e/a.xml\"\ntarget = \"/abs/t\"\ndry_run = true\n\
             secrets = [\"env\", \"file:s/a.toml\", \"dir:/abs/pw\", \"file:{dir}/x.json\", \
             \"cmd:bin/lookup\"]\nsource_key = \"k.key\"\n",
        )
        .unwrap();
        let e = read_manifest(&toml).unwrap();
        assert_eq!(e[0].export, d.path().join("e/a.xml"));
        assert_eq!(e[0].target, PathBuf::from("/abs/t"));
        assert_eq!(e[0].overrides.dry_run, Some(true));
        assert_eq!(e[0].overrides.source_key, Some(d.path().join("k.key")));
        let beside = format!("file:{}", d.path().join("s/a.toml").display());
        assert_eq!(
            e[0].overrides.secrets.as_deref(),
            Some(
                &["env", &beside, "dir:/abs/pw", "file:{dir}/x.json", "cmd:bin/lookup"]
                    .map(String::from)[..]
            )
        );
        let json = d.path().join("m.json");
        std::fs::write(
            &json,
            r#"{"import": [{"export": "a.xml", "target": "t", "sections": ["session"]}]}"#,
        )
        .unwrap();
        let e = read_manifest(&json).unwrap();
        assert_eq!(e[0].overrides.sections, Some(vec!["session".to_owned()]));
        std::fs::write(&json, "{\"import\": [\n{\"export\": 1}]}").unwrap();
        let err = read_manifest(&json).unwrap_err().to_string();
        assert!(err.contains("m.json:2:"), "{err}");
        std::fs::write(&json, r#"{"import": []}"#).unwrap();
        assert!(read_manifest(&json).unwrap_err().to_string().contains("lists no import"));
    }

    /// A source that answers every key and counts the lookups and the opens.
    struct Counting(Arc<AtomicUsizePair>);

    #[derive(Default)]
    struct AtomicUsizePair {
        opened: std::sync::atomic::AtomicUsize,
        asked: std::sync::atomic::AtomicUsize,
    }

    impl SecretSource for Counting {
        fn kind(&self) -> String {
            "counting".into()
        }
        fn lookup(
            &self,
            _key: &model::SecretKey,
            _request: &Request<'_>,
        ) -> Result<Answer, SourceError> {
            self.0.asked.fetch_add(1, Ordering::Relaxed);
            Ok(Answer::Found(crypto::Secret::copy_from(b"Pw-counted")))
        }
    }

    #[test]
    fn a_batch_opens_each_source_once_and_shares_its_answers() {
        let d = tempfile::tempdir().unwrap();
        let full = fixture("exports/full.xml");
        let entries: Vec<Entry> = (0..4)
            .map(|n| {
                entry(
                    full.to_str().unwrap(),
                    d.path().join(format!("t{}", n % 3)).to_str().unwrap(),
                )
            })
            .collect();
        let counts = Arc::new(AtomicUsizePair::default());
        let open = |spec: &str| -> Result<Box<dyn SecretSource>, Error> {
            assert_eq!(spec, "counting");
            counts.opened.fetch_add(1, Ordering::Relaxed);
            Ok(Box::new(Counting(Arc::clone(&counts))))
        };
        let defaults = Defaults { secrets: vec!["counting".into()], ..Defaults::default() };
        let options = Options { jobs: 2, group_size: 2, ..Options::default() };
        let report = run(
            &entries,
            &defaults,
            &options,
            &open,
            &crate::NonInteractive,
            &|_| {},
            &AtomicBool::new(false),
        )
        .unwrap();
        assert_eq!(report.exit_code(), 0, "{report:#?}");
        let versions: Vec<_> = report.imports.iter().map(|r| r.version).collect();
        // t0 twice, in order: the second time it already holds it all, and makes no version.
        assert_eq!(versions, [Some(1), Some(1), Some(1), Some(1)]);
        assert_eq!(report.imports[3].status, EntryStatus::Unchanged);
        assert_eq!(counts.opened.load(Ordering::Relaxed), 1);
        let rows = report.imports[0].passwords.unwrap().total;
        let lookups = report.totals.lookups;
        assert_eq!(lookups.hits + lookups.misses, 4 * rows);
        assert_eq!(counts.asked.load(Ordering::Relaxed), lookups.misses);
        assert!(lookups.misses <= rows);
        assert_eq!((report.totals.imported, report.totals.unchanged), (3, 1));
    }

    #[test]
    fn a_cancelled_batch_starts_nothing() {
        let d = tempfile::tempdir().unwrap();
        let entries = [entry("a.xml", d.path().join("t").to_str().unwrap())];
        let open = |_: &str| -> Result<Box<dyn SecretSource>, Error> { unreachable!() };
        let report = run(
            &entries,
            &Defaults::default(),
            &Options::default(),
            &open,
            &crate::NonInteractive,
            &|_| {},
            &AtomicBool::new(true),
        )
        .unwrap();
        assert_eq!(report.imports[0].status, EntryStatus::Skipped);
        assert!(report.cancelled);
        assert_eq!(report.exit_code(), 6);
        assert!(!d.path().join("t").exists());
    }
}
