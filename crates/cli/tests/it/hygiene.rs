//! Secret hygiene: every command, with known passwords, on success and on every error path;
//! none of the passwords may appear in any output, in the target folder (history and audit log
//! included) or in a snapshot. Plaintext exists only in a `--passwords plain` export.

use std::path::Path;

use crate::support::{fixture, fixture_passwords, run, tmp, tree};

/// Every password the fixtures carry: the secrets file's and the export's own plaintext ones.
fn known_passwords() -> Vec<String> {
    let mut all = fixture_passwords();
    let export = std::fs::read_to_string(fixture("exports/full.xml")).unwrap();
    for part in export.split("password=\"Plain-").skip(1) {
        all.push(format!("Plain-{}", part.split('"').next().unwrap()));
    }
    assert!(all.len() > 40, "the scan knows the fixture's passwords");
    all
}

fn scan(what: &str, text: &str, known: &[String]) {
    for pw in known {
        assert!(!text.contains(pw.as_str()), "a password appears in {what}");
    }
}

fn scan_tree(dir: &Path, known: &[String], allowed: &[&Path]) {
    for (rel, bytes) in tree(dir) {
        let path = dir.join(&rel);
        if rel.ends_with("server.key") || allowed.iter().any(|a| *a == path) {
            continue;
        }
        scan(&path.display().to_string(), &String::from_utf8_lossy(&bytes), known);
    }
}

#[test]
fn no_command_prints_or_stores_a_password_in_clear() {
    let known = known_passwords();
    let dir = tmp();
    let t = dir.path().join("t").display().to_string();
    let secrets = format!("file:{}", fixture("exports/full.secrets.toml").display());
    let plain = dir.path().join("plain.xml");
    let plain_s = plain.display().to_string();
    let d = |n: &str| dir.path().join(n).display().to_string();
    let runs: Vec<Vec<String>> = vec![
        vec!["passwords".into(), "exports/full.xml".into(), "--target".into(), t.clone()],
        vec![
            "passwords".into(),
            "exports/full.xml".into(),
            "--target".into(),
            t.clone(),
            "--format".into(),
            "json".into(),
            "--secrets".into(),
            secrets.clone(),
        ],
        vec!["import".into(), "exports/full.xml".into(), "--target".into(), t.clone()],
        vec![
            "import".into(),
            "exports/full.xml".into(),
            "--target".into(),
            t.clone(),
            "--secrets".into(),
            secrets.clone(),
            "--dry-run".into(),
            "--format".into(),
            "json".into(),
        ],
        vec![
            "import".into(),
            "exports/full.xml".into(),
            "--target".into(),
            t.clone(),
            "--secrets".into(),
            secrets.clone(),
        ],
        vec![
            "import".into(),
            "exports/partial.json".into(),
            "--target".into(),
            t.clone(),
            "--secrets".into(),
            secrets.clone(),
            "--accept-warning".into(),
            "--format".into(),
            "json".into(),
        ],
        vec![
            "import".into(),
            "exports/partial.xml".into(),
            "--target".into(),
            t.clone(),
            "--secrets".into(),
            secrets.clone(),
        ],
        vec![
            "import".into(),
            "bad/dangling-template.xml".into(),
            "--target".into(),
            t.clone(),
            "--secrets".into(),
            secrets,
        ],
        vec!["import".into(), "bad/malformed.json".into(), "--target".into(), t.clone()],
        vec![
            "import".into(),
            "bad/truncated.xml".into(),
            "--target".into(),
            t.clone(),
            "--format".into(),
            "json".into(),
        ],
        vec!["export".into(), "--target".into(), t.clone(), "--out".into(), d("sealed.xml")],
        vec![
            "export".into(),
            "--target".into(),
            t.clone(),
            "--out".into(),
            d("omit.json"),
            "--passwords".into(),
            "omit".into(),
        ],
        vec![
            "export".into(),
            "--target".into(),
            t.clone(),
            "--out".into(),
            plain_s.clone(),
            "--passwords".into(),
            "plain".into(),
        ],
        vec![
            "import".into(),
            plain_s,
            "--target".into(),
            t.clone(),
            "--format".into(),
            "json".into(),
        ],
        vec!["history".into(), "--target".into(), t.clone()],
        vec!["history".into(), "--target".into(), t.clone(), "--format".into(), "json".into()],
        vec!["rollback".into(), "--target".into(), t.clone()],
        vec!["key".into(), "id".into(), "--target".into(), t.clone()],
        // Issue 17: keys and bundles sealed to public keys.
        vec![
            "key".into(),
            "public".into(),
            "--target".into(),
            t.clone(),
            "--out".into(),
            d("t.pub"),
        ],
        vec![
            "key".into(),
            "public".into(),
            "--target".into(),
            t.clone(),
            "--format".into(),
            "json".into(),
        ],
        vec![
            "export".into(),
            "--target".into(),
            t.clone(),
            "--to".into(),
            d("t.pub"),
            "--out".into(),
            d("to-t.xml"),
        ],
        vec!["import".into(), d("to-t.xml"), "--target".into(), t.clone()],
        vec![
            "import".into(),
            d("to-t.xml"),
            "--target".into(),
            d("other"),
            "--format".into(),
            "json".into(),
        ],
        vec!["passwords".into(), d("to-t.xml"), "--target".into(), d("other")],
        vec!["key".into(), "rotate".into(), "--target".into(), t.clone(), "--dry-run".into()],
        vec![
            "key".into(),
            "rotate".into(),
            "--target".into(),
            t.clone(),
            "--format".into(),
            "json".into(),
        ],
        vec!["key".into(), "rotate".into(), "--target".into(), t.clone(), "--transport".into()],
        vec!["key".into(), "list".into(), "--target".into(), t.clone()],
        vec![
            "key".into(),
            "list".into(),
            "--target".into(),
            t.clone(),
            "--format".into(),
            "json".into(),
        ],
        vec![
            "key".into(),
            "retire".into(),
            "--target".into(),
            t.clone(),
            "--id".into(),
            "0123456789abcdef".into(),
        ],
        vec!["convert".into(), d("sealed.xml"), d("sealed.json")],
    ];
    for args in &runs {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = run(&args);
        assert!(!r.stderr.contains("panicked"), "{args:?}: {}", r.stderr);
        scan(&format!("the stdout of {args:?}"), &r.stdout, &known);
        scan(&format!("the stderr of {args:?}"), &r.stderr, &known);
    }
    // The plaintext export holds them (that is what it is for) and nothing else does.
    let plain_text = std::fs::read_to_string(&plain).unwrap();
    assert!(known.iter().filter(|p| plain_text.contains(p.as_str())).count() > 40);
    scan_tree(Path::new(&t), &known, &[]);
    scan_tree(dir.path(), &known, &[plain.as_path()]);
    let audit = std::fs::read_to_string(Path::new(&t).join(".jims-import/audit.log")).unwrap();
    assert!(audit.lines().count() >= 4, "the audit log records each import");
}

#[test]
fn no_snapshot_holds_a_password() {
    let known = known_passwords();
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut scanned = 0;
    for entry in std::fs::read_dir(&crates).unwrap().flatten() {
        for snapshots in
            [entry.path().join("tests/it/snapshots"), entry.path().join("src/snapshots")]
        {
            for (rel, bytes) in tree(&snapshots) {
                scan(&format!("snapshot {rel}"), &String::from_utf8_lossy(&bytes), &known);
                scanned += 1;
            }
        }
    }
    assert!(scanned >= 4, "found the snapshots ({scanned})");
}
