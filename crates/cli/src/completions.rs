//! Shell completions (`jimsctl completions SHELL`) and man pages (`jimsctl man --out DIR`, run
//! by `cargo xtask man`), both generated from the clap definitions, so they never drift from
//! what the binary accepts.

use std::path::Path;

use clap::CommandFactory;
use pipeline::{Error, ErrorKind};

use crate::args::Cli;

/// Prints the completion script of `shell` on standard output.
pub(crate) fn print(shell: clap_complete::Shell) -> Result<u8, Error> {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "jimsctl", &mut buf);
    out!("{}", String::from_utf8_lossy(&buf));
    Ok(0)
}

/// Writes `jimsctl.1` and one page per subcommand (`jimsctl-import.1`, …) into `dir`.
pub(crate) fn man(dir: &Path) -> Result<u8, Error> {
    let fail = |e: Error| {
        let message = format!("cannot write the man pages into {}: {e}", dir.display());
        Error::new(e.kind().clone(), message).with_path(dir).caused_by(e)
    };
    pipeline::create_output_folder(dir).map_err(fail)?;
    let cmd = Cli::command();
    let mut written = 0usize;
    write_pages(&cmd, "jimsctl", dir, &mut written).map_err(fail)?;
    outln!("Wrote {written} man pages into {}.", dir.display());
    Ok(0)
}

fn write_pages(
    cmd: &clap::Command,
    name: &str,
    dir: &Path,
    written: &mut usize,
) -> Result<(), Error> {
    let cmd = cmd.clone().bin_name(name.replace('-', " "));
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .title(name.to_owned())
        .render(&mut buf)
        .map_err(|e| Error::new(ErrorKind::Io, format!("cannot make the page {name}: {e}")))?;
    pipeline::write_file_atomic(&dir.join(format!("{name}.1")), &buf, 0o644)?;
    *written += 1;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, &format!("{name}-{}", sub.get_name()), dir, written)?;
    }
    Ok(())
}
