//! Crash consistency: for every filesystem step N of a commit, a child process aborts at step N
//! (`JIMSCTL_FAULT_STEP`, the `fault-injection` feature); the folder must then open as exactly
//! the old or exactly the new configuration, and the next commit must succeed. Run with and
//! without `RENAME_EXCHANGE`.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};

use model::SectionId;
use store::{ErrorKind, Target};

use crate::{all_files, config, meta, native_bytes, run_child};

const CHILD: &str = "STORE_IT_CRASH";

/// Helper run in a child process: performs `$STORE_IT_CRASH` = `scenario:dir`.
#[test]
fn child() {
    let Some(spec) = std::env::var_os(CHILD) else { return };
    let spec = spec.into_string().unwrap();
    let (scenario, dir) = spec.split_once(':').unwrap();
    let dir = Path::new(dir);
    match scenario {
        "commit" | "create" => {
            let t = Target::open(dir).unwrap();
            t.commit(&config_b(), meta(&[SectionId::EventSources, SectionId::Session])).unwrap();
        }
        "rollback" => {
            Target::open(dir).unwrap().rollback(None).unwrap();
        }
        "adopt" => {
            store::adopt(dir, None).unwrap();
        }
        "init" => {
            store::init(dir, None).unwrap();
        }
        "output-file" => {
            store::output::write_file_atomic(&dir.join("out.xml"), NEW_OUTPUT, 0o600).unwrap();
        }
        "output-folder" => {
            let files = [("cwd/config/a.xml", NEW_OUTPUT), ("cwd/system/b.xml", NEW_OUTPUT)]
                .map(|(p, b)| (PathBuf::from(p), b));
            store::output::write_folder_atomic(&dir.join("out"), &files, 0o600, 0o700).unwrap();
        }
        other => panic!("unknown scenario {other}"),
    }
}

fn config_a() -> model::Configuration {
    config(2, "30")
}
fn config_b() -> model::Configuration {
    config(3, "45")
}
fn config_c() -> model::Configuration {
    config(1, "5")
}

type Files = BTreeMap<&'static str, Vec<u8>>;

/// A temporary folder on tmpfs when there is one: the child processes abort, they do not lose
/// power, so what fsync costs on a disk (some 15 ms a call here, hundreds of runs) buys these
/// tests nothing. The other tests run on the ordinary temporary folder.
fn crash_tempdir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(t) = tempfile::tempdir_in(shm)
    {
        return t;
    }
    tempfile::tempdir().unwrap()
}

/// Runs the child for N = 1, 2, … until it completes; after each abort calls `check(dir)`, and
/// after the completing run `check` too. Returns the number of steps of the operation.
fn every_step(
    scenario: &str,
    no_exchange: bool,
    setup: impl Fn(&Path),
    check: impl Fn(&Path, bool),
) -> u64 {
    for n in 1..5000u64 {
        let t = crash_tempdir();
        let dir = t.path().join("srv");
        setup(&dir);
        let mut spec = OsString::from(format!("{scenario}:"));
        spec.push(&dir);
        let mut envs = vec![(CHILD, spec), ("JIMSCTL_FAULT_STEP", n.to_string().into())];
        if no_exchange {
            envs.push(("JIMSCTL_FAULT_NO_EXCHANGE", "1".into()));
        }
        let out = run_child("crash::child", &envs);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            assert!(n > 10, "{scenario}: no step aborted; is fault injection compiled in?");
            check(&dir, true);
            return n - 1;
        }
        assert_eq!(
            out.status.signal(),
            Some(libc::SIGABRT),
            "{scenario} step {n}: the child failed instead of aborting: {stderr}"
        );
        assert!(stderr.contains(&format!("aborting at step {n} ")), "{stderr}");
        check(&dir, false);
    }
    panic!("{scenario}: the operation never completed");
}

/// The native files `setup` followed by `op` produce, computed in this process.
fn expected(setup: impl Fn(&Path), op: impl Fn(&Path)) -> (Files, Files) {
    let t = crash_tempdir();
    let dir = t.path().join("srv");
    setup(&dir);
    let old = native_bytes(&dir);
    op(&dir);
    (old, native_bytes(&dir))
}

fn no_leftovers(dir: &Path) {
    let state = dir.join(".jims-import");
    for p in ["staging", "journal.json", "journal.json.tmp", "discard"] {
        assert!(!state.join(p).exists(), "{p} left behind in {}", state.display());
    }
}

/// After a crash: opens, tells old from new, checks the history, commits C.
fn check_commit(dir: &Path, old: &Files, new: &Files, old_version: u64, completed: bool) {
    let t = Target::open(dir).unwrap();
    no_leftovers(dir);
    let now = native_bytes(dir);
    let version = if now == *new {
        old_version + 1
    } else {
        assert!(!completed, "the completed operation left the old configuration");
        assert_eq!(now, *old, "a mix of old and new files");
        old_version
    };
    assert_eq!(t.version(), version);
    let h = t.history().unwrap();
    assert_eq!(h.len() as u64, version + 1);
    assert!(h.last().unwrap().current);
    if version == old_version + 1 {
        check_kept(dir, old_version, old);
    }
    let audit = std::fs::read_to_string(dir.join(".jims-import/audit.log")).unwrap();
    assert_eq!(audit.lines().count() as u64, version + 1, "{audit}");
    let report = t.commit(&config_c(), meta(&[SectionId::EventSources])).unwrap();
    assert_eq!(report.version, version + 1);
    let t = Target::open_read(dir).unwrap();
    assert_eq!(t.configuration(), &config_c());
    no_leftovers(dir);
}

/// History keeps version `n` exactly as `files`, with its record, and shares no file with the
/// live `cwd/`.
fn check_kept(dir: &Path, n: u64, files: &Files) {
    let kept = crate::archive(dir, n);
    let record: serde_json::Value = serde_json::from_slice(&kept["meta.json"]).unwrap();
    assert_eq!(record["version"], n);
    let natives: Files = kept
        .iter()
        .filter_map(|(k, v)| {
            let rel = k.strip_prefix("cwd/")?;
            let rel = SectionId::ALL.iter().flat_map(|s| s.native_files()).find(|p| **p == rel);
            Some((*rel.expect("only native files are kept"), v.clone()))
        })
        .collect();
    assert_eq!(natives.len() + 1, kept.len(), "{:?}", kept.keys());
    assert_eq!(&natives, files, "version {n} is not kept as it was replaced");
    let folder = dir.join(format!(".jims-import/history/{n}/cwd"));
    for (path, _) in all_files(&folder) {
        use std::os::unix::fs::MetadataExt;
        assert_eq!(std::fs::metadata(&path).unwrap().nlink(), 1, "{}", path.display());
    }
}

fn setup_commit(dir: &Path) {
    store::init(dir, None).unwrap();
    Target::open(dir).unwrap().commit(&config_a(), meta(&[SectionId::EventSources])).unwrap();
}

#[test]
fn a_commit_interrupted_at_any_step_leaves_old_or_new() {
    let (old, new) = expected(setup_commit, |d| {
        let t = Target::open(d).unwrap();
        t.commit(&config_b(), meta(&[SectionId::EventSources, SectionId::Session])).unwrap();
    });
    assert_ne!(old, new);
    for no_exchange in [false, true] {
        let steps = every_step("commit", no_exchange, setup_commit, |dir, done| {
            check_commit(dir, &old, &new, 1, done)
        });
        eprintln!("commit (no_exchange={no_exchange}): {steps} steps");
    }
}

/// A commit into a folder of layout 2 (earlier versions as archives): the replaced version is
/// its first kept as a folder, and `server.toml` says layout 3 once it is there. Interrupted at
/// any step, the folder is the old one (layout 2, untouched) or the new one, and every earlier
/// version, archive or folder, rolls back exactly.
#[test]
fn a_commit_into_a_layout_2_folder_interrupted_at_any_step_leaves_old_or_new() {
    let setup = |dir: &Path| crate::layout2(dir);
    let (old, new) = expected(setup, |d| {
        let t = Target::open(d).unwrap();
        t.commit(&config_b(), meta(&[SectionId::EventSources, SectionId::Session])).unwrap();
    });
    assert_ne!(old, new);
    let toml = |dir: &Path| std::fs::read_to_string(dir.join(".jims-import/server.toml")).unwrap();
    for no_exchange in [false, true] {
        every_step("commit", no_exchange, setup, |dir, done| {
            let t = Target::open(dir).unwrap();
            no_leftovers(dir);
            let now = native_bytes(dir);
            if now == new {
                assert_eq!(t.version(), 4);
                check_kept(dir, 3, &old);
                assert!(toml(dir).contains("layout_version = 3"), "{}", toml(dir));
            } else {
                assert!(!done, "the completed commit left the old configuration");
                assert_eq!(now, old, "a mix of old and new files");
                assert_eq!(t.version(), 3);
                assert!(toml(dir).contains("layout_version = 2"), "{}", toml(dir));
            }
            drop(t);
            // Every earlier version rolls back to exactly what it kept.
            for n in [1, 2] {
                let kept = crate::archive(dir, n);
                Target::open(dir).unwrap().rollback(Some(n)).unwrap();
                let restored: BTreeMap<String, Vec<u8>> =
                    native_bytes(dir).into_iter().map(|(r, b)| (format!("cwd/{r}"), b)).collect();
                let kept: BTreeMap<String, Vec<u8>> =
                    kept.into_iter().filter(|(k, _)| k.starts_with("cwd/")).collect();
                assert_eq!(restored, kept, "version {n} is not restored exactly");
            }
        });
    }
}

/// A `cwd/` that holds more than native files: a file, a folder of logs, a link. The commit
/// carries them into the new `cwd/` (hard links, the link recreated) and takes them out of the
/// replaced one that history keeps, at steps of their own.
fn setup_extras(dir: &Path) {
    setup_commit(dir);
    let cwd = dir.join("cwd");
    std::fs::write(cwd.join("notes.txt"), "keep me").unwrap();
    std::fs::create_dir_all(cwd.join("logs/old")).unwrap();
    std::fs::write(cwd.join("logs/old/a.log"), "log").unwrap();
    std::fs::write(cwd.join("config/custom.xml"), "<custom/>").unwrap();
    std::os::unix::fs::symlink("../notes.txt", cwd.join("config/notes-link")).unwrap();
}

#[test]
fn a_commit_with_other_files_in_cwd_interrupted_at_any_step_leaves_old_or_new() {
    let (old, new) = expected(setup_extras, |d| {
        let t = Target::open(d).unwrap();
        t.commit(&config_b(), meta(&[SectionId::EventSources, SectionId::Session])).unwrap();
    });
    let others = |dir: &Path| {
        let cwd = dir.join("cwd");
        (
            std::fs::read_to_string(cwd.join("notes.txt")).unwrap(),
            std::fs::read_to_string(cwd.join("logs/old/a.log")).unwrap(),
            std::fs::read_to_string(cwd.join("config/custom.xml")).unwrap(),
            std::fs::read_link(cwd.join("config/notes-link")).unwrap(),
        )
    };
    let steps = every_step("commit", false, setup_extras, |dir, done| {
        assert_eq!(
            others(dir),
            ("keep me".into(), "log".into(), "<custom/>".into(), "../notes.txt".into())
        );
        check_commit(dir, &old, &new, 1, done)
    });
    eprintln!("commit with other files: {steps} steps");
}

fn setup_rollback(dir: &Path) {
    setup_commit(dir);
    Target::open(dir).unwrap().commit(&config_b(), meta(&[SectionId::EventSources])).unwrap();
}

#[test]
fn a_rollback_interrupted_at_any_step_leaves_old_or_new() {
    let (old, new) = expected(setup_rollback, |d| {
        Target::open(d).unwrap().rollback(None).unwrap();
    });
    assert_ne!(old, new);
    for no_exchange in [false, true] {
        every_step("rollback", no_exchange, setup_rollback, |dir, done| {
            check_commit(dir, &old, &new, 2, done)
        });
    }
}

fn siblings(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir.parent().unwrap()).unwrap().map(|e| e.unwrap().path()).collect()
}

#[test]
fn creating_a_folder_interrupted_at_any_step_leaves_nothing_or_all() {
    let (_, new) = expected(
        |_| {},
        |d| {
            Target::open(d).unwrap().commit(&config_b(), meta(&[SectionId::EventSources])).unwrap();
        },
    );
    every_step(
        "create",
        false,
        |_| {},
        |dir, done| {
            let t = Target::open(dir).unwrap();
            if t.is_new() {
                assert!(!done);
                assert!(!dir.exists());
            } else {
                assert_eq!(native_bytes(dir), new);
                assert_eq!(t.version(), 1);
                assert_eq!(t.history().unwrap().len(), 1, "an import's new folder starts at 1");
            }
            // The next import succeeds and clears what a dead process left beside the folder.
            let version = t.version();
            t.commit(&config_c(), meta(&[SectionId::EventSources])).unwrap();
            assert_eq!(Target::open(dir).unwrap().version(), version + 1);
            assert_eq!(siblings(dir), [dir.to_path_buf()]);
        },
    );
}

#[test]
fn init_in_place_interrupted_at_any_step_leaves_an_empty_folder_or_a_managed_one() {
    let setup = |dir: &Path| std::fs::create_dir(dir).unwrap();
    every_step("init", false, setup, |dir, done| {
        let t = Target::open(dir).unwrap();
        if t.is_new() {
            assert!(!done);
            assert_eq!(std::fs::read_dir(dir).unwrap().count(), 0, "the folder is empty again");
            drop(t);
            store::init(dir, None).unwrap();
        } else {
            assert_eq!(t.version(), 0);
            assert_eq!(t.configuration(), &model::Configuration::empty_full());
            drop(t);
        }
        no_leftovers(dir);
        let t = Target::open(dir).unwrap();
        t.commit(&config_c(), meta(&[SectionId::EventSources])).unwrap();
    });
}

#[test]
fn adopt_interrupted_at_any_step_leaves_the_original_or_the_adopted_folder() {
    let setup = |dir: &Path| crate::adopt::jims_folder(dir);
    let original = {
        let t = crash_tempdir();
        let dir = t.path().join("srv");
        setup(&dir);
        let mut files: Vec<_> = all_files(&dir)
            .into_iter()
            .map(|(p, b)| (p.strip_prefix(&dir).unwrap().to_owned(), b))
            .collect();
        files.sort();
        files
    };
    for no_exchange in [false, true] {
        every_step("adopt", no_exchange, setup, |dir, done| match Target::open(dir) {
            Err(e) => {
                assert!(!done);
                assert_eq!(e.kind(), ErrorKind::NotManaged, "{e}");
                let mut files: Vec<_> = all_files(dir)
                    .into_iter()
                    .map(|(p, b)| (p.strip_prefix(dir).unwrap().to_owned(), b))
                    .collect();
                files.sort();
                assert_eq!(files, original, "the folder is exactly as before");
                store::adopt(dir, None).unwrap();
            }
            Ok(t) => {
                assert_eq!(t.version(), 0);
                no_leftovers(dir);
                for (path, bytes) in all_files(dir) {
                    let text = String::from_utf8_lossy(&bytes);
                    assert!(!text.contains("hunter2"), "plaintext left in {}", path.display());
                }
                t.commit(&config_c(), meta(&[SectionId::EventSources])).unwrap();
            }
        });
    }
}

/// What the output scenarios write.
const NEW_OUTPUT: &[u8] = b"<new plaintext=\"secret\"/>\n";

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// An output (a new file, a file over an old one, a new folder) aborted at every step: the old
/// output (or none) or the whole new one, and no temporary left, but for an abort between the
/// link of the finished file and its rename over the old one, whose temporary the next write of
/// that output removes (its writer is dead: its lock is free).
#[test]
fn an_output_aborted_at_every_step_is_old_or_new() {
    for (scenario, old) in
        [("output-file", None), ("output-file", Some(b"old".as_slice())), ("output-folder", None)]
    {
        let mut completed = false;
        for n in 1..100u64 {
            let t = crash_tempdir();
            let dir = t.path().join("outs");
            std::fs::create_dir(&dir).unwrap();
            if let Some(old) = old {
                std::fs::write(dir.join("out.xml"), old).unwrap();
            }
            let mut spec = OsString::from(format!("{scenario}:"));
            spec.push(&dir);
            let out = run_child(
                "crash::child",
                &[(CHILD, spec), ("JIMSCTL_FAULT_STEP", n.to_string().into())],
            );
            let stderr = String::from_utf8_lossy(&out.stderr);
            let aborted = !out.status.success();
            if aborted {
                assert_eq!(
                    out.status.signal(),
                    Some(libc::SIGABRT),
                    "{scenario} step {n}: {stderr}"
                );
            }
            let outputs: Vec<String> =
                names(&dir).into_iter().filter(|n| !n.starts_with('.')).collect();
            let temporaries: Vec<String> =
                names(&dir).into_iter().filter(|n| n.starts_with('.')).collect();
            if scenario == "output-file" {
                match std::fs::read(dir.join("out.xml")) {
                    Err(_) => assert!(old.is_none() && aborted, "step {n}: the old file is gone"),
                    Ok(b) if Some(b.as_slice()) == old => assert!(aborted, "step {n}"),
                    Ok(b) => assert_eq!(b, NEW_OUTPUT, "{scenario} step {n}: a part"),
                }
            } else if outputs.is_empty() {
                assert!(aborted, "step {n}");
            } else {
                let files = all_files(&dir.join("out"));
                assert_eq!(files.len(), 2, "step {n}: {files:?}");
                assert!(files.iter().all(|(_, b)| b == NEW_OUTPUT), "step {n}");
            }
            assert!(outputs.len() <= 1, "{scenario} step {n}: {outputs:?}");
            if !temporaries.is_empty() {
                // Only the file's one named instant may leave its temporary behind.
                let renaming = stderr.contains("(rename)");
                assert!(
                    scenario == "output-folder" || (old.is_some() && renaming),
                    "{scenario} step {n}: {temporaries:?} left: {stderr}"
                );
                assert_eq!(temporaries.len(), 1, "step {n}: {temporaries:?}");
                assert!(temporaries[0].contains(".jims-tmp-"), "{temporaries:?}");
                // The next write of that output removes it.
                if scenario == "output-file" {
                    store::output::write_file_atomic(&dir.join("out.xml"), b"next", 0o600).unwrap();
                } else {
                    let _ = std::fs::remove_dir_all(dir.join("out"));
                    let files = [(PathBuf::from("x.xml"), b"next")];
                    store::output::write_folder_atomic(&dir.join("out"), &files, 0o600, 0o700)
                        .unwrap();
                }
                assert!(
                    names(&dir).iter().all(|n| !n.starts_with('.')),
                    "step {n}: {:?}",
                    names(&dir)
                );
            }
            if !aborted {
                assert!(n > 4, "{scenario}: no step aborted; is fault injection compiled in?");
                assert!(temporaries.is_empty());
                completed = true;
                break;
            }
        }
        assert!(completed, "{scenario}: the write never completed");
    }
}
