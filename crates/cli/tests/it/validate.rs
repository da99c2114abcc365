//! `jimsctl validate FILE|DIR`: every problem at once, exit 0 or 2, with no target.

use std::path::Path;

use crate::support::{assert_no_secret, fixture, run, tmp};

#[test]
fn a_valid_file_exits_0_and_says_what_it_holds() {
    for f in ["exports/full.xml", "exports/full.json", "server-folder"] {
        let r = run(&["validate", f]);
        assert_eq!(r.code, 0, "{f}: {}{}", r.stdout, r.stderr);
        assert!(r.stdout.contains(": valid: "), "{}", r.stdout);
        assert_no_secret(&r.stdout);
    }
    let r = run(&["validate", "exports/full.xml"]);
    assert!(
        r.stdout.starts_with("exports/full.xml (XML bundle): valid: 10 sections, 101 items."),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("Note: 4 passwords are readable in the file"), "{}", r.stdout);
    let r = run(&["validate", "exports/partial.xml", "--format", "json"]);
    let v = r.json();
    assert_eq!(v["valid"], true);
    assert_eq!(v["sections"], serde_json::json!(["user_directories", "templates"]));
    assert_eq!(v["problems"], serde_json::json!([]));
}

#[test]
fn every_problem_is_listed_at_once() {
    let dir = tmp();
    let text = std::fs::read_to_string(fixture("exports/full.xml"))
        .unwrap()
        .replace("<event_source id=\"DC5\"", "<event_source id=\"DC4\"")
        .replace("probe_timeout=\"480\"", "probe_timeout=\"5000\"")
        .replace("id=\"DC2\" description=\"Domain controller 2 (branch-west)\" site=\"branch-west\" template=\"dc-readers\"",
                 "id=\"DC2\" description=\"x\" site=\"branch-west\" template=\"nowhere\"")
        .replacen("password=\"Plain-", "password=\"{aesgcm}broken-", 1);
    for (name, json) in [("bad.xml", false), ("bad.json", true)] {
        let path = dir.path().join(name);
        if json {
            let xml = dir.path().join("src.xml");
            std::fs::write(&xml, &text).unwrap();
            let r = run(&["convert", xml.to_str().unwrap(), path.to_str().unwrap()]);
            assert_eq!(r.code, 0, "{}", r.stderr);
        } else {
            std::fs::write(&path, &text).unwrap();
        }
        let r = run(&["validate", path.to_str().unwrap()]);
        assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
        assert!(r.stdout.contains("4 problems:"), "{}", r.stdout);
        for want in [
            "event_sources/DC2: uses template 'nowhere', which does not exist",
            "event_sources/DC4: the id is used more than once",
            "session: logoff time probe_timeout=\"5000\"",
            "field password: the sealed value is malformed",
        ] {
            assert!(r.stdout.contains(want), "{want}:\n{}", r.stdout);
        }
        assert!(!r.stdout.contains("broken-"), "no value printed: {}", r.stdout);
        let r = run(&["validate", path.to_str().unwrap(), "--format", "json"]);
        assert_eq!(r.code, 2);
        let v = r.json();
        assert_eq!(v["valid"], false);
        assert_eq!(v["problems"].as_array().unwrap().len(), 4, "{v}");
    }
}

#[test]
fn a_managed_folder_is_checked_with_its_key_and_unreadable_input_is_exit_2() {
    let dir = tmp();
    let target = dir.path().join("t");
    let t = target.to_str().unwrap();
    let secrets = format!("file:{}", fixture("exports/full.secrets.toml").display());
    let r = run(&["import", "exports/full.xml", "--target", t, "--secrets", &secrets]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(&["validate", t]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("(managed folder, version 1): valid"), "{}", r.stdout);
    assert_eq!(run(&["validate", &format!("{t}@1")]).code, 0);

    // A sealed value altered by hand no longer opens under the folder's key.
    let live = Path::new(t).join("cwd/config/event_log_reader.xml");
    let text = std::fs::read_to_string(&live).unwrap();
    let at = text.find("{aesgcm} 1,").unwrap() + "{aesgcm} 1,".len() + 17 + 30;
    let flipped = if &text[at..=at] == "a" { "b" } else { "a" };
    std::fs::write(&live, format!("{}{flipped}{}", &text[..at], &text[at + 1..])).unwrap();
    let r = run(&["validate", t]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("does not open under this folder's key"), "{}", r.stdout);

    let r = run(&["validate", "bad/truncated.xml"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("truncated.xml:180:9"), "{}", r.stderr);
    let r = run(&["validate", "bad/truncated.xml", "--format", "json"]);
    assert_eq!(r.code, 2);
    assert_eq!(r.json()["valid"], false);
    let r = run(&["validate", "no-such-file.xml"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}
