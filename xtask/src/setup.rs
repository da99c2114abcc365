//! `cargo xtask test`: every test of the workspace on a fresh machine, in one command.
//!
//! Some tests drive real programs rather than imitations of them: a `pass` store with a
//! throwaway GPG key, pseudo-terminals through util-linux's `script`, and FUSE mounts. This task
//! installs the ones that are missing (with `apt-get`, when it is there and we are root, as on
//! CI and the development machines), or says exactly what to install, and then runs
//! `cargo test --workspace` with the arguments given.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// A program some tests run, the Debian package that provides it, and who needs it.
pub(crate) struct Tool {
    /// The program looked up on `PATH`.
    pub(crate) program: &'static str,
    /// The Debian (and Ubuntu) package that installs it.
    pub(crate) package: &'static str,
    /// Which tests need it.
    pub(crate) needed_by: &'static str,
}

/// What the tests run besides cargo.
pub(crate) const TOOLS: &[Tool] = &[
    Tool { program: "pass", package: "pass", needed_by: "the pass recipe's tests (cli sources)" },
    Tool { program: "gpg", package: "gnupg", needed_by: "the pass recipe's tests (cli sources)" },
    Tool {
        program: "script",
        package: "bsdutils",
        needed_by: "the terminal tests (util-linux's script makes their pseudo-terminal)",
    },
    Tool {
        program: "fusermount3",
        package: "fuse3",
        needed_by: "the power-loss tests (they mount a FUSE filesystem)",
    },
];

/// `cargo xtask test [ARGS…]`: installs what is missing, then `cargo test --workspace ARGS…`.
pub(crate) fn run(args: &[String]) -> Result<()> {
    ensure_tools()?;
    crate::run("cargo", &cargo_test_args(args))
}

/// `test --workspace ARGS…`, or `test ARGS…` when ARGS choose the packages themselves (with
/// `--workspace`, cargo would test every package whatever `-p` says).
fn cargo_test_args(args: &[String]) -> Vec<&str> {
    let chooses = args.iter().take_while(|a| *a != "--").any(|a| {
        ["-p", "--package", "--workspace", "--all", "--manifest-path"].iter().any(|f| {
            a == f || a.starts_with(&format!("{f}=")) || (*f == "-p" && a.starts_with("-p"))
        })
    });
    let mut out = vec!["test"];
    if !chooses {
        out.push("--workspace");
    }
    out.extend(args.iter().map(String::as_str));
    out
}

/// Installs the missing [`TOOLS`] with `apt-get` when it can; otherwise prints exactly what to
/// install. Never fails for a tool it could not install: the tests that need it fail and say so,
/// and the others still run (`cargo xtask test -p model` needs none of them).
fn ensure_tools() -> Result<()> {
    let missing: Vec<&Tool> = TOOLS.iter().filter(|t| !on_path(t.program)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut packages: Vec<&str> = missing.iter().map(|t| t.package).collect();
    packages.dedup();
    let can_install = on_path("apt-get") && is_root();
    if can_install {
        eprintln!("xtask: installing what the tests need: {}", packages.join(" "));
        match apt_install(&packages) {
            Ok(()) => {
                let still: Vec<&str> =
                    missing.iter().filter(|t| !on_path(t.program)).map(|t| t.program).collect();
                if still.is_empty() {
                    return Ok(());
                }
                eprintln!("xtask: still missing after apt-get: {}", still.join(", "));
            }
            Err(e) => eprintln!("xtask: apt-get failed: {e:#}"),
        }
    }
    eprintln!("xtask: some tests need programs this machine lacks:");
    for t in &missing {
        eprintln!("  {:<12} (package {}): {}", t.program, t.package, t.needed_by);
    }
    let sudo = if is_root() { "" } else { "sudo " };
    eprintln!(
        "xtask: install them with `{sudo}apt-get install -y {}` (or your system's equivalent), \
         then run `cargo xtask test` again; running the tests now, those that need them will \
         fail and say so",
        packages.join(" ")
    );
    Ok(())
}

fn apt_install(packages: &[&str]) -> Result<()> {
    apt(&["update", "-qq"])?;
    let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
    args.extend_from_slice(packages);
    apt(&args)
}

fn apt(args: &[&str]) -> Result<()> {
    eprintln!("$ apt-get {}", args.join(" "));
    let status = Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .context("could not run apt-get")?;
    if !status.success() {
        bail!("`apt-get {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

/// Whether `program` is an executable file in a folder of `PATH`.
fn on_path(program: &str) -> bool {
    let Some(path) = std::env::var_os("PATH") else { return false };
    std::env::split_paths(&path).any(|dir| is_executable(&dir.join(program)))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Whether this process runs as root (`id -u` prints 0), without a libc dependency.
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.status.success() && o.stdout.trim_ascii() == b"0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tool_names_a_program_and_a_package() {
        for t in TOOLS {
            assert!(!t.program.is_empty() && !t.package.is_empty() && !t.needed_by.is_empty());
        }
    }

    #[test]
    fn the_whole_workspace_unless_the_arguments_choose_packages() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(cargo_test_args(&[]), ["test", "--workspace"]);
        assert_eq!(
            cargo_test_args(&args(&["--", "--nocapture"])),
            ["test", "--workspace", "--", "--nocapture"]
        );
        assert_eq!(cargo_test_args(&args(&["-p", "store"])), ["test", "-p", "store"]);
        assert_eq!(cargo_test_args(&args(&["-pstore"])), ["test", "-pstore"]);
        assert_eq!(cargo_test_args(&args(&["--package=cli"])), ["test", "--package=cli"]);
        // After `--`, `-p` is the test binary's, not cargo's.
        assert_eq!(cargo_test_args(&args(&["--", "-p"])), ["test", "--workspace", "--", "-p"]);
    }

    #[test]
    fn a_program_is_found_on_path_and_a_made_up_one_is_not() {
        assert!(on_path("sh"), "sh is on every PATH this runs on");
        assert!(!on_path("jimsctl-no-such-program-anywhere"));
    }
}
