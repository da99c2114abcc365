//! A key rotation killed at every filesystem step (`JIMSCTL_FAULT_STEP=N`, the store's fault
//! hook, as in `crash.rs`): on disk there is never a value under a key the folder does not hold
//! (current, in the ring, or staged by the rotation's journal), and once the next command has
//! recovered the folder, either the old key is current with every live value under it, or the
//! new one is, as one more version with the old key retired in the ring. The passwords that
//! open are the same before and after, and the next import works.

use std::collections::BTreeSet;
use std::path::Path;

use crate::support::{Run, cmd, fixture, run_in, s, tree};

fn ok(r: &Run, what: &str) {
    assert_eq!(r.code, 0, "{what}: {}{}", r.stdout, r.stderr);
}

fn secrets() -> String {
    format!("file:{}", fixture("exports/full.secrets.toml").display())
}

/// The key ids of every `{aesgcm}` value in the files under `dir`.
fn sealed_ids(dir: &Path) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for (_, bytes) in tree(dir) {
        let text = String::from_utf8_lossy(&bytes);
        for part in text.split("{aesgcm} 1,").skip(1) {
            ids.insert(part[..16].to_owned());
        }
    }
    ids
}

/// The key ids in version `n`'s archive.
fn archived_ids(t: &Path, n: u64) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for (_, bytes) in crate::support::archived_cwd(t, n) {
        let text = String::from_utf8_lossy(&bytes);
        for part in text.split("{aesgcm} 1,").skip(1) {
            ids.insert(part[..16].to_owned());
        }
    }
    ids
}

/// The id of the key in a server key file, read raw (without the recovery a command makes).
fn file_key_id(key_file: &Path) -> String {
    let bytes = std::fs::read(key_file).unwrap();
    crypto::ServerKey::from_key_file(&bytes).unwrap().id().as_str().to_owned()
}

/// The key ids in the key ring file (none when absent).
fn ring_ids(t: &Path) -> BTreeSet<String> {
    let Ok(text) = std::fs::read_to_string(t.join(".jims-import/keyring")) else {
        return BTreeSet::new();
    };
    text.lines().skip(1).filter_map(|l| l.split(' ').nth(1)).map(str::to_owned).collect()
}

/// The passwords of `t`, opened (the body of a plaintext export).
fn opened(base: &Path, t: &Path) -> String {
    let out = base.join("opened.xml");
    let _ = std::fs::remove_file(&out);
    ok(
        &run_in(base, &["export", "--target", s(t), "--out", s(&out), "--passwords", "plain"]),
        "plain export",
    );
    let text = std::fs::read_to_string(&out).unwrap();
    std::fs::remove_file(&out).unwrap();
    text[text.find("<section").unwrap()..].to_owned()
}

#[test]
fn a_rotation_killed_at_every_step_leaves_the_old_key_or_the_new_one_never_a_mix() {
    let dir = tempfile::tempdir_in("/dev/shm").or_else(|_| tempfile::tempdir()).unwrap();
    let base = dir.path();
    let template = base.join("template");
    let r = run_in(
        base,
        &[
            "import",
            s(&fixture("exports/full.xml")),
            "--target",
            s(&template),
            "--secrets",
            &secrets(),
        ],
    );
    ok(&r, "import");
    let old = run_in(base, &["key", "id", "--target", s(&template)]).stdout.trim().to_owned();
    let before = opened(base, &template);
    let steps = kill_at_every_step(base, &template, &["key", "rotate"], |n, t, completed| {
        // On disk, before any recovery: every value is under a key the folder holds.
        let state = t.join(".jims-import");
        let mut held = ring_ids(t);
        held.insert(file_key_id(&state.join("server.key")));
        let staged = state.join("staging/state/server.key");
        if staged.exists() && state.join("journal.json").exists() {
            held.insert(file_key_id(&staged));
        }
        for id in sealed_ids(&t.join("cwd")) {
            assert!(held.contains(&id), "step {n}: a live value under {id}, a key not held");
        }
        // The next command recovers: the old key with every value under it, or the new one.
        let r = run_in(base, &["history", "--target", s(t), "--format", "json"]);
        ok(&r, &format!("step {n}: history"));
        let current = r.json()["current"].as_u64().unwrap();
        let key = run_in(base, &["key", "id", "--target", s(t)]).stdout.trim().to_owned();
        let live = sealed_ids(&t.join("cwd"));
        assert_eq!(live, BTreeSet::from([key.clone()]), "step {n}: every live value under {key}");
        if key == old {
            assert!(!completed, "step {n}: a completed rotation kept the old key");
            assert_eq!(current, 1, "step {n}: the old key and a new version");
        } else {
            assert_eq!(current, 2, "step {n}: the new key without its version");
            assert!(ring_ids(t).contains(&old), "step {n}: the old key is not in the ring");
            assert_eq!(archived_ids(t, 1), BTreeSet::from([old.clone()]), "step {n}");
        }
        for leftover in ["staging", "journal.json", "journal.json.tmp"] {
            assert!(!state.join(leftover).exists(), "step {n}: {leftover} left");
        }
        assert_eq!(opened(base, t), before, "step {n}: the passwords that open changed");
        let r = run_in(
            base,
            &["import", s(&fixture("exports/full.xml")), "--target", s(t), "--secrets", &secrets()],
        );
        ok(&r, &format!("step {n}: the next import"));
    });
    assert!(steps > 10, "only {steps} steps: is the store's fault hook compiled in?");
}

/// Runs `op` (with `--target` of a fresh copy of `template` appended) killed at step 1, 2, …
/// until it completes; after each kill calls `check(step, copy, completed)`, then removes the
/// copy. Returns the number of steps of a whole run.
fn kill_at_every_step(
    base: &Path,
    template: &Path,
    op: &[&str],
    check: impl Fn(u64, &Path, bool),
) -> u64 {
    for n in 1..1000u64 {
        let t = base.join(format!("n{n}"));
        let st = std::process::Command::new("cp").arg("-a").arg(template).arg(&t).status();
        assert!(st.unwrap().success());
        let out = cmd()
            .current_dir(base)
            .args(op)
            .args(["--target", s(&t)])
            .env("JIMSCTL_FAULT_STEP", n.to_string())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let completed = out.status.success();
        if !completed {
            assert!(stderr.contains("aborting at step"), "{op:?}, step {n}: {stderr}");
        }
        check(n, &t, completed);
        for leftover in ["staging", "journal.json", "journal.json.tmp", "txn", "txn.json"] {
            let state = t.join(".jims-import");
            assert!(!state.join(leftover).exists(), "{op:?}, step {n}: {leftover} left");
        }
        std::fs::remove_dir_all(&t).unwrap();
        if completed {
            assert!(n > 5, "only {n} steps: is the store's fault hook compiled in?");
            eprintln!("{op:?} killed at each of {} steps", n - 1);
            return n - 1;
        }
    }
    panic!("{op:?} never completed");
}

/// `key list --format json` of `t`: (kind, id, state) of each key.
fn key_list(base: &Path, t: &Path) -> Vec<(String, String, String)> {
    let r = run_in(base, &["key", "list", "--target", s(t), "--format", "json"]);
    ok(&r, "key list");
    let v = r.json();
    v["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            let f = |name: &str| k[name].as_str().unwrap().to_owned();
            (f("kind"), f("id"), f("state"))
        })
        .collect()
}

#[test]
fn a_transport_rotation_killed_at_every_step_keeps_the_old_transport_key_usable() {
    let dir = tempfile::tempdir_in("/dev/shm").or_else(|_| tempfile::tempdir()).unwrap();
    let base = dir.path();
    let template = base.join("template");
    let sender = base.join("sender");
    for t in [&template, &sender] {
        let r = run_in(
            base,
            &["import", s(&fixture("exports/full.xml")), "--target", s(t), "--secrets", &secrets()],
        );
        ok(&r, "import");
    }
    // A bundle sealed to the folder's transport key as it is before the rotation.
    let public = base.join("template.pub");
    ok(&run_in(base, &["key", "public", "--target", s(&template), "--out", s(&public)]), "public");
    let bundle = base.join("sealed.xml");
    let r =
        run_in(base, &["export", "--target", s(&sender), "--to", s(&public), "--out", s(&bundle)]);
    ok(&r, "export --to");
    let old = std::fs::read_to_string(&public).unwrap();
    let old_id = old.lines().find_map(|l| l.strip_prefix("key-id: ")).unwrap().to_owned();
    let steps =
        kill_at_every_step(base, &template, &["key", "rotate", "--transport"], |n, t, done| {
            let keys = key_list(base, t);
            let current: Vec<&str> = keys
                .iter()
                .filter(|(kind, _, state)| kind == "transport" && state == "current")
                .map(|(_, id, _)| id.as_str())
                .collect();
            assert_eq!(current.len(), 1, "step {n}: {keys:?}");
            let retired: Vec<&str> = keys
                .iter()
                .filter(|(kind, _, state)| kind == "transport" && state == "retired")
                .map(|(_, id, _)| id.as_str())
                .collect();
            if current[0] == old_id {
                assert!(!done, "step {n}: a completed rotation kept the old transport key");
                assert!(
                    retired.is_empty(),
                    "step {n}: the old key is current and retired: {keys:?}"
                );
            } else {
                assert_eq!(retired, [old_id.as_str()], "step {n}: the old key is not in the ring");
            }
            let name = t.file_name().unwrap().to_string_lossy();
            crate::power_loss_state::keys_hold(base, &name, &format!("step {n}"));
            // The bundle sealed to the old key imports, whichever key is current now.
            let r = run_in(base, &["import", s(&bundle), "--target", s(t)]);
            ok(&r, &format!("step {n}: import of the bundle sealed to the old key"));
        });
    assert!(steps > 5);
}

#[test]
fn a_reseal_history_retirement_killed_at_every_step_leaves_every_version_readable() {
    // Versions 1, 2 under the old key, 3 the rotation, 4 a rollback to 2 (the old key again):
    // the retirement re-seals the archives 1, 2, 4 and commits version 5.
    let dir = tempfile::tempdir_in("/dev/shm").or_else(|_| tempfile::tempdir()).unwrap();
    let base = dir.path();
    let template = base.join("template");
    let tp = s(&template);
    let full = fixture("exports/full.xml");
    let changed = base.join("changed.xml");
    let text = std::fs::read_to_string(&full).unwrap();
    std::fs::write(&changed, text.replace("Domain controller", "DC host")).unwrap();
    for export in [&full, &changed] {
        let r = run_in(base, &["import", s(export), "--target", tp, "--secrets", &secrets()]);
        ok(&r, &format!("import {}", export.display()));
    }
    let old = run_in(base, &["key", "id", "--target", tp]).stdout.trim().to_owned();
    ok(&run_in(base, &["key", "rotate", "--target", tp]), "rotate");
    ok(&run_in(base, &["rollback", "--target", tp, "--to", "2"]), "rollback");
    let before = opened(base, &template);
    let steps = kill_at_every_step(
        base,
        &template,
        &["key", "retire", "--id", &old, "--reseal-history"],
        |n, t, done| {
            // On disk, before any recovery: every live value under a key the folder holds.
            let state = t.join(".jims-import");
            let mut held = ring_ids(t);
            held.insert(file_key_id(&state.join("server.key")));
            for id in sealed_ids(&t.join("cwd")) {
                assert!(held.contains(&id), "step {n}: a live value under {id}, a key not held");
            }
            let r = run_in(base, &["history", "--target", s(t), "--format", "json"]);
            ok(&r, &format!("step {n}: history"));
            let current = r.json()["current"].as_u64().unwrap();
            let keys = key_list(base, t);
            let still = keys.iter().any(|(_, id, _)| *id == old);
            if still {
                assert!(!done, "step {n}: a completed retirement kept the key");
                assert_eq!(current, 4, "step {n}: the key kept, yet a new version");
                assert_eq!(archived_ids(t, 1), BTreeSet::from([old.clone()]), "step {n}");
            } else {
                assert_eq!(current, 5, "step {n}: the key gone without its version");
                for v in [1, 2, 4] {
                    assert!(
                        !archived_ids(t, v).contains(&old),
                        "step {n}: version {v} still under it"
                    );
                }
            }
            let name = t.file_name().unwrap().to_string_lossy();
            crate::power_loss_state::keys_hold(base, &name, &format!("step {n}"));
            assert_eq!(opened(base, t), before, "step {n}: the passwords that open changed");
            let r = run_in(
                base,
                &[
                    "import",
                    s(&fixture("exports/full.xml")),
                    "--target",
                    s(t),
                    "--secrets",
                    &secrets(),
                ],
            );
            ok(&r, &format!("step {n}: the next import"));
        },
    );
    assert!(steps > 20);
}
