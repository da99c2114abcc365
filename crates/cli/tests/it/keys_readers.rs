//! Lock-free readers during key changes (issue 17): `export` (plaintext and sealed), `status`,
//! `key list`, `key public`, `history show` and `diff` take no lock, so they run while a
//! `key rotate`, `key rotate --transport` or `key retire --reseal-history` is writing. At every
//! moment of those (the writer stopped before each of its filesystem steps in turn by the
//! store's fault hook, `JIMSCTL_FAULT_PAUSE=N`), every reader succeeds and sees one consistent
//! folder: the same passwords open, a sealed export's values are all under the key its header
//! names, no version needs a key the folder lacks. And readers looping while rotations run one
//! after another never fail.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::support::{Run, cmd, fixture, run_in, s};

fn ok(r: &Run, what: &str) {
    assert_eq!(r.code, 0, "{what}: {}{}", r.stdout, r.stderr);
}

fn secrets() -> String {
    format!("file:{}", fixture("exports/full.secrets.toml").display())
}

/// A folder with two versions (`full.xml`, then a changed copy) in a temporary folder.
fn two_versions() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir_in("/dev/shm").or_else(|_| tempfile::tempdir()).unwrap();
    let base = dir.path();
    let t = base.join("template");
    let full = fixture("exports/full.xml");
    let changed = base.join("changed.xml");
    let text = std::fs::read_to_string(&full).unwrap();
    std::fs::write(&changed, text.replace("Domain controller", "DC host")).unwrap();
    for export in [&full, &changed] {
        let r = run_in(base, &["import", s(export), "--target", s(&t), "--secrets", &secrets()]);
        ok(&r, "import");
    }
    (dir, t)
}

/// The body of a plaintext export of `t` (what the passwords open to), from its first section.
fn opened(base: &Path, t: &Path, what: &str) -> String {
    let out = base.join("reader-plain.xml");
    let r = run_in(
        base,
        &["export", "--target", s(t), "--out", s(&out), "--passwords", "plain", "--force"],
    );
    ok(&r, &format!("{what}: export --passwords plain"));
    let text = std::fs::read_to_string(&out).unwrap();
    text[text.find("<section").unwrap()..].to_owned()
}

/// The key ids of the `{aesgcm}` values in `text`.
fn sealed_ids(text: &str) -> Vec<&str> {
    text.split("{aesgcm} 1,").skip(1).map(|p| &p[..16]).collect()
}

/// What each reader must find, whatever moment of a key change it reads at.
struct Expect {
    /// The plaintext export's body.
    plain: String,
    /// Whether a sealed export's values are all under its header's key (not after a rollback
    /// across a rotation, whose values are under a retired key: those are sealed again).
    sealed_under_header: bool,
}

/// Runs every reader on `t` and checks what it finds.
fn read_all(base: &Path, t: &Path, expect: &Expect, what: &str) {
    assert_eq!(opened(base, t, what), expect.plain, "{what}: the passwords that open changed");
    let sealed = base.join("reader-sealed.xml");
    let r = run_in(base, &["export", "--target", s(t), "--out", s(&sealed), "--force"]);
    ok(&r, &format!("{what}: export"));
    let text = std::fs::read_to_string(&sealed).unwrap();
    let header = text.split("server_key_id=\"").nth(1).map(|r| &r[..16]).unwrap();
    if expect.sealed_under_header {
        for id in sealed_ids(&text) {
            assert_eq!(id, header, "{what}: a sealed export's value is not under its header's key");
        }
    }
    ok(&run_in(base, &["status", "--target", s(t)]), &format!("{what}: status"));
    let r = run_in(base, &["key", "list", "--target", s(t), "--format", "json"]);
    ok(&r, &format!("{what}: key list"));
    let keys = r.json()["keys"].as_array().unwrap().clone();
    let current: Vec<&str> = keys
        .iter()
        .filter(|k| k["state"] == "current")
        .map(|k| k["id"].as_str().unwrap())
        .collect();
    for k in &keys {
        assert_ne!(k["state"], "missing", "{what}: a version needs a key the folder lacks: {k}");
        if k["state"] == "retired" {
            assert!(!current.contains(&k["id"].as_str().unwrap()), "{what}: current and retired");
        }
    }
    ok(&run_in(base, &["key", "public", "--target", s(t)]), &format!("{what}: key public"));
    let r = run_in(base, &["history", "--target", s(t), "--format", "json"]);
    ok(&r, &format!("{what}: history"));
    let now = r.json()["current"].as_u64().unwrap().to_string();
    let r = run_in(base, &["history", "show", &now, "--target", s(t)]);
    ok(&r, &format!("{what}: history show {now}"));
    let one = format!("{}@1", s(t));
    ok(&run_in(base, &["diff", &one, s(t)]), &format!("{what}: diff"));
}

/// Stops `op --target COPY` before each of its steps in turn (a fresh copy of `template` each
/// time), runs the readers while it is stopped, then kills it. Returns the number of steps.
fn readers_at_every_step(base: &Path, template: &Path, op: &[&str], expect: &Expect) -> u64 {
    for n in 1..1000u64 {
        let t = base.join(format!("n{n}"));
        let st = std::process::Command::new("cp").arg("-a").arg(template).arg(&t).status();
        assert!(st.unwrap().success());
        let mut child = cmd()
            .current_dir(base)
            .args(op)
            .args(["--target", s(&t)])
            .env("JIMSCTL_FAULT_PAUSE", n.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut seen = String::new();
        let paused = loop {
            let mut line = String::new();
            if stderr.read_line(&mut line).unwrap() == 0 {
                let status = child.wait().unwrap();
                assert!(status.success(), "{op:?} failed with no fault: {seen}");
                break false;
            }
            seen.push_str(&line);
            if line.contains("fault-injection: paused at step") {
                break true;
            }
        };
        let what = format!("{op:?} stopped before step {n}");
        let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            read_all(base, &t, expect, &what);
        }));
        if paused {
            child.kill().unwrap();
        }
        child.wait().unwrap();
        if let Err(failure) = read {
            std::panic::resume_unwind(failure);
        }
        if !paused {
            // Completed: the readers saw the end state too.
            std::fs::remove_dir_all(&t).unwrap();
            assert!(n > 5, "only {n} steps: is the store's fault hook compiled in?");
            eprintln!("readers checked at each of {} steps of {op:?}", n - 1);
            return n - 1;
        }
        std::fs::remove_dir_all(&t).unwrap();
    }
    panic!("{op:?} never completed");
}

#[test]
fn readers_find_every_key_at_every_step_of_a_server_key_rotation() {
    let (dir, template) = two_versions();
    let base = dir.path();
    let expect = Expect { plain: opened(base, &template, "before"), sealed_under_header: true };
    readers_at_every_step(base, &template, &["key", "rotate"], &expect);
}

#[test]
fn readers_find_every_key_at_every_step_of_a_transport_key_rotation() {
    let (dir, template) = two_versions();
    let base = dir.path();
    let expect = Expect { plain: opened(base, &template, "before"), sealed_under_header: true };
    readers_at_every_step(base, &template, &["key", "rotate", "--transport"], &expect);
}

#[test]
fn readers_find_every_key_at_every_step_of_a_reseal_history_retirement() {
    // The current version rolled back across a rotation (under the old key, as are the
    // archives 1 and 2): the retirement re-seals them and commits a version.
    let (dir, template) = two_versions();
    let base = dir.path();
    let tp = s(&template);
    let old = run_in(base, &["key", "id", "--target", tp]).stdout.trim().to_owned();
    ok(&run_in(base, &["key", "rotate", "--target", tp]), "rotate");
    ok(&run_in(base, &["rollback", "--target", tp, "--to", "2"]), "rollback");
    let expect = Expect { plain: opened(base, &template, "before"), sealed_under_header: true };
    readers_at_every_step(
        base,
        &template,
        &["key", "retire", "--id", &old, "--reseal-history"],
        &expect,
    );
}

#[test]
fn readers_looping_while_rotations_run_never_fail() {
    let (dir, t) = two_versions();
    let base = dir.path().to_path_buf();
    let expect = Expect { plain: opened(&base, &t, "before"), sealed_under_header: true };
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let rotations = {
        let (base, t, done) = (base.clone(), t.clone(), done.clone());
        std::thread::spawn(move || {
            for i in 0..8 {
                let mut args = vec!["key", "rotate", "--target", s(&t)];
                if i % 3 == 2 {
                    args.push("--transport");
                }
                let r = run_in(&base, &args);
                done.store(i == 7 || r.code != 0, std::sync::atomic::Ordering::SeqCst);
                ok(&r, &format!("rotation {i}"));
            }
        })
    };
    let mut reads = 0;
    while !done.load(std::sync::atomic::Ordering::SeqCst) && reads < 200 {
        read_all(&base, &t, &expect, &format!("read {reads} during the rotations"));
        reads += 1;
    }
    rotations.join().expect("every rotation succeeds");
    // And once they are done: the folder holds every key its versions need.
    read_all(&base, &t, &expect, "after the rotations");
    assert!(reads > 0);
}
