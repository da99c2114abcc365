//! Writing: the XML bundle and native section files.
//!
//! The layout is fixed, so that a written document reads back into the same model and writes
//! out again byte for byte: the declaration, two-space indentation, one element per line with
//! all its attributes in order, `<x/>` when empty, text inline (`<a>text</a>`), attribute values
//! with `& < > "` and every control character (newline and tab included) as references. Output
//! goes into one `Vec<u8>` of exactly the right size, counted by a first pass over the model;
//! nothing is allocated per attribute.

use model::name::check_xml_name;
use model::{Element, Export, SectionFile, SectionId};

use crate::escape::{escape_attribute, escape_text, escaped_attribute_len, escaped_text_len};
use crate::read::{BUNDLE_ROOT, FILE_ATTR, SECTION};
use crate::{Error, ErrorKind};
use model::read::sections::transports_file_name;

const DECLARATION: &[u8] = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
const SPACES: &[u8; 64] = b"                                                                ";

/// Writes an export as an XML bundle.
///
/// The header's attributes are written in order; when `format_version` or `scope` is absent
/// (a header read from a server folder), it is added (`format_version="1"` first, then the
/// export's [`Export::scope`]), so that the bundle always reads back. Each section's native
/// root element is wrapped in `<section id="…">`; each transports file's `<xports>` carries a
/// `file` attribute naming its native file.
///
/// # Errors
/// [`ErrorKind::Unwritable`] when a name in the export is not a valid XML name
/// ([`model::name`]) or a value holds a NUL character: the readers never let one in, and the
/// writer refuses to write a document that would not read back as the same configuration.
pub fn write_bundle(export: &Export) -> Result<Vec<u8>, Error> {
    check_attributes(BUNDLE_ROOT, &export.header.attributes, "the bundle's header")?;
    for section in export.configuration.sections() {
        for file in &section.files {
            check_element(&file.root, &format!("section {}", section.id))?;
        }
    }
    let mut count = Count(0);
    emit_bundle(&mut count, export);
    let mut out = Vec::with_capacity(count.0);
    emit_bundle(&mut out, export);
    debug_assert_eq!(out.len(), count.0);
    Ok(out)
}

/// Writes one native section file: the declaration and the root element, ending with a
/// newline.
///
/// # Errors
/// [`ErrorKind::Unwritable`], as [`write_bundle`].
pub fn write_native_file(file: &SectionFile) -> Result<Vec<u8>, Error> {
    check_element(&file.root, file.path)?;
    let mut count = Count(0);
    emit_native(&mut count, file);
    let mut out = Vec::with_capacity(count.0);
    emit_native(&mut out, file);
    debug_assert_eq!(out.len(), count.0);
    Ok(out)
}

/// Checks every name and value under `root` (itself included), iteratively; `place` names the
/// file or section in the error.
fn check_element(root: &Element, place: &str) -> Result<(), Error> {
    let mut stack = vec![root];
    while let Some(e) = stack.pop() {
        if let Err(why) = check_xml_name(&e.name) {
            return Err(unwritable(format!(
                "cannot write {place}: the element name {} is not a valid XML name: {why}",
                model::text::quoted(&e.name)
            )));
        }
        check_attributes(&e.name, &e.attributes, place)?;
        if e.text.as_deref().is_some_and(|t| t.contains('\0')) {
            return Err(unwritable(format!(
                "cannot write {place}: the text of <{}> holds a NUL character, which no XML \
                 document can hold",
                e.name
            )));
        }
        stack.extend(e.children.iter());
    }
    Ok(())
}

/// Checks the names and values of the attributes of the element `element`.
fn check_attributes(
    element: &str,
    attributes: &[model::Attribute],
    place: &str,
) -> Result<(), Error> {
    for a in attributes {
        if let Err(why) = check_xml_name(&a.name) {
            return Err(unwritable(format!(
                "cannot write {place}: the attribute name {} of <{element}> is not a valid XML \
                 name: {why}",
                model::text::quoted(&a.name)
            )));
        }
        if a.value.contains('\0') {
            return Err(unwritable(format!(
                "cannot write {place}: the attribute {} of <{element}> holds a NUL character, \
                 which no XML document can hold",
                a.name
            )));
        }
    }
    Ok(())
}

fn unwritable(message: String) -> Error {
    Error::new(ErrorKind::Unwritable, message)
}

/// Where the writer's output goes: first a [`Count`] of the bytes, then the `Vec<u8>` sized
/// for exactly that many, so that the output (which may hold passwords) is never reallocated
/// and leaves no copies behind.
trait Sink {
    fn raw(&mut self, bytes: &[u8]);
    fn byte(&mut self, b: u8);
    fn attribute_value(&mut self, value: &str);
    fn text(&mut self, text: &str);
}

/// Counts the bytes that would be written.
struct Count(usize);

impl Sink for Count {
    #[inline]
    fn raw(&mut self, bytes: &[u8]) {
        self.0 += bytes.len();
    }
    #[inline]
    fn byte(&mut self, _: u8) {
        self.0 += 1;
    }
    #[inline]
    fn attribute_value(&mut self, value: &str) {
        self.0 += escaped_attribute_len(value);
    }
    #[inline]
    fn text(&mut self, text: &str) {
        self.0 += escaped_text_len(text);
    }
}

impl Sink for Vec<u8> {
    #[inline]
    fn raw(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
    #[inline]
    fn byte(&mut self, b: u8) {
        self.push(b);
    }
    #[inline]
    fn attribute_value(&mut self, value: &str) {
        escape_attribute(self, value);
    }
    #[inline]
    fn text(&mut self, text: &str) {
        escape_text(self, text);
    }
}

fn emit_bundle(out: &mut impl Sink, export: &Export) {
    let sections = export.configuration.sections();
    out.raw(DECLARATION);
    out.byte(b'<');
    out.raw(BUNDLE_ROOT.as_bytes());
    let header = &export.header;
    if header.get("format_version").is_none() {
        write_attribute(out, "format_version", model::export::FORMAT_VERSION);
    }
    if header.get("scope").is_none() {
        write_attribute(out, "scope", export.scope().as_str());
    }
    for a in &header.attributes {
        write_attribute(out, &a.name, &a.value);
    }
    if sections.is_empty() {
        out.raw(b"/>\n");
        return;
    }
    out.raw(b">\n");
    for section in sections {
        indent(out, 1);
        out.byte(b'<');
        out.raw(SECTION.as_bytes());
        write_attribute(out, "id", section.id.as_str());
        if section.files.is_empty() {
            out.raw(b"/>\n");
            continue;
        }
        out.raw(b">\n");
        for file in &section.files {
            if section.id == SectionId::Transports {
                write_element(
                    out,
                    &file.root,
                    2,
                    Some((FILE_ATTR, transports_file_name(file.path))),
                );
            } else {
                write_element(out, &file.root, 2, None);
            }
        }
        indent(out, 1);
        out.raw(b"</");
        out.raw(SECTION.as_bytes());
        out.raw(b">\n");
    }
    out.raw(b"</");
    out.raw(BUNDLE_ROOT.as_bytes());
    out.raw(b">\n");
}

fn emit_native(out: &mut impl Sink, file: &SectionFile) {
    out.raw(DECLARATION);
    write_element(out, &file.root, 0, None);
}

#[inline]
fn indent(out: &mut impl Sink, depth: usize) {
    let mut n = 2 * depth;
    while n > 0 {
        let k = n.min(SPACES.len());
        out.raw(&SPACES[..k]);
        n -= k;
    }
}

#[inline]
fn write_attribute(out: &mut impl Sink, name: &str, value: &str) {
    out.byte(b' ');
    out.raw(name.as_bytes());
    out.raw(b"=\"");
    out.attribute_value(value);
    out.byte(b'"');
}

/// Writes `<name attr…` at `depth`. `file`, for a bundle's `<xports>`, is written first and
/// replaces any attribute of that name.
fn open_tag(out: &mut impl Sink, e: &Element, depth: usize, file: Option<(&str, &str)>) {
    indent(out, depth);
    out.byte(b'<');
    out.raw(e.name.as_bytes());
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
fn close_start(out: &mut impl Sink, e: &Element) -> bool {
    match (&e.text, e.children.is_empty()) {
        (None, true) => {
            out.raw(b"/>\n");
            false
        }
        (Some(text), true) => {
            out.byte(b'>');
            out.text(text);
            end_tag(out, e);
            false
        }
        (text, false) => {
            out.byte(b'>');
            if let Some(text) = text {
                out.text(text);
            }
            out.byte(b'\n');
            true
        }
    }
}

fn end_tag(out: &mut impl Sink, e: &Element) {
    out.raw(b"</");
    out.raw(e.name.as_bytes());
    out.raw(b">\n");
}

/// Writes `root` and everything under it at `depth`, with an explicit stack.
fn write_element(out: &mut impl Sink, root: &Element, depth: usize, file: Option<(&str, &str)>) {
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
            .with_child(Element::new("note").with_child(Element::new("deep")).with_text("t<"))
            .with_child(Element::new("leaf").with_text("x & y"));
        let out = write_native_file(&SectionFile { path: "config/cache.xml", root }).unwrap();
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
    fn invalid_names_and_nul_are_refused_not_written() {
        let file =
            |root: Element| SectionFile { path: "system/init/admin_whitelist_static.xml", root };
        let injected = "x=\"1\"/>\n  <client id=\"evil\" address=\"0.0.0.0\" y";
        for root in [
            Element::new("clients").with_child(Element::new("client").with_attr(injected, "v")),
            Element::new("clients").with_child(Element::new("a b")),
            Element::new("clients").with_child(Element::new("")),
            Element::new("clients").with_attr("1x", ""),
            Element::new("clients").with_child(Element::new("c").with_attr("v", "a\0b")),
            Element::new("clients").with_child(Element::new("c").with_text("\0")),
        ] {
            let e = write_native_file(&file(root.clone())).unwrap_err();
            assert_eq!(e.kind(), &ErrorKind::Unwritable, "{e}");
            assert!(e.to_string().starts_with("cannot write system/init/"), "{e}");
            let export = Export {
                header: model::Header::default(),
                configuration: {
                    let mut c = model::Configuration::new();
                    c.insert(model::Section::single(SectionId::AdminClients, root));
                    c
                },
            };
            let e = write_bundle(&export).unwrap_err();
            assert!(e.to_string().starts_with("cannot write section admin_clients: "), "{e}");
            assert!(!e.to_string().contains('\n'), "{e}");
        }
        let mut export = Export::default();
        export.header.attributes.push(model::Attribute::new("a=b", ""));
        assert_eq!(write_bundle(&export).unwrap_err().kind(), &ErrorKind::Unwritable);
    }

    #[test]
    fn indentation_beyond_the_space_buffer() {
        let mut out: Vec<u8> = Vec::new();
        indent(&mut out, 40);
        assert_eq!(out.len(), 80);
        assert!(out.iter().all(|&b| b == b' '));
    }
}
