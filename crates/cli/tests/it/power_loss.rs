//! Power loss (issue 18): every store operation, run by the real binary on the power-cut test
//! filesystem (`crates/powercut-fs`), which forgets at a crash everything not made durable by
//! the kernel's rules (a file's data after its `fsync`, a folder's entries after an `fsync` of
//! the folder; `syncfs` reaches no FUSE filesystem).
//!
//! One run of the operation is recorded: a power cut after change N of the filesystem (each
//! FUSE call that alters the tree or makes something durable) leaves the durable state after N,
//! so every crash point of the run is known. Many crash points leave the same durable state
//! (nothing became durable between them): each distinct state is checked once, for all of them.
//! For each, the filesystem is mounted again holding only that state, and:
//! - every folder the operation writes opens (`history`) and is, after the recovery of the
//!   next open, exactly as before the operation or exactly as after it, byte for byte (every
//!   file under it: `cwd/`, records, archives, audit log, key), never a mix, and nothing left
//!   over (staging, journal, partial state, temporary siblings);
//! - every output (export, convert) is absent or complete, byte for byte;
//! - rollback works, and the next import (or the same command again) succeeds;
//! - the state after the last change, once the command exited 0, is the new one: a power cut
//!   then loses nothing of it.
//!
//! `cargo test --workspace power_loss` runs them all. Operations are swept at every distinct
//! crash state; a batch, whose states are many more, at a sample (evenly spread, always the
//! first and the last), unless `JIMSCTL_POWER_LOSS_FULL=1` (`cargo xtask power-loss --full`).

use std::collections::BTreeMap;
use std::path::Path;

use powercut_fs::{PowerCutFs, Snapshot, TestMount};

use crate::support::{Run, cmd, fixture};

/// Every file (and folder, and link) under a path, as text that tells them apart: the exact
/// state of a folder, comparable byte for byte.
pub(crate) type Files = BTreeMap<String, Vec<u8>>;

fn secrets() -> String {
    format!("file:{}", fixture("exports/full.secrets.toml").display())
}

/// Runs `jimsctl ARGS` with `cwd` as its working folder (the mount: every path is relative).
pub(crate) fn run(cwd: &Path, args: &[&str]) -> Run {
    let out = cmd().current_dir(cwd).args(args).output().expect("the binary runs");
    Run::of(out)
}

pub(crate) fn ok(cwd: &Path, args: &[&str]) -> Run {
    let r = run(cwd, args);
    assert_eq!(r.code, 0, "jimsctl {args:?}: {}{}", r.stdout, r.stderr);
    r
}

/// Everything under `root/rel` (absent: empty), folders and links included; the folder's lock
/// file, which any reader creates, is left out.
pub(crate) fn files(root: &Path, rel: &str) -> Option<Files> {
    let top = root.join(rel);
    let meta = std::fs::symlink_metadata(&top).ok()?;
    let mut out = Files::new();
    if !meta.is_dir() {
        out.insert(String::new(), std::fs::read(&top).unwrap());
        return Some(out);
    }
    let mut todo = vec![top.clone()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let name = p.strip_prefix(&top).unwrap().display().to_string();
            if name == ".jims-import/lock" {
                continue;
            }
            let t = e.file_type().unwrap();
            if t.is_dir() {
                out.insert(format!("{name}/"), Vec::new());
                todo.push(p);
            } else if t.is_symlink() {
                let target = std::fs::read_link(&p).unwrap();
                out.insert(format!("{name} ->"), target.display().to_string().into_bytes());
            } else {
                out.insert(name, std::fs::read(&p).unwrap());
            }
        }
    }
    Some(out)
}

/// What the operation writes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Item {
    /// A managed folder (or one being made managed), by its path under the mount.
    Folder(&'static str),
    /// An output file or folder.
    Output(&'static str),
}

/// A folder or output as found: what `history` says (after the recovery it triggers) and every
/// byte under it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Found {
    /// `history --format json`, for a managed folder.
    pub(crate) history: Option<serde_json::Value>,
    /// Everything under it; `None` when absent.
    pub(crate) files: Option<Files>,
}

impl Found {
    fn current(&self) -> Option<u64> {
        self.history.as_ref().and_then(|h| h["current"].as_u64())
    }

    fn versions(&self) -> usize {
        self.history.as_ref().map_or(0, |h| h["versions"].as_array().unwrap().len())
    }
}

/// Opens `item` as the next command would, and reads it.
fn find(root: &Path, item: Item) -> Found {
    match item {
        Item::Output(rel) => Found { history: None, files: files(root, rel) },
        Item::Folder(rel) => {
            // Opened as every command opens it (which recovers an interrupted commit, and clears
            // away the partial state folders a dead creation left).
            let state = root.join(rel).join(".jims-import");
            let history = root.join(rel).exists().then(|| {
                let r = run(root, &["history", "--target", rel, "--format", "json"]);
                // Not managed (never made, or an interrupted creation undone): as it was.
                let unmanaged = r.code == 2 && !state.exists();
                assert!(r.code == 0 || unmanaged, "{rel} does not open: {}{}", r.stdout, r.stderr);
                (!unmanaged).then(|| r.json())
            });
            let history = history.flatten();
            Found { history, files: files(root, rel) }
        }
    }
}

/// One operation under test.
pub(crate) struct Scenario {
    pub(crate) name: &'static str,
    /// Builds the starting state on the mount (not under test).
    pub(crate) prepare: fn(&Path),
    /// The command, run in the mount.
    pub(crate) op: Vec<String>,
    /// What it writes.
    pub(crate) items: Vec<Item>,
    /// Check every distinct crash state (else a sample of this many).
    pub(crate) sample: Option<usize>,
    /// Environment of the command under test.
    pub(crate) env: Vec<(&'static str, &'static str)>,
}

/// A check of a folder state under the mount, with the crash state's label.
pub(crate) type Check<'a> = &'a dyn Fn(&Path, &str);
/// Builds the command once the starting state is there.
pub(crate) type Op<'a> = &'a dyn Fn(&Path) -> Vec<String>;
/// Tells a third outcome from `(now, old, new)`.
pub(crate) type Interrupted<'a> = &'a dyn Fn(&Found, &Found, &Found) -> bool;

/// What a scenario adds to the common checks (the state files' scenarios, which need a server
/// the test started or an id the preparation made).
#[derive(Default)]
pub(crate) struct Hooks<'a> {
    /// More preparation, after [`Scenario::prepare`].
    pub(crate) setup: Option<&'a dyn Fn(&Path)>,
    /// The command, built once the starting state is there (instead of [`Scenario::op`]).
    pub(crate) op: Option<Op<'a>>,
    /// Checks every crash state once the next command has opened (and recovered) it, and the
    /// state after a second power cut during that recovery.
    pub(crate) check: Option<Check<'a>>,
    /// Checks every crash state as the power cut left it, before anything opens it.
    pub(crate) raw: Option<Check<'a>>,
    /// A third outcome the operation leaves by design, beside the old and the new state (an
    /// interrupted push: its journal is there for the next push): `(now, old, new)`.
    pub(crate) interrupted: Option<Interrupted<'a>>,
    /// What must work after the common follow-ups (rollback, the next import).
    pub(crate) follow: Option<Check<'a>>,
}

/// The changed export the follow-up imports use (and the re-import imports).
/// The fixture changed another way than [`changed_export`]: what the check after each crash
/// state imports, which always makes a version.
fn third_export() -> std::path::PathBuf {
    static THIRD: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    THIRD
        .get_or_init(|| {
            let text = std::fs::read_to_string(fixture("exports/full.xml")).unwrap();
            let third = text.replace("Domain controller", "DC node").replace("Forest ", "Grove ");
            let dir = crate::support::isolated_home().join("power-loss");
            std::fs::create_dir_all(&dir).unwrap();
            let p = dir.join("c.xml");
            std::fs::write(&p, third).unwrap();
            p
        })
        .clone()
}

pub(crate) fn changed_export() -> std::path::PathBuf {
    static CHANGED: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    CHANGED
        .get_or_init(|| {
            let text = std::fs::read_to_string(fixture("exports/full.xml")).unwrap();
            let changed = text.replace("Domain controller", "DC host").replace("Forest ", "Wood ");
            assert_ne!(changed, text);
            let dir = crate::support::isolated_home().join("power-loss");
            std::fs::create_dir_all(&dir).unwrap();
            let p = dir.join("b.xml");
            std::fs::write(&p, changed).unwrap();
            p
        })
        .clone()
}

pub(crate) fn import_args(export: &Path, target: &str) -> Vec<String> {
    vec![
        "import".into(),
        export.display().to_string(),
        "--target".into(),
        target.into(),
        "--secrets".into(),
        secrets(),
    ]
}

pub(crate) fn full() -> std::path::PathBuf {
    fixture("exports/full.xml")
}

pub(crate) fn import(root: &Path, export: &Path, target: &str) {
    let args = import_args(export, target);
    ok(root, &args.iter().map(String::as_str).collect::<Vec<_>>());
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// The outcome of one crash state for one item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Which {
    Old,
    New,
    /// The third outcome of [`Hooks::interrupted`].
    Interrupted,
}

/// Runs the scenario: records one run, then checks its crash states. Returns (crash points,
/// distinct states, states checked).
fn sweep(s: &Scenario, hooks: &Hooks<'_>) -> (usize, usize, usize, usize) {
    if let Err(missing) = powercut_fs::require() {
        panic!("{missing}");
    }
    let mut m = TestMount::new(PowerCutFs::new());
    (s.prepare)(m.path());
    if let Some(setup) = hooks.setup {
        setup(m.path());
    }
    let op = hooks.op.map_or_else(|| s.op.clone(), |op| op(m.path()));
    let old: Vec<Found> = s.items.iter().map(|i| find(m.path(), *i)).collect();
    m.fs.sync_all();
    let start = m.fs.durable();
    m.fs.start_recording();
    let out = cmd().current_dir(m.path()).args(&op).envs(s.env.iter().copied()).output().unwrap();
    assert!(
        out.status.success(),
        "{}: {}{}",
        s.name,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let rec = m.fs.stop_recording();
    let new: Vec<Found> = s.items.iter().map(|i| find(m.path(), *i)).collect();
    for (i, (o, n)) in old.iter().zip(&new).enumerate() {
        assert_ne!(o, n, "{}: the operation must change {:?}", s.name, s.items[i]);
    }
    m.fs.crash().unwrap();
    drop(m);
    let points = rec.calls.len();
    assert!(points > 3, "{}: only {points} changes recorded", s.name);
    assert!(rec.after(0) == &start, "{}: the recording starts from the prepared state", s.name);
    let distinct = rec.distinct();
    let last = distinct.iter().position(|(_, at)| at.contains(&points)).unwrap();
    let chosen: Vec<usize> = match s.sample.filter(|_| !full_sweep()) {
        Some(k) if k < distinct.len() => {
            let mut c: Vec<usize> =
                (0..k).map(|j| j * (distinct.len() - 1) / (k - 1).max(1)).collect();
            c.push(last);
            c.sort_unstable();
            c.dedup();
            c
        }
        _ => (0..distinct.len()).collect(),
    };
    let mut second = 0;
    for &d in &chosen {
        let (snap, at) = &distinct[d];
        let label = format!(
            "{}: power cut after change {} ({}) [and {} more with the same durable state]",
            s.name,
            at[0],
            if at[0] == 0 { "none" } else { rec.calls[at[0] - 1].what },
            at.len() - 1
        );
        let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            check_state(s, &op, hooks, snap, &old, &new, &label)
        }));
        let (whiches, cuts) = checked.unwrap_or_else(|failure| {
            // The crash state, as a folder to look at.
            let keep = tempfile::Builder::new().prefix("power-loss-").tempdir().unwrap().keep();
            let at = keep.join("state");
            match snap.write_to(&at) {
                Ok(()) => eprintln!("{label}: the crash state is kept in {}", at.display()),
                Err(e) => eprintln!("{label}: could not keep the crash state: {e}"),
            }
            std::panic::resume_unwind(failure)
        });
        second += cuts;
        if d == last {
            assert!(
                whiches.iter().all(|w| *w == Which::New),
                "{label}: the command exited 0, yet a power cut after it loses some of it: {whiches:?}"
            );
        }
    }
    (points, distinct.len(), chosen.len(), second)
}

fn full_sweep() -> bool {
    std::env::var_os("JIMSCTL_POWER_LOSS_FULL").is_some_and(|v| v == "1")
}

/// Mounts `snap` and checks every item: old or new exactly; then what follows works.
fn check_state(
    s: &Scenario,
    op: &[String],
    hooks: &Hooks<'_>,
    snap: &Snapshot,
    old: &[Found],
    new: &[Found],
    label: &str,
) -> (Vec<Which>, usize) {
    let m = TestMount::new(PowerCutFs::from_snapshot(snap));
    let root = m.path();
    let mut out = Vec::new();
    let mut found = Vec::new();
    let mut second_cuts = 0;
    for (i, item) in s.items.iter().enumerate() {
        if let (Some(raw), Item::Folder(_)) = (hooks.raw, item) {
            raw(root, &format!("{label}, as the power cut left it"));
        }
        // The next open recovers an interrupted commit: recorded, for a second power cut.
        m.fs.start_recording();
        let now = find(root, *item);
        let recovery = m.fs.stop_recording();
        let which = if now == new[i] {
            Which::New
        } else if now == old[i] {
            Which::Old
        } else if hooks.interrupted.is_some_and(|f| f(&now, &old[i], &new[i])) {
            Which::Interrupted
        } else {
            panic!(
                "{label}: {item:?} is neither as before nor as after the operation:\n{}",
                difference(&now, &old[i], &new[i])
            );
        };
        second_cuts += recovery_cut(*item, &recovery, &now, hooks, label);
        if let (Some(check), Item::Folder(_)) = (hooks.check, item) {
            check(root, label);
        }
        out.push(which);
        found.push(now);
    }
    // Every item is classified before any follow-up changes another.
    for (item, first) in s.items.iter().zip(&found) {
        // As it is now: a follow-up of another item (a batch run again) may have changed it.
        let now = if first.history.is_some() { find(root, *item) } else { first.clone() };
        follow_up(op, root, *item, &now, label);
    }
    if let Some(follow) = hooks.follow {
        follow(root, label);
    }
    // Nothing left over beside the folders once the next commands ran.
    for e in std::fs::read_dir(root).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.contains(".jims-new-"), "{label}: a temporary sibling is left: {name}");
    }
    (out, second_cuts)
}

/// A second power cut, during the recovery that the next open made (`recovery`, which left
/// `item` as `after`): at every distinct crash state of it, the open after that must leave the
/// folder exactly as the uninterrupted recovery did.
fn recovery_cut(
    item: Item,
    recovery: &powercut_fs::Recording,
    after: &Found,
    hooks: &Hooks<'_>,
    label: &str,
) -> usize {
    let Item::Folder(_) = item else { return 0 };
    let mut cuts = 0;
    let distinct = recovery.distinct();
    // The first is the state the recovery started from (checked already).
    for (snap, at) in distinct.iter().skip(1) {
        let m = TestMount::new(PowerCutFs::from_snapshot(snap));
        let again = find(m.path(), item);
        assert!(
            again == *after,
            "{label}, then a second power cut during the recovery, after its change {}: {item:?} \
             is not as the recovery leaves it:\n{}",
            at[0],
            difference(&again, after, after)
        );
        if let Some(check) = hooks.check {
            check(m.path(), &format!("{label}, then a second power cut after {}", at[0]));
        }
        cuts += 1;
    }
    cuts
}

/// What the next command does after a power cut: a managed folder rolls back (when it has an
/// earlier version) and takes the next import; a folder never made, or an output, takes the
/// same command again.
fn follow_up(op: &[String], root: &Path, item: Item, now: &Found, label: &str) {
    match item {
        Item::Folder(rel) => {
            if let Some(current) = now.current() {
                let first = now.history.as_ref().unwrap()["versions"][0]["version"].as_u64();
                if Some(current) != first {
                    let r = run(root, &["rollback", "--target", rel]);
                    assert_eq!(r.code, 0, "{label}: rollback of {rel}: {}", r.stderr);
                    let restored = archived(root, rel, current - 1);
                    let live = files(root, &format!("{rel}/cwd")).unwrap_or_default();
                    assert_eq!(
                        live, restored,
                        "{label}: rollback of {rel} restored another version"
                    );
                }
                // A third configuration, unlike both: an import that changes nothing makes no
                // version.
                import(root, &third_export(), rel);
                let after = find(root, item);
                assert_eq!(
                    after.versions(),
                    now.versions() + 1 + usize::from(Some(current) != first)
                );
            } else {
                // Never made managed: the same command makes it now.
                let r = run(root, &strs(op));
                assert_eq!(r.code, 0, "{label}: {op:?} again: {}", r.stderr);
                assert!(find(root, item).history.is_some(), "{label}");
            }
        }
        Item::Output(rel) => {
            let _ = std::fs::remove_dir_all(root.join(rel));
            let _ = std::fs::remove_file(root.join(rel));
            ok(root, &strs(op));
        }
    }
}

/// The native files of version `n` of the folder `rel`, by path under `cwd/` (the members of
/// its archive), as [`files`] lists a live `cwd/`.
fn archived(root: &Path, rel: &str, n: u64) -> Files {
    let dir = root.join(rel);
    let mut out = Files::new();
    let mut folders = std::collections::BTreeSet::new();
    for (path, bytes) in crate::support::archived_cwd(&dir, n) {
        let mut p = Path::new(&path).parent();
        while let Some(d) = p.filter(|d| !d.as_os_str().is_empty()) {
            folders.insert(format!("{}/", d.display()));
            p = d.parent();
        }
        out.insert(path, bytes);
    }
    for f in folders {
        out.insert(f, Vec::new());
    }
    out
}

/// What differs, by path, from both the old and the new state (names only: the files may hold
/// sealed passwords).
fn difference(now: &Found, old: &Found, new: &Found) -> String {
    let names = |f: &Found| f.files.clone().unwrap_or_default();
    let (n, o, w) = (names(now), names(old), names(new));
    let mut lines = Vec::new();
    for (label, other) in [("old", &o), ("new", &w)] {
        let extra: Vec<_> = n.keys().filter(|k| !other.contains_key(*k)).collect();
        let missing: Vec<_> = other.keys().filter(|k| !n.contains_key(*k)).collect();
        let changed: Vec<_> = n
            .iter()
            .filter(|(k, v)| other.get(*k).is_some_and(|x| x != *v))
            .map(|(k, _)| k)
            .collect();
        lines.push(format!(
            "against the {label}: extra {extra:?}, missing {missing:?}, different {changed:?}"
        ));
    }
    if now.history != old.history && now.history != new.history {
        lines.push(format!(
            "history: {}",
            now.history.as_ref().map_or("none".into(), |h| h.to_string())
        ));
    }
    lines.join("\n")
}

fn report(s: &Scenario) {
    report_with(s, &Hooks::default());
}

/// [`report`] with the scenario's [`Hooks`].
pub(crate) fn report_with(s: &Scenario, hooks: &Hooks<'_>) {
    let (points, distinct, checked, second) = sweep(s, hooks);
    eprintln!(
        "power loss: {}: {points} crash points (changes), {distinct} distinct durable states, \
         {checked} checked, and {second} second power cuts during the recovery",
        s.name
    );
}

#[test]
fn power_loss_server_init() {
    report(&Scenario {
        name: "server init (new folder)",
        prepare: |_| {},
        op: vec!["server".into(), "init".into(), "t".into()],
        items: vec![Item::Folder("t")],
        sample: None,
        env: vec![],
    });
}

#[test]
fn power_loss_server_init_in_an_empty_folder() {
    report(&Scenario {
        name: "server init (empty folder)",
        prepare: |root| std::fs::create_dir(root.join("t")).unwrap(),
        op: vec!["server".into(), "init".into(), "t".into()],
        items: vec![Item::Folder("t")],
        sample: None,
        env: vec![],
    });
}

#[test]
fn power_loss_server_init_adopt() {
    report(&Scenario {
        name: "server init --adopt",
        prepare: |root| {
            let st = std::process::Command::new("cp")
                .arg("-r")
                .arg(fixture("server-folder"))
                .arg(root.join("t"))
                .status()
                .unwrap();
            assert!(st.success());
        },
        op: vec!["server".into(), "init".into(), "--adopt".into(), "t".into()],
        items: vec![Item::Folder("t")],
        sample: None,
        env: vec![],
    });
}

#[test]
fn power_loss_fresh_import() {
    report(&Scenario {
        name: "import into a new folder",
        prepare: |_| {},
        op: import_args(&full(), "t"),
        items: vec![Item::Folder("t")],
        sample: None,
        env: vec![],
    });
}

#[test]
fn power_loss_reimport() {
    report(&Scenario {
        name: "re-import",
        prepare: |root| import(root, &full(), "t"),
        op: import_args(&changed_export(), "t"),
        items: vec![Item::Folder("t")],
        sample: None,
        env: vec![],
    });
}

/// A copy of the frozen folder of layout 2 (earlier versions as `history/N.tar`) at `root/t`.
fn prepare_layout2(root: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let st = std::process::Command::new("cp")
        .arg("-r")
        .arg(fixture("managed-layout2"))
        .arg(root.join("t"))
        .status()
        .unwrap();
    assert!(st.success());
    std::fs::remove_file(root.join("t/README.md")).unwrap();
    for key in ["server.key", "transport.key"] {
        let path = root.join("t/.jims-import").join(key);
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

#[test]
fn power_loss_reimport_into_a_layout_2_folder() {
    // The first commit into an older folder: the version it replaces is its first kept as a
    // folder, and server.toml says layout 3 once it is there.
    report(&Scenario {
        name: "re-import into a folder of layout 2",
        prepare: prepare_layout2,
        op: import_args(&changed_export(), "t"),
        items: vec![Item::Folder("t")],
        sample: None,
        env: vec![],
    });
}

#[test]
fn power_loss_rollback_to_a_layout_2_archive() {
    report(&Scenario {
        name: "rollback of a folder of layout 2 to an archived version",
        prepare: prepare_layout2,
        op: ["rollback", "--target", "t", "--to", "1"].map(String::from).to_vec(),
        items: vec![Item::Folder("t")],
        sample: None,
        env: vec![],
    });
}

#[test]
fn power_loss_rollback() {
    report(&Scenario {
        name: "rollback",
        prepare: |root| {
            import(root, &full(), "t");
            import(root, &changed_export(), "t");
        },
        op: vec!["rollback".into(), "--target".into(), "t".into()],
        items: vec![Item::Folder("t")],
        sample: None,
        env: vec![],
    });
}

/// The batch of the batch scenarios: two new folders (`a` beside, `b` in an empty folder) and
/// two re-imports (`c`, `d`), committed as one group.
fn prepare_batch(root: &Path) {
    std::fs::create_dir(root.join("targets")).unwrap();
    std::fs::create_dir(root.join("targets/b")).unwrap();
    import(root, &full(), "targets/c");
    import(root, &full(), "targets/d");
    let exports = root.join("exports");
    std::fs::create_dir(&exports).unwrap();
    for name in ["a", "b"] {
        std::fs::copy(full(), exports.join(format!("{name}.xml"))).unwrap();
    }
    for name in ["c", "d"] {
        std::fs::copy(changed_export(), exports.join(format!("{name}.xml"))).unwrap();
    }
}

fn batch_scenario(name: &'static str, env: Vec<(&'static str, &'static str)>) -> Scenario {
    Scenario {
        name,
        prepare: prepare_batch,
        op: vec![
            "batch".into(),
            "--exports".into(),
            "exports".into(),
            "--targets".into(),
            "targets".into(),
            "--secrets".into(),
            secrets(),
        ],
        items: ["targets/a", "targets/b", "targets/c", "targets/d"].map(Item::Folder).to_vec(),
        sample: Some(12),
        env,
    }
}

#[test]
fn power_loss_batch_group() {
    // On a FUSE filesystem, which syncfs never reaches: the group syncs file by file.
    report(&batch_scenario("batch (a group of four)", vec![]));
}

#[test]
fn power_loss_batch_group_with_syncfs_as_on_a_disk() {
    // The store's syncfs calls announced to the filesystem (through the fault hook), which acts
    // on them as a disk would: the order of the group's phases is what is tested.
    report(&batch_scenario(
        "batch (a group of four, syncfs as on a disk)",
        vec![("JIMSCTL_FAULT_SYNCFS_XATTR", "1")],
    ));
}

#[test]
fn power_loss_reimport_without_rename_exchange() {
    // The switch by two renames, where the kernel has no RENAME_EXCHANGE.
    report(&Scenario {
        name: "re-import without RENAME_EXCHANGE",
        prepare: |root| import(root, &full(), "t"),
        op: import_args(&changed_export(), "t"),
        items: vec![Item::Folder("t")],
        sample: None,
        env: vec![("JIMSCTL_FAULT_NO_EXCHANGE", "1")],
    });
}

#[test]
fn power_loss_import_into_an_empty_folder() {
    report(&Scenario {
        name: "import into an empty folder",
        prepare: |root| std::fs::create_dir(root.join("t")).unwrap(),
        op: import_args(&full(), "t"),
        items: vec![Item::Folder("t")],
        sample: None,
        env: vec![],
    });
}

#[test]
fn power_loss_convert_to_a_file() {
    report(&Scenario {
        name: "convert to a file",
        prepare: |_| {},
        op: vec!["convert".into(), full().display().to_string(), "out.json".into()],
        items: vec![Item::Output("out.json")],
        sample: None,
        env: vec![],
    });
}

#[test]
fn power_loss_export_to_a_file() {
    report(&Scenario {
        name: "export to a file",
        prepare: |root| import(root, &full(), "t"),
        op: vec![
            "export".into(),
            "--target".into(),
            "t".into(),
            "--out".into(),
            "out.xml".into(),
            "--force".into(),
        ],
        items: vec![Item::Output("out.xml")],
        sample: None,
        env: vec![],
    });
}

#[test]
fn power_loss_export_over_an_earlier_export() {
    // The earlier file must come back whole, or the new one.
    report(&Scenario {
        name: "export over an earlier export",
        prepare: |root| {
            import(root, &full(), "t");
            ok(root, &["export", "--target", "t", "--out", "out.xml"]);
            import(root, &changed_export(), "t");
        },
        op: vec![
            "export".into(),
            "--target".into(),
            "t".into(),
            "--out".into(),
            "out.xml".into(),
            "--force".into(),
        ],
        items: vec![Item::Output("out.xml")],
        sample: None,
        env: vec![],
    });
}

#[test]
fn power_loss_convert_to_a_folder() {
    report(&Scenario {
        name: "convert to a folder",
        prepare: |_| {},
        op: vec![
            "convert".into(),
            full().display().to_string(),
            "out".into(),
            "--to".into(),
            "folder".into(),
        ],
        items: vec![Item::Output("out")],
        sample: None,
        env: vec![],
    });
}

#[test]
fn power_loss_remote_set() {
    report(&Scenario {
        name: "remote set",
        prepare: |root| import(root, &full(), "t"),
        op: [
            "remote",
            "set",
            "--target",
            "t",
            "--url",
            "https://127.0.0.1:1505",
            "--user",
            "admin",
            "--pin-sha256",
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        ]
        .map(String::from)
        .to_vec(),
        items: vec![Item::Folder("t")],
        sample: None,
        env: vec![],
    });
}
