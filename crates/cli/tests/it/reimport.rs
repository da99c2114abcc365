//! Re-importing the same configuration: passwords compare by value (the same password sealed
//! afresh, given again by a source, or sealed under the source key is unchanged), and an import
//! or rollback that changes nothing makes no new version (`unchanged`, exit 0), in `import`,
//! `rollback` and `batch`.

use std::path::Path;

use crate::support::{fixture, run, tmp, tree};

fn secrets() -> String {
    format!("file:{}", fixture("exports/full.secrets.toml").display())
}

fn import_json(export: &str, target: &str, extra: &[&str]) -> serde_json::Value {
    let secrets = secrets();
    let mut args =
        vec!["import", export, "--target", target, "--secrets", &secrets, "--format", "json"];
    args.extend(extra);
    let r = run(&args);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    r.json()
}

fn versions(target: &str) -> usize {
    run(&["history", "--target", target, "--format", "json"]).json()["versions"]
        .as_array()
        .unwrap()
        .len()
}

fn changed_items(v: &serde_json::Value) -> usize {
    v["plan"]["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["changed"].as_array().unwrap().len())
        .sum()
}

#[test]
fn the_same_export_again_changes_nothing_and_makes_no_version() {
    let dir = tmp();
    let t = dir.path().join("t").display().to_string();
    for export in ["exports/full.xml", "exports/full.json"] {
        import_json(export, &t, &[]);
    }
    assert_eq!(versions(&t), 1, "the JSON holds what the XML held");
    let before = tree(Path::new(&t));
    let v = import_json("exports/full.xml", &t, &[]);
    assert_eq!(v["status"], "unchanged", "{v}");
    assert_eq!(v["version"], 1);
    assert_eq!(changed_items(&v), 0, "passwords compared by value: {v}");
    assert_eq!(tree(Path::new(&t)), before, "not a byte written");

    let r = run(&["import", "exports/full.xml", "--target", &t, "--secrets", &secrets()]);
    assert_eq!(r.code, 0);
    assert!(
        r.stdout.starts_with(&format!("Nothing to import: {t} already holds what ")),
        "{}",
        r.stdout
    );

    // A dry run's plan says the same.
    let v = import_json("exports/full.xml", &t, &["--dry-run"]);
    assert_eq!(changed_items(&v), 0, "{v}");

    // One password changed at its source: exactly that one, and a version.
    let s2 = dir.path().join("s2.toml");
    let text = std::fs::read_to_string(fixture("exports/full.secrets.toml")).unwrap();
    let dc10 = text.lines().find(|l| l.starts_with("DC10 = ")).unwrap().to_owned();
    std::fs::write(&s2, text.replace(&dc10, "DC10 = \"a-new-one\"")).unwrap();
    let spec = format!("file:{}", s2.display());
    let r = run(&[
        "import",
        "exports/full.xml",
        "--target",
        &t,
        "--secrets",
        &spec,
        "--format",
        "json",
    ]);
    let v = r.json();
    assert_eq!(v["status"], "imported");
    assert_eq!(v["version"], 2);
    assert_eq!(changed_items(&v), 1, "{v}");
    assert_eq!(v["plan"]["sections"][0]["changed"][0]["id"], "DC10");
}

#[test]
fn its_own_export_and_another_servers_export_with_the_source_key_are_unchanged() {
    let dir = tmp();
    let a = dir.path().join("a").display().to_string();
    let b = dir.path().join("b").display().to_string();
    import_json("exports/full.xml", &a, &[]);
    let out = dir.path().join("a.xml");
    assert_eq!(run(&["export", "--target", &a, "--out", out.to_str().unwrap()]).code, 0);
    let out = out.display().to_string();
    let v = import_json(&out, &a, &[]);
    assert_eq!(v["status"], "unchanged", "{v}");

    let key = format!("{a}/.jims-import/server.key");
    let v = import_json(&out, &b, &["--source-key", &key]);
    assert_eq!(v["status"], "imported");
    let v = import_json(&out, &b, &["--source-key", &key]);
    assert_eq!(v["status"], "unchanged", "re-sealed values compare by value: {v}");
    assert_eq!(changed_items(&v), 0, "{v}");
    assert_eq!(versions(&b), 1);
}

#[test]
fn a_rollback_that_changes_nothing_makes_no_version() {
    let dir = tmp();
    let t = dir.path().join("t").display().to_string();
    import_json("exports/full.xml", &t, &[]);
    import_json("exports/partial.xml", &t, &["--accept-warning", "--replace-event-sources"]);
    // partial.xml holds the same user directories and templates: nothing changed.
    assert_eq!(versions(&t), 1);
    let changed = dir.path().join("changed.xml");
    let text = std::fs::read_to_string(fixture("exports/partial.xml")).unwrap();
    std::fs::write(&changed, text.replacen("description=\"", "description=\"edited ", 1)).unwrap();
    let v = import_json(changed.to_str().unwrap(), &t, &["--accept-warning"]);
    assert_eq!(v["version"], 2);
    let r = run(&["rollback", "--target", &t]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(versions(&t), 3);
    let r = run(&["rollback", "--target", &t, "--to", "1", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["status"], "unchanged", "version 3 holds what version 1 holds: {v}");
    assert_eq!(v["version"], 3);
    assert_eq!(versions(&t), 3);
    let r = run(&["rollback", "--target", &t, "--to", "1"]);
    assert!(r.stdout.starts_with("Nothing to restore: "), "{}", r.stdout);
}

#[test]
fn a_batch_reports_unchanged_entries() {
    let dir = tmp();
    let manifest = dir.path().join("m.toml");
    let export = fixture("exports/full.xml").display().to_string();
    let target = dir.path().join("t").display().to_string();
    std::fs::write(&manifest, format!("[[import]]\nexport = {export:?}\ntarget = {target:?}\n"))
        .unwrap();
    let report = dir.path().join("r.json");
    let secrets = secrets();
    let args = [
        "batch",
        "--manifest",
        manifest.to_str().unwrap(),
        "--secrets",
        &secrets,
        "--report",
        report.to_str().unwrap(),
    ];
    assert_eq!(run(&args).code, 0);
    let r = run(&args);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("1 unchanged"), "{}", r.stdout);
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(v["imports"][0]["status"], "unchanged", "{v}");
    assert_eq!(v["imports"][0]["exit_code"], 0);
    assert_eq!(v["totals"]["unchanged"], 1);
    assert_eq!(versions(&target), 1);
}
