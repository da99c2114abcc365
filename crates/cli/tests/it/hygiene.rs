//! Secret hygiene: every command, with known passwords, on success and on every error path;
//! none of the passwords may appear in any output, in the target folder (history and audit log
//! included) or in a snapshot, and no output holds a raw control character. Plaintext exists
//! only in a `--passwords plain` export.

use std::path::{Path, PathBuf};

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
    // An older state first, so that the import of the fixture changes something.
    // (Outside the folder scanned: it holds copies of the secrets files.)
    let src = tmp();
    let old = crate::support::old_full(src.path()).display().to_string();
    let runs: Vec<Vec<String>> = vec![
        vec![
            "import".into(),
            old,
            "--target".into(),
            t.clone(),
            "--secrets".into(),
            secrets.clone(),
        ],
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
            plain_s.clone(),
            "--target".into(),
            t.clone(),
            "--format".into(),
            "json".into(),
        ],
        vec!["history".into(), "--target".into(), t.clone()],
        vec!["history".into(), "--target".into(), t.clone(), "--format".into(), "json".into()],
        vec!["rollback".into(), "--dry-run".into(), "--target".into(), t.clone()],
        vec![
            "rollback".into(),
            "--dry-run".into(),
            "--target".into(),
            t.clone(),
            "--to".into(),
            "1".into(),
            "--format".into(),
            "json".into(),
        ],
        vec!["diff".into(), format!("{t}@1"), t.clone(), "-v".into()],
        vec!["diff".into(), plain_s.clone(), t.clone(), "--format".into(), "json".into()],
        vec!["diff".into(), "exports/full.xml".into(), plain_s],
        vec!["history".into(), "show".into(), "2".into(), "--target".into(), t.clone()],
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
        check(&args, &r, &known);
    }
    // The plaintext export holds them (that is what it is for) and nothing else does.
    let plain_text = std::fs::read_to_string(&plain).unwrap();
    assert!(known.iter().filter(|p| plain_text.contains(p.as_str())).count() > 40);
    scan_tree(Path::new(&t), &known, &[]);
    scan_tree(dir.path(), &known, &[plain.as_path()]);
    let audit = std::fs::read_to_string(Path::new(&t).join(".jims-import/audit.log")).unwrap();
    assert!(audit.lines().count() >= 3, "the audit log records each version: {audit}");
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

/// Passwords planted where the model knows no secret field (issue 12): a second `<password>`,
/// a `password` attribute beside one, `fswSpi1` or `password` on elements that hold none,
/// nested deeper, in sections without passwords, in the header, a duplicate JSON `password`
/// member. Every command refuses them, so none ever reaches an output, a file, the target or
/// its history in clear; and a plaintext password edited into `cwd/` by hand leaves only
/// sealed through a sealed or omitting export.
#[test]
fn passwords_planted_outside_their_field_never_come_out_in_clear() {
    let dir = tmp();
    let base = dir.path();
    let t = base.join("t");
    let t_s = t.display().to_string();
    let secrets = format!("file:{}", fixture("exports/full.secrets.toml").display());
    let r = run(&["import", "exports/full.xml", "--target", &t_s, "--secrets", &secrets]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let xml = std::fs::read_to_string(fixture("exports/full.xml")).unwrap();
    let json = std::fs::read_to_string(fixture("exports/full.json")).unwrap();
    let oauth = "<oAuth id=\"srx-edge-1\" token_lifetime=\"28800\">";
    let query = "<query cert_hash=\"\" response_timeout_ms=\"2500\"/>";
    let plantings: Vec<(&str, &str, String)> = vec![
        ("xml", oauth, format!("{oauth}<password fswSpi1=\"Stray-Marker-01\"/>")),
        ("xml", oauth, oauth.replace('>', " password=\"Stray-Marker-02\">")),
        ("xml", query, query.replace("/>", " fswSpi1=\"Stray-Marker-03\"/>")),
        ("xml", query, query.replace("/>", " password=\"Stray-Marker-04\"/>")),
        (
            "xml",
            query,
            query.replace("/>", "><a><b><password>Stray-Marker-05</password></b></a></query>"),
        ),
        ("xml", "<SRX id=\"SRX1\"", "<SRX id=\"SRX1\" password=\"Stray-Marker-06\"".into()),
        (
            "xml",
            "<syslog_source id=\"SYS1\"",
            "<syslog_source id=\"SYS1\" fswSpi1=\"Stray-Marker-07\"".into(),
        ),
        (
            "xml",
            "<event_source id=\"DC3\"",
            "<event_source id=\"DC3\" password=\"Stray-Marker-08\"".into(),
        ),
        (
            "xml",
            "<template id=\"dc-readers\"",
            "<template id=\"dc-readers\" fswSpi1=\"Stray-Marker-09\"".into(),
        ),
        (
            "xml",
            "server_id=\"jims-hq-01\"",
            "server_id=\"jims-hq-01\" password=\"Stray-Marker-10\"".into(),
        ),
        ("xml", "<cache>", "<cache password=\"Stray-Marker-11\">".into()),
        (
            "json",
            "\"token_lifetime\": \"28800\",",
            "\"token_lifetime\": \"28800\", \"password\": \"Stray-Marker-12\",".into(),
        ),
        (
            "json",
            "\"token_lifetime\": \"28800\",",
            "\"token_lifetime\": \"28800\", \"@password\": \"Stray-Marker-13\",".into(),
        ),
        (
            "json",
            "\"id\": \"SYS1\",",
            "\"id\": \"SYS1\", \"password\": \"Stray-Marker-14\",".into(),
        ),
        (
            "json",
            "\"id\": \"CSO1\",",
            "\"id\": \"CSO1\", \"#children\": [{\"password\": \"Stray-Marker-15\"}],".into(),
        ),
    ];
    let markers: Vec<String> =
        (1..=plantings.len()).map(|i| format!("Stray-Marker-{i:02}")).collect();
    let mut inputs = Vec::new();
    for (i, (kind, from, to)) in plantings.iter().enumerate() {
        let source = if *kind == "xml" { &xml } else { &json };
        assert!(source.contains(from), "{from}");
        let planted = source.replacen(from, to, 1);
        assert!(planted.contains(&markers[i]));
        let input = base.join(format!("stray-{i:02}.{kind}"));
        std::fs::write(&input, planted).unwrap();
        inputs.push(input);
    }
    let before = tree(&t);
    let mut manifest = String::new();
    for (i, input) in inputs.iter().enumerate() {
        let input_s = input.display().to_string();
        let out = |ext: &str| base.join(format!("out-{i:02}{ext}")).display().to_string();
        let runs: Vec<Vec<String>> = vec![
            vec![
                "import".into(),
                input_s.clone(),
                "--target".into(),
                t_s.clone(),
                "--secrets".into(),
                secrets.clone(),
            ],
            vec![
                "import".into(),
                input_s.clone(),
                "--target".into(),
                out("-new"),
                "--secrets".into(),
                secrets.clone(),
            ],
            vec![
                "import".into(),
                input_s.clone(),
                "--target".into(),
                t_s.clone(),
                "--dry-run".into(),
                "--format".into(),
                "json".into(),
            ],
            vec![
                "passwords".into(),
                input_s.clone(),
                "--target".into(),
                t_s.clone(),
                "--format".into(),
                "json".into(),
            ],
            vec!["convert".into(), input_s.clone(), out(".xml")],
            vec!["convert".into(), input_s.clone(), out(".json")],
            vec!["convert".into(), input_s.clone(), out("-folder")],
        ];
        for args in &runs {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let r = run(&args);
            assert_eq!(r.code, 2, "{args:?}: {}{}", r.stdout, r.stderr);
            scan(
                &format!("the output of {args:?}"),
                &format!("{}{}", r.stdout, r.stderr),
                &markers,
            );
        }
        manifest.push_str(&format!(
            "[[import]]\nexport = {input_s:?}\ntarget = {:?}\n\n",
            base.join(format!("batch-{i:02}")).display().to_string()
        ));
    }
    let manifest_path = base.join("batch.toml");
    std::fs::write(&manifest_path, manifest).unwrap();
    let report = base.join("report.json").display().to_string();
    let r = run(&[
        "batch",
        "--manifest",
        &manifest_path.display().to_string(),
        "--secrets",
        &secrets,
        "--report",
        &report,
    ]);
    assert_eq!(r.code, 6, "{}{}", r.stdout, r.stderr);
    scan("the output of the batch", &format!("{}{}", r.stdout, r.stderr), &markers);
    assert_eq!(tree(&t), before, "the target is as it was");
    let planted: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
    scan_tree(base, &markers, &planted);

    // A plaintext password edited into cwd/ by hand, in its own field.
    let es = t.join("cwd/config/event_log_reader.xml");
    let text = std::fs::read_to_string(&es).unwrap();
    let start = text.find("password=\"{aesgcm}").unwrap() + "password=\"".len();
    let end = start + text[start..].find('"').unwrap();
    let hand = vec!["Hand-Edited-Marker".to_owned()];
    std::fs::write(&es, format!("{}{}{}", &text[..start], hand[0], &text[end..])).unwrap();
    for (out, passwords) in
        [("hand.xml", "sealed"), ("hand.json", "sealed"), ("hand-omit.xml", "omit")]
    {
        let out = base.join(out).display().to_string();
        let r = run(&["export", "--target", &t_s, "--out", &out, "--passwords", passwords]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        scan("the output of export", &format!("{}{}", r.stdout, r.stderr), &hand);
        // The operator is told that the folder holds a password in clear, and what was done.
        let told = r.stderr.contains("held 1 plaintext password (edited into cwd/ by hand)");
        assert_eq!(told, passwords == "sealed", "{}", r.stderr);
    }
    let r = run(&[
        "convert",
        &base.join("hand.xml").display().to_string(),
        &base.join("hand-folder").display().to_string(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    scan_tree(base, &hand, &[es.as_path()]);
}

#[test]
fn no_push_output_record_journal_audit_line_or_server_log_holds_a_password() {
    use crate::push::{ADMIN_PW, Setup, import};
    let mut known = known_passwords();
    known.push(ADMIN_PW.to_owned());
    let s = Setup::new();
    let t = s.t();
    let mut outputs = Vec::new();
    let mut logs = Vec::new();
    let push =
        |server: fake_jims::Server, args: &[&str], outputs: &mut Vec<_>, logs: &mut Vec<String>| {
            for format in ["text", "json"] {
                let mut all = args.to_vec();
                all.extend(["--format", format]);
                outputs.push((all.join(" "), s.push(&all)));
            }
            logs.extend(server.log());
            server.stop();
        };
    s.set_remote();
    push(s.start(|_| {}), &["--dry-run"], &mut outputs, &mut logs);
    push(s.start(|_| {}), &[], &mut outputs, &mut logs);
    import(&s.target, "exports/partial.xml");
    // Answers that quote the bodies sent (500), drops, put-backs that fail, refusals.
    push(s.start(|o| o.fail_after = Some(2)), &["--all"], &mut outputs, &mut logs);
    push(s.start(|o| o.drop_after = Some(1)), &["--all"], &mut outputs, &mut logs);
    push(
        s.start(|o| {
            o.fail_after = Some(3);
            o.fail_times = 100;
        }),
        &["--all"],
        &mut outputs,
        &mut logs,
    );
    push(
        s.start(|o| o.credentials = Some(("admin".into(), b"another-one".to_vec()))),
        &["--all"],
        &mut outputs,
        &mut logs,
    );
    let r = run(&["push", "--target", &t]);
    outputs.push(("missing password".into(), r));
    for args in [
        vec!["remote", "show", "--target", &t],
        vec!["remote", "show", "--target", &t, "--format", "json"],
    ] {
        outputs.push((args.join(" "), run(&args)));
    }
    // A journal left by a push killed midway.
    let server = s.start(|o| o.delay = std::time::Duration::from_millis(300));
    let mut child = crate::support::cmd()
        .args(["push", "--target", &t, "--secrets", &s.admin, "--all"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    while server.log().is_empty() {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let journal = s.target.join(".jims-import/push.journal");
    assert!(journal.exists());
    scan("the push journal", &std::fs::read_to_string(&journal).unwrap(), &known);
    scan_tree(&s.target, &known, &[]);
    logs.extend(server.log());
    server.stop();
    push(s.start(|_| {}), &[], &mut outputs, &mut logs);
    for (what, r) in &outputs {
        assert!(!r.stderr.contains("panicked"), "{what}: {}", r.stderr);
        scan(&format!("the stdout of push {what}"), &r.stdout, &known);
        scan(&format!("the stderr of push {what}"), &r.stderr, &known);
    }
    assert!(outputs.iter().any(|(_, r)| r.code == 7) && outputs.iter().any(|(_, r)| r.code == 1));
    assert!(logs.len() > 40, "the server logged every request");
    scan("fake-jims' log", &logs.join("\n"), &known);
    scan_tree(&s.target, &known, &[]);
    let audit = std::fs::read_to_string(s.target.join(".jims-import/audit.log")).unwrap();
    assert!(audit.contains("\"action\":\"push\""));
}

/// Writes `to` in place of `from` (which must be there) in the file at `path`.
fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{from} in {}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// `rollback --dry-run`, `diff` and `history show`, with their notes (live files changed by
/// hand, files that no longer read), on hostile content: ids and descriptions holding escape
/// sequences (ESC, a C1 CSI, a right-to-left override, written as character references) and
/// known passwords in clear, both in an export (whose name holds an escape too) and edited by
/// hand into the live files, one of which then holds a raw ESC and one a stray password. No
/// output holds a password or a raw control character; the JSON parses and gives the ids back.
#[test]
fn rollback_dry_run_and_diff_notes_show_hostile_names_escaped_and_no_password() {
    let known = known_passwords();
    let (hidden, hidden_too, stray) = (&known[0], &known[1], &known[2]);
    let dir = tmp();
    let t = dir.path().join("t");
    let t_s = t.display().to_string();
    let secrets = format!("file:{}", fixture("exports/full.secrets.toml").display());
    let src = tmp();
    let old = crate::support::old_full(src.path()).display().to_string();
    for export in [old.as_str(), "exports/full.xml"] {
        let r = run(&["import", export, "--target", &t_s, "--secrets", &secrets]);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }

    // Ids, a description and a password that a person would see, or must never see.
    let dc1 = "<event_source id=\"DC1\"";
    let dc1_hostile = "<event_source id=\"DC1&#27;[2J&#27;]0;owned&#7;\"";
    let dc3 = "<event_source id=\"DC3\"";
    let dc3_hostile = "<event_source id=\"DC3&#x9b;31m&#x202e;x\"";
    let dc4 =
        "server=\"10.0.0.14\" initial_timespan=\"24\" tls_min=\"1.2\" username=\"\" password=\"\"";
    let dc4_known = |pw: &str| dc4.replace("password=\"\"", &format!("password=\"{pw}\""));
    let desc = "description=\"Domain controller 5 (";
    let desc_hostile = "description=\"Domain&#27;]0;title&#7; controller 5 (";
    let hostile_export = dir.path().join("hostile\x1b[31m.xml");
    std::fs::copy(fixture("exports/full.xml"), &hostile_export).unwrap();
    for (from, to) in [
        (dc1, dc1_hostile.to_owned()),
        (dc3, dc3_hostile.to_owned()),
        (dc4, dc4_known(hidden)),
        (desc, desc_hostile.to_owned()),
    ] {
        edit(&hostile_export, from, &to);
    }
    let es = t.join("cwd/config/event_log_reader.xml");
    let es_text = std::fs::read_to_string(&es).unwrap();
    let dc4_live = es_text.find("server=\"10.0.0.14\"").unwrap();
    let dc4_live = &es_text[dc4_live..dc4_live + es_text[dc4_live..].find("/>").unwrap()];
    for (from, to) in [
        (dc1, dc1_hostile.to_owned()),
        (dc3, dc3_hostile.to_owned()),
        (dc4_live, dc4_known(hidden_too)),
        (desc, desc_hostile.to_owned()),
    ] {
        edit(&es, from, &to);
    }
    // A file added by hand, its name holding an escape.
    std::fs::write(t.join("cwd/config/\x1b[31mnew.xml"), "<x/>").unwrap();

    let h = hostile_export.display().to_string();
    let (v1, v2) = (format!("{t_s}@1"), format!("{t_s}@2"));
    let readable: Vec<Vec<&str>> = vec![
        vec!["rollback", "--dry-run", "--target", &t_s],
        vec!["rollback", "--dry-run", "--target", &t_s, "--to", "1", "-v"],
        vec!["diff", &t_s, &v1],
        vec!["diff", &v2, &t_s, "-v"],
        vec!["diff", &h, &t_s],
        vec!["diff", &t_s, &h, "--exit-code"],
        vec!["diff", &h, "exports/full.xml", "-v"],
        vec!["history", "show", "2", "--target", &t_s],
        vec!["status", "--target", &t_s],
    ];
    let shown = |out: &str| {
        assert!(
            out.contains(r"DC1\x1b[2J\x1b]0;owned\x07"),
            "the hostile id is shown escaped:\n{out}"
        );
        assert!(out.contains(r"DC3\x9b31m\u{202e}x"), "{out}");
    };
    let mut hostile_seen = 0;
    for args in &readable {
        let text = run(args);
        check(args, &text, &known);
        assert!([0, 1].contains(&text.code), "{args:?}: {}{}", text.stdout, text.stderr);
        let mut json_args = args.clone();
        json_args.extend(["--format", "json"]);
        let json = run(&json_args);
        check(&json_args, &json, &known);
        let v = json.json();
        // The JSON carries the ids as they are, escaped the JSON way.
        if json.stdout.contains(r"DC1\u001b[2J\u001b]0;owned\u0007") {
            assert!(json.stdout.contains(r"DC3\u009b31m\u202ex"), "{}", json.stdout);
            assert!(v.to_string().contains("DC3\u{9b}31m\u{202e}x"), "the id read back: {v}");
            shown(&text.stdout);
            hostile_seen += 1;
        }
    }
    assert!(hostile_seen >= 6, "the hostile ids reached {hostile_seen} outputs");
    let r = run(&["diff", &t_s, &v1]);
    assert!(
        r.stdout.contains("Note: A is read from the live files, changed by hand"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("~ DC4: domain_controller.password"), "{}", r.stdout);

    // Live files that no longer read: a raw ESC beside a password, and a stray password.
    std::fs::write(
        t.join("cwd/config/syslog.xml"),
        format!(
            "<syslog_sources><syslog_source id=\"S1\" secret=\"{hidden}\">\x1b[2J</syslog_sources>"
        ),
    )
    .unwrap();
    edit(&t.join("cwd/config/cache.xml"), "<config ", &format!("<config password=\"{stray}\" "));
    for args in [
        vec!["rollback", "--dry-run", "--target", &t_s],
        vec!["rollback", "--dry-run", "--target", &t_s, "--format", "json"],
        vec!["diff", &t_s, &v2],
        vec!["diff", &t_s, &v2, "--format", "json"],
        vec!["diff", &v1, &v2, "--format", "json"],
        vec!["status", "--target", &t_s],
    ] {
        let r = run(&args);
        check(&args, &r, &known);
        if args.contains(&"json") {
            r.json();
        }
        if args[0] == "rollback" && !args.contains(&"json") {
            assert!(r.stdout.contains("syslog_sources  replaced  its live file was changed by hand and no longer reads"), "{}", r.stdout);
            assert!(
                r.stdout.contains(
                    "session  replaced  its live file was changed by hand and no longer reads"
                ),
                "{}",
                r.stdout
            );
        }
    }
}

/// No known password and no raw control character in `r`'s output, and no panic.
fn check(args: &[&str], r: &crate::support::Run, known: &[String]) {
    assert_ne!(r.code, 101, "{args:?} panicked: {}", r.stderr);
    scan(&format!("the stdout of {args:?}"), &r.stdout, known);
    scan(&format!("the stderr of {args:?}"), &r.stderr, known);
    crate::escapes::assert_clean(&format!("the stdout of {args:?}"), &r.stdout);
    crate::escapes::assert_clean(&format!("the stderr of {args:?}"), &r.stderr);
}
