//! Property tests: arbitrary element trees placed in sections survive model -> JSON -> model,
//! and the JSON survives JSON -> model -> JSON byte for byte.

use model::{Attribute, Configuration, Element, Export, Header, Section, SectionFile, SectionId};
use proptest::prelude::*;

/// Names that exercise the special cases, and ordinary ones.
const NAMES: &[&str] = &[
    "a",
    "b",
    "item",
    "password",
    "fswSpi1",
    "oAuth",
    "webapi",
    "SRX",
    "CSO",
    "credential",
    "credentials",
    "config",
    "transport",
    "id",
];

fn element_name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(NAMES).prop_map(str::to_owned),
        1 => "[a-zA-Z_é][a-zA-Z0-9_.é-]{0,6}(:[a-z][a-z0-9]{0,3})?",
    ]
}

fn attribute_name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => element_name(),
        1 => prop::sample::select(&["sections", "credentials", "text", "children"][..]).prop_map(str::to_owned),
    ]
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => "[ -~]{0,12}",
        1 => prop::collection::vec(any::<char>().prop_filter("no NUL", |c| *c != '\0'), 0..6)
            .prop_map(String::from_iter),
        1 => prop::sample::select(&["", "{fsw} 1,c3eb", "\"\\\n\t\u{1}\u{1f}\u{7f}", "é😀"][..]).prop_map(str::to_owned),
    ]
}

/// Attributes with distinct names, as XML has them (the reader refuses a repeated one).
fn attributes(max: usize) -> impl Strategy<Value = Vec<Attribute>> {
    prop::collection::vec((attribute_name(), value()), 0..max).prop_map(|v| {
        let mut out: Vec<Attribute> = Vec::new();
        for (n, v) in v {
            if !out.iter().any(|a| a.name == n) {
                out.push(Attribute::new(n, v));
            }
        }
        out
    })
}

fn text() -> impl Strategy<Value = Option<String>> {
    prop_oneof![4 => Just(None), 1 => value().prop_map(Some)]
}

/// A `<password fswSpi1="…"/>` element, the password shortcut's case.
fn fsw_password() -> impl Strategy<Value = Element> {
    value().prop_map(|v| Element::new("password").with_attr("fswSpi1", v))
}

fn element() -> impl Strategy<Value = Element> {
    let leaf = prop_oneof![
        3 => (element_name(), attributes(4), text()).prop_map(|(name, attributes, text)| {
            Element { name, attributes, children: Vec::new(), text }
        }),
        1 => fsw_password(),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        (element_name(), attributes(4), prop::collection::vec(inner, 0..6), text()).prop_map(
            |(name, attributes, children, text)| Element { name, attributes, children, text },
        )
    })
}

/// An item of section `id`: often named as the section's items, sometimes not.
fn item(id: SectionId) -> impl Strategy<Value = Element> {
    let holders = prop::collection::vec(
        (prop::sample::select(&["oAuth", "webapi", "query"][..]), attributes(3), fsw_password())
            .prop_map(|(name, attributes, pw)| Element {
                name: name.to_owned(),
                attributes,
                children: vec![pw],
                text: None,
            }),
        0..3,
    );
    let named = (attributes(5), holders, prop::collection::vec(element(), 0..3), text()).prop_map(
        move |(attributes, mut children, more, text)| {
            children.extend(more);
            Element { name: id.item_name().to_owned(), attributes, children, text }
        },
    );
    prop_oneof![6 => named, 1 => element()]
}

/// A root element for section `id`: usually the plain shape, sometimes with extras.
fn root(id: SectionId) -> impl Strategy<Value = Element> {
    let extras = prop_oneof![3 => Just((Vec::new(), None)), 1 => (attributes(3), text())];
    (extras, prop::collection::vec(item(id), 0..5)).prop_map(
        move |((attributes, text), children)| Element {
            name: id.root_name().to_owned(),
            attributes,
            children,
            text,
        },
    )
}

fn section(id: SectionId) -> BoxedStrategy<Section> {
    if id == SectionId::Transports {
        let files = id.native_files();
        (prop::sample::subsequence(files.to_vec(), 0..=2), any::<bool>(), root(id), root(id))
            .prop_map(move |(paths, swap, a, b)| {
                let mut paths = paths;
                if swap {
                    paths.reverse();
                }
                let files = paths
                    .into_iter()
                    .zip([a, b])
                    .map(|(path, root)| SectionFile { path, root })
                    .collect();
                Section { id, files }
            })
            .boxed()
    } else {
        root(id).prop_map(move |root| Section::single(id, root)).boxed()
    }
}

fn configuration() -> impl Strategy<Value = Configuration> {
    let sections: Vec<_> =
        SectionId::ALL.into_iter().map(|id| prop::option::weighted(0.6, section(id))).collect();
    sections.prop_map(|sections| {
        let mut c = Configuration::new();
        for mut s in sections.into_iter().flatten() {
            remove_misplaced_secrets(&mut s);
            c.insert(s);
        }
        c
    })
}

/// Takes out of `section` every password-like attribute or element that is not a secret field
/// (the readers refuse those; see `model::misplaced`), one at a time.
fn remove_misplaced_secrets(section: &mut Section) {
    use model::MisplacedKind::*;
    while let Some(m) = model::misplaced_secrets(section).into_iter().next() {
        let mut e = &mut section.files[m.file].root;
        for &i in &m.path {
            e = &mut e.children[i];
        }
        match m.kind {
            PasswordElement | SecondElement | NestedInPassword => {
                let (last, parent) = m.path.split_last().expect("an element below the root");
                let mut p = &mut section.files[m.file].root;
                for &i in parent {
                    p = &mut p.children[i];
                }
                if m.kind == NestedInPassword {
                    p.children[*last].children.clear();
                } else {
                    p.children.remove(*last);
                }
            }
            TwoValues => e.text = None,
            _ => {
                e.remove_attr(m.attribute().expect("an attribute's problem"));
            }
        }
    }
}

fn header() -> impl Strategy<Value = Header> {
    let extra = prop::collection::btree_map(
        prop::sample::select(&["sections", "x", "y", "comment", "server_id", "exported_at"][..]),
        value(),
        0..4,
    );
    (any::<bool>(), any::<bool>(), extra).prop_map(|(version, scope, extra)| {
        let mut attributes = Vec::new();
        if version {
            attributes.push(Attribute::new("format_version", "1"));
        }
        if scope {
            attributes.push(Attribute::new("scope", "partial"));
        }
        attributes.extend(extra.into_iter().map(|(n, v)| Attribute::new(n, v)));
        Header { attributes }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 384, ..ProptestConfig::default() })]

    #[test]
    fn model_json_model_is_the_identity(header in header(), configuration in configuration()) {
        let export = Export { header, configuration };
        let bytes = format_json::write_bundle(&export).unwrap();
        prop_assert!(serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_ok());
        let back = format_json::read_bundle(&bytes);
        prop_assert!(back.is_ok(), "{:?}\n{}", back.err(), String::from_utf8_lossy(&bytes));
        let back = back.unwrap();
        prop_assert_eq!(&back, &export);
        prop_assert_eq!(&format_json::write_bundle(&back).unwrap(), &bytes);
        // No member name is written twice in one object: a serde_json::Value, which keeps the
        // last of repeated names, prints back to the same bytes.
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let mut printed = serde_json::to_string_pretty(&value).unwrap();
        printed.push('\n');
        prop_assert_eq!(printed.as_bytes(), &bytes[..]);
    }

    #[test]
    fn reader_never_panics_on_mangled_bundles(
        configuration in configuration(),
        cut in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let export = Export { header: Header::default(), configuration };
        let mut bytes = format_json::write_bundle(&export).unwrap();
        let i = cut.index(bytes.len());
        bytes[i] = byte;
        let _ = format_json::read_bundle(&bytes);
        let _ = format_json::read_bundle(&bytes[..i]);
    }
}
