//! `jimsctl history`, `rollback`, `key id` and `server init`.

use crate::support::{filters, fixture, old_full, run, tmp, tree};

#[test]
fn history_and_rollback() {
    let dir = tmp();
    let target = dir.path().join("t");
    let t = target.to_str().unwrap();
    let r = run(&["server", "init", t, "--server-id", "jims-lab-02"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let empty = tree(&target.join("cwd"));
    let secrets = format!("file:{}", fixture("exports/full.secrets.toml").display());
    let old = old_full(dir.path());
    let old = old.to_str().unwrap();
    assert_eq!(run(&["import", old, "--target", t, "--secrets", &secrets]).code, 0);
    let full = tree(&target.join("cwd"));
    // From the temporary folder too: the history keeps export paths absolute, and the
    // snapshot's columns must not depend on where the repository is.
    let partial = dir.path().join("old/partial.xml");
    std::fs::copy(fixture("exports/partial.xml"), &partial).unwrap();
    assert_eq!(
        run(&[
            "import",
            partial.to_str().unwrap(),
            "--target",
            t,
            "--secrets",
            &secrets,
            "--accept-warning"
        ])
        .code,
        0
    );

    let r = run(&["history", "--target", t, "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["current"], 2);
    let versions = v["versions"].as_array().unwrap();
    assert_eq!(versions.last().unwrap()["version"], 2);
    assert_eq!(
        versions.last().unwrap()["sections"],
        serde_json::json!(["user_directories", "templates"])
    );
    for version in versions {
        for k in ["version", "time", "export", "sections"] {
            assert!(version.get(k).is_some(), "{version}");
        }
    }

    let r = run(&["rollback", "--target", t]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(tree(&target.join("cwd")), full, "rollback restores the version before");
    let r = run(&["rollback", "--target", t, "--to", "0"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(tree(&target.join("cwd")), empty);
    let r = run(&["history", "--target", t]);
    insta::with_settings!({filters => filters()}, {
        insta::assert_snapshot!("history_text", r.stdout);
    });
}

#[test]
fn a_live_file_damaged_by_hand_does_not_stop_history_key_id_or_rollback() {
    let dir = tmp();
    let target = dir.path().join("t");
    let t = target.to_str().unwrap();
    let secrets = format!("file:{}", fixture("exports/full.secrets.toml").display());
    let old = old_full(dir.path());
    let old = old.to_str().unwrap();
    assert_eq!(run(&["import", old, "--target", t, "--secrets", &secrets]).code, 0);
    let good = tree(&target.join("cwd"));
    let args = ["import", "exports/partial.xml", "--target", t, "--secrets", &secrets];
    assert_eq!(run(&[&args[..], &["--accept-warning"]].concat()).code, 0);
    let templates = target.join("cwd/config/templates.xml");
    let mut text = std::fs::read_to_string(&templates).unwrap();
    text.push_str("junk\n");
    std::fs::write(&templates, text).unwrap();

    // Reading the configuration stops at the damage, naming the file, line and column...
    let r = run(&["export", "--target", t, "--out", dir.path().join("e.xml").to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("templates.xml:"), "{}", r.stderr);
    // ...but what needs only the folder's state works, and so does the way out: a rollback.
    let r = run(&["history", "--target", t, "--format", "json"]);
    assert_eq!((r.code, r.json()["current"].as_u64()), (0, Some(2)), "{}", r.stderr);
    assert_eq!(run(&["key", "id", "--target", t]).code, 0);
    let r = run(&["rollback", "--target", t]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(tree(&target.join("cwd")), good, "the version before is back");
    // The damaged version is kept in history as it was, but is not restored: rolling forward
    // to it stops at the damage, naming it, and changes nothing.
    let r = run(&["rollback", "--target", t, "--to", "2"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("templates.xml:8:1"), "{}", r.stderr);
    assert_eq!(tree(&target.join("cwd")), good);
}

#[test]
fn key_id_matches_what_exports_carry() {
    let dir = tmp();
    let target = dir.path().join("t");
    let t = target.to_str().unwrap();
    assert_eq!(run(&["server", "init", t]).code, 0);
    let r = run(&["key", "id", "--target", t]);
    assert_eq!(r.code, 0);
    let id = r.stdout.trim().to_owned();
    assert_eq!(id.len(), 16);
    let out = dir.path().join("e.xml");
    assert_eq!(run(&["export", "--target", t, "--out", out.to_str().unwrap()]).code, 0);
    assert!(std::fs::read_to_string(&out).unwrap().contains(&format!("server_key_id=\"{id}\"")));
}

#[test]
fn init_refuses_a_managed_folder() {
    let dir = tmp();
    let t = dir.path().join("t");
    assert_eq!(run(&["server", "init", t.to_str().unwrap()]).code, 0);
    let r = run(&["server", "init", t.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

#[test]
fn adopt_takes_over_a_jims_folder_and_seals_its_plaintext() {
    let dir = tmp();
    let folder = dir.path().join("jims");
    let f = folder.to_str().unwrap();
    assert_eq!(run(&["convert", "exports/full.xml", f]).code, 0);
    let before = std::fs::read_to_string(folder.join("cwd/config/event_log_reader.xml")).unwrap();
    assert!(before.contains("password=\"Plain-"), "the folder holds plaintext passwords");
    let r = run(&["server", "init", f, "--adopt", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["status"], "adopted");
    assert_eq!(v["sealed"], 4, "{v}");
    let after = std::fs::read_to_string(folder.join("cwd/config/event_log_reader.xml")).unwrap();
    assert!(!after.contains("password=\"Plain-"), "no plaintext is left");
    assert!(after.contains("{aesgcm} 1,"));
    assert!(after.contains("tls_min=\"1.2\""), "everything else is kept");
    // The adopted folder is a target like any other.
    let secrets = format!("file:{}", fixture("exports/full.secrets.toml").display());
    let r = run(&[
        "import",
        "exports/partial.xml",
        "--target",
        f,
        "--secrets",
        &secrets,
        "--accept-warning",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn the_audit_log_records_each_import_without_secrets() {
    let dir = tmp();
    let target = dir.path().join("t");
    let t = target.to_str().unwrap();
    let secrets = format!("file:{}", fixture("exports/full.secrets.toml").display());
    let old = old_full(dir.path());
    let old = old.to_str().unwrap();
    assert_eq!(run(&["import", old, "--target", t, "--secrets", &secrets]).code, 0);
    assert_eq!(
        run(&[
            "import",
            "exports/partial.json",
            "--target",
            t,
            "--secrets",
            &secrets,
            "--accept-warning"
        ])
        .code,
        0
    );
    let log = std::fs::read_to_string(target.join(".jims-import/audit.log")).unwrap();
    let lines: Vec<serde_json::Value> =
        log.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let imports: Vec<&serde_json::Value> =
        lines.iter().filter(|l| l["action"] == "import").collect();
    assert_eq!(imports.len(), 2, "{log}");
    let last = imports[1];
    assert!(last["time"].as_str().unwrap().ends_with('Z'));
    assert!(last["export"].as_str().unwrap().ends_with("partial.json"));
    assert_eq!(last["sections"], serde_json::json!(["user_directories", "templates"]));
    assert_eq!(last["counts"]["items"]["user_directories"], 12);
    assert_eq!(last["counts"]["passwords"]["total"], 7);
    crate::support::assert_no_secret(&log);
}

#[test]
fn rollback_dry_run_works_past_a_live_file_damaged_by_hand_and_says_so() {
    let dir = tmp();
    let target = dir.path().join("t");
    let t = target.to_str().unwrap();
    let secrets = format!("file:{}", fixture("exports/full.secrets.toml").display());
    let old = old_full(dir.path());
    assert_eq!(
        run(&["import", old.to_str().unwrap(), "--target", t, "--secrets", &secrets]).code,
        0
    );
    let args = ["import", "exports/partial.xml", "--target", t, "--secrets", &secrets];
    assert_eq!(run(&[&args[..], &["--accept-warning"]].concat()).code, 0);
    let templates = target.join("cwd/config/templates.xml");
    let mut text = std::fs::read_to_string(&templates).unwrap();
    text.push_str("junk\n");
    std::fs::write(&templates, text).unwrap();
    let before = tree(&target);

    let r = run(&["rollback", "--target", t, "--dry-run"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.starts_with("Dry run: rolling back "), "{}", r.stdout);
    assert!(r.stdout.contains("from version 2 to version 1"), "{}", r.stdout);
    // What the rollback does to the section it cannot read, and why it cannot.
    let line = r.stdout.lines().find(|l| l.starts_with("templates")).expect(&r.stdout);
    assert!(line.contains("replaced"), "{line}");
    assert!(line.contains("changed by hand"), "{line}");
    assert!(line.contains("templates.xml:8:1"), "{line}");
    assert!(line.contains("version 1's 4 items"), "{line}");
    // The readable sections are compared as usual (the partial import changed user directories).
    assert!(r.stdout.contains("user_directories"), "{}", r.stdout);
    assert!(
        r.stdout.contains("changed by hand since version 2 (cwd/config/templates.xml)"),
        "{}",
        r.stdout
    );
    let r = run(&["rollback", "--target", t, "--dry-run", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    assert_eq!(
        (v["status"].as_str(), v["from"].as_u64(), v["to"].as_u64()),
        (Some("dry-run"), Some(2), Some(1))
    );
    assert_eq!(v["edited"], true);
    assert_eq!(v["edited_files"][0]["path"], "config/templates.xml");
    assert_eq!(v["unreadable"][0]["section"], "templates");
    assert_eq!(v["unreadable"][0]["items_after"], 4);
    assert!(v["changes"].as_array().unwrap().iter().all(|s| s["section"] != "templates"));
    assert_eq!(tree(&target), before, "a dry run writes nothing");

    // A hand edit that still reads: compared item by item, and said.
    let r = run(&["rollback", "--target", t]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let live = target.join("cwd/config/templates.xml");
    let text = std::fs::read_to_string(&live).unwrap().replace("dc-readers", "dc-readers-x");
    std::fs::write(&live, text).unwrap();
    let r = run(&["rollback", "--target", t, "--dry-run", "--to", "2"]);
    assert_eq!(r.code, 2, "version 2 holds the damage: {}{}", r.stdout, r.stderr);
    let r = run(&["rollback", "--target", t, "--dry-run", "--to", "3", "--format", "json"]);
    assert_eq!(r.code, 2, "the current version: {}", r.stdout);
    let r = run(&["rollback", "--target", t, "--dry-run", "--to", "1"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("dc-readers-x"), "{}", r.stdout);
    assert!(r.stdout.contains("changed by hand since version 3"), "{}", r.stdout);
}
