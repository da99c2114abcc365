//! The JSON bundle writer: a hand-written pretty printer (two-space indent, as
//! `serde_json::to_string_pretty` lays it out) into one pre-sized buffer.

use model::name::check_xml_name;
use model::{Attribute, Element, Export, Section, SectionId};

use crate::{Error, ErrorKind};

use crate::shape::{
    self, CHILDREN_MEMBER, CREDENTIALS_MEMBER, Ctx, ROOT_MEMBER, SECTIONS_MEMBER, Shape,
    TEXT_MEMBER, TOP_MEMBER,
};

/// Writes `export` as a JSON bundle: pretty, two-space indent, trailing newline.
///
/// The header members come in the order of the header's attributes (`format_version` `"1"` as
/// the number 1), then `sections` in document order. The output reads back with
/// [`crate::read_bundle`] to an equal export, which writes these same bytes again.
///
/// # Errors
/// [`ErrorKind::InvalidName`] when a name in the export is not a valid XML name
/// ([`model::name`]), and [`ErrorKind::NulCharacter`] when a value holds a NUL character: the
/// reader never lets one in, and the writer refuses to write a bundle that would not read back.
pub fn write_bundle(export: &Export) -> Result<Vec<u8>, Error> {
    check_attributes(&export.header.attributes, "the header")?;
    for section in export.configuration.sections() {
        for file in &section.files {
            check_element(&file.root, section.id)?;
        }
    }
    let mut w = Writer { out: Vec::with_capacity(estimate(export)) };
    w.out.push(b'{');
    let mut first = true;
    w.member(&mut first, 1, TOP_MEMBER);
    w.out.push(b'{');
    let mut first_header = true;
    for a in &export.header.attributes {
        let at = shape::header_attribute_needs_at(&a.name);
        w.member_maybe_at(&mut first_header, 2, &a.name, at);
        if a.name == "format_version" && a.value == model::export::FORMAT_VERSION && !at {
            w.out.extend_from_slice(a.value.as_bytes());
        } else {
            w.string(&a.value);
        }
    }
    w.member(&mut first_header, 2, SECTIONS_MEMBER);
    w.out.push(b'{');
    let mut first_section = true;
    for section in export.configuration.sections() {
        w.member(&mut first_section, 3, section.id.as_str());
        w.section(section, 3);
    }
    w.close(b'}', 2, first_section);
    w.close(b'}', 1, false);
    w.close(b'}', 0, false);
    w.out.push(b'\n');
    Ok(w.out)
}

/// Checks every name and value under `root` (itself included), iteratively.
fn check_element(root: &Element, section: SectionId) -> Result<(), Error> {
    let place = format!("section {section}");
    let mut stack = vec![root];
    while let Some(e) = stack.pop() {
        if let Err(why) = check_xml_name(&e.name) {
            return Err(Error::new(
                ErrorKind::InvalidName,
                format!(
                    "cannot write {place}: the element name {} is not a valid XML name: {why}",
                    model::text::quoted(&e.name)
                ),
            ));
        }
        check_attributes(&e.attributes, &place)?;
        if e.text.as_deref().is_some_and(|t| t.contains('\0')) {
            return Err(nul(&place, &format!("the text of {}", e.name)));
        }
        stack.extend(e.children.iter());
    }
    Ok(())
}

/// Checks the names and values of `attributes`.
fn check_attributes(attributes: &[Attribute], place: &str) -> Result<(), Error> {
    for a in attributes {
        if let Err(why) = check_xml_name(&a.name) {
            return Err(Error::new(
                ErrorKind::InvalidName,
                format!(
                    "cannot write {place}: the attribute name {} is not a valid XML name: {why}",
                    model::text::quoted(&a.name)
                ),
            ));
        }
        if a.value.contains('\0') {
            return Err(nul(place, &format!("the attribute {}", a.name)));
        }
    }
    Ok(())
}

fn nul(place: &str, what: &str) -> Error {
    Error::new(
        ErrorKind::NulCharacter,
        format!("cannot write {place}: {what} holds a NUL character, which no XML file can hold"),
    )
}

/// The output buffer and the printing primitives.
struct Writer {
    out: Vec<u8>,
}

/// Spaces for indentation, sliced to the level's width.
const SPACES: &[u8; 128] = &[b' '; 128];

impl Writer {
    /// Starts a member or array entry at `level`: the comma if needed, newline and indent.
    #[inline]
    fn entry(&mut self, first: &mut bool, level: usize) {
        if *first {
            *first = false;
        } else {
            self.out.push(b',');
        }
        self.out.push(b'\n');
        self.indent(level);
    }

    #[inline]
    fn indent(&mut self, level: usize) {
        let mut width = level * 2;
        while width > SPACES.len() {
            self.out.extend_from_slice(SPACES);
            width -= SPACES.len();
        }
        self.out.extend_from_slice(&SPACES[..width]);
    }

    /// Starts a member named `name` at `level`, up to and including `": "`.
    #[inline]
    fn member(&mut self, first: &mut bool, level: usize, name: &str) {
        self.member_maybe_at(first, level, name, false);
    }

    /// Starts a member named `name`, or `@name` when `at`.
    #[inline]
    fn member_maybe_at(&mut self, first: &mut bool, level: usize, name: &str, at: bool) {
        self.entry(first, level);
        self.out.push(b'"');
        if at {
            self.out.push(b'@');
        }
        self.string_body(name);
        self.out.extend_from_slice(b"\": ");
    }

    /// Ends an object or array opened at `level`.
    #[inline]
    fn close(&mut self, bracket: u8, level: usize, empty: bool) {
        if !empty {
            self.out.push(b'\n');
            self.indent(level);
        }
        self.out.push(bracket);
    }

    /// A JSON string.
    #[inline]
    fn string(&mut self, s: &str) {
        self.out.push(b'"');
        self.string_body(s);
        self.out.push(b'"');
    }

    /// The escaped content of a JSON string, as serde_json escapes it.
    #[inline]
    fn string_body(&mut self, s: &str) {
        let bytes = s.as_bytes();
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let escape = ESCAPE[b as usize];
            if escape == 0 {
                continue;
            }
            self.out.extend_from_slice(&bytes[start..i]);
            if escape == b'u' {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                self.out.extend_from_slice(b"\\u00");
                self.out.push(HEX[(b >> 4) as usize]);
                self.out.push(HEX[(b & 0xf) as usize]);
            } else {
                self.out.push(b'\\');
                self.out.push(escape);
            }
            start = i + 1;
        }
        self.out.extend_from_slice(&bytes[start..]);
    }

    /// The value of a section member; the member's own line is at `level`.
    fn section(&mut self, section: &Section, level: usize) {
        let id = section.id;
        match Shape::of(id) {
            Shape::List => match section.files.first() {
                Some(file) => self.list_value(id, &file.root, level),
                None => self.out.extend_from_slice(b"[]"),
            },
            Shape::PcProbes => match section.files.first() {
                Some(file) => self.pc_probes(&file.root, level),
                None => self.pc_probes(&id.empty_root(), level),
            },
            Shape::Session => match section.files.first() {
                Some(file) => self.session(&file.root, level),
                None => self.out.extend_from_slice(b"{}"),
            },
            Shape::Transports => {
                self.out.push(b'{');
                let mut first = true;
                for file in &section.files {
                    self.member(
                        &mut first,
                        level + 1,
                        model::read::sections::transports_file_name(file.path),
                    );
                    self.list_value(id, &file.root, level + 1);
                }
                self.close(b'}', level, first);
            }
        }
    }

    /// A list value: the array of the root's items, or `{"$root": …}`.
    fn list_value(&mut self, id: SectionId, root: &Element, level: usize) {
        let item_name = id.item_name();
        if shape::is_plain_list(root, item_name) {
            let item_ctx = Ctx::root(id).child(item_name);
            self.array_of(&root.children, item_ctx, level);
        } else {
            self.root_fallback(root, Ctx::root(id), level);
        }
    }

    /// `{"$root": <root as a generic object>}`.
    fn root_fallback(&mut self, root: &Element, ctx: Ctx, level: usize) {
        self.out.push(b'{');
        let mut first = true;
        self.member(&mut first, level + 1, ROOT_MEMBER);
        self.element(root, ctx, level + 1);
        self.close(b'}', level, false);
    }

    /// An array of generic objects.
    fn array_of(&mut self, elements: &[Element], ctx: Ctx, level: usize) {
        self.out.push(b'[');
        let mut first = true;
        for e in elements {
            self.entry(&mut first, level + 1);
            self.element(e, ctx, level + 1);
        }
        self.close(b']', level, first);
    }

    /// `pc_probes`: the root's attributes and the `credentials` array.
    fn pc_probes(&mut self, root: &Element, level: usize) {
        if !shape::is_plain_pc_probes(root) {
            self.root_fallback(root, Ctx::root(SectionId::PcProbes), level);
            return;
        }
        self.out.push(b'{');
        let mut first = true;
        for a in &root.attributes {
            let at = shape::pc_probes_attribute_needs_at(&a.name);
            self.member_maybe_at(&mut first, level + 1, &a.name, at);
            self.string(&a.value);
        }
        self.member(&mut first, level + 1, CREDENTIALS_MEMBER);
        let item_ctx = Ctx::root(SectionId::PcProbes).child(SectionId::PcProbes.item_name());
        self.array_of(&root.children, item_ctx, level + 1);
        self.close(b'}', level, false);
    }

    /// `session`: the one `config` object, `{}` for a bare `cache` root, or `{"$root": …}`.
    fn session(&mut self, root: &Element, level: usize) {
        if shape::session_is_bare(root) {
            self.out.extend_from_slice(b"{}");
            return;
        }
        let ctx = Ctx::root(SectionId::Session);
        match shape::plain_session_config(root) {
            Some(config) => self.element(config, ctx.child(&config.name), level),
            None => self.root_fallback(root, ctx, level),
        }
    }

    /// A generic element as an object; its opening brace goes where the cursor is, its members
    /// at `level + 1`.
    fn element(&mut self, e: &Element, ctx: Ctx, level: usize) {
        self.out.push(b'{');
        let mut first = true;
        let holder = ctx == Ctx::Holder;
        let shortcut = holder && shape::holder_uses_shortcut(e);
        for a in &e.attributes {
            let at = shape::has_reserved_prefix(&a.name)
                || shape::is_shortcut_member(ctx, &a.name)
                || e.children.iter().any(|c| c.name == a.name);
            self.member_maybe_at(&mut first, level + 1, &a.name, at);
            self.string(&a.value);
        }
        if let Some(text) = &e.text {
            self.member(&mut first, level + 1, TEXT_MEMBER);
            self.string(text);
        }
        let children = &e.children;
        if !shape::children_as_members(children) {
            // In order, one entry per child, so that no member name is written twice.
            self.member(&mut first, level + 1, CHILDREN_MEMBER);
            self.out.push(b'[');
            let mut first_entry = true;
            for child in children {
                self.entry(&mut first_entry, level + 2);
                self.out.push(b'{');
                let mut first_member = true;
                self.member(&mut first_member, level + 3, &child.name);
                match shortcut.then(|| shape::shortcut_secret(child)).flatten() {
                    Some(secret) => self.string(secret),
                    None => self.element(child, ctx.child(&child.name), level + 3),
                }
                self.close(b'}', level + 2, false);
            }
            self.close(b']', level + 1, first_entry);
            self.close(b'}', level, false);
            return;
        }
        let mut i = 0;
        while i < children.len() {
            let child = &children[i];
            let run = children[i..].iter().take_while(|c| c.name == child.name).count();
            self.member(&mut first, level + 1, &child.name);
            if let Some(secret) = shortcut.then(|| shape::shortcut_secret(child)).flatten() {
                self.string(secret);
            } else if run == 1 {
                self.element(child, ctx.child(&child.name), level + 1);
            } else {
                self.array_of(&children[i..i + run], ctx.child(&child.name), level + 1);
            }
            i += run;
        }
        self.close(b'}', level, first);
    }
}

/// For each byte: 0 if it is written as is, else the letter after the backslash (`u` for
/// `\u00XX`). The same escapes as serde_json.
static ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = b'u';
        b += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

/// A generous estimate of the output size, so that the buffer (which holds passwords) is
/// allocated once and never copied by growing.
fn estimate(export: &Export) -> usize {
    let mut n = 256;
    for a in &export.header.attributes {
        n += a.name.len() + a.value.len() + 16;
    }
    for section in export.configuration.sections() {
        n += 32;
        for file in &section.files {
            n += 64 + estimate_element(&file.root, 4);
        }
    }
    n + n / 8
}

/// The estimated size of `e` written at `level`.
fn estimate_element(e: &Element, level: usize) -> usize {
    let line = 2 * level + 8;
    let mut n = line + e.name.len() + 2 * level + 8;
    for a in &e.attributes {
        n += line + a.name.len() + a.value.len();
    }
    if let Some(t) = &e.text {
        n += line + t.len() + 8;
    }
    if shape::children_as_members(&e.children) {
        for c in &e.children {
            n += 2 * level + estimate_element(c, level + 1);
        }
    } else {
        // `"#children": [`, and per child its entry's braces, indents and deeper indent.
        n += line + CHILDREN_MEMBER.len() + 8;
        for c in &e.children {
            n += 6 * level + 16 + estimate_element(c, level + 3);
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::{Configuration, Header, PasswordsMode, Scope};

    fn json_string(s: &str) -> String {
        let mut w = Writer { out: Vec::new() };
        w.string(s);
        String::from_utf8(w.out).unwrap()
    }

    #[test]
    fn strings_escape_like_serde_json() {
        for s in ["", "plain", "q\"b\\s", "\u{0}\u{1f}\u{7f}\t\n\r\u{8}\u{c}", "é€😀", "</script>"]
        {
            assert_eq!(json_string(s), serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn empty_partial_bundle() {
        let export = Export {
            header: Header::new(Scope::Partial, PasswordsMode::Omitted, None, None, None),
            configuration: Configuration::new(),
        };
        let out = String::from_utf8(write_bundle(&export).unwrap()).unwrap();
        assert_eq!(
            out,
            "{\n  \"jims_export\": {\n    \"format_version\": 1,\n    \"scope\": \"partial\",\n    \
             \"passwords\": \"omitted\",\n    \"sections\": {}\n  }\n}\n"
        );
    }

    #[test]
    fn buffer_is_sized_once() {
        let export = samples::realistic_export(1);
        let estimate = estimate(&export);
        let out = write_bundle(&export).unwrap();
        assert!(estimate >= out.len(), "{estimate} < {}", out.len());
        assert!(estimate < out.len() * 3 / 2, "{estimate} is wasteful for {}", out.len());
        assert_eq!(out.capacity(), estimate);
    }

    #[test]
    fn deep_indent_does_not_panic() {
        let mut w = Writer { out: Vec::new() };
        w.indent(100);
        assert_eq!(w.out.len(), 200);
        assert!(w.out.iter().all(|&b| b == b' '));
    }
}
