//! `jimsctl batch`: many imports at once. The list comes from a manifest or from a folder of
//! exports; [`pipeline::batch::run`] runs them; this module adds the terminal: the progress bar,
//! Ctrl-C, `prompt` asked once per distinct secret, the summary and the report file.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use pipeline::batch::{self, Defaults, Entry, EntryReport, EntryStatus, Event, Report};
use pipeline::{Error, ErrorKind, Row, Secret, Status, Table};
use serde_json::{Value, json};

use crate::args::{BatchArgs, OutputFormat};
use crate::exit::Exit;
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
        replace_event_sources: a.replace_event_sources,
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
    let source_options =
        sources::options(a.secrets_timeout, render::verbosity() == render::Verbosity::Verbose);
    let open = |spec: &str| sources::open(spec, &source_options);
    let options = batch::Options {
        jobs: a.jobs.map_or(0, usize::from),
        shared_lookups: !a.no_shared_lookups,
        push: a.push.then(|| batch::PushSettings {
            jobs: usize::from(a.push_jobs),
            timeout: Duration::from_secs_f64(a.push_timeout),
        }),
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
    // The bar moves as each import runs; once every one has, what is left is making the last
    // group of commits durable, which the message says rather than a bar that seems stuck.
    let observe = |event: Event<'_>| {
        let Some(bar) = &bar else { return };
        match event {
            Event::Ran(_) => {
                bar.inc(1);
                if bar.position() >= bar.length().unwrap_or(u64::MAX) {
                    let n = failed.load(Ordering::Relaxed);
                    let failed = if n > 0 { format!("{n} failed; ") } else { String::new() };
                    bar.set_message(format!("{failed}writing the last imports to disk…"));
                }
            }
            Event::Done(r) if !Exit::entry_succeeded(r) => {
                let n = failed.fetch_add(1, Ordering::Relaxed) + 1;
                bar.set_message(format!("{n} failed"));
            }
            Event::Done(_) => {}
        }
    };
    let interaction = BatchInteraction {
        bar: bar.clone(),
        memo: Mutex::new(HashMap::new()),
        remember: !a.no_shared_lookups,
    };
    let report = batch::run(&batch::Config {
        entries: &entries,
        defaults,
        options,
        open: &open,
        interaction: &interaction,
        observe: &observe,
        cancel: &cancel,
    })?;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    drop(interaction);

    let json = report_json(&report);
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
        let text = summary(&report, a.report.as_deref(), style);
        if render::verbosity() == render::Verbosity::Quiet {
            outln!("{}", text.lines().next().unwrap_or_default());
        } else {
            out!("{text}");
        }
    }
    Ok(Exit::batch_code(&report))
}

/// The report of docs/cli.md: each entry with its status word and the exit code `import` (and
/// `push`) would have returned, and the totals with the count of each status.
fn report_json(report: &Report) -> Value {
    let imports: Vec<Value> = report.imports.iter().map(entry_json).collect();
    let t = &report.totals;
    let mut statuses: std::collections::BTreeMap<&str, usize> = Default::default();
    for r in &report.imports {
        *statuses.entry(Exit::of_entry(&r.status).word()).or_default() += 1;
    }
    let mut totals = json!({
        "imports": t.imports,
        "imported": t.imported,
        "unchanged": t.unchanged,
        "dry_run": t.dry_run,
        "failed": t.failed,
        "skipped": t.skipped,
        "statuses": statuses,
        "lookups": t.lookups,
        "seconds": t.seconds,
    });
    if let Some(p) = &t.push {
        totals["push"] = json!(p);
    }
    json!({"imports": imports, "totals": totals, "cancelled": report.cancelled})
}

/// One entry of the report: every member, whatever its status (`null` or `[]` where it has
/// none), and `push` with `--push` once its import succeeded.
fn entry_json(r: &EntryReport) -> Value {
    let exit = Exit::of_entry(&r.status);
    let mut v = json!({
        "export": r.export.display().to_string(),
        "target": r.target.display().to_string(),
        "status": exit.word(),
        "exit_code": exit.code(),
        "sections": r.sections.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "passwords": r.passwords,
        "missing": r.missing,
        "version": r.version,
        "created": r.created,
        "error": r.error,
        "seconds": r.seconds,
    });
    if let Some(p) = &r.push {
        let exit = Exit::of_entry_push(&p.status);
        let mut push = json!({"status": exit.word(), "exit_code": exit.code()});
        if let Some(remote) = &p.remote {
            push["remote"] = json!(remote);
        }
        push["sections"] = json!(p.files);
        if let Some(e) = &p.error {
            push["error"] = json!(e);
        }
        push["seconds"] = json!(p.seconds);
        v["push"] = push;
    }
    v
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
        pipeline::create_output_folder(targets)?;
    }
    Ok(entries)
}

/// A rate of imports per second with sensible precision: `1234/s`, `79.6/s`, `0.42/s`.
pub(crate) fn rate_text(rate: f64) -> String {
    if rate >= 100.0 {
        format!("{rate:.0}/s")
    } else if rate >= 10.0 {
        format!("{rate:.1}/s")
    } else {
        format!("{rate:.2}/s")
    }
}

/// A progress bar on standard error when it is a terminal.
fn progress_bar(len: u64) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} imports ({rate}, eta {eta}) {msg}",
    )
    .map(|s| {
        s.with_key("rate", |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = w.write_str(&rate_text(state.per_sec()));
        })
    })
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

fn memo_key(row: &Row) -> MemoKey {
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
            Some(bar) => bar.suspend(|| errln!("warning: {message}")),
            None => errln!("warning: {message}"),
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
        let color = term::color_dialog();
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
    // Imports skipped after Ctrl-C did not run: they are no part of the rate.
    let ran = t.imports - t.skipped;
    let rate = if t.seconds > 0.0 { ran as f64 / t.seconds } else { 0.0 };
    let _ = write!(
        out,
        "Batch of {} in {:.1} s ({}): {} imported",
        crate::import::plural(t.imports, "import"),
        t.seconds,
        rate_text(rate),
        t.imported
    );
    if t.unchanged > 0 {
        let _ = write!(out, ", {} unchanged (nothing new to write)", t.unchanged);
    }
    if t.dry_run > 0 {
        let _ = write!(out, ", {}", crate::import::plural(t.dry_run, "dry run"));
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
    let failures: Vec<(&EntryReport, Exit)> = report
        .imports
        .iter()
        .map(|r| (r, Exit::of_entry(&r.status)))
        .filter(|(r, exit)| exit.code() != 0 && r.status != EntryStatus::Skipped)
        .collect();
    // One aligned row per import that did not succeed: status, export → target, exit code, why.
    let mut grid = crate::grid::Grid::headless(style).indent(2);
    for (r, exit) in &failures {
        let why = match (&r.error, &r.status) {
            (Some(e), _) => escape_for_terminal(e.lines().next().unwrap_or_default()).into_owned(),
            (None, EntryStatus::Ended(Status::MissingPasswords)) => format!(
                "{} missing: {}",
                crate::import::plural(r.passwords.map_or(0, |p| p.remaining), "password"),
                r.missing
                    .iter()
                    .take(3)
                    .map(|k| escape_for_terminal(k).into_owned())
                    .collect::<Vec<_>>()
                    .join(", ")
                    + if r.missing.len() > 3 { ", …" } else { "" }
            ),
            (None, EntryStatus::Ended(Status::WarningNotAccepted)) => {
                "a partial import: give --accept-warning (or accept_warning = true)".to_owned()
            }
            (None, _) => exit.word().to_owned(),
        };
        grid.row([
            style.red(exit.word()),
            render::path(&r.export),
            "→".to_owned(),
            render::path(&r.target),
            format!("(exit {}):", exit.code()),
            why,
        ]);
    }
    out.push_str(&grid.render());
    if let Some(p) = &t.push {
        let _ = writeln!(out, "Pushes: {} pushed or up to date, {} failed.", p.pushed, p.failed);
        let mut grid = crate::grid::Grid::headless(style).indent(2);
        for r in &report.imports {
            let Some(push) = r.push.as_ref() else { continue };
            let exit = Exit::of_entry_push(&push.status);
            if exit.code() == 0 {
                continue;
            }
            let why = push.error.as_deref().unwrap_or_default();
            grid.row([
                format!("push {}", style.red(exit.word())),
                render::path(&r.target),
                format!("(exit {}):", exit.code()),
                escape_for_terminal(why.lines().next().unwrap_or_default()).into_owned(),
            ]);
        }
        out.push_str(&grid.render());
    }
    if let Some(path) = report_file {
        let _ = writeln!(out, "Report written to {}.", render::path(path));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_print_with_sensible_precision() {
        assert_eq!(rate_text(79.5528), "79.6/s");
        assert_eq!(rate_text(1234.56), "1235/s");
        assert_eq!(rate_text(0.4219), "0.42/s");
        assert_eq!(rate_text(0.0), "0.00/s");
    }
}
