//! Secret sources through the real binary: every built-in source, the key order, the
//! re-sealing with `--source-key`, `--emit`, a real `pass` store, and every bad source.

use std::path::Path;
use std::process::Command;

use crate::support::{assert_no_secret, cmd, fixture, run, tmp, tree};

/// The partial fixture's rows: three user directories with accounts of their own, and the four
/// templates. Every key the table asks for first, with a password per key.
const PARTIAL_KEYS: [(&str, &str); 7] = [
    ("user_directories/AD4", "Pw-AD4-directory"),
    ("user_directories/AD8", "Pw-AD8-directory"),
    ("user_directories/AD12", "Pw-AD12-directory"),
    ("templates/dc-readers", "Pw-dc-readers"),
    ("templates/exchange-readers", "Pw-exchange-readers"),
    ("templates/ad-readers", "Pw-ad-readers"),
    ("templates/probe-admins", "Pw-probe-admins"),
];

/// The plaintext passwords a `--passwords plain` export of `target` holds, by item key order.
fn plain_passwords(target: &str, dir: &Path) -> String {
    let out = dir.join("plain.xml");
    let r = run(&[
        "export",
        "--target",
        target,
        "--out",
        out.to_str().unwrap(),
        "--passwords",
        "plain",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    std::fs::read_to_string(out).unwrap()
}

fn env_name(key: &str) -> String {
    let mut name = String::from("JIMS_SECRET_");
    let mut last_sep = false;
    for c in key.chars() {
        if c.is_ascii_alphanumeric() {
            name.push(c.to_ascii_uppercase());
            last_sep = false;
        } else if !last_sep {
            name.push('_');
            last_sep = true;
        }
    }
    name
}

/// A `cmd:` source that logs each JSON request it gets (one a line) to a file, then runs the
/// shell `answer` (which sees the key asked in `$JIMS_SECRET_KEYS`); returns its SPEC (run
/// through `sh`: executing a script just written could race with another test's fork) and
/// a reader of the requests logged so far.
fn logging_cmd(dir: &Path, answer: &str) -> (String, impl Fn() -> Vec<serde_json::Value>) {
    let log = dir.join("requests.log");
    let script = dir.join("answer.sh");
    let body = format!("cat >> '{log}'\necho >> '{log}'\n{answer}\n", log = log.display());
    std::fs::write(&script, body).unwrap();
    let requests = move || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    (format!("cmd:sh {}", script.display()), requests)
}

#[test]
fn env_dir_and_file_sources_each_resolve_every_row() {
    let dir = tmp();
    // env
    let target = dir.path().join("env").display().to_string();
    let mut c = cmd();
    c.current_dir(crate::support::fixtures());
    for (k, v) in PARTIAL_KEYS {
        c.env(env_name(k), v);
    }
    let out = c
        .args([
            "import",
            "exports/partial.xml",
            "--target",
            &target,
            "--secrets",
            "env",
            "--accept-warning",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = plain_passwords(&target, dir.path());
    for (_, v) in PARTIAL_KEYS {
        assert!(text.contains(v), "{v} reached the target");
    }

    // dir:
    let secrets = dir.path().join("secrets-dir");
    for (k, v) in PARTIAL_KEYS {
        let p = secrets.join(k);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, format!("{v}\n")).unwrap();
    }
    let target = dir.path().join("dir").display().to_string();
    let spec = format!("dir:{}", secrets.display());
    let r = run(&[
        "import",
        "exports/partial.xml",
        "--target",
        &target,
        "--secrets",
        &spec,
        "--accept-warning",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(plain_passwords(&target, dir.path()).contains("Pw-AD8-directory"));

    // file: (JSON, nested)
    let file = dir.path().join("s.json");
    std::fs::write(
        &file,
        r#"{"user_directories": {"AD4": "Pw-AD4-directory", "AD8": "Pw-AD8-directory", "AD12": "Pw-AD12-directory"},
            "templates": {"dc-readers": "Pw-dc-readers", "exchange-readers": "Pw-exchange-readers",
                          "ad-readers": "Pw-ad-readers", "probe-admins": "Pw-probe-admins"}}"#,
    )
    .unwrap();
    let target = dir.path().join("file").display().to_string();
    let spec = format!("file:{}", file.display());
    let r = run(&[
        "import",
        "exports/partial.xml",
        "--target",
        &target,
        "--secrets",
        &spec,
        "--accept-warning",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("(file: 7)"), "{}", r.stdout);
    assert_no_secret(&r.stdout);
}

#[test]
fn an_item_answer_in_a_later_source_beats_an_account_answer_in_an_earlier_one() {
    let dir = tmp();
    let file = dir.path().join("accounts.toml");
    // The account key answers every directory; the env source answers AD8's item key.
    std::fs::write(
        &file,
        "[account]\n\"FOREST4\\\\JIMS-ADRemoteAccess\" = \"Pw-account-4\"\n\"FOREST8\\\\JIMS-ADRemoteAccess\" = \"Pw-account-8\"\n\"FOREST12\\\\JIMS-ADRemoteAccess\" = \"Pw-account-12\"\n\"CORP\\\\JIMS-EventLogReader\" = \"Pw-events\"\n\"CORP\\\\JIMS-ADRemoteAccess\" = \"Pw-ad\"\n\"CORP\\\\JIMS-PCProbe\" = \"Pw-probe\"\n",
    )
    .unwrap();
    let target = dir.path().join("t").display().to_string();
    let spec = format!("file:{}", file.display());
    let out = cmd()
        .current_dir(crate::support::fixtures())
        .env("JIMS_SECRET_USER_DIRECTORIES_AD8", "Pw-item-8")
        .args([
            "passwords",
            "exports/partial.xml",
            "--target",
            &target,
            "--secrets",
            &spec,
            "--secrets",
            "env",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let items = v["items"].as_array().unwrap();
    let source_of = |key: &str| items.iter().find(|i| i["key"] == key).unwrap()["source"].clone();
    assert_eq!(source_of("user_directories/AD8"), "env");
    assert_eq!(source_of("user_directories/AD4"), "file");
    assert_eq!(source_of("templates/ad-readers"), "file");
}

#[test]
fn cmd_source_gets_the_request_and_counts_one_run_per_row() {
    let dir = tmp();
    let (spec, requests) = logging_cmd(
        dir.path(),
        "first=$(printf '%s\\n' \"$JIMS_SECRET_KEYS\" | head -n 1)\n\
         echo \"Pw-from-cmd-$first\" | tr '/' '-'",
    );
    let target = dir.path().join("t").display().to_string();
    let r = run(&[
        "import",
        "exports/partial.xml",
        "--target",
        &target,
        "--secrets",
        &spec,
        "--accept-warning",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines = requests();
    assert_eq!(lines.len(), 7, "one run per row: the program answers the first key it is asked");
    let first = &lines[0];
    for k in ["keys", "index", "type", "data_type", "data", "username", "template"] {
        assert!(first.get(k).is_some(), "the request lacks {k}: {first}");
    }
    assert_eq!(first["keys"], serde_json::json!(["user_directories/AD4"]), "the key asked alone");
    assert!(plain_passwords(&target, dir.path()).contains("Pw-from-cmd-templates-dc-readers"));
}

/// The audit's case: `--secrets cmd:X --secrets file:F`, where X knows only the accounts and F
/// one item's own password. The item's answer wins although its source comes later: every
/// source, `cmd:` included, is asked key by key, with the key asked alone.
#[test]
fn an_item_answer_in_a_later_file_beats_an_account_answer_of_an_earlier_cmd() {
    let dir = tmp();
    // Like the recipes: answers when the key it is given is an account.
    let (cmd_spec, requests) = logging_cmd(
        dir.path(),
        "printf '%s\\n' \"$JIMS_SECRET_KEYS\" | grep -q '^account/' || exit 1\n\
         echo Pw-cmd-account",
    );
    let file = dir.path().join("items.json");
    std::fs::write(&file, r#"{"user_directories": {"AD8": "Pw-file-item-8"}}"#).unwrap();
    let target = dir.path().join("t").display().to_string();
    let file_spec = format!("file:{}", file.display());
    let r = run(&[
        "passwords",
        "exports/partial.xml",
        "--target",
        &target,
        "--secrets",
        &cmd_spec,
        "--secrets",
        &file_spec,
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for shown in [&r.stdout, &r.stderr] {
        assert!(!shown.contains("Pw-cmd-account") && !shown.contains("Pw-file-item-8"), "{shown}");
        assert_no_secret(shown);
    }
    let v = r.json();
    let items = v["items"].as_array().unwrap();
    let source_of = |key: &str| items.iter().find(|i| i["key"] == key).unwrap()["source"].clone();
    assert_eq!(source_of("user_directories/AD8"), "file", "the item's own answer wins");
    assert_eq!(source_of("user_directories/AD4"), "cmd", "no item answer: the account's");
    assert_eq!(source_of("templates/ad-readers"), "cmd");

    // One run per key asked, each with that key alone; AD8's row stopped at its item key.
    let requests = requests();
    assert!(requests.iter().all(|q| q["keys"].as_array().unwrap().len() == 1), "{requests:?}");
    let ad8_index = &items.iter().find(|i| i["key"] == "user_directories/AD8").unwrap()["index"];
    let ad8: Vec<_> = requests.iter().filter(|q| q["index"] == *ad8_index).collect();
    assert_eq!(ad8.len(), 1, "{ad8:?}");
    assert_eq!(ad8[0]["keys"], serde_json::json!(["user_directories/AD8"]));

    // And the import seals the file's password for AD8.
    let r = run(&[
        "import",
        "exports/partial.xml",
        "--target",
        &target,
        "--secrets",
        &cmd_spec,
        "--secrets",
        &file_spec,
        "--accept-warning",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let plain = plain_passwords(&target, dir.path());
    assert!(plain.contains("Pw-file-item-8") && plain.contains("Pw-cmd-account"));
}

#[test]
fn source_key_reseals_passwords_from_another_server() {
    let dir = tmp();
    let a = dir.path().join("a").display().to_string();
    let b = dir.path().join("b").display().to_string();
    let secrets = format!("file:{}", fixture("exports/full.secrets.toml").display());
    assert_eq!(run(&["import", "exports/full.xml", "--target", &a, "--secrets", &secrets]).code, 0);
    let bundle = dir.path().join("from-a.xml");
    assert_eq!(run(&["export", "--target", &a, "--out", bundle.to_str().unwrap()]).code, 0);
    let bundle = bundle.display().to_string();

    // Without A's key, B cannot open A's sealed values: they are missing.
    let r = run(&["passwords", &bundle, "--target", &b, "--format", "json"]);
    assert_eq!(r.code, 3);
    assert!(r.json()["remaining"].as_u64().unwrap() > 40);

    // With it, every one is re-sealed under B's key and nobody is asked.
    let key = Path::new(&a).join(".jims-import/server.key").display().to_string();
    let r = run(&["import", &bundle, "--target", &b, "--source-key", &key, "--format", "json"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let v = r.json();
    assert_eq!(v["passwords"]["total"], 0);
    assert!(v["resealed"].as_u64().unwrap() > 40, "{v}");
    let body = |t: String| t.split_once("<section").map(|(_, rest)| rest.to_owned()).unwrap();
    assert!(
        body(plain_passwords(&b, dir.path())) == body(plain_passwords(&a, dir.path())),
        "B holds exactly A's configuration and passwords"
    );

    // A key that sealed nothing in the export is a wrong key: exit 2.
    let c = dir.path().join("c").display().to_string();
    assert_eq!(run(&["server", "init", &c]).code, 0);
    let wrong = Path::new(&c).join(".jims-import/server.key").display().to_string();
    let before = tree(Path::new(&b));
    let r = run(&["import", &bundle, "--target", &b, "--source-key", &wrong]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("matches no sealed password in the export"), "{}", r.stderr);
    assert_eq!(tree(Path::new(&b)), before);

    // A's key is the right key for any part of A's export, even sections that hold no
    // password: it is checked against the whole export, not the sections chosen.
    let r = run(&[
        "import",
        &bundle,
        "--target",
        &b,
        "--sections",
        "session",
        "--accept-warning",
        "--source-key",
        &key,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn emit_writes_a_skeleton_that_file_reads_back() {
    let dir = tmp();
    let target = dir.path().join("t").display().to_string();
    for ext in ["toml", "json"] {
        let skeleton = dir.path().join(format!("fill-me.{ext}"));
        let r = run(&[
            "passwords",
            "exports/partial.xml",
            "--target",
            &target,
            "--emit",
            skeleton.to_str().unwrap(),
        ]);
        assert_eq!(r.code, 3, "{}", r.stderr);
        let text = std::fs::read_to_string(&skeleton).unwrap();
        for (k, _) in PARTIAL_KEYS {
            let leaf = k.rsplit('/').next().unwrap();
            assert!(text.contains(leaf), "{k} is in the skeleton:\n{text}");
        }
        // Filled in, it resolves every row.
        let mut filled = text.clone();
        for (k, v) in PARTIAL_KEYS {
            let leaf = k.rsplit('/').next().unwrap();
            let (empty, with) = if ext == "toml" {
                (format!("{leaf} = \"\""), format!("{leaf} = \"{v}\""))
            } else {
                (format!("\"{leaf}\": \"\""), format!("\"{leaf}\": \"{v}\""))
            };
            filled = filled.replacen(&empty, &with, 1);
        }
        std::fs::write(&skeleton, filled).unwrap();
        let spec = format!("file:{}", skeleton.display());
        let r = run(&["passwords", "exports/partial.xml", "--target", &target, "--secrets", &spec]);
        assert_eq!(r.code, 0, "{ext}: {}{}", r.stdout, r.stderr);
    }
}

#[test]
fn bad_sources_are_clear_errors_and_write_nothing() {
    let dir = tmp();
    let target = dir.path().join("t");
    let t = target.to_str().unwrap();
    let bad_json = dir.path().join("bad.json");
    std::fs::write(&bad_json, "{\"templates\": {\"x\": \"Pw-should-not-print\",,}}").unwrap();
    let not_a_string = dir.path().join("number.json");
    std::fs::write(&not_a_string, "{\"templates\": {\"dc-readers\": 42}}").unwrap();
    let failing = dir.path().join("fail.sh");
    std::fs::write(&failing, "#!/bin/sh\necho 'backend exploded' >&2\nexit 7\n").unwrap();
    let hanging = dir.path().join("hang.sh");
    std::fs::write(&hanging, "#!/bin/sh\nsleep 10\n").unwrap();
    let empty = dir.path().join("empty.sh");
    std::fs::write(&empty, "#!/bin/sh\nexit 0\n").unwrap();
    for f in [&failing, &hanging, &empty] {
        std::fs::set_permissions(f, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }
    let cases: Vec<(String, i32, &str)> = vec![
        (format!("file:{}", dir.path().join("missing.json").display()), 2, "missing.json"),
        (format!("file:{}", bad_json.display()), 2, "bad.json"),
        (format!("file:{}", not_a_string.display()), 2, "dc-readers"),
        (format!("file:{}", dir.path().join("x.yaml").display()), 2, "x.yaml"),
        (format!("dir:{}", dir.path().join("no-such-dir").display()), 2, "no-such-dir"),
        ("cmd:/no/such/program".to_owned(), 2, "/no/such/program"),
        (format!("cmd:{}", failing.display()), 1, "run again with --verbose"),
        (format!("cmd:{}", hanging.display()), 1, "fail"),
        (format!("cmd:{}", empty.display()), 1, "empty"),
        ("vault".to_owned(), 2, "vault"),
    ];
    for (spec, code, expect) in cases {
        let r = run(&[
            "import",
            "exports/partial.xml",
            "--target",
            t,
            "--secrets",
            &spec,
            "--secrets-timeout",
            "0.5",
            "--accept-warning",
        ]);
        assert_eq!(r.code, code, "{spec}: {}{}", r.stdout, r.stderr);
        assert!(
            r.stderr.to_lowercase().contains(&expect.to_lowercase()),
            "{spec}: expected {expect:?} in {}",
            r.stderr
        );
        assert!(!r.stderr.contains("Pw-should-not-print"), "{spec} printed a secret: {}", r.stderr);
        assert!(!r.stderr.contains("panicked"));
        assert!(!target.exists(), "{spec} wrote the target");
    }
    // A folder of a dir: source that links outside it is not followed: the key is not found.
    let secrets = dir.path().join("secrets");
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&secrets).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("dc-readers"), "Pw-outside").unwrap();
    std::os::unix::fs::symlink(&outside, secrets.join("templates")).unwrap();
    let spec = format!("dir:{}", secrets.display());
    let r = run(&[
        "passwords",
        "exports/partial.xml",
        "--target",
        t,
        "--secrets",
        &spec,
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    let v = r.json();
    let row =
        v["items"].as_array().unwrap().iter().find(|i| i["key"] == "templates/dc-readers").unwrap();
    assert_eq!(row["password"], "missing", "the link out of the folder was followed: {row}");
}

/// Runs a command for the `pass` test, failing with what it printed.
fn sh(program: &str, args: &[&str], env: &[(&str, &Path)], stdin: Option<&str>) {
    use std::io::Write;
    let mut c = Command::new(program);
    c.args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    let mut child = c.spawn().unwrap_or_else(|e| {
        panic!(
            "`{program}` is needed for this test (.ci/run installs Debian's pass and gnupg): {e}"
        )
    });
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_real_pass_store_through_the_cmd_recipe() {
    let dir = tmp();
    let gnupg = dir.path().join("g");
    std::fs::create_dir(&gnupg).unwrap();
    std::fs::set_permissions(&gnupg, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let store = dir.path().join("store");
    let env: [(&str, &Path); 2] = [("GNUPGHOME", &gnupg), ("PASSWORD_STORE_DIR", &store)];
    sh(
        "gpg",
        &[
            "--batch",
            "--passphrase",
            "",
            "--quick-gen-key",
            "jimsctl test <test@jimsctl.invalid>",
            "default",
            "default",
            "never",
        ],
        &env,
        None,
    );
    sh("pass", &["init", "test@jimsctl.invalid"], &env, None);
    for (k, v) in PARTIAL_KEYS {
        sh("pass", &["insert", "-m", &format!("jims/{k}")], &env, Some(&format!("{v}\n")));
    }
    let recipe = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/recipes/pass.sh");
    let target = dir.path().join("t").display().to_string();
    let out = cmd()
        .current_dir(crate::support::fixtures())
        .env("GNUPGHOME", &gnupg)
        .env("PASSWORD_STORE_DIR", &store)
        .args([
            "import",
            "exports/partial.xml",
            "--target",
            &target,
            "--accept-warning",
            "--format",
            "json",
        ])
        .arg("--secrets")
        .arg(format!("cmd:{}", recipe.display()))
        .output()
        .unwrap();
    let _ =
        Command::new("gpgconf").arg("--kill").arg("gpg-agent").env("GNUPGHOME", &gnupg).status();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["passwords"]["fixed"], 7);
    let text = plain_passwords(&target, dir.path());
    for (_, pw) in PARTIAL_KEYS {
        assert!(text.contains(pw), "{pw} came from pass");
    }
}
