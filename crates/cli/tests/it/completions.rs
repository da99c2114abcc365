//! Shell completions and man pages from the clap definitions, and `-q`/`-v`.

use crate::support::{fixture, run, tmp};

#[test]
fn completions_for_every_shell_know_every_command() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let r = run(&["completions", shell]);
        assert_eq!(r.code, 0, "{shell}: {}", r.stderr);
        for command in ["import", "passwords", "diff", "status", "validate", "history", "batch"] {
            assert!(r.stdout.contains(command), "{shell}: {command}");
        }
        assert!(r.stdout.contains("replace-event-sources"), "{shell}: flags too");
    }
    let r = run(&["completions", "tcsh"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("possible values"), "{}", r.stderr);
}

#[test]
fn man_pages_are_written_for_every_command() {
    let dir = tmp();
    let out = dir.path().join("man");
    let r = run(&["man", "--out", out.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for page in ["jimsctl.1", "jimsctl-import.1", "jimsctl-diff.1", "jimsctl-history-show.1"] {
        let text =
            std::fs::read_to_string(out.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.contains(".SH NAME"), "{page}");
    }
    let import = std::fs::read_to_string(out.join("jimsctl-import.1")).unwrap();
    assert!(import.contains("accept\\-warning"), "{import}");
}

/// Man pages are outputs like any other: never written into a managed folder, nor through a
/// link that stands where a page goes.
#[test]
fn man_pages_are_refused_where_no_output_may_go() {
    let dir = tmp();
    let srv = dir.path().join("srv");
    let r = run(&["server", "init", srv.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for inside in [srv.join("man"), srv.join("cwd/doc/man")] {
        let r = run(&["man", "--out", inside.to_str().unwrap()]);
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(r.stderr.contains("cannot write the man pages into"), "{}", r.stderr);
        assert!(r.stderr.contains("inside the managed server folder"), "{}", r.stderr);
        assert!(!inside.exists(), "{} was made", inside.display());
    }
    let out = dir.path().join("pages");
    std::fs::create_dir(&out).unwrap();
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, "keep me").unwrap();
    std::os::unix::fs::symlink(&victim, out.join("jimsctl.1")).unwrap();
    let r = run(&["man", "--out", out.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("jimsctl.1"), "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
}

#[test]
fn quiet_says_one_line_and_verbose_lists_every_item() {
    let dir = tmp();
    let t = dir.path().join("t").display().to_string();
    let secrets = format!("file:{}", fixture("exports/full.secrets.toml").display());
    let r = run(&["import", "exports/full.xml", "--target", &t, "--secrets", &secrets, "-q"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.lines().count(), 1, "{}", r.stdout);
    assert!(r.stdout.starts_with("Imported "), "{}", r.stdout);

    let other = dir.path().join("u").display().to_string();
    let r = run(&[
        "import",
        "exports/full.xml",
        "--target",
        &other,
        "--dry-run",
        "--secrets",
        &secrets,
    ]);
    assert!(r.stdout.contains("… and 38 more"), "{}", r.stdout);
    let r = run(&[
        "import",
        "exports/full.xml",
        "--target",
        &other,
        "--dry-run",
        "--secrets",
        &secrets,
        "--verbose",
    ]);
    assert!(!r.stdout.contains("more"), "{}", r.stdout);
    assert!(r.stdout.contains("DC40, EX1, EX2, EX3, EX4, EX5, EX6\n"), "{}", r.stdout);

    let r = run(&["diff", "exports/full.xml", &t, "-q", "--exit-code"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.stdout, "", "diff -q prints nothing");
    let r = run(&["import", "exports/full.xml", "--target", &t, "-q", "-v"]);
    assert_eq!(r.code, 2, "-q and -v conflict: {}", r.stderr);
}
