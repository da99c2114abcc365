//! `jimsctl export` and `jimsctl convert`.

use std::os::unix::fs::PermissionsExt;

use crate::support::{assert_no_secret, filters, fixture, fixture_passwords, run, tmp, tree};

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
    // The table still lists sections in the order of jims-configuration.md.
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
