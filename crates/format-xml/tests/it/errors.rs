//! Every reader error: its kind, its message, and its line and column.

use format_xml::{Error, ErrorKind, MAX_INPUT_BYTES, read_bundle, read_native_file};
use model::SectionId;

const DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
const OPEN: &str = "<jims_export format_version=\"1\" scope=\"partial\" passwords=\"included\">\n";

fn bundle_err(input: impl AsRef<[u8]>) -> Error {
    match read_bundle(input.as_ref()) {
        Ok(e) => panic!("expected an error, read {e:?}"),
        Err(e) => e,
    }
}

/// Asserts kind, line, column and that the message contains `needle`.
#[track_caller]
fn check(e: &Error, kind: ErrorKind, line: u64, column: u64, needle: &str) {
    assert_eq!(e.kind(), &kind, "{e}");
    assert_eq!((e.line(), e.column()), (Some(line), Some(column)), "{e}");
    assert!(e.to_string().contains(needle), "{e:?} lacks {needle:?}");
    assert!(e.to_string().starts_with(&format!("{line}:{column}: ")), "{e}");
}

fn with_section(body: &str) -> String {
    format!("{DECL}{OPEN}{body}</jims_export>\n")
}

#[test]
fn wrong_root_element() {
    let e = bundle_err(format!("{DECL}<export format_version=\"1\"/>"));
    check(
        &e,
        ErrorKind::WrongRoot,
        2,
        1,
        "the root element is <export>, but an XML bundle starts with <jims_export>",
    );
    let e = bundle_err(format!("{DECL}  <SRXes/>"));
    check(&e, ErrorKind::WrongRoot, 2, 3, "native file of section srx_clients");
}

#[test]
fn unknown_and_repeated_sections() {
    let e = bundle_err(with_section("  <section id=\"bogus\"><x/></section>\n"));
    check(
        &e,
        ErrorKind::UnknownSection,
        3,
        16,
        "unknown section id \"bogus\"; the sections are event_sources, user_directories",
    );
    let e = bundle_err(with_section(
        "  <section id=\"session\"><cache/></section>\n  <section id=\"session\"><cache/></section>\n",
    ));
    check(&e, ErrorKind::DuplicateSection, 4, 3, "section session appears twice");
}

#[test]
fn malformed_sections() {
    let e = bundle_err(with_section("  <section><cache/></section>\n"));
    check(&e, ErrorKind::InvalidSection, 3, 3, "without an id");
    let e = bundle_err(with_section("  <section id=\"session\" v=\"2\"><cache/></section>\n"));
    check(&e, ErrorKind::InvalidSection, 3, 28, "unexpected attribute 'v' on <section>");
    let e = bundle_err(with_section("  <section id=\"session\"/>\n"));
    check(&e, ErrorKind::InvalidSection, 3, 3, "section session holds no <cache> element");
    let e = bundle_err(with_section("  <section id=\"session\"><SRXes/></section>\n"));
    check(&e, ErrorKind::WrongRoot, 3, 25, "section session must hold <cache>, but holds <SRXes>");
    let e = bundle_err(with_section("  <section id=\"session\"><cache/><cache/></section>\n"));
    check(&e, ErrorKind::UnexpectedContent, 3, 33, "holds a second <cache>");
    let e = bundle_err(with_section("  <section id=\"session\">hi<cache/></section>\n"));
    check(
        &e,
        ErrorKind::UnexpectedContent,
        3,
        25,
        "text in <section id=\"session\"> is not allowed",
    );
}

#[test]
fn transport_files() {
    let e = bundle_err(with_section("  <section id=\"transports\"><xports/></section>\n"));
    check(
        &e,
        ErrorKind::InvalidSection,
        3,
        28,
        "lacks its file attribute (clients_https.xml or clients_http.xml)",
    );
    let e = bundle_err(with_section(
        "  <section id=\"transports\"><xports file=\"x.xml\"/></section>\n",
    ));
    check(
        &e,
        ErrorKind::UnknownSection,
        3,
        28,
        "unknown transports file \"x.xml\"; the transports files are clients_https.xml, \
         clients_http.xml",
    );
    let e = bundle_err(with_section(
        "  <section id=\"transports\"><xports file=\"clients_http.xml\"/><xports file=\"clients_http.xml\"/></section>\n",
    ));
    check(
        &e,
        ErrorKind::DuplicateSection,
        3,
        61,
        "the transports file clients_http.xml appears twice in the bundle; keep one",
    );
}

#[test]
fn format_version() {
    let e = bundle_err(format!("{DECL}<jims_export scope=\"partial\"/>"));
    check(
        &e,
        ErrorKind::UnsupportedVersion,
        2,
        1,
        "no format_version attribute; this jimsctl reads version 1",
    );
    let e = bundle_err(format!("{DECL}<jims_export format_version=\"2\"/>"));
    check(
        &e,
        ErrorKind::UnsupportedVersion,
        2,
        30,
        "unknown format_version 2; this jimsctl reads version 1",
    );
    assert_eq!(e.message(), "unknown format_version 2; this jimsctl reads version 1");
}

#[test]
fn invalid_scope_and_passwords() {
    let e = bundle_err(format!("{DECL}<jims_export format_version=\"1\" scope=\"most\"/>"));
    check(
        &e,
        ErrorKind::InvalidHeader,
        2,
        40,
        "invalid scope \"most\": it must be \"full\" or \"partial\"",
    );
    let e = bundle_err(format!("{DECL}<jims_export format_version=\"1\" passwords=\"yes\"/>"));
    check(
        &e,
        ErrorKind::InvalidHeader,
        2,
        44,
        "invalid passwords \"yes\": it must be \"included\" or \"omitted\"",
    );
}

#[test]
fn full_scope_with_missing_sections_names_them() {
    let mut export = samples::realistic_export(1);
    export.configuration.remove(SectionId::Templates);
    export.configuration.remove(SectionId::Session);
    let bytes = format_xml::write_bundle(&export).unwrap();
    let e = bundle_err(&bytes);
    check(
        &e,
        ErrorKind::MissingSections,
        2,
        40,
        "the header says scope full, but the bundle lacks the sections templates, session; a \
         full bundle holds every section (an empty one too): add them, or make the scope partial",
    );
}

#[test]
fn truncated_input() {
    let bytes = format_xml::write_bundle(&samples::realistic_export(1)).unwrap();
    // Cut inside a tag.
    let cut = &bytes[..bytes.len() / 2];
    let cut = &cut[..cut.iter().rposition(|&b| b == b'<').unwrap() + 4];
    let e = bundle_err(cut);
    let lines = cut.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    assert_eq!(e.kind(), &ErrorKind::Syntax, "{e}");
    assert_eq!(e.line(), Some(lines), "{e}");
    assert!(e.to_string().contains("a tag is not closed"), "{e}");
    // Cut between tags: the open elements are named.
    let e = bundle_err(format!("{DECL}{OPEN}  <section id=\"session\">\n    <cache>\n"));
    check(
        &e,
        ErrorKind::Syntax,
        5,
        1,
        "the input ends before <cache> (opened at line 4, column 5) is closed",
    );
    let e = bundle_err(format!("{DECL}{OPEN}  <section id=\"session\">\n"));
    check(
        &e,
        ErrorKind::Syntax,
        4,
        1,
        "the input ends before <section> (opened at line 3, column 3)",
    );
    let e = bundle_err(format!("{DECL}{OPEN}"));
    check(&e, ErrorKind::Syntax, 3, 1, "the input ends before <jims_export>");
    let e = bundle_err("");
    check(&e, ErrorKind::Syntax, 1, 1, "holds no XML element");
}

#[test]
fn mismatched_end_tags() {
    let e = bundle_err(with_section("  <section id=\"session\"><cache></cachex></section>\n"));
    check(
        &e,
        ErrorKind::Syntax,
        3,
        32,
        "the end tag </cachex> does not close the open element <cache>",
    );
}

#[test]
fn invalid_utf8() {
    let mut bytes = format!("{DECL}{OPEN}  <section id=\"session\"><cache a=\"é").into_bytes();
    bytes.push(0xFF);
    bytes.extend_from_slice(b"\"/></section>\n</jims_export>\n");
    let e = bundle_err(&bytes);
    check(&e, ErrorKind::InvalidUtf8, 3, 36, "not valid UTF-8");
}

#[test]
fn binary_garbage_and_nul() {
    let e = bundle_err(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR");
    assert!(matches!(e.kind(), ErrorKind::InvalidUtf8 | ErrorKind::Binary), "{e}");
    assert_eq!((e.line(), e.column()), (Some(1), Some(1)), "{e}");
    let e = bundle_err(b"<jims_export>\x01\x02\x03</jims_export>");
    check(&e, ErrorKind::Binary, 1, 14, "the control byte 0x01: it is binary data, not XML text");
    let e = bundle_err(with_section("  <section id=\"x\0\"/>\n"));
    check(&e, ErrorKind::Binary, 3, 17, "a NUL byte");
    let e = bundle_err("just some words\n");
    check(&e, ErrorKind::UnexpectedContent, 1, 1, "text before the root element is not allowed");
    let e = bundle_err("{\"jims_export\": {}}");
    check(&e, ErrorKind::UnexpectedContent, 1, 1, "text before the root element");
}

#[test]
fn text_and_extra_elements_at_the_top_level() {
    let e = bundle_err(with_section("  hello\n"));
    check(&e, ErrorKind::UnexpectedContent, 3, 3, "text in <jims_export> is not allowed");
    let e = bundle_err(with_section("  <![CDATA[x]]>\n"));
    check(&e, ErrorKind::UnexpectedContent, 3, 12, "text in <jims_export>");
    let e = bundle_err(with_section("  <sections/>\n"));
    check(&e, ErrorKind::UnexpectedContent, 3, 3, "unexpected element <sections> in <jims_export>");
    let e = bundle_err(format!("{}<jims_export format_version=\"1\"/>", with_section("")));
    check(&e, ErrorKind::UnexpectedContent, 4, 1, "a second root element <jims_export>");
    let e = bundle_err(format!("{} trailing", with_section("")));
    check(&e, ErrorKind::UnexpectedContent, 4, 2, "text after the end of <jims_export>");
}

#[test]
fn doctype_is_refused() {
    let e = bundle_err(format!(
        "{DECL}<!DOCTYPE jims_export [<!ENTITY x \"boom\">]>\n{OPEN}</jims_export>"
    ));
    check(&e, ErrorKind::Doctype, 2, 1, "DOCTYPE and entity declarations are not accepted");
    let e = bundle_err(format!("{DECL}<!DOCTYPE jims_export"));
    check(&e, ErrorKind::Doctype, 2, 1, "DOCTYPE and entity declarations are not accepted");
}

#[test]
fn entity_references() {
    let e =
        bundle_err(with_section("  <section id=\"session\"><cache a=\"x&nbsp;\"/></section>\n"));
    check(
        &e,
        ErrorKind::Entity,
        3,
        36,
        "the unknown entity reference &nbsp;: only &lt; &gt; &amp; &apos; &quot;",
    );
    let e = bundle_err(with_section("  <section id=\"session\"><cache>&x;</cache></section>\n"));
    check(
        &e,
        ErrorKind::Entity,
        3,
        32,
        "the text of <cache> holds the unknown entity reference &x;",
    );
    let e = bundle_err(with_section("  <section id=\"session\"><cache a=\"&#0;\"/></section>\n"));
    check(&e, ErrorKind::Entity, 3, 35, "is not a valid character");
    let e = bundle_err(with_section("  <section id=\"session\"><cache a=\"AT&T\"/></section>\n"));
    check(&e, ErrorKind::Entity, 3, 37, "does not start a complete entity reference");
}

#[test]
fn secrets_stay_out_of_errors() {
    let e = bundle_err(with_section(
        "  <section id=\"session\"><cache password=\"hunter2&secret;\"/></section>\n",
    ));
    assert_eq!(e.kind(), &ErrorKind::Entity);
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains("hunter2") && !shown.contains("secret;"), "{shown}");
    let e = bundle_err(with_section(
        "  <section id=\"session\"><cache><password>hunter2&secret;</password></cache></section>\n",
    ));
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains("hunter2") && !shown.contains("secret;"), "{shown}");
}

#[test]
fn duplicate_attributes() {
    let e = bundle_err(with_section(
        "  <section id=\"session\"><cache a=\"1\" b=\"2\" a=\"3\"/></section>\n",
    ));
    check(&e, ErrorKind::DuplicateAttribute, 3, 44, "<cache> carries the attribute 'a' twice");
    // Many attributes switch to a set; the duplicate is still found.
    let attrs: String = (0..40).map(|i| format!(" a{i}=\"{i}\"")).collect();
    let e = bundle_err(with_section(&format!(
        "  <section id=\"session\"><cache{attrs} a3=\"x\"/></section>\n"
    )));
    assert_eq!(e.kind(), &ErrorKind::DuplicateAttribute, "{e}");
    assert!(e.to_string().contains("'a3' twice"), "{e}");
    let e = bundle_err(format!("{DECL}<jims_export format_version=\"1\" format_version=\"1\"/>"));
    check(&e, ErrorKind::DuplicateAttribute, 2, 33, "carries the attribute 'format_version' twice");
}

#[test]
fn malformed_attributes_and_names() {
    let e = bundle_err(with_section("  <section id=\"session\"><cache a/></section>\n"));
    check(&e, ErrorKind::Syntax, 3, 33, "must be followed by '='");
    let e = bundle_err(with_section("  <section id=\"session\"><cache a=b/></section>\n"));
    check(&e, ErrorKind::Syntax, 3, 34, "must be in quotes");
    let e =
        bundle_err(with_section("  <section id=\"session\"><cache a=\"1\"b=\"2\"/></section>\n"));
    check(&e, ErrorKind::Syntax, 3, 37, "attributes must be separated by whitespace");
    let e = bundle_err(with_section("  <section id=\"session\"><cache a=\"1/></section>\n"));
    check(&e, ErrorKind::Syntax, 3, 25, "a tag is not closed");
    let e = bundle_err(with_section("  <section id=\"session\"><cache a= /></section>\n"));
    check(&e, ErrorKind::Syntax, 3, 35, "has '=' but no value");
    let e = bundle_err(with_section("  <section id=\"session\"><cache a=\"<\"/></section>\n"));
    check(&e, ErrorKind::Syntax, 3, 35, "holds a raw '<'");
    let e = bundle_err(with_section("  <section id=\"session\"><cache><1x/></cache></section>\n"));
    check(&e, ErrorKind::Syntax, 3, 33, "\"1x\" is not a valid element name");
}

#[test]
fn encodings_other_than_utf8() {
    let e = bundle_err(b"\xFF\xFE<\x00j\x00");
    check(&e, ErrorKind::Encoding, 1, 1, "UTF-16 byte order mark; only UTF-8 is accepted");
    let e = bundle_err(b"\xFE\xFF\x00<");
    check(&e, ErrorKind::Encoding, 1, 1, "only UTF-8 is accepted");
    let e = bundle_err(b"<\x00j\x00");
    check(&e, ErrorKind::Encoding, 1, 2, "looks like UTF-16; only UTF-8 is accepted");
    let e = bundle_err(format!(
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n{OPEN}</jims_export>"
    ));
    check(&e, ErrorKind::Encoding, 1, 1, "encoding=\"ISO-8859-1\"; only UTF-8 is accepted");
    // utf-8 in any case is fine.
    read_bundle(
        format!("<?xml version=\"1.0\" encoding=\"utf-8\"?>{OPEN}</jims_export>").as_bytes(),
    )
    .unwrap();
    let e = bundle_err(format!("{OPEN}{DECL}</jims_export>"));
    check(&e, ErrorKind::Syntax, 2, 1, "may only stand at the very start");
}

fn nested(depth: usize) -> String {
    // jims_export (1) > section (2) > cache (3) > x… : `depth` levels in all.
    let inner = depth - 3;
    format!(
        "{OPEN}<section id=\"session\"><cache>{}{}</cache></section></jims_export>",
        "<x>".repeat(inner),
        "</x>".repeat(inner)
    )
}

#[test]
fn nesting_depth_is_limited() {
    read_bundle(nested(64).as_bytes()).unwrap();
    let e = bundle_err(nested(65));
    assert_eq!(e.kind(), &ErrorKind::TooDeep, "{e}");
    assert_eq!(e.line(), Some(2));
    let expected_col = "<section id=\"session\"><cache>".len() + 3 * 61 + 1;
    assert_eq!(e.column(), Some(expected_col as u64), "{e}");
    assert!(e.to_string().contains("elements nest deeper than 64 levels"), "{e}");
    // Very deep input fails the same way, without exhausting the stack.
    let e = bundle_err(nested(200_000));
    assert_eq!(e.kind(), &ErrorKind::TooDeep);
    let native = format!("{}{}", "<cache>", "<x>".repeat(100));
    let e =
        read_native_file(SectionId::Session, "config/cache.xml", native.as_bytes()).unwrap_err();
    check(&e, ErrorKind::TooDeep, 1, 7 + 3 * 63 + 1, "nest deeper than 64 levels");
}

#[test]
fn input_size_is_limited() {
    // Zeroed memory is cheap to allocate: the size is refused before anything is scanned.
    let big = vec![0u8; MAX_INPUT_BYTES + 1];
    let e = bundle_err(&big);
    assert_eq!(e.kind(), &ErrorKind::TooLarge, "{e}");
    assert_eq!(
        e.to_string(),
        "the input is 268435457 bytes: exports larger than 256 MiB are refused; split it into \
         partial bundles"
    );
    // A refusal of the whole input has no position.
    assert_eq!((e.line(), e.column()), (None, None));
    let e = read_native_file(SectionId::Session, "config/cache.xml", &big).unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::TooLarge);
}

#[test]
fn native_file_errors() {
    let e = read_native_file(
        SectionId::Session,
        "config/cache.xml",
        b"<?xml version=\"1.0\"?>\n<SRXes/>",
    )
    .unwrap_err();
    check(
        &e,
        ErrorKind::WrongRoot,
        2,
        1,
        "the root element is <SRXes>, but the native file config/cache.xml of section session has <cache>",
    );
    let e =
        read_native_file(SectionId::Session, "config/srx_interface.xml", b"<cache/>").unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::NotNativeFile);
    assert_eq!(e.line(), None);
    assert!(
        e.to_string().contains("config/srx_interface.xml is not a native file of section session")
    );
    let e = read_native_file(
        SectionId::Transports,
        "config/clients_http.xml",
        b"<xports file=\"clients_http.xml\"/>",
    )
    .unwrap_err();
    check(&e, ErrorKind::InvalidSection, 1, 1, "may not carry a 'file' attribute");
    let e =
        read_native_file(SectionId::Session, "config/cache.xml", b"<cache/><cache/>").unwrap_err();
    check(&e, ErrorKind::UnexpectedContent, 1, 9, "a second root element <cache> after <cache>");
}

#[test]
fn display_with_path() {
    let e = bundle_err(format!("{DECL}<export/>")).with_path("exports/hq.xml");
    assert!(e.to_string().starts_with("exports/hq.xml:2:1: the root element is <export>"), "{e}");
    assert_eq!(e.path(), Some(std::path::Path::new("exports/hq.xml")));
}

#[test]
fn columns_count_characters_not_bytes() {
    // Five characters in 15 bytes (2 + 3 + 3 + 3 + 4), and five in 5.
    let (wide, narrow) = ("é€漢字😀", "abcde");
    let place = |description: &str, bom: &str| {
        let e = bundle_err(format!(
            "{bom}{OPEN}  <section id=\"session\"><cache description=\"{description}\" a=b/>\
             </section>\n</jims_export>\n"
        ));
        assert_eq!(e.kind(), &ErrorKind::Syntax, "{e}");
        (e.line(), e.column())
    };
    assert_eq!(place(wide, ""), place(narrow, ""));
    assert_eq!(place(wide, ""), (Some(2), Some(54)), "at the b");
    let line1 = |description: &str, bom: &str| {
        let e = bundle_err(format!(
            "{bom}<jims_export format_version=\"1\" server_id=\"{description}\" scope=\"x\"/>"
        ));
        assert_eq!(e.kind(), &ErrorKind::InvalidHeader, "{e}");
        (e.line(), e.column())
    };
    // The byte order mark is no character.
    assert_eq!(line1(wide, "\u{feff}"), line1(narrow, ""));
    assert_eq!(line1(wide, ""), (Some(1), Some(58)), "at the value of scope");
}

#[test]
fn references_in_text_are_decoded_across_runs_and_a_lone_ampersand_is_refused() {
    let bundle = |text: &str| {
        with_section(&format!(
            "  <section id=\"session\"><cache><note>{text}</note></cache></section>\n"
        ))
    };
    let note = |text: &str| {
        let export = read_bundle(bundle(text).as_bytes()).unwrap();
        let root = &export.configuration.sections()[0].files[0].root;
        root.children[0].text.clone()
    };
    assert_eq!(note(" a &amp; b&#x41;&#66;&lt;c ").as_deref(), Some(" a & bAB<c "));
    assert_eq!(note("&quot;&apos;&gt;").as_deref(), Some("\"'>"));
    let e = bundle_err(bundle("AT&T and more"));
    check(&e, ErrorKind::Entity, 3, 40, "does not start a complete entity reference");
    let e = bundle_err(bundle("x &unknown; y"));
    check(
        &e,
        ErrorKind::Entity,
        3,
        40,
        "the text of <note> holds the unknown entity reference &unknown;",
    );
}

#[test]
fn unclosed_declarations_and_instructions() {
    let e = bundle_err("<?xml version=\"1.0\"");
    check(&e, ErrorKind::Syntax, 1, 1, "the XML declaration is not closed");
    let e = bundle_err(format!("{DECL}{OPEN}<?pi never closed"));
    check(&e, ErrorKind::Syntax, 3, 1, "a processing instruction is not closed");
}
