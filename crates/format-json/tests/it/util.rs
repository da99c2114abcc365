//! Helpers: build small exports and compare JSON without its layout.

use model::{Configuration, Export, Header, Section};

/// An export with no header members and these sections.
pub(crate) fn export_of(sections: Vec<Section>) -> Export {
    let mut configuration = Configuration::new();
    for s in sections {
        configuration.insert(s);
    }
    Export { header: Header::default(), configuration }
}

/// `json` without the whitespace outside strings.
pub(crate) fn compact(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for ch in json.chars() {
        if in_string {
            out.push(ch);
            if escaped {
                escaped = false;
            } else if ch == '\\' {
                escaped = true;
            } else if ch == '"' {
                in_string = false;
            }
        } else if ch == '"' {
            in_string = true;
            out.push(ch);
        } else if !ch.is_whitespace() {
            out.push(ch);
        }
    }
    out
}

/// The compact JSON of the `sections` member that `export` writes, checking on the way that it
/// reads back to the same export and writes the same bytes again.
pub(crate) fn sections_json(export: &Export) -> String {
    let bytes = format_json::write_bundle(export).unwrap();
    let back = format_json::read_bundle(&bytes).expect("written JSON reads back");
    assert_eq!(&back, export, "model -> JSON -> model");
    assert_eq!(format_json::write_bundle(&back).unwrap(), bytes, "JSON -> model -> JSON");
    let text = compact(std::str::from_utf8(&bytes).expect("UTF-8"));
    let inner = text
        .strip_prefix("{\"jims_export\":{\"sections\":")
        .and_then(|s| s.strip_suffix("}}"))
        .unwrap_or_else(|| panic!("unexpected layout: {text}"));
    inner.to_owned()
}

/// Reads a bundle whose `jims_export` holds only `sections` (given compact or not).
pub(crate) fn read_sections(sections: &str) -> Result<Export, format_json::Error> {
    format_json::read_bundle(
        format!("{{\"jims_export\": {{\"sections\": {sections}}}}}").as_bytes(),
    )
}
