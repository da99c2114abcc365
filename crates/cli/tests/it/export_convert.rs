//! `jimsctl export` and `jimsctl convert`.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use crate::support::{
    assert_no_secret, filters, fixture, fixture_passwords, fixtures, isolated_home, run, tmp, tree,
};

fn imported() -> (tempfile::TempDir, String) {
    let dir = tmp();
    let target = dir.path().join("t").display().to_string();
    let secrets = format!("file:{}", fixture("exports/full.secrets.toml").display());
    let r = run(&["import", "exports/full.xml", "--target", &target, "--secrets", &secrets]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    (dir, target)
}

#[test]
fn export_sealed_then_reimport_on_the_same_server_needs_no_password() {
    let (dir, target) = imported();
    let out = dir.path().join("x.json");
    let r = run(&["export", "--target", &target, "--out", out.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.trim_start().starts_with('{'), "JSON by extension");
    assert!(text.contains("\"server_key_id\""));
    let r = run(&["import", out.to_str().unwrap(), "--target", &target, "--format", "json"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.json()["passwords"]["total"], 0, "every password is usable on the same server");
}

#[test]
fn export_without_passwords_and_in_plaintext() {
    let (dir, target) = imported();
    let omit = dir.path().join("omit.xml");
    assert_eq!(
        run(&[
            "export",
            "--target",
            &target,
            "--out",
            omit.to_str().unwrap(),
            "--passwords",
            "omit"
        ])
        .code,
        0
    );
    let text = std::fs::read_to_string(&omit).unwrap();
    assert!(text.contains("passwords=\"omitted\""));
    assert!(!text.contains("{aesgcm}"));

    let plain = dir.path().join("plain.xml");
    let r = run(&[
        "export",
        "--target",
        &target,
        "--out",
        plain.to_str().unwrap(),
        "--passwords",
        "plain",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("plaintext"), "warns: {}", r.stderr);
    assert_no_secret(&r.stdout);
    assert_eq!(std::fs::metadata(&plain).unwrap().permissions().mode() & 0o777, 0o600);
    let text = std::fs::read_to_string(&plain).unwrap();
    let found = fixture_passwords().iter().filter(|p| text.contains(p.as_str())).count();
    assert!(found > 10, "the plaintext export carries the passwords ({found})");
}

#[test]
fn export_sections_makes_a_partial_bundle() {
    let (dir, target) = imported();
    let out = dir.path().join("p.xml");
    let r = run(&[
        "export",
        "--target",
        &target,
        "--out",
        out.to_str().unwrap(),
        "--sections",
        "templates,srx_clients",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("scope=\"partial\""));
    assert!(
        text.contains("<section id=\"templates\">")
            && text.contains("<section id=\"srx_clients\">")
    );
    assert!(!text.contains("<section id=\"event_sources\">"));
}

#[test]
fn sections_in_an_unusual_order_keep_it_through_json_and_back() {
    let dir = tmp();
    let d = |n: &str| dir.path().join(n).display().to_string();
    // partial.xml with its sections in the reverse of the usual order.
    let text = std::fs::read_to_string(fixture("exports/partial.xml")).unwrap();
    let (head, rest) = text.split_once("  <section ").unwrap();
    let (body, tail) = rest.rsplit_once("</section>\n").unwrap();
    let mut sections: Vec<String> = format!("  <section {body}</section>\n")
        .split_inclusive("</section>\n")
        .map(String::from)
        .collect();
    assert!(sections.len() >= 2);
    sections.reverse();
    let reversed = format!("{head}{}{tail}", sections.concat());
    std::fs::write(d("r.xml"), &reversed).unwrap();
    assert_eq!(run(&["convert", &d("r.xml"), &d("r.json")]).code, 0);
    assert_eq!(run(&["convert", &d("r.json"), &d("back.xml")]).code, 0);
    assert_eq!(std::fs::read_to_string(d("back.xml")).unwrap(), reversed);
    // The table still lists sections in the order of docs/configuration.md's sections table.
    let r = run(&["passwords", &d("r.xml"), "--target", &d("t"), "--format", "json"]);
    let usual = run(&["passwords", "exports/partial.xml", "--target", &d("t"), "--format", "json"]);
    assert_eq!(r.json()["items"], usual.json()["items"]);
}

#[test]
fn convert_round_trips_between_every_kind() {
    let dir = tmp();
    let d = |n: &str| dir.path().join(n).display().to_string();
    assert_eq!(run(&["convert", "exports/full.xml", &d("a.json")]).code, 0);
    assert_eq!(run(&["convert", &d("a.json"), &d("b.xml")]).code, 0);
    assert_eq!(
        std::fs::read(d("b.xml")).unwrap(),
        std::fs::read(fixture("exports/full.xml")).unwrap()
    );
    assert_eq!(
        std::fs::read(d("a.json")).unwrap(),
        std::fs::read(fixture("exports/full.json")).unwrap()
    );
    // Folder → bundle → folder returns the same files.
    assert_eq!(run(&["convert", "server-folder", &d("f.xml")]).code, 0);
    let r = run(&["convert", &d("f.xml"), &d("folder")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(tree(&dir.path().join("folder")), tree(&fixture("server-folder")));
    insta::with_settings!({filters => filters()}, {
        insta::assert_snapshot!("convert_message", run(&["convert", "exports/partial.json", &d("p.xml")]).stdout);
    });
}

/// Runs `jimsctl ARGS` in the fixtures folder under `umask 0`, so that every mode checked is
/// the one jimsctl asked for; returns the exit code and both outputs, checked for secrets.
fn run_umask_0(args: &[&str]) -> (i32, String) {
    let out = Command::new("sh")
        .args(["-c", "umask 0 && exec \"$0\" \"$@\"", env!("CARGO_BIN_EXE_jimsctl")])
        .args(args)
        .current_dir(fixtures())
        .env("XDG_CONFIG_HOME", isolated_home().join("config"))
        .env("XDG_STATE_HOME", isolated_home().join("state"))
        .output()
        .unwrap();
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_no_secret(&text);
    (out.status.code().unwrap_or(-1), text)
}

/// The mode of `root` and of every entry under it, by path relative to `root` ("" for itself).
fn modes(root: &Path) -> Vec<(String, u32)> {
    let mut out = Vec::new();
    let mut todo = vec![root.to_owned()];
    while let Some(d) = todo.pop() {
        let rel = d.strip_prefix(root).unwrap().display().to_string();
        out.push((rel, std::fs::symlink_metadata(&d).unwrap().permissions().mode() & 0o7777));
        if d.is_dir() {
            todo.extend(std::fs::read_dir(&d).unwrap().map(|e| e.unwrap().path()));
        }
    }
    out.sort();
    out
}

/// The names in `dir`, sorted (a leftover temporary folder would show here).
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn convert_to_a_folder_with_plaintext_passwords_makes_it_private() {
    let dir = tmp();
    let out = dir.path().join("folder");
    let (code, text) = run_umask_0(&["convert", "exports/full.xml", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{text}");
    let files = tree(&out);
    let plaintext = files
        .iter()
        .filter(|(_, b)| String::from_utf8_lossy(b).contains("password=\"Plain-"))
        .count();
    assert!(plaintext > 0, "the fixture holds plaintext passwords ({plaintext} files)");
    // The same files as the fixture's server folder, byte for byte.
    assert_eq!(files, tree(&fixture("server-folder")));
    let all = modes(&out);
    assert_eq!(all.len(), 11 + 5, "11 native files; the folder, cwd, config, system, init");
    for (rel, mode) in &all {
        let want = if rel.ends_with(".xml") { 0o600 } else { 0o700 };
        assert_eq!(*mode, want, "{rel:?}: {mode:o}");
    }
    assert_eq!(names(dir.path()), ["folder"], "no temporary folder is left");

    // An existing empty folder is replaced the same way.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let (code, text) = run_umask_0(&["convert", "exports/full.xml", empty.to_str().unwrap()]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(tree(&empty), files);
    assert_eq!(modes(&empty), all);
    assert_eq!(names(dir.path()), ["empty", "folder"]);
}

#[test]
fn convert_to_a_folder_without_plaintext_is_readable() {
    let (dir, target) = imported();
    let sealed = dir.path().join("sealed.xml");
    let r = run(&["export", "--target", &target, "--out", sealed.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for (input, out) in [("exports/partial.xml", "partial"), (sealed.to_str().unwrap(), "sealed")] {
        let out = dir.path().join(out);
        let (code, text) = run_umask_0(&["convert", input, out.to_str().unwrap()]);
        assert_eq!(code, 0, "{text}");
        for (rel, mode) in modes(&out) {
            let want = if rel.ends_with(".xml") { 0o644 } else { 0o755 };
            assert_eq!(mode, want, "{input}: {rel:?}: {mode:o}");
        }
    }
    let events =
        std::fs::read_to_string(dir.path().join("sealed/cwd/config/event_log_reader.xml")).unwrap();
    assert!(events.contains("{aesgcm} 1,"), "the passwords stay sealed");
    assert_eq!(names(dir.path()), ["partial", "sealed", "sealed.xml", "t"]);
}

#[test]
fn convert_to_a_folder_that_cannot_be_written_leaves_nothing() {
    let dir = tmp();
    // A parent folder that does not exist: bad usage, naming it; nothing is made.
    let missing = dir.path().join("no/such/folder");
    let r = run(&["convert", "exports/full.xml", missing.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("does not exist"), "{}", r.stderr);
    assert!(r.stderr.contains(&dir.path().join("no/such").display().to_string()), "{}", r.stderr);
    assert_no_secret(&format!("{}{}", r.stdout, r.stderr));
    assert!(names(dir.path()).is_empty(), "nothing is left: {:?}", names(dir.path()));

    // A folder that is not empty, or a file: bad usage, left as it was.
    let full = dir.path().join("full");
    std::fs::create_dir(&full).unwrap();
    std::fs::write(full.join("keep.txt"), "keep").unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, "keep").unwrap();
    for out in [&full, &file] {
        let r = run(&["convert", "exports/full.xml", out.to_str().unwrap()]);
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(r.stderr.contains("not empty"), "{}", r.stderr);
    }
    assert_eq!(tree(&full), [("keep.txt".to_owned(), b"keep".to_vec())]);
    assert_eq!(std::fs::read(&file).unwrap(), b"keep");
    assert_eq!(names(dir.path()), ["file", "full"], "no temporary folder is left");
}
