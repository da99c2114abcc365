//! `jimsctl`: the command line over the pipeline. Arguments, output for people and for
//! programs, questions on a terminal, and the one place where errors become exit codes.
//!
//! `main.rs` parses and dispatches; each family of commands has its module (`import`,
//! `folder`, `batch`, `plugins`, `settings`), `render` turns results into text, `prompt` is the
//! Add Missing Passwords dialog and `term` knows about the terminal.
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
mod folder;
mod import;
mod keys;
mod plugins;
mod prompt;
mod render;
mod settings;
mod sources;
mod term;

use std::process::ExitCode;

use clap::Parser;
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
        Command::Key(KeyCommand::Id(t) | KeyCommand::List(t)) => t.output.format,
        Command::Key(KeyCommand::Public(a)) => a.output.format,
        Command::Key(KeyCommand::Rotate(a)) => a.output.format,
        Command::Key(KeyCommand::Retire(a)) => a.output.format,
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
        let mut v = json!({"status": e.status(), "exit_code": code, "error": e.to_string()});
        if let ErrorKind::Invalid(problems) = e.kind() {
            v["problems"] = problems.iter().map(|p| json!(p.to_string())).collect();
        }
        outln!("{v:#}");
    } else {
        // The message says what to do, busy or not (the store's says to try again later).
        eprintln!("error: {e}");
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
        Command::History(t) => folder::history(t),
        Command::Rollback(r) => folder::rollback(r),
        Command::Key(KeyCommand::Id(t)) => folder::key_id(t),
        Command::Key(KeyCommand::Public(a)) => keys::public(a),
        Command::Key(KeyCommand::Rotate(a)) => keys::rotate(a),
        Command::Key(KeyCommand::List(t)) => keys::list(t),
        Command::Key(KeyCommand::Retire(a)) => keys::retire(a),
        Command::Settings(a) => settings::command(a),
        Command::Batch(a) => batch::run(a, style),
        Command::Plugins(c) => plugins::run(c, style),
    }
}
