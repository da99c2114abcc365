//! Names that are no XML names and passwords outside their field (issue 12): the reader
//! refuses each with its line and column, and accepts the valid names that look odd.

use format_xml::{Error, ErrorKind, read_bundle, read_native_file, write_bundle};
use model::SectionId;

const DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
const OPEN: &str = "<jims_export format_version=\"1\" scope=\"partial\" passwords=\"included\">\n";

fn bundle(body: &str) -> String {
    format!("{DECL}{OPEN}{body}</jims_export>\n")
}

fn err(input: &str) -> Error {
    match read_bundle(input.as_bytes()) {
        Ok(e) => panic!("expected an error for {input:?}, read {e:?}"),
        Err(e) => e,
    }
}

/// The 1-based line and column (in characters) of the first `mark` in `input`.
fn at(input: &str, mark: &str) -> (u64, u64) {
    let i = input.find(mark).unwrap_or_else(|| panic!("{mark:?} is not in {input:?}"));
    let before = &input[..i];
    let line = before.matches('\n').count() as u64 + 1;
    let column = before.rsplit('\n').next().unwrap().chars().count() as u64 + 1;
    (line, column)
}

/// Asserts the kind, that the error points at the first `mark` of `input`, and that its
/// message holds `needle` and no control character.
#[track_caller]
fn check_at(e: &Error, kind: ErrorKind, input: &str, mark: &str, needle: &str) {
    let (line, column) = at(input, mark);
    assert_eq!(e.kind(), &kind, "{e}");
    assert_eq!((e.line(), e.column()), (Some(line), Some(column)), "{e}");
    assert!(e.to_string().contains(needle), "{e} lacks {needle:?}");
    assert!(!e.to_string().chars().any(model::text::is_control), "{e:?}");
}

fn client_with_attribute(key: &str) -> String {
    bundle(&format!(
        "  <section id=\"admin_clients\"><clients><client id=\"a\" {key}=\"x\"/></clients></section>\n"
    ))
}

#[test]
fn names_that_are_no_xml_names_are_refused_where_they_stand() {
    // Attribute names: the key runs up to whitespace or '='.
    for (key, why) in [
        ("a<b", "may not hold '<'"),
        ("a&b", "may not hold '&'"),
        ("1a", "may not start with '1'"),
        ("-a", "may not start with '-'"),
        (":a", "a ':' may only separate a prefix"),
        ("a:", "a ':' may only separate a prefix"),
        ("a:b:c", "a ':' may only separate a prefix"),
        ("a:1", "may not start with '1'"),
        ("a×b", "may not hold '×'"),
        ("a;b", "may not hold ';'"),
    ] {
        let input = client_with_attribute(key);
        let e = err(&input);
        check_at(&e, ErrorKind::Syntax, &input, key, why);
        assert!(e.to_string().contains("is not a valid attribute name (in <client>)"), "{e}");
    }
    for (name, why) in
        [("1x", "may not start with '1'"), ("x:y:z", "a ':' may only"), ("a÷", "'÷'")]
    {
        let input = bundle(&format!(
            "  <section id=\"admin_clients\"><clients><{name}/></clients></section>\n"
        ));
        let e = err(&input);
        check_at(&e, ErrorKind::Syntax, &input, name, why);
        assert!(e.to_string().contains("is not a valid element name"), "{e}");
    }
    // A quote or '>' inside a name breaks the tag itself: refused all the same.
    for key in ["a\"b", "a'b", "a>b"] {
        assert_eq!(err(&client_with_attribute(key)).kind(), &ErrorKind::Syntax, "{key:?}");
    }
}

#[test]
fn odd_but_valid_names_are_kept() {
    let input = bundle(
        "  <section id=\"admin_clients\">\n    <clients xmlns:x=\"urn:x\" x:note=\"n\">\n      \
         <client id=\"a\" données=\"1\" 名前=\"2\" a·b=\"3\" _x.y-z=\"4\"/>\n      <Straße/>\n    \
         </clients>\n  </section>\n",
    );
    let export = read_bundle(input.as_bytes()).unwrap();
    let root = &export.configuration.get(SectionId::AdminClients).unwrap().files[0].root;
    let names: Vec<&str> = root.children[0].attributes.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["id", "données", "名前", "a·b", "_x.y-z"]);
    assert_eq!(root.attr("x:note"), Some("n"));
    assert_eq!(root.children[1].name, "Straße");
    let again = write_bundle(&export).unwrap();
    assert_eq!(read_bundle(&again).unwrap(), export);
}

fn srx(inner: &str) -> String {
    bundle(&format!(
        "  <section id=\"srx_clients\">\n    <SRXes>\n      <SRX id=\"SRX1\" address=\"a\">\n{inner}      </SRX>\n    </SRXes>\n  </section>\n"
    ))
}

#[test]
fn passwords_outside_their_field_are_refused_at_their_place() {
    let cases = [
        // A second <password> child: its own place.
        (
            "        <oAuth id=\"o\"><password fswSpi1=\"a\"/><password fswSpi1=\"MARKER\"/></oAuth>\n",
            "<password fswSpi1=\"MARKER",
            "<oAuth> has more than one <password> element",
        ),
        // A password attribute beside a <password> child.
        (
            "        <oAuth id=\"o\" password=\"MARKER\"><password fswSpi1=\"a\"/></oAuth>\n",
            "password=\"MARKER",
            "<oAuth> has both a password attribute and a <password> element",
        ),
        // fswSpi1 and password on an element that holds none.
        (
            "        <oAuth id=\"o\"/>\n        <query cert_hash=\"\" fswSpi1=\"MARKER\"/>\n",
            "fswSpi1=\"MARKER",
            "<query> carries a fswSpi1 attribute, but <query> holds no password",
        ),
        (
            "        <oAuth id=\"o\"/>\n        <query\n   password = \"MARKER\"/>\n",
            "password = \"MARKER",
            "<query> carries a password attribute",
        ),
        // Nested deeper.
        (
            "        <oAuth id=\"o\"><extra><password fswSpi1=\"MARKER\"/></extra></oAuth>\n",
            "<password fswSpi1=\"MARKER",
            "<SRX> › <oAuth> › <extra> › <password> is a <password> element where no password",
        ),
        // Two values in one field.
        (
            "        <oAuth id=\"o\"><password fswSpi1=\"a\">MARKER</password></oAuth>\n",
            "<password fswSpi1=\"a\">MARKER",
            "holds its password both in fswSpi1 and as text",
        ),
    ];
    for (inner, mark, needle) in cases {
        let input = srx(inner);
        let e = err(&input);
        check_at(&e, ErrorKind::MisplacedSecret, &input, mark, needle);
        assert!(e.to_string().contains("srx_clients/SRX1: "), "{e}");
        assert!(!e.to_string().contains("MARKER"), "{e}");
    }
}

#[test]
fn passwords_in_sections_and_places_that_hold_none() {
    let input = bundle(
        "  <section id=\"session\"><cache><config probe_timeout=\"5\" password=\"MARKER\"/></cache></section>\n",
    );
    let needle = "this section holds no password";
    check_at(&err(&input), ErrorKind::MisplacedSecret, &input, "password=", needle);
    let input = format!("{DECL}<jims_export format_version=\"1\" password=\"MARKER\"/>\n");
    let needle = "the header of a bundle holds no password";
    check_at(&err(&input), ErrorKind::MisplacedSecret, &input, "MARKER", needle);
    // The item of a section whose password is on a child element.
    let input = bundle(
        "  <section id=\"user_directories\"><user_info_sources>\n    <user_info_source id=\"A\" password=\"MARKER\"><active_directory server=\"s\"/></user_info_source>\n  </user_info_sources></section>\n",
    );
    let needle = "a password belongs on the active_directory";
    check_at(&err(&input), ErrorKind::MisplacedSecret, &input, "password=", needle);
}

#[test]
fn native_files_follow_the_same_rule() {
    let file = "<?xml version=\"1.0\"?>\n<clients>\n  <client id=\"a\" address=\"b\"><password>MARKER</password></client>\n</clients>\n";
    let e = read_native_file(
        SectionId::AdminClients,
        "system/init/admin_whitelist_static.xml",
        file.as_bytes(),
    )
    .unwrap_err();
    let needle = "admin_clients/a: <clients> › <client> › <password>";
    check_at(&e, ErrorKind::MisplacedSecret, file, "<password>", needle);
    let file = "<event_sources>\n <event_source id=\"x\"><domain_controller server=\"s\" password=\"ok\"/></event_source>\n</event_sources>";
    read_native_file(SectionId::EventSources, "config/event_log_reader.xml", file.as_bytes())
        .unwrap();
}
