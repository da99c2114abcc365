//! A sealed export from another server: said once, with the key id and the server id from the
//! header, and `--source-key` suggested (with `plugin:` among the sources), in `import`,
//! `--dry-run` and `passwords`, text and JSON.

use std::path::Path;

use crate::support::{fixture, run, tmp};

/// Server `a` holding the fixture, its sealed export, and its key id.
fn sealed_export(dir: &Path) -> (String, String, String) {
    let a = dir.join("a").display().to_string();
    let secrets = format!("file:{}", fixture("exports/full.secrets.toml").display());
    let r = run(&["import", "exports/full.xml", "--target", &a, "--secrets", &secrets]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = dir.join("a.xml").display().to_string();
    assert_eq!(run(&["export", "--target", &a, "--out", &out]).code, 0);
    let key_id = run(&["key", "id", "--target", &a]).stdout.trim().to_owned();
    (a, out, key_id)
}

#[test]
fn another_servers_sealed_passwords_are_explained_once_with_the_way_out() {
    let dir = tmp();
    let (a, export, key_id) = sealed_export(dir.path());
    let b = dir.path().join("b").display().to_string();
    for args in [
        vec!["import", export.as_str(), "--target", b.as_str()],
        vec!["import", export.as_str(), "--target", b.as_str(), "--dry-run"],
        vec!["passwords", export.as_str(), "--target", b.as_str()],
    ] {
        let r = run(&args);
        assert_eq!(r.code, 3, "{args:?}: {}{}", r.stdout, r.stderr);
        let note = format!(
            "51 of these passwords are in the export, sealed under key id {key_id} of server 'a' \
             (as the export's header says), not under this folder's key."
        );
        assert_eq!(r.stdout.matches(&note).count(), 1, "{args:?}: once\n{}", r.stdout);
        assert!(r.stdout.contains("Give that server's key with --source-key FILE"), "{}", r.stdout);
        if args[0] == "import" {
            assert!(r.stdout.contains("plugin:NAME[:CONFIG]"), "{}", r.stdout);
        }
    }
    let r = run(&["passwords", &export, "--target", &b, "--format", "json"]);
    assert_eq!(r.code, 3);
    let v = r.json();
    assert_eq!(
        v["foreign_keys"],
        serde_json::json!([{"key_id": key_id, "server_id": "a", "rows": 51}])
    );
    let r = run(&["import", &export, "--target", &b, "--format", "json"]);
    assert_eq!(r.json()["foreign_keys"][0]["rows"], 51);

    // With the key, nothing is missing.
    let key = format!("{a}/.jims-import/server.key");
    let r = run(&["import", &export, "--target", &b, "--source-key", &key]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(!r.stdout.contains("sealed under key id"), "{}", r.stdout);
}

#[test]
fn a_header_without_server_id_says_so_and_rows_given_by_a_source_are_not_counted() {
    let dir = tmp();
    let (_, export, key_id) = sealed_export(dir.path());
    let text = std::fs::read_to_string(&export).unwrap().replacen(" server_id=\"a\"", "", 1);
    let bare = dir.path().join("bare.xml");
    std::fs::write(&bare, text).unwrap();
    let b = dir.path().join("b").display().to_string();
    let r = run(&["import", bare.to_str().unwrap(), "--target", &b]);
    assert_eq!(r.code, 3);
    assert!(
        r.stdout.contains(&format!(
            "sealed under key id {key_id} of another server (the export's header does not name it)"
        )),
        "{}",
        r.stdout
    );
    // The rows a source answers are not counted.
    let secrets = format!("file:{}", fixture("exports/full.secrets.toml").display());
    let r = run(&[
        "passwords",
        bare.to_str().unwrap(),
        "--target",
        &b,
        "--secrets",
        &secrets,
        "--format",
        "json",
    ]);
    let v = r.json();
    let remaining = v["remaining"].as_u64().unwrap();
    assert_eq!(v["foreign_keys"][0]["rows"].as_u64().unwrap(), remaining, "{v}");
    assert!(remaining < 51);
}
