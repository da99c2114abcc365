//! Power loss (issue 18) of the state files beside the configuration: the push journal and the
//! last push record (`push` to a fake JIMS this test starts on 127.0.0.1, outside the mount:
//! only the managed folder is on the power-cut filesystem), `remote set` over an earlier push
//! and `remote unset`, the key ring, the server and transport keys (`key rotate`, `key rotate
//! --transport`, `key retire` with and without `--reseal-history`) and the transport key that
//! `key public` makes in an older folder.
//!
//! The harness is `power_loss.rs`'s: a power cut after every change of one recorded run, each
//! distinct durable state mounted again and checked (old or new exactly, byte for byte, after
//! the next open's recovery; a second power cut during that recovery; rollback and the next
//! import; after exit 0 nothing lost). The key scenarios also check, at every crash state,
//! that every sealed value of `cwd/` and of every version in the history opens with a key the
//! folder holds, that no version needs a key the folder lacks, and that no current key is also
//! listed as retired (in the ring file itself, not only as `key list` shows it).

use std::path::Path;

use store::{KeyKind, Target};

use crate::power_loss::{
    Found, Hooks, Item, Scenario, changed_export, full, import, ok, report_with, run,
};

/// The key invariants of the managed folder `rel` (see the module documentation).
pub(crate) fn keys_hold(root: &Path, rel: &str, label: &str) {
    let dir = root.join(rel);
    let t =
        Target::open_state(&dir).unwrap_or_else(|e| panic!("{label}: {rel} does not open: {e}"));
    let list = t.key_list().unwrap_or_else(|e| panic!("{label}: key list of {rel}: {e}"));
    let mut current = Vec::new();
    for kind in [KeyKind::Server, KeyKind::Transport] {
        let now: Vec<&str> = list
            .iter()
            .filter(|k| k.kind == kind && k.state == "current")
            .map(|k| k.id.as_str())
            .collect();
        let most = if kind == KeyKind::Server { 1..=1 } else { 0..=1 };
        assert!(
            most.contains(&now.len()),
            "{label}: {} current {kind:?} keys: {list:?}",
            now.len()
        );
        current.extend(now.iter().map(|s| (*s).to_owned()));
    }
    for k in &list {
        assert_ne!(
            k.state, "missing",
            "{label}: versions {:?} need key {}, which {rel} lacks",
            k.versions, k.id
        );
        assert!(
            k.state != "retired" || !current.contains(&k.id),
            "{label}: the current key {} is also listed as retired",
            k.id
        );
    }
    let ring = std::fs::read_to_string(dir.join(".jims-import/keyring")).unwrap_or_default();
    for line in ring.lines().skip(1) {
        let id = line.split(' ').nth(1).unwrap_or_default();
        assert!(
            !current.iter().any(|c| c == id),
            "{label}: the ring file lists the current key {id}"
        );
    }
    for v in t.history().unwrap_or_else(|e| panic!("{label}: history of {rel}: {e}")) {
        let config = t
            .version_configuration(v.version)
            .unwrap_or_else(|e| panic!("{label}: version {} of {rel}: {e}", v.version));
        for field in config.secret_fields() {
            let raw = config.secret_value(&field.location);
            if raw.starts_with("{aesgcm}")
                && let Err(e) = t.open_sealed(raw, field.binding().as_bytes())
            {
                panic!(
                    "{label}: version {} of {rel}: {}/{} {} does not open with the folder's keys: \
                     {e}",
                    v.version,
                    field.section(),
                    field.item_id,
                    field.field
                );
            }
        }
    }
}

fn check_t(root: &Path, label: &str) {
    keys_hold(root, "t", label);
}

/// The key ids of the `{aesgcm}` values in `bytes`.
fn ids_in(bytes: &[u8], into: &mut std::collections::BTreeSet<String>) {
    let text = String::from_utf8_lossy(bytes);
    for part in text.split("{aesgcm} 1,").skip(1) {
        into.insert(part[..16].to_owned());
    }
}

/// The key ids of the key files and rings in `files` (a server or transport key file, or a
/// ring's lines).
fn held_in(name: &str, bytes: &[u8], into: &mut std::collections::BTreeSet<String>) {
    if name.ends_with("server.key") {
        into.insert(crypto::ServerKey::from_key_file(bytes).unwrap().id().as_str().to_owned());
    } else if name.ends_with("keyring") {
        let text = String::from_utf8_lossy(bytes);
        into.extend(text.lines().skip(1).filter_map(|l| l.split(' ').nth(1)).map(str::to_owned));
    }
}

/// The state of `t` as the power cut left it, before any recovery: every value of `cwd/` and
/// of every earlier version (folder or archive) is under a key the folder holds somewhere (`server.key`, the ring, or
/// staged by a change whose journal is there, which the next open finishes).
fn raw_keys_held(root: &Path, label: &str) {
    let state = root.join("t/.jims-import");
    let mut held = std::collections::BTreeSet::new();
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for (name, dir) in [("", state.clone()), ("history/", state.join("history"))] {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_file() {
                files.push((
                    format!("{name}{}", p.file_name().unwrap().to_string_lossy()),
                    std::fs::read(&p).unwrap(),
                ));
            }
        }
    }
    for (name, bytes) in &files {
        held_in(name, bytes, &mut held);
    }
    for (journal, staged) in [("journal.json", "staging/state"), ("txn.json", "txn")] {
        if state.join(journal).exists() && state.join(staged).exists() {
            for e in std::fs::read_dir(state.join(staged)).unwrap() {
                let p = e.unwrap().path();
                held_in(&p.display().to_string(), &std::fs::read(&p).unwrap(), &mut held);
            }
        }
    }
    let mut used = std::collections::BTreeSet::new();
    for (path, bytes) in crate::support::tree(&root.join("t/cwd")) {
        let _ = path;
        ids_in(&bytes, &mut used);
    }
    for (name, bytes) in &files {
        if name.starts_with("history/") && name.ends_with(".tar") {
            ids_in(bytes, &mut used);
        }
    }
    // Earlier versions kept as folders (`history/N/cwd/`).
    for e in std::fs::read_dir(state.join("history")).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            for (_, bytes) in crate::support::tree(&p.join("cwd")) {
                ids_in(&bytes, &mut used);
            }
        }
    }
    for id in &used {
        assert!(held.contains(id), "{label}: a value under {id}, a key the folder does not hold");
    }
}

/// `key list --format json` of `t`: the ids of its keys of `kind` in `state`.
fn key_ids(root: &Path, kind: &str, state: &str) -> Vec<String> {
    let r = ok(root, &["key", "list", "--target", "t", "--format", "json"]);
    let v = r.json();
    let keys = v["keys"].as_array().expect("a list of keys").clone();
    keys.iter()
        .filter(|k| k["kind"] == kind && k["state"] == state)
        .map(|k| k["id"].as_str().unwrap().to_owned())
        .collect()
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| (*s).to_owned()).collect()
}

/// A scenario on the managed folder `t`.
fn on_t(name: &'static str, prepare: fn(&Path), op: &[&str]) -> Scenario {
    Scenario {
        name,
        prepare,
        op: args(op),
        items: vec![Item::Folder("t")],
        sample: None,
        env: vec![],
    }
}

fn keys_hooks() -> Hooks<'static> {
    Hooks { check: Some(&check_t), raw: Some(&raw_keys_held), ..Hooks::default() }
}

/// Two versions: `full.xml`, then the changed export.
fn two_versions(root: &Path) {
    import(root, &full(), "t");
    import(root, &changed_export(), "t");
}

#[test]
fn power_loss_key_rotate() {
    report_with(
        &on_t("key rotate", two_versions, &["key", "rotate", "--target", "t"]),
        &keys_hooks(),
    );
}

#[test]
fn power_loss_key_rotate_in_a_folder_without_passwords() {
    // Nothing to re-seal, so no version: the key switch alone.
    report_with(
        &on_t(
            "key rotate (no sealed values)",
            |root| {
                ok(root, &["server", "init", "t"]);
            },
            &["key", "rotate", "--target", "t"],
        ),
        &keys_hooks(),
    );
}

#[test]
fn power_loss_key_rotate_transport() {
    report_with(
        &on_t(
            "key rotate --transport",
            |root| import(root, &full(), "t"),
            &["key", "rotate", "--transport", "--target", "t"],
        ),
        &keys_hooks(),
    );
}

#[test]
fn power_loss_key_public_makes_the_transport_key_of_an_older_folder() {
    report_with(
        &on_t(
            "key public (an older folder without transport.key)",
            |root| {
                import(root, &full(), "t");
                std::fs::remove_file(root.join("t/.jims-import/transport.key")).unwrap();
            },
            &["key", "public", "--target", "t"],
        ),
        &keys_hooks(),
    );
}

#[test]
fn power_loss_key_retire_transport() {
    let op = |root: &Path| {
        let old = key_ids(root, "transport", "retired");
        args(&["key", "retire", "--target", "t", "--id", &old[0]])
    };
    report_with(
        &on_t(
            "key retire (a transport key)",
            |root| {
                import(root, &full(), "t");
                ok(root, &["key", "rotate", "--transport", "--target", "t"]);
            },
            &[],
        ),
        &Hooks { op: Some(&op), ..keys_hooks() },
    );
}

#[test]
fn power_loss_key_retire_unused_server_key() {
    // A folder without passwords: no version uses the old key, which goes at once.
    let op = |root: &Path| {
        let old = key_ids(root, "server", "retired");
        args(&["key", "retire", "--target", "t", "--id", &old[0]])
    };
    report_with(
        &on_t(
            "key retire (an unused server key)",
            |root| {
                ok(root, &["server", "init", "t"]);
                ok(root, &["key", "rotate", "--target", "t"]);
            },
            &[],
        ),
        &Hooks { op: Some(&op), ..keys_hooks() },
    );
}

fn retire_old_server_key(root: &Path) -> Vec<String> {
    let old = key_ids(root, "server", "retired");
    args(&["key", "retire", "--target", "t", "--id", &old[0], "--reseal-history"])
}

#[test]
fn power_loss_key_retire_reseal_history_of_archives() {
    // Versions 1 and 2 (archived) under the old key, 3 (current) under the new one.
    report_with(
        &on_t(
            "key retire --reseal-history (archives)",
            |root| {
                two_versions(root);
                ok(root, &["key", "rotate", "--target", "t"]);
            },
            &[],
        ),
        &Hooks { op: Some(&retire_old_server_key), ..keys_hooks() },
    );
}

#[test]
fn power_loss_key_retire_reseal_history_of_the_current_version() {
    // Rolled back across the rotation: the current version (4) is under the old key too, so
    // the retirement also commits a version (`key-reseal`).
    report_with(
        &on_t(
            "key retire --reseal-history (archives and the current version)",
            |root| {
                two_versions(root);
                ok(root, &["key", "rotate", "--target", "t"]);
                ok(root, &["rollback", "--target", "t", "--to", "2"]);
            },
            &[],
        ),
        &Hooks { op: Some(&retire_old_server_key), ..keys_hooks() },
    );
}

/// A fake JIMS on 127.0.0.1 (outside the mount) and a secrets file with its administrator's
/// password, for the push scenarios.
struct Jims {
    _dir: tempfile::TempDir,
    server: fake_jims::Server,
    admin: String,
}

impl Jims {
    fn start() -> Jims {
        let dir = crate::support::tmp();
        let admin_file = dir.path().join("admin.json");
        let pw = crate::push::ADMIN_PW;
        std::fs::write(&admin_file, serde_json::json!({"remote": {"127.0.0.1": pw}}).to_string())
            .unwrap();
        let server = fake_jims::start(&fake_jims::Options {
            dir: dir.path().join("jims"),
            credentials: Some(("admin".to_owned(), pw.as_bytes().to_vec())),
            ..fake_jims::Options::default()
        })
        .unwrap();
        Jims { admin: format!("file:{}", admin_file.display()), server, _dir: dir }
    }

    fn remote_set(&self, root: &Path) {
        let url = self.server.url();
        let pin = self.server.fingerprint().to_owned();
        ok(
            root,
            &[
                "remote",
                "set",
                "--target",
                "t",
                "--url",
                &url,
                "--user",
                "admin",
                "--pin-sha256",
                &pin,
            ],
        );
    }

    fn push_args(&self) -> Vec<String> {
        args(&["push", "--target", "t", "--secrets", &self.admin, "--timeout", "10"])
    }

    fn push(&self, root: &Path) -> crate::support::Run {
        let a = self.push_args();
        let r = run(root, &a.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(r.code, 0, "push: {}{}", r.stdout, r.stderr);
        r
    }
}

/// The files of a folder state without `names` (relative to the folder).
fn without(f: &Found, names: &[&str]) -> Option<crate::power_loss::Files> {
    f.files.as_ref().map(|files| {
        files
            .iter()
            .filter(|(k, _)| !names.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    })
}

const JOURNAL: &str = ".jims-import/push.journal";
const RECORD: &str = ".jims-import/remote.json";
const AUDIT: &str = ".jims-import/audit.log";

/// An interrupted push: its journal is there (for the next push, which then sends every
/// section), the configuration, history and keys are as before, and the record and then the
/// audit line as before or as after (the push writes the record, then the audit line, then
/// removes its journal).
fn interrupted_push(now: &Found, old: &Found, new: &Found) -> bool {
    let (Some(files), Some(o), Some(n)) = (&now.files, &old.files, &new.files) else {
        return false;
    };
    let Some(journal) = files.get(JOURNAL) else { return false };
    let journal: serde_json::Value = serde_json::from_slice(journal).expect("the journal is JSON");
    assert!(journal["version"].is_u64(), "a journal without its version: {journal}");
    let is = |name: &str, of: &crate::power_loss::Files| files.get(name) == of.get(name);
    now.history == old.history
        && without(now, &[JOURNAL, RECORD, AUDIT]) == without(old, &[JOURNAL, RECORD, AUDIT])
        && (is(RECORD, o) && is(AUDIT, o)
            || is(RECORD, n) && is(AUDIT, o)
            || is(RECORD, n) && is(AUDIT, n))
}

/// After any crash state (and the common follow-ups): the next push succeeds, says so when
/// the last one was interrupted, leaves no journal, and records the current version.
fn next_push_converges(jims: &Jims, root: &Path, label: &str) {
    let interrupted = root.join("t").join(JOURNAL).exists();
    let r = jims.push(root);
    if interrupted {
        assert!(
            r.stderr.contains("interrupted"),
            "{label}: the next push does not say the last was interrupted: {}",
            r.stderr
        );
    }
    assert!(!root.join("t").join(JOURNAL).exists(), "{label}: the journal outlived a push");
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("t").join(RECORD)).unwrap()).unwrap();
    let h = ok(root, &["history", "--target", "t", "--format", "json"]).json();
    assert_eq!(record["version"], h["current"], "{label}: the record is not of the version pushed");
}

/// A push scenario: `setup` prepares the folder (remote set, earlier pushes), then `push` runs;
/// an interrupted push is an accepted state, and the next push must converge.
fn push_scenario(jims: &Jims, label: &'static str, setup: &dyn Fn(&Path)) {
    let op = |_: &Path| jims.push_args();
    let follow = |root: &Path, label: &str| next_push_converges(jims, root, label);
    report_with(
        &on_t(label, |root| import(root, &full(), "t"), &[]),
        &Hooks {
            setup: Some(setup),
            op: Some(&op),
            interrupted: Some(&interrupted_push),
            follow: Some(&follow),
            ..Hooks::default()
        },
    );
}

#[test]
fn power_loss_push() {
    let jims = Jims::start();
    push_scenario(&jims, "push (the first)", &|root| jims.remote_set(root));
}

#[test]
fn power_loss_push_over_an_earlier_push() {
    // remote.json replaced: the changed sections only.
    let jims = Jims::start();
    push_scenario(&jims, "push (over an earlier push)", &|root| {
        jims.remote_set(root);
        jims.push(root);
        import(root, &changed_export(), "t");
    });
}

#[test]
fn power_loss_remote_set_to_a_new_server_after_a_push() {
    // A new URL is a new server: remote.toml replaced and the push record dropped, together.
    let jims = Jims::start();
    let setup = |root: &Path| {
        jims.remote_set(root);
        jims.push(root);
    };
    let pin = jims.server.fingerprint().to_owned();
    let op = |_: &Path| {
        args(&[
            "remote",
            "set",
            "--target",
            "t",
            "--url",
            "https://127.0.0.1:9",
            "--user",
            "admin",
            "--pin-sha256",
            &pin,
        ])
    };
    report_with(
        &on_t("remote set (a new server, after a push)", |root| import(root, &full(), "t"), &[]),
        &Hooks { setup: Some(&setup), op: Some(&op), ..Hooks::default() },
    );
}

#[test]
fn power_loss_remote_unset_after_a_push() {
    let jims = Jims::start();
    let setup = |root: &Path| {
        jims.remote_set(root);
        jims.push(root);
    };
    report_with(
        &on_t(
            "remote unset (after a push)",
            |root| import(root, &full(), "t"),
            &["remote", "unset", "--target", "t"],
        ),
        &Hooks { setup: Some(&setup), ..Hooks::default() },
    );
}
