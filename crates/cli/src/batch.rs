//! `jimsctl batch`: many imports at once. The list comes from a manifest or from a folder of
//! exports; [`pipeline::batch::run`] runs them; this module adds the terminal: the progress bar,
//! Ctrl-C, `prompt` asked once per distinct secret, the summary and the report file.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crypto::Secret;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use pipeline::batch::{self, Defaults, Entry, EntryReport, EntryStatus, Event, Report};
use pipeline::{Error, ErrorKind};
use secrets::Table;

use crate::args::{BatchArgs, OutputFormat};
use crate::render::{self, escape_for_terminal};
use crate::sources;
use crate::term::{self, Style};

/// Runs `jimsctl batch`; returns 0 when every import succeeded, 6 otherwise.
pub(crate) fn run(a: BatchArgs, style: Style) -> Result<u8, Error> {
    // A report that cannot be written is refused before any import runs.
    if let Some(path) = &a.report {
        pipeline::check_output_file(path)?;
    }
    let entries = list(&a)?;
    let defaults = Defaults {
        sections: a.sections.clone(),
        accept_warning: a.accept_warning,
        secrets: a.secrets.clone(),
        source_key: a.source_key.clone(),
        dry_run: a.dry_run,
    };
    let prompting = entries.iter().any(|e| {
        let specs = e.overrides.secrets.as_ref().unwrap_or(&defaults.secrets);
        let dry = e.overrides.dry_run.unwrap_or(defaults.dry_run);
        !dry && specs.iter().any(|s| s == "prompt")
    });
    if prompting && !term::interactive() {
        return Err(sources::prompt_without_terminal(
            "file:{dir}/{name}.secrets.json for one file per export",
        ));
    }
    let source_options = sources::options(a.secrets_timeout, a.verbose);
    let open = |spec: &str| sources::open(spec, &source_options);
    let options = batch::Options {
        jobs: a.jobs.map_or(0, usize::from),
        shared_lookups: !a.no_shared_lookups,
        ..batch::Options::default()
    };

    let cancel = Arc::new(AtomicBool::new(false));
    // A first Ctrl-C stops starting imports; a second one ends the process at once (every
    // target is still whole: an interrupted commit is finished or undone by the next open).
    let sigint = signal_hook::consts::SIGINT;
    signal_hook::flag::register_conditional_shutdown(sigint, 130, Arc::clone(&cancel))
        .and_then(|_| signal_hook::flag::register(sigint, Arc::clone(&cancel)))
        .map_err(|e| Error::new(ErrorKind::Io, format!("cannot handle Ctrl-C: {e}")))?;

    let bar = progress_bar(entries.len() as u64);
    let failed = AtomicUsize::new(0);
    let observe = |event: Event<'_>| {
        let Event::Done(r) = event;
        if let Some(bar) = &bar {
            if !r.succeeded() {
                let n = failed.fetch_add(1, Ordering::Relaxed) + 1;
                bar.set_message(format!("{n} failed"));
            }
            bar.inc(1);
        }
    };
    let interaction = BatchInteraction {
        bar: bar.clone(),
        memo: Mutex::new(HashMap::new()),
        remember: !a.no_shared_lookups,
    };
    let report = batch::run(&entries, &defaults, &options, &open, &interaction, &observe, &cancel)?;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    drop(interaction);

    let json = serde_json::to_value(&report).unwrap_or_default();
    if let Some(path) = &a.report {
        pipeline::write_file_atomic(
            path,
            format!("{}\n", crate::stdio::json(&json)).as_bytes(),
            0o644,
        )?;
    }
    if a.output.format == OutputFormat::Json {
        out_json!(json);
    } else {
        out!("{}", summary(&report, a.report.as_deref(), style));
    }
    Ok(report.exit_code())
}

/// The entries: from the manifest (a target whose parent folder is missing fails, as with
/// `import`: nothing is made), or from the folder of exports (whose targets folder, given by
/// `--targets DIR`, is made when absent, unless nothing is to be written).
fn list(a: &BatchArgs) -> Result<Vec<Entry>, Error> {
    if let Some(manifest) = &a.manifest {
        return batch::read_manifest(manifest);
    }
    let (Some(exports), Some(targets)) = (&a.exports, &a.targets) else {
        return Err(Error::new(
            ErrorKind::Usage,
            "give the imports with --manifest FILE, or with --exports DIR --targets DIR",
        ));
    };
    let entries = batch::scan(exports, targets)?;
    if !a.dry_run && !targets.is_dir() {
        std::fs::create_dir_all(targets).map_err(|e| {
            Error::new(ErrorKind::Io, format!("cannot create {}: {e}", targets.display()))
                .with_path(targets)
        })?;
    }
    Ok(entries)
}

/// A progress bar on standard error when it is a terminal.
fn progress_bar(len: u64) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} imports ({per_sec}, eta {eta}) {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(200));
    Some(bar)
}

/// A secret as the prompt memo knows it: its keys, Data and Username.
type MemoKey = (Vec<String>, String, Option<String>);

/// What a batch may ask a person: nothing about the partial-import warning (a batch runs
/// unattended: give --accept-warning), and with `prompt`, each distinct secret once, one
/// dialog at a time, with the progress bar out of the way.
struct BatchInteraction {
    bar: Option<ProgressBar>,
    /// Passwords typed, by secret (wiped on drop).
    memo: Mutex<HashMap<MemoKey, Secret>>,
    /// Whether a typed password answers the same secret in later imports (shared lookups).
    remember: bool,
}

fn memo_key(row: &secrets::Row) -> MemoKey {
    (
        row.keys.iter().map(|k| k.as_str().to_owned()).collect(),
        row.data.clone(),
        row.username.clone(),
    )
}

impl pipeline::Interaction for BatchInteraction {
    fn accept_partial(&self, _warning: &str) -> bool {
        false
    }

    fn warn(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("warning: {message}")),
            None => eprintln!("warning: {message}"),
        }
    }

    fn prompt_passwords(&self, table: &mut Table) -> Result<Option<Vec<(usize, Secret)>>, Error> {
        if !term::interactive() {
            return Ok(None);
        }
        // One dialog at a time; the memo's lock is held while asking, so that a secret typed
        // for one import answers the others waiting.
        let mut memo = self.memo.lock().unwrap_or_else(PoisonError::into_inner);
        let mut assigned = Vec::new();
        for row in table.rows.iter_mut().filter(|r| !r.is_fixed()) {
            if let Some(secret) = memo.get(&memo_key(row)) {
                row.source = Some("prompt".into());
                assigned.push((row.index, Secret::copy_from(secret.expose())));
            }
        }
        if table.remaining() == 0 {
            return Ok(Some(assigned));
        }
        let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        let asked = match &self.bar {
            Some(bar) => bar.suspend(|| crate::prompt::run(table, "jimsctl batch", color)),
            None => crate::prompt::run(table, "jimsctl batch", color),
        };
        match asked {
            Ok(crate::prompt::Ended::Assigned(typed)) => {
                for (index, secret) in typed {
                    if self.remember
                        && let Some(row) = table.row(index)
                    {
                        memo.insert(memo_key(row), Secret::copy_from(secret.expose()));
                    }
                    assigned.push((index, secret));
                }
                Ok(Some(assigned))
            }
            Ok(crate::prompt::Ended::Cancelled) => {
                for row in table.rows.iter_mut() {
                    if row.source.as_deref() == Some("prompt") {
                        row.source = None;
                    }
                }
                Ok(None)
            }
            Err(e) => Err(Error::new(ErrorKind::Io, format!("the password prompt failed: {e}"))),
        }
    }
}

/// The summary for people: the counts, the rate, and each import that did not succeed.
fn summary(report: &Report, report_file: Option<&std::path::Path>, style: Style) -> String {
    let t = &report.totals;
    let mut out = String::new();
    let rate = if t.seconds > 0.0 { t.imports as f64 / t.seconds } else { 0.0 };
    let _ = write!(
        out,
        "Batch of {} import(s) in {:.1} s ({rate:.1}/s): {} imported",
        t.imports, t.seconds, t.imported
    );
    if t.dry_run > 0 {
        let _ = write!(out, ", {} dry run(s)", t.dry_run);
    }
    let _ = write!(out, ", {} failed", t.failed);
    if t.skipped > 0 {
        let _ = write!(out, ", {} skipped (interrupted)", t.skipped);
    }
    let _ = writeln!(out, ".");
    if t.lookups.hits + t.lookups.misses > 0 {
        let _ = writeln!(
            out,
            "Secret lookups: {} asked of the sources, {} answered from the batch's cache.",
            t.lookups.misses, t.lookups.hits
        );
    }
    let failures: Vec<&EntryReport> = report
        .imports
        .iter()
        .filter(|r| !r.succeeded() && r.status != EntryStatus::Skipped)
        .collect();
    for r in &failures {
        let why = match (&r.error, r.status) {
            (Some(e), _) => escape_for_terminal(e.lines().next().unwrap_or_default()).into_owned(),
            (None, EntryStatus::MissingPasswords) => format!(
                "{} password(s) missing: {}",
                r.passwords.map_or(0, |p| p.remaining),
                r.missing
                    .iter()
                    .take(3)
                    .map(|k| escape_for_terminal(k).into_owned())
                    .collect::<Vec<_>>()
                    .join(", ")
                    + if r.missing.len() > 3 { ", …" } else { "" }
            ),
            (None, EntryStatus::WarningNotAccepted) => {
                "a partial import: give --accept-warning (or accept_warning = true)".to_owned()
            }
            (None, s) => s.as_str().to_owned(),
        };
        let _ = writeln!(
            out,
            "  {} {} → {} (exit {}): {why}",
            style.red(r.status.as_str()),
            render::path(&r.export),
            render::path(&r.target),
            r.exit_code
        );
    }
    if let Some(path) = report_file {
        let _ = writeln!(out, "Report written to {}.", render::path(path));
    }
    out
}
