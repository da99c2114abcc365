//! The one table of how a command ends: every status word of the JSON outputs with its exit
//! code (docs/cli.md, "Exit codes"), and which one each typed outcome and error of the
//! pipeline is. Nothing else in jimsctl knows an exit code or a status word: the pipeline
//! returns typed outcomes ([`Status`], [`PushStatus`], [`EntryStatus`], [`ErrorKind`]).

use pipeline::batch::{EntryReport, EntryStatus, PushEnd, Report};
use pipeline::push::PushStatus;
use pipeline::{Error, ErrorKind, Status};

/// How a command, an import, a push or a batch entry ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Exit {
    /// Written.
    Imported,
    /// Nothing to write: the target already held it.
    Unchanged,
    /// A dry run (or `passwords`) that found nothing in the way.
    DryRun,
    /// Every section planned was sent.
    Pushed,
    /// Nothing changed since the last push.
    UpToDate,
    /// `server init` made a managed folder.
    Initialised,
    /// `server init --adopt` took a folder over.
    Adopted,
    /// `rollback` restored a version.
    RolledBack,
    /// `key rotate` made a new key.
    Rotated,
    /// `key retire` destroyed a retired key.
    Retired,
    /// `remote set` set the folder's remote.
    Set,
    /// `remote unset` forgot the folder's remote.
    Unset,
    /// `remote unset` found no remote to forget.
    NoRemote,
    /// Any other failure.
    Failed,
    /// A push that failed midway, every section already sent put back.
    Restored,
    /// A batch entry not started: the batch was cancelled.
    Skipped,
    /// Bad input of any kind: a malformed file, an unknown section, a failed validation, a
    /// wrong key, a misconfigured source, bad usage.
    Invalid,
    /// A push whose credentials or certificate the server refused.
    Refused,
    /// Passwords still missing.
    MissingPasswords,
    /// A partial import whose warning was not accepted.
    WarningNotAccepted,
    /// The target is busy.
    Busy,
    /// A batch with at least one entry that did not succeed.
    BatchFailed,
    /// A push that failed midway and could not put back every section sent.
    Mixed,
}

impl Exit {
    /// The table: each outcome's exit code and its status word.
    const fn row(self) -> (u8, &'static str) {
        match self {
            Exit::Imported => (0, "imported"),
            Exit::Unchanged => (0, "unchanged"),
            Exit::DryRun => (0, "dry-run"),
            Exit::Pushed => (0, "pushed"),
            Exit::UpToDate => (0, "up-to-date"),
            Exit::Initialised => (0, "initialised"),
            Exit::Adopted => (0, "adopted"),
            Exit::RolledBack => (0, "rolled-back"),
            Exit::Rotated => (0, "rotated"),
            Exit::Retired => (0, "retired"),
            Exit::Set => (0, "set"),
            Exit::Unset => (0, "unset"),
            Exit::NoRemote => (0, "none"),
            Exit::Failed => (1, "failed"),
            Exit::Restored => (1, "restored"),
            Exit::Skipped => (1, "skipped"),
            Exit::Invalid => (2, "invalid"),
            Exit::Refused => (2, "refused"),
            Exit::MissingPasswords => (3, "missing-passwords"),
            Exit::WarningNotAccepted => (4, "warning-not-accepted"),
            Exit::Busy => (5, "busy"),
            Exit::BatchFailed => (6, "batch-failed"),
            Exit::Mixed => (7, "mixed"),
        }
    }

    /// The exit code.
    pub(crate) const fn code(self) -> u8 {
        self.row().0
    }

    /// The status word of the JSON outputs.
    pub(crate) const fn word(self) -> &'static str {
        self.row().1
    }

    /// An error's.
    pub(crate) fn of_error(e: &Error) -> Exit {
        Exit::of_kind(e.kind())
    }

    /// An error kind's.
    pub(crate) fn of_kind(kind: &ErrorKind) -> Exit {
        match kind {
            ErrorKind::Input
            | ErrorKind::Usage
            | ErrorKind::Selection
            | ErrorKind::Invalid(_)
            | ErrorKind::Crypto
            | ErrorKind::SourceConfig
            | ErrorKind::Target => Exit::Invalid,
            ErrorKind::Busy => Exit::Busy,
            // `SourceFailed`, `Io`, `Network`, and any kind a later pipeline adds.
            _ => Exit::Failed,
        }
    }

    /// An import's (or `passwords`').
    pub(crate) fn of_import(status: Status) -> Exit {
        match status {
            Status::Imported => Exit::Imported,
            Status::Unchanged => Exit::Unchanged,
            Status::DryRun => Exit::DryRun,
            Status::MissingPasswords => Exit::MissingPasswords,
            Status::WarningNotAccepted => Exit::WarningNotAccepted,
        }
    }

    /// A push's.
    pub(crate) fn of_push(status: PushStatus) -> Exit {
        match status {
            PushStatus::Pushed => Exit::Pushed,
            PushStatus::UpToDate => Exit::UpToDate,
            PushStatus::DryRun => Exit::DryRun,
            PushStatus::MissingPasswords => Exit::MissingPasswords,
            PushStatus::Refused => Exit::Refused,
            PushStatus::Failed => Exit::Failed,
            PushStatus::Restored => Exit::Restored,
            PushStatus::Mixed => Exit::Mixed,
        }
    }

    /// A batch entry's import: what `jimsctl import` would have ended with.
    pub(crate) fn of_entry(status: &EntryStatus) -> Exit {
        match status {
            EntryStatus::Ended(s) => Exit::of_import(*s),
            EntryStatus::Failed(kind) => Exit::of_kind(kind),
            EntryStatus::Skipped => Exit::Skipped,
        }
    }

    /// A batch entry's push: what `jimsctl push` would have ended with.
    pub(crate) fn of_entry_push(status: &PushEnd) -> Exit {
        match status {
            PushEnd::Ended(s) => Exit::of_push(*s),
            PushEnd::Failed(kind) => Exit::of_kind(kind),
        }
    }

    /// Whether a batch entry succeeded: its import, and its push when it had one.
    pub(crate) fn entry_succeeded(r: &EntryReport) -> bool {
        Exit::of_entry(&r.status).code() == 0
            && r.push.as_ref().is_none_or(|p| Exit::of_entry_push(&p.status).code() == 0)
    }

    /// A batch's exit code: 0 when every entry succeeded, [`Exit::BatchFailed`]'s otherwise.
    pub(crate) fn batch_code(report: &Report) -> u8 {
        if report.imports.iter().all(Exit::entry_succeeded) { 0 } else { Exit::BatchFailed.code() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exit codes of docs/cli.md, as its table gives them.
    #[test]
    fn the_codes_are_those_of_the_reference() {
        let doc = include_str!("../../../docs/cli.md");
        for (exit, code) in [
            (Exit::Imported, 0),
            (Exit::Failed, 1),
            (Exit::Invalid, 2),
            (Exit::MissingPasswords, 3),
            (Exit::WarningNotAccepted, 4),
            (Exit::Busy, 5),
            (Exit::BatchFailed, 6),
            (Exit::Mixed, 7),
        ] {
            assert_eq!(exit.code(), code, "{exit:?}");
            assert!(doc.contains(&format!("| {code} |")), "docs/cli.md lists exit code {code}");
        }
    }

    #[test]
    fn every_error_kind_has_its_family() {
        for (kind, exit) in [
            (ErrorKind::Input, Exit::Invalid),
            (ErrorKind::Usage, Exit::Invalid),
            (ErrorKind::Selection, Exit::Invalid),
            (ErrorKind::Invalid(Vec::new()), Exit::Invalid),
            (ErrorKind::Crypto, Exit::Invalid),
            (ErrorKind::SourceConfig, Exit::Invalid),
            (ErrorKind::Target, Exit::Invalid),
            (ErrorKind::Busy, Exit::Busy),
            (ErrorKind::SourceFailed, Exit::Failed),
            (ErrorKind::Io, Exit::Failed),
            (ErrorKind::Network, Exit::Failed),
        ] {
            assert_eq!(Exit::of_kind(&kind), exit, "{kind:?}");
        }
        assert_eq!(Exit::of_entry(&EntryStatus::Failed(ErrorKind::Busy)).word(), "busy");
        assert_eq!(Exit::of_entry(&EntryStatus::Skipped).code(), 1);
        assert_eq!(Exit::of_entry_push(&PushEnd::Ended(PushStatus::Mixed)).code(), 7);
    }

    #[test]
    fn words_are_unique() {
        let all = [
            Exit::Imported,
            Exit::Unchanged,
            Exit::DryRun,
            Exit::Pushed,
            Exit::UpToDate,
            Exit::Initialised,
            Exit::Adopted,
            Exit::RolledBack,
            Exit::Rotated,
            Exit::Retired,
            Exit::Set,
            Exit::Unset,
            Exit::NoRemote,
            Exit::Failed,
            Exit::Restored,
            Exit::Skipped,
            Exit::Invalid,
            Exit::Refused,
            Exit::MissingPasswords,
            Exit::WarningNotAccepted,
            Exit::Busy,
            Exit::BatchFailed,
            Exit::Mixed,
        ];
        let mut words: Vec<&str> = all.iter().map(|e| e.word()).collect();
        words.sort_unstable();
        words.dedup();
        assert_eq!(words.len(), all.len());
    }
}
