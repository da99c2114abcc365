//! Issue 12 through the real binary: names that are no XML names (a JSON member name that would
//! inject XML above all), passwords outside their field, control characters in ids and in the
//! values the table shows, and NUL in JSON values. Each is refused with exit 2 and a message
//! that names its place (file, line and column, or the JSON member path), by `import` (new and
//! managed target, `--dry-run`), `passwords` and `convert`; nothing is written, nothing raw
//! reaches the terminal, and no planted password appears anywhere.

use std::path::{Path, PathBuf};

use crate::support::{Run, fixture, run_in, tree};

/// The injection of the issue: a member name that closes the element and adds another.
const INJECTION: &str = "x=\"1\"/>\n  <client id=\"evil\" address=\"0.0.0.0\" y";

/// A folder with a managed target `t` (the full fixture imported) and room for inputs.
struct Bench {
    dir: tempfile::TempDir,
}

impl Bench {
    fn new() -> Bench {
        let b = Bench { dir: tempfile::tempdir().unwrap() };
        let full = fixture("exports/full.xml");
        let r =
            b.run(&["import", full.to_str().unwrap(), "--target", "t", "--secrets", &secrets()]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        b
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, content: &str) {
        std::fs::write(self.path(name), content).unwrap();
    }

    fn run(&self, args: &[&str]) -> Run {
        run_in(self.dir.path(), args)
    }

    /// Every command that reads `name` refuses it with exit 2, its message holding every one
    /// of `expect`; the managed target keeps every byte, no new target, output file or folder
    /// is made, no marker is shown and no control character reaches the terminal raw.
    #[track_caller]
    fn refused_everywhere(&self, name: &str, expect: &[&str]) {
        self.refused(name, expect, true);
    }

    /// As [`Bench::refused_everywhere`], `convert` aside when `converts` is false (a bundle
    /// that breaks only the import rules converts, as a file holding it is no danger).
    #[track_caller]
    fn refused(&self, name: &str, expect: &[&str], converts_refused: bool) {
        let before = tree(&self.path("t"));
        let s = secrets();
        let runs: [&[&str]; 7] = [
            &["import", name, "--target", "t", "--secrets", &s, "--accept-warning"],
            &["import", name, "--target", "t", "--secrets", &s, "--dry-run"],
            &["import", name, "--target", "t", "--dry-run", "--format", "json"],
            &["import", name, "--target", "new", "--secrets", &s, "--accept-warning"],
            &["passwords", name, "--target", "t"],
            &["convert", name, "out.xml"],
            &["convert", name, "out-folder"],
        ];
        for args in runs {
            if args[0] == "convert" && !converts_refused {
                continue;
            }
            let r = self.run(args);
            check_refused(&format!("{args:?}"), &r, name, expect);
        }
        assert_eq!(tree(&self.path("t")), before, "{name}: the target changed");
        for made in ["new", "out.xml", "out-folder"] {
            assert!(!self.path(made).exists(), "{name}: {made} was made");
        }
        if converts_refused {
            let json = self.run(&["convert", name, "out.json"]);
            check_refused("convert to JSON", &json, name, expect);
            assert!(!self.path("out.json").exists());
        }
    }
}

fn secrets() -> String {
    format!("file:{}", fixture("exports/full.secrets.toml").display())
}

#[track_caller]
fn check_refused(what: &str, r: &Run, name: &str, expect: &[&str]) {
    // With `--format json` the error is the member `error` of the object on stdout.
    let json_error = serde_json::from_str::<serde_json::Value>(&r.stdout)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let all = format!("{json_error}\n{}{}", r.stdout, r.stderr);
    assert_eq!(r.code, 2, "{what}: {all}");
    assert!(all.contains(name), "{what}: the error names the file: {all}");
    for e in expect {
        assert!(all.contains(e), "{what}: expected {e:?} in:\n{all}");
    }
    assert!(!all.contains("panicked"), "{what}: {all}");
    assert!(!all.contains("MARKER"), "{what}: a planted password is shown: {all}");
    assert!(
        // `char::is_control` is the model's set: C0, DEL and C1.
        !all.chars().any(|c| c.is_control() && c != '\n'),
        "{what}: a control character reaches the terminal: {all:?}"
    );
    assert!(
        !all.lines().any(|l| l.trim_start().starts_with("<client id=\"evil\"")),
        "{what}: the injected markup is printed as a line of its own: {all}"
    );
}

/// A partial JSON bundle of one admin client with one more member `name` (JSON-escaped here).
fn admin_json(member: &str) -> String {
    let member = serde_json::to_string(member).unwrap();
    format!(
        "{{\"jims_export\": {{\"format_version\": 1, \"scope\": \"partial\", \"passwords\": \
         \"included\", \"sections\": {{\"admin_clients\": [{{\"id\": \"a\", \"address\": \
         \"10.0.0.1\", {member}: \"1\"}}]}}}}}}\n"
    )
}

#[test]
fn json_member_names_that_are_no_xml_names_are_refused_everywhere() {
    let b = Bench::new();
    for (member, why) in [
        (INJECTION, "may not hold '='"),
        ("a b", "may not hold ' '"),
        ("a\"b", "may not hold '\"'"),
        ("a'b", "may not hold '''"),
        ("a<b", "may not hold '<'"),
        ("a>b", "may not hold '>'"),
        ("a&b", "may not hold '&'"),
        ("a=b", "may not hold '='"),
        ("a/b", "may not hold '/'"),
        ("1a", "may not start with '1'"),
        ("-a", "may not start with '-'"),
        ("", "may not be empty"),
        ("@", "may not be empty"),
        (":a", "a ':' may only separate a prefix"),
        ("a:", "a ':' may only separate a prefix"),
        ("a:b:c", "a ':' may only separate a prefix"),
        ("#x", "may not hold '#'"),
        ("$y", "may not hold '$'"),
        ("a\u{1b}[2Jb", "may not hold '\\x1b'"),
        ("a\u{85}", "may not hold '\\u{85}'"),
        ("×", "may not hold '×'"),
    ] {
        b.write("bad.json", &admin_json(member));
        b.refused_everywhere(
            "bad.json",
            &["bad.json:1:", "sections.admin_clients[0]: the member", "valid XML", why],
        );
    }
    // As an element (an object value) and in #children, too.
    for body in [
        r#"{"id": "a", "bad name": {}}"#,
        r##"{"id": "a", "#children": [{"1x": {}}]}"##,
        r#"{"id": "a", "x": [{"y z": {}}]}"#,
    ] {
        b.write(
            "bad.json",
            &format!(
                "{{\"jims_export\": {{\"format_version\": 1, \"sections\": {{\"admin_clients\": \
                 [{body}]}}}}}}"
            ),
        );
        b.refused_everywhere("bad.json", &["bad.json:1:", "does not name a valid XML"]);
    }
}

#[test]
fn odd_but_valid_names_go_through_and_convert_without_loss() {
    let b = Bench::new();
    for member in ["données", "名前", "x:y", "_a.b-c", "a·b", "Straße"] {
        b.write("ok.json", &admin_json(member));
        let r = b.run(&["import", "ok.json", "--target", "t", "--accept-warning"]);
        assert_eq!(r.code, 0, "{member}: {}", r.stderr);
        let live = std::fs::read_to_string(b.path("t/cwd/system/init/admin_whitelist_static.xml"))
            .unwrap();
        assert!(live.contains(&format!(" {member}=\"1\"")), "{member}: {live}");
        for out in ["ok.xml", "back.json"] {
            let _ = std::fs::remove_file(b.path(out));
        }
        assert_eq!(b.run(&["convert", "ok.json", "ok.xml"]).code, 0);
        assert_eq!(b.run(&["convert", "ok.xml", "back.json"]).code, 0);
        let back: serde_json::Value =
            serde_json::from_slice(&std::fs::read(b.path("back.json")).unwrap()).unwrap();
        let clients = &back["jims_export"]["sections"]["admin_clients"];
        assert_eq!(clients.as_array().map(Vec::len), Some(1), "{member}: {back}");
        assert_eq!(clients[0][member], "1", "{member}: {back}");
    }
}

#[test]
fn xml_and_server_folder_names_that_are_no_xml_names_are_refused_at_their_place() {
    let b = Bench::new();
    let full = std::fs::read_to_string(fixture("exports/full.xml")).unwrap();
    for (attr, why) in [
        ("1a", "may not start with '1'"),
        ("a:b:c", "a ':' may only"),
        (":a", "a ':' may only"),
        ("a×b", "'×'"),
        ("a;b", "';'"),
    ] {
        let bad = full.replacen("<SRX id=\"SRX1\"", &format!("<SRX {attr}=\"x\" id=\"SRX1\""), 1);
        b.write("bad.xml", &bad);
        b.refused_everywhere("bad.xml", &["bad.xml:213:12:", "is not a valid attribute name", why]);
    }
    // A server folder: the native file, line and column.
    let folder = b.path("folder");
    copy_dir(&fixture("server-folder"), &folder);
    let syslog = folder.join("cwd/config/syslog.xml");
    let text = std::fs::read_to_string(&syslog).unwrap();
    std::fs::write(&syslog, text.replacen("<syslog_source ", "<syslog_source 9lives=\"x\" ", 1))
        .unwrap();
    let r = b.run(&["import", "folder", "--target", "t", "--accept-warning"]);
    check_refused("import folder", &r, "syslog.xml:", &["is not a valid attribute name"]);
    let r = b.run(&["convert", "folder", "out.xml"]);
    check_refused("convert folder", &r, "syslog.xml:", &["may not start with '9'"]);
    assert!(!b.path("out.xml").exists());
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

/// A password planted outside its field of the full XML fixture: what to replace, with what,
/// and what the message says.
const XML_STRAY: &[(&str, &str, &str)] = &[
    (
        "<password fswSpi1=\"{fsw} 1,dcacb864d5954ace4254b49ea905f3e03443a5d5fe616d0e\"/>",
        "<password fswSpi1=\"{fsw} 1,dcacb864d5954ace4254b49ea905f3e03443a5d5fe616d0e\"/><password fswSpi1=\"MARKER-1\"/>",
        "srx_clients/SRX1: <SRXes> › <SRX> › <oAuth> has more than one <password> element",
    ),
    (
        "<oAuth id=\"srx-edge-1\" token_lifetime=\"28800\">",
        "<oAuth id=\"srx-edge-1\" token_lifetime=\"28800\" password=\"MARKER-2\">",
        "srx_clients/SRX1: <SRXes> › <SRX> › <oAuth> has both a password attribute and a <password> element",
    ),
    (
        "<query cert_hash=\"\" response_timeout_ms=\"2500\"/>",
        "<query cert_hash=\"\" fswSpi1=\"MARKER-3\" response_timeout_ms=\"2500\"/>",
        "<query> carries a fswSpi1 attribute",
    ),
    (
        "<SRX id=\"SRX1\"",
        "<SRX password=\"MARKER-4\" id=\"SRX1\"",
        "srx_clients/SRX1: <SRXes> › <SRX> carries a password attribute",
    ),
    (
        "<query cert_hash=\"\" response_timeout_ms=\"2500\"/>",
        "<query cert_hash=\"\" response_timeout_ms=\"2500\"><x><password>MARKER-5</password></x></query>",
        "<query> › <x> › <password> is a <password> element where no password belongs",
    ),
    (
        "<syslog_source id=\"SYS1\"",
        "<syslog_source password=\"MARKER-6\" id=\"SYS1\"",
        "syslog_sources/SYS1: <syslog_sources> › <syslog_source> carries a password attribute",
    ),
    (
        "<event_source id=\"DC1\"",
        "<event_source password=\"MARKER-7\" id=\"DC1\"",
        "a password belongs on the domain_controller or exchange_server of an event_source",
    ),
    (
        "server_id=\"jims-hq-01\"",
        "server_id=\"jims-hq-01\" password=\"MARKER-8\"",
        "the header of a bundle holds no password",
    ),
];

#[test]
fn passwords_outside_their_field_are_refused_everywhere() {
    let b = Bench::new();
    let full = std::fs::read_to_string(fixture("exports/full.xml")).unwrap();
    for (from, to, needle) in XML_STRAY {
        assert!(full.contains(from), "{from}");
        b.write("stray.xml", &full.replacen(from, to, 1));
        b.refused_everywhere("stray.xml", &["stray.xml:", needle]);
    }
    let full = std::fs::read_to_string(fixture("exports/full.json")).unwrap();
    for (from, to, needle) in [
        // A duplicate "password" member of a holder.
        (
            "\"token_lifetime\": \"28800\",",
            "\"token_lifetime\": \"28800\", \"password\": \"MARKER-9\",",
            "sections.srx_clients[0].oAuth.password: srx_clients/SRX1: ",
        ),
        // "@password" beside the shortcut.
        (
            "\"token_lifetime\": \"28800\",",
            "\"token_lifetime\": \"28800\", \"@password\": \"MARKER-10\",",
            "has both a password attribute and a <password> element",
        ),
        (
            "\"id\": \"SYS1\",",
            "\"id\": \"SYS1\", \"x\": {\"password\": {\"fswSpi1\": \"MARKER-11\"}},",
            "sections.syslog_sources[0].x.password: syslog_sources/SYS1: ",
        ),
        (
            "\"server_id\": \"jims-hq-01\",",
            "\"server_id\": \"jims-hq-01\", \"fswSpi1\": \"MARKER-12\",",
            "the header of a bundle holds no password",
        ),
    ] {
        assert!(full.contains(from), "{from}");
        b.write("stray.json", &full.replacen(from, to, 1));
        b.refused_everywhere("stray.json", &["stray.json:", needle]);
    }
}

#[test]
fn control_characters_in_ids_and_shown_values_are_refused() {
    let b = Bench::new();
    let full = std::fs::read_to_string(fixture("exports/full.xml")).unwrap();
    for (from, to, needle) in [
        ("id=\"DC3\"", "id=\"DC3&#27;[2J\"", "event_sources/DC3\\x1b[2J: the id of <event_source>"),
        (
            "server=\"10.0.0.13\"",
            "server=\"10.0.0.13&#27;]0;title&#7;\"",
            "event_sources/DC3: the server of <domain_controller> holds the control character '\\x1b'",
        ),
        (
            "username=\"CORP\\JIMS-EventLogReader\" password=\"Plain-d876f98be8c6\"",
            "username=\"CORP\\JIMS-&#155;EventLogReader\" password=\"Plain-d876f98be8c6\"",
            "the username of <domain_controller> holds the control character '\\u{9b}'",
        ),
        (
            "template=\"dc-readers\">",
            "template=\"dc-readers&#10;\">",
            "event_sources/DC1: the template of <event_source> holds the control character '\\x0a'",
        ),
        (
            "address=\"10.1.1.1\"",
            "address=\"10.1.1.1&#127;\"",
            "srx_clients/SRX1: the address of <SRX> holds the control character '\\x7f'",
        ),
        (
            "<oAuth id=\"srx-edge-1\"",
            "<oAuth id=\"srx-edge-1&#9;\"",
            "srx_clients/SRX1: the id of <oAuth> holds the control character '\\x09'",
        ),
    ] {
        assert!(full.contains(from), "{from}");
        b.write("ctl.xml", &full.replacen(from, to, 1));
        b.refused("ctl.xml", &["ctl.xml: ", needle, "may not hold control characters"], false);
    }
    let full = std::fs::read_to_string(fixture("exports/full.json")).unwrap();
    b.write("ctl.json", &full.replacen("\"id\": \"SYS1\"", "\"id\": \"SYS\\u001b1\"", 1));
    b.refused("ctl.json", &["syslog_sources/SYS\\x1b1: the id of <syslog_source>"], false);
}

#[test]
fn a_nul_in_a_json_value_is_refused_naming_its_key_never_the_value() {
    let b = Bench::new();
    let full = std::fs::read_to_string(fixture("exports/full.json")).unwrap();
    for (from, to, path) in [
        (
            "\"description\": \"Syslog collector 1\"",
            "\"description\": \"Syslog\\u0000 collector 1\"",
            "sections.syslog_sources[0].description: the value holds a NUL character",
        ),
        (
            "\"password\": \"Plain-d876f98be8c6\"",
            "\"password\": \"MARKER\\u0000x\"",
            "sections.event_sources[2].domain_controller.password: the value holds a NUL",
        ),
        (
            "\"server_id\": \"jims-hq-01\"",
            "\"server_id\": \"jims\\u0000\"",
            "server_id: the value holds a NUL character",
        ),
    ] {
        assert!(full.contains(from), "{from}");
        b.write("nul.json", &full.replacen(from, to, 1));
        b.refused_everywhere("nul.json", &["nul.json:", path]);
    }
}

#[test]
fn a_managed_folder_edited_by_hand() {
    let b = Bench::new();
    let srx = b.path("t/cwd/config/srx_interface.xml");
    let original = std::fs::read_to_string(&srx).unwrap();
    // A stray password in cwd/: export (sealed or omitted) and an import that keeps the
    // section refuse, naming the file, line and column; nothing is written.
    let stray = original.replacen("<query ", "<query fswSpi1=\"MARKER\" ", 1);
    std::fs::write(&srx, &stray).unwrap();
    let before = tree(&b.path("t"));
    for passwords in ["sealed", "omit", "plain"] {
        let r = b.run(&["export", "--target", "t", "--out", "e.xml", "--passwords", passwords]);
        check_refused(passwords, &r, "srx_interface.xml:", &["carries a fswSpi1 attribute"]);
        assert!(!b.path("e.xml").exists());
    }
    let partial = fixture("exports/partial.xml");
    let r = b.run(&[
        "import",
        partial.to_str().unwrap(),
        "--target",
        "t",
        "--sections",
        "templates",
        "--accept-warning",
    ]);
    check_refused("import", &r, "srx_interface.xml:", &["srx_clients/SRX1: "]);
    assert_eq!(tree(&b.path("t")), before);
    std::fs::write(&srx, &original).unwrap();

    // A plaintext password in its own field: sealed in a sealed export, never in clear.
    let es = b.path("t/cwd/config/event_log_reader.xml");
    let text = std::fs::read_to_string(&es).unwrap();
    let start = text.find("password=\"{aesgcm}").expect("a sealed password") + 10;
    let end = start + text[start..].find('"').unwrap();
    std::fs::write(&es, format!("{}Hand-Edited-Marker{}", &text[..start], &text[end..])).unwrap();
    for (out, passwords) in [("s.xml", "sealed"), ("s.json", "sealed"), ("o.xml", "omit")] {
        let r = b.run(&["export", "--target", "t", "--out", out, "--passwords", passwords]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let written = std::fs::read_to_string(b.path(out)).unwrap();
        assert!(!written.contains("Hand-Edited-Marker"), "{out} holds it in clear");
        assert!(!format!("{}{}", r.stdout, r.stderr).contains("Hand-Edited-Marker"));
    }
    // The sealed value is the password, bound to its field: the folder takes its own export
    // back, and a plain export opens it.
    let r = b.run(&["import", "s.xml", "--target", "t"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let live = std::fs::read_to_string(&es).unwrap();
    assert!(!live.contains("Hand-Edited-Marker"), "the import sealed it in cwd/ too");
    let r = b.run(&["export", "--target", "t", "--out", "p.xml", "--passwords", "plain"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(std::fs::read_to_string(b.path("p.xml")).unwrap().contains("Hand-Edited-Marker"));
}

#[test]
fn adopting_a_folder_with_a_stray_password_or_a_bad_name_is_refused() {
    let b = Bench::new();
    for (file, from, to, needle) in [
        (
            "cwd/config/srx_interface.xml",
            "<query ",
            "<query password=\"MARKER\" ",
            "<query> carries a password attribute",
        ),
        (
            "cwd/config/syslog.xml",
            "<syslog_source ",
            "<syslog_source a:b:c=\"1\" ",
            "a ':' may only",
        ),
    ] {
        let folder = b.path("adopt");
        let _ = std::fs::remove_dir_all(&folder);
        copy_dir(&fixture("server-folder"), &folder);
        let path = folder.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file}: {from}");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
        let before = tree(&folder);
        let r = b.run(&["server", "init", "adopt", "--adopt"]);
        let name = Path::new(file).file_name().unwrap().to_str().unwrap();
        check_refused("adopt", &r, name, &[needle]);
        assert_eq!(tree(&folder), before, "{file}: the folder changed");
        assert!(!folder.join(".jims-import").exists());
    }
}
