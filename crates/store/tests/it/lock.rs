//! The lock: a second writer on a folder is busy, in this process and from another one; a
//! process that dies releases it; removing files cannot take it from its holder. Readers never
//! wait for a writer nor fail because of one: they read the last committed version, also in
//! the middle of a commit. An import opened without the lock commits only if the folder is
//! still at the version it read.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use model::SectionId;
use store::{ErrorKind, Target};

use crate::{config, meta, native_bytes, scratch};

const CHILD_DIR: &str = "STORE_IT_LOCK_DIR";
const CHILD_COMMIT: &str = "STORE_IT_LOCK_COMMIT";

#[test]
fn a_second_writer_is_busy_and_readers_never_are() {
    let (_t, dir) = scratch("srv");
    store::init(&dir, None).unwrap();
    let first = Target::open(&dir).unwrap();
    let err = Target::open(&dir).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Busy);
    assert!(err.to_string().contains(&dir.display().to_string()), "{err}");
    assert_eq!(Target::open_unlocked(&dir, &[]).unwrap_err().kind(), ErrorKind::Busy);
    assert_eq!(store::init(&dir, None).unwrap_err().kind(), ErrorKind::AlreadyManaged);
    // Readers: no lock, no wait.
    assert_eq!(Target::open_read(&dir).unwrap().version(), 0);
    assert_eq!(Target::open_state(&dir).unwrap().history().unwrap().len(), 1);
    assert_eq!(Target::open_view(&dir, &[]).unwrap().version(), 0);
    drop(first);

    let r1 = Target::open_read(&dir).unwrap();
    let r2 = Target::open_read(&dir).unwrap();
    let w = Target::open(&dir).unwrap();
    assert_eq!((r1.version(), r2.version(), w.version()), (0, 0, 0));
    drop((r1, r2, w));
}

#[test]
fn removing_files_cannot_take_the_lock_from_its_holder() {
    let (_t, dir) = scratch("srv");
    store::init(&dir, None).unwrap();
    let state = dir.join(".jims-import");
    // What an older jimsctl locked, and what a person may remove as "stale".
    std::fs::write(state.join("lock"), "").unwrap();
    let first = Target::open(&dir).unwrap();
    std::fs::remove_file(state.join("lock")).unwrap();
    assert_eq!(Target::open(&dir).unwrap_err().kind(), ErrorKind::Busy);
    // The state folder itself cannot be removed while it holds anything.
    assert!(std::fs::remove_dir(&state).is_err());
    assert_eq!(Target::open(&dir).unwrap_err().kind(), ErrorKind::Busy);
    first.commit(&config(2, "7"), meta(&[SectionId::EventSources])).unwrap();
    assert_eq!(Target::open(&dir).unwrap().version(), 1);
}

/// Helper run in a child process: holds the lock of `$STORE_IT_LOCK_DIR` until killed.
#[test]
fn child_holds_lock() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else { return };
    let _held = Target::open(std::path::Path::new(&dir)).unwrap();
    println!("locked");
    std::thread::sleep(std::time::Duration::from_secs(60));
}

#[test]
fn another_process_holding_the_lock_makes_the_folder_busy_until_it_dies() {
    let (_t, dir) = scratch("srv");
    store::init(&dir, None).unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["lock::child_holds_lock", "--exact", "--nocapture", "--test-threads=1", "-q"])
        .env(CHILD_DIR, &dir)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("locked") {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "the child ended before locking");
    }
    assert_eq!(Target::open(&dir).unwrap_err().kind(), ErrorKind::Busy);
    assert_eq!(Target::open_read(&dir).unwrap().version(), 0, "readers do not wait");
    child.kill().unwrap();
    child.wait().unwrap();
    let t = Target::open(&dir).unwrap();
    assert_eq!(t.version(), 0);
}

#[test]
fn an_import_opened_without_the_lock_commits_only_at_the_version_it_read() {
    let (_t, dir) = scratch("srv");
    store::init(&dir, None).unwrap();
    let sections = [SectionId::EventSources, SectionId::Session];

    // Alone: it commits.
    let t = Target::open_unlocked(&dir, &[]).unwrap();
    assert!(!t.is_new());
    assert_eq!(t.commit(&config(1, "5"), meta(&sections)).unwrap().version, 1);

    // Another commit meanwhile: busy, nothing written.
    let slow = Target::open_unlocked(&dir, &[]).unwrap();
    let other = Target::open_unlocked(&dir, &[]).unwrap();
    assert_eq!(other.commit(&config(2, "6"), meta(&sections)).unwrap().version, 2);
    let before = native_bytes(&dir);
    let e = slow.commit(&config(3, "7"), meta(&sections)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Busy);
    assert!(e.to_string().contains("version 2 is current now, not version 1"), "{e}");
    assert!(e.to_string().contains("nothing was written"), "{e}");
    assert_eq!(native_bytes(&dir), before);
    assert_eq!(Target::open_read(&dir).unwrap().version(), 2);

    // A writer holding the folder when it commits: busy.
    let slow = Target::open_unlocked(&dir, &[]).unwrap();
    let held = Target::open(&dir).unwrap();
    assert_eq!(slow.commit(&config(3, "7"), meta(&sections)).unwrap_err().kind(), ErrorKind::Busy);
    drop(held);

    // A live file changed by hand meanwhile: busy too, and the edit stays.
    let slow = Target::open_unlocked(&dir, &[]).unwrap();
    let cache = dir.join("cwd/config/cache.xml");
    let edited = std::fs::read_to_string(&cache).unwrap().replace("\"6\"", "\"60\"");
    std::fs::write(&cache, &edited).unwrap();
    let e = slow.commit(&config(3, "7"), meta(&sections)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Busy);
    assert!(e.to_string().contains("changed meanwhile"), "{e}");
    assert_eq!(std::fs::read_to_string(&cache).unwrap(), edited);

    // A rollback meanwhile: busy.
    let slow = Target::open_unlocked(&dir, &[]).unwrap();
    Target::open(&dir).unwrap().rollback(Some(1)).unwrap();
    assert_eq!(slow.commit(&config(3, "7"), meta(&sections)).unwrap_err().kind(), ErrorKind::Busy);

    // A live file rewritten in place meanwhile with as many bytes: it is not read again, but its
    // stamp (times) tells: busy.
    let slow = Target::open_unlocked(&dir, &[]).unwrap();
    let mut same_size = std::fs::read(&cache).unwrap();
    let at = same_size.iter().position(|b| *b == b'5').unwrap();
    same_size[at] = b'4';
    {
        use std::io::{Seek, Write};
        let mut f = std::fs::OpenOptions::new().write(true).open(&cache).unwrap();
        f.seek(std::io::SeekFrom::Start(0)).unwrap();
        f.write_all(&same_size).unwrap();
    }
    let e = slow.commit(&config(3, "7"), meta(&sections)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Busy);
    assert!(e.to_string().contains("changed meanwhile"), "{e}");
    assert_eq!(std::fs::read(&cache).unwrap(), same_size);

    // Something else put into cwd/ meanwhile (JIMS's own files): no obstacle.
    let slow = Target::open_unlocked(&dir, &[]).unwrap();
    let version = slow.version();
    std::fs::write(dir.join("cwd/jims.log"), "started").unwrap();
    std::fs::write(dir.join("cwd/config/backup.xml"), "<x/>").unwrap();
    let report = slow.commit(&config(3, "7"), meta(&sections)).unwrap();
    assert_eq!(report.version, version + 1);
    assert_eq!(std::fs::read_to_string(dir.join("cwd/jims.log")).unwrap(), "started");

    // A commit that would change nothing writes nothing and takes no lock: another writer
    // holding the folder meanwhile is no obstacle.
    let slow = Target::open_unlocked(&dir, &[]).unwrap();
    let held = Target::open(&dir).unwrap();
    let report = slow.commit(&config(3, "7"), meta(&sections)).unwrap();
    assert!(report.unchanged);
    assert_eq!(report.version, version + 1);
    drop(held);
}

/// A key change on a handle opened without the lock takes it first and changes the keys only if
/// the folder is still as the handle read it, with the same keys: the state files of the
/// folder, whatever changed them meanwhile, stay as that change left them.
#[test]
fn a_key_change_opened_without_the_lock_writes_only_if_nothing_changed_meanwhile() {
    let (_t, dir) = scratch("srv");
    store::init(&dir, None).unwrap();
    let state = dir.join(".jims-import");
    let key_files = || -> Vec<Option<Vec<u8>>> {
        ["server.key", "server.toml", "transport.key", "keyring"]
            .map(|f| std::fs::read(state.join(f)).ok())
            .into()
    };
    let busy = |e: store::Error, why: &str| {
        assert_eq!(e.kind(), ErrorKind::Busy, "{e}");
        assert!(e.to_string().contains(why), "{e}");
        assert!(e.to_string().contains("nothing was written"), "{e}");
    };
    let sections = [SectionId::EventSources];

    // A commit meanwhile: each key change is busy, and writes nothing.
    let slow = [(); 4].map(|_| Target::open_unlocked(&dir, &[]).unwrap());
    Target::open(&dir).unwrap().commit(&config(1, "5"), meta(&sections)).unwrap();
    let before = key_files();
    let [a, b, c, mut d] = slow;
    busy(a.rotate_key(false).unwrap_err(), "version 1 is current now, not version 0");
    busy(b.rotate_transport(false).unwrap_err(), "version 1 is current now");
    busy(c.retire_key("0123456789abcdef", true).unwrap_err(), "version 1 is current now");
    // (A folder made before transport keys has none to make.)
    let away = dir.with_file_name("transport.key");
    std::fs::rename(state.join("transport.key"), &away).unwrap();
    let before_transport = key_files();
    busy(d.ensure_transport_key().unwrap_err(), "version 1 is current now");
    assert_eq!(key_files(), before_transport);
    std::fs::rename(&away, state.join("transport.key")).unwrap();
    assert_eq!(key_files(), before);

    // A writer holding the folder: busy.
    let slow = Target::open_unlocked(&dir, &[]).unwrap();
    let held = Target::open(&dir).unwrap();
    assert_eq!(slow.rotate_key(false).unwrap_err().kind(), ErrorKind::Busy);
    drop(held);
    assert_eq!(key_files(), before);

    // The keys changed meanwhile without a version (nothing to re-seal, a transport key): busy,
    // and the ring keeps the key the other rotation retired.
    for transport in [false, true] {
        let slow = Target::open_unlocked(&dir, &[]).unwrap();
        let w = Target::open(&dir).unwrap();
        let other = if transport { w.rotate_transport(false) } else { w.rotate_key(false) };
        let other = other.unwrap();
        assert_eq!(other.version, None, "no version: nothing to re-seal");
        let after_other = key_files();
        let e = if transport { slow.rotate_key(false) } else { slow.rotate_transport(false) };
        busy(e.unwrap_err(), "its keys were changed meanwhile");
        assert_eq!(key_files(), after_other);
        let ring = std::fs::read_to_string(state.join("keyring")).unwrap();
        assert!(ring.contains(other.old_id.as_deref().unwrap()), "{ring}");
    }

    // Nothing changed meanwhile: it writes, as one opened with the lock would.
    let t = Target::open_unlocked(&dir, &[]).unwrap();
    let old = t.key_id().clone();
    let report = t.rotate_key(false).unwrap();
    assert_eq!(report.old_id.as_deref(), Some(old.as_str()));
    assert_eq!(Target::open_read(&dir).unwrap().key_id().as_str(), report.new_id);
    let report = Target::open_unlocked(&dir, &[]).unwrap().retire_key(old.as_str(), false).unwrap();
    assert_eq!(report.id, old.as_str());
    std::fs::remove_file(state.join("transport.key")).unwrap();
    let mut t = Target::open_unlocked(&dir, &[]).unwrap();
    let (made, created) = t.ensure_transport_key().unwrap();
    assert!(created);
    // It holds the lock now, until dropped.
    assert_eq!(Target::open(&dir).unwrap_err().kind(), ErrorKind::Busy);
    drop(t);
    let list = Target::open_read(&dir).unwrap().key_list().unwrap();
    assert!(list.iter().any(|k| k.id == made.id().as_str() && k.state == "current"), "{list:?}");
    // A dry run writes nothing, so it needs no lock.
    let dry = Target::open_unlocked(&dir, &[]).unwrap();
    let _held = Target::open(&dir).unwrap();
    let before = key_files();
    assert!(dry.rotate_key(true).unwrap().dry_run);
    assert_eq!(key_files(), before);
}

#[test]
fn two_unlocked_creations_of_one_folder_leave_one_and_the_other_busy() {
    let (_t, dir) = scratch("new");
    let a = Target::open_unlocked(&dir, &[]).unwrap();
    let b = Target::open_unlocked(&dir, &[]).unwrap();
    assert!(a.is_new() && b.is_new());
    a.commit(&config(1, "5"), meta(&[SectionId::EventSources])).unwrap();
    let e = b.commit(&config(2, "5"), meta(&[SectionId::EventSources])).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Busy);
    let read = Target::open_read(&dir).unwrap();
    let written = config(1, "5");
    assert_eq!(
        read.configuration().get(SectionId::EventSources),
        written.get(SectionId::EventSources)
    );
}

#[test]
fn a_missing_parent_is_refused_at_once() {
    let (_t, dir) = scratch("no/such/parent/srv");
    for e in [store::check_target(&dir).unwrap_err(), Target::open(&dir).unwrap_err()] {
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(e.to_string().contains("its parent folder"), "{e}");
    }
}

/// Helper run in a child process: commits `config(3, "45")` to `$STORE_IT_LOCK_COMMIT`, pausing
/// at the step `JIMSCTL_FAULT_PAUSE` says.
#[test]
fn child_commits() {
    let Some(dir) = std::env::var_os(CHILD_COMMIT) else { return };
    let t = Target::open(std::path::Path::new(&dir)).unwrap();
    t.commit(&config(3, "45"), meta(&[SectionId::EventSources, SectionId::Session])).unwrap();
}

#[test]
fn readers_see_the_last_committed_version_at_every_step_of_a_commit() {
    readers_at_every_step(false);
}

#[test]
fn readers_see_the_last_committed_version_at_every_step_of_a_commit_without_exchange() {
    readers_at_every_step(true);
}

fn readers_at_every_step(no_exchange: bool) {
    let (_t, dir) = scratch("srv");
    let t = Target::open(&dir).unwrap();
    t.commit(&config(2, "30"), meta(&[SectionId::EventSources, SectionId::Session])).unwrap();
    let old = Target::open_read(&dir).unwrap().configuration().clone();
    let template = dir.with_file_name("template");
    assert!(Command::new("cp").arg("-a").arg(&dir).arg(&template).status().unwrap().success());
    let mut seen_old = false;
    let mut seen_new = false;
    for n in 1..200u64 {
        let here = dir.with_file_name(format!("n{n}"));
        assert!(Command::new("cp").arg("-a").arg(&template).arg(&here).status().unwrap().success());
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["lock::child_commits", "--exact", "--nocapture", "--test-threads=1", "-q"])
            .env(CHILD_COMMIT, &here)
            .env("JIMSCTL_FAULT_PAUSE", n.to_string())
            .env_remove("JIMSCTL_FAULT_STEP")
            .env(if no_exchange { "JIMSCTL_FAULT_NO_EXCHANGE" } else { "JIMSCTL_UNUSED" }, "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let mut paused = false;
        let mut line = String::new();
        while err.read_line(&mut line).unwrap() > 0 {
            if line.contains("paused at step") {
                paused = true;
                break;
            }
            line.clear();
        }
        if !paused {
            assert!(child.wait().unwrap().success());
            assert!(seen_old && seen_new, "the readers saw both sides of the commit");
            return;
        }
        // Mid-commit, the writer holding the lock: every reader reads a whole version.
        let started = std::time::Instant::now();
        let r = Target::open_read(&here).unwrap_or_else(|e| panic!("step {n}: {e}"));
        assert!(started.elapsed() < std::time::Duration::from_secs(1), "step {n}: waited");
        let history = Target::open_state(&here).unwrap().history().unwrap();
        assert_eq!(history.last().unwrap().version, r.version(), "step {n}");
        assert!(history.last().unwrap().current);
        match r.version() {
            1 => {
                assert_eq!(r.configuration(), &old, "step {n}");
                seen_old = true;
            }
            2 => {
                assert_eq!(
                    r.configuration().get(SectionId::Session),
                    config(3, "45").get(SectionId::Session),
                    "step {n}"
                );
                seen_new = true;
            }
            v => panic!("step {n}: version {v}"),
        }
        assert_eq!(Target::open(&here).unwrap_err().kind(), ErrorKind::Busy, "step {n}");
        child.kill().unwrap();
        child.wait().unwrap();
    }
    panic!("the commit never ended");
}
