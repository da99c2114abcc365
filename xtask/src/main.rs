//! `cargo xtask`: the project's own scripts, in Rust (the cargo-xtask convention).
//!
//! - `cargo xtask ci`: exactly what CI runs (fmt, clippy, no duplicate crate in the binary, the
//!   docs' help blocks, then `test`).
//! - `cargo xtask test [ARGS…]`: installs what the tests drive (pass, gnupg, script, fuse3) when
//!   missing, then `cargo test --workspace ARGS…` (see `setup.rs`).
//! - `cargo xtask duplicates`: fails when `cargo tree -d -p cli -e normal` prints anything (two
//!   versions of one crate in the jimsctl binary).
//! - `cargo xtask docs [--check]`: the help blocks of `docs/cli.md`, from `jimsctl -h` (see
//!   `docs.rs`).
//! - `cargo xtask gen-fixtures (--rewrite-committed | --out DIR) [--count N --scale K --seed S]`:
//!   the committed fixtures (rewritten in place only with `--rewrite-committed`), or N
//!   synthetic exports in both formats with their secrets files.
//! - `cargo xtask fuzz [--minutes N] [--target NAME]`: every fuzz target under libFuzzer.
//! - `cargo xtask bench [--count N …]`: the batch against the format floor (see `bench.rs`).
//! - `cargo xtask man [--out DIR]`: jimsctl's man pages, from its clap definitions.
//! - `cargo xtask suite [--save NAME | --compare NAME]`: every criterion bench, saved as a
//!   baseline or compared against one (see `suite.rs`).
//! - `cargo xtask power-loss [--full]`: the power-loss tests, every crash state of the batches
//!   too with `--full` (see `power_loss.rs`).

mod bench;
mod docs;
mod fixtures;
mod fuzz;
mod layout_floor;
mod power_loss;
mod rules;
mod setup;
mod suite;
mod synth;
mod tidy;

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The allocator `jimsctl` ships with, so that `cargo xtask bench` measures both of its stages
/// (the format floor and the batch) as the binary would run them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((cmd, rest)) = args.split_first() else {
        print_help();
        return Ok(());
    };
    match cmd.as_str() {
        "ci" => ci(),
        "test" => setup::run(rest),
        "docs" => docs::run(rest),
        "duplicates" => duplicates(),
        "gen-fixtures" => gen_fixtures(rest),
        "bench" => bench::bench(rest),
        "bench-run" => bench::run(rest),
        "bench-stage" => bench::stage(rest),
        "fuzz" => fuzz::run(rest),
        "suite" => suite::run(rest),
        "man" => man(rest),
        "power-loss" => power_loss::run(rest),
        "help" | "--help" | "-h" => {
            print_help();
            Ok(())
        }
        other => bail!("unknown task '{other}'; run `cargo xtask help`"),
    }
}

/// `cargo xtask man [--out DIR]`: jimsctl's man pages, generated from its clap definitions by
/// the binary itself (`jimsctl man`), into `target/man/` by default.
fn man(args: &[String]) -> Result<()> {
    let out = match args {
        [] => root().join("target/man"),
        [flag, dir] if flag == "--out" => PathBuf::from(dir),
        _ => bail!("usage: cargo xtask man [--out DIR]"),
    };
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(root())
        .args(["run", "--quiet", "--package", "cli", "--bin", "jimsctl", "--", "man", "--out"])
        .arg(&out)
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("jimsctl man failed ({status})");
    }
    Ok(())
}

fn print_help() {
    println!(
        "cargo xtask <task>\n\n\
         tasks:\n  \
         ci                       run what CI runs: fmt check, clippy -D warnings, no duplicate\n                           \
         crate in the binary (cargo tree -d), docs --check, then test\n  \
         test [ARGS…]             install what the tests drive when missing (pass, gnupg,\n                           \
         script, fuse3; apt-get, as root), then cargo test --workspace ARGS…\n  \
         duplicates               fail when the jimsctl binary links two versions of a crate\n  \
         docs [--check]           rewrite (or check) the help blocks of docs/cli.md from jimsctl -h\n  \
         gen-fixtures --rewrite-committed\n                           \
         rewrite the committed fixtures under fixtures/ (--out DIR: a copy elsewhere)\n  \
         gen-fixtures --out DIR --count N [--scale K] [--seed S]\n                           \
         write N synthetic exports (XML and JSON) with secrets files\n  \
         fuzz [--minutes N] [--target NAME]\n                           \
         seed fuzz/corpus/ from fixtures/ and run each fuzz target N minutes\n  \
         bench [--count 1000] [--large 10000] [--baseline 50] [--jobs N] [--rounds 2] [--syscalls 50] [--keep --dir DIR]\n                           \
         (release) the durable batch against the format floor: exports/s, MB/s,\n                           \
         ratio, speed-up 1 -> N threads, peak memory, and the goals of issue 6\n  \
         man [--out DIR]          jimsctl's man pages (target/man/ by default), from its clap definitions\n  \
         suite [--save NAME | --compare NAME] [--filter TEXT] [--quick]\n                           \
         every criterion bench (each stage, one import, a batch), saved as a baseline\n                           \
         or compared against one\n  \
         power-loss [--full]      the power-loss tests on the power-cut filesystem (FUSE),\n                           \
         each operation's crash points printed; --full: every crash state of the batches"
    );
}

/// The workspace root (xtask's parent folder).
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the root").into()
}

fn run(program: &str, args: &[&str]) -> Result<()> {
    eprintln!("$ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .current_dir(root())
        .status()
        .with_context(|| format!("could not run {program}"))?;
    if !status.success() {
        bail!("`{program} {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

fn ci() -> Result<()> {
    run("cargo", &["fmt", "--all", "--check"])?;
    run("cargo", &["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])?;
    duplicates()?;
    docs::run(&["--check".to_owned()])?;
    setup::run(&[])
}

/// Fails when the jimsctl binary links two versions of one crate (`cargo tree -d -p cli -e
/// normal` prints anything): the root Cargo.toml says which bounds keep them single.
fn duplicates() -> Result<()> {
    let args = ["tree", "--locked", "-d", "-p", "cli", "-e", "normal"];
    eprintln!("$ cargo {}", args.join(" "));
    let out = Command::new("cargo")
        .args(args)
        .current_dir(root())
        .output()
        .context("could not run cargo tree")?;
    if !out.status.success() {
        bail!("`cargo {}` failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
    }
    let tree = String::from_utf8_lossy(&out.stdout);
    if !tree.trim().is_empty() {
        bail!(
            "the jimsctl binary links two versions of a crate (see the bounds and notes on \
             clap, serde, thiserror, getrandom and hpke in the root Cargo.toml):\n{tree}"
        );
    }
    Ok(())
}

fn gen_fixtures(args: &[String]) -> Result<()> {
    let mut out = None;
    let mut count = None;
    let mut scale = 1usize;
    let mut seed = 1u64;
    let mut rewrite = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--out" => out = Some(PathBuf::from(value()?)),
            "--count" => count = Some(value()?.parse().context("--count takes a number")?),
            "--scale" => scale = value()?.parse().context("--scale takes a number")?,
            "--seed" => seed = value()?.parse().context("--seed takes a number")?,
            "--rewrite-committed" => rewrite = true,
            other => bail!("unknown option '{other}'"),
        }
    }
    match count {
        None => {
            // The committed fixtures are what every test reads: rewriting them is asked for by
            // name, never the default of a bare command.
            let out = match out {
                Some(out) => out,
                None if rewrite => root().join("fixtures"),
                None => bail!(
                    "gen-fixtures without --out would rewrite the committed fixtures/ that the \
                     tests read; give --rewrite-committed to do so, --out DIR to write a copy \
                     elsewhere, or --out DIR --count N for synthetic exports"
                ),
            };
            fixtures::write_all(&out)
        }
        Some(n) => {
            let out = out.context("--count needs --out DIR")?;
            synth::write_many(&out, n, scale, seed)
        }
    }
}

#[cfg(test)]
mod gen_fixtures_tests {
    use super::*;

    #[test]
    fn a_bare_gen_fixtures_refuses_to_rewrite_the_committed_fixtures() {
        let before = std::fs::read(root().join("fixtures/exports/full.xml")).unwrap();
        let e = gen_fixtures(&[]).unwrap_err().to_string();
        assert!(e.contains("--rewrite-committed"), "{e}");
        assert_eq!(std::fs::read(root().join("fixtures/exports/full.xml")).unwrap(), before);
    }
}
