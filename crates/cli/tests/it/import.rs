//! `jimsctl import` and `jimsctl passwords` end to end.

use std::os::unix::fs::PermissionsExt;

use crate::support::{assert_no_secret, filters, fixture, run, run_in, tmp, tree};

fn secrets_arg() -> String {
    format!("file:{}", fixture("exports/full.secrets.toml").display())
}

#[test]
fn full_import_into_a_new_target_creates_it() {
    let dir = tmp();
    let target = dir.path().join("demo-server");
    let t = target.to_str().unwrap();
    let r = run(&["import", "exports/full.xml", "--target", t, "--secrets", &secrets_arg()]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("(created)"), "{}", r.stdout);
    assert_no_secret(&r.stdout);
    assert_no_secret(&r.stderr);
    for f in [
        "cwd/config/event_log_reader.xml",
        "cwd/config/srx_interface.xml",
        "cwd/system/init/admin_whitelist_static.xml",
    ] {
        assert!(target.join(f).is_file(), "{f} missing");
    }
    let key = target.join(".jims-import/server.key");
    assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    // Every password in the written folder is sealed: no fixture password is on disk in clear.
    for (path, bytes) in tree(&target) {
        if path.ends_with("server.key") {
            continue;
        }
        assert_no_secret(&String::from_utf8_lossy(&bytes));
    }
    let events = std::fs::read_to_string(target.join("cwd/config/event_log_reader.xml")).unwrap();
    assert!(events.contains("{aesgcm} 1,"), "passwords are sealed");
    assert!(events.contains("tls_min=\"1.2\""), "unknown attributes survive");
    assert!(events.contains("<filter "), "unknown elements survive");
}

#[test]
fn json_and_xml_exports_import_to_the_same_files() {
    let dir = tmp();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for (export, target) in [("exports/full.xml", &a), ("exports/full.json", &b)] {
        let r = run(&[
            "import",
            export,
            "--target",
            target.to_str().unwrap(),
            "--secrets",
            &secrets_arg(),
        ]);
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    }
    // Sealed values differ (fresh keys and nonces); everything else is identical.
    let strip = |t: Vec<(String, Vec<u8>)>| -> Vec<(String, String)> {
        let re_sealed = |s: String| {
            s.split("{aesgcm} 1,")
                .enumerate()
                .map(|(i, part)| {
                    if i == 0 {
                        part.to_owned()
                    } else {
                        part.split_once('"').map(|x| x.1).unwrap_or("").to_owned()
                    }
                })
                .collect::<Vec<_>>()
                .join("[SEALED]\"")
        };
        t.into_iter()
            .filter(|(p, _)| p.starts_with("cwd/"))
            .map(|(p, b)| (p, re_sealed(String::from_utf8(b).unwrap())))
            .collect()
    };
    assert_eq!(strip(tree(&a)), strip(tree(&b)));
}

#[test]
fn missing_passwords_print_the_table_exit_3_and_write_nothing() {
    let dir = tmp();
    let target = dir.path().join("new-server");
    let r = run(&["import", "exports/full.xml", "--target", target.to_str().unwrap()]);
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    assert!(!target.exists(), "a failed import leaves no folder behind");
    assert!(r.stdout.contains("Index  Type"), "{}", r.stdout);
    assert!(r.stdout.contains("Remaining:"), "{}", r.stdout);
    insta::with_settings!({filters => filters()}, {
        insta::assert_snapshot!("missing_passwords_table", r.stdout);
    });
}

#[test]
fn passwords_json_has_the_cli_md_shape() {
    let dir = tmp();
    let target = dir.path().join("t");
    let r = run(&[
        "passwords",
        "exports/full.json",
        "--target",
        target.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    let v = r.json();
    let total = v["total"].as_u64().unwrap();
    assert!(total > 0);
    assert_eq!(v["fixed"], 0);
    assert_eq!(v["remaining"].as_u64(), Some(total));
    let first = &v["items"][0];
    for k in
        ["index", "type", "data_type", "data", "username", "password", "template", "key", "source"]
    {
        assert!(first.get(k).is_some(), "item lacks {k}: {first}");
    }
    assert_eq!(first["index"], 1);
    assert_eq!(first["password"], "missing");
    // With the secrets file every row is OK and names its source.
    let r = run(&[
        "passwords",
        "exports/full.json",
        "--target",
        target.to_str().unwrap(),
        "--format",
        "json",
        "--secrets",
        &secrets_arg(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["remaining"], 0);
    assert!(
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["password"] == "OK" && i["source"] == "file")
    );
    assert!(!target.exists(), "passwords writes nothing");
}

#[test]
fn import_json_output_and_second_import_keeps_untouched_files() {
    let dir = tmp();
    let target = dir.path().join("t");
    let t = target.to_str().unwrap();
    let r = run(&[
        "import",
        "exports/full.xml",
        "--target",
        t,
        "--secrets",
        &secrets_arg(),
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["status"], "imported");
    assert_eq!(v["version"], 1);
    assert_eq!(v["sections"].as_array().unwrap().len(), 10);
    assert_eq!(v["passwords"]["remaining"], 0);
    assert!(v["plan"].is_object() || v["plan"].is_array(), "{v}");

    // A partial import of user directories and templates leaves every other file as it was.
    let before = tree(&target.join("cwd"));
    let r = run(&[
        "import",
        "exports/partial.xml",
        "--target",
        t,
        "--secrets",
        &secrets_arg(),
        "--accept-warning",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.json()["version"], 2);
    let after = tree(&target.join("cwd"));
    for ((p1, b1), (p2, b2)) in before.iter().zip(&after) {
        assert_eq!(p1, p2);
        let imported = p1.ends_with("user_directory.xml") || p1.ends_with("templates.xml");
        if !imported {
            assert_eq!(b1, b2, "{p1} changed although its section was not imported");
        }
    }
}

#[test]
fn partial_import_without_acceptance_exits_4_and_writes_nothing() {
    let dir = tmp();
    let target = dir.path().join("t");
    let t = target.to_str().unwrap();
    let r = run(&["import", "exports/full.xml", "--target", t, "--secrets", &secrets_arg()]);
    assert_eq!(r.code, 0);
    let before = tree(&target);
    let r = run(&["import", "exports/partial.xml", "--target", t, "--secrets", &secrets_arg()]);
    assert_eq!(r.code, 4, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("You are choosing to import a partial configuration, only those elements will be overwritten."));
    assert_eq!(tree(&target), before);
    // Choosing a subset of a full file is partial too.
    let r = run(&[
        "import",
        "exports/full.xml",
        "--target",
        t,
        "--sections",
        "templates",
        "--secrets",
        &secrets_arg(),
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 4);
    assert_eq!(r.json()["status"], "warning-not-accepted");
}

#[test]
fn dry_run_prints_the_plan_and_writes_nothing() {
    let dir = tmp();
    let target = dir.path().join("t");
    let t = target.to_str().unwrap();
    let r = run(&[
        "import",
        "exports/full.xml",
        "--target",
        t,
        "--secrets",
        &secrets_arg(),
        "--dry-run",
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(!target.exists());
    assert!(r.stdout.contains("nothing was written"), "{}", r.stdout);
    insta::with_settings!({filters => filters()}, {
        insta::assert_snapshot!("dry_run_new_target", r.stdout);
    });
}

#[test]
fn a_busy_target_exits_5() {
    let dir = tmp();
    let target = dir.path().join("t");
    let t = target.to_str().unwrap();
    assert_eq!(run(&["server", "init", t]).code, 0);
    let held = store::Target::open(&target).expect("the test holds the lock");
    let r = run(&["import", "exports/full.xml", "--target", t, "--secrets", &secrets_arg()]);
    assert_eq!(r.code, 5, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("busy") || r.stderr.contains("another"), "{}", r.stderr);
    drop(held);
    let r = run(&["import", "exports/full.xml", "--target", t, "--secrets", &secrets_arg()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn a_folder_that_is_not_managed_is_refused_with_a_hint() {
    let dir = tmp();
    let r = run(&["convert", "exports/full.xml", dir.path().join("plain").to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run_in(
        dir.path(),
        &["import", &fixture("exports/full.xml").display().to_string(), "--target", "plain"],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--adopt"), "{}", r.stderr);
}

/// Quietly, and with the command's own exit code (3: passwords missing), never 0 (issue 12.4;
/// `streams.rs` has every other case).
#[test]
fn a_closed_standard_output_ends_quietly() {
    let dir = tmp();
    let target = dir.path().join("t");
    // The reader is gone before jimsctl writes a byte, as `| head` is once it has its lines
    // (a pipe closed after the spawn would race with a table small enough for the pipe).
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let child = crate::support::cmd()
        .current_dir(crate::support::fixtures())
        .args(["passwords", "exports/full.xml", "--target", target.to_str().unwrap()])
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
    assert_eq!(out.status.code(), Some(3), "{stderr}");
}
