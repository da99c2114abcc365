//! `cargo xtask docs [--check]`: the help blocks of `docs/cli.md`, from the binary itself.
//!
//! `docs/cli.md` shows each command's `--help` (the short form, `-h`) between the markers
//! `<!-- help: COMMAND -->` and `<!-- /help -->`. This task walks the command tree as
//! `jimsctl -h` lists it, runs `jimsctl COMMAND -h` at 100 columns for each, and writes the
//! output between its markers, so the flag lists are exactly what the binary accepts. A command
//! without markers gets a new section before `<!-- end of commands -->`. With `--check` (what
//! `cargo xtask ci` runs) nothing is written: it fails when a block is stale or missing, or
//! names a command that no longer exists.

use std::collections::BTreeSet;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The file that holds the help blocks, relative to the workspace root.
const CLI_MD: &str = "docs/cli.md";
/// Where new commands' sections go.
const END_OF_COMMANDS: &str = "<!-- end of commands -->";
/// The width clap wraps help at (its own maximum).
const COLUMNS: &str = "100";

/// `cargo xtask docs [--check]`.
pub(crate) fn run(args: &[String]) -> Result<()> {
    let check = match args {
        [] => false,
        [a] if a == "--check" => true,
        _ => bail!("usage: cargo xtask docs [--check]"),
    };
    crate::run("cargo", &["build", "--quiet", "--package", "cli", "--bin", "jimsctl"])?;
    let path = crate::root().join(CLI_MD);
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {CLI_MD}"))?;
    let commands = command_tree()?;
    let mut helps = Vec::new();
    for c in &commands {
        helps.push((c.clone(), help(c)?));
    }
    let (updated, problems) = render(&text, &helps)?;
    if check {
        if !problems.is_empty() || updated != text {
            let why = problems;
            bail!(
                "{CLI_MD} is out of date:\n  {}\nrun `cargo xtask docs` and review the change",
                why.join("\n  ")
            );
        }
        eprintln!("{CLI_MD}: the help of all {} commands is current", commands.len());
    } else {
        if updated != text {
            std::fs::write(&path, &updated).with_context(|| format!("cannot write {CLI_MD}"))?;
            eprintln!("{CLI_MD}: help blocks rewritten");
        } else {
            eprintln!("{CLI_MD}: already current");
        }
        for p in problems {
            eprintln!("{CLI_MD}: {p}");
        }
        if updated != text {
            eprintln!("{CLI_MD}: review the prose around what changed, too");
        }
    }
    Ok(())
}

/// `jimsctl ARGS…` through cargo (so the right target folder is used), its standard output.
fn jimsctl(args: &[&str]) -> Result<String> {
    let out = Command::new("cargo")
        .args(["run", "--quiet", "--package", "cli", "--bin", "jimsctl", "--"])
        .args(args)
        .current_dir(crate::root())
        .env("COLUMNS", COLUMNS)
        .env("NO_COLOR", "1")
        .env_remove("CLICOLOR_FORCE")
        .output()
        .context("could not run cargo")?;
    if !out.status.success() {
        bail!(
            "`jimsctl {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8(out.stdout).context("jimsctl's help is not UTF-8")
}

/// The short help of `command` (words separated by spaces; empty for `jimsctl` itself).
fn help(command: &str) -> Result<String> {
    let mut args: Vec<&str> = command.split_whitespace().collect();
    args.push("-h");
    let text = jimsctl(&args)?;
    Ok(text.lines().map(str::trim_end).collect::<Vec<_>>().join("\n").trim().to_owned())
}

/// Every command, depth first, as `jimsctl … -h` lists them under `Commands:`; `""` is the
/// binary itself. `help` is left out, and so are groups (`server`, `key`): their help only
/// lists their subcommands, which have blocks of their own.
fn command_tree() -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut todo = vec![String::new()];
    while let Some(c) = todo.pop() {
        let subcommands = subcommands(&help(&c)?);
        if c.is_empty() || subcommands.is_empty() {
            out.push(c.clone());
        }
        for s in subcommands.into_iter().rev() {
            todo.push(if c.is_empty() { s } else { format!("{c} {s}") });
        }
    }
    Ok(out)
}

/// The names listed under `Commands:` in a help text.
fn subcommands(help: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut inside = false;
    for line in help.lines() {
        if line == "Commands:" {
            inside = true;
        } else if inside {
            if !line.starts_with("  ") {
                break;
            }
            // A continuation line of a long description is indented further.
            if line.starts_with("   ") {
                continue;
            }
            if let Some(name) = line.split_whitespace().next()
                && name != "help"
            {
                names.push(name.to_owned());
            }
        }
    }
    names
}

/// `text` with every help block filled from `helps`, and what is wrong besides (a block for a
/// command that does not exist). Commands without a block get a section before
/// [`END_OF_COMMANDS`].
fn render(text: &str, helps: &[(String, String)]) -> Result<(String, Vec<String>)> {
    const OPEN: &str = "<!-- help: ";
    const CLOSE: &str = "<!-- /help -->";
    let mut out = String::with_capacity(text.len());
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    let mut rest = text;
    while let Some(start) = rest.find(OPEN) {
        let after_open = &rest[start + OPEN.len()..];
        let name_end = after_open.find(" -->").context("a help marker is not closed with -->")?;
        let name = after_open[..name_end].trim();
        let body = &after_open[name_end + " -->".len()..];
        let end = body.find(CLOSE).with_context(|| format!("help: {name} has no {CLOSE}"))?;
        out.push_str(&rest[..start]);
        out.push_str(OPEN);
        out.push_str(name);
        out.push_str(" -->\n");
        let key = if name == "jimsctl" { "" } else { name };
        match helps.iter().find(|(c, _)| c == key) {
            Some((_, h)) => {
                let fresh = fence(h);
                if body[..end].trim_start_matches('\n') != fresh {
                    problems.push(format!("the help of `{}` changed", command_line(key)));
                }
                out.push_str(&fresh);
            }
            None => {
                problems.push(format!(
                    "a help block names `{}`, which does not exist",
                    command_line(key)
                ));
                out.push_str(body[..end].trim_start_matches('\n'));
            }
        }
        out.push_str(CLOSE);
        seen.insert(key.to_owned());
        rest = &body[end + CLOSE.len()..];
    }
    out.push_str(rest);
    let missing: Vec<&(String, String)> =
        helps.iter().filter(|(c, _)| !seen.contains(c.as_str())).collect();
    if !missing.is_empty() {
        let at = out.find(END_OF_COMMANDS).with_context(|| {
            format!("{CLI_MD} has no `{END_OF_COMMANDS}` marker for new commands")
        })?;
        let mut added = String::new();
        for (c, h) in missing {
            problems.push(format!("`jimsctl {c}` had no help block (a section was added for it)"));
            let about = h.lines().next().unwrap_or_default();
            added.push_str(&format!(
                "### `jimsctl {c}`\n\n{about}.\n\n{OPEN}{c} -->\n{}{CLOSE}\n\n",
                fence(h)
            ));
        }
        out.insert_str(at, &added);
    }
    Ok((out, problems))
}

/// `jimsctl COMMAND`, or `jimsctl` for the binary itself.
fn command_line(command: &str) -> String {
    if command.is_empty() { "jimsctl".to_owned() } else { format!("jimsctl {command}") }
}

fn fence(help: &str) -> String {
    format!("```text\n{help}\n```\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subcommands_are_read_from_the_commands_list() {
        let help = "About\n\nUsage: x <COMMAND>\n\nCommands:\n  server  Manage\n  \
                    settings  Show or change the settings: the default folder and the\n            \
                    last folder\n  help  Print this\n\nOptions:\n  -h, --help  Print help\n";
        assert_eq!(subcommands(help), ["server", "settings"]);
    }

    #[test]
    fn blocks_are_filled_and_a_missing_command_gets_a_section() {
        let text = "# cli\n<!-- help: jimsctl -->\nold\n<!-- /help -->\nmid\n\
                    <!-- help: gone -->\nx\n<!-- /help -->\n<!-- end of commands -->\nend\n";
        let helps = vec![
            (String::new(), "Usage: jimsctl".to_owned()),
            ("new".to_owned(), "Do new things\n\nUsage: jimsctl new".to_owned()),
        ];
        let (out, problems) = render(text, &helps).unwrap();
        assert!(out.starts_with("# cli\n<!-- help: jimsctl -->\n```text\nUsage: jimsctl\n```\n"));
        assert!(out.contains("<!-- help: gone -->\nx\n<!-- /help -->"), "{out}");
        assert!(out.contains("### `jimsctl new`\n\nDo new things.\n\n<!-- help: new -->\n"));
        assert!(out.ends_with("<!-- end of commands -->\nend\n"), "{out}");
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert_eq!(problems[0], "the help of `jimsctl` changed");
        // Filling what is already filled changes nothing.
        let helps = &helps[..1];
        let once = render("<!-- help: jimsctl -->\n<!-- /help -->\n", helps).unwrap().0;
        assert_eq!(render(&once, helps).unwrap().0, once);
    }
}
