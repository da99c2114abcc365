//! `jimsctl import` and `jimsctl passwords`: finding the export, building the chain of secret
//! sources, asking on the terminal, and printing the outcome.

use std::path::Path;

use pipeline::{Error, ErrorKind, ImportOptions};

use crate::args::{ImportArgs, OutputFormat, PasswordsArgs, ResolveArgs};
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
        no_plan: false,
    };
    let interaction = TerminalInteraction {
        title: format!("{} → {}", render::path(&a.resolve.export), render::path(&a.resolve.target)),
    };
    let outcome = pipeline::import(
        &a.resolve.export,
        &a.resolve.target,
        &options,
        &chain,
        None,
        &interaction,
    )?;
    if outcome.status == pipeline::Status::Imported {
        settings::remember_export_folder(&a.resolve.export);
    }
    print_outcome(&outcome, &a.resolve, a.dry_run, &found, style);
    Ok(outcome.status.exit_code())
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
    let outcome =
        pipeline::passwords(&a.resolve.export, &a.resolve.target, &options, &chain, &interaction)?;
    if let Some(path) = &a.emit {
        emit_skeleton(path, &outcome.table)?;
    }
    if a.resolve.output.format == OutputFormat::Json {
        out_json!(render::table_json(&outcome.table));
    } else {
        out!("{}", render::table(&outcome.table, style));
        crate::keys::print_sealed_to(outcome.sealed_to.as_ref(), outcome.table.remaining() > 0);
        if let Some(path) = &a.emit {
            outln!(
                "Wrote {} key(s) to fill in to {}.",
                outcome.table.remaining(),
                render::path(path)
            );
        }
    }
    Ok(if outcome.table.remaining() == 0 { 0 } else { 3 })
}

fn print_outcome(
    outcome: &pipeline::Outcome,
    a: &ResolveArgs,
    dry_run: bool,
    found: &FoundIn,
    style: Style,
) {
    let export = a.export.display().to_string();
    let target = a.target.display().to_string();
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
        out!("{}", render::import_text(outcome, &export, &target, dry_run, style));
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
fn build_chain(a: &ResolveArgs, will_prompt: bool) -> Result<(secrets::Chain, bool), Error> {
    let options = sources::options(a.secrets_timeout, a.verbose);
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
    Ok((secrets::Chain::new(chain), prompt))
}

fn emit_skeleton(path: &Path, table: &secrets::Table) -> Result<(), Error> {
    let format = match path.extension().and_then(|e| e.to_str()) {
        Some("toml") => secrets::SkeletonFormat::Toml,
        Some("json") => secrets::SkeletonFormat::Json,
        _ => {
            return Err(Error::new(
                ErrorKind::Usage,
                format!("--emit {}: the file must end in .json or .toml", path.display()),
            ));
        }
    };
    pipeline::write_file_atomic(path, secrets::skeleton(table, format).as_bytes(), 0o600)
}

/// Asks the partial-import warning and the missing passwords on a terminal; without one,
/// nobody accepts the warning.
struct TerminalInteraction {
    title: String,
}

impl pipeline::Interaction for TerminalInteraction {
    fn warn(&self, message: &str) {
        eprintln!("warning: {message}");
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

    fn prompt_passwords(
        &self,
        table: &mut secrets::Table,
    ) -> Result<Option<Vec<(usize, crypto::Secret)>>, Error> {
        let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        match prompt::run(table, &self.title, color) {
            Ok(prompt::Ended::Assigned(typed)) => Ok(Some(typed)),
            Ok(prompt::Ended::Cancelled) => {
                for row in table.rows.iter_mut() {
                    if row.source.as_deref() == Some("prompt") {
                        row.source = None;
                    }
                }
                errln!("Cancelled: nothing was written.");
                Ok(None)
            }
            Err(e) => Err(Error::new(ErrorKind::Io, format!("the password prompt failed: {e}"))),
        }
    }
}
