//! The bounds on hostile input (issue 7): attributes per element and the length of a value or
//! of an element's text, each accepted at the limit and refused one past it, with line and
//! column and without quoting the value.

use format_xml::{ErrorKind, MAX_ATTRIBUTES, MAX_VALUE_BYTES, read_bundle};

fn bundle(config_attrs: &str, text: &str) -> Vec<u8> {
    format!(
        "<jims_export format_version=\"1\" scope=\"partial\">\n<section id=\"session\"><cache>\
         <config probe_timeout=\"60\"{config_attrs}/><note>{text}</note></cache></section>\
         </jims_export>\n"
    )
    .into_bytes()
}

fn attrs(n: usize) -> String {
    (1..n).map(|i| format!(" a{i}=\"1\"")).collect()
}

/// The error of a bundle that must be refused (without printing the huge export if not).
fn refused(bytes: &[u8]) -> format_xml::Error {
    match read_bundle(bytes) {
        Ok(_) => panic!("a bundle of {} bytes was accepted", bytes.len()),
        Err(e) => e,
    }
}

#[test]
fn attributes_up_to_the_limit_are_read_and_one_more_is_refused() {
    let ok = read_bundle(&bundle(&attrs(MAX_ATTRIBUTES), "")).unwrap();
    let config = &ok.configuration.sections()[0].files[0].root.children[0];
    assert_eq!(config.attributes.len(), MAX_ATTRIBUTES);
    let e = refused(&bundle(&attrs(MAX_ATTRIBUTES + 1), ""));
    assert_eq!(*e.kind(), ErrorKind::TooBig);
    assert_eq!(e.line(), Some(2), "{e}");
    assert!(e.to_string().contains("more than 1024 attributes"), "{e}");
}

#[test]
fn a_value_up_to_the_limit_is_read_and_a_longer_one_is_refused() {
    let value = "s".repeat(MAX_VALUE_BYTES);
    assert!(read_bundle(&bundle(&format!(" note=\"{value}\""), "")).is_ok());
    let value = "s".repeat(MAX_VALUE_BYTES + 1);
    let e = refused(&bundle(&format!(" note=\"{value}\""), ""));
    assert_eq!(*e.kind(), ErrorKind::TooBig);
    let shown = e.to_string();
    assert!(shown.contains("'note'") && shown.contains("1024 KiB"), "{shown}");
    assert!(!shown.contains("sss"), "the error quotes the value: {shown}");
}

#[test]
fn text_longer_than_the_limit_is_refused_even_as_whitespace_or_entities() {
    assert!(read_bundle(&bundle("", &"t".repeat(MAX_VALUE_BYTES))).is_ok());
    for text in ["t".repeat(MAX_VALUE_BYTES + 1), "&amp;".repeat(MAX_VALUE_BYTES + 1)] {
        let e = refused(&bundle("", &text));
        assert_eq!(*e.kind(), ErrorKind::TooBig, "{e}");
    }
    // Whitespace interleaved with comments builds text without any other character.
    let spaces = " ".repeat(1024);
    let text: String = (0..1100).map(|_| format!("{spaces}<!---->")).collect();
    let e = refused(&bundle("", &text));
    assert_eq!(*e.kind(), ErrorKind::TooBig, "{e}");
}
