//! Any configuration → XML → model → JSON → model is the identity, and so are the byte round
//! trips of both writers' output (proptest).

use model::{
    Attribute, Configuration, Element, Export, Header, PasswordsMode, Scope, Section, SectionId,
};
use proptest::prelude::*;

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(&["id", "description", "server", "password", "fswSpi1", "oAuth", "webapi", "filter", "x"][..])
            .prop_map(str::to_owned),
        1 => "[a-zA-Z_][a-zA-Z0-9_]{0,6}",
    ]
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[ -~]{0,12}",
        1 => prop::sample::select(&["", "{capi} 1,0100", "{fsw} 1,c3eb", "a&b<c>\"d'", "tab\there\nline", "é漢😀"][..])
            .prop_map(str::to_owned),
    ]
}

/// Attributes with distinct names (XML allows no duplicates).
fn attributes() -> impl Strategy<Value = Vec<Attribute>> {
    prop::collection::vec((name(), value()), 0..4).prop_map(|pairs| {
        let mut out: Vec<Attribute> = Vec::new();
        for (n, v) in pairs {
            if !out.iter().any(|a| a.name == n) {
                out.push(Attribute::new(n, v));
            }
        }
        out
    })
}

/// Text of an element without children (mixed content is not kept), not starting or ending
/// with white space (which XML does not tell from the indentation).
fn text() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        3 => Just(None),
        1 => "[!-~]([ -~]{0,8}[!-~])?".prop_map(Some),
        1 => prop::sample::select(&["a&b<c>", "hunter2", "é漢😀", "x\ty"][..]).prop_map(|t| Some(t.to_owned())),
    ]
}

fn element() -> impl Strategy<Value = Element> {
    let leaf = (name(), attributes(), text()).prop_map(|(name, attributes, text)| Element {
        name,
        attributes,
        children: Vec::new(),
        text,
    });
    leaf.prop_recursive(3, 24, 4, |inner| {
        (name(), attributes(), prop::collection::vec(inner, 0..4)).prop_map(
            |(name, attributes, children)| Element { name, attributes, children, text: None },
        )
    })
}

fn section(id: SectionId) -> impl Strategy<Value = Section> {
    let item = (attributes(), prop::collection::vec(element(), 0..3)).prop_map(
        move |(attributes, children)| Element {
            name: id.item_name().to_owned(),
            attributes,
            children,
            text: None,
        },
    );
    prop::collection::vec(item, 0..4).prop_map(move |items| {
        let mut s = Section::empty(id);
        for file in &mut s.files {
            file.root.children = items.clone();
        }
        s
    })
}

fn export() -> impl Strategy<Value = Export> {
    // In any order: a bundle's sections keep the order of its file.
    prop::sample::subsequence(SectionId::ALL.to_vec(), 1..=10)
        .prop_shuffle()
        .prop_flat_map(|ids| ids.into_iter().map(section).collect::<Vec<_>>())
        .prop_map(|sections| {
            let mut configuration = Configuration::new();
            for s in sections {
                configuration.insert(s);
            }
            let scope = if configuration.is_full() { Scope::Full } else { Scope::Partial };
            Export {
                header: Header::new(
                    scope,
                    PasswordsMode::Included,
                    Some("jims-prop"),
                    Some("00112233aabbccdd"),
                    None,
                ),
                configuration,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn xml_json_xml_is_the_identity(original in export()) {
        let xml = format_xml::write_bundle(&original);
        let from_xml = format_xml::read_bundle(&xml).expect("the XML writer's output reads back");
        prop_assert_eq!(&from_xml, &original);
        let json = format_json::write_bundle(&from_xml);
        let from_json = format_json::read_bundle(&json).expect("the JSON writer's output reads back");
        prop_assert_eq!(&from_json, &original);
        prop_assert_eq!(format_xml::write_bundle(&from_json), xml);
        prop_assert_eq!(format_json::write_bundle(&format_xml::read_bundle(&format_xml::write_bundle(&from_json)).unwrap()), json);
    }
}

#[test]
fn the_fixtures_convert_into_each_other_byte_for_byte() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/exports");
    for name in ["full", "partial"] {
        let xml = std::fs::read(root.join(format!("{name}.xml"))).unwrap();
        let json = std::fs::read(root.join(format!("{name}.json"))).unwrap();
        let from_xml = format_xml::read_bundle(&xml).unwrap();
        let from_json = format_json::read_bundle(&json).unwrap();
        assert_eq!(from_xml, from_json, "{name}: both bundles hold the same configuration");
        assert_eq!(format_json::write_bundle(&from_xml), json, "{name}: XML → JSON");
        assert_eq!(format_xml::write_bundle(&from_json), xml, "{name}: JSON → XML");
    }
}
