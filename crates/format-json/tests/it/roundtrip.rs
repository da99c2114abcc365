//! Whole-bundle round trips on the realistic sample.

use crate::sample::realistic_export;

#[test]
fn model_to_json_to_model_is_the_identity() {
    let export = realistic_export();
    let bytes = format_json::write_bundle(&export);
    let back = format_json::read_bundle(&bytes).unwrap();
    assert_eq!(back, export);
    assert_eq!(format_json::write_bundle(&back), bytes);
}

#[test]
fn output_is_laid_out_as_serde_json_pretty_prints_it() {
    // The sample has no repeated member names, so a serde_json::Value (insertion order kept)
    // holds all of it.
    let bytes = format_json::write_bundle(&realistic_export());
    let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let mut expected = serde_json::to_string_pretty(&value).unwrap();
    expected.push('\n');
    assert_eq!(String::from_utf8(bytes).unwrap(), expected);
}

#[test]
fn realistic_sample_is_about_100_kb() {
    let len = format_json::write_bundle(&realistic_export()).len();
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
