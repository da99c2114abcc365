//! The smaller things a first day trips over (issue 15, item 8): outputs never overwritten
//! without --force, an unknown extension refused, `passwords` without a target, the secret key
//! in the table, counts in the warning, absolute export paths and rollbacks in the history,
//! one shape for every batch entry, "1 section", and `error:` coloured as clap colours it.

use std::path::Path;

use crate::support::{cmd, fixture, run, run_in, tmp};

fn secrets() -> String {
    format!("file:{}", fixture("exports/full.secrets.toml").display())
}

#[test]
fn convert_refuses_an_unknown_extension_and_an_existing_file() {
    let dir = tmp();
    let d = |n: &str| dir.path().join(n).display().to_string();
    let r = run(&["convert", "exports/full.xml", &d("out.txt")]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("'.txt' is neither .xml nor .json"), "{}", r.stderr);
    assert!(!Path::new(&d("out.txt")).exists(), "nothing written");
    let r = run(&["convert", "exports/full.xml", &d("out.txt"), "--to", "folder"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(Path::new(&d("out.txt/cwd")).is_dir());
    let r = run(&["convert", "exports/full.xml", &d("plainname")]);
    assert_eq!(r.code, 0, "a name without an extension is a folder: {}", r.stderr);

    std::fs::write(d("taken.json"), "mine").unwrap();
    let r = run(&["convert", "exports/full.xml", &d("taken.json")]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("already exists; nothing was written (--force replaces it)"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read_to_string(d("taken.json")).unwrap(), "mine");
    let r = run(&["convert", "exports/full.xml", &d("taken.json"), "--force"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("(JSON bundle, 10 sections)") || r.stdout.contains("10 sections"),
        "{}",
        r.stdout
    );
}

#[test]
fn export_refuses_an_existing_file_plaintext_above_all() {
    let dir = tmp();
    let t = dir.path().join("t").display().to_string();
    assert_eq!(
        run(&["import", "exports/full.xml", "--target", &t, "--secrets", &secrets()]).code,
        0
    );
    let out = dir.path().join("x.xml");
    std::fs::write(&out, "keep me").unwrap();
    for extra in [&[][..], &["--passwords", "plain"][..]] {
        let mut args = vec!["export", "--target", &t, "--out", out.to_str().unwrap()];
        args.extend(extra);
        let r = run(&args);
        assert_eq!(r.code, 2, "{extra:?}: {}", r.stderr);
        assert!(r.stderr.contains("already exists"), "{}", r.stderr);
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "keep me");
    }
    let r = run(&[
        "export",
        "--target",
        &t,
        "--out",
        out.to_str().unwrap(),
        "--force",
        "--sections",
        "session",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("(partial, 1 section: session)"), "{}", r.stdout);
}

#[test]
fn passwords_without_a_target_is_the_table_of_a_new_server_and_keys_can_be_shown() {
    let r = run(&["passwords", "exports/partial.xml"]);
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("Total: 7  Fixed: 0  Remaining: 7"), "{}", r.stdout);
    let r = run(&["import", "exports/partial.xml"]);
    assert_eq!(r.code, 2, "import still needs --target: {}", r.stderr);
    assert!(r.stderr.contains("--target <DIR>"), "{}", r.stderr);

    let r = cmd()
        .current_dir(crate::support::fixtures())
        .env("JIMS_SECRET_ACCOUNT_CORP_JIMS_PCPROBE", "Pw-from-account")
        .args(["passwords", "exports/partial.xml", "--secrets", "env", "--keys"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&r.stdout);
    let header = stdout.lines().next().unwrap();
    assert!(header.ends_with("Template  Key"), "{header}");
    let probe = stdout.lines().find(|l| l.contains("probe-admins")).unwrap();
    assert!(probe.contains(" OK ") && probe.ends_with("account/CORP\\JIMS-PCProbe"), "{probe}");
    let ad4 = stdout.lines().find(|l| l.contains("ad4.corp.example")).unwrap();
    assert!(ad4.ends_with("user_directories/AD4"), "a missing row shows its own key: {ad4}");
    assert!(!stdout.contains("Pw-from-account"));

    let r = cmd()
        .current_dir(crate::support::fixtures())
        .env("JIMS_SECRET_ACCOUNT_CORP_JIMS_PCPROBE", "Pw-from-account")
        .args(["passwords", "exports/partial.xml", "--secrets", "env", "--format", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    let item = v["items"].as_array().unwrap().iter().find(|i| i["data"] == "probe-admins").unwrap();
    assert_eq!(item["key"], "templates/probe-admins");
    assert_eq!(item["answered_key"], "account/CORP\\JIMS-PCProbe");
    assert_eq!(v["items"][0]["answered_key"], serde_json::Value::Null);
}

#[test]
fn a_warning_not_accepted_says_how_many_passwords_the_import_needs() {
    let dir = tmp();
    let t = dir.path().join("t").display().to_string();
    let r = run(&["import", "exports/partial.xml", "--target", &t]);
    assert_eq!(r.code, 4, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("it needs 7 passwords that the export does not carry usably"),
        "{}",
        r.stdout
    );
}

#[test]
fn counts_are_said_in_words_one_password_two_passwords_never_password_s() {
    let dir = tmp();
    // Every password of the full export but one.
    let all = std::fs::read_to_string(fixture("exports/full.secrets.toml")).unwrap();
    let one_short = all.replacen("DC10 = ", "# DC10 = ", 1);
    let secrets = dir.path().join("s.toml");
    std::fs::write(&secrets, one_short).unwrap();
    std::fs::set_permissions(&secrets, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .unwrap();
    let t = dir.path().join("t").display().to_string();
    let spec = format!("file:{}", secrets.display());
    let r = run(&["import", "exports/full.xml", "--target", &t, "--secrets", &spec]);
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("yet: 1 password missing. Nothing was written."), "{}", r.stdout);
    let r = run(&["import", "exports/full.xml", "--target", &t, "--secrets", &spec, "--dry-run"]);
    assert!(r.stdout.contains("would stop: 1 password missing"), "{}", r.stdout);
    assert!(r.stdout.contains("once it is given:"), "{}", r.stdout);
    let spec = format!("file:{}", fixture("exports/full.secrets.toml").display());
    let r = run(&["import", "exports/full.xml", "--target", &t, "--secrets", &spec]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("4 plaintext passwords in the export were sealed"), "{}", r.stdout);
    let old = crate::support::old_full(dir.path());
    let r = run(&["import", old.to_str().unwrap(), "--target", &t, "--secrets", &spec]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(&["rollback", "--target", &t]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(" files restored)."), "{}", r.stdout);
    for out in [&r.stdout, &r.stderr] {
        assert!(!out.contains("(s)"), "{out}");
    }
}

#[test]
fn history_keeps_export_paths_absolute_and_names_what_a_rollback_restored() {
    let dir = tmp();
    std::fs::create_dir_all(dir.path().join("in")).unwrap();
    std::fs::copy(fixture("exports/full.xml"), dir.path().join("in/full.xml")).unwrap();
    std::fs::copy(fixture("exports/partial.xml"), dir.path().join("in/partial.xml")).unwrap();
    let old = crate::support::old_full(dir.path());
    std::fs::copy(&old, dir.path().join("in/old.xml")).unwrap();
    let s = secrets();
    assert_eq!(
        run_in(dir.path(), &["import", "in/old.xml", "--target", "t", "--secrets", &s]).code,
        0
    );
    let r = run_in(
        dir.path(),
        &["import", "in/partial.xml", "--target", "t", "--secrets", &s, "--accept-warning"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(run_in(dir.path(), &["rollback", "--target", "t"]).code, 0);
    let v = run_in(dir.path(), &["history", "--target", "t", "--format", "json"]).json();
    let abs = std::fs::canonicalize(dir.path()).unwrap().join("in/old.xml");
    let first = v["versions"][0]["export"].as_str().unwrap();
    assert!(Path::new(first).is_absolute(), "{first}");
    assert_eq!(std::fs::canonicalize(first).unwrap(), abs);
    assert_eq!(v["versions"][2]["restored"], 1);
    let r = run_in(dir.path(), &["history", "--target", "t"]);
    let last = r.stdout.lines().last().unwrap();
    assert!(last.contains("rollback  restores version 1"), "{}", r.stdout);
}

#[test]
fn every_batch_entry_has_the_same_fields_and_the_rate_is_readable() {
    let dir = tmp();
    let ex = dir.path().join("exports");
    std::fs::create_dir_all(&ex).unwrap();
    std::fs::copy(fixture("exports/full.xml"), ex.join("a.xml")).unwrap();
    std::fs::copy(fixture("exports/partial.xml"), ex.join("p.xml")).unwrap();
    std::fs::copy(fixture("bad/malformed.json"), ex.join("z.json")).unwrap();
    let report = dir.path().join("r.json");
    let r = run(&[
        "batch",
        "--exports",
        ex.to_str().unwrap(),
        "--targets",
        dir.path().join("targets").to_str().unwrap(),
        "--secrets",
        &secrets(),
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 6, "{}{}", r.stdout, r.stderr);
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let entries = v["imports"].as_array().unwrap();
    let statuses: Vec<&str> = entries.iter().map(|e| e["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["imported", "warning-not-accepted", "invalid"]);
    let keys = |e: &serde_json::Value| e.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    for e in entries {
        assert_eq!(keys(e), keys(&entries[0]), "every entry has the same fields");
    }
    let summary = r.stdout.lines().next().unwrap();
    let rate = summary.split(" s (").nth(1).unwrap().split("/s)").next().unwrap();
    let decimals = rate.split('.').nth(1).map_or(0, str::len);
    assert!(decimals <= 2, "a rate with sensible precision: {summary}");
    assert!(summary.starts_with("Batch of 3 imports in "), "{summary}");
}

#[test]
fn jimsctl_s_own_error_is_coloured_like_clap_s_when_colour_is_on() {
    let red = "\x1b[1m\x1b[31merror:\x1b[0m cannot read nope.xml";
    let stderr = |envs: &[(&str, &str)], args: &[&str]| {
        let mut c = cmd();
        c.env_remove("CLICOLOR").env_remove("CLICOLOR_FORCE");
        for (k, v) in envs {
            c.env(k, v);
        }
        let out = c.args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    assert!(
        stderr(&[], &["validate", "nope.xml"]).starts_with("error: cannot read"),
        "not a terminal: plain"
    );
    assert!(stderr(&[], &["--color", "always", "validate", "nope.xml"]).starts_with(red));
    assert!(stderr(&[], &["validate", "nope.xml", "--color=always"]).starts_with(red));
    assert!(stderr(&[("CLICOLOR_FORCE", "1")], &["validate", "nope.xml"]).starts_with(red));
    assert!(
        stderr(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")], &["validate", "nope.xml"])
            .starts_with("error: ")
    );
    assert!(
        stderr(&[("CLICOLOR_FORCE", "1")], &["--color", "never", "validate", "nope.xml"])
            .starts_with("error: ")
    );
    // clap's own errors follow the same choice.
    assert!(stderr(&[], &["--color", "always", "nosuch"]).contains("\x1b["));
    assert!(!stderr(&[], &["nosuch"]).contains("\x1b["));
    let r = run(&["--color", "sometimes", "validate", "x"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}
