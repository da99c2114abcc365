//! Nothing from an input reaches a terminal raw (issue 12.5): control characters in export
//! file names, target and secrets-file paths, history, batch summaries, error messages, plugin
//! names, files and versions, and in an export's ids and fields (whether the import refuses
//! them or not) are printed escaped (`\x1b`, `\n`, `\u{9b}`), in text and in JSON alike.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{Run, cmd, fixture, run, tmp};

/// Fails when `text` holds a control character other than a newline (or jimsctl's colours,
/// which these runs, not on a terminal, never use), a C1 control or a bidirectional override.
pub(crate) fn assert_clean(what: &str, text: &str) {
    for c in text.chars() {
        let raw = (c.is_control() && c != '\n')
            || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c);
        assert!(!raw, "{what}: a raw {c:?} reached the output:\n{text:?}");
    }
}

fn assert_run_clean(what: &str, r: &Run) {
    assert_clean(&format!("{what} (stdout)"), &r.stdout);
    assert_clean(&format!("{what} (stderr)"), &r.stderr);
    assert_ne!(r.code, 101, "{what} panicked: {}", r.stderr);
}

/// A name with a screen clear, a colour, a window title, a newline, a carriage return, a C1 CSI
/// and a right-to-left override.
const HOSTILE: &str = "ev\x1b[2J\x1b[31mil\x1b]0;owned\x07\nline\rcr\u{9b}1m\u{202e}lmx";
/// How [`HOSTILE`] is shown.
const SHOWN: &str = r"ev\x1b[2J\x1b[31mil\x1b]0;owned\x07\nline\rcr\u{9b}1m\u{202e}lmx";

fn secrets() -> String {
    format!("file:{}", fixture("exports/full.secrets.toml").display())
}

#[test]
fn paths_with_control_characters_are_shown_escaped() {
    let dir = tmp();
    let d = dir.path();
    let export = d.join(format!("{HOSTILE}.xml"));
    std::fs::copy(fixture("exports/full.xml"), &export).unwrap();
    let target = d.join(format!("t-{HOSTILE}"));
    let (e, t) = (export.to_str().unwrap(), target.to_str().unwrap());

    // Missing passwords: the heading names the export and the target.
    let r = run(&["import", e, "--target", t]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_run_clean("import, missing passwords", &r);
    assert!(r.stdout.contains(&format!("{SHOWN}.xml")), "{}", r.stdout);
    assert!(r.stdout.contains(&format!("t-{SHOWN}")), "{}", r.stdout);
    // In JSON the paths are JSON strings: escaped by JSON, read back exactly.
    let r = run(&["import", e, "--target", t, "--format", "json"]);
    assert_run_clean("import --format json", &r);
    assert_eq!(r.json()["export"], e);

    // Imported, then in history and in export's and convert's messages.
    let r = run(&["import", e, "--target", t, "--secrets", &secrets()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_run_clean("import", &r);
    let r = run(&["history", "--target", t]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_run_clean("history", &r);
    assert!(r.stdout.contains(SHOWN), "history shows the export escaped:\n{}", r.stdout);
    let out = d.join(format!("out-{HOSTILE}.xml"));
    for args in [
        vec!["export", "--target", t, "--out", out.to_str().unwrap(), "--passwords", "plain"],
        vec!["convert", e, out.to_str().unwrap()],
        vec!["rollback", "--target", t],
        vec!["key", "id", "--target", t],
    ] {
        let r = run(&args);
        assert_run_clean(args[0], &r);
        assert!(r.code == 0 || r.code == 2, "{args:?}: {}", r.stderr);
    }
    // Every command's JSON is JSON, the paths read back exactly (a C1 control or a
    // bidirectional override is a `\u` escape of JSON, never the terminal's `\u{9b}`).
    for (args, key) in [
        (vec!["validate", e], Some("path")),
        (vec!["status", "--target", t], Some("target")),
        (vec!["diff", e, t], None),
        (vec!["rollback", "--dry-run", "--target", t, "--to", "1"], None),
        (vec!["history", "show", "1", "--target", t], None),
        (vec!["history", "--target", t], None),
        (vec!["key", "list", "--target", t], None),
        (vec!["key", "rotate", "--dry-run", "--target", t], None),
        (vec!["key", "public", "--target", t], None),
    ] {
        let mut args = args.clone();
        args.extend(["--format", "json"]);
        let r = run(&args);
        assert_run_clean(&format!("{args:?}"), &r);
        assert!(r.code == 0 || r.code == 2, "{args:?}: {}{}", r.stdout, r.stderr);
        let v = r.json();
        if let Some(key) = key {
            assert_eq!(v[key], args[args.len() - 3], "{args:?}");
        }
        if args[0] == "diff" {
            assert_eq!(v["a"]["path"], e, "{args:?}");
        }
    }

    // Errors naming a path: a missing export, a missing secrets file, a bad output place.
    let missing = d.join(format!("no-{HOSTILE}.xml"));
    let r = run(&["import", missing.to_str().unwrap(), "--target", t]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_run_clean("a missing export", &r);
    assert!(r.stderr.contains(&format!("no-{SHOWN}.xml")), "{}", r.stderr);
    let secrets_file = d.join(format!("s-{HOSTILE}.toml"));
    let spec = format!("file:{}", secrets_file.display());
    let r = run(&["import", e, "--target", t, "--secrets", &spec]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_run_clean("a missing secrets file", &r);
    assert!(r.stderr.contains(&format!("s-{SHOWN}.toml")), "{}", r.stderr);
    let r = run(&["import", e, "--target", t, "--secrets", &spec, "--format", "json"]);
    assert_run_clean("a missing secrets file, JSON", &r);
    assert_eq!(r.json()["exit_code"], 2);
    let fifo = d.join(format!("fifo-{HOSTILE}"));
    crate::support::mkfifo(&fifo);
    let r = run(&["export", "--target", t, "--out", fifo.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_run_clean("an output that is a FIFO", &r);
    assert!(r.stderr.contains(&format!("fifo-{SHOWN}")), "{}", r.stderr);
}

/// A file name that reaches the argument parser (`jimsctl convert exports/*`) is quoted in its
/// usage error escaped, with the exit code of bad usage.
#[test]
fn usage_errors_show_what_was_typed_escaped() {
    for args in [
        vec!["convert", "a.xml", "b.xml", HOSTILE],
        vec!["import", "a.xml", "--target", "t", HOSTILE],
        vec![HOSTILE],
        vec!["import", "--secrets-timeout", HOSTILE, "a.xml", "--target", "t"],
    ] {
        let r = run(&args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert_run_clean(&format!("{args:?}"), &r);
        assert!(r.stderr.contains("ev\\x1b[2J") || r.stderr.contains(SHOWN), "{}", r.stderr);
    }
    // Help is still clap's, on standard output, exit 0.
    let r = run(&["--help"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("Usage: jimsctl"), "{}", r.stdout);
}

#[test]
fn a_batch_summary_shows_file_names_escaped() {
    let dir = tmp();
    let exports = dir.path().join("exports");
    std::fs::create_dir(&exports).unwrap();
    std::fs::copy(fixture("bad/truncated.xml"), exports.join(format!("{HOSTILE}.xml"))).unwrap();
    let targets = dir.path().join("targets");
    let report = dir.path().join("report.json");
    let r = run(&[
        "batch",
        "--exports",
        exports.to_str().unwrap(),
        "--targets",
        targets.to_str().unwrap(),
        "--dry-run",
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 6, "{}{}", r.stdout, r.stderr);
    assert_run_clean("batch", &r);
    assert!(r.stdout.contains(SHOWN), "{}", r.stdout);
    let text = std::fs::read_to_string(&report).unwrap();
    assert_clean("the batch report", &text);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(v["imports"][0]["export"].as_str().unwrap().ends_with(&format!("{HOSTILE}.xml")));
}

/// The full export with `attr="value"` of its first item replaced.
fn hostile_export(dir: &Path, from: &str, to: &str) -> PathBuf {
    let text = std::fs::read_to_string(fixture("exports/full.xml")).unwrap();
    assert!(text.contains(from), "{from}");
    let path = dir.join("hostile.xml");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    path
}

/// Ids, Data and Username carrying escapes as character references: refused or not, nothing
/// reaches the terminal raw, in the plan, the table, the errors, or JSON.
#[test]
fn escapes_written_as_character_references_never_reach_the_terminal() {
    let dir = tmp();
    let d = dir.path();
    let text = std::fs::read_to_string(fixture("exports/full.xml")).unwrap();
    let id = text.split("<event_source id=\"").nth(1).unwrap().split('"').next().unwrap();
    let server = text.split(" server=\"").nth(1).unwrap().split('"').next().unwrap();
    let username = text.split(" username=\"").nth(1).unwrap().split('"').next().unwrap();
    let refs = "&#27;[2J&#27;[31mX&#27;]0;t&#7;&#10;Y&#13;&#155;1m&#8238;";
    let cases = [
        ("an id", format!("<event_source id=\"{id}\""), format!("<event_source id=\"{id}{refs}\"")),
        ("Data", format!(" server=\"{server}\""), format!(" server=\"{server}{refs}\"")),
        (
            "Username",
            format!(" username=\"{username}\""),
            format!(" username=\"{username}{refs}\""),
        ),
    ];
    for (what, from, to) in cases {
        let export = hostile_export(d, &from, &to);
        let e = export.to_str().unwrap();
        let t = d.join(format!("t-{}", what.replace(' ', "-")));
        let t = t.to_str().unwrap();
        for args in [
            vec!["passwords", e, "--target", t],
            vec!["passwords", e, "--target", t, "--format", "json"],
            vec!["import", e, "--target", t],
            vec!["import", e, "--target", t, "--dry-run", "--secrets", &secrets()],
            vec!["import", e, "--target", t, "--format", "json", "--dry-run"],
            vec!["convert", e, d.join("c.json").to_str().unwrap()],
        ] {
            let r = run(&args);
            assert_run_clean(&format!("{what}: {args:?}"), &r);
            assert!(matches!(r.code, 0 | 2 | 3), "{what}: {args:?}: {}{}", r.stdout, r.stderr);
        }
    }
}

/// `target/<profile>`: the test binary lives in its `deps/`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.parent().and_then(Path::parent).expect("target/<profile>").to_owned()
}

fn lib_name(name: &str) -> String {
    format!("{}{name}{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX)
}

/// A plugin folder holding `odd_version` (wide version with escapes) and the example plugin
/// under a file name with escapes.
fn odd_plugins() -> tempfile::TempDir {
    let dir = profile_dir();
    let profile = match dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev".to_owned(),
        Some(other) => other.to_owned(),
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--quiet", "--profile", &profile, "--lib", "--examples"])
        .args(["-p", "example-plugin", "-p", "test-plugins"])
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building the plugin libraries failed");
    let folder = tmp();
    let copies = [
        (dir.join("examples").join(lib_name("odd_version")), lib_name("odd_version")),
        (dir.join(lib_name("example_plugin")), lib_name(&format!("ex{HOSTILE}"))),
    ];
    for (lib, name) in copies {
        let copy = folder.path().join(name);
        std::fs::copy(&lib, &copy).unwrap_or_else(|e| panic!("{}: {e}", lib.display()));
        std::fs::set_permissions(&copy, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
    }
    folder
}

#[test]
fn plugins_list_keeps_its_columns_and_escapes_what_plugins_say() {
    let folder = odd_plugins();
    let list = |format: &[&str]| {
        run_cmd(
            cmd().env("JIMSCTL_PLUGIN_PATH", folder.path()).args(["plugins", "list"]).args(format),
        )
    };
    let r = list(&[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_run_clean("plugins list", &r);
    let shown_version = r"版本一二三四五六七八九十\x1b[2J\x1b]0;owned\x07\u{9b}31m";
    assert!(r.stdout.contains(shown_version), "{}", r.stdout);
    assert!(r.stdout.contains(&lib_name(&format!("ex{SHOWN}"))), "{}", r.stdout);
    // The Status column starts at the same terminal column on every row.
    let starts: Vec<usize> = r
        .stdout
        .lines()
        .filter_map(|l| {
            let at = l.find(" usable").or_else(|| l.find(" Status"))?;
            Some(unicode_cells(&l[..at]))
        })
        .collect();
    assert_eq!(starts.len(), 3, "{}", r.stdout);
    assert!(starts.windows(2).all(|w| w[0] == w[1]), "{starts:?}\n{}", r.stdout);

    let r = list(&["--format", "json"]);
    assert_run_clean("plugins list --format json", &r);
    let v = r.json();
    let odd = v["plugins"].as_array().unwrap().iter().find(|p| p["name"] == "odd_version").unwrap();
    assert_eq!(odd["version"], "版本一二三四五六七八九十\x1b[2J\x1b]0;owned\x07\u{9b}31m");
}

/// Terminal cells of `text`: two for the CJK characters these tests use, one for the rest.
fn unicode_cells(text: &str) -> usize {
    text.chars().map(|c| if ('\u{4e00}'..='\u{9fff}').contains(&c) { 2 } else { 1 }).sum()
}

#[test]
fn settings_show_paths_escaped() {
    let dir = tmp();
    let folder = dir.path().join(format!("f-{HOSTILE}"));
    std::fs::create_dir(&folder).unwrap();
    let config = dir.path().join("config.toml");
    let r = run_cmd(
        cmd().env("JIMSCTL_CONFIG", &config).args(["settings", "--default-folder"]).arg(&folder),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_run_clean("settings", &r);
    assert!(r.stdout.contains(&format!("f-{SHOWN}")), "{}", r.stdout);
    let r = run_cmd(cmd().env("JIMSCTL_CONFIG", &config).args(["settings", "--format", "json"]));
    assert_run_clean("settings --format json", &r);
    assert_eq!(r.json()["default_folder"], folder.display().to_string());
}

/// Runs a prepared command to its end.
fn run_cmd(c: &mut Command) -> Run {
    let out = c.output().expect("the binary runs");
    Run::of(out)
}
