//! `jimsctl`: the command line over the pipeline. Arguments, output for people and for
//! programs, questions on a terminal, and the one place where errors become exit codes.
//!
//! Architecture invariant: this is the only crate that prints.

/// `print!` to standard output through [`write_stdout`].
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::write_stdout(format_args!($($arg)*))
    };
}

/// `println!` to standard output through [`write_stdout`].
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

mod args;
mod batch;
mod plugins;
mod prompt;
mod render;
mod settings;
mod term;

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use pipeline::{
    ConvertTo, Error, ErrorKind, ExportFormat, ExportOptions, ImportOptions, PasswordsOut,
};
use serde_json::json;

use crate::args::{
    BundleFormat, Cli, Command, ConvertKind, KeyCommand, OutputFormat, PasswordsArg, ResolveArgs,
    ServerCommand,
};
use crate::settings::FoundIn;
use crate::term::Style;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let format = output_format(&cli.command);
    match run(cli.command) {
        Ok(code) => ExitCode::from(code),
        Err(e) => ExitCode::from(report_error(&e, format)),
    }
}

/// Writes to standard output; when its reader has gone away (`jimsctl … | head`), ends the
/// process quietly as other Unix tools do, instead of panicking as `println!` would.
fn write_stdout(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(args).and_then(|()| stdout.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to standard output: {e}");
        std::process::exit(1);
    }
}

fn output_format(command: &Command) -> OutputFormat {
    match command {
        Command::Import(a) => a.resolve.output.format,
        Command::Passwords(a) => a.resolve.output.format,
        Command::History(t) => t.output.format,
        Command::Rollback(r) => r.target.output.format,
        Command::Key(KeyCommand::Id(t)) => t.output.format,
        Command::Server(ServerCommand::Init { output, .. }) => output.format,
        Command::Settings(s) => s.output.format,
        Command::Batch(a) => a.output.format,
        Command::Plugins(args::PluginsCommand::List(o)) => o.format,
        Command::Export(_) | Command::Convert(_) => OutputFormat::Text,
    }
}

/// Prints `e` and returns its exit code: the one place where errors become exit codes.
fn report_error(e: &Error, format: OutputFormat) -> u8 {
    let code = e.exit_code();
    if format == OutputFormat::Json {
        let status = match e.kind() {
            ErrorKind::Invalid(_) => "invalid",
            ErrorKind::Busy => "busy",
            _ => "failed",
        };
        let mut v = json!({"status": status, "exit_code": code, "error": e.to_string()});
        if let ErrorKind::Invalid(problems) = e.kind() {
            v["problems"] = problems.iter().map(|p| json!(p.to_string())).collect();
        }
        outln!("{v:#}");
    } else {
        eprintln!("error: {e}");
        if let ErrorKind::Busy = e.kind() {
            eprintln!("hint: another import holds the target; try again when it has finished");
        }
    }
    code
}

fn run(command: Command) -> Result<u8, Error> {
    let style = Style { on: term::color_stdout() };
    match command {
        Command::Server(ServerCommand::Init { dir, server_id, adopt, output }) => {
            let report = if adopt {
                store::adopt(&dir, server_id.as_deref())
            } else {
                store::init(&dir, server_id.as_deref())
            }?;
            if output.format == OutputFormat::Json {
                outln!(
                    "{:#}",
                    json!({"status": if adopt {"adopted"} else {"initialised"}, "dir": report.dir,
                           "server_id": report.server_id, "key_id": report.key_id.as_str(),
                           "sealed": report.sealed})
                );
            } else {
                outln!(
                    "{} {} as managed JIMS server '{}' (key id {}).",
                    if adopt { "Adopted" } else { "Initialised" },
                    report.dir.display(),
                    report.server_id,
                    report.key_id
                );
                if adopt {
                    outln!("Sealed {} plaintext password(s) found in it.", report.sealed);
                }
            }
            Ok(0)
        }
        Command::Settings(a) => settings_command(a),
        Command::Batch(a) => batch::run(a, style),
        Command::Plugins(c) => plugins::run(c, style),
        Command::Import(mut a) => {
            let found = locate(&mut a.resolve)?;
            let (chain, prompt) = build_chain(&a.resolve, !a.dry_run)?;
            let options = ImportOptions {
                sections: a.resolve.sections.clone(),
                accept_warning: a.accept_warning,
                dry_run: a.dry_run,
                source_key: a.resolve.source_key.clone(),
                prompt,
            };
            let interaction = TerminalInteraction {
                title: format!("{} → {}", a.resolve.export.display(), a.resolve.target.display()),
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
            print_outcome(&outcome, &a.resolve, &found, style);
            Ok(outcome.status.exit_code())
        }
        Command::Passwords(mut a) => {
            locate(&mut a.resolve)?;
            let options = ImportOptions {
                sections: a.resolve.sections.clone(),
                source_key: a.resolve.source_key.clone(),
                ..ImportOptions::default()
            };
            let (chain, _) = build_chain(&a.resolve, false)?;
            let outcome =
                pipeline::passwords(&a.resolve.export, &a.resolve.target, &options, &chain)?;
            if let Some(path) = &a.emit {
                emit_skeleton(path, &outcome.table)?;
            }
            if a.resolve.output.format == OutputFormat::Json {
                outln!("{:#}", render::table_json(&outcome.table));
            } else {
                out!("{}", render::table(&outcome.table, style));
                if let Some(path) = &a.emit {
                    outln!(
                        "Wrote {} key(s) to fill in to {}.",
                        outcome.table.remaining(),
                        path.display()
                    );
                }
            }
            Ok(if outcome.table.remaining() == 0 { 0 } else { 3 })
        }
        Command::Export(a) => {
            let options = ExportOptions {
                format: a.format.map(|f| match f {
                    BundleFormat::Xml => ExportFormat::Xml,
                    BundleFormat::Json => ExportFormat::Json,
                }),
                sections: a.sections,
                passwords: match a.passwords {
                    PasswordsArg::Sealed => PasswordsOut::Sealed,
                    PasswordsArg::Omit => PasswordsOut::Omit,
                    PasswordsArg::Plain => PasswordsOut::Plain,
                },
            };
            if options.passwords == PasswordsOut::Plain {
                eprintln!(
                    "warning: {} will hold plaintext passwords (mode 0600); keep it safe and delete it after use",
                    a.out.display()
                );
            }
            let r = pipeline::export(&a.target, &a.out, &options)?;
            let sections: Vec<&str> = r.sections.iter().map(|s| s.as_str()).collect();
            outln!(
                "Exported {} ({}, {} sections: {}) to {}, passwords {}.",
                a.target.display(),
                r.scope,
                sections.len(),
                sections.join(", "),
                r.out.display(),
                match r.passwords {
                    PasswordsOut::Sealed => "sealed",
                    PasswordsOut::Omit => "omitted",
                    PasswordsOut::Plain => "in plaintext",
                }
            );
            Ok(0)
        }
        Command::Convert(a) => {
            let to = match a.to {
                None => ConvertTo::Auto,
                Some(ConvertKind::Xml) => ConvertTo::Format(ExportFormat::Xml),
                Some(ConvertKind::Json) => ConvertTo::Format(ExportFormat::Json),
                Some(ConvertKind::Folder) => ConvertTo::Format(ExportFormat::Folder),
            };
            let r = pipeline::convert(&a.input, &a.out, to)?;
            outln!(
                "Converted {} to {} ({}, {} sections).",
                a.input.display(),
                r.out.display(),
                r.format,
                r.sections.len()
            );
            Ok(0)
        }
        Command::History(t) => {
            let target = store::Target::open_read(&t.target).map_err(Error::from)?;
            let versions = target.history().map_err(Error::from)?;
            if t.output.format == OutputFormat::Json {
                let current = versions.iter().map(|v| v.version).max().unwrap_or(0);
                outln!("{:#}", json!({"current": current, "versions": versions}));
            } else {
                out!("{}", render::history(&versions));
            }
            Ok(0)
        }
        Command::Rollback(r) => {
            let target = store::Target::open(&r.target.target).map_err(Error::from)?;
            let report = target.rollback(r.to).map_err(Error::from)?;
            if r.target.output.format == OutputFormat::Json {
                outln!(
                    "{:#}",
                    json!({"status": "rolled-back", "version": report.version,
                    "files_written": report.files_written})
                );
            } else {
                outln!(
                    "Rolled back {}: now version {} ({} file(s) restored).",
                    r.target.target.display(),
                    report.version,
                    report.files_written.len()
                );
            }
            Ok(0)
        }
        Command::Key(KeyCommand::Id(t)) => {
            let target = store::Target::open_read(&t.target).map_err(Error::from)?;
            if t.output.format == OutputFormat::Json {
                outln!("{:#}", json!({"key_id": target.key_id().as_str()}));
            } else {
                outln!("{}", target.key_id());
            }
            Ok(0)
        }
    }
}

fn print_outcome(outcome: &pipeline::Outcome, a: &ResolveArgs, found: &FoundIn, style: Style) {
    let export = a.export.display().to_string();
    let target = a.target.display().to_string();
    if a.output.format == OutputFormat::Json {
        let mut v = render::import_json(outcome, &export, &target);
        match found {
            FoundIn::AsGiven => {}
            FoundIn::LastFolder(_) => v["found_in"] = "last-folder".into(),
            FoundIn::DefaultFolder(_) => v["found_in"] = "default-folder".into(),
        }
        outln!("{v:#}");
    } else {
        out!("{}", render::import_text(outcome, &export, &target, style));
    }
}

/// Resolves the export's path through the Export/Import settings, and says where it was
/// found when that was not where it was given.
fn locate(a: &mut ResolveArgs) -> Result<FoundIn, Error> {
    let (path, found) = settings::locate_export(&a.export)?;
    match &found {
        FoundIn::AsGiven => {}
        FoundIn::LastFolder(dir) => {
            eprintln!("Found {} in the last folder used, {}.", a.export.display(), dir.display())
        }
        FoundIn::DefaultFolder(dir) => {
            eprintln!(
                "Found {} in the default export folder, {}.",
                a.export.display(),
                dir.display()
            )
        }
    }
    a.export = path;
    Ok(found)
}

fn settings_command(a: args::SettingsArgs) -> Result<u8, Error> {
    let mut config = settings::load_config()?;
    if let Some(dir) = &a.default_folder {
        let dir = std::path::absolute(dir)
            .map_err(|e| Error::new(ErrorKind::Usage, format!("{}: {e}", dir.display())))?;
        if !dir.is_dir() {
            return Err(Error::new(ErrorKind::Usage, format!("{} is not a folder", dir.display())));
        }
        config.exports.default_folder = Some(dir);
        settings::save_config(&config)?;
    } else if a.unset_default_folder {
        config.exports.default_folder = None;
        settings::save_config(&config)?;
    }
    let state = settings::load_state();
    let shown = |p: Option<&Path>| p.map(|p| p.display().to_string());
    let config_path = settings::config_path();
    if a.output.format == OutputFormat::Json {
        outln!(
            "{:#}",
            json!({
                "config_file": shown(config_path.as_deref()),
                "default_folder": shown(config.exports.default_folder.as_deref()),
                "last_folder": shown(state.last_folder.as_deref()),
            })
        );
    } else {
        let none = || "(not set)".to_owned();
        outln!("configuration file: {}", shown(config_path.as_deref()).unwrap_or_else(none));
        outln!(
            "default export folder: {}",
            shown(config.exports.default_folder.as_deref()).unwrap_or_else(none)
        );
        outln!("last folder used: {}", shown(state.last_folder.as_deref()).unwrap_or_else(none));
    }
    Ok(0)
}

/// The secret sources given with `--secrets`, in order, and whether `prompt` was asked for (it
/// is asked last, after every other source). `prompt` needs a terminal when `will_prompt`.
fn build_chain(a: &ResolveArgs, will_prompt: bool) -> Result<(secrets::Chain, bool), Error> {
    let mut options = secrets::SourceOptions::default();
    options.timeout = Duration::from_secs_f64(a.secrets_timeout.max(0.001));
    let mut sources = Vec::new();
    let mut prompt = false;
    for spec in &a.secrets {
        if spec == "prompt" {
            if will_prompt && !term::interactive() {
                return Err(Error::new(
                    ErrorKind::SourceConfig,
                    "--secrets prompt needs a terminal; without one, give the passwords with \
                     --secrets env, --secrets file:PATH (`jimsctl passwords … --emit FILE` writes \
                     one to fill in), --secrets dir:PATH or --secrets cmd:PROGRAM",
                ));
            }
            prompt = true;
            continue;
        }
        // Built-in sources and plugins alike, found through the registry by the SPEC's scheme.
        match pipeline::secret_source(spec, &options)? {
            Some(source) => sources.push(source),
            None => {
                return Err(Error::new(
                    ErrorKind::SourceConfig,
                    format!("the secret source '{spec}' is not available here"),
                ));
            }
        }
    }
    Ok((secrets::Chain::new(sources), prompt))
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
    fn accept_partial(&self, warning: &str) -> bool {
        if !term::interactive() {
            eprintln!("warning: {warning}");
            eprintln!("No terminal to ask: run again with --accept-warning to accept it.");
            return false;
        }
        eprintln!("warning: {warning}");
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
                eprintln!("Cancelled: nothing was written.");
                Ok(None)
            }
            Err(e) => Err(Error::new(ErrorKind::Io, format!("the password prompt failed: {e}"))),
        }
    }
}
