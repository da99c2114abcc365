//! Crash consistency through the real binary (issue 7): an import (or a rollback) is stopped
//! before its N-th filesystem step (`JIMSCTL_FAULT_PAUSE=N`, the store's fault hook, compiled
//! into the binary only for these tests) and killed there with `SIGKILL` by this process, for
//! every N until the operation completes. After each kill, `jimsctl history` must show the old
//! or the new version and the folder must hold exactly that configuration; `rollback` must
//! work; and the next import must succeed (the lock of the killed process is gone with it).
//! While the process is stopped, a second import must find the folder busy (exit 5).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::hostile::{assert_no_password, assert_no_password_in};
use crate::support::{Run, cmd, fixture, run_in};

/// The secrets file of the fixtures, as a `--secrets` spec.
fn secrets() -> String {
    format!("file:{}", fixture("exports/full.secrets.toml").display())
}

/// A temporary folder on tmpfs when there is one: the processes are killed, the machine does
/// not lose power, so what fsync costs on a disk buys these tests nothing.
fn shm_tempdir() -> tempfile::TempDir {
    tempfile::tempdir_in("/dev/shm").or_else(|_| tempfile::tempdir()).unwrap()
}

/// Every file under `dir` (recursively) by relative path, with its bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    crate::support::tree(dir).into_iter().collect()
}

/// The native files of version `n` of `t`, as [`files`] gives those of its live `cwd/`.
fn archived(t: &Path, n: u64) -> BTreeMap<String, Vec<u8>> {
    crate::support::archived_cwd(t, n).into_iter().collect()
}

/// Sealed values hold random nonces: the same import twice seals differently.
fn normalized(files: &BTreeMap<String, Vec<u8>>) -> BTreeMap<String, String> {
    files
        .iter()
        .map(|(p, b)| {
            let text = String::from_utf8_lossy(b);
            let mut out = String::new();
            let mut rest = &*text;
            while let Some(at) = rest.find("{aesgcm} 1,") {
                out.push_str(&rest[..at]);
                out.push_str("[SEALED]");
                rest = &rest[at..];
                rest = &rest[rest.find('"').unwrap_or(rest.len())..];
            }
            out.push_str(rest);
            (p.clone(), out)
        })
        .collect()
}

/// The scenario's folder: a copy of `template` (made with `cp -a`, so hard links stay links).
fn copy(template: &Path, to: &Path) {
    let st = std::process::Command::new("cp").arg("-a").arg(template).arg(to).status().unwrap();
    assert!(st.success(), "cp -a failed");
}

/// `jimsctl history --format json` in `dir`: (current version, number of versions).
fn history(dir: &Path, t: &Path) -> (u64, usize) {
    let r = run_in(dir, &["history", "--target", t.to_str().unwrap(), "--format", "json"]);
    assert_eq!(r.code, 0, "history after a kill: {}{}", r.stdout, r.stderr);
    let v = r.json();
    (v["current"].as_u64().unwrap(), v["versions"].as_array().unwrap().len())
}

/// What a killed run is.
#[derive(Clone, Copy, PartialEq)]
enum Op {
    /// Import the changed export into the folder holding the fixture.
    Import,
    /// Roll the folder back from version 2 to 1.
    Rollback,
}

struct Scenario {
    /// The folder before the operation (copied for every N).
    template: PathBuf,
    /// The version of the template.
    old_version: u64,
    /// The changed export.
    export_b: PathBuf,
    op: Op,
    no_exchange: bool,
}

impl Scenario {
    /// The arguments of the operation on `t`.
    fn op_args(&self, t: &Path) -> Vec<String> {
        match self.op {
            Op::Import => self.import_args(t),
            Op::Rollback => strings(&["rollback", "--target", t.to_str().unwrap()]),
        }
    }

    /// The arguments of an import of the changed export into `t`.
    fn import_args(&self, t: &Path) -> Vec<String> {
        self.import_of(&self.export_b, t)
    }

    /// The arguments of an import of a third configuration into `t`, which differs from both
    /// the template's and the changed export's (an import that changes nothing makes no
    /// version).
    fn next_import_args(&self, t: &Path) -> Vec<String> {
        self.import_of(&self.export_b.with_file_name("c.xml"), t)
    }

    fn import_of(&self, export: &Path, t: &Path) -> Vec<String> {
        strings(&[
            "import",
            export.to_str().unwrap(),
            "--target",
            t.to_str().unwrap(),
            "--secrets",
            &secrets(),
        ])
    }

    /// Runs the operation with a pause at step `n`. `None` when it completed before reaching
    /// it; otherwise it is killed there (after checking that the folder is busy), and what it
    /// printed is returned.
    fn run_paused(&self, t: &Path, n: u64) -> Option<String> {
        let mut c = cmd();
        c.args(self.op_args(t)).env("JIMSCTL_FAULT_PAUSE", n.to_string());
        // The last folder an import used is remembered (through the same durable steps) after
        // the import is done and its lock released; these tests stop the import itself, so
        // the memory goes nowhere: under a regular file, no state folder can be made.
        c.env("XDG_STATE_HOME", no_state_home());
        if self.no_exchange {
            c.env("JIMSCTL_FAULT_NO_EXCHANGE", "1");
        }
        let mut child = c.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut seen = String::new();
        loop {
            let mut line = String::new();
            if stderr.read_line(&mut line).unwrap() == 0 {
                let status = child.wait().unwrap();
                assert!(status.success(), "the operation failed at no fault: {seen}");
                return None;
            }
            seen.push_str(&line);
            if line.contains("fault-injection: paused at step") {
                break;
            }
        }
        // Stopped mid-write, holding the folder: another import must be turned away.
        let busy = run_args(t.parent().unwrap(), &self.import_args(t));
        assert_eq!(busy.code, 5, "a second import during a stopped one: {}", busy.stderr);
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.signal(), Some(SIGKILL), "{seen}");
        Some(seen)
    }
}

const SIGKILL: i32 = 9;

/// A state folder that cannot exist (it lies under a regular file).
fn no_state_home() -> PathBuf {
    static FILE: std::sync::OnceLock<tempfile::NamedTempFile> = std::sync::OnceLock::new();
    FILE.get_or_init(|| tempfile::NamedTempFile::new().unwrap()).path().join("state")
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| (*a).to_owned()).collect()
}

fn run_args(dir: &Path, args: &[String]) -> Run {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_in(dir, &args)
}

/// The fixture imported into `base/t` (version 1), and a changed copy of the export.
fn prepare(base: &Path) -> (PathBuf, PathBuf) {
    let t = base.join("template");
    let r = run_in(
        base,
        &[
            "import",
            fixture("exports/full.xml").to_str().unwrap(),
            "--target",
            t.to_str().unwrap(),
            "--secrets",
            &secrets(),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = std::fs::read_to_string(fixture("exports/full.xml")).unwrap();
    let changed = text.replace("Domain controller", "DC host").replace("Forest ", "Wood ");
    assert_ne!(changed, text);
    let b = base.join("b.xml");
    std::fs::write(&b, &changed).unwrap();
    std::fs::write(base.join("c.xml"), changed.replace("DC host", "DC node")).unwrap();
    (t, b)
}

/// Kills the scenario at every step; returns the number of steps.
fn every_step(s: &Scenario) -> u64 {
    let base = s.template.parent().unwrap();
    // The outcome of the uninterrupted operation, for telling "new" from "old".
    let done = base.join("done");
    copy(&s.template, &done);
    let r = run_args(base, &s.op_args(&done));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let old = files(&s.template.join("cwd"));
    let new = normalized(&files(&done.join("cwd")));
    assert_ne!(normalized(&old), new, "the operation must change the folder");
    for n in 1..1000u64 {
        let t = base.join(format!("n{n}"));
        copy(&s.template, &t);
        let paused = s.run_paused(&t, n);
        assert_no_password(&format!("step {n}'s output"), paused.as_deref().unwrap_or(""));
        assert_no_password_in(&t);
        let (current, versions) = history(base, &t);
        // The template was made by an import: its versions are 1..=current.
        assert_eq!(versions as u64, current, "step {n}");
        let now = files(&t.join("cwd"));
        let history_dir = t.join(".jims-import/history");
        assert!(history_dir.join(format!("{current}.json")).is_file(), "step {n}: its record");
        if current == s.old_version {
            assert!(paused.is_some(), "the completed operation left the old version");
            assert_eq!(now, old, "step {n}: version {current} but not its configuration");
            assert!(!history_dir.join(current.to_string()).exists(), "step {n}: kept already");
        } else {
            assert_eq!(current, s.old_version + 1, "step {n}");
            assert_eq!(normalized(&now), new, "step {n}: a mix of old and new");
            // The replaced version is archived exactly as it was live.
            assert_eq!(archived(&t, s.old_version), old, "step {n}: the replaced version");
            assert!(!history_dir.join(format!("{}.json", s.old_version)).exists(), "step {n}");
        }
        for leftover in ["staging", "journal.json", "journal.json.tmp"] {
            assert!(!t.join(".jims-import").join(leftover).exists(), "step {n}: {leftover}");
        }
        let audit = std::fs::read_to_string(t.join(".jims-import/audit.log")).unwrap();
        assert_eq!(audit.lines().count() as u64, current, "step {n}: {audit}");
        // Rollback works (or says there is nothing before version 1), and so does the next
        // import.
        let r = run_in(base, &["rollback", "--target", t.to_str().unwrap()]);
        let mut latest = current;
        if current > 1 {
            assert_eq!(r.code, 0, "step {n}: rollback: {}", r.stderr);
            assert_eq!(files(&t.join("cwd")), archived(&t, current - 1), "step {n}: rollback");
            latest += 1;
        } else {
            assert_eq!(r.code, 2, "step {n}: rollback at version 1: {}", r.stderr);
            assert!(r.stderr.contains("no earlier version"), "step {n}: {}", r.stderr);
        }
        let r = run_args(base, &s.next_import_args(&t));
        assert_eq!(r.code, 0, "step {n}: the next import: {}", r.stderr);
        assert_no_password(
            &format!("step {n}: the next import"),
            &format!("{}{}", r.stdout, r.stderr),
        );
        assert_eq!(history(base, &t), (latest + 1, latest as usize + 1), "step {n}");
        std::fs::remove_dir_all(&t).unwrap();
        if paused.is_none() {
            assert!(n > 20, "only {n} steps: is the store's fault hook compiled in?");
            return n - 1;
        }
    }
    panic!("the operation never completed");
}

fn import_scenario(no_exchange: bool) {
    let dir = shm_tempdir();
    let (template, export_b) = prepare(dir.path());
    let s = Scenario { template, old_version: 1, export_b, op: Op::Import, no_exchange };
    let steps = every_step(&s);
    eprintln!("import killed at each of {steps} steps (no_exchange={no_exchange})");
}

#[test]
fn an_import_killed_at_every_step_leaves_old_or_new_and_everything_works_after() {
    import_scenario(false);
}

#[test]
fn the_same_without_rename_exchange() {
    import_scenario(true);
}

#[test]
fn a_rollback_killed_at_every_step_leaves_old_or_new() {
    let dir = shm_tempdir();
    let (template, export_b) = prepare(dir.path());
    let r = run_in(
        dir.path(),
        &[
            "import",
            export_b.to_str().unwrap(),
            "--target",
            template.to_str().unwrap(),
            "--secrets",
            &secrets(),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = Scenario { template, old_version: 2, export_b, op: Op::Rollback, no_exchange: false };
    let steps = every_step(&s);
    eprintln!("rollback killed at each of {steps} steps");
}

/// `export --passwords plain` with `exported_at` blanked (the only byte that differs between two
/// exports of one version).
fn normalized_export(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let Some(at) = text.find("exported_at=\"") else { return text.into_owned() };
    let rest = &text[at + 13..];
    let end = rest.find('"').unwrap();
    format!("{}exported_at=\"\"{}", &text[..at], &rest[end + 1..])
}

/// The names in `dir` but `keep`.
fn others(dir: &Path, keep: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != keep)
        .collect();
    names.sort();
    names
}

/// `export --passwords plain` killed before each of its filesystem steps (issue 12.3), writing a
/// new file and replacing an old one: the output is then the old file (or none) or the complete
/// new one, never a part, and no plaintext is left under another name, but for a kill between
/// the link of the finished file and its rename over the old one: that temporary (mode 0600,
/// and free of any writer's lock) is removed by the next export to the same path.
#[test]
fn an_export_killed_at_every_step_leaves_the_old_or_the_new_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = shm_tempdir();
    let (t, _) = prepare(dir.path());
    let t = t.to_str().unwrap();
    for replace in [false, true] {
        let outs = dir.path().join(format!("outs-{replace}"));
        std::fs::create_dir(&outs).unwrap();
        let out = outs.join("plain.xml");
        let args = |out: &Path| {
            strings(&[
                "export",
                "--target",
                t,
                "--out",
                out.to_str().unwrap(),
                "--passwords",
                "plain",
                "--force",
            ])
        };
        let reference = dir.path().join(format!("reference-{replace}.xml"));
        let r = run_args(dir.path(), &args(&reference));
        assert_eq!(r.code, 0, "{}", r.stderr);
        let new = normalized_export(&std::fs::read(&reference).unwrap());
        let mut steps = None;
        for n in 1..200u64 {
            if replace {
                std::fs::write(&out, "old").unwrap();
            } else if out.exists() {
                std::fs::remove_file(&out).unwrap();
            }
            let mut c = cmd();
            c.args(args(&out)).env("JIMSCTL_FAULT_PAUSE", n.to_string());
            let mut child = c.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
            let mut stderr = BufReader::new(child.stderr.take().unwrap());
            let mut paused_at = None;
            loop {
                let mut line = String::new();
                if stderr.read_line(&mut line).unwrap() == 0 {
                    break;
                }
                assert_no_password(&format!("step {n}"), &line);
                if line.contains("fault-injection: paused at step") {
                    paused_at = Some(line);
                    break;
                }
            }
            let Some(paused_at) = paused_at else {
                assert!(child.wait().unwrap().success(), "step {n}: the export failed");
                assert_eq!(normalized_export(&std::fs::read(&out).unwrap()), new);
                assert!(others(&outs, "plain.xml").is_empty(), "{:?}", others(&outs, "plain.xml"));
                steps = Some(n - 1);
                break;
            };
            child.kill().unwrap();
            assert_eq!(child.wait().unwrap().signal(), Some(SIGKILL));
            match std::fs::read(&out) {
                Err(_) => assert!(!replace, "step {n}: the old file is gone ({paused_at})"),
                Ok(b) if b == b"old" => assert!(replace, "step {n}"),
                Ok(b) => {
                    assert_eq!(normalized_export(&b), new, "step {n}: a part ({paused_at})");
                    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
                    assert_eq!(mode, 0o600, "step {n}");
                }
            }
            let left = others(&outs, "plain.xml");
            if !left.is_empty() {
                assert!(
                    replace && paused_at.contains("(rename)"),
                    "step {n}: {left:?} left ({paused_at})"
                );
                assert_eq!(left.len(), 1, "step {n}: {left:?}");
                assert!(left[0].starts_with(".plain.xml.jims-tmp-"), "{left:?}");
                let tmp = outs.join(&left[0]);
                let mode = std::fs::metadata(&tmp).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "step {n}: the temporary's mode");
                assert_eq!(normalized_export(&std::fs::read(&tmp).unwrap()), new);
                // The next export to that path removes what the dead one left.
                let r = run_args(dir.path(), &args(&out));
                assert_eq!(r.code, 0, "{}", r.stderr);
                assert!(others(&outs, "plain.xml").is_empty(), "step {n}: still {left:?}");
            }
        }
        let steps = steps.expect("the export never completed");
        assert!(steps >= 4, "only {steps} steps: is the store's fault hook compiled in?");
        eprintln!("export (replace={replace}) killed at each of {steps} steps");
    }
}
