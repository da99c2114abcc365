//! `jimsctl diff A B` over bundles, folders, managed folders and versions (`DIR@N`), with
//! passwords compared by value where both sides open; `history show N`; `rollback --dry-run`.

use std::path::Path;

use crate::support::{assert_no_secret, fixture, run, tmp, tree};

fn secrets() -> String {
    format!("file:{}", fixture("exports/full.secrets.toml").display())
}

/// The full fixture with DC1's description changed, DC2 gone, DC900 added and DC3's plaintext
/// password changed.
fn changed_xml(dir: &Path) -> String {
    let full = std::fs::read_to_string(fixture("exports/full.xml")).unwrap();
    let full = full
        .replace("description=\"Domain controller 1 (branch-east)\"", "description=\"Edited\"")
        .replace("password=\"Plain-d876f98be8c6\"", "password=\"Plain-other-value\"");
    let start = full.find("      <event_source id=\"DC2\"").unwrap();
    let end = start + full[start..].find("</event_source>\n").unwrap() + "</event_source>\n".len();
    let new = "      <event_source id=\"DC900\" description=\"new\" site=\"hq\">\n        \
               <domain_controller server=\"10.9.9.9\" initial_timespan=\"24\" username=\"u\" \
               password=\"Plain-new-900\"/>\n      </event_source>\n";
    let text = format!("{}{new}{}", &full[..start], &full[end..]);
    let path = dir.join("changed.xml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn import(export: &str, target: &str) {
    let r = run(&["import", export, "--target", target, "--secrets", &secrets()]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
}

#[test]
fn the_same_configuration_in_two_formats_has_no_difference() {
    let r = run(&["diff", "exports/full.xml", "exports/full.json", "--exit-code"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("No differences (10 sections)."), "{}", r.stdout);
    let r = run(&["diff", "exports/full.xml", "exports/full.json", "--format", "json"]);
    assert_eq!(r.code, 0);
    let v = r.json();
    assert_eq!(v["differ"], false);
    assert_eq!(v["a"]["kind"], "xml");
    assert_eq!(v["b"]["kind"], "json");
    assert!(v["sections"].as_array().unwrap().iter().all(|s| s["status"] == "same"));
}

#[test]
fn two_bundles_differ_by_section_item_and_field_and_no_secret_is_printed() {
    let dir = tmp();
    let changed = changed_xml(dir.path());
    let r = run(&["diff", "exports/full.xml", &changed, "--exit-code"]);
    assert_eq!(r.code, 1, "--exit-code: 1 when they differ\n{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("event_sources"), "{}", r.stdout);
    assert!(
        r.stdout.contains("changed  46 → 46 items (1 added, 1 removed, 2 changed)"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("    + DC900\n"), "{}", r.stdout);
    assert!(r.stdout.contains("    - DC2\n"), "{}", r.stdout);
    assert!(r.stdout.contains("    ~ DC1: description\n"), "{}", r.stdout);
    assert!(r.stdout.contains("    ~ DC3: domain_controller.password\n"), "{}", r.stdout);
    assert!(r.stdout.contains("9 other sections are the same."), "{}", r.stdout);
    assert_no_secret(&r.stdout);
    assert!(!r.stdout.contains("Plain-other-value"));
    // Without --exit-code, comparing is success.
    assert_eq!(run(&["diff", "exports/full.xml", &changed]).code, 0);

    let r = run(&["diff", "exports/full.xml", &changed, "--format", "json"]);
    let v = r.json();
    assert_eq!(v["differ"], true);
    let es = &v["sections"][0];
    assert_eq!(es["section"], "event_sources");
    assert_eq!(es["status"], "changed");
    assert_eq!(es["added"], serde_json::json!(["DC900"]));
    assert_eq!(es["removed"], serde_json::json!(["DC2"]));
    assert_eq!(
        es["changed"][1],
        serde_json::json!({"id": "DC3", "fields": ["domain_controller.password"]})
    );
    assert!(!r.stdout.contains("Plain-"), "{}", r.stdout);
}

#[test]
fn a_managed_folder_compares_its_sealed_passwords_by_value() {
    let dir = tmp();
    let target = dir.path().join("t").display().to_string();
    import("exports/full.xml", &target);
    // The export's plaintext passwords are now sealed in the folder: the same passwords, so
    // not a change; those the export lacked (given by the secrets file) are.
    let full = fixture("exports/full.xml").display().to_string();
    let r = run(&["diff", &full, &target, "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["b"]["kind"], "managed");
    assert_eq!(v["b"]["version"], 1);
    let es = &v["sections"][0];
    let ids: Vec<&str> =
        es["changed"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["DC10", "DC20", "DC30", "DC40"], "DC3's plaintext equals its sealed value");

    // Its own export, sealed under its key, is the same configuration.
    let out = dir.path().join("out.json");
    let r = run(&["export", "--target", &target, "--out", out.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(&["diff", out.to_str().unwrap(), &target, "--exit-code"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
}

#[test]
fn versions_compare_with_dir_at_n_and_history_show_and_rollback_dry_run_tell_the_change() {
    let dir = tmp();
    let target = dir.path().join("t").display().to_string();
    import("exports/full.xml", &target);
    let changed = changed_xml(dir.path());
    import(&changed, &target);

    let r = run(&["diff", &format!("{target}@1"), &target, "--exit-code"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains(&format!("--- {target}@1 (version 1)")), "{}", r.stdout);
    assert!(
        r.stdout.contains(&format!("+++ {target} (managed folder, version 2)")),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("    ~ DC1: description\n"), "{}", r.stdout);
    assert!(r.stdout.contains("    ~ DC3: domain_controller.password\n"), "{}", r.stdout);
    let r = run(&["diff", &format!("{target}@1"), &format!("{target}@1"), "--exit-code"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);

    let r = run(&["history", "show", "2", "--target", &target]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.starts_with("Version 2 (current): import at "), "{}", r.stdout);
    assert!(r.stdout.contains("changed.xml"), "{}", r.stdout);
    assert!(r.stdout.contains("Holds: event_sources (46), "), "{}", r.stdout);
    assert!(r.stdout.contains("Changes from version 1:\n"), "{}", r.stdout);
    assert!(r.stdout.contains("    + DC900\n"), "{}", r.stdout);
    let r = run(&["history", "show", "1", "--target", &target, "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["version"]["version"], 1);
    assert_eq!(v["previous"], serde_json::Value::Null);
    assert_eq!(v["changes"][0]["status"], "only-in-b");

    let before = tree(Path::new(&target));
    let r = run(&["rollback", "--target", &target, "--dry-run"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("from version 2 to version 1 would do this (nothing was written)"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("    - DC900\n"), "{}", r.stdout);
    assert!(r.stdout.contains("    + DC2\n"), "{}", r.stdout);
    assert_eq!(tree(Path::new(&target)), before, "a dry run writes nothing");
    let r = run(&["rollback", "--target", &target, "--dry-run", "--format", "json"]);
    assert_eq!(r.json()["to"], 1);
    assert_no_secret(&r.stdout);
}

#[test]
fn bad_sides_are_clear_errors() {
    let dir = tmp();
    let target = dir.path().join("t").display().to_string();
    import("exports/full.xml", &target);
    let r = run(&["diff", &format!("{target}@7"), &target]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("version 7 is not in the history of"), "{}", r.stderr);
    let r = run(&["diff", "exports/full.xml@1", "exports/full.xml"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("is not a managed server folder"), "{}", r.stderr);
    let r = run(&["diff", "exports/nope.xml", "exports/full.xml"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("nope.xml"), "{}", r.stderr);
    let r = run(&["history", "show", "5", "--target", &target]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let r = run(&["rollback", "--target", &target, "--dry-run"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("no earlier version"), "{}", r.stderr);
}

#[test]
fn a_side_read_from_live_files_changed_by_hand_says_so() {
    let dir = tmp();
    let target = dir.path().join("t");
    let t = target.to_str().unwrap();
    let secrets = format!("file:{}", fixture("exports/full.secrets.toml").display());
    assert_eq!(run(&["import", "exports/full.xml", "--target", t, "--secrets", &secrets]).code, 0);
    let at1 = format!("{t}@1");
    let r = run(&["diff", &at1, "exports/full.xml"]);
    assert!(!r.stdout.contains("changed by hand"), "{}", r.stdout);
    let live = target.join("cwd/config/templates.xml");
    let text = std::fs::read_to_string(&live).unwrap().replace("dc-readers", "dc-readers-x");
    std::fs::write(&live, text).unwrap();
    let r = run(&["diff", &at1, "exports/full.xml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(
            "A is read from the live files, changed by hand since version 1 was written \
             (cwd/config/templates.xml)"
        ),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("dc-readers-x"), "{}", r.stdout);
    let r = run(&["diff", "exports/full.xml", t, "--format", "json"]);
    let v = r.json();
    assert_eq!(v["b"]["edited_by_hand"][0], "config/templates.xml");
    assert!(v["a"].get("edited_by_hand").is_none());
}
