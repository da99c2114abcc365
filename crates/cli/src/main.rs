//! `jimsctl`: the command line over the pipeline. Arguments, output for people and for
//! programs, questions on a terminal, and the one place where errors become exit codes.
//!
//! `main.rs` parses and dispatches; each family of commands has its module (`import`,
//! `folder`, `batch`, `plugins`, `settings`), `render` turns results into text, `prompt` is the
//! Add Missing Passwords dialog and `term` knows about the terminal.
//!
//! Architecture invariant: this is the only crate that prints.

/// `print!` to standard output through [`stdio::stdout`].
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::stdio::stdout(format_args!($($arg)*))
    };
}

/// `println!` to standard output through [`stdio::stdout`].
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::stdio::stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprintln!` through [`stdio::stderr`]: never a panic when standard error is closed.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::stdio::stderr(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// One JSON value on standard output, with every control character escaped
/// ([`stdio::json`]).
macro_rules! out_json {
    ($value:expr) => {
        $crate::stdio::stdout(format_args!("{}\n", $crate::stdio::json(&$value)))
    };
}

mod args;
mod batch;
mod completions;
mod diff;
mod exit;
mod folder;
mod grid;
mod hardening;
mod import;
mod keys;
mod plugins;
mod prompt;
mod push;
mod render;
mod settings;
mod sources;
mod status;
mod stdio;
mod term;
mod validate;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use pipeline::{Error, ErrorKind};
use serde_json::json;

use crate::args::{Cli, Command, KeyCommand, OutputFormat, ServerCommand};
use crate::term::Style;

/// mimalloc rather than the system's allocator: an import allocates and frees many small
/// strings, and glibc's malloc spent about a quarter of a batch's time on them (issue 6's
/// closing note has the numbers).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Before anything is read: a password in this process's memory never lands in a core file.
    hardening::no_core_dumps();
    let cli = match parse_args() {
        Ok(cli) => cli,
        Err(code) => return ExitCode::from(stdio::exit_code(code)),
    };
    render::set_verbosity(if cli.quiet {
        render::Verbosity::Quiet
    } else if cli.verbose {
        render::Verbosity::Verbose
    } else {
        render::Verbosity::Normal
    });
    let format = output_format(&cli.command);
    let code = match run(cli.command) {
        Ok(code) => code,
        Err(e) => report_error(&e, format),
    };
    ExitCode::from(stdio::exit_code(code))
}

/// The command line, parsed. A usage error quotes what was typed, which may be a hostile file
/// name from a glob (`jimsctl convert exports/*`): it is told with every argument escaped (the
/// same error, from the arguments as [`render::escape_for_terminal`] shows them), as plain
/// text through the print boundary, and its exit code returned. Help and version are clap's
/// own text: clap prints them and exits.
fn parse_args() -> Result<Cli, u8> {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // `--color` first, so that clap's own messages follow the same choice as jimsctl's.
    term::set_color(term::color_from_args(&args));
    let color = term::color_stderr();
    let command = || {
        Cli::command().color(if color {
            clap::ColorChoice::Always
        } else {
            clap::ColorChoice::Never
        })
    };
    let parse = |args: Vec<std::ffi::OsString>| {
        command().try_get_matches_from(args).and_then(|m| Cli::from_arg_matches(&m))
    };
    let e = match parse(args.clone()) {
        Ok(cli) => return Ok(cli),
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => e,
    };
    let shown = args
        .iter()
        .map(|a| render::escape_for_terminal(&a.to_string_lossy()).into_owned().into())
        .collect();
    let e = match parse(shown) {
        Err(same) if same.kind() == e.kind() => same,
        _ => e,
    };
    let text = if color { e.render().ansi().to_string() } else { e.render().to_string() };
    errln!("{}", text.trim_end());
    Err(u8::try_from(e.exit_code()).unwrap_or(exit::Exit::Invalid.code()))
}

fn output_format(command: &Command) -> OutputFormat {
    match command {
        Command::Import(a) => a.resolve.output.format,
        Command::Passwords(a) => a.resolve.output.format,
        Command::History(h) => match &h.show {
            Some(args::HistoryCommand::Show { target, .. }) => target.output.format,
            None => h.output.format,
        },
        Command::Diff(d) => d.output.format,
        Command::Validate(v) => v.output.format,
        Command::Completions { .. } | Command::Man { .. } => OutputFormat::Text,
        Command::Status(s) => s.target.output.format,
        Command::Rollback(r) => r.target.output.format,
        Command::Key(KeyCommand::Id(t) | KeyCommand::List(t)) => t.output.format,
        Command::Key(KeyCommand::Public(a)) => a.output.format,
        Command::Key(KeyCommand::Rotate(a)) => a.output.format,
        Command::Key(KeyCommand::Retire(a)) => a.output.format,
        Command::Server(ServerCommand::Init { output, .. }) => output.format,
        Command::Settings(s) => s.output.format,
        Command::Batch(a) => a.output.format,
        Command::Plugins(args::PluginsCommand::List(o)) => o.format,
        Command::Remote(c) => c.format(),
        Command::Push(a) => a.output.format,
        Command::Export(_) | Command::Convert(_) => OutputFormat::Text,
    }
}

/// Prints `e` and returns its exit code: the one place where errors become exit codes.
fn report_error(e: &Error, format: OutputFormat) -> u8 {
    let exit = exit::Exit::of_error(e);
    let code = exit.code();
    if format == OutputFormat::Json {
        let mut v = json!({"status": exit.word(), "exit_code": code, "error": e.to_string()});
        if let ErrorKind::Invalid(problems) = e.kind() {
            v["problems"] = problems.iter().map(|p| json!(p.to_string())).collect();
        }
        out_json!(v);
    } else {
        // The message says what to do, busy or not (the store's says to try again later).
        // `error:` as clap writes it (its own error style): bold red where stderr gets colour.
        let label = if term::color_stderr() {
            let s = clap::builder::styling::Styles::default().get_error().to_owned();
            format!("{s}error:{s:#}")
        } else {
            "error:".to_owned()
        };
        errln!("{label} {}", render::error_text(e));
    }
    code
}

fn run(command: Command) -> Result<u8, Error> {
    let style = Style { on: term::color_stdout() };
    match command {
        Command::Server(ServerCommand::Init { dir, server_id, adopt, output }) => {
            folder::init(&dir, server_id.as_deref(), adopt, output.format)
        }
        Command::Import(a) => import::import(a, style),
        Command::Passwords(a) => import::passwords(a, style),
        Command::Export(a) => folder::export(a),
        Command::Convert(a) => folder::convert(a),
        Command::History(h) => match h.show {
            Some(args::HistoryCommand::Show { version, target }) => {
                diff::history_show(version, target, style)
            }
            None => folder::history(args::TargetArgs {
                target: h.target.unwrap_or_default(),
                output: h.output,
            }),
        },
        Command::Rollback(r) if r.dry_run => diff::rollback_dry_run(r, style),
        Command::Rollback(r) => folder::rollback(r),
        Command::Diff(d) => diff::run(d, style),
        Command::Validate(v) => validate::run(v),
        Command::Completions { shell } => completions::print(shell),
        Command::Man { out } => completions::man(&out),
        Command::Status(s) => status::run(s, style),
        Command::Key(KeyCommand::Id(t)) => folder::key_id(t),
        Command::Key(KeyCommand::Public(a)) => keys::public(a),
        Command::Key(KeyCommand::Rotate(a)) => keys::rotate(a),
        Command::Key(KeyCommand::List(t)) => keys::list(t),
        Command::Key(KeyCommand::Retire(a)) => keys::retire(a),
        Command::Settings(a) => settings::command(a),
        Command::Batch(a) => batch::run(a, style),
        Command::Plugins(c) => plugins::run(c, style),
        Command::Remote(c) => push::remote(c, style),
        Command::Push(a) => push::push(a, style),
    }
}
