//! `jimsctl history`, `rollback`, `key id` and `server init`.

use crate::support::{filters, fixture, run, tmp, tree};

#[test]
fn history_and_rollback() {
    let dir = tmp();
    let target = dir.path().join("t");
    let t = target.to_str().unwrap();
    let r = run(&["server", "init", t, "--server-id", "jims-lab-02"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let empty = tree(&target.join("cwd"));
    let secrets = format!("file:{}", fixture("exports/full.secrets.toml").display());
    assert_eq!(run(&["import", "exports/full.xml", "--target", t, "--secrets", &secrets]).code, 0);
    let full = tree(&target.join("cwd"));
    assert_eq!(
        run(&[
            "import",
            "exports/partial.xml",
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
