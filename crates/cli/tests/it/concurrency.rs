//! Concurrent imports (issue 7): two to eight `jimsctl import`s started together on one folder,
//! each of a different export. Each must end 0 (imported) or 5 (busy); the folder must then
//! hold one of the imported configurations whole, and its history and audit log must record
//! exactly the imports that succeeded, each once.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::support::{cmd, fixture, run_in, tree};

/// Writes `n` variants of the full fixture, each marked in two sections (event sources and
/// user directories) with `v<i>-`.
fn variants(dir: &Path, n: usize) -> Vec<PathBuf> {
    let text = std::fs::read_to_string(fixture("exports/full.xml")).unwrap();
    (0..n)
        .map(|i| {
            let marked = text
                .replace("Domain controller ", &format!("v{i}-controller "))
                .replace("Forest ", &format!("v{i}-forest "));
            let p = dir.join(format!("variant-{i}.xml"));
            std::fs::write(&p, marked).unwrap();
            p
        })
        .collect()
}

/// Starts one import per export at once; returns each one's exit code.
fn import_all(dir: &Path, exports: &[PathBuf], target: &Path) -> Vec<i32> {
    let secrets = format!("file:{}", fixture("exports/full.secrets.toml").display());
    let children: Vec<_> = exports
        .iter()
        .map(|e| {
            cmd()
                .current_dir(dir)
                .args(["import", e.to_str().unwrap(), "--target", target.to_str().unwrap()])
                .args(["--secrets", &secrets])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            let code = out.status.code().unwrap_or(-1);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(code == 0 || code == 5, "an import ended {code}: {stderr}");
            crate::hostile::assert_no_password("a concurrent import", &stderr);
            if code == 5 {
                assert!(stderr.contains("busy") || stderr.contains("another"), "{stderr}");
            }
            code
        })
        .collect()
}

/// Which variants' markers the live configuration holds, and whether both marked files do.
fn markers(target: &Path, n: usize) -> BTreeSet<usize> {
    markers_in(&tree(&target.join("cwd")), n)
}

/// [`markers`] of a set of native files (a live folder's, or an archived version's).
fn markers_in(files: &[(String, Vec<u8>)], n: usize) -> BTreeSet<usize> {
    let text = |name: &str| {
        let (_, b) = files.iter().find(|(p, _)| p.ends_with(name)).unwrap();
        String::from_utf8_lossy(b).into_owned()
    };
    let events = text("config/event_log_reader.xml");
    let users = text("config/user_directory.xml");
    let mut found = BTreeSet::new();
    for i in 0..n {
        let in_events = events.contains(&format!("v{i}-controller "));
        let in_users = users.contains(&format!("v{i}-forest "));
        assert_eq!(in_events, in_users, "variant {i} is only partly in the folder");
        if in_events {
            found.insert(i);
        }
    }
    found
}

/// What the target is before the race.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Start {
    /// Holds the fixture (version 1).
    Imported,
    /// Does not exist.
    Missing,
    /// An empty folder.
    Empty,
}

fn race(n: usize, start: Start) {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("t");
    if start == Start::Empty {
        std::fs::create_dir(&target).unwrap();
    }
    let before = if start == Start::Imported {
        let secrets = format!("file:{}", fixture("exports/full.secrets.toml").display());
        let full = fixture("exports/full.xml");
        let args = ["import", full.to_str().unwrap(), "--target", target.to_str().unwrap()];
        let r = run_in(dir.path(), &[&args[..], &["--secrets", &secrets]].concat());
        assert_eq!(r.code, 0, "{}", r.stderr);
        1
    } else {
        0
    };
    let exports = variants(dir.path(), n);
    let codes = import_all(dir.path(), &exports, &target);
    let won: BTreeSet<usize> = (0..n).filter(|i| codes[*i] == 0).collect();
    assert!(!won.is_empty(), "{n} imports, none succeeded: {codes:?}");
    eprintln!("{n} imports ({start:?}): exit codes {codes:?}");

    let r =
        run_in(dir.path(), &["history", "--target", target.to_str().unwrap(), "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let h = r.json();
    let versions = h["versions"].as_array().unwrap();
    // A folder made by an import starts at version 1: the versions before are `before`.
    let recorded: Vec<usize> = versions[before..]
        .iter()
        .map(|v| {
            let e = v["export"].as_str().unwrap();
            exports.iter().position(|x| x.to_str().unwrap() == e).unwrap()
        })
        .collect();
    let recorded_set: BTreeSet<usize> = recorded.iter().copied().collect();
    assert_eq!(recorded.len(), recorded_set.len(), "an import is recorded twice: {recorded:?}");
    assert_eq!(recorded_set, won, "history records {recorded:?}, exits {codes:?}");
    assert_eq!(h["current"].as_u64().unwrap() as usize, before + won.len());

    // The live folder is the last recorded import, whole; each earlier version is archived as
    // the next one found it: the import recorded for it, whole.
    let last = *recorded.last().unwrap();
    assert_eq!(markers(&target, n), BTreeSet::from([last]));
    let current = h["current"].as_u64().unwrap();
    for (i, variant) in recorded.iter().enumerate().rev().skip(1) {
        let version = (before + i + 1) as u64;
        let archived = crate::support::archived_cwd(&target, version);
        assert_eq!(archived.len(), 11, "version {version}: every native file");
        assert_eq!(markers_in(&archived, n), BTreeSet::from([*variant]), "version {version}");
    }
    assert!(target.join(format!(".jims-import/history/{current}.json")).is_file());
    crate::hostile::assert_no_password_in(&target);
    let audit = std::fs::read_to_string(target.join(".jims-import/audit.log")).unwrap();
    assert_eq!(audit.lines().count(), before + won.len(), "{audit}");
    // Nothing was left beside the folder by the imports that lost a race to create it.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "left beside the target: {left:?}");
}

#[test]
fn two_to_eight_imports_into_a_managed_folder() {
    for n in [2, 4, 8] {
        race(n, Start::Imported);
    }
}

#[test]
fn two_to_eight_imports_creating_the_same_folder() {
    for n in [2, 3, 4, 6, 8] {
        race(n, Start::Missing);
    }
}

#[test]
fn two_to_eight_imports_into_the_same_empty_folder() {
    for n in [2, 3, 4, 6, 8] {
        race(n, Start::Empty);
    }
}
