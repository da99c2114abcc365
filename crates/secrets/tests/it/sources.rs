//! The built-in sources: each one's happy path and every bad input.

use std::ffi::OsString;
use std::path::Path;
use std::time::{Duration, Instant};

use model::SecretKey;
use secrets::{
    Answer, DirSource, EnvSource, Error, ErrorKind, MissingReason, Request, Row, SecretSource,
    SourceErrorKind, SourceOptions, builtin_source,
};

/// A row for event source `DC1` with a template and an account.
fn row() -> Row {
    Row {
        index: 3,
        type_label: "Event Source",
        data_type: "domain_controller".into(),
        data: "10.0.0.5".into(),
        username: Some("CORP\\svc".into()),
        template: Some("t1".into()),
        keys: ["event_sources/DC1", "templates/t1", "account/CORP\\svc"]
            .map(SecretKey::from_text)
            .to_vec(),
        location: model::FieldLocation {
            section: model::SectionId::EventSources,
            file: 0,
            item: 0,
            holder: Some(0),
            slot: model::SecretSlot::Attribute,
        },
        binding: "event_sources\0DC1\0password".into(),
        reason: MissingReason::Missing,
        source: None,
    }
}

/// Asks `source` for `key` with the request of [`row`]: the password as text, or `None`.
fn ask(source: &dyn SecretSource, key: &str) -> Result<Option<String>, secrets::SourceError> {
    let row = row();
    Ok(match source.lookup(&SecretKey::from_text(key), &Request::for_row(&row))? {
        Answer::Found(s) => Some(s.expose_str().unwrap().to_owned()),
        Answer::NotFound => None,
    })
}

fn build(spec: &str) -> Result<Box<dyn SecretSource>, Error> {
    build_with(spec, SourceOptions::default())
}

fn build_with(spec: &str, options: SourceOptions) -> Result<Box<dyn SecretSource>, Error> {
    Ok(builtin_source(spec, &options)?.expect("a built-in source"))
}

fn config_error(spec: &str) -> String {
    match build(spec) {
        Ok(_) => panic!("{spec} should not build"),
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::SourceConfig, "{spec}: {e}");
            e.to_string()
        }
    }
}

#[test]
fn env_reads_jims_secret_variables() {
    let env = EnvSource::with_lookup(|name| match name {
        "JIMS_SECRET_EVENT_SOURCES_DC1" => Some(OsString::from("pw-dc1")),
        "JIMS_SECRET_ACCOUNT_CORP_SVC" => Some(OsString::from("")),
        _ => None,
    });
    assert_eq!(env.kind(), "env");
    assert_eq!(ask(&env, "event_sources/DC1").unwrap().as_deref(), Some("pw-dc1"));
    assert_eq!(ask(&env, "account/CORP\\svc").unwrap(), None, "empty is not found");
    assert_eq!(ask(&env, "templates/t1").unwrap(), None);
}

#[test]
fn file_json_and_toml() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("s.json");
    std::fs::write(&json, r#"{"event_sources": {"DC1": "j1"}, "account/CORP\\svc": "j2"}"#)
        .unwrap();
    let toml = dir.path().join("S.TOML");
    std::fs::write(&toml, "[event_sources]\nDC1 = \"t1\"\n[account]\n'CORP\\svc' = \"t2\"\n")
        .unwrap();
    for (path, a, b) in [(&json, "j1", "j2"), (&toml, "t1", "t2")] {
        let s = build(&format!("file:{}", path.display())).unwrap();
        assert_eq!(s.kind(), "file");
        assert_eq!(ask(&*s, "event_sources/DC1").unwrap().as_deref(), Some(a));
        assert_eq!(ask(&*s, "account/CORP\\svc").unwrap().as_deref(), Some(b));
        assert_eq!(ask(&*s, "event_sources").unwrap(), None, "a table is no password");
        assert_eq!(ask(&*s, "templates/t1").unwrap(), None);
    }
}

#[test]
fn file_bad_inputs_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);

    let e = config_error(&format!("file:{}", p("missing.json").display()));
    assert!(e.contains("missing.json") && e.contains("cannot read"), "{e}");

    // A folder cannot be read as a file (a chmod 000 file is readable by root).
    std::fs::create_dir(p("folder.json")).unwrap();
    let e = config_error(&format!("file:{}", p("folder.json").display()));
    assert!(e.contains("folder.json") && e.contains("not a regular file"), "{e}");

    std::fs::write(p("s.yaml"), "a: b").unwrap();
    let e = config_error(&format!("file:{}", p("s.yaml").display()));
    assert!(e.contains("s.yaml") && e.contains("neither a .json nor a .toml"), "{e}");

    std::fs::write(p("bad.json"), "{\n  \"a\": \"hunter2\",\n  \"b\" \"x\"\n}").unwrap();
    let e = config_error(&format!("file:{}", p("bad.json").display()));
    assert!(e.contains("bad.json") && e.contains("line 3 column 7"), "{e}");
    assert!(!e.contains("hunter2"), "{e}");

    std::fs::write(p("bad.toml"), "a = \"hunter2\"\nb = hunter3\n").unwrap();
    let e = config_error(&format!("file:{}", p("bad.toml").display()));
    assert!(e.contains("bad.toml") && e.contains("line 2, column 5"), "{e}");
    assert!(!e.contains("hunter"), "{e}");

    std::fs::write(p("num.json"), r#"{"account": {"svc": 12345678}}"#).unwrap();
    let e = config_error(&format!("file:{}", p("num.json").display()));
    assert!(e.contains("`account/svc` is a number, not a string"), "{e}");
    assert!(!e.contains("12345678"), "{e}");

    std::fs::write(p("latin1.toml"), b"a = \"\xe9\"\n").unwrap();
    let e = config_error(&format!("file:{}", p("latin1.toml").display()));
    assert!(e.contains("not UTF-8"), "{e}");
}

#[test]
fn dir_reads_one_file_per_key() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("secrets");
    std::fs::create_dir_all(root.join("event_sources")).unwrap();
    std::fs::create_dir_all(root.join("account")).unwrap();
    std::fs::write(root.join("event_sources/DC1"), "pw-dc1\n\n").unwrap();
    std::fs::write(root.join("account/CORP\\svc"), "pw-svc").unwrap();
    std::fs::write(root.join("templates"), "").unwrap();
    let s = build(&format!("dir:{}", root.display())).unwrap();
    assert_eq!(s.kind(), "dir");
    assert_eq!(ask(&*s, "event_sources/DC1").unwrap().as_deref(), Some("pw-dc1\n"));
    assert_eq!(ask(&*s, "account/CORP\\svc").unwrap().as_deref(), Some("pw-svc"));
    assert_eq!(ask(&*s, "templates").unwrap(), None, "empty is not found");
    assert_eq!(ask(&*s, "templates/t1").unwrap(), None, "a file is not a folder");
    assert_eq!(ask(&*s, "event_sources").unwrap(), None, "a folder is not a password");
    assert_eq!(ask(&*s, "event_sources/DC2").unwrap(), None);
}

#[cfg(unix)]
#[test]
fn dir_never_reads_outside_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("secrets");
    std::fs::create_dir_all(root.join("event_sources")).unwrap();
    std::fs::write(dir.path().join("outside"), "stolen").unwrap();
    std::fs::create_dir(dir.path().join("elsewhere")).unwrap();
    std::fs::write(dir.path().join("elsewhere/DC1"), "stolen").unwrap();
    std::os::unix::fs::symlink(dir.path().join("outside"), root.join("event_sources/link"))
        .unwrap();
    std::os::unix::fs::symlink(dir.path().join("elsewhere"), root.join("account")).unwrap();
    // A link that stays inside is fine.
    std::fs::write(root.join("event_sources/real"), "inside").unwrap();
    std::os::unix::fs::symlink(root.join("event_sources/real"), root.join("event_sources/alias"))
        .unwrap();

    let s = DirSource::open(&root).unwrap();
    let outside = dir.path().join("outside");
    let absolute = outside.to_str().unwrap();
    for key in [
        "../outside",
        "event_sources/../../outside",
        absolute,
        "event_sources/link",
        "account/DC1",
        "event_sources//real",
        "./event_sources/real",
        "event_sources/real\0",
    ] {
        assert_eq!(ask(&s, key).unwrap(), None, "{key:?}");
    }
    assert_eq!(ask(&s, "event_sources/alias").unwrap().as_deref(), Some("inside"));
}

#[test]
fn dir_bad_paths_are_config_errors() {
    let dir = tempfile::tempdir().unwrap();
    let e = config_error(&format!("dir:{}", dir.path().join("nope").display()));
    assert!(e.contains("nope"), "{e}");
    std::fs::write(dir.path().join("file"), "x").unwrap();
    let e = config_error(&format!("dir:{}", dir.path().join("file").display()));
    assert!(e.contains("is not a folder"), "{e}");
}

/// Writes a `#!/bin/sh` script and returns the SPEC that runs it through `sh` (running the
/// script itself could race with another test's fork: "text file busy").
fn script(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    format!("cmd:sh {}", path.display())
}

#[cfg(unix)]
#[test]
fn cmd_answers_by_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let found = build(&script(d, "found.sh", "printf 'pw-cmd\\n'")).unwrap();
    assert_eq!(found.kind(), "cmd");
    assert_eq!(ask(&*found, "event_sources/DC1").unwrap().as_deref(), Some("pw-cmd"));

    let not_found = build(&script(d, "nf.sh", "echo 'no such key' >&2; exit 1")).unwrap();
    assert_eq!(ask(&*not_found, "event_sources/DC1").unwrap(), None);

    // Its error output may hold a secret: shown only when asked for (`--verbose`).
    let two = script(d, "two.sh", "echo 'vault is sealed' >&2; exit 2");
    let e = ask(&*build(&two).unwrap(), "event_sources/DC1").unwrap_err();
    assert_eq!(e.kind(), SourceErrorKind::Failed);
    let shown = e.to_string();
    assert!(
        shown.contains("exited with status 2") && !shown.contains("vault is sealed"),
        "{shown}"
    );
    assert!(shown.contains("--verbose"), "{shown}");
    let e = ask(&*build_with(&two, verbose()).unwrap(), "event_sources/DC1").unwrap_err();
    assert!(e.to_string().contains("its error output: vault is sealed"), "{e}");

    let silent = build(&script(d, "silent.sh", "exit 0")).unwrap();
    let e = ask(&*silent, "event_sources/DC1").unwrap_err();
    assert_eq!(e.kind(), SourceErrorKind::Failed);
    assert!(e.to_string().contains("printed no password"), "{e}");

    let newline_only = build(&script(d, "nl.sh", "echo")).unwrap();
    assert!(ask(&*newline_only, "event_sources/DC1").is_err());

    let killed = build(&script(d, "kill.sh", "kill -9 $$")).unwrap();
    let e = ask(&*killed, "event_sources/DC1").unwrap_err();
    assert!(e.to_string().contains("killed by signal 9"), "{e}");

    let flood = build(&script(d, "flood.sh", "head -c 70000 /dev/zero | tr '\\0' x")).unwrap();
    let e = ask(&*flood, "event_sources/DC1").unwrap_err();
    assert!(e.to_string().contains("printed more than 65536 bytes"), "{e}");

    // Cut at 300 characters, control characters escaped.
    let long = "x".repeat(5000);
    let body = format!("printf '\\033[2J\\033]0;owned\\007' >&2; echo '{long}' >&2; exit 3");
    let noisy = build_with(&script(d, "noisy.sh", &body), verbose()).unwrap();
    let e = ask(&*noisy, "event_sources/DC1").unwrap_err().to_string();
    assert!(!e.chars().any(|c| c.is_control()), "{e:?}");
    assert!(e.contains("\\x1b[2J\\x1b]0;owned\\x07xxx"), "{e}");
    let xs = 300 - "\x1b[2J\x1b]0;owned\x07".chars().count();
    assert!(e.contains(&"x".repeat(xs)) && !e.contains(&"x".repeat(xs + 1)), "{}", e.len());
    assert!(e.ends_with('…'));
}

fn verbose() -> SourceOptions {
    let mut options = SourceOptions::default();
    options.verbose = true;
    options
}

#[cfg(unix)]
#[test]
fn cmd_inherits_no_jims_secret_variable() {
    // A variable set in this process (and so inherited by a program it runs), read back by the
    // program: the `env` source's passwords must not reach it.
    // SAFETY: set before any program of this test runs; no other test reads this name.
    unsafe { std::env::set_var("JIMS_SECRET_LEAK_CHECK_ITEM", "Pw-must-not-leak") };
    let dir = tempfile::tempdir().unwrap();
    let seen = dir.path().join("env.txt");
    let body = format!("env > {}; echo pw", seen.display());
    let s = build(&script(dir.path(), "env.sh", &body)).unwrap();
    assert_eq!(ask(&*s, "event_sources/DC1").unwrap().as_deref(), Some("pw"));
    let env = std::fs::read_to_string(&seen).unwrap();
    assert!(!env.contains("Pw-must-not-leak") && !env.contains("LEAK_CHECK"), "{env}");
    assert!(env.contains("JIMS_SECRET_KEYS=event_sources/DC1"), "{env}");
    assert!(env.contains("PATH="), "the rest of the environment is kept: {env}");
}

#[cfg(unix)]
#[test]
fn cmd_is_never_asked_for_a_key_that_could_be_misread() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("asked.txt");
    let body = format!("printf '%s|' \"$JIMS_SECRET_KEYS\" >> {}; echo pw", log.display());
    let s = build(&script(dir.path(), "log.sh", &body)).unwrap();
    for bad in ["event_sources/..", "../../etc/passwd", "a//b", "event_sources/DC1\nother", "a/./b"]
    {
        assert_eq!(ask(&*s, bad).unwrap(), None, "{bad:?}");
    }
    assert!(!log.exists(), "the program ran: {:?}", std::fs::read_to_string(&log));
    assert_eq!(ask(&*s, "event_sources/DC1").unwrap().as_deref(), Some("pw"));
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "event_sources/DC1|");
}

#[cfg(unix)]
#[test]
fn secrets_files_that_are_no_regular_files_are_refused_without_reading() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    // A link to a device that never ends, and a FIFO nobody writes to: refused at once.
    std::os::unix::fs::symlink("/dev/zero", p("zero.json")).unwrap();
    let fifo = p("fifo.toml");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    for name in ["zero.json", "fifo.toml"] {
        let started = Instant::now();
        let e = config_error(&format!("file:{}", p(name).display()));
        assert!(e.contains(name) && e.contains("not a regular file"), "{e}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }
    // Larger than an export may be (a sparse file: nothing is written).
    let big = std::fs::File::create(p("big.json")).unwrap();
    big.set_len(secrets::MAX_SECRETS_FILE + 1).unwrap();
    let e = config_error(&format!("file:{}", p("big.json").display()));
    assert!(e.contains("big.json") && e.contains("larger than the 256 MiB"), "{e}");
    // A link to a regular file is fine.
    std::fs::write(p("real.json"), r#"{"event_sources/DC1": "pw"}"#).unwrap();
    std::os::unix::fs::symlink(p("real.json"), p("link.json")).unwrap();
    let s = build(&format!("file:{}", p("link.json").display())).unwrap();
    assert_eq!(ask(&*s, "event_sources/DC1").unwrap().as_deref(), Some("pw"));
}

#[cfg(unix)]
#[test]
fn a_secrets_file_every_user_can_read_is_warned_of_once() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.json");
    std::fs::write(&path, r#"{"event_sources/DC1": "pw"}"#).unwrap();
    for (mode, warned) in [(0o644, true), (0o604, true), (0o640, false), (0o600, false)] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        let s = build(&format!("file:{}", path.display())).unwrap();
        let warnings = s.start().unwrap();
        assert_eq!(!warnings.is_empty(), warned, "mode {mode:o}: {warnings:?}");
        if warned {
            assert!(warnings[0].contains("s.json") && warnings[0].contains("chmod 600"));
        }
        assert!(s.start().unwrap().is_empty(), "said once");
    }
}

#[cfg(unix)]
#[test]
fn dir_files_that_are_no_regular_files_are_not_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("event_sources")).unwrap();
    let fifo = dir.path().join("event_sources/DC1");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let s = build(&format!("dir:{}", dir.path().display())).unwrap();
    let started = Instant::now();
    assert_eq!(ask(&*s, "event_sources/DC1").unwrap(), None);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[cfg(unix)]
#[test]
fn cmd_receives_the_request_for_the_key_asked_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("request.json");
    let env = dir.path().join("keys.txt");
    let body = format!(
        "cat > {}; printf '%s' \"$JIMS_SECRET_KEYS\" > {}; echo pw",
        out.display(),
        env.display()
    );
    let s = build(&script(dir.path(), "req.sh", &body)).unwrap();
    // Even handed the whole row, the program is asked for the one key, beside the row's columns.
    assert_eq!(ask(&*s, "event_sources/DC1").unwrap().as_deref(), Some("pw"));
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        r#"{"keys":["event_sources/DC1"],"index":3,"type":"Event Source","data_type":"domain_controller","data":"10.0.0.5","username":"CORP\\svc","template":"t1"}"#
    );
    assert_eq!(std::fs::read_to_string(&env).unwrap(), "event_sources/DC1");
    assert_eq!(ask(&*s, "account/CORP\\svc").unwrap().as_deref(), Some("pw"));
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        r#"{"keys":["account/CORP\\svc"],"index":3,"type":"Event Source","data_type":"domain_controller","data":"10.0.0.5","username":"CORP\\svc","template":"t1"}"#
    );
    assert_eq!(std::fs::read_to_string(&env).unwrap(), "account/CORP\\svc");
}

#[cfg(unix)]
#[test]
fn cmd_that_hangs_is_stopped_at_the_time_limit() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = SourceOptions::default();
    options.timeout = Duration::from_millis(300);
    let s = build_with(&script(dir.path(), "hang.sh", "sleep 5; echo late"), options).unwrap();
    let started = Instant::now();
    let e = ask(&*s, "event_sources/DC1").unwrap_err();
    let took = started.elapsed();
    assert_eq!(e.kind(), SourceErrorKind::Failed);
    assert!(e.to_string().contains("no answer within 300 ms"), "{e}");
    assert!(took < Duration::from_secs(3), "took {took:?}");
}

#[test]
fn cmd_that_does_not_exist_is_a_config_error() {
    let e = config_error("cmd:/no/such/helper --flag");
    assert!(e.contains("`/no/such/helper` does not exist"), "{e}");
    assert!(!e.contains("--flag"), "arguments are not shown: {e}");
    let e = config_error("cmd:jims-no-such-helper-program");
    assert!(e.contains("on PATH"), "{e}");
}
