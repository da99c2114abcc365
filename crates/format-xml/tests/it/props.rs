//! Property test: any element tree with safe names and arbitrary values, written and read back,
//! is the same tree.

use format_xml::{read_native_file, write_native_file};
use model::{Attribute, Element, SectionFile, SectionId};
use proptest::prelude::*;

fn name() -> impl Strategy<Value = String> {
    "[A-Za-z_][A-Za-z0-9_.:-]{0,8}"
}

/// Any string without NUL (which no XML can carry); rich in characters that need escaping.
fn value() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => prop::sample::select(vec!['<', '&', '"', '\'', '\n', '\t', '\r', '>', ' ', ';', '#', 'é', '€', '😀', '\u{1}', '\u{1f}', '\u{7f}']),
            5 => any::<char>().prop_filter("no NUL", |c| *c != '\0'),
        ],
        0..12,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

/// Text the model can hold: not only whitespace; trimmed when the element has children.
fn text(trimmed: bool) -> impl Strategy<Value = Option<String>> {
    prop::option::of(value()).prop_map(move |t| {
        let t = t?;
        let ws = |c: char| matches!(c, ' ' | '\t' | '\n' | '\r');
        let t = if trimmed { t.trim_matches(ws).to_owned() } else { t };
        (!t.chars().all(ws)).then_some(t)
    })
}

fn attributes() -> impl Strategy<Value = Vec<Attribute>> {
    prop::collection::vec((name(), value()), 0..5).prop_map(|pairs| {
        let mut out: Vec<Attribute> = Vec::new();
        for (n, v) in pairs {
            if !out.iter().any(|a| a.name == n) {
                out.push(Attribute::new(n, v));
            }
        }
        out
    })
}

fn element() -> impl Strategy<Value = Element> {
    let leaf = (name(), attributes(), text(false)).prop_map(|(name, attributes, text)| Element {
        name,
        attributes,
        children: vec![],
        text,
    });
    leaf.prop_recursive(5, 48, 5, |inner| {
        (name(), attributes(), prop::collection::vec(inner, 0..5), text(true)).prop_map(
            |(name, attributes, children, text)| {
                let text = if children.is_empty() { None } else { text };
                Element { name, attributes, children, text }
            },
        )
    })
}

proptest! {
    #[test]
    fn write_then_read_is_the_identity(children in prop::collection::vec(element(), 0..4), attributes in attributes()) {
        let root = Element { name: "SRXes".into(), attributes, children, text: None };
        let file = SectionFile { path: "config/srx_interface.xml", root };
        let bytes = write_native_file(&file);
        let read = read_native_file(SectionId::SrxClients, file.path, &bytes);
        prop_assert!(read.is_ok(), "{:?}\n{}", read.err(), String::from_utf8_lossy(&bytes));
        let read = read.unwrap();
        prop_assert_eq!(&read, &file);
        prop_assert_eq!(write_native_file(&read), bytes);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = format_xml::read_bundle(&bytes);
    }

    #[test]
    fn mutated_bundles_never_panic(cut in 0usize..2000, byte in any::<u8>()) {
        let mut bytes = format_xml::write_bundle(&samples::realistic_export(1));
        bytes.truncate(2000);
        if let Some(b) = bytes.get_mut(cut) { *b = byte; }
        let _ = format_xml::read_bundle(&bytes);
    }
}
