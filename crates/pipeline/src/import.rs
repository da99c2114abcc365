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

/// Nobody to ask: a partial import whose warning was not accepted ahead of time stops.
#[derive(Clone, Copy, Debug, Default)]
pub struct NonInteractive;

impl Interaction for NonInteractive {
    fn accept_partial(&self, _warning: &str) -> bool {
        false
    }
}

/// How an import ended, when it ended as the import rules say rather than by an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Written (exit 0).
    Imported,
    /// A dry run, or `passwords`, that found nothing in the way (exit 0).
    DryRun,
    /// Passwords still missing after every source was asked (exit 3); nothing written.
    MissingPasswords,
    /// A partial import whose warning was not accepted (exit 4); nothing written.
    WarningNotAccepted,
}

impl Status {
    /// The exit code of docs/cli.md.
    pub fn exit_code(self) -> u8 {
        match self {
            Status::Imported | Status::DryRun => 0,
            Status::MissingPasswords => 3,
            Status::WarningNotAccepted => 4,
        }
    }
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
    run(export_path, target_dir, options, chained, interaction, Mode::Import)
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

/// [`import`] whose chain is made by `lookup` only when the import reaches its sources.
pub(crate) fn import_later<'c>(
    export_path: &Path,
    target_dir: &Path,
    options: &ImportOptions,
    lookup: impl FnOnce() -> Result<Arc<crate::batch::Lookup>, Error> + 'c,
    interaction: &dyn Interaction,
) -> Result<Outcome, Error> {
    let chained = Chained::Later(Box::new(lookup));
    run(export_path, target_dir, options, chained, interaction, Mode::Import)
}

/// The Add Missing Passwords table of an import, without writing or asking for acceptance;
/// `interaction` hears the sources' warnings.
pub fn passwords(
    export_path: &Path,
    target_dir: &Path,
    options: &ImportOptions,
    chain: &Chain,
    interaction: &dyn Interaction,
) -> Result<Outcome, Error> {
    run(export_path, target_dir, options, Chained::Ready(chain, None), interaction, Mode::Passwords)
}

fn run(
    export_path: &Path,
    target_dir: &Path,
    options: &ImportOptions,
    chained: Chained<'_>,
    interaction: &dyn Interaction,
    mode: Mode,
) -> Result<Outcome, Error> {
    let asks = mode == Mode::Import && !options.dry_run;
    // 1. The arguments and the target, before anything expensive.
    if mode == Mode::Import {
        store::check_target(target_dir)?;
    }
    let source_key = options.source_key.as_deref().map(read_key_file).transpose()?;
    // 2. The export.
    let (mut export, format) = read_export(export_path)?;
    let selection = select::choose(&export, options.sections.as_deref())?;
    // 3. The target: an import checks that nobody is writing it and lets its lock go; the
    // others read it without a lock. Without a plan, nothing looks at the current content of
    // the sections replaced.
    let unparsed: &[SectionId] = if options.no_plan { &selection.sections } else { &[] };
    let target = if asks {
        store::Target::open_unlocked(target_dir, unparsed)?
    } else {
        store::Target::open_view(target_dir, unparsed)?
    };

    let mut outcome = Outcome {
        status: Status::DryRun,
        format,
        sections: selection.sections.clone(),
        partial: selection.partial,
        creates_target: target.is_new(),
        plan: None,
        table: Table::default(),
        sealed_plaintext: 0,
        resealed: 0,
        version: None,
        files_written: Vec::new(),
        files_kept: Vec::new(),
        sealed_to: None,
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
    if !options.no_plan {
        outcome.plan = Some(select::plan(target.configuration(), &merged, &selection));
    }

    let export_key_id = export.header.server_key_id();
    let keys = secrets::Keys {
        target: target.key(),
        retired: target.retired_keys(),
        source: data_key.as_ref().or(source_key.as_ref()),
    };
    let prepared = secrets::prepare_with(&mut merged, &selection.sections, export_key_id, &keys)
        .map_err(|e| secrets_error(export_path, e))?;
    outcome.sealed_plaintext = prepared.sealed_plaintext;
    outcome.resealed = prepared.resealed;
    let mut table = prepared.table;
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
        && !interaction.accept_partial(PARTIAL_WARNING)
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
    secrets::seal_resolved(&mut merged, &table, resolved, target.key())?;
    outcome.table = table;
    if !asks {
        return Ok(outcome);
    }

    // 5. The commit: under the lock, at the version read, or busy.
    let meta = commit_meta(export_path, &selection, &merged, &outcome);
    let report = target.commit(&merged, meta)?;
    outcome.status = Status::Imported;
    outcome.version = Some(report.version);
    outcome.files_written = report.files_written;
    outcome.files_kept = report.files_kept;
    Ok(outcome)
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
    store::CommitMeta::import(
        Some(export_path.display().to_string()),
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
