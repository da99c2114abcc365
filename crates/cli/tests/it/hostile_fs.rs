//! Hostile filesystems through the real binary (issue 7): symbolic links where a server folder
//! has folders and files (never followed out of the folder: refused with exit 2, the place they
//! point to untouched); a read-only target (a read-only bind mount: imports fail with exit 1
//! and change nothing, reading still works); a full disk (a small tmpfs, filled to every
//! 4 KiB level a commit passes through: each import fails with exit 1 and leaves the folder as
//! it was, or succeeds); and the permissions of every file jimsctl creates, under `umask 0`.
//!
//! The mounts need `CAP_SYS_ADMIN` (CI runs as root); without it those tests fail and say so.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::hostile::{assert_no_password, assert_no_password_in};
use crate::support::{Run, fixture, run_in, tree};

fn secrets() -> String {
    format!("file:{}", fixture("exports/full.secrets.toml").display())
}

/// Imports `export` into `target` (relative to `dir`), with the fixture's secrets.
fn import(dir: &Path, export: &Path, target: &str) -> Run {
    let e = export.to_str().unwrap();
    run_in(dir, &["import", e, "--target", target, "--secrets", &secrets(), "--accept-warning"])
}

/// A folder with `t/` holding the full fixture (version 1) and `b.xml`, a changed export.
fn bench() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let r = import(dir.path(), &fixture("exports/full.xml"), "t");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = std::fs::read_to_string(fixture("exports/full.xml")).unwrap();
    let b = dir.path().join("b.xml");
    std::fs::write(&b, text.replace("Domain controller", "DC host")).unwrap();
    (dir, b)
}

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    tree(dir).into_iter().collect()
}

/// A copy of the managed folder `t` elsewhere (`cp -a`), as a place a link can point to.
fn copy(from: &Path, to: &Path) {
    assert!(Command::new("cp").arg("-a").arg(from).arg(to).status().unwrap().success());
}

// ---- symbolic links ----

/// Makes `link` inside the target a symbolic link to a copy of what was there (outside the
/// target), then checks that import, history, export and rollback refuse it (exit 2, naming the
/// link) and that neither the target nor the copy changes.
fn refuses_link(rel: &str) {
    let (dir, b) = bench();
    let t = dir.path().join("t");
    let outside = dir.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    let real = t.join(rel);
    let away = outside.join(real.file_name().unwrap());
    std::fs::rename(&real, &away).unwrap();
    symlink(&away, &real).unwrap();
    let before_t = files(&t);
    let before_out = files(&outside);
    let out = dir.path().join("out.xml");
    for args in [
        vec!["import", b.to_str().unwrap(), "--target", "t", "--secrets", &secrets()],
        vec!["history", "--target", "t"],
        vec!["export", "--target", "t", "--out", out.to_str().unwrap()],
        vec!["rollback", "--target", "t"],
    ] {
        let r = run_in(dir.path(), &args);
        assert_eq!(r.code, 2, "{rel}, {}: {}{}", args[0], r.stdout, r.stderr);
        assert!(r.stderr.contains("symbolic link"), "{rel}: {}", r.stderr);
        assert!(r.stderr.contains(real.file_name().unwrap().to_str().unwrap()), "{}", r.stderr);
        assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
        assert_no_password(rel, &format!("{}{}", r.stdout, r.stderr));
    }
    assert_eq!(files(&t), before_t, "{rel}: the target changed");
    assert_eq!(files(&outside), before_out, "{rel}: what the link points to changed");
    assert!(!out.exists());
}

#[test]
fn a_symlinked_cwd_is_never_followed() {
    refuses_link("cwd");
}

#[test]
fn a_symlinked_state_folder_is_never_followed() {
    refuses_link(".jims-import");
}

#[test]
fn a_symlinked_history_entry_is_never_followed() {
    refuses_link(".jims-import/history/1.json");
}

#[test]
fn a_symlinked_native_file_or_config_folder_is_never_followed() {
    refuses_link("cwd/config/event_log_reader.xml");
    refuses_link("cwd/config");
}

#[test]
fn a_symlinked_audit_log_is_never_followed_and_a_lock_link_is_never_opened() {
    refuses_link(".jims-import/audit.log");
    // The lock is the state folder itself: a `lock` an older jimsctl left there, even a link
    // to a file elsewhere, is never opened, created or followed.
    let (dir, b) = bench();
    let t = dir.path().join("t");
    let outside = dir.path().join("outside-lock");
    std::fs::write(&outside, "not a lock").unwrap();
    symlink(&outside, t.join(".jims-import/lock")).unwrap();
    let r = run_in(
        dir.path(),
        &["import", b.to_str().unwrap(), "--target", "t", "--secrets", &secrets()],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "not a lock");
    assert!(
        std::fs::symlink_metadata(t.join(".jims-import/lock")).unwrap().file_type().is_symlink()
    );
}

#[test]
fn a_target_that_is_a_symlink_is_refused_even_dangling() {
    let (dir, b) = bench();
    let t = dir.path().join("t");
    symlink(&t, dir.path().join("link")).unwrap();
    symlink(dir.path().join("nowhere"), dir.path().join("dangling")).unwrap();
    let before = files(&t);
    for target in ["link", "dangling"] {
        let r = import(dir.path(), &b, target);
        assert_eq!(r.code, 2, "{target}: {}{}", r.stdout, r.stderr);
        assert!(r.stderr.contains(&format!("{target} is a symbolic link")), "{}", r.stderr);
    }
    assert_eq!(files(&t), before);
    assert!(!dir.path().join("nowhere").exists(), "a dangling link's target was created");
    let names: Vec<_> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 4, "something was left beside the target: {names:?}");
}

// ---- mounts ----

/// A mount that is undone when dropped.
struct Mount(PathBuf);

impl Mount {
    fn run(args: &[&str]) {
        let out = Command::new("mount").args(args).output().unwrap();
        assert!(
            out.status.success(),
            "`mount {}` failed: {}; these tests need CAP_SYS_ADMIN (run them as root)",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A tmpfs of `size` bytes at `at`.
    fn tmpfs(at: &Path, size: u64) -> Mount {
        std::fs::create_dir_all(at).unwrap();
        Mount::run(&["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs", at.to_str().unwrap()]);
        Mount(at.to_path_buf())
    }

    /// `at` bound onto itself, read-only.
    fn read_only(at: &Path) -> Mount {
        let p = at.to_str().unwrap();
        Mount::run(&["--bind", p, p]);
        let m = Mount(at.to_path_buf());
        Mount::run(&["-o", "remount,bind,ro", p]);
        m
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn a_read_only_target_is_not_changed_and_can_still_be_read() {
    let (dir, b) = bench();
    let t = dir.path().join("t");
    let before = files(&t);
    let _ro = Mount::read_only(&t);
    assert!(std::fs::write(t.join("probe"), "x").is_err(), "the bind mount is not read-only");
    let r = run_in(
        dir.path(),
        &["import", b.to_str().unwrap(), "--target", "t", "--secrets", &secrets()],
    );
    assert_eq!(r.code, 1, "import: {}{}", r.stdout, r.stderr);
    assert_no_password("a read-only target", &format!("{}{}", r.stdout, r.stderr));
    assert!(r.stderr.contains("Read-only file system"), "{}", r.stderr);
    // The folder holds one version: a rollback has nothing to restore (exit 2), before it
    // would find that it cannot write.
    let r = run_in(dir.path(), &["rollback", "--target", "t"]);
    assert_eq!(r.code, 2, "rollback: {}{}", r.stdout, r.stderr);
    assert_no_password("a read-only target", &format!("{}{}", r.stdout, r.stderr));
    let r = run_in(dir.path(), &["history", "--target", "t", "--format", "json"]);
    assert_eq!(r.code, 0, "history of a read-only folder: {}", r.stderr);
    assert_eq!(r.json()["current"], 1);
    let out = dir.path().join("out.json");
    let r = run_in(dir.path(), &["export", "--target", "t", "--out", out.to_str().unwrap()]);
    assert_eq!(r.code, 0, "export of a read-only folder: {}", r.stderr);
    assert_eq!(files(&t), before);
}

/// Fills the filesystem of `dir` completely with `dir/filler`, then frees `free` bytes.
fn fill(dir: &Path, free: u64) {
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    let mut len = 0u64;
    loop {
        match f.write(&chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => len += n as u64,
        }
    }
    f.set_len(len.saturating_sub(free)).unwrap();
}

#[test]
fn a_full_disk_at_every_level_leaves_the_folder_as_it_was() {
    let (dir, b) = bench();
    let mnt = dir.path().join("mnt");
    let _m = Mount::tmpfs(&mnt, 4 << 20);
    let old = files(&dir.path().join("t/cwd"));
    let mut failures = 0;
    for level in 0..200u64 {
        for e in std::fs::read_dir(&mnt).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() { std::fs::remove_dir_all(&p) } else { std::fs::remove_file(&p) }
                .unwrap();
        }
        copy(&dir.path().join("t"), &mnt.join("t"));
        fill(&mnt, level * 4096);
        let imported = import(&mnt, &b, "t");
        assert_no_password("a full disk", &format!("{}{}", imported.stdout, imported.stderr));
        assert_no_password_in(&mnt.join("t"));
        let now = files(&mnt.join("t/cwd"));
        if imported.code == 0 {
            assert_ne!(now, old, "level {level}: exit 0 but the old configuration");
        } else {
            let all = format!("{}{}", imported.stdout, imported.stderr);
            assert_eq!(imported.code, 1, "level {level}: {all}");
            assert!(all.contains("No space left on device"), "level {level}: {all}");
            assert_eq!(now, old, "level {level}: a failed import changed the folder");
            let staging = mnt.join("t/.jims-import/staging");
            assert!(!staging.exists(), "level {level}: staging left behind");
            failures += 1;
        }
        // With space again, the folder reads as what the exit code said, and takes imports.
        std::fs::remove_file(mnt.join("filler")).unwrap();
        let r = run_in(&mnt, &["history", "--target", "t", "--format", "json"]);
        assert_eq!(r.code, 0, "level {level}: {}", r.stderr);
        let expected = if imported.code == 0 { 2 } else { 1 };
        assert_eq!(r.json()["current"].as_u64(), Some(expected), "level {level}");
        let again = import(&mnt, &b, "t");
        assert_eq!(again.code, 0, "level {level}: the next import: {}", again.stderr);
        if imported.code == 0 {
            assert!(failures >= 5, "only {failures} levels failed: is the disk really full?");
            eprintln!("full disk: {failures} levels failed cleanly before the import fit");
            return;
        }
    }
    panic!("the import never fit in the tmpfs");
}

#[test]
fn creating_a_target_on_a_full_disk_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("mnt");
    let _m = Mount::tmpfs(&mnt, 1 << 20);
    fill(&mnt, 16 * 1024);
    let r = import(&mnt, &fixture("exports/full.xml"), "new");
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("No space left on device"), "{}", r.stderr);
    let names: Vec<_> = std::fs::read_dir(&mnt).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["filler"], "left on the full disk");
}

// ---- permissions ----

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
fn every_file_jimsctl_creates_has_a_safe_mode_even_under_umask_0() {
    let dir = tempfile::tempdir().unwrap();
    let full = fixture("exports/full.xml");
    // An older state first, so that the import of templates changes something.
    let old = crate::support::old_full(&dir.path().join("src"));
    let script = format!(
        "umask 0 && \"$0\" import {o} --target t --secrets {s} >/dev/null && \
         \"$0\" import {f} --target t --secrets {s} --sections templates --accept-warning \
         >/dev/null && \"$0\" rollback --target t >/dev/null && \
         \"$0\" export --target t --out plain.xml --passwords plain 2>/dev/null && \
         \"$0\" export --target t --out sealed.json >/dev/null && \
         \"$0\" passwords {f} --target t2 --emit skeleton.toml >/dev/null; \
         \"$0\" server init s >/dev/null",
        f = full.display(),
        o = old.display(),
        s = secrets()
    );
    let st = Command::new("sh")
        .args(["-c", &script, env!("CARGO_BIN_EXE_jimsctl")])
        .current_dir(dir.path())
        .env("XDG_CONFIG_HOME", crate::support::isolated_home().join("config"))
        .env("XDG_STATE_HOME", crate::support::isolated_home().join("state"))
        .status()
        .unwrap();
    assert!(st.success());
    let p = |rel: &str| dir.path().join(rel);
    for secret in ["t/.jims-import/server.key", "s/.jims-import/server.key", "plain.xml"] {
        assert_eq!(mode(&p(secret)), 0o600, "{secret}");
    }
    assert_eq!(mode(&p("skeleton.toml")), 0o600, "the secrets skeleton is meant to be filled in");
    for state in ["t/.jims-import", "s/.jims-import"] {
        assert_eq!(mode(&p(state)), 0o700, "{state}");
    }
    let mut checked = 0;
    for root in ["t", "s"] {
        for (rel, _) in tree(&p(root)) {
            let path = p(root).join(&rel);
            let m = mode(&path);
            assert_eq!(m & 0o022, 0, "{rel} is writable by others: {m:o}");
            // An earlier version is the `cwd/` that was live, modes and all, in a private
            // folder of the private state folder.
            let kept = rel.starts_with(".jims-import/history/") && rel.contains("/cwd/");
            if rel.starts_with(".jims-import/") && !rel.ends_with("server.toml") && !kept {
                assert_eq!(m & 0o077, 0, "{rel}: {m:o}");
            }
            if rel.starts_with("cwd/") || kept {
                assert_eq!(m, 0o640, "{rel}: a native file");
            }
            checked += 1;
        }
    }
    // t: 11 native files, server.toml, server.key, transport.key, audit.log, history/{1,2}/
    // (the versions replaced: meta.json and 11 native files each) and history/3.json (the
    // current one's record); s: 11 native files, the four state files and history/0.json. (No
    // lock file: the lock is the state folder.)
    assert_eq!(checked, 56, "files checked");
    for key in ["t/.jims-import/transport.key", "s/.jims-import/transport.key"] {
        assert_eq!(mode(&p(key)), 0o600, "{key}");
    }
    for entry in ["t/.jims-import/history/2/meta.json", "t/.jims-import/history/3.json"] {
        assert_eq!(mode(&p(entry)), 0o600, "{entry}");
    }
    for folder in ["t/.jims-import/history", "t/.jims-import/history/1", "t/.jims-import/history/2"]
    {
        assert_eq!(mode(&p(folder)), 0o700, "{folder}");
    }
    assert_eq!(mode(&p("s/.jims-import/history/0.json")), 0o600);
    assert_eq!(mode(&p("sealed.json")) & 0o022, 0, "an export is never writable by others");
}
