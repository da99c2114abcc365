//! A closed or failing standard output or standard error (issue 12.4): `jimsctl … | head -1`
//! under `set -o pipefail` must see the command's own exit code, never 0 for a failure and
//! never 101 (a panic); a closed pipe is quiet, a full disk is said.

use std::fs::File;
use std::path::Path;
use std::process::Stdio;

use crate::support::{cmd, fixture, fixtures, tmp};

/// Where standard output and standard error go.
#[derive(Clone, Copy, Debug)]
enum Sink {
    /// A pipe whose reader is gone before jimsctl writes a byte (as `| head` is once it has its
    /// lines; a pipe closed after the spawn would race with output small enough for the pipe).
    Closed,
    /// A pipe this test reads.
    Read,
    /// `/dev/full`: every write fails with "no space left on device".
    Full,
}

fn stdio(sink: Sink) -> Stdio {
    match sink {
        Sink::Closed => {
            let (reader, writer) = std::io::pipe().unwrap();
            drop(reader);
            writer.into()
        }
        Sink::Read => Stdio::piped(),
        Sink::Full => File::options().write(true).open("/dev/full").unwrap().into(),
    }
}

/// Runs `jimsctl ARGS` in the fixtures folder with the given sinks: (exit code, stdout read,
/// stderr read).
fn run_to(args: &[&str], out: Sink, err: Sink) -> (i32, String, String) {
    let child = cmd()
        .current_dir(fixtures())
        .args(args)
        .stdout(stdio(out))
        .stderr(stdio(err))
        .spawn()
        .unwrap();
    let o = child.wait_with_output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (o.status.code().unwrap_or(-1), text(&o.stdout), text(&o.stderr))
}

/// A batch with one good and one broken export: exit 6.
fn failing_batch(dir: &Path) -> Vec<String> {
    let exports = dir.join("exports");
    std::fs::create_dir(&exports).unwrap();
    std::fs::copy(fixture("exports/partial.xml"), exports.join("good.xml")).unwrap();
    std::fs::copy(fixture("bad/truncated.xml"), exports.join("bad.xml")).unwrap();
    ["batch", "--exports", exports.to_str().unwrap(), "--targets"]
        .iter()
        .map(|s| (*s).to_owned())
        .chain([dir.join("targets").display().to_string(), "--dry-run".to_owned()])
        .collect()
}

#[test]
fn a_closed_stdout_keeps_every_exit_code() {
    let dir = tmp();
    let target = dir.path().join("t");
    let target = target.to_str().unwrap();
    let batch = failing_batch(dir.path());
    let batch: Vec<&str> = batch.iter().map(String::as_str).collect();
    let mut batch_json = batch.clone();
    batch_json.extend(["--format", "json"]);
    let cases: Vec<(&str, Vec<&str>, i32)> = vec![
        ("passwords missing", vec!["passwords", "exports/full.xml", "--target", target], 3),
        (
            "passwords missing, JSON",
            vec!["passwords", "exports/full.xml", "--target", target, "--format", "json"],
            3,
        ),
        ("a failed batch", batch.clone(), 6),
        ("a failed batch, JSON", batch_json, 6),
        (
            "bad input, JSON",
            vec!["import", "bad/truncated.xml", "--target", target, "--format", "json"],
            2,
        ),
        ("bad input", vec!["import", "bad/truncated.xml", "--target", target], 2),
        ("import missing passwords", vec!["import", "exports/full.xml", "--target", target], 3),
        (
            "a dry run that succeeds",
            vec!["import", "exports/full.xml", "--target", target, "--dry-run", "--secrets", "env"],
            3,
        ),
        ("plugins list", vec!["plugins", "list"], 0),
    ];
    for (what, args, code) in &cases {
        // The same command with its output read, for the reference exit code.
        let (reference, _, _) = run_to(args, Sink::Read, Sink::Read);
        assert_eq!(reference, *code, "{what}: the reference run");
        let (got, _, stderr) = run_to(args, Sink::Closed, Sink::Read);
        assert_eq!(got, *code, "{what} into a closed pipe: {stderr}");
        assert!(!stderr.contains("panicked"), "{what}: {stderr}");
        assert!(!stderr.to_lowercase().contains("broken pipe"), "{what}: quietly: {stderr}");
        // Standard error closed too: still the code, never a panic's 101.
        let (got, _, _) = run_to(args, Sink::Closed, Sink::Closed);
        assert_eq!(got, *code, "{what} with stdout and stderr closed");
        // Only standard error closed.
        let (got, _, _) = run_to(args, Sink::Read, Sink::Closed);
        assert_eq!(got, *code, "{what} with stderr closed");
    }
}

#[test]
fn an_output_that_cannot_be_written_is_a_failure_said_once() {
    let dir = tmp();
    let target = dir.path().join("t");
    let target = target.to_str().unwrap();
    // A success whose output is lost to a full disk is a failure (1), said on stderr.
    let (code, _, stderr) = run_to(&["plugins", "list"], Sink::Full, Sink::Read);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stderr.matches("cannot write to standard output").count(), 1, "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    // A failure keeps its own code.
    let (code, _, stderr) =
        run_to(&["passwords", "exports/full.xml", "--target", target], Sink::Full, Sink::Read);
    assert_eq!(code, 3, "{stderr}");
    // Both on a full disk: the code, no panic.
    let (code, _, _) =
        run_to(&["import", "bad/truncated.xml", "--target", target], Sink::Full, Sink::Full);
    assert_eq!(code, 2);
}
