//! The import: read, select, merge, validate, resolve passwords, write.
//!
//! Cheap checks come first and nothing is held while secret sources are asked:
//!
//! 1. the arguments and the target: the folder is one an import can use (a managed folder, an
//!    empty one, or a new one whose parent exists), the `--source-key` is a private key file;
//! 2. the export, read and validated with the target's configuration (every problem at once);
//! 3. the target is not busy (nobody is writing it), read under its lock, which is let go;
//! 4. the secret sources are opened (a [`secrets::Deferred`] source only now), the
//!    partial-import warning asked, and the sources asked, the `prompt` last;
//! 5. the commit takes the lock and writes only if the target is still at the version it was
//!    read at: if another import committed meanwhile, it is busy (exit 5) and writes nothing.
//!
//! Reading commands (`passwords`, a dry run) take no lock at all: they see the last committed
//! version, whatever import is under way.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use model::SectionId;
use secrets::{Cache, Chain, Table};
use select::{PARTIAL_WARNING, Plan, Selection};

use crate::error::{Error, ErrorKind};
use crate::input::{ExportFormat, io_reason, read_export};

/// The flags of `jimsctl import` (and of each entry of a batch).
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// `--sections`: import only these sections of the file.
    pub sections: Option<Vec<String>>,
    /// `--replace-event-sources`: clear and replace the event sources even in a partial import
    /// (by default a partial import merges them, as JIMS does: see
    /// [`select::Selection::merge_event_sources`]).
    pub replace_event_sources: bool,
    /// `--accept-warning`: accept the partial-import warning ahead of time.
    pub accept_warning: bool,
    /// `--dry-run`: do everything but write.
    pub dry_run: bool,
    /// `--source-key`: the exporting server's key file.
    pub source_key: Option<PathBuf>,
    /// `--secrets prompt`: ask a person for what the other sources did not answer. Asked last,
    /// after every other source, and never in a dry run.
    pub prompt: bool,
    /// Leave [`Outcome::plan`] empty: nobody will read what the merge changes (a batch), and
    /// comparing the old and new sections costs a tenth of a re-import.
    pub no_plan: bool,
}

/// What the pipeline may ask a person. The CLI answers on a terminal; programs answer
/// [`NonInteractive`].
pub trait Interaction {
    /// The import is partial and the warning was not accepted ahead of time: show `warning`
    /// and say whether the person accepts it.
    fn accept_partial(&self, warning: &str) -> bool;

    /// As [`Interaction::accept_partial`], with what the partial import replaces, so that a
    /// person sees the sections (and the plan, when there is one) before the question.
    fn accept_partial_import(&self, partial: &PartialImport<'_>) -> bool {
        self.accept_partial(partial.warning)
    }

    /// Something a person should know that does not stop the import (a secrets file every
    /// user can read). The default tells nobody.
    fn warn(&self, message: &str) {
        let _ = message;
    }

    /// `--secrets prompt`: ask for the rows of `table` still missing. Returns the passwords
    /// assigned by row index (marking each row's source), or `None` when the person cancelled.
    fn prompt_passwords(
        &self,
        table: &mut Table,
    ) -> Result<Option<Vec<(usize, crypto::Secret)>>, Error> {
        let _ = table;
        Ok(None)
    }
}

/// What a partial import is about to do, shown before its warning is asked.
#[derive(Clone, Copy, Debug)]
pub struct PartialImport<'a> {
    /// The partial-import warning.
    pub warning: &'a str,
    /// The sections the import replaces; every other section stays as it is.
    pub sections: &'a [SectionId],
    /// What the merge changes, section by section (none with [`ImportOptions::no_plan`]).
    pub plan: Option<&'a Plan>,
    /// The managed folder imported into; `None` for the table of a new server (`passwords`
    /// without `--target`).
    pub target: Option<&'a Path>,
}

/// Nobody to ask: a partial import whose warning was not accepted ahead of time stops.
#[derive(Clone, Copy, Debug, Default)]
pub struct NonInteractive;

impl Interaction for NonInteractive {
    fn accept_partial(&self, _warning: &str) -> bool {
        false
    }
}

/// How an import ended, when it ended as the import rules say rather than by an error (the
/// command line gives each its status word and exit code, noted here).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Written (exit 0).
    Imported,
    /// Nothing to write: the target already holds what the import would write, so no version
    /// was made (exit 0).
    Unchanged,
    /// A dry run, or `passwords`, that found nothing in the way (exit 0).
    DryRun,
    /// Passwords still missing after every source was asked (exit 3); nothing written.
    MissingPasswords,
    /// A partial import whose warning was not accepted (exit 4); nothing written.
    WarningNotAccepted,
}

/// Everything an import did or would do, for the CLI to render.
#[derive(Debug)]
pub struct Outcome {
    /// How it ended.
    pub status: Status,
    /// The export's format.
    pub format: ExportFormat,
    /// The sections imported (or that would be).
    pub sections: Vec<SectionId>,
    /// Whether this was a partial import (the warning applies).
    pub partial: bool,
    /// Whether the target did not exist and is (or would be) created.
    pub creates_target: bool,
    /// What the merge changes, section by section (`None` with [`ImportOptions::no_plan`], or
    /// when the import stopped before the merge).
    pub plan: Option<Plan>,
    /// The Add Missing Passwords table, with which source fixed each row.
    pub table: Table,
    /// The export's `server_id`, from its header (absent in a file written by hand and in a
    /// server folder).
    pub export_server_id: Option<String>,
    /// The rows whose password the export holds sealed under another server's key (one that is
    /// neither the target's nor `--source-key`'s), by that key's id, in order of first row:
    /// `(key id, row indexes)`. `--source-key` with that server's key re-seals them.
    pub foreign_keys: Vec<(String, Vec<usize>)>,
    /// Plaintext passwords found in the export and sealed.
    pub sealed_plaintext: usize,
    /// Passwords re-sealed from the source key.
    pub resealed: usize,
    /// The version written, when the import wrote.
    pub version: Option<u64>,
    /// Native files written and kept, when the import wrote.
    pub files_written: Vec<&'static str>,
    /// Native files kept byte for byte, when the import wrote.
    pub files_kept: Vec<&'static str>,
    /// For a bundle sealed to recipients' public keys: who they are, and whether this server
    /// is one of them.
    pub sealed_to: Option<crate::sealed::SealedToNote>,
    /// The commit, when the import's was staged in a batch's group: its place in the group's
    /// results (it is durable only once the group commits).
    pub staged: Option<store::Staged>,
}

/// What a stage needs to know for a `passwords` run rather than an import.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `import` (with or without `--dry-run`).
    Import,
    /// `passwords`: the table only; no warning, no writing.
    Passwords,
}

/// Imports `export_path` into the managed folder `target_dir`, asking `chain` for missing
/// passwords (through `cache` when given, e.g. in a batch).
pub fn import(
    export_path: &Path,
    target_dir: &Path,
    options: &ImportOptions,
    chain: &Chain,
    cache: Option<&Cache>,
    interaction: &dyn Interaction,
) -> Result<Outcome, Error> {
    let chained = Chained::Ready(chain, cache);
    run_import(export_path, target_dir, options, chained, interaction, None)
}

/// An import: a dry run opens its target only to look, an import to write it.
fn run_import(
    export_path: &Path,
    target_dir: &Path,
    options: &ImportOptions,
    chained: Chained<'_>,
    interaction: &dyn Interaction,
    group: Option<&store::Group>,
) -> Result<Outcome, Error> {
    let target_dir = Some(target_dir);
    if options.dry_run {
        run::<store::Read>(
            export_path,
            target_dir,
            options,
            chained,
            interaction,
            Mode::Import,
            None,
        )
    } else {
        run::<store::Write>(
            export_path,
            target_dir,
            options,
            chained,
            interaction,
            Mode::Import,
            group,
        )
    }
}

/// The chain of an import and its cache: made by the caller, or only when the import reaches
/// its sources (a batch entry's own sources, opened only once its export and target are
/// checked).
pub(crate) enum Chained<'c> {
    /// Made already.
    Ready(&'c Chain, Option<&'c Cache>),
    /// Made when first needed.
    Later(Box<dyn FnOnce() -> Result<Arc<crate::batch::Lookup>, Error> + 'c>),
}

/// [`import`] whose chain is made by `lookup` only when the import reaches its sources, and
/// whose commit is staged in `group` when one is given ([`Outcome::staged`]; durable only once
/// the group commits), or made alone.
pub(crate) fn import_later<'c>(
    export_path: &Path,
    target_dir: &Path,
    options: &ImportOptions,
    lookup: impl FnOnce() -> Result<Arc<crate::batch::Lookup>, Error> + 'c,
    interaction: &dyn Interaction,
    group: Option<&store::Group>,
) -> Result<Outcome, Error> {
    let chained = Chained::Later(Box::new(lookup));
    run_import(export_path, target_dir, options, chained, interaction, group)
}

/// The Add Missing Passwords table of an import, without writing or asking for acceptance;
/// `interaction` hears the sources' warnings. Without `target_dir`, the table of an import
/// into a new server.
pub fn passwords(
    export_path: &Path,
    target_dir: Option<&Path>,
    options: &ImportOptions,
    chain: &Chain,
    interaction: &dyn Interaction,
) -> Result<Outcome, Error> {
    let chained = Chained::Ready(chain, None);
    run::<store::Read>(
        export_path,
        target_dir,
        options,
        chained,
        interaction,
        Mode::Passwords,
        None,
    )
}

/// What a run does with its target, by the kind of handle it opens: an import opens it to
/// write it ([`store::Write`]) and commits; a dry run and `passwords` open it only to look
/// ([`store::Read`]), so they cannot commit.
trait Access: store::Access + Sized {
    /// Step 1 of an import into `dir`: an import opens it (it checks that nobody is writing
    /// it, reads it and lets its lock go; the files are parsed once the export says which
    /// sections it replaces); a dry run only checks it, cheaply, and opens it at step 3.
    fn open_first(dir: &Path) -> Result<Option<store::Target<Self>>, Error>;
    /// Step 3 for a target not opened at step 1: read without a lock, but for the sections
    /// `unparsed` (`dir` `None`: a new server that lives nowhere). (An import opens its target
    /// at step 1, where it always has one.)
    fn open_then(
        dir: Option<&Path>,
        unparsed: &[SectionId],
    ) -> Result<store::Target<Self>, store::Error>;
    /// Step 5: the commit of `new` (staged in `group` when one is given).
    fn commit(
        target: store::Target<Self>,
        group: Option<&store::Group>,
        new: &model::Configuration,
        meta: store::CommitMeta,
    ) -> Result<(store::CommitReport, Option<store::Staged>), Error>;
}

impl Access for store::Write {
    fn open_first(dir: &Path) -> Result<Option<store::Target>, Error> {
        Ok(Some(store::Target::open_unlocked(dir, &SectionId::ALL)?))
    }

    fn open_then(
        dir: Option<&Path>,
        unparsed: &[SectionId],
    ) -> Result<store::Target, store::Error> {
        store::Target::open_unlocked(dir.unwrap_or(Path::new("")), unparsed)
    }

    fn commit(
        target: store::Target,
        group: Option<&store::Group>,
        new: &model::Configuration,
        meta: store::CommitMeta,
    ) -> Result<(store::CommitReport, Option<store::Staged>), Error> {
        Ok(match group {
            Some(group) => target.commit_in(group, new, meta)?,
            None => (target.commit(new, meta)?, None),
        })
    }
}

impl Access for store::Read {
    fn open_first(dir: &Path) -> Result<Option<store::TargetView>, Error> {
        store::check_target(dir)?;
        Ok(None)
    }

    fn open_then(
        dir: Option<&Path>,
        unparsed: &[SectionId],
    ) -> Result<store::TargetView, store::Error> {
        match dir {
            Some(dir) => store::Target::open_view(dir, unparsed),
            None => store::Target::detached(),
        }
    }

    fn commit(
        _: store::TargetView,
        _: Option<&store::Group>,
        _: &model::Configuration,
        _: store::CommitMeta,
    ) -> Result<(store::CommitReport, Option<store::Staged>), Error> {
        // A run that only looks returns before step 5 (`asks` is false).
        Err(Error::new(ErrorKind::Usage, "a dry run or `passwords` writes nothing"))
    }
}

fn run<A: Access>(
    export_path: &Path,
    target_dir: Option<&Path>,
    options: &ImportOptions,
    chained: Chained<'_>,
    interaction: &dyn Interaction,
    mode: Mode,
    group: Option<&store::Group>,
) -> Result<Outcome, Error> {
    let asks = mode == Mode::Import && !options.dry_run;
    debug_assert_eq!(asks, A::WRITES, "an import opens its target to write it, the rest to look");
    // 1. The arguments and the target, before anything expensive (see `Access::open_first`).
    let mut opened = None;
    if mode == Mode::Import
        && let Some(target_dir) = target_dir
    {
        opened = A::open_first(target_dir)?;
    }
    let source_key = options.source_key.as_deref().map(read_key_file).transpose()?;
    // 2. The export.
    let (mut export, format) = read_export(export_path)?;
    let mut selection = select::choose(&export, options.sections.as_deref())?;
    if options.replace_event_sources {
        selection = selection.replacing_event_sources();
    }
    // 3. The target: an import's, read at step 1, is parsed now; the others read it without a
    // lock. It is parsed whole when it can be, so that passwords it
    // already holds keep their sealed values and a re-import that changes nothing is told
    // (`unchanged`); without a plan (a batch), a replaced section's file damaged by hand does
    // not stand in the way (a merged section's is merged into, so it is read).
    let replaced = || -> Vec<SectionId> {
        selection.sections.iter().copied().filter(|id| !selection.merges(*id)).collect()
    };
    let target = match opened {
        Some(mut target) => {
            match target.parse(&[]) {
                Err(e) if options.no_plan && e.kind() == store::ErrorKind::Parse => {
                    target.parse(&replaced())?;
                }
                other => other?,
            }
            target
        }
        None => match A::open_then(target_dir, &[]) {
            Err(e) if options.no_plan && e.kind() == store::ErrorKind::Parse => {
                A::open_then(target_dir, &replaced())?
            }
            other => other?,
        },
    };

    let mut outcome = Outcome {
        status: Status::DryRun,
        format,
        sections: selection.sections.clone(),
        partial: selection.partial,
        creates_target: target.is_new(),
        plan: None,
        table: Table::default(),
        export_server_id: None,
        foreign_keys: Vec::new(),
        sealed_plaintext: 0,
        resealed: 0,
        version: None,
        files_written: Vec::new(),
        files_kept: Vec::new(),
        sealed_to: None,
        staged: None,
    };

    let data_key = match crate::sealed::unwrap_for(export_path, &export.header, &target)? {
        crate::sealed::Unwrapped::NotSealed => None,
        crate::sealed::Unwrapped::Key(key, note) => {
            outcome.sealed_to = Some(note);
            Some(*key)
        }
        crate::sealed::Unwrapped::NotRecipient(note) => {
            outcome.sealed_to = Some(note);
            None
        }
    };
    if outcome.sealed_to.is_some() && source_key.is_some() {
        return Err(Error::new(
            ErrorKind::Usage,
            format!(
                "{}: the bundle is sealed to its recipients' public keys, so --source-key is \
                 neither needed nor used; import it without --source-key",
                export_path.display()
            ),
        )
        .with_path(export_path));
    }
    if let Some(key) = &source_key {
        secrets::check_source_key(&export.configuration, key)
            .map_err(|e| secrets_error(export_path, e))?;
    }
    let kept = select::kept(target.configuration(), &export.configuration, &selection);
    // A merged section keeps the target's items as they are: their passwords are not the
    // export's, so the import rules do not apply to them.
    let targets_own: Vec<(SectionId, Vec<String>)> = selection
        .sections
        .iter()
        .filter(|id| selection.merges(**id))
        .filter_map(|id| target.configuration().get(*id).map(|s| (*id, item_ids(s))))
        .collect();
    // The export's sections are moved into the merge; only its header is used after this.
    let mut merged = select::merge_owned(
        target.configuration(),
        std::mem::take(&mut export.configuration),
        &selection,
    );
    let problems = model::validate(&merged);
    if !problems.is_empty() {
        let list: Vec<String> = problems.iter().map(|p| format!("  - {p}")).collect();
        return Err(Error::new(
            ErrorKind::Invalid(problems),
            format!(
                "{}: the configuration after the import would break the import rules; nothing was written:\n{}",
                export_path.display(),
                list.join("\n")
            ),
        )
        .with_path(export_path));
    }
    // A password the target holds that the export holds too, under any form (plaintext,
    // sealed afresh, sealed under the source key), keeps the target's sealed value: the plan
    // calls it unchanged, and its file keeps its bytes.
    let mut opening_keys = vec![target.key()];
    opening_keys.extend(target.retired_keys());
    opening_keys.extend(data_key.as_ref().or(source_key.as_ref()));
    let held = secrets::HeldPasswords::new(target.configuration(), &opening_keys);
    let (plaintext_kept, _) = held.keep_equal_sealed(&mut merged);
    if !options.no_plan {
        let mut plan = select::plan(target.configuration(), &merged, &selection);
        plan.note_kept(kept.clone());
        outcome.plan = Some(plan);
    }

    let export_key_id = export.header.server_key_id();
    let imported = |f: &model::SecretField| {
        selection.contains(f.section())
            && !targets_own.iter().any(|(id, own)| *id == f.section() && own.contains(&f.item_id))
    };
    let keys = secrets::Keys {
        target: target.key(),
        retired: target.retired_keys(),
        source: data_key.as_ref().or(source_key.as_ref()),
    };
    let prepared = secrets::prepare_with(&mut merged, &imported, export_key_id, &keys)
        .map_err(|e| secrets_error(export_path, e))?;
    // The export held those in plaintext too, though the target's sealed value is kept.
    outcome.sealed_plaintext = prepared.sealed_plaintext + plaintext_kept;
    outcome.resealed = prepared.resealed;
    let mut table = prepared.table;
    outcome.export_server_id = export.header.server_id().map(str::to_owned);
    for row in &table.rows {
        if row.reason != secrets::MissingReason::ForeignKey {
            continue;
        }
        let model::SecretState::Sealed { key_id: Some(id) } =
            model::SecretState::classify(merged.secret_value(&row.location))
        else {
            continue;
        };
        match outcome.foreign_keys.iter_mut().find(|(k, _)| k == id) {
            Some((_, rows)) => rows.push(row.index),
            None => outcome.foreign_keys.push((id.to_owned(), vec![row.index])),
        }
    }
    // 4. The secret sources, opened only now (a wrongly configured one stops the import before
    // a person is asked anything).
    let made;
    let (chain, cache) = match chained {
        Chained::Ready(chain, cache) => (chain, cache),
        Chained::Later(make) => {
            made = make()?;
            (&made.chain, made.cache.as_ref())
        }
    };
    for warning in chain.start()? {
        interaction.warn(&warning);
    }
    // The warning is asked once the import is known to be valid, so that a warning not
    // accepted still reports what the import needs (its plan and how many passwords); no
    // source is asked before it is accepted.
    if selection.partial
        && asks
        && !options.accept_warning
        && !interaction.accept_partial_import(&PartialImport {
            warning: PARTIAL_WARNING,
            sections: &selection.sections,
            plan: outcome.plan.as_ref(),
            target: target_dir,
        })
    {
        outcome.table = table;
        outcome.status = Status::WarningNotAccepted;
        return Ok(outcome);
    }
    // Then asked, the prompt last.
    let mut resolved = secrets::resolve(&mut table, chain, cache)?;
    if table.remaining() > 0
        && options.prompt
        && asks
        && let Some(typed) = interaction.prompt_passwords(&mut table)?
    {
        for (index, secret) in &typed {
            if let Err(why) = secrets::check_password(secret.expose()) {
                let key = table.row(*index).map(|r| r.key().as_str().to_owned());
                return Err(Error::new(
                    ErrorKind::Input,
                    format!(
                        "the password typed for `{}` {why}, which a configuration cannot hold",
                        key.unwrap_or_default()
                    ),
                ));
            }
        }
        resolved.secrets.extend(typed);
    }
    let remaining = table.remaining();
    if remaining > 0 {
        outcome.table = table;
        outcome.status = Status::MissingPasswords;
        return Ok(outcome);
    }
    // A password given by a source that the target already holds keeps the target's sealed
    // value too; the plan then says which passwords really change.
    secrets::seal_resolved_keeping(&mut merged, &table, resolved, target.key(), Some(&held))?;
    if outcome.plan.is_some() {
        let mut plan = select::plan(target.configuration(), &merged, &selection);
        plan.note_kept(kept);
        outcome.plan = Some(plan);
    }
    outcome.table = table;
    if !asks {
        return Ok(outcome);
    }

    // 5. The commit: under the lock, at the version read, or busy.
    let meta = commit_meta(export_path, &selection, &merged, &outcome);
    let (report, staged) = A::commit(target, group, &merged, meta)?;
    outcome.staged = staged;
    outcome.status = if report.unchanged { Status::Unchanged } else { Status::Imported };
    outcome.version = Some(report.version);
    outcome.files_written = report.files_written;
    outcome.files_kept = report.files_kept;
    Ok(outcome)
}

/// The ids of `section`'s items.
fn item_ids(section: &model::Section) -> Vec<String> {
    section.items().filter_map(|(_, _, e)| e.attr("id")).map(str::to_owned).collect()
}

fn commit_meta(
    export_path: &Path,
    selection: &Selection,
    merged: &model::Configuration,
    outcome: &Outcome,
) -> store::CommitMeta {
    let items = selection
        .sections
        .iter()
        .filter_map(|id| merged.get(*id).map(|s| (*id, s.item_count() as u64)))
        .collect();
    let passwords = store::PasswordCounts {
        total: outcome.table.total() as u64,
        fixed: outcome.table.fixed() as u64,
        sealed: (outcome.sealed_plaintext + outcome.resealed + outcome.table.fixed()) as u64,
    };
    // Absolute, so that the history names the file wherever it is read from.
    let export = std::path::absolute(export_path).unwrap_or_else(|_| export_path.to_owned());
    store::CommitMeta::import(
        Some(export.display().to_string()),
        selection.sections.clone(),
        store::Counts { items, passwords },
    )
}

/// The largest key file read: a key file is 65 bytes.
const MAX_KEY_FILE: u64 = 4096;

/// Reads a server key file given with `--source-key`. Like a server's own key, it must be a
/// regular file that no other user can read or write (mode 0600): one that is, is refused.
pub(crate) fn read_key_file(path: &Path) -> Result<crypto::ServerKey, Error> {
    use std::io::Read;
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let input = |message: String| Error::new(ErrorKind::Input, message).with_path(path);
    let cannot = |e: std::io::Error| {
        input(format!("cannot read the source key {}: {}", path.display(), io_reason(&e)))
    };
    // Without blocking: a FIFO would wait for a writer.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(cannot)?;
    let meta = file.metadata().map_err(cannot)?;
    if !meta.is_file() {
        return Err(input(format!(
            "the source key {} is not a regular file; give the exporting server's \
             .jims-import/server.key",
            path.display()
        )));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(input(format!(
            "the source key {} can be read or written by other users (mode {:o}), which a \
             server key must not; run `chmod 600 {}`",
            path.display(),
            meta.mode() & 0o777,
            path.display()
        )));
    }
    let mut bytes = zeroize::Zeroizing::new(Vec::with_capacity(128));
    file.take(MAX_KEY_FILE).read_to_end(&mut bytes).map_err(cannot)?;
    crypto::ServerKey::from_key_file(&bytes).map_err(|e| {
        Error::new(ErrorKind::Crypto, format!("{}: {e}", path.display())).with_path(path)
    })
}

/// An error of the secrets stage about the export at `export_path` (tampered values, a wrong
/// source key: exit 2; anything else: exit 1), naming the file.
fn secrets_error(export_path: &Path, e: secrets::Error) -> Error {
    let e = Error::from(e);
    let kind = match e.kind() {
        ErrorKind::Crypto => ErrorKind::Crypto,
        _ => ErrorKind::Io,
    };
    Error::new(kind, format!("{}: {e}", export_path.display())).with_path(export_path)
}
