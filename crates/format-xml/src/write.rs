//! Writing: the XML bundle and native section files.
//!
//! The layout is fixed, so that a written document reads back into the same model and writes
//! out again byte for byte: the declaration, two-space indentation, one element per line with
//! all its attributes in order, `<x/>` when empty, text inline (`<a>text</a>`), attribute values
//! with `& < > "` and every control character (newline and tab included) as references. Output
//! goes into one `Vec<u8>` sized up front; nothing is allocated per attribute.

use model::{Element, Export, SectionFile, SectionId};

use crate::escape::{escape_attribute, escape_text};
use crate::read::{BUNDLE_ROOT, FILE_ATTR, SECTION, file_name};

const DECLARATION: &[u8] = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
const SPACES: &[u8; 64] = b"                                                                ";

/// Writes an export as an XML bundle.
///
/// The header's attributes are written in order; when `format_version` or `scope` is absent
/// (a header read from a server folder), it is added (`format_version="1"` first, then the
/// export's [`Export::scope`]), so that the bundle always reads back. Each section's native
/// root element is wrapped in `<section id="…">`; each transports file's `<xports>` carries a
/// `file` attribute naming its native file.
pub fn write_bundle(export: &Export) -> Vec<u8> {
    let sections = export.configuration.sections();
    let mut size = DECLARATION.len() + 64;
    for a in &export.header.attributes {
        size += a.name.len() + a.value.len() + 4;
    }
    for s in sections {
        size += 2 * SECTION.len() + s.id.as_str().len() + 24;
        for f in &s.files {
            size += estimate(&f.root, 2) + 24;
        }
    }
    let mut out = Vec::with_capacity(size + size / 16);
    out.extend_from_slice(DECLARATION);
    out.push(b'<');
    out.extend_from_slice(BUNDLE_ROOT.as_bytes());
    let header = &export.header;
    if header.get("format_version").is_none() {
        write_attribute(&mut out, "format_version", model::export::FORMAT_VERSION);
    }
    if header.get("scope").is_none() {
        write_attribute(&mut out, "scope", export.scope().as_str());
    }
    for a in &header.attributes {
        write_attribute(&mut out, &a.name, &a.value);
    }
    if sections.is_empty() {
        out.extend_from_slice(b"/>\n");
        return out;
    }
    out.extend_from_slice(b">\n");
    for section in sections {
        indent(&mut out, 1);
        out.push(b'<');
        out.extend_from_slice(SECTION.as_bytes());
        write_attribute(&mut out, "id", section.id.as_str());
        if section.files.is_empty() {
            out.extend_from_slice(b"/>\n");
            continue;
        }
        out.extend_from_slice(b">\n");
        for file in &section.files {
            if section.id == SectionId::Transports {
                write_element(&mut out, &file.root, 2, Some((FILE_ATTR, file_name(file.path))));
            } else {
                write_element(&mut out, &file.root, 2, None);
            }
        }
        indent(&mut out, 1);
        out.extend_from_slice(b"</");
        out.extend_from_slice(SECTION.as_bytes());
        out.extend_from_slice(b">\n");
    }
    out.extend_from_slice(b"</");
    out.extend_from_slice(BUNDLE_ROOT.as_bytes());
    out.extend_from_slice(b">\n");
    out
}

/// Writes one native section file: the declaration and the root element, ending with a
/// newline.
pub fn write_native_file(file: &SectionFile) -> Vec<u8> {
    let size = DECLARATION.len() + estimate(&file.root, 0);
    let mut out = Vec::with_capacity(size + size / 16);
    out.extend_from_slice(DECLARATION);
    write_element(&mut out, &file.root, 0, None);
    out
}

/// Roughly how many bytes `root` takes written at `depth` (escapes aside).
fn estimate(root: &Element, depth: usize) -> usize {
    let mut total = 0;
    let mut stack = vec![(root, depth)];
    while let Some((e, d)) = stack.pop() {
        total += 2 * d + 2 * e.name.len() + 6 + e.text.as_ref().map_or(0, String::len);
        for a in &e.attributes {
            total += a.name.len() + a.value.len() + 4;
        }
        stack.extend(e.children.iter().map(|c| (c, d + 1)));
    }
    total
}

fn indent(out: &mut Vec<u8>, depth: usize) {
    let mut n = 2 * depth;
    while n > 0 {
        let k = n.min(SPACES.len());
        out.extend_from_slice(&SPACES[..k]);
        n -= k;
    }
}

#[inline]
fn write_attribute(out: &mut Vec<u8>, name: &str, value: &str) {
    out.push(b' ');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"=\"");
    escape_attribute(out, value);
    out.push(b'"');
}

/// Writes `<name attr…` at `depth`. `file`, for a bundle's `<xports>`, is written first and
/// replaces any attribute of that name.
fn open_tag(out: &mut Vec<u8>, e: &Element, depth: usize, file: Option<(&str, &str)>) {
    indent(out, depth);
    out.push(b'<');
    out.extend_from_slice(e.name.as_bytes());
    if let Some((name, value)) = file {
        write_attribute(out, name, value);
        for a in e.attributes.iter().filter(|a| a.name != name) {
            write_attribute(out, &a.name, &a.value);
        }
    } else {
        for a in &e.attributes {
            write_attribute(out, &a.name, &a.value);
        }
    }
}

/// Ends the start tag of `e`. An element without children is finished here (`/>` or
/// `>text</name>`) and `false` is returned; otherwise its text follows `>` and the line ends.
fn close_start(out: &mut Vec<u8>, e: &Element) -> bool {
    match (&e.text, e.children.is_empty()) {
        (None, true) => {
            out.extend_from_slice(b"/>\n");
            false
        }
        (Some(text), true) => {
            out.push(b'>');
            escape_text(out, text);
            end_tag(out, e);
            false
        }
        (text, false) => {
            out.push(b'>');
            if let Some(text) = text {
                escape_text(out, text);
            }
            out.push(b'\n');
            true
        }
    }
}

fn end_tag(out: &mut Vec<u8>, e: &Element) {
    out.extend_from_slice(b"</");
    out.extend_from_slice(e.name.as_bytes());
    out.extend_from_slice(b">\n");
}

/// Writes `root` and everything under it at `depth`, with an explicit stack.
fn write_element(out: &mut Vec<u8>, root: &Element, depth: usize, file: Option<(&str, &str)>) {
    open_tag(out, root, depth, file);
    if !close_start(out, root) {
        return;
    }
    let mut stack: Vec<(&Element, usize)> = Vec::with_capacity(8);
    stack.push((root, 0));
    while let Some((e, next)) = stack.last_mut() {
        let e: &Element = e;
        if let Some(child) = e.children.get(*next) {
            *next += 1;
            open_tag(out, child, depth + stack.len(), None);
            if close_start(out, child) {
                stack.push((child, 0));
            }
        } else {
            stack.pop();
            indent(out, depth + stack.len());
            end_tag(out, e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_of_a_native_file() {
        let root = Element::new("cache")
            .with_attr("x", "a\"b")
            .with_child(Element::new("config").with_attr("probe_timeout", "60"))
            .with_child(Element {
                text: Some("t<".into()),
                ..Element::new("note").with_child(Element::new("deep"))
            })
            .with_child(Element { text: Some("x & y".into()), ..Element::new("leaf") });
        let out = write_native_file(&SectionFile { path: "config/cache.xml", root });
        let expected = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <cache x=\"a&quot;b\">\n\
             \x20 <config probe_timeout=\"60\"/>\n\
             \x20 <note>t&lt;\n\
             \x20   <deep/>\n\
             \x20 </note>\n\
             \x20 <leaf>x &amp; y</leaf>\n\
             </cache>\n";
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }

    #[test]
    fn indentation_beyond_the_space_buffer() {
        let mut out = Vec::new();
        indent(&mut out, 40);
        assert_eq!(out.len(), 80);
        assert!(out.iter().all(|&b| b == b' '));
    }
}
