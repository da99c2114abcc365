//! Many imports at once (`jimsctl batch`): a list of entries from a manifest or from a folder of
//! exports, run in parallel on rayon, each one isolated from the others, with the secret sources
//! opened once and the lookups shared, their commits grouped so that the batch pays a few
//! filesystem syncs per group rather than dozens per import, and a report.
//!
//! The parts, each a module of its own:
//!
//! - `entries`: the [`Entry`] list, from [`read_manifest`] (TOML `[[import]]` tables or JSON
//!   `{"import": [...]}`) or [`scan`] (`EXPORTS/<name>.xml|json` → `TARGETS/<name>/`), and
//!   each entry's flags (its own [`Overrides`], else the batch's [`Defaults`]);
//! - `targets`: the targets as the filesystem resolves them, [`check_targets`] (none nests in
//!   another) and the waves (the k-th entry into a target runs in wave k);
//! - `sources`: the secret sources opened once and shared, and their caches;
//! - `schedule`: [`run`] itself: the thread pool, the waves, the groups of commits made
//!   durable while the next imports run, and the pushes on a pool of their own;
//! - `report`: what became of each entry ([`EntryReport`]) and the [`Totals`], as typed data:
//!   the command line gives each status its word and exit code (docs/cli.md).
//!
//! [`run`] takes one [`Config`]: the entries, their defaults, the [`Options`], how to open a
//! source, whom to ask, who hears of each entry as it ends, and the cancel flag.
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
//! commits of up to [`Options::group_size`] entries are staged in a `store::Group` and made
//! durable and switched in together while the next entries are imported; each commit stays
//! atomic, and every import reported `imported` is durable when [`run`] returns. Entries into
//! the same target run one after the other, in list order.
//!
//! # Secrets
//! The `--secrets` SPECs of an entry may hold `{name}` (the export's file name without its
//! extension) and `{dir}` (the export's folder), e.g. `file:{dir}/{name}.secrets.json` for a
//! secrets file beside each export. A SPEC without them is opened once for the whole batch and
//! shared; one with them is opened for its entry only. Entries with the same SPECs share one
//! `secrets::Cache`, so a secret with the same keys, Data and Username is looked up once for
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
//! Setting [`Config::cancel`] (Ctrl-C) stops starting new imports: the ones running finish and
//! are committed, the others are reported `skipped`. Every target is left whole.

mod entries;
mod report;
mod schedule;
mod sources;
mod targets;

use std::sync::atomic::AtomicBool;

use secrets::SecretSource;

use crate::error::Error;
use crate::import::{Interaction, NonInteractive};

pub use entries::{Defaults, Entry, Overrides, read_manifest, scan};
pub use report::{
    EntryReport, EntryStatus, Event, Lookups, Passwords, PushEnd, PushReport, PushTotals, Report,
    Totals,
};
pub use schedule::run;
pub(crate) use sources::Lookup;
pub use targets::check_targets;

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

impl Default for Options {
    fn default() -> Options {
        Options { jobs: 0, shared_lookups: true, group_commits: true, group_size: 64, push: None }
    }
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

/// Opens the secret source a SPEC names (not `prompt`, which the batch hands to the
/// [`Interaction`]). The CLI's opener knows the built-in sources and plugins.
pub type Opener<'a> = dyn Fn(&str) -> Result<Box<dyn SecretSource>, Error> + Sync + 'a;

/// Everything [`run`] is given: the entries, and how to run them. [`Config::new`] sets all but
/// the entries and the opener to their defaults (nobody to ask, nobody to tell, never
/// cancelled); set the others with struct update syntax.
pub struct Config<'a> {
    /// The imports, in list order.
    pub entries: &'a [Entry],
    /// The flags of every entry that does not set its own.
    pub defaults: Defaults,
    /// How the batch runs.
    pub options: Options,
    /// Opens the secret source of a SPEC.
    pub open: &'a Opener<'a>,
    /// Answers the partial-import warning and `prompt`. Called from several threads: it must
    /// serialize what it asks.
    pub interaction: &'a (dyn Interaction + Sync),
    /// Hears of each entry as it runs and as it ends (a progress bar).
    pub observe: &'a (dyn Fn(Event<'_>) + Sync),
    /// Once set (Ctrl-C), no more imports start.
    pub cancel: &'a AtomicBool,
}

impl<'a> Config<'a> {
    /// A batch of `entries` whose sources `open` opens, with the default flags and options,
    /// nobody to ask ([`NonInteractive`]), nobody told of each entry, and never cancelled.
    pub fn new(entries: &'a [Entry], open: &'a Opener<'a>) -> Config<'a> {
        static NEVER: AtomicBool = AtomicBool::new(false);
        fn nobody(_: Event<'_>) {}
        Config {
            entries,
            defaults: Defaults::default(),
            options: Options::default(),
            open,
            interaction: &NonInteractive,
            observe: &nobody,
            cancel: &NEVER,
        }
    }
}

impl std::fmt::Debug for Config<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("entries", &self.entries)
            .field("defaults", &self.defaults)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// An entry of `export` into `target`, with no flags of its own (for the parts' tests).
#[cfg(test)]
fn entry(export: &str, target: &str) -> Entry {
    Entry {
        export: export.into(),
        target: target.into(),
        overrides: Overrides::default(),
        problem: None,
    }
}
