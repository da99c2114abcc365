//! Where an output may go (issue 12.3): every command that writes a file or folder
//! (`export --out`, `convert`, `passwords --emit`, `batch --report`) refuses, with exit 2 and
//! the path named, a place inside any managed folder (links and `..` resolved) and anything at
//! the path but a regular file (a FIFO, a device node, a socket, a folder, a symbolic link),
//! which it leaves exactly as it was; it never hangs on a FIFO, and leaves no temporary behind.

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::{Run, cmd, fixture, run, tmp};

/// `jimsctl ARGS` in `cwd`, killed (and the test failed) if it takes longer than 60 s: a write
/// into a FIFO would block forever.
fn run_bounded(cwd: &Path, args: &[String]) -> Run {
    let mut child = cmd()
        .current_dir(cwd)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("jimsctl {args:?} hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    Run::of(out)
}

/// A managed folder `dir/t` holding the full fixture, its passwords sealed.
fn managed(dir: &Path) -> PathBuf {
    let t = dir.join("t");
    let secrets = format!("file:{}", fixture("exports/full.secrets.toml").display());
    let r = run(&[
        "import",
        "exports/full.xml",
        "--target",
        t.to_str().unwrap(),
        "--secrets",
        &secrets,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    t
}

/// Each command that writes an output, as arguments writing to `out` (a path ending in
/// `.json`), with `t` a managed folder and `work` a folder for anything else it needs.
fn writers(t: &Path, work: &Path, out: &str) -> Vec<(&'static str, Vec<String>)> {
    let exports = work.join("batch-exports");
    if !exports.exists() {
        std::fs::create_dir(&exports).unwrap();
        std::fs::copy(fixture("exports/partial.xml"), exports.join("a.xml")).unwrap();
    }
    let s = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<String>>();
    let full = fixture("exports/full.xml");
    let full = full.to_str().unwrap();
    let t = t.to_str().unwrap();
    vec![
        // --force: an output that exists is replaced only when asked (issue 15).
        ("export", s(&["export", "--target", t, "--out", out, "--force"])),
        (
            "export plain",
            s(&["export", "--target", t, "--out", out, "--passwords", "plain", "--force"]),
        ),
        ("convert", s(&["convert", full, out, "--to", "json", "--force"])),
        ("convert to a folder", s(&["convert", full, out, "--to", "folder"])),
        (
            "passwords --emit",
            s(&[
                "passwords",
                full,
                "--target",
                work.join("new").to_str().unwrap(),
                "--emit",
                out,
                "--force",
            ]),
        ),
        (
            "batch --report",
            s(&[
                "batch",
                "--exports",
                exports.to_str().unwrap(),
                "--targets",
                work.join("batch-targets").to_str().unwrap(),
                "--dry-run",
                "--report",
                out,
            ]),
        ),
    ]
}

/// The names in `dir` that look like a temporary file of a write.
fn temporaries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains(".tmp") || n.contains("jims-tmp"))
                .collect()
        })
        .unwrap_or_default()
}

fn mknod(path: &Path, kind: rustix::fs::FileType, dev: rustix::fs::Dev) -> bool {
    let mode = rustix::fs::Mode::from_raw_mode(0o666);
    rustix::fs::mknodat(rustix::fs::CWD, path, kind, mode, dev).is_ok()
}

/// What is at `path`, to compare before and after: its type, inode and bytes if a file.
fn state(path: &Path) -> (String, u64, Option<Vec<u8>>) {
    let m = std::fs::symlink_metadata(path).unwrap();
    let bytes = m.is_file().then(|| std::fs::read(path).unwrap());
    (format!("{:?}", m.file_type()), m.ino(), bytes)
}

#[test]
fn nothing_but_a_regular_file_is_replaced() {
    let work = tmp();
    let w = work.path();
    let t = managed(w);
    let places = w.join("places");
    std::fs::create_dir(&places).unwrap();
    std::fs::write(places.join("real.json"), "real").unwrap();
    let fifo = places.join("fifo.json");
    crate::support::mkfifo(&fifo);
    let _socket = std::os::unix::net::UnixListener::bind(places.join("socket.json")).unwrap();
    let mut kinds = vec![
        ("fifo.json", "it is a named pipe (FIFO)"),
        ("socket.json", "it is a socket"),
        ("link.json", "it is a symbolic link"),
        ("dangling.json", "it is a symbolic link"),
        ("link-to-folder.json", "it is a symbolic link"),
        ("folder.json", "folder"),
    ];
    std::os::unix::fs::symlink(places.join("real.json"), places.join("link.json")).unwrap();
    std::os::unix::fs::symlink(places.join("nowhere.json"), places.join("dangling.json")).unwrap();
    std::fs::create_dir(places.join("folder.json")).unwrap();
    std::fs::write(places.join("folder.json/inside"), "x").unwrap();
    std::os::unix::fs::symlink(w.join("empty"), places.join("link-to-folder.json")).unwrap();
    std::fs::create_dir(w.join("empty")).unwrap();
    // Device nodes need root (CAP_MKNOD): `/dev/null` and a block device, made here.
    use rustix::fs::{FileType, makedev};
    let devices = mknod(&places.join("null.json"), FileType::CharacterDevice, makedev(1, 3))
        && mknod(&places.join("block.json"), FileType::BlockDevice, makedev(7, 0));
    if devices {
        kinds.push(("null.json", "it is a character device"));
        kinds.push(("block.json", "it is a block device"));
    } else {
        eprintln!("note: not root: the device-node cases are skipped");
    }
    for (name, words) in kinds {
        let out = places.join(name);
        let before = state(&out);
        for (what, args) in writers(&t, w, out.to_str().unwrap()) {
            let r = run_bounded(w, &args);
            assert_eq!(r.code, 2, "{what} over {name}: {}{}", r.stdout, r.stderr);
            assert!(r.stderr.contains(&out.display().to_string()), "{what}: {}", r.stderr);
            let folder_output = what == "convert to a folder";
            let expected = if folder_output && name == "folder.json" {
                "exists and is not empty"
            } else {
                words
            };
            assert!(r.stderr.contains(expected), "{what} over {name}: {}", r.stderr);
            assert_eq!(state(&out), before, "{what} changed {name}");
        }
    }
    assert_eq!(std::fs::read(places.join("real.json")).unwrap(), b"real", "the link's target");
    assert!(!places.join("nowhere.json").exists(), "a dangling link is not followed");
    assert!(std::fs::read_dir(w.join("empty")).unwrap().next().is_none());
    assert!(temporaries(&places).is_empty(), "{:?}", temporaries(&places));
    if devices {
        assert!(
            std::fs::symlink_metadata(places.join("null.json"))
                .unwrap()
                .file_type()
                .is_char_device()
        );
    }
}

#[test]
fn nothing_is_written_inside_a_managed_folder() {
    let work = tmp();
    let w = work.path();
    let t = managed(w);
    let key = std::fs::read(t.join(".jims-import/server.key")).unwrap();
    let cwd_before = crate::support::tree(&t.join("cwd"));
    std::fs::create_dir(w.join("sub")).unwrap();
    std::os::unix::fs::symlink(&t, w.join("link-to-t")).unwrap();
    std::os::unix::fs::symlink(t.join("cwd/config"), w.join("link-to-config")).unwrap();
    let outs: Vec<String> = vec![
        t.join(".jims-import/server.key").display().to_string(),
        t.join(".jims-import/history/x.json").display().to_string(),
        t.join("cwd/config/x.json").display().to_string(),
        t.join("x.json").display().to_string(),
        // Relative, through `..`, and through links: resolved before the check.
        "sub/../t/cwd/config/x.json".to_owned(),
        "link-to-t/cwd/x.json".to_owned(),
        "link-to-config/x.json".to_owned(),
        "sub/../link-to-t/.jims-import/server.key".to_owned(),
    ];
    for out in &outs {
        for (what, args) in writers(&t, w, out) {
            let r = run_bounded(w, &args);
            assert_eq!(r.code, 2, "{what} to {out}: {}{}", r.stdout, r.stderr);
            assert!(r.stderr.contains("inside the managed server folder"), "{what}: {}", r.stderr);
            assert!(r.stderr.contains(out.as_str()), "{what}: names {out}: {}", r.stderr);
        }
    }
    // Run from inside the managed folder, a bare name is inside it too.
    for (what, args) in writers(&t, w, "x.json") {
        let r = run_bounded(&t.join("cwd/config"), &args);
        assert_eq!(r.code, 2, "{what} to x.json from inside: {}", r.stderr);
    }
    assert_eq!(std::fs::read(t.join(".jims-import/server.key")).unwrap(), key, "the key");
    assert_eq!(crate::support::tree(&t.join("cwd")), cwd_before, "the live configuration");
    let r = run(&["history", "--target", t.to_str().unwrap(), "--format", "json"]);
    assert_eq!(r.json()["current"], 1, "{}", r.stdout);
    assert!(temporaries(&t).is_empty() && temporaries(&t.join("cwd/config")).is_empty());
}

#[test]
fn a_missing_folder_is_named_and_a_regular_file_replaced() {
    let work = tmp();
    let w = work.path();
    let t = managed(w);
    let missing = w.join("no/such/x.json");
    for (what, args) in writers(&t, w, missing.to_str().unwrap()) {
        let r = run_bounded(w, &args);
        assert_eq!(r.code, 2, "{what}: {}", r.stderr);
        assert!(r.stderr.contains("does not exist"), "{what}: {}", r.stderr);
    }
    assert!(!w.join("no").exists());
    // A regular file is replaced by a new file (its other hard link keeps the old bytes).
    let out = w.join("out.json");
    for (what, args) in writers(&t, w, out.to_str().unwrap()) {
        if what == "convert to a folder" {
            continue;
        }
        std::fs::write(&out, "old").unwrap();
        let _ = std::fs::remove_file(w.join("other-link"));
        std::fs::hard_link(&out, w.join("other-link")).unwrap();
        let r = run_bounded(w, &args);
        assert!(matches!(r.code, 0 | 3 | 6), "{what}: {}{}", r.stdout, r.stderr);
        let new = std::fs::read(&out).unwrap();
        assert!(
            new.starts_with(b"{") || new.starts_with(b"["),
            "{what}: {}",
            String::from_utf8_lossy(&new)
        );
        assert_eq!(std::fs::read(w.join("other-link")).unwrap(), b"old", "{what}");
        let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        if what == "export plain" || what == "passwords --emit" {
            assert_eq!(mode, 0o600, "{what}");
        }
        assert!(temporaries(w).is_empty(), "{what}: {:?}", temporaries(w));
    }
}
