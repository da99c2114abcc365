//! The filesystem's rules, each proven on a real mount: what a power cut keeps and what it
//! forgets. Needs `/dev/fuse` (and root or `fusermount3`); fails saying what is missing.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

use powercut_fs::{PowerCutFs, TestMount};

fn mount() -> TestMount {
    if let Err(missing) = powercut_fs::require() {
        panic!("{missing}");
    }
    TestMount::new(PowerCutFs::new())
}

fn sync_dir(p: &Path) {
    File::open(p).unwrap().sync_all().unwrap();
}

fn write(p: &Path, bytes: &[u8]) -> File {
    let mut f = OpenOptions::new().write(true).create_new(true).mode(0o640).open(p).unwrap();
    f.write_all(bytes).unwrap();
    f
}

fn renameat2(a: &Path, b: &Path, flags: u32) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let a = std::ffi::CString::new(a.as_os_str().as_bytes()).unwrap();
    let b = std::ffi::CString::new(b.as_os_str().as_bytes()).unwrap();
    // SAFETY: valid NUL-terminated paths for the duration of the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            flags,
        )
    };
    if r == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
}

#[test]
fn a_new_file_without_a_folder_sync_is_gone_even_when_its_data_was_synced() {
    let mut m = mount();
    let p = m.path().join("f");
    write(&p, b"data").sync_all().unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"data", "the live view has it");
    m.crash_and_remount();
    assert!(!p.exists(), "its entry was never made durable");
}

#[test]
fn data_written_but_not_synced_comes_back_empty_or_old() {
    let mut m = mount();
    let p = m.path().join("f");
    drop(write(&p, b"first"));
    sync_dir(m.path());
    m.crash_and_remount();
    assert_eq!(fs::read(&p).unwrap(), b"", "the entry is durable, the data never was");
    let mut f = OpenOptions::new().write(true).open(&p).unwrap();
    f.write_all(b"synced").unwrap();
    f.sync_data().unwrap();
    f.write_all(b" and more").unwrap();
    drop(f);
    m.crash_and_remount();
    assert_eq!(fs::read(&p).unwrap(), b"synced", "the old data, as last synced");
}

#[test]
fn a_synced_file_in_a_synced_folder_survives_with_its_mode() {
    let mut m = mount();
    fs::create_dir(m.path().join("d")).unwrap();
    let p = m.path().join("d/f");
    write(&p, b"kept").sync_all().unwrap();
    sync_dir(&m.path().join("d"));
    sync_dir(m.path());
    m.crash_and_remount();
    assert_eq!(fs::read(&p).unwrap(), b"kept");
    assert_eq!(fs::metadata(&p).unwrap().mode() & 0o777, 0o640);
}

#[test]
fn a_folder_made_without_syncing_its_parent_is_gone_with_everything_in_it() {
    let mut m = mount();
    let d = m.path().join("d");
    fs::create_dir(&d).unwrap();
    write(&d.join("f"), b"x").sync_all().unwrap();
    sync_dir(&d);
    m.crash_and_remount();
    assert!(!d.exists());
}

#[test]
fn a_rename_without_a_folder_sync_comes_back_under_its_old_name() {
    let mut m = mount();
    let (a, b) = (m.path().join("a"), m.path().join("b"));
    write(&a, b"content").sync_all().unwrap();
    sync_dir(m.path());
    fs::rename(&a, &b).unwrap();
    m.crash_and_remount();
    assert_eq!(fs::read(&a).unwrap(), b"content");
    assert!(!b.exists());
    // Synced: the new name only.
    fs::rename(&a, &b).unwrap();
    sync_dir(m.path());
    m.crash_and_remount();
    assert!(!a.exists());
    assert_eq!(fs::read(&b).unwrap(), b"content");
}

#[test]
fn a_rename_over_a_file_whose_data_was_not_synced_leaves_an_empty_file() {
    // The classic: write a temporary file, rename it over the real one, forget to fsync the
    // data first.
    let mut m = mount();
    let (tmp, real) = (m.path().join("f.tmp"), m.path().join("f"));
    write(&real, b"old").sync_all().unwrap();
    sync_dir(m.path());
    drop(write(&tmp, b"new"));
    fs::rename(&tmp, &real).unwrap();
    sync_dir(m.path());
    m.crash_and_remount();
    assert_eq!(fs::read(&real).unwrap(), b"", "renamed and durable, but its data never was");
}

#[test]
fn a_rename_between_folders_is_durable_as_a_whole_from_either_folder() {
    let mut m = mount();
    let (x, y) = (m.path().join("x"), m.path().join("y"));
    fs::create_dir(&x).unwrap();
    fs::create_dir(&y).unwrap();
    fs::create_dir(x.join("sub")).unwrap();
    sync_dir(&x);
    sync_dir(m.path());
    fs::rename(x.join("sub"), y.join("sub")).unwrap();
    sync_dir(&y);
    m.crash_and_remount();
    assert!(y.join("sub").is_dir());
    assert!(!x.join("sub").exists(), "a folder never has two parents");
}

#[test]
fn hard_links_share_their_data_and_each_name_needs_its_folder_synced() {
    let mut m = mount();
    let (a, b) = (m.path().join("a"), m.path().join("d/b"));
    fs::create_dir(m.path().join("d")).unwrap();
    write(&a, b"one").sync_all().unwrap();
    sync_dir(m.path());
    fs::hard_link(&a, &b).unwrap();
    assert_eq!(fs::metadata(&a).unwrap().ino(), fs::metadata(&b).unwrap().ino());
    assert_eq!(fs::metadata(&a).unwrap().nlink(), 2);
    m.crash_and_remount();
    assert!(!b.exists(), "the link's folder was not synced");
    fs::hard_link(&a, &b).unwrap();
    sync_dir(&m.path().join("d"));
    // Data synced through one name is the data of both.
    let mut f = OpenOptions::new().write(true).truncate(true).open(&b).unwrap();
    f.write_all(b"two").unwrap();
    f.sync_all().unwrap();
    drop(f);
    m.crash_and_remount();
    assert_eq!(fs::read(&a).unwrap(), b"two");
    assert_eq!(fs::read(&b).unwrap(), b"two");
    assert_eq!(fs::metadata(&a).unwrap().ino(), fs::metadata(&b).unwrap().ino());
    assert_eq!(fs::metadata(&b).unwrap().nlink(), 2);
}

#[test]
fn unlinking_needs_the_folder_synced_too() {
    let mut m = mount();
    let a = m.path().join("a");
    write(&a, b"stays").sync_all().unwrap();
    sync_dir(m.path());
    fs::remove_file(&a).unwrap();
    m.crash_and_remount();
    assert_eq!(fs::read(&a).unwrap(), b"stays");
    fs::remove_file(&a).unwrap();
    sync_dir(m.path());
    m.crash_and_remount();
    assert!(!a.exists());
}

#[test]
fn rename_exchange_swaps_and_is_durable_only_with_its_folder() {
    let mut m = mount();
    let (a, b) = (m.path().join("a"), m.path().join("b"));
    for (dir, text) in [(&a, "A"), (&b, "B")] {
        fs::create_dir(dir).unwrap();
        write(&dir.join("f"), text.as_bytes()).sync_all().unwrap();
        sync_dir(dir);
    }
    sync_dir(m.path());
    renameat2(&a, &b, libc::RENAME_EXCHANGE).unwrap();
    assert_eq!(fs::read(a.join("f")).unwrap(), b"B");
    m.crash_and_remount();
    assert_eq!(fs::read(a.join("f")).unwrap(), b"A", "not synced: as before");
    renameat2(&a, &b, libc::RENAME_EXCHANGE).unwrap();
    sync_dir(m.path());
    m.crash_and_remount();
    assert_eq!(fs::read(a.join("f")).unwrap(), b"B");
    assert_eq!(fs::read(b.join("f")).unwrap(), b"A");
}

#[test]
fn rename_noreplace_refuses_an_existing_target() {
    let m = mount();
    let (a, b) = (m.path().join("a"), m.path().join("b"));
    drop(write(&a, b"a"));
    drop(write(&b, b"b"));
    let e = renameat2(&a, &b, libc::RENAME_NOREPLACE).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EEXIST));
    fs::remove_file(&b).unwrap();
    renameat2(&a, &b, libc::RENAME_NOREPLACE).unwrap();
    assert_eq!(fs::read(&b).unwrap(), b"a");
}

#[test]
fn syncfs_makes_nothing_durable_on_fuse() {
    use std::os::fd::AsRawFd;
    let mut m = mount();
    let p = m.path().join("f");
    drop(write(&p, b"x"));
    let d = File::open(m.path()).unwrap();
    // SAFETY: an open descriptor.
    assert_eq!(unsafe { libc::syncfs(d.as_raw_fd()) }, 0);
    drop(d);
    m.crash_and_remount();
    assert!(!p.exists(), "the kernel does not forward syncfs to a FUSE server");
}

#[test]
fn flock_works_and_tmpfile_is_refused() {
    let m = mount();
    let l = m.path().join("lock");
    let a =
        OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&l).unwrap();
    let b = OpenOptions::new().read(true).write(true).open(&l).unwrap();
    a.try_lock().unwrap();
    assert!(b.try_lock().is_err());
    drop(a);
    b.try_lock().unwrap();
    let e =
        OpenOptions::new().write(true).custom_flags(libc::O_TMPFILE).open(m.path()).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EOPNOTSUPP));
}

#[test]
fn the_recording_gives_the_durable_state_after_every_change() {
    let m = mount();
    m.fs.start_recording();
    let p = m.path().join("f");
    let f = write(&p, b"abc"); // create, write
    f.sync_all().unwrap(); // fsync: the inode, but no entry yet
    drop(f);
    sync_dir(m.path()); // the entry
    let rec = m.fs.stop_recording();
    let whats: Vec<&str> = rec.calls.iter().map(|c| c.what).collect();
    assert_eq!(whats, ["create", "write", "fsync", "fsync folder"], "{whats:?}");
    for n in 0..=3 {
        assert!(rec.after(n).file("f").is_none(), "after change {n}");
    }
    assert_eq!(rec.after(4).file("f"), Some(&b"abc"[..]));
    let distinct = rec.distinct();
    assert_eq!(distinct.len(), 2, "nothing, then the file");
    assert_eq!(distinct[0].1, [0, 1, 2, 3]);
    // A crash state can be mounted.
    let again = TestMount::new(PowerCutFs::from_snapshot(rec.after(4)));
    assert_eq!(fs::read(again.path().join("f")).unwrap(), b"abc");
    let empty = TestMount::new(PowerCutFs::from_snapshot(rec.after(3)));
    assert!(fs::read_dir(empty.path()).unwrap().next().is_none());
}

#[test]
fn dropping_a_mount_leaves_nothing_mounted() {
    let m = mount();
    let at = m.path().to_path_buf();
    drop(m);
    let mounts = fs::read_to_string("/proc/self/mounts").unwrap();
    assert!(!mounts.contains(at.to_str().unwrap()), "{mounts}");
}

#[test]
fn reading_the_syncfs_attribute_makes_everything_durable() {
    let mut m = mount();
    let d = m.path().join("d");
    fs::create_dir(&d).unwrap();
    drop(write(&d.join("f"), b"all of it"));
    let e = xattr_get(m.path(), powercut_fs::SYNCFS_XATTR);
    assert_eq!(e, libc::ENODATA, "the read fails as for any missing attribute");
    m.crash_and_remount();
    assert_eq!(fs::read(d.join("f")).unwrap(), b"all of it");
}

/// `getxattr`'s error number.
fn xattr_get(p: &Path, name: &str) -> i32 {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap();
    let name = std::ffi::CString::new(name).unwrap();
    let mut buf = [0u8; 8];
    // SAFETY: valid NUL-terminated strings and a buffer of the length given.
    let r = unsafe { libc::getxattr(path.as_ptr(), name.as_ptr(), buf.as_mut_ptr().cast(), 8) };
    assert_eq!(r, -1);
    std::io::Error::last_os_error().raw_os_error().unwrap()
}

#[test]
fn a_file_renamed_between_folders_needs_both_folders_synced() {
    let mut m = mount();
    let (x, y) = (m.path().join("x"), m.path().join("y"));
    fs::create_dir(&x).unwrap();
    fs::create_dir(&y).unwrap();
    write(&x.join("f"), b"f").sync_all().unwrap();
    sync_dir(&x);
    sync_dir(m.path());
    // Only the new folder synced: both names.
    fs::rename(x.join("f"), y.join("f")).unwrap();
    sync_dir(&y);
    m.crash_and_remount();
    assert_eq!(fs::read(x.join("f")).unwrap(), b"f");
    assert_eq!(fs::read(y.join("f")).unwrap(), b"f");
    assert_eq!(fs::metadata(y.join("f")).unwrap().nlink(), 2);
    // Only the old folder synced: neither.
    fs::remove_file(y.join("f")).unwrap();
    sync_dir(&y);
    fs::rename(x.join("f"), y.join("f")).unwrap();
    sync_dir(&x);
    m.crash_and_remount();
    assert!(!x.join("f").exists());
    assert!(!y.join("f").exists());
}

#[test]
fn a_test_that_panics_leaves_nothing_mounted() {
    let at = std::thread::spawn(|| {
        let m = mount();
        let at = m.path().to_path_buf();
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            let _m = m;
            // A process still inside the mount when the test fails.
            let _open = File::open(_m.path()).unwrap();
            panic!("a failing test");
        }));
        at
    })
    .join()
    .unwrap();
    let mounts = fs::read_to_string("/proc/self/mounts").unwrap();
    assert!(!mounts.contains(at.to_str().unwrap()), "{mounts}");
}

#[test]
fn a_mount_still_in_use_is_detached_on_drop() {
    let m = mount();
    let at = m.path().to_path_buf();
    let open = File::open(m.path().join(".")).unwrap();
    drop(m);
    let mounts = fs::read_to_string("/proc/self/mounts").unwrap();
    assert!(!mounts.contains(at.to_str().unwrap()), "{mounts}");
    drop(open);
}

#[test]
fn a_folder_moved_twice_is_never_in_two_places_after_a_crash() {
    // Only the last folder is synced: its entry depends on the first move, which a crash must
    // not leave undone (the folder would have two parents).
    let mut m = mount();
    let [a, b, c] = ["a", "b", "c"].map(|n| m.path().join(n));
    for d in [&a, &b, &c] {
        fs::create_dir(d).unwrap();
    }
    fs::create_dir(a.join("d")).unwrap();
    sync_dir(&a);
    sync_dir(m.path());
    fs::rename(a.join("d"), b.join("d")).unwrap();
    fs::rename(b.join("d"), c.join("d")).unwrap();
    sync_dir(&c);
    m.crash_and_remount();
    assert!(c.join("d").is_dir());
    assert!(!a.join("d").exists() && !b.join("d").exists());
}

#[test]
fn a_crash_state_can_be_written_out_as_a_real_folder() {
    let m = mount();
    fs::create_dir(m.path().join("d")).unwrap();
    write(&m.path().join("d/f"), b"bytes").sync_all().unwrap();
    fs::hard_link(m.path().join("d/f"), m.path().join("g")).unwrap();
    std::os::unix::fs::symlink("d/f", m.path().join("l")).unwrap();
    write(&m.path().join("unsynced"), b"lost");
    m.fs.sync_all();
    fs::remove_file(m.path().join("unsynced")).unwrap();
    let out = tempfile::tempdir().unwrap();
    let at = out.path().join("state");
    m.fs.durable().write_to(&at).unwrap();
    assert_eq!(fs::read(at.join("d/f")).unwrap(), b"bytes");
    assert_eq!(fs::metadata(at.join("d/f")).unwrap().mode() & 0o777, 0o640);
    assert_eq!(
        fs::metadata(at.join("g")).unwrap().ino(),
        fs::metadata(at.join("d/f")).unwrap().ino()
    );
    assert_eq!(fs::read_link(at.join("l")).unwrap(), Path::new("d/f"));
    assert_eq!(fs::read(at.join("unsynced")).unwrap(), b"lost", "durable, though removed since");
}
