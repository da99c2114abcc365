//! `jimsctl import` and `jimsctl passwords`: finding the export, building the chain of secret
//! sources, asking on the terminal, and printing the outcome.

use std::path::Path;

use pipeline::{Chain, Emitted, Error, ErrorKind, ImportOptions, Secret, Table};

use crate::args::{ImportArgs, OutputFormat, PasswordsArgs, ResolveArgs};
use crate::exit::Exit;
use crate::settings::{self, FoundIn};
use crate::term::{self, Style};
use crate::{prompt, render, sources};

/// `jimsctl import`.
pub(crate) fn import(mut a: ImportArgs, style: Style) -> Result<u8, Error> {
    let found = locate(&mut a.resolve)?;
    let (chain, prompt) = build_chain(&a.resolve, !a.dry_run)?;
    let options = ImportOptions {
        sections: a.resolve.sections.clone(),
        accept_warning: a.accept_warning,
        dry_run: a.dry_run,
        source_key: a.resolve.source_key.clone(),
        prompt,
        replace_event_sources: a.resolve.replace_event_sources,
        no_plan: false,
    };
    let target = a.resolve.target.clone().unwrap_or_default();
    let interaction = TerminalInteraction {
        title: format!("{} → {}", render::path(&a.resolve.export), render::path(&target)),
    };
    let outcome =
        pipeline::import(&a.resolve.export, &target, &options, &chain, None, &interaction)?;
    if matches!(outcome.status, pipeline::Status::Imported | pipeline::Status::Unchanged) {
        settings::remember_export_folder(&a.resolve.export);
    }
    print_outcome(&outcome, &a.resolve, a.dry_run, &found, style);
    Ok(Exit::of_import(outcome.status).code())
}

/// `jimsctl passwords`.
pub(crate) fn passwords(mut a: PasswordsArgs, style: Style) -> Result<u8, Error> {
    if let Some(path) = &a.emit {
        pipeline::check_output_file(path)?;
    }
    locate(&mut a.resolve)?;
    let options = ImportOptions {
        sections: a.resolve.sections.clone(),
        source_key: a.resolve.source_key.clone(),
        replace_event_sources: a.resolve.replace_event_sources,
        ..ImportOptions::default()
    };
    let (chain, prompt) = build_chain(&a.resolve, false)?;
    if prompt {
        // `passwords` writes nothing, so there is nothing to type a password for.
        errln!(
            "note: `--secrets prompt` asks nothing here: `passwords` only shows the table; \
             `jimsctl import` asks for what is missing"
        );
    }
    let interaction = TerminalInteraction { title: String::new() };
    let outcome = pipeline::passwords(
        &a.resolve.export,
        a.resolve.target.as_deref(),
        &options,
        &chain,
        &interaction,
    )?;
    let emitted = match &a.emit {
        Some(path) => Some(pipeline::emit_skeleton(path, &outcome.table, a.force)?),
        None => None,
    };
    if a.resolve.output.format == OutputFormat::Json {
        let mut v = render::table_json(&outcome.table);
        v["foreign_keys"] = render::foreign_keys_json(&outcome);
        out_json!(v);
    } else {
        out!("{}", render::table_with(&outcome.table, style, a.keys));
        out!("{}", render::foreign_keys_note(&outcome));
        crate::keys::print_sealed_to(outcome.sealed_to.as_ref(), outcome.table.remaining() > 0);
        if let (Some(path), Some(emitted)) = (&a.emit, emitted) {
            let path = render::path(path);
            match emitted {
                Emitted::New(n) => outln!("Wrote {} to fill in to {path}.", plural(n, "key")),
                Emitted::Merged { added: 0, .. } => {
                    outln!("{path} already has every key to fill in; it was left as it was.")
                }
                Emitted::Merged { added, kept } => outln!(
                    "Added {} to fill in to {path}, keeping its {} and their values.",
                    plural(added, "key"),
                    plural(kept, "key")
                ),
            }
        }
    }
    Ok(if outcome.table.remaining() == 0 { 0 } else { Exit::MissingPasswords.code() })
}

fn print_outcome(
    outcome: &pipeline::Outcome,
    a: &ResolveArgs,
    dry_run: bool,
    found: &FoundIn,
    style: Style,
) {
    let export = a.export.display().to_string();
    let target = a.target.as_deref().unwrap_or(Path::new("")).display().to_string();
    if a.output.format == OutputFormat::Json {
        let mut v = render::import_json(outcome, &export, &target, dry_run);
        if let Some(note) = &outcome.sealed_to {
            v["sealed_to"] = serde_json::json!(note);
        }
        match found {
            FoundIn::AsGiven => {}
            FoundIn::LastFolder(_) => v["found_in"] = "last-folder".into(),
            FoundIn::DefaultFolder(_) => v["found_in"] = "default-folder".into(),
        }
        out_json!(v);
    } else {
        let text = render::import_text(outcome, &export, &target, dry_run, style);
        if render::verbosity() == render::Verbosity::Quiet {
            outln!("{}", text.lines().next().unwrap_or_default());
        } else {
            out!("{text}");
        }
        crate::keys::print_sealed_to(outcome.sealed_to.as_ref(), outcome.table.remaining() > 0);
    }
}

/// Resolves the export's path through the Export/Import settings, and says where it was
/// found when that was not where it was given.
fn locate(a: &mut ResolveArgs) -> Result<FoundIn, Error> {
    let (path, found) = settings::locate_export(&a.export)?;
    match &found {
        FoundIn::AsGiven => {}
        FoundIn::LastFolder(dir) => {
            errln!(
                "Found {} in the last folder used, {}.",
                render::path(&a.export),
                render::path(dir)
            )
        }
        FoundIn::DefaultFolder(dir) => {
            errln!(
                "Found {} in the default export folder, {}.",
                render::path(&a.export),
                render::path(dir)
            )
        }
    }
    a.export = path;
    Ok(found)
}

/// The secret sources given with `--secrets`, in order, and whether `prompt` was asked for (it
/// is asked last, after every other source). `prompt` needs a terminal when `will_prompt`.
/// Each SPEC is checked now, but its source is opened only once the import has checked its
/// export and its target.
fn build_chain(a: &ResolveArgs, will_prompt: bool) -> Result<(Chain, bool), Error> {
    let options =
        sources::options(a.secrets_timeout, render::verbosity() == render::Verbosity::Verbose);
    let mut chain = Vec::new();
    let mut prompt = false;
    for spec in &a.secrets {
        if spec == "prompt" {
            if will_prompt && !term::interactive() {
                return Err(sources::prompt_without_terminal(
                    "`jimsctl passwords … --emit FILE` writes one to fill in",
                ));
            }
            prompt = true;
        } else {
            chain.push(sources::deferred(spec, &options)?);
        }
    }
    Ok((Chain::new(chain), prompt))
}

/// `1 key`, `2 keys`.
pub(crate) fn plural(n: usize, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

/// Asks the partial-import warning and the missing passwords on a terminal; without one,
/// nobody accepts the warning.
struct TerminalInteraction {
    title: String,
}

impl pipeline::Interaction for TerminalInteraction {
    fn warn(&self, message: &str) {
        errln!("warning: {message}");
    }

    fn accept_partial(&self, warning: &str) -> bool {
        if !term::interactive() {
            errln!("warning: {warning}");
            errln!("No terminal to ask: run again with --accept-warning to accept it.");
            return false;
        }
        errln!("warning: {warning}");
        term::confirm("Import anyway?")
    }

    fn accept_partial_import(&self, partial: &pipeline::PartialImport<'_>) -> bool {
        // What the import replaces comes first, so the question is asked about something seen.
        let sections: Vec<&str> = partial.sections.iter().map(|s| s.as_str()).collect();
        let of = partial.target.map(|t| format!(" of {}", render::path(t))).unwrap_or_default();
        errln!(
            "This partial import replaces {}{of}: {}. Every other section stays as it is.",
            plural(sections.len(), "section"),
            sections.join(", ")
        );
        if let Some(plan) = partial.plan {
            crate::stdio::stderr(format_args!(
                "{}",
                render::plan(plan, Style { on: term::color_stderr() })
            ));
        }
        self.accept_partial(partial.warning)
    }

    fn prompt_passwords(&self, table: &mut Table) -> Result<Option<Vec<(usize, Secret)>>, Error> {
        let color = term::color_dialog();
        match prompt::run(table, &self.title, color) {
            Ok(prompt::Ended::Assigned(typed)) => Ok(Some(typed)),
            Ok(prompt::Ended::Cancelled) => {
                errln!("Cancelled: nothing was written.");
                Ok(None)
            }
            Err(e) => Err(Error::new(ErrorKind::Io, format!("the password prompt failed: {e}"))),
        }
    }
}
