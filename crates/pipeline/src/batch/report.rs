//! What a batch did, as typed data: one [`EntryReport`] per entry, in list order, and the
//! [`Totals`]. Statuses are typed ([`EntryStatus`], [`PushEnd`]): the command line gives each
//! its word and its exit code (docs/cli.md), in its one table, and writes the report.

use std::path::PathBuf;

use model::SectionId;
use serde::Serialize;

use super::Entry;
use crate::error::{Error, ErrorKind};
use crate::import::{Outcome, Status};
use crate::push::{PushFile, PushOutcome, PushStatus};

/// How an entry ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryStatus {
    /// The import ended as the import rules say: imported, unchanged, a dry run, passwords
    /// still missing, or a partial import's warning not accepted.
    Ended(Status),
    /// The import failed with an error of this kind ([`EntryReport::error`] says why): a
    /// malformed export, a busy target, a wrongly configured source of its own…
    Failed(ErrorKind),
    /// Not started: the batch was cancelled.
    Skipped,
}

impl EntryStatus {
    /// Whether the import wrote its target or found it already held what it would write: its
    /// target is then pushed with `--push`.
    pub fn is_imported(&self) -> bool {
        matches!(self, EntryStatus::Ended(Status::Imported | Status::Unchanged))
    }
}

/// How an entry's push ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushEnd {
    /// The push ended as the push rules say (pushed, up to date, refused, restored, mixed…).
    Ended(PushStatus),
    /// The push failed before it sent anything, with an error of this kind
    /// ([`PushReport::error`] says why).
    Failed(ErrorKind),
}

/// What became of an entry's push.
#[derive(Clone, Debug)]
pub struct PushReport {
    /// How it ended.
    pub status: PushEnd,
    /// The remote.
    pub remote: Option<String>,
    /// One per native file, as `push` reports them.
    pub files: Vec<PushFile>,
    /// What went wrong, for a push that did not succeed.
    pub error: Option<String>,
    /// How long the push took, in seconds.
    pub seconds: f64,
}

impl PushReport {
    /// The report of a push that ended in `result` after `seconds`.
    pub(super) fn of(result: Result<PushOutcome, Error>, seconds: f64) -> PushReport {
        match result {
            Ok(o) => PushReport {
                status: PushEnd::Ended(o.status),
                files: o.files,
                remote: Some(o.remote),
                error: o.message,
                seconds,
            },
            Err(e) => PushReport {
                status: PushEnd::Failed(e.kind().clone()),
                remote: None,
                files: Vec::new(),
                error: Some(e.to_string()),
                seconds,
            },
        }
    }

    /// Whether the push left the server holding what the folder holds (pushed, or up to date;
    /// for a dry run, found nothing in the way).
    pub fn is_pushed(&self) -> bool {
        matches!(
            self.status,
            PushEnd::Ended(PushStatus::Pushed | PushStatus::UpToDate | PushStatus::DryRun)
        )
    }
}

/// The push counts of a batch with `--push`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PushTotals {
    /// Pushes run.
    pub pushes: usize,
    /// Pushes that left the server up to date (`pushed` or `up-to-date`).
    pub pushed: usize,
    /// Pushes that did not.
    pub failed: usize,
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
#[derive(Clone, Debug)]
pub struct EntryReport {
    /// The export, as listed.
    pub export: PathBuf,
    /// The target, as listed.
    pub target: PathBuf,
    /// How it ended.
    pub status: EntryStatus,
    /// The sections imported (or that would be).
    pub sections: Vec<SectionId>,
    /// The password counters, when the import got as far as the table.
    pub passwords: Option<Passwords>,
    /// The secret keys still missing (for passwords missing), most specific key of each row;
    /// empty otherwise.
    pub missing: Vec<String>,
    /// The version written (or, for an unchanged target, the one it stays at).
    pub version: Option<u64>,
    /// Whether the import created the target.
    pub created: bool,
    /// The error, for an entry that failed or was skipped.
    pub error: Option<String>,
    /// How long the import took, in seconds (reading to staging its commit).
    pub seconds: f64,
    /// Its push, with `--push`, when the import succeeded.
    pub push: Option<PushReport>,
}

impl EntryReport {
    /// The report of `entry`, which ended with `status` and nothing else to say yet.
    pub(super) fn new(entry: &Entry, status: EntryStatus) -> EntryReport {
        EntryReport {
            export: entry.export.clone(),
            target: entry.target.clone(),
            status,
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

    /// The report of `entry`, which failed with `e`.
    pub(super) fn failed(entry: &Entry, e: &Error) -> EntryReport {
        let mut r = EntryReport::new(entry, EntryStatus::Failed(e.kind().clone()));
        r.error = Some(e.to_string());
        r
    }

    /// The report of `entry`, which was not started: the batch was interrupted.
    pub(super) fn skipped(entry: &Entry) -> EntryReport {
        let mut r = EntryReport::new(entry, EntryStatus::Skipped);
        r.error = Some("not started: the batch was interrupted".into());
        r
    }

    /// The report of `entry`, whose import ended as `o` says.
    pub(super) fn of_outcome(entry: &Entry, o: &Outcome) -> EntryReport {
        let mut r = EntryReport::new(entry, EntryStatus::Ended(o.status));
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
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Totals {
    /// Entries in the batch.
    pub imports: usize,
    /// Entries imported.
    pub imported: usize,
    /// Entries whose target already held what they would write (no version made).
    pub unchanged: usize,
    /// Dry runs that would succeed.
    pub dry_run: usize,
    /// Entries that failed (any other status but skipped).
    pub failed: usize,
    /// Entries not started because the batch was cancelled.
    pub skipped: usize,
    /// The shared lookups (zero without shared lookups).
    pub lookups: Lookups,
    /// Wall-clock time of the batch, in seconds.
    pub seconds: f64,
    /// The pushes, with `--push`.
    pub push: Option<PushTotals>,
}

impl Totals {
    /// The counts of `imports`; `pushed` when the batch pushed.
    pub(super) fn of(imports: &[EntryReport], pushed: bool) -> Totals {
        let mut totals = Totals { imports: imports.len(), ..Totals::default() };
        for r in imports {
            match r.status {
                EntryStatus::Ended(Status::Imported) => totals.imported += 1,
                EntryStatus::Ended(Status::Unchanged) => totals.unchanged += 1,
                EntryStatus::Ended(Status::DryRun) => totals.dry_run += 1,
                EntryStatus::Skipped => totals.skipped += 1,
                _ => totals.failed += 1,
            }
        }
        if pushed {
            let mut t = PushTotals::default();
            for p in imports.iter().filter_map(|r| r.push.as_ref()) {
                t.pushes += 1;
                if p.is_pushed() {
                    t.pushed += 1;
                } else {
                    t.failed += 1;
                }
            }
            totals.push = Some(t);
        }
        totals
    }
}

/// What a batch did: one entry per import, in list order, and the totals (the `--report` of
/// docs/cli.md, once the command line has given each status its word and exit code).
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// One per entry, in list order.
    pub imports: Vec<EntryReport>,
    /// The counts.
    pub totals: Totals,
    /// Whether the batch was cancelled.
    pub cancelled: bool,
}

/// What [`super::run`] tells its observer as entries end (for a progress bar).
#[derive(Debug)]
pub enum Event<'a> {
    /// An entry's import ran (for one that writes, its commit is staged, not yet durable): as
    /// each one ends, for a progress bar that moves import by import.
    Ran(&'a EntryReport),
    /// An entry ended (for an import that wrote: once its commit is durable). Its status may
    /// differ from [`Event::Ran`]'s when the durable commit failed.
    Done(&'a EntryReport),
}
