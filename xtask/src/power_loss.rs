//! `cargo xtask power-loss [--full]`: the power-loss tests (issue 18) and the tests of their
//! filesystem, `crates/powercut-fs`, with each operation's crash points printed.
//!
//! Every store operation (`power_loss.rs`) and every change of the state files beside the
//! configuration (`power_loss_state.rs`: push, remote, the keys) is checked at every distinct
//! crash state by `cargo test`; a batch,
//! whose states are many, only at a sample there. `--full` checks the batches at every one of
//! theirs too (`JIMSCTL_POWER_LOSS_FULL=1`). Needs `/dev/fuse` and root or `fusermount3`
//! (Debian package fuse3).

use std::process::Command;

use anyhow::{Context, Result, bail};

/// Runs the sweep.
pub(crate) fn run(args: &[String]) -> Result<()> {
    let mut full = false;
    for a in args {
        match a.as_str() {
            "--full" => full = true,
            other => bail!("unknown option '{other}'; power-loss takes --full"),
        }
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let steps: [&[&str]; 2] = [
        &["test", "-p", "powercut-fs"],
        &["test", "-p", "cli", "--test", "it", "power_loss", "--", "--nocapture"],
    ];
    for step in steps {
        eprintln!(
            "$ cargo {}{}",
            step.join(" "),
            if full { " (JIMSCTL_POWER_LOSS_FULL=1)" } else { "" }
        );
        let mut c = Command::new(&cargo);
        c.args(step).current_dir(crate::root());
        if full {
            c.env("JIMSCTL_POWER_LOSS_FULL", "1");
        }
        let status = c.status().context("could not run cargo")?;
        if !status.success() {
            bail!("cargo {} failed", step.join(" "));
        }
    }
    Ok(())
}
