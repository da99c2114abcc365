//! The lock: a second import on a folder is busy, in this process and from another one; a
//! process that dies releases it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use store::{ErrorKind, Target};

use crate::scratch;

const CHILD_DIR: &str = "STORE_IT_LOCK_DIR";

#[test]
fn a_second_open_is_busy_until_the_first_is_dropped() {
    let (_t, dir) = scratch("srv");
    store::init(&dir, None).unwrap();
    let first = Target::open(&dir).unwrap();
    let err = Target::open(&dir).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Busy);
    assert!(err.to_string().contains(&dir.display().to_string()), "{err}");
    assert_eq!(Target::open_read(&dir).unwrap_err().kind(), ErrorKind::Busy);
    assert_eq!(store::init(&dir, None).unwrap_err().kind(), ErrorKind::AlreadyManaged);
    drop(first);

    let r1 = Target::open_read(&dir).unwrap();
    let r2 = Target::open_read(&dir).unwrap();
    assert_eq!(Target::open(&dir).unwrap_err().kind(), ErrorKind::Busy);
    drop((r1, r2));
    assert!(Target::open(&dir).is_ok());
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
    assert_eq!(Target::open_read(&dir).unwrap_err().kind(), ErrorKind::Busy);
    child.kill().unwrap();
    child.wait().unwrap();
    let t = Target::open(&dir).unwrap();
    assert_eq!(t.version(), 0);
}
