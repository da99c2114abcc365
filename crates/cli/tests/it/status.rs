//! `jimsctl status --target DIR`: key id, version, hand edits since that version (which files,
//! which items) and the remote's last push.

use std::path::Path;

use crate::support::{assert_aligned, filters, fixture, fixtures, run, tmp};

fn managed(dir: &Path) -> String {
    let target = dir.join("t").display().to_string();
    let secrets = format!("file:{}", fixture("exports/full.secrets.toml").display());
    let r = run(&["import", "exports/full.xml", "--target", &target, "--secrets", &secrets]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    target
}

#[test]
fn a_folder_as_written_is_unchanged_and_shows_its_key_id() {
    let dir = tmp();
    let t = managed(dir.path());
    let key_id = run(&["key", "id", "--target", &t]).stdout.trim().to_owned();
    let r = run(&["status", "--target", &t, "--exit-code"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains(&format!("Key id:     {key_id}")), "{}", r.stdout);
    assert!(r.stdout.contains("Version:    1 (import at "), "{}", r.stdout);
    assert!(
        r.stdout.contains("Live files: unchanged (no hand edits since version 1)"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("Remote:     none set"), "{}", r.stdout);
    let v = run(&["status", "--target", &t, "--format", "json"]).json();
    assert_eq!(v["edited"], false);
    assert_eq!(v["key_id"], key_id.as_str());
    assert_eq!(v["remote"], serde_json::Value::Null);
}

#[test]
fn hand_edits_are_named_by_file_and_item() {
    let dir = tmp();
    let t = managed(dir.path());
    let es = Path::new(&t).join("cwd/config/event_log_reader.xml");
    let text = std::fs::read_to_string(&es).unwrap();
    // DC1 edited, DC2 removed by hand.
    let text = text.replace("Domain controller 1 (branch-east)", "edited by hand");
    let start = text.find("<event_source id=\"DC2\"").unwrap();
    let end = start + text[start..].find("</event_source>").unwrap() + "</event_source>".len();
    std::fs::write(&es, format!("{}{}", &text[..start], &text[end..])).unwrap();
    std::fs::remove_file(Path::new(&t).join("cwd/config/syslog.xml")).unwrap();

    let r = run(&["status", "--target", &t]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("Live files: changed by hand since version 1:"), "{}", r.stdout);
    assert!(r.stdout.contains("  changed  cwd/config/event_log_reader.xml"), "{}", r.stdout);
    assert!(r.stdout.contains("  removed  cwd/config/syslog.xml"), "{}", r.stdout);
    assert!(r.stdout.contains("  event_sources: changed DC1; removed DC2"), "{}", r.stdout);
    assert_eq!(run(&["status", "--target", &t, "--exit-code"]).code, 1);
    let v = run(&["status", "--target", &t, "--format", "json"]).json();
    assert_eq!(v["edited"], true);
    assert_eq!(v["files"][0]["path"], "config/event_log_reader.xml");
    assert_eq!(v["sections"][0]["changed"], serde_json::json!(["DC1"]));
    assert_eq!(v["sections"][0]["removed"], serde_json::json!(["DC2"]));

    // A file that no longer parses is named, and status still works.
    std::fs::write(&es, "<event_sources><oops").unwrap();
    let r = run(&["status", "--target", &t]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("event_sources: its items cannot be told: "), "{}", r.stdout);

    // The hand edits are not a version: restoring the current one is refused.
    let r = run(&["rollback", "--target", &t, "--to", "1"]);
    assert_ne!(r.code, 0, "version 1 is current: {}", r.stderr);
}

#[test]
fn the_remote_and_its_last_push_are_shown_when_set() {
    let dir = tmp();
    let t = managed(dir.path());
    let state = Path::new(&t).join(".jims-import");
    std::fs::write(
        state.join("remote.toml"),
        "url = \"https://jims.example:1505\"\nuser = \"admin\"\n",
    )
    .unwrap();
    let r = run(&["status", "--target", &t]);
    assert!(
        r.stdout.contains("Remote:     https://jims.example:1505 (user admin)"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("Last push:  never"), "{}", r.stdout);
    std::fs::write(
        state.join("remote.json"),
        r#"{"url": "https://jims.example:1505", "time": "2026-12-01T10:00:00Z", "version": 0, "files": {}}"#,
    )
    .unwrap();
    let r = run(&["status", "--target", &t]);
    assert!(
        r.stdout.contains(
            "Last push:  version 0 at 2026-12-01T10:00:00Z; the folder is now at version 1"
        ),
        "{}",
        r.stdout
    );
    let v = run(&["status", "--target", &t, "--format", "json"]).json();
    assert_eq!(v["last_push"]["version"], 0);
    assert_eq!(v["remote"]["user"], "admin");
}

#[test]
fn status_of_what_is_not_a_managed_folder_is_exit_2() {
    let dir = tmp();
    let r = run(&["status", "--target", dir.path().join("nothing").to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    let r = run(&["status", "--target", "server-folder"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("adopt"), "{}", r.stderr);
}

#[test]
fn the_labels_of_the_status_block_line_up_in_every_state() {
    let dir = tmp();
    let t = managed(dir.path());
    let status = || {
        let r = run(&["status", "--target", &t]);
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
        let block: Vec<&str> = r.stdout.lines().filter(|l| !l.starts_with(' ')).collect();
        assert!(block.len() >= 6, "{}", r.stdout);
        assert_aligned(&block);
        r.stdout
    };
    let unchanged = status();
    let cache = Path::new(&t).join("cwd/config/cache.xml");
    let text = std::fs::read_to_string(&cache).unwrap();
    std::fs::write(&cache, text.replace("probe_timeout=\"480\"", "probe_timeout=\"481\"")).unwrap();
    let state = Path::new(&t).join(".jims-import");
    std::fs::write(
        state.join("remote.toml"),
        "url = \"https://jims.example:1505\"\nuser = \"admin\"\n",
    )
    .unwrap();
    let never_pushed = status();
    std::fs::write(
        state.join("remote.json"),
        r#"{"url": "https://jims.example:1505", "time": "2026-12-01T10:00:00Z", "version": 1, "files": {}}"#,
    )
    .unwrap();
    let pushed = status();
    let fixtures = std::fs::canonicalize(fixtures()).unwrap().display().to_string();
    let mut filters = filters();
    filters.push((fixtures.as_str(), "[FIXTURES]"));
    insta::with_settings!({filters => filters}, {
        insta::assert_snapshot!("status_text", format!("{unchanged}\n{never_pushed}\n{pushed}"));
    });
}
