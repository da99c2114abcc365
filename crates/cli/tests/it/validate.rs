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

/// `validate PATH --format json`'s password states and its Remaining on a new server, with
/// `passwords PATH`'s Remaining (JSON and text) and `validate`'s text line, which must agree.
fn counts(path: &str) -> (serde_json::Value, u64) {
    let r = run(&["validate", path, "--format", "json"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let v = r.json();
    let remaining = v["remaining_on_a_new_server"].as_u64().expect("a count");
    let p = run(&["passwords", path, "--format", "json"]);
    assert_eq!(p.code, if remaining == 0 { 0 } else { 3 }, "{}", p.stderr);
    let table = p.json();
    assert_eq!(table["remaining"], remaining, "validate and passwords disagree on {path}");
    assert_eq!(table["total"], remaining);
    let text = run(&["validate", path]);
    let line = format!("\nRemaining on a new server: {remaining} (`jimsctl passwords ");
    assert!(text.stdout.contains(&line), "{line}:\n{}", text.stdout);
    let p = run(&["passwords", path]);
    assert!(p.stdout.contains(&format!("Remaining: {remaining}\n")), "{}", p.stdout);
    (v["passwords"].clone(), remaining)
}

#[test]
fn a_password_left_to_a_template_is_not_missing_and_validate_agrees_with_passwords() {
    // The fixture: 48 items name a template and leave their password to it, absent (`P1`) or
    // empty (`DC2`'s `password=""`); its 47 rows are the {capi} and {fsw} values, which only
    // the server that wrote them opens.
    for f in ["exports/full.xml", "exports/full.json", "server-folder"] {
        let path = fixture(f).display().to_string();
        let (states, remaining) = counts(&path);
        assert_eq!(
            states,
            serde_json::json!({"capi": 14, "fsw": 33, "plaintext": 4, "template": 48}),
            "{f}"
        );
        assert_eq!(remaining, 47, "{f}");
        let text = run(&["validate", &path]).stdout;
        assert!(
            text.contains("Passwords: 14 capi, 33 fsw, 4 plaintext, 48 from a template.\n"),
            "{text}"
        );
    }

    let xml = std::fs::read_to_string(fixture("exports/full.xml")).unwrap();
    let dc2 = "id=\"DC2\" description=\"Domain controller 2 (branch-west)\" site=\"branch-west\" \
               template=\"dc-readers\">";
    let dc2_password = "server=\"10.0.0.12\" initial_timespan=\"24\" tls_min=\"1.2\" username=\"\" password=\"\"/>";
    assert_eq!(xml.matches(dc2).count(), 1);
    assert_eq!(xml.matches(dc2_password).count(), 1);
    let capi = "{capi} 1,01000000d08c9ddf0115d1118c7a00c04fc297eb";
    let variants: [(&str, String, serde_json::Value, u64); 5] = [
        (
            "DC2 names no template: its empty password is missing",
            xml.replace(dc2, &dc2.replace(" template=\"dc-readers\"", "")),
            serde_json::json!({"capi": 14, "fsw": 33, "missing": 1, "plaintext": 4, "template": 47}),
            48,
        ),
        (
            "DC2 names the empty template: missing",
            xml.replace(dc2, &dc2.replace("=\"dc-readers\"", "=\"\"")),
            serde_json::json!({"capi": 14, "fsw": 33, "missing": 1, "plaintext": 4, "template": 47}),
            48,
        ),
        (
            "DC2 keeps its template but has a password of its own, unusable here: a row",
            xml.replace(
                dc2_password,
                &dc2_password.replace("password=\"\"", &format!("password=\"{capi}00\"")),
            ),
            serde_json::json!({"capi": 15, "fsw": 33, "plaintext": 4, "template": 47}),
            48,
        ),
        (
            "DC2 keeps its template, its password absent rather than empty: still the template's",
            xml.replace(
                dc2_password,
                "server=\"10.0.0.12\" initial_timespan=\"24\" tls_min=\"1.2\"/>",
            ),
            serde_json::json!({"capi": 14, "fsw": 33, "plaintext": 4, "template": 48}),
            47,
        ),
        (
            "P1 leaves its template and CSO1's password is an empty element: two missing",
            xml.replace(
                "<credential id=\"P1\" template=\"probe-admins\"/>",
                "<credential id=\"P1\"/>",
            )
            .replacen(&format!("<password fswSpi1=\"{capi}"), "<password/><x a=\"", 1),
            serde_json::json!({"capi": 13, "fsw": 33, "missing": 2, "plaintext": 4, "template": 47}),
            48,
        ),
    ];
    let dir = tmp();
    for (i, (what, text, states, remaining)) in variants.into_iter().enumerate() {
        assert_ne!(text, xml, "{what}: the variant changes the fixture");
        for json in [false, true] {
            let xml_path = dir.path().join(format!("v{i}.xml"));
            std::fs::write(&xml_path, &text).unwrap();
            let path = if json {
                let p = dir.path().join(format!("v{i}.json"));
                let r = run(&["convert", xml_path.to_str().unwrap(), p.to_str().unwrap()]);
                assert_eq!(r.code, 0, "{what}: {}", r.stderr);
                p
            } else {
                xml_path
            };
            let got = counts(path.to_str().unwrap());
            assert_eq!(got, (states.clone(), remaining), "{what} ({})", path.display());
        }
    }
}
