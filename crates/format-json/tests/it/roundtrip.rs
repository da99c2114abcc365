//! Whole-bundle round trips on the realistic sample.

use samples::realistic_export;

#[test]
fn model_to_json_to_model_is_the_identity() {
    let export = realistic_export(1);
    let bytes = format_json::write_bundle(&export);
    let back = format_json::read_bundle(&bytes).unwrap();
    assert_eq!(back, export);
    assert_eq!(format_json::write_bundle(&back), bytes);
}

#[test]
fn output_is_laid_out_as_serde_json_pretty_prints_it() {
    // The sample has no repeated member names, so a serde_json::Value (insertion order kept)
    // holds all of it.
    let bytes = format_json::write_bundle(&realistic_export(1));
    let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let mut expected = serde_json::to_string_pretty(&value).unwrap();
    expected.push('\n');
    assert_eq!(String::from_utf8(bytes).unwrap(), expected);
}

#[test]
fn realistic_sample_is_about_100_kb() {
    let len = format_json::write_bundle(&realistic_export(1)).len();
    assert!((80_000..140_000).contains(&len), "{len} bytes");
}

#[test]
fn header_keeps_its_order_and_unknown_members() {
    let input = br#"{"jims_export": {"exported_at": "t", "x-tool": "script", "format_version": "1",
        "@sections": "odd", "scope": "partial", "sections": {}}}"#;
    let export = format_json::read_bundle(input).unwrap();
    let names: Vec<&str> = export.header.attributes.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["exported_at", "x-tool", "format_version", "sections", "scope"]);
    assert_eq!(export.header.format_version(), Some("1"));
    let text = String::from_utf8(format_json::write_bundle(&export)).unwrap();
    assert_eq!(
        crate::util::compact(&text),
        r#"{"jims_export":{"exported_at":"t","x-tool":"script","format_version":1,"@sections":"odd","scope":"partial","sections":{}}}"#
    );
}

#[test]
fn a_header_with_no_members_is_accepted() {
    let export = format_json::read_bundle(br#"{"jims_export": {"sections": {}}}"#).unwrap();
    assert!(export.header.attributes.is_empty());
    assert_eq!(export.scope(), model::Scope::Partial);
}

/// An export whose elements repeat child names that are not adjacent: `<x><filter a="1"/><tag/>
/// <filter a="2"/></x>` in an item, an unknown element between a section's items, and a holder
/// whose password sits between two children of one name.
fn interleaved_export() -> model::Export {
    use model::{Element, Section, SectionId};
    let item = Element::new("event_source").with_attr("id", "E1").with_child(
        Element::new("x")
            .with_child(Element::new("filter").with_attr("a", "1"))
            .with_child(Element::new("tag"))
            .with_child(Element::new("filter").with_attr("a", "2")),
    );
    let sources = Element::new("event_sources")
        .with_child(item)
        .with_child(Element::new("x-future").with_attr("v", "1"))
        .with_child(Element::new("event_source").with_attr("id", "E2"));
    let srx = Element::new("SRX").with_attr("id", "S").with_child(
        Element::new("oAuth")
            .with_child(Element::new("scope").with_attr("v", "a"))
            .with_child(samples::parts::fsw_password("{fsw} 1,c3eb4b"))
            .with_child(Element::new("scope").with_attr("v", "b")),
    );
    crate::util::export_of(vec![
        Section::single(SectionId::EventSources, sources),
        Section::single(SectionId::SrxClients, Element::new("SRXes").with_child(srx)),
        Section::empty(SectionId::Session),
    ])
}

#[test]
fn interleaved_children_lose_nothing_in_a_json_value() {
    let export = interleaved_export();
    let bytes = format_json::write_bundle(&export);
    let back = format_json::read_bundle(&bytes).unwrap();
    assert_eq!(back, export);
    assert_eq!(format_json::write_bundle(&back), bytes);
    // Tools that keep the last of repeated member names (serde_json, jq, Python) see it all: the
    // Value prints back to the very bytes written, and reads to the same export.
    let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let mut printed = serde_json::to_string_pretty(&value).unwrap();
    printed.push('\n');
    assert_eq!(printed, String::from_utf8(bytes).unwrap());
    assert_eq!(format_json::read_bundle(printed.as_bytes()).unwrap(), export);
    let sections = &value["jims_export"]["sections"];
    assert_eq!(
        sections["event_sources"]["$root"]["#children"][0]["event_source"]["x"]["#children"],
        serde_json::json!([{"filter": {"a": "1"}}, {"tag": {}}, {"filter": {"a": "2"}}])
    );
    assert_eq!(
        sections["event_sources"]["$root"]["#children"][1],
        serde_json::json!({"x-future": {"v": "1"}})
    );
    assert_eq!(
        sections["srx_clients"][0]["oAuth"]["#children"][1],
        serde_json::json!({"password": "{fsw} 1,c3eb4b"})
    );
    assert_eq!(sections["session"], serde_json::json!({}));
}

#[test]
fn realistic_sample_keeps_the_member_form() {
    let text = String::from_utf8(format_json::write_bundle(&realistic_export(1))).unwrap();
    assert!(!text.contains("#children"));
}
