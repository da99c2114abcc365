//! Every bad input: exit 2, a message that names the problem (and the file, line and column for
//! a parse error), the target untouched, no panic.

use crate::support::{fixture, run, tmp, tree};

/// Imports `export` into a target that already holds the full fixture, and checks the result.
fn refused(export: &str, expect: &[&str]) {
    let dir = tmp();
    let target = dir.path().join("t");
    let t = target.to_str().unwrap();
    let secrets = format!("file:{}", fixture("exports/full.secrets.toml").display());
    let r = run(&["import", "exports/full.xml", "--target", t, "--secrets", &secrets]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let before = tree(&target);
    let r = run(&["import", export, "--target", t, "--secrets", &secrets, "--accept-warning"]);
    assert_eq!(r.code, 2, "{export}: {}{}", r.stdout, r.stderr);
    for e in expect {
        assert!(r.stderr.contains(e), "{export}: expected {e:?} in:\n{}", r.stderr);
    }
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    assert_eq!(tree(&target), before, "{export} changed the target");
}

#[test]
fn truncated_xml() {
    refused("bad/truncated.xml", &["bad/truncated.xml:"]);
}

#[test]
fn malformed_json() {
    refused("bad/malformed.json", &["bad/malformed.json:"]);
}

#[test]
fn invalid_utf8() {
    refused("bad/invalid-utf8.xml", &["bad/invalid-utf8.xml:", "UTF-8"]);
}

#[test]
fn binary_garbage() {
    refused("bad/garbage.bin", &["bad/garbage.bin:1:1: not a JIMS export"]);
}

#[test]
fn wrong_root_element() {
    refused("bad/wrong-root.xml", &["bad/wrong-root.xml:", "jims_backup"]);
}

#[test]
fn unknown_format_version() {
    refused("bad/unknown-version.xml", &["format_version 2"]);
}

#[test]
fn duplicate_ids() {
    refused("bad/duplicate-ids.xml", &["event_sources/DC2: the id is used more than once"]);
}

#[test]
fn too_many_event_sources() {
    refused(
        "bad/too-many-event-sources.xml",
        &["event_sources: 101 items, but JIMS allows at most 100"],
    );
}

#[test]
fn dangling_template_reference() {
    refused(
        "bad/dangling-template.xml",
        &["event_sources/DC2: uses template 'no-such-template', which does not exist"],
    );
}

#[test]
fn a_missing_export_file() {
    refused("bad/no-such-file.xml", &["no-such-file.xml", "no such file"]);
}

#[test]
fn importing_only_events_into_an_empty_server_names_every_dangling_template() {
    let dir = tmp();
    let target = dir.path().join("t");
    let t = target.to_str().unwrap();
    assert_eq!(run(&["server", "init", t]).code, 0);
    let before = tree(&target);
    let r = run(&[
        "import",
        "bad/events-without-templates.xml",
        "--target",
        t,
        "--accept-warning",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["status"], "invalid");
    let problems: Vec<String> =
        v["problems"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_owned()).collect();
    assert!(problems.iter().any(|p| p.contains("'dc-readers'")), "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("'exchange-readers'")), "{problems:?}");
    assert_eq!(tree(&target), before);
}

#[test]
fn a_tampered_sealed_value_is_refused_naming_the_item() {
    let dir = tmp();
    let target = dir.path().join("t");
    let t = target.to_str().unwrap();
    let secrets = format!("file:{}", fixture("exports/full.secrets.toml").display());
    assert_eq!(run(&["import", "exports/full.xml", "--target", t, "--secrets", &secrets]).code, 0);
    let out = dir.path().join("back.xml");
    let r = run(&["export", "--target", t, "--out", out.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Flip one hex digit of the first sealed value in the CSO clients.
    let text = std::fs::read_to_string(&out).unwrap();
    let at = text.find("<CSOs>").unwrap();
    let seal = at + text[at..].find("{aesgcm} 1,").unwrap() + "{aesgcm} 1,".len() + 17 + 4;
    let mut bytes = text.into_bytes();
    bytes[seal] = if bytes[seal] == b'0' { b'1' } else { b'0' };
    std::fs::write(&out, bytes).unwrap();
    let before = tree(&target);
    let r = run(&["import", out.to_str().unwrap(), "--target", t]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("cso_clients") && r.stderr.contains("CSO1"), "{}", r.stderr);
    assert!(r.stderr.contains("back.xml"), "the error names the file: {}", r.stderr);
    assert_eq!(tree(&target), before);
}

#[test]
fn unknown_and_absent_sections_are_named() {
    let dir = tmp();
    let t = dir.path().join("t");
    let r = run(&[
        "import",
        "exports/partial.xml",
        "--target",
        t.to_str().unwrap(),
        "--sections",
        "bogus",
        "--accept-warning",
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("'bogus'") && r.stderr.contains("event_sources"), "{}", r.stderr);
    let r = run(&[
        "import",
        "exports/partial.xml",
        "--target",
        t.to_str().unwrap(),
        "--sections",
        "cso_clients",
        "--accept-warning",
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("cso_clients") && r.stderr.contains("templates"), "{}", r.stderr);
    assert!(!t.exists());
}

#[test]
fn every_bad_input_message_names_the_file_line_and_column() {
    let dir = tmp();
    let t = dir.path().join("t");
    let mut report = String::new();
    let mut names: Vec<String> = std::fs::read_dir(fixture("bad"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in names {
        let r = run(&[
            "import",
            &format!("bad/{name}"),
            "--target",
            t.to_str().unwrap(),
            "--accept-warning",
        ]);
        assert_eq!(r.code, 2, "{name}: {}", r.stderr);
        report.push_str(&format!("{name} (exit {}):\n{}\n", r.code, r.stderr.trim_end()));
    }
    assert!(!t.exists());
    insta::with_settings!({filters => crate::support::filters()}, {
        insta::assert_snapshot!("bad_input_messages", report);
    });
}

#[test]
fn a_time_limit_that_is_not_a_sensible_number_of_seconds_is_bad_usage() {
    let dir = tmp();
    let t = dir.path().join("t");
    for bad in ["inf", "NaN", "1e30", "0", "-1", "soon"] {
        for command in ["passwords", "import"] {
            let limit = format!("--secrets-timeout={bad}");
            let r = run(&[command, "exports/partial.xml", "--target", t.to_str().unwrap(), &limit]);
            assert_eq!(r.code, 2, "{command} {bad}: {}", r.stderr);
            assert!(r.stderr.contains("--secrets-timeout"), "{command} {bad}: {}", r.stderr);
            assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
        }
    }
    let r = run(&["batch", "--exports", "exports", "--targets", "t", "--secrets-timeout", "inf"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(!t.exists());
}

#[test]
fn passwords_says_that_prompt_asks_nothing_there() {
    let dir = tmp();
    let t = dir.path().join("t");
    let r = run(&[
        "passwords",
        "exports/partial.xml",
        "--target",
        t.to_str().unwrap(),
        "--secrets",
        "prompt",
    ]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("`--secrets prompt` asks nothing here"), "{}", r.stderr);
    assert!(r.stdout.contains("Remaining: 7"), "{}", r.stdout);
}
