//! Group commits: commits staged in a group change nothing until the group commits; then they
//! are all done, as a commit alone does them, with syncs grouped; a crash at any step leaves
//! every folder old or new.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;

use model::SectionId;
use store::{ErrorKind, Group, Target};

use crate::{config, meta, native_bytes, run_child, scratch};

const CHILD: &str = "STORE_IT_GROUP";

/// The three kinds of folder a group commits into, under `base`: `new` (absent), `empty` (an
/// empty folder) and `existing` (managed, at version 1 with 2 event sources).
fn setup(base: &Path) {
    std::fs::create_dir_all(base.join("empty")).unwrap();
    let existing = base.join("existing");
    store::init(&existing, None).unwrap();
    Target::open(&existing)
        .unwrap()
        .commit(&config(2, "30"), meta(&[SectionId::EventSources]))
        .unwrap();
}

const KINDS: [&str; 3] = ["new", "empty", "existing"];

/// Stages a commit of 3 event sources into each folder of `base` in `group`.
fn stage_all(group: &Group, base: &Path) -> Vec<store::CommitReport> {
    let sections = [SectionId::EventSources, SectionId::Session];
    let (reports, staged): (Vec<_>, Vec<_>) = KINDS
        .iter()
        .map(|k| {
            let t = Target::open(&base.join(k)).unwrap();
            t.commit_in(group, &config(3, "45"), meta(&sections)).unwrap()
        })
        .unzip();
    let staged: Vec<usize> = staged.into_iter().map(|s| s.unwrap().index()).collect();
    assert_eq!(staged, [0, 1, 2]);
    reports
}

#[test]
fn nothing_changes_until_the_group_commits_then_everything_does() {
    let (_t, base) = scratch("base");
    setup(&base);
    let before = native_bytes(&base.join("existing"));
    let group = Group::new();
    let reports = stage_all(&group, &base);
    assert_eq!(group.len(), 3);
    assert_eq!(reports.iter().map(|r| r.version).collect::<Vec<_>>(), [1, 1, 2]);
    assert_eq!(reports.iter().map(|r| r.created).collect::<Vec<_>>(), [true, true, false]);

    // Staged: the folders are as they were, and locked.
    assert!(!base.join("new").exists());
    assert_eq!(std::fs::read_dir(base.join("empty")).unwrap().count(), 1, "a partial state");
    assert_eq!(native_bytes(&base.join("existing")), before);
    let busy = Target::open(&base.join("existing")).unwrap_err();
    assert_eq!(busy.kind(), ErrorKind::Busy);
    assert_eq!(Target::open(&base.join("empty")).unwrap_err().kind(), ErrorKind::Busy);

    let results = group.commit();
    assert_eq!(results.len(), 3);
    for r in &results {
        r.as_ref().unwrap();
    }
    // Done exactly as commits alone do them.
    let (_u, alone) = scratch("alone");
    setup(&alone);
    for k in KINDS {
        let t = Target::open(&alone.join(k)).unwrap();
        t.commit(&config(3, "45"), meta(&[SectionId::EventSources, SectionId::Session])).unwrap();
    }
    for (k, report) in KINDS.iter().zip(&reports) {
        let dir = base.join(k);
        assert_eq!(native_bytes(&dir), native_bytes(&alone.join(k)), "{k}");
        let t = Target::open(&dir).unwrap();
        assert_eq!(t.version(), report.version, "{k}");
        assert_eq!(t.configuration(), &config(3, "45"));
        // `existing` was made by `init` (version 0); the others by the import (from 1).
        let versions = if *k == "existing" { report.version + 1 } else { report.version };
        assert_eq!(t.history().unwrap().len() as u64, versions, "{k}");
        let audit = std::fs::read_to_string(dir.join(".jims-import/audit.log")).unwrap();
        assert_eq!(audit.lines().count() as u64, versions, "{k}: {audit}");
        no_leftovers(&dir);
    }
    assert_eq!(entries(&base), ["empty", "existing", "new"]);
}

#[test]
fn a_group_dropped_without_committing_undoes_everything() {
    let (_t, base) = scratch("base");
    setup(&base);
    let before = native_bytes(&base.join("existing"));
    let group = Group::new();
    stage_all(&group, &base);
    drop(group);
    assert_eq!(entries(&base), ["empty", "existing"]);
    assert_eq!(std::fs::read_dir(base.join("empty")).unwrap().count(), 0);
    assert_eq!(native_bytes(&base.join("existing")), before);
    let t = Target::open(&base.join("existing")).unwrap();
    assert_eq!(t.version(), 1);
    no_leftovers(&base.join("existing"));
    assert!(Target::open(&base.join("empty")).unwrap().is_new());
}

#[test]
fn two_creations_of_one_folder_in_a_group_leave_one_and_the_other_busy() {
    let (_t, dir) = scratch("srv");
    let group = Group::new();
    for n in [1, 4] {
        let t = Target::open(&dir).unwrap();
        let staged = t.commit_in(&group, &config(n, "5"), meta(&[SectionId::EventSources]));
        assert!(staged.unwrap().1.is_some());
    }
    assert_eq!(group.len(), 2);
    let results = group.commit();
    results[0].as_ref().unwrap();
    assert_eq!(results[1].as_ref().unwrap_err().kind(), ErrorKind::Busy);
    assert_eq!(Target::open(&dir).unwrap().configuration(), &config(1, "5"));
    assert_eq!(entries(dir.parent().unwrap()), ["srv"]);
}

#[test]
fn a_group_clears_dead_creators_leftovers_once_per_parent() {
    let (_t, base) = scratch("base");
    std::fs::create_dir(&base).unwrap();
    // Left by processes that died while creating other folders: unlocked, so stale.
    for stale in [".other.jims-new-0011", ".srv-9.jims-new-ab"] {
        std::fs::create_dir(base.join(stale)).unwrap();
    }
    let group = Group::new();
    for n in 0..3 {
        let t = Target::open(&base.join(format!("srv-{n}"))).unwrap();
        t.commit_in(&group, &config(1, "5"), meta(&[SectionId::EventSources])).unwrap();
    }
    assert_eq!(group.len(), 3);
    let names = entries(&base);
    assert_eq!(names.len(), 3, "only the group's own siblings: {names:?}");
    assert!(names.iter().all(|n| n.contains(".jims-new-") && !n.starts_with(".other")));
    for r in group.commit() {
        r.unwrap();
    }
    assert_eq!(entries(&base), ["srv-0", "srv-1", "srv-2"]);
}

#[test]
fn a_commit_is_staged_only_in_the_group_it_is_given() {
    let (_t, dir) = scratch("srv");
    let group = Group::new();
    // A commit alone while a group is at work on this thread: durable on return, not staged.
    let (_, staged) = Target::open(&dir)
        .unwrap()
        .commit_in(&group, &config(1, "5"), meta(&[SectionId::EventSources]))
        .unwrap();
    assert!(staged.is_some());
    let other = dir.with_file_name("alone");
    Target::open(&other)
        .unwrap()
        .commit(&config(1, "5"), meta(&[SectionId::EventSources]))
        .unwrap();
    assert_eq!(Target::open_read(&other).unwrap().version(), 1, "durable on return");
    assert_eq!(group.len(), 1, "the commit alone is not in the group");
    assert!(!dir.exists(), "the staged one waits for its group");
    // One that would change nothing stages nothing.
    for r in group.commit() {
        r.unwrap();
    }
    let group = Group::new();
    let (report, staged) = Target::open(&dir)
        .unwrap()
        .commit_in(&group, &config(1, "5"), meta(&[SectionId::EventSources]))
        .unwrap();
    assert!(report.unchanged && staged.is_none() && group.is_empty());
    assert!(group.commit().is_empty());
    assert_eq!(Target::open(&dir).unwrap().version(), 1);
}

/// Helper run in a child process: `$STORE_IT_GROUP` = `BASE`: stages and commits the group.
#[test]
fn child() {
    let Some(base) = std::env::var_os(CHILD) else { return };
    let base = Path::new(&base);
    let group = Group::new();
    stage_all(&group, base);
    for r in group.commit() {
        r.unwrap();
    }
}

/// Runs the child on a fresh `base`, with `envs`.
fn run_group(base: &Path, envs: &[(&str, OsString)]) -> std::process::Output {
    let mut all = vec![(CHILD, OsString::from(base))];
    all.extend(envs.iter().cloned());
    run_child("group::child", &all)
}

#[test]
fn a_group_syncs_per_phase_not_per_file() {
    let (_t, base) = scratch("base");
    setup(&base);
    let out = run_group(&base, &[("JIMSCTL_FAULT_TRACE", "1".into())]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let trace = String::from_utf8_lossy(&out.stderr);
    let count = |what: &str| trace.lines().filter(|l| l.ends_with(what)).count();
    assert_eq!(count("sync file"), 0, "{trace}");
    assert_eq!(count("sync folder"), 0, "{trace}");
    assert_eq!(count("sync filesystem"), 5, "{trace}");
}

fn no_leftovers(dir: &Path) {
    let state = dir.join(".jims-import");
    for p in ["staging", "journal.json", "journal.json.tmp", "discard"] {
        assert!(!state.join(p).exists(), "{p} left behind in {}", state.display());
    }
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

type Files = BTreeMap<&'static str, Vec<u8>>;

/// After a crash at some step: each folder is as it was or as committed, whole; the next
/// commit into each succeeds and clears what the dead process left.
fn check(base: &Path, old: &Files, new: &Files, completed: bool) {
    for k in KINDS {
        let dir = base.join(k);
        let t = Target::open(&dir).unwrap();
        let version = if t.is_new() {
            assert!(!completed, "{k}: the completed group left it new");
            assert!(k != "existing");
            0
        } else {
            no_leftovers(&dir);
            let now = native_bytes(&dir);
            let (old_version, new_version) = if k == "existing" { (1, 2) } else { (0, 1) };
            let version = if now == *new {
                new_version
            } else {
                assert!(!completed, "{k}: the completed group left the old configuration");
                assert_eq!(k, "existing", "a new folder holds the new configuration or nothing");
                assert_eq!(now, *old, "{k}: a mix of old and new files");
                old_version
            };
            assert_eq!(t.version(), version, "{k}");
            // `existing` was made by `init` (version 0); the others by the import (from 1).
            let versions = if k == "existing" { version + 1 } else { version };
            assert_eq!(t.history().unwrap().len() as u64, versions, "{k}");
            let audit = std::fs::read_to_string(dir.join(".jims-import/audit.log")).unwrap();
            assert_eq!(audit.lines().count() as u64, versions, "{k}: {audit}");
            version
        };
        t.commit(&config(1, "5"), meta(&[SectionId::EventSources])).unwrap();
        let t = Target::open_read(&dir).unwrap();
        assert_eq!(t.version(), version + 1);
        assert_eq!(t.configuration(), &config(1, "5"));
    }
    assert_eq!(entries(base), ["empty", "existing", "new"]);
}

#[test]
fn a_group_interrupted_at_any_step_leaves_each_folder_old_or_new() {
    let (_t, probe) = scratch("probe");
    setup(&probe);
    let old = native_bytes(&probe.join("existing"));
    let group = Group::new();
    stage_all(&group, &probe);
    group.commit();
    let new = native_bytes(&probe.join("existing"));
    assert_eq!(native_bytes(&probe.join("new")), new);

    for no_exchange in [false, true] {
        every_step(no_exchange, &old, &new);
    }
}

fn every_step(no_exchange: bool, old: &Files, new: &Files) {
    for n in 1..5000u64 {
        let t = crash_tempdir();
        let base = t.path().join("base");
        setup(&base);
        let mut envs = vec![("JIMSCTL_FAULT_STEP", n.to_string().into())];
        if no_exchange {
            envs.push(("JIMSCTL_FAULT_NO_EXCHANGE", "1".into()));
        }
        let out = run_group(&base, &envs);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            assert!(n > 20, "no step aborted; is fault injection compiled in?");
            check(&base, old, new, true);
            eprintln!("group (no_exchange={no_exchange}): {} steps", n - 1);
            return;
        }
        assert_eq!(out.status.signal(), Some(libc::SIGABRT), "step {n}: {stderr}");
        assert!(stderr.contains(&format!("aborting at step {n} ")), "{stderr}");
        check(&base, old, new, false);
    }
    panic!("the group never completed");
}

/// tmpfs when there is one: the children abort, they do not lose power (see crash.rs).
fn crash_tempdir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(t) = tempfile::tempdir_in(shm)
    {
        return t;
    }
    tempfile::tempdir().unwrap()
}
