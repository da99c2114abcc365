//! Issue 12, items 6, 8 and 9 (sources), and issue 15 item 2, through the real binary: cheap
//! checks come first (the target, then the export, before any secret source is opened or
//! asked); nothing is held while a source is asked, so another import, `history`, `export` and
//! `key id` of the same folder go on, and the slow import's commit finds the folder changed
//! (exit 5, nothing written); a plugin past `--secrets-timeout` fails and is not called again;
//! passwords that could not be written back are refused; `cmd:` sees no `JIMS_SECRET_*`
//! variable and no odd key, and its error output only with `--verbose`; secrets files that are
//! no regular files, a readable `--source-key`; a batch's missing parents and nested targets;
//! and a lock that no removal of a file can take from its holder.

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::hostile::assert_no_password;
use crate::support::{Run, cmd, fixture, full_secrets, import_into, run, run_in, s, tmp, tree};

/// Runs `cmd()` with `args` in the fixtures folder and `env` set.
fn run_env(env: &[(&str, OsString)], args: &[&str]) -> Run {
    let mut c = cmd();
    c.current_dir(crate::support::fixtures());
    for (k, v) in env {
        c.env(k, v);
    }
    Run::of(c.args(args).output().unwrap())
}

/// A `cmd:` SPEC running the shell `body` through `sh`, which first logs the key it is asked
/// (one a line, newlines inside a key shown as `\n`) to `log`.
fn logged_cmd(dir: &Path, name: &str, log: &Path, body: &str) -> String {
    let script = dir.join(name);
    std::fs::write(
        &script,
        format!(
            "printf '%s' \"$JIMS_SECRET_KEYS\" | tr '\\n' '~' >> '{}'\necho >> '{}'\n{body}\n",
            log.display(),
            log.display()
        ),
    )
    .unwrap();
    format!("cmd:sh {}", script.display())
}

fn logged(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log).unwrap_or_default().lines().map(str::to_owned).collect()
}

/// The fixture imported into `dir/t` (version 1).
fn imported(dir: &Path) -> PathBuf {
    let t = dir.join("t");
    // An older state of the fixture's server, so that importing the fixture (or its partial
    // export) changes something and makes a version (an import that changes nothing makes none).
    let old = crate::support::old_full(dir);
    let r = import_into(s(&old), &t, &["--secrets", &full_secrets()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    t
}

#[test]
fn a_broken_export_is_reported_before_any_secret_source_is_opened() {
    let dir = tmp();
    let log = dir.path().join("asked.log");
    let spec = logged_cmd(dir.path(), "pw.sh", &log, "echo Pw-x");
    let target = dir.path().join("t");
    for export in ["bad/truncated.xml", "bad/malformed.json", "bad/duplicate-ids.xml"] {
        for args in [&["import"][..], &["import", "--dry-run"], &["passwords"]] {
            let mut all = args.to_vec();
            all.extend([export, "--target", s(&target)]);
            all.extend(["--secrets", "file:/no/such/secrets.toml", "--secrets", &spec]);
            all.extend(["--secrets", "plugin:no-such-plugin"]);
            let r = run(&all);
            assert_eq!(r.code, 2, "{all:?}: {}", r.stderr);
            assert!(r.stderr.contains(export.rsplit('/').next().unwrap()), "{all:?}: {}", r.stderr);
            assert!(!r.stderr.contains("secrets.toml"), "{all:?}: {}", r.stderr);
            assert!(!r.stderr.contains("no-such-plugin"), "{all:?}: {}", r.stderr);
        }
    }
    assert!(logged(&log).is_empty(), "the cmd: source ran");
    assert!(!target.exists());
    // A malformed SPEC is an argument: refused at once, before the export is read.
    let r = import_into("bad/truncated.xml", &target, &["--secrets", "vault:x"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("vault:x") && !r.stderr.contains("truncated"), "{}", r.stderr);
    // A good export with a missing secrets file: now the file is named.
    let r = import_into("exports/full.xml", &target, &["--secrets", "file:/no/such/secrets.toml"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("/no/such/secrets.toml"), "{}", r.stderr);
}

#[test]
fn a_target_that_cannot_be_used_is_reported_before_a_cmd_source_runs() {
    let dir = tmp();
    let log = dir.path().join("asked.log");
    let spec = logged_cmd(dir.path(), "pw.sh", &log, "echo Pw-x");
    let not_a_server = dir.path().join("other");
    std::fs::create_dir(&not_a_server).unwrap();
    std::fs::write(not_a_server.join("README"), "mine").unwrap();
    let cases = [
        (dir.path().join("no/such/parent/t"), "its parent folder"),
        (not_a_server, "not a managed server folder"),
    ];
    for (target, says) in &cases {
        // A broken export too: the target is checked first.
        for export in ["exports/full.xml", "bad/truncated.xml"] {
            for dry in [false, true] {
                let mut args = vec!["import", export, "--target", s(target), "--secrets", &spec];
                if dry {
                    args.push("--dry-run");
                }
                let r = run(&args);
                assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
                assert!(r.stderr.contains(says), "{args:?}: {}", r.stderr);
            }
        }
    }
    assert!(logged(&log).is_empty(), "the cmd: source ran: {:?}", logged(&log));
    assert!(!dir.path().join("no").exists());
}

/// A `cmd:` source that blocks (once `started` appears, until `release` does) the first time it
/// is asked, and answers every key with a password at once after that.
fn blocking_cmd(dir: &Path) -> (String, PathBuf, PathBuf) {
    let started = dir.join("started");
    let release = dir.join("release");
    let script = dir.join("block.sh");
    std::fs::write(
        &script,
        format!(
            "cat > /dev/null\nif [ ! -e '{r}' ]; then : > '{s}'; while [ ! -e '{r}' ]; do sleep 0.05; done; fi\necho Pw-blocked\n",
            r = release.display(),
            s = started.display()
        ),
    )
    .unwrap();
    (format!("cmd:sh {}", script.display()), started, release)
}

fn wait_for(path: &Path, child: &mut Child) {
    let until = Instant::now() + Duration::from_secs(60);
    while !path.exists() {
        assert!(child.try_wait().unwrap().is_none(), "the import ended before its source blocked");
        assert!(Instant::now() < until, "the source never started");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn an_import_waiting_on_its_source_holds_nothing_and_then_finds_the_folder_changed() {
    let dir = tmp();
    let t = imported(dir.path());
    let (spec, started, release) = blocking_cmd(dir.path());
    let mut slow = cmd()
        .current_dir(crate::support::fixtures())
        .args(["import", "exports/full.xml", "--target", s(&t), "--secrets", &spec])
        .args(["--secrets-timeout", "120"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&started, &mut slow);

    // While it waits: every reader, a dry run and another import of the same folder go on.
    let started_at = Instant::now();
    let r = run(&["history", "--target", s(&t), "--format", "json"]);
    assert_eq!((r.code, r.json()["current"].as_u64()), (0, Some(1)), "{}", r.stderr);
    let out = dir.path().join("out.xml");
    let r = run(&["export", "--target", s(&t), "--out", s(&out)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(run(&["key", "id", "--target", s(&t)]).code, 0);
    let r =
        run(&["passwords", "exports/full.xml", "--target", s(&t), "--secrets", &full_secrets()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = import_into("exports/partial.xml", &t, &["--dry-run", "--secrets", &full_secrets()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r =
        import_into("exports/partial.xml", &t, &["--accept-warning", "--secrets", &full_secrets()]);
    assert_eq!(r.code, 0, "another import while the first waits: {}", r.stderr);
    assert!(started_at.elapsed() < Duration::from_secs(30));
    let after_other = tree(&t);

    // Released, the slow import finds version 2 where it planned against 1: busy, nothing
    // written.
    std::fs::write(&release, "").unwrap();
    let out = slow.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(stderr.contains("changed") && stderr.contains("version 2"), "{stderr}");
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert_no_password("the slow import", &stderr);
    assert_eq!(tree(&t), after_other, "the slow import wrote");
    let r = run(&["history", "--target", s(&t), "--format", "json"]);
    assert_eq!(r.json()["current"], 2);
}

#[test]
fn two_imports_creating_one_folder_while_one_waits_leave_the_other_s() {
    let dir = tmp();
    let t = dir.path().join("new");
    let (spec, started, release) = blocking_cmd(dir.path());
    let mut slow = cmd()
        .current_dir(crate::support::fixtures())
        .args(["import", "exports/full.xml", "--target", s(&t), "--secrets", &spec])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&started, &mut slow);
    assert!(!t.exists(), "nothing is made while the source is asked");
    let r = import_into("exports/full.xml", &t, &["--secrets", &full_secrets()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let made = tree(&t);
    std::fs::write(&release, "").unwrap();
    let out = slow.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(tree(&t), made);
}

/// A plugin folder holding copies of the test plugins `sleepy` and `raw_bytes` (built by
/// `cargo build` once per process, a no-op after `cargo test --workspace`).
fn plugin_folder() -> &'static Path {
    static FOLDER: OnceLock<tempfile::TempDir> = OnceLock::new();
    FOLDER
        .get_or_init(|| {
            let exe = std::env::current_exe().unwrap();
            let profile_dir = exe.parent().and_then(Path::parent).unwrap().to_owned();
            let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
                Some("debug") | None => "dev".to_owned(),
                Some(other) => other.to_owned(),
            };
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let status = Command::new(cargo)
                .args(["build", "--quiet", "--profile", &profile, "--examples"])
                .args(["-p", "test-plugins"])
                .status()
                .unwrap();
            assert!(status.success(), "building the test plugins failed");
            let folder = tmp();
            for name in ["sleepy", "raw_bytes"] {
                let file = format!(
                    "{}{name}{}",
                    std::env::consts::DLL_PREFIX,
                    std::env::consts::DLL_SUFFIX
                );
                let copy = folder.path().join(&file);
                std::fs::copy(profile_dir.join("examples").join(&file), &copy).unwrap();
                std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
            folder
        })
        .path()
}

fn with_plugins() -> Vec<(&'static str, OsString)> {
    vec![("JIMSCTL_PLUGIN_PATH", plugin_folder().as_os_str().to_owned())]
}

#[test]
fn a_plugin_past_its_time_limit_fails_its_source_and_is_not_called_again() {
    let dir = tmp();
    let t = dir.path().join("t");
    let log = dir.path().join("calls.log");
    let spec = format!("plugin:sleepy:resolve:30000:{}", log.display());
    // Built (and copied) before the clock starts.
    let plugins = with_plugins();
    let started = Instant::now();
    let r = run_env(
        &plugins,
        &[
            "import",
            "exports/full.xml",
            "--target",
            s(&t),
            "--secrets",
            &spec,
            "--secrets-timeout",
            "0.5",
        ],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    assert!(r.stderr.contains("plugin:sleepy"), "{}", r.stderr);
    assert!(r.stderr.contains("no answer within 500 ms"), "{}", r.stderr);
    assert!(r.stderr.contains("--secrets-timeout"), "{}", r.stderr);
    assert!(!t.exists());

    // In a batch, the library is given up on once: the other imports fail at once, without
    // calling it.
    std::fs::remove_file(&log).ok();
    let manifest = dir.path().join("m.toml");
    let mut text = String::new();
    for n in 0..3 {
        text.push_str(&format!(
            "[[import]]\nexport = {:?}\ntarget = {:?}\n",
            fixture("exports/full.xml"),
            dir.path().join(format!("b{n}"))
        ));
    }
    std::fs::write(&manifest, text).unwrap();
    let started = Instant::now();
    let r = run_env(
        &plugins,
        &[
            "batch",
            "--manifest",
            s(&manifest),
            "-j",
            "1",
            "--secrets",
            &spec,
            "--secrets-timeout",
            "0.5",
            "--format",
            "json",
        ],
    );
    assert_eq!(r.code, 6, "{}{}", r.stdout, r.stderr);
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    let report = r.json();
    let entries = report["imports"].as_array().unwrap();
    assert!(entries.iter().all(|e| e["exit_code"] == 1), "{report:#}");
    assert!(entries[0]["error"].as_str().unwrap().contains("no answer within 500 ms"));
    assert!(entries[2]["error"].as_str().unwrap().contains("not called again"), "{report:#}");
    let calls = std::fs::read_to_string(&log).unwrap();
    assert_eq!(calls.lines().filter(|l| l.starts_with("resolve")).count(), 1, "{calls}");
}

#[test]
fn passwords_a_configuration_cannot_hold_are_refused_naming_key_and_source() {
    let dir = tmp();
    let t = dir.path().join("t");
    let d = dir.path();
    // cmd: printing bytes that are not UTF-8, or a NUL.
    let bad_utf8 = logged_cmd(d, "utf8.sh", &d.join("a.log"), "printf 'Pw-\\377\\376-bad'");
    let nul = logged_cmd(d, "nul.sh", &d.join("b.log"), "printf 'Pw-\\000-nul'");
    // file: a JSON \u0000; dir: a file that is not UTF-8.
    let json = d.join("nul.json");
    std::fs::write(&json, r#"{"templates": {"dc-readers": "Pw-\u0000-nul"}}"#).unwrap();
    let secrets_dir = d.join("dir");
    std::fs::create_dir_all(secrets_dir.join("templates")).unwrap();
    std::fs::write(secrets_dir.join("templates/dc-readers"), b"Pw-\xff-bad").unwrap();
    type Case<'a> = (String, Vec<(&'a str, OsString)>, &'a str);
    let cases: Vec<Case<'_>> = vec![
        (bad_utf8, vec![], "`cmd`"),
        (nul, vec![], "`cmd`"),
        (format!("file:{}", json.display()), vec![], "`file`"),
        (format!("dir:{}", secrets_dir.display()), vec![], "`dir`"),
        (
            "env".to_owned(),
            vec![("JIMS_SECRET_TEMPLATES_DC_READERS", OsString::from_vec(b"Pw-\xff".to_vec()))],
            "`env`",
        ),
        ("plugin:raw_bytes:50770041ff".to_owned(), with_plugins(), "`plugin:raw_bytes`"),
        ("plugin:raw_bytes:507700".to_owned(), with_plugins(), "`plugin:raw_bytes`"),
    ];
    for (spec, env, kind) in cases {
        let r =
            run_env(&env, &["import", "exports/full.xml", "--target", s(&t), "--secrets", &spec]);
        assert_eq!(r.code, 2, "{spec}: {}", r.stderr);
        assert!(r.stderr.contains(kind), "{spec}: {}", r.stderr);
        assert!(
            r.stderr.contains("is not UTF-8 text") || r.stderr.contains("holds a NUL character"),
            "{spec}: {}",
            r.stderr
        );
        assert!(r.stderr.contains("while looking up `"), "{spec}: names the key: {}", r.stderr);
        assert!(!r.stderr.contains("Pw-") && !r.stderr.contains("bad"), "{spec}: {}", r.stderr);
        assert!(!t.exists(), "{spec} wrote");
    }
}

#[test]
fn a_cmd_source_inherits_no_jims_secret_variable() {
    let dir = tmp();
    let seen = dir.path().join("env.txt");
    let spec = logged_cmd(
        dir.path(),
        "env.sh",
        &dir.path().join("asked.log"),
        &format!("env > '{}'; echo Pw-from-cmd", seen.display()),
    );
    let r = run_env(
        &[
            ("JIMS_SECRET_TEMPLATES_NOT_ASKED", "Pw-env-must-not-leak".into()),
            ("JIMS_SECRET_EVENT_SOURCES_DC1", "Pw-env-must-not-leak-2".into()),
        ],
        &["import", "exports/full.xml", "--target", s(&dir.path().join("t")), "--secrets", &spec],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let env = std::fs::read_to_string(&seen).unwrap();
    assert!(!env.contains("Pw-env-must-not-leak"), "{env}");
    assert!(
        env.lines().all(|l| !l.starts_with("JIMS_SECRET_") || l.starts_with("JIMS_SECRET_KEYS="))
    );
    assert!(env.contains("JIMS_SECRET_KEYS="), "{env}");
}

#[test]
fn a_failing_cmd_s_error_output_is_shown_only_with_verbose_cut_and_escaped() {
    let dir = tmp();
    let t = dir.path().join("t");
    let long = "y".repeat(1000);
    let spec = logged_cmd(
        dir.path(),
        "fail.sh",
        &dir.path().join("asked.log"),
        &format!("printf 'Pw-leaked-by-stderr \\033[2J\\033]0;owned\\007 {long}' >&2; exit 9"),
    );
    let args = ["import", "exports/full.xml", "--target", s(&t), "--secrets", &spec];
    let r = run(&args);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(!r.stderr.contains("Pw-leaked-by-stderr"), "{}", r.stderr);
    assert!(r.stderr.contains("--verbose"), "{}", r.stderr);
    let r = run(&[&args[..], &["--verbose"]].concat());
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("Pw-leaked-by-stderr"), "{}", r.stderr);
    assert!(!r.stderr.contains('\x1b') && !r.stderr.contains('\x07'), "{:?}", r.stderr);
    assert!(r.stderr.contains("\\x1b[2J\\x1b]0;owned\\x07"), "{}", r.stderr);
    assert!(!r.stderr.contains(&"y".repeat(300)) && r.stderr.contains(&"y".repeat(200)));
    assert!(r.stderr.contains('…'), "{}", r.stderr);
    // A batch takes --verbose too.
    let manifest = dir.path().join("m.toml");
    std::fs::write(
        &manifest,
        format!("[[import]]\nexport = {:?}\ntarget = {:?}\n", fixture("exports/full.xml"), t),
    )
    .unwrap();
    let r = run(&["batch", "--manifest", s(&manifest), "--secrets", &spec, "--format", "json"]);
    assert!(!r.stdout.contains("Pw-leaked-by-stderr"), "{}", r.stdout);
    let r = run(&[
        "batch",
        "--manifest",
        s(&manifest),
        "--secrets",
        &spec,
        "--format",
        "json",
        "--verbose",
    ]);
    assert!(r.stdout.contains("Pw-leaked-by-stderr"), "{}", r.stdout);
}

#[test]
fn keys_that_could_be_misread_never_reach_a_cmd_source() {
    let dir = tmp();
    let log = dir.path().join("asked.log");
    let spec = logged_cmd(dir.path(), "pw.sh", &log, "echo Pw-x");
    let text = std::fs::read_to_string(fixture("exports/partial.xml")).unwrap();
    for (n, id) in ["..", ".", "A&#10;B"].iter().enumerate() {
        let export = dir.path().join(format!("odd{n}.xml"));
        std::fs::write(&export, text.replace("id=\"AD4\"", &format!("id=\"{id}\""))).unwrap();
        let r = import_into(
            s(&export),
            &dir.path().join(format!("t{n}")),
            &["--accept-warning", "--secrets", &spec],
        );
        // Refused as an id (exit 2), or that key never asked: the row is answered by its
        // template's key (exit 0) or stays missing (exit 3).
        assert!([0, 2, 3].contains(&r.code), "{id}: {}", r.stderr);
    }
    let asked = logged(&log);
    assert!(!asked.is_empty());
    for key in &asked {
        assert!(
            !key.contains('~') && key.split('/').all(|p| !p.is_empty() && p != "." && p != ".."),
            "asked for {key:?}"
        );
    }
}

#[test]
fn secrets_files_that_are_no_regular_files_are_refused_and_readable_ones_warned_of() {
    let dir = tmp();
    let t = dir.path().join("t");
    let zero = dir.path().join("zero.json");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    let fifo = dir.path().join("fifo.toml");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    for file in [&zero, &fifo] {
        let started = Instant::now();
        let r = import_into(
            "exports/full.xml",
            &t,
            &["--secrets", &format!("file:{}", file.display())],
        );
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(r.stderr.contains("not a regular file"), "{}", r.stderr);
        assert!(started.elapsed() < Duration::from_secs(10));
    }
    // Readable by every user: imported, with a warning.
    let copy = dir.path().join("s.toml");
    std::fs::copy(fixture("exports/full.secrets.toml"), &copy).unwrap();
    for (mode, warned) in [(0o644, true), (0o600, false)] {
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(mode)).unwrap();
        let target = dir.path().join(format!("t{mode:o}"));
        let r = import_into(
            "exports/full.xml",
            &target,
            &["--secrets", &format!("file:{}", copy.display())],
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        let said = r.stderr.contains("warning:") && r.stderr.contains("chmod 600");
        assert_eq!(said, warned, "mode {mode:o}: {}", r.stderr);
    }
}

#[test]
fn a_source_key_other_users_can_read_is_refused() {
    let dir = tmp();
    let other = imported(dir.path());
    let key = dir.path().join("other.key");
    std::fs::copy(other.join(".jims-import/server.key"), &key).unwrap();
    let export = dir.path().join("sealed.xml");
    let r = run(&["export", "--target", s(&other), "--out", s(&export)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for mode in [0o644, 0o640, 0o604, 0o620] {
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(mode)).unwrap();
        let r = import_into(s(&export), &dir.path().join("t2"), &["--source-key", s(&key)]);
        assert_eq!(r.code, 2, "mode {mode:o}: {}", r.stderr);
        assert!(r.stderr.contains("chmod 600"), "{}", r.stderr);
    }
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let r = import_into(s(&export), &dir.path().join("t2"), &["--source-key", s(&key)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let fifo = dir.path().join("fifo.key");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    std::fs::set_permissions(&fifo, std::fs::Permissions::from_mode(0o600)).unwrap();
    let r = import_into(s(&export), &dir.path().join("t3"), &["--source-key", s(&fifo)]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("not a regular file"), "{}", r.stderr);
}

#[test]
fn a_batch_refuses_nested_targets_naming_both_and_makes_no_parent() {
    let dir = tmp();
    let base = dir.path();
    std::fs::create_dir(base.join("t")).unwrap();
    std::os::unix::fs::symlink(base.join("t"), base.join("link")).unwrap();
    let full = fixture("exports/full.xml");
    for (a, b) in [("t/a", "t/a/cwd"), ("t/a", "link/a/.jims-import/x"), ("t", "t/b")] {
        let manifest = base.join("m.toml");
        std::fs::write(
            &manifest,
            format!(
                "[[import]]\nexport = {full:?}\ntarget = \"{a}\"\n\n[[import]]\nexport = {full:?}\ntarget = \"{b}\"\n"
            ),
        )
        .unwrap();
        let r = run_in(base, &["batch", "--manifest", "m.toml", "--secrets", &full_secrets()]);
        assert_eq!(r.code, 2, "{a} and {b}: {}{}", r.stdout, r.stderr);
        assert!(r.stderr.contains(a) && r.stderr.contains(b), "{}", r.stderr);
        assert!(!base.join("t/a").exists() && !base.join("t/b").exists(), "{a}, {b}: written");
    }
    // A missing parent: that entry fails (exit 2), the other is imported, nothing else made.
    let manifest = base.join("m.toml");
    std::fs::write(
        &manifest,
        format!(
            "[[import]]\nexport = {full:?}\ntarget = \"no/such/x\"\n\n[[import]]\nexport = {full:?}\ntarget = \"t/ok\"\n"
        ),
    )
    .unwrap();
    let r = run_in(
        base,
        &["batch", "--manifest", "m.toml", "--secrets", &full_secrets(), "--format", "json"],
    );
    assert_eq!(r.code, 6, "{}{}", r.stdout, r.stderr);
    let report = r.json();
    assert_eq!(report["imports"][0]["exit_code"], 2);
    assert!(report["imports"][0]["error"].as_str().unwrap().contains("parent folder"));
    assert_eq!(report["imports"][1]["exit_code"], 0);
    assert!(!base.join("no").exists());
}

/// An import of `export` into `t` stopped before its `n`-th filesystem step: `None` when it
/// ended before reaching it. The caller kills and waits for the child it is handed.
#[allow(clippy::zombie_processes, reason = "the stopped child is handed to the caller")]
fn paused_import(t: &Path, export: &Path, n: u64) -> Option<Child> {
    let mut child = cmd()
        .args(["import", s(export), "--target", s(t), "--secrets", &full_secrets()])
        .env("JIMSCTL_FAULT_PAUSE", n.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        if err.read_line(&mut line).unwrap() == 0 {
            assert!(child.wait().unwrap().success(), "the import failed");
            return None;
        }
        if line.contains("fault-injection: paused at step") {
            return Some(child);
        }
    }
}

/// A changed copy of the full export.
fn changed_export(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(fixture("exports/full.xml")).unwrap();
    let b = dir.join("b.xml");
    std::fs::write(&b, text.replace("Domain controller", "DC host")).unwrap();
    b
}

#[test]
fn removing_a_lock_file_cannot_let_a_second_writer_in() {
    let dir = tmp();
    let t = imported(dir.path());
    let b = changed_export(dir.path());
    let before = tree(&t.join("cwd"));
    // Stopped in the middle of its commit, holding the folder.
    let mut writer = paused_import(&t, &b, 5).expect("a commit has more than 5 steps");
    // What an operator might do to a "stale" lock: remove any lock file there is.
    let _ = std::fs::remove_file(t.join(".jims-import/lock"));
    std::fs::write(t.join(".jims-import/lock"), "").unwrap();
    std::fs::remove_file(t.join(".jims-import/lock")).unwrap();
    let r =
        import_into("exports/partial.xml", &t, &["--accept-warning", "--secrets", &full_secrets()]);
    assert_eq!(r.code, 5, "a second writer got in: {}", r.stderr);
    let r = run(&["rollback", "--target", s(&t)]);
    assert_eq!(r.code, 5, "{}", r.stderr);
    writer.kill().unwrap();
    writer.wait().unwrap();
    // The killed commit is undone by the next open; the folder is as it was.
    let r = run(&["history", "--target", s(&t), "--format", "json"]);
    assert_eq!(r.json()["current"], 1, "{}", r.stderr);
    assert_eq!(tree(&t.join("cwd")), before);
}

#[test]
fn readers_go_on_at_every_step_of_a_commit() {
    let dir = tmp();
    let template = imported(dir.path());
    let b = changed_export(dir.path());
    let mut sides = (false, false);
    for n in 1..300u64 {
        let t = dir.path().join(format!("n{n}"));
        let copied = Command::new("cp").arg("-a").arg(&template).arg(&t).status().unwrap();
        assert!(copied.success());
        let Some(mut writer) = paused_import(&t, &b, n) else {
            assert!(sides.0 && sides.1, "both sides of the switch were read");
            return;
        };
        let started = Instant::now();
        let r = run(&["history", "--target", s(&t), "--format", "json"]);
        assert_eq!(r.code, 0, "step {n}: {}", r.stderr);
        let current = r.json()["current"].as_u64().unwrap();
        let out = dir.path().join(format!("n{n}.xml"));
        let r = run(&["export", "--target", s(&t), "--out", s(&out), "--passwords", "omit"]);
        assert_eq!(r.code, 0, "step {n}: {}", r.stderr);
        let exported = std::fs::read_to_string(&out).unwrap();
        match current {
            1 => {
                assert!(!exported.contains("DC host"), "step {n}: history 1, export new");
                sides.0 = true;
            }
            2 => {
                assert!(exported.contains("DC host"), "step {n}: history 2, export old");
                sides.1 = true;
            }
            other => panic!("step {n}: version {other}"),
        }
        assert_eq!(run(&["key", "id", "--target", s(&t)]).code, 0, "step {n}");
        assert!(started.elapsed() < Duration::from_secs(20), "step {n}: readers waited");
        writer.kill().unwrap();
        writer.wait().unwrap();
    }
    panic!("the import never ended");
}

#[test]
fn a_batch_entry_s_broken_export_is_reported_before_its_own_sources_are_opened() {
    let dir = tmp();
    let exports = dir.path().join("exports");
    std::fs::create_dir(&exports).unwrap();
    std::fs::copy(fixture("bad/truncated.xml"), exports.join("broken.xml")).unwrap();
    std::fs::copy(fixture("exports/full.xml"), exports.join("good.xml")).unwrap();
    // No secrets file beside either export.
    let r = run(&[
        "batch",
        "--exports",
        s(&exports),
        "--targets",
        s(&dir.path().join("targets")),
        "--secrets",
        "file:{dir}/{name}.secrets.toml",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 6, "{}{}", r.stdout, r.stderr);
    let report = r.json();
    let broken = &report["imports"][0];
    assert_eq!(broken["exit_code"], 2, "{report:#}");
    let error = broken["error"].as_str().unwrap();
    assert!(error.contains("broken.xml") && !error.contains("secrets.toml"), "{error}");
    let good = &report["imports"][1];
    assert!(good["error"].as_str().unwrap().contains("good.secrets.toml"), "{report:#}");
}

#[test]
fn a_person_thinking_at_the_prompt_holds_nothing() {
    use std::io::{Read, Write};
    use std::sync::{Arc, Mutex};
    let dir = tmp();
    let t = imported(dir.path());
    // The full export again, with its passwords asked on a (pseudo-)terminal.
    let line = format!(
        "{} import exports/full.xml --target '{}' --secrets prompt",
        env!("CARGO_BIN_EXE_jimsctl"),
        t.display()
    );
    let mut child = Command::new("script")
        .args(["-q", "-e", "-f", "-c", &line, "/dev/null"])
        .current_dir(crate::support::fixtures())
        .env("TERM", "xterm")
        .env("COLUMNS", "160")
        .env("LINES", "60")
        .env("XDG_CONFIG_HOME", crate::support::isolated_home().join("config"))
        .env("XDG_STATE_HOME", crate::support::isolated_home().join("state"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("`script` (util-linux) runs");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let screen = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&screen);
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            seen.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    let until = Instant::now() + Duration::from_secs(30);
    while !String::from_utf8_lossy(&screen.lock().unwrap()).contains("Remaining:") {
        assert!(Instant::now() < until, "the dialog never showed");
        std::thread::sleep(Duration::from_millis(50));
    }
    // The dialog waits for a person: the folder is read, exported and imported meanwhile.
    let r = run(&["history", "--target", s(&t)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(&["export", "--target", s(&t), "--out", s(&dir.path().join("o.json"))]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r =
        import_into("exports/partial.xml", &t, &["--accept-warning", "--secrets", &full_secrets()]);
    assert_eq!(r.code, 0, "an import while a person is at the prompt: {}", r.stderr);
    // Esc: cancelled, nothing written by the prompting import.
    let after = tree(&t);
    let _ = stdin.write_all(b"\x1b").and_then(|()| stdin.flush());
    let until = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < until, "the prompt did not end");
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(stdin);
    let _ = reader.join();
    assert_eq!(tree(&t), after);
}
