//! Reading: the XML bundle and native section files, on quick-xml's borrowing slice reader.
//!
//! The input is checked once up front (size, encoding, NUL and control bytes, UTF-8), so that
//! every later slice of it is known to be text. Tokens borrow from the input; the element tree
//! is built with an explicit stack, never recursing on the input's depth. Errors carry the byte
//! offset at which they were found and are turned into a line and column on the way out.

use model::element::is_secret_attribute;
use model::name::check_xml_name;
use model::{
    Attribute, Configuration, Element, Export, Header, PasswordsMode, Scope, Section, SectionFile,
    SectionId,
};
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, errors::IllFormedError, errors::SyntaxError};

use crate::error::{Error, ErrorKind, Fail, line_column};
use crate::escape::{Place, unescape};
use crate::{MAX_ATTRIBUTES, MAX_DEPTH, MAX_INPUT_BYTES, MAX_VALUE_BYTES};

/// The UTF-8 byte order mark, accepted (and skipped) at the start of an input.
pub(crate) const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The root element of a bundle.
pub(crate) const BUNDLE_ROOT: &str = "jims_export";
/// The element that wraps one section in a bundle.
pub(crate) const SECTION: &str = "section";
/// The attribute that names a transports file in a bundle.
pub(crate) const FILE_ATTR: &str = "file";

/// Reads an XML bundle (`<jims_export>`) into an export.
///
/// Every element, attribute and value is kept in order, unknown ones included; comments,
/// processing instructions and the whitespace between elements are not. Errors carry the line
/// and column of the problem; set the file with [`Error::with_path`].
pub fn read_bundle(bytes: &[u8]) -> Result<Export, Error> {
    parse_bundle(bytes).map_err(|f| f.locate(bytes))
}

/// Reads the native file `path` (relative to `cwd/`, one of [`SectionId::native_files`]) of
/// `section`: its root element must be [`SectionId::root_name`].
pub fn read_native_file(
    section: SectionId,
    path: &'static str,
    bytes: &[u8],
) -> Result<SectionFile, Error> {
    if !section.native_files().contains(&path) {
        return Err(Error::new(
            ErrorKind::NotNativeFile,
            format!(
                "{path} is not a native file of section {section} (its files: {})",
                section.native_files().join(", ")
            ),
        ));
    }
    parse_native(section, path, bytes).map_err(|f| f.locate(bytes))
}

fn parse_native(section: SectionId, path: &'static str, bytes: &[u8]) -> Result<SectionFile, Fail> {
    let mut lx = Lexer::new(bytes)?;
    let (tag, empty, offset) = lx.root()?;
    let name = lx.name_of(&tag, offset)?;
    if name != section.root_name() {
        return Err(Fail::new(
            ErrorKind::WrongRoot,
            offset,
            format!(
                "the root element is <{name}>, but the native file {path} of section {section} \
                 has <{}>",
                section.root_name()
            ),
        ));
    }
    let root = build_subtree(&mut lx, &tag, empty, offset, 1)?;
    if section == SectionId::Transports && root.attr(FILE_ATTR).is_some() {
        return Err(Fail::new(
            ErrorKind::InvalidSection,
            offset,
            "the <xports> of a native transports file may not carry a 'file' attribute: the \
             bundle uses it to name the file",
        ));
    }
    lx.finish(section.root_name())?;
    let section = Section { id: section, files: vec![SectionFile { path, root }] };
    refuse_misplaced_secrets(bytes, &section, &[offset])?;
    let Section { mut files, .. } = section;
    files.pop().map(Ok).unwrap_or_else(|| Err(no_open_element(offset)))
}

fn parse_bundle(bytes: &[u8]) -> Result<Export, Fail> {
    let mut lx = Lexer::new(bytes)?;
    let (tag, empty, offset) = lx.root()?;
    let name = lx.name_of(&tag, offset)?;
    if name != BUNDLE_ROOT {
        let hint = match SectionId::ALL.into_iter().find(|s| s.root_name() == name) {
            Some(s) => format!(
                " (<{name}> is the root of the native file of section {s}; a server folder \
                 holds such files under cwd/)"
            ),
            None => String::new(),
        };
        return Err(Fail::new(
            ErrorKind::WrongRoot,
            offset,
            format!(
                "the root element is <{name}>, but an XML bundle starts with <{BUNDLE_ROOT}>{hint}"
            ),
        ));
    }
    let mut offsets = Vec::new();
    let root = lx.open(&tag, offset, Some(&mut offsets))?;
    let header = Header { attributes: root.attributes.clone() };
    let attr_offset =
        |name: &str| root.attributes.iter().position(|a| a.name == name).map(|i| offsets[i]);
    check_header(&header, offset, &attr_offset)?;
    if let Some(a) = header.attributes.iter().find(|a| is_secret_attribute(&a.name)) {
        return Err(Fail::new(
            ErrorKind::MisplacedSecret,
            attr_offset(&a.name).unwrap_or(offset),
            format!(
                "<{BUNDLE_ROOT}> carries a {} attribute, but the header of a bundle holds no \
                 password; jimsctl would pass it on unsealed, so it refuses it: remove it",
                a.name
            ),
        ));
    }

    let mut config = Configuration::new();
    if !empty {
        loop {
            match lx.next()? {
                Token::Start { tag, empty, offset } => {
                    let name = lx.name_of(&tag, offset)?;
                    if name != SECTION {
                        return Err(Fail::new(
                            ErrorKind::UnexpectedContent,
                            offset,
                            format!(
                                "unexpected element <{name}> in <{BUNDLE_ROOT}>: only <{SECTION}> \
                                 elements belong there"
                            ),
                        ));
                    }
                    read_section(&mut lx, &tag, empty, offset, &mut config)?;
                }
                Token::Text { raw, offset, cdata } => {
                    refuse_text(raw, offset, cdata, &format!("in <{BUNDLE_ROOT}>"))?;
                }
                Token::End => break,
                Token::Eof { offset: end } => return Err(lx.unclosed(BUNDLE_ROOT, offset, end)),
            }
        }
    }
    lx.finish(BUNDLE_ROOT)?;

    if header.scope() == Some(Scope::Full) && !config.is_full() {
        let missing: Vec<&str> = SectionId::ALL
            .into_iter()
            .filter(|s| !config.contains(*s))
            .map(SectionId::as_str)
            .collect();
        return Err(Fail::new(
            ErrorKind::MissingSections,
            attr_offset("scope").unwrap_or(offset),
            format!(
                "the bundle says scope=\"full\" but lacks the section{} {}; a full bundle holds \
                 every section (or say scope=\"partial\")",
                if missing.len() == 1 { "" } else { "s" },
                missing.join(", ")
            ),
        ));
    }
    Ok(Export { header, configuration: config })
}

/// Checks `format_version`, `scope` and `passwords` of a bundle's header.
fn check_header(
    header: &Header,
    root_offset: usize,
    attr_offset: &dyn Fn(&str) -> Option<usize>,
) -> Result<(), Fail> {
    match header.format_version() {
        None => {
            return Err(Fail::new(
                ErrorKind::UnsupportedVersion,
                root_offset,
                format!(
                    "<{BUNDLE_ROOT}> has no format_version attribute; this jimsctl reads version \
                     {v} (format_version=\"{v}\")",
                    v = model::export::FORMAT_VERSION
                ),
            ));
        }
        Some(v) if v != model::export::FORMAT_VERSION => {
            return Err(Fail::new(
                ErrorKind::UnsupportedVersion,
                attr_offset("format_version").unwrap_or(root_offset),
                format!(
                    "unknown format_version {}; this jimsctl reads version {}",
                    shown(v),
                    model::export::FORMAT_VERSION
                ),
            ));
        }
        Some(_) => {}
    }
    if let Some(v) = header.get("scope")
        && Scope::parse(v).is_none()
    {
        return Err(Fail::new(
            ErrorKind::InvalidHeader,
            attr_offset("scope").unwrap_or(root_offset),
            format!("invalid scope {}: it must be \"full\" or \"partial\"", quoted(v)),
        ));
    }
    if let Some(v) = header.get("passwords")
        && PasswordsMode::parse(v).is_none()
    {
        return Err(Fail::new(
            ErrorKind::InvalidHeader,
            attr_offset("passwords").unwrap_or(root_offset),
            format!("invalid passwords {}: it must be \"included\" or \"omitted\"", quoted(v)),
        ));
    }
    // The fields of a bundle sealed to recipients (`export --to`): their shape only; the import
    // checks that they are authentic.
    if let Err(e) = header.sealed_to() {
        let first =
            header.attributes.iter().find(|a| model::sealed_to::is_sealed_to_field(&a.name));
        return Err(Fail::new(
            ErrorKind::InvalidHeader,
            first.and_then(|a| attr_offset(&a.name)).unwrap_or(root_offset),
            format!("{e}; the header of a sealed bundle cannot be edited, export it again"),
        ));
    }
    Ok(())
}

/// Reads one `<section>` (its start tag already read) into `config`.
fn read_section(
    lx: &mut Lexer<'_>,
    tag: &BytesStart<'_>,
    empty: bool,
    offset: usize,
    config: &mut Configuration,
) -> Result<(), Fail> {
    let mut offsets = Vec::new();
    let element = lx.open(tag, offset, Some(&mut offsets))?;
    let mut id = None;
    for (attr, &at) in element.attributes.iter().zip(&offsets) {
        if attr.name == "id" {
            id = Some((attr.value.as_str(), at));
        } else {
            return Err(Fail::new(
                ErrorKind::InvalidSection,
                at,
                format!(
                    "unexpected attribute '{}' on <{SECTION}>: a section carries only its id",
                    attr.name
                ),
            ));
        }
    }
    let Some((id_text, id_offset)) = id else {
        return Err(Fail::new(
            ErrorKind::InvalidSection,
            offset,
            format!("a <{SECTION}> without an id attribute"),
        ));
    };
    let Some(id) = SectionId::parse(id_text) else {
        let known: Vec<&str> = SectionId::ALL.into_iter().map(SectionId::as_str).collect();
        return Err(Fail::new(
            ErrorKind::UnknownSection,
            id_offset,
            format!(
                "unknown section id {}; the sections are {}",
                quoted(id_text),
                known.join(", ")
            ),
        ));
    };
    if config.contains(id) {
        return Err(Fail::new(
            ErrorKind::DuplicateSection,
            offset,
            format!("section {id} appears twice in the bundle"),
        ));
    }
    let root_name = id.root_name();
    let mut files: Vec<SectionFile> = Vec::new();
    let mut root_offsets: Vec<usize> = Vec::new();
    if !empty {
        loop {
            match lx.next()? {
                Token::Start { tag, empty, offset } => {
                    let name = lx.name_of(&tag, offset)?;
                    if name != root_name {
                        return Err(Fail::new(
                            ErrorKind::WrongRoot,
                            offset,
                            format!("section {id} must hold <{root_name}>, but holds <{name}>"),
                        ));
                    }
                    if id != SectionId::Transports && !files.is_empty() {
                        return Err(Fail::new(
                            ErrorKind::UnexpectedContent,
                            offset,
                            format!(
                                "section {id} holds a second <{root_name}>; a section wraps \
                                 exactly one root element"
                            ),
                        ));
                    }
                    let mut root = build_subtree(lx, &tag, empty, offset, 3)?;
                    let path = if id == SectionId::Transports {
                        transport_path(&mut root, &files, offset)?
                    } else {
                        id.native_files()[0]
                    };
                    files.push(SectionFile { path, root });
                    root_offsets.push(offset);
                }
                Token::Text { raw, offset, cdata } => {
                    refuse_text(raw, offset, cdata, &format!("in <{SECTION} id=\"{id}\">"))?;
                }
                Token::End => break,
                Token::Eof { offset: end } => return Err(lx.unclosed(SECTION, offset, end)),
            }
        }
    }
    if files.is_empty() && id != SectionId::Transports {
        return Err(Fail::new(
            ErrorKind::InvalidSection,
            offset,
            format!(
                "section {id} holds no <{root_name}> element (an empty section is written \
                 <{SECTION} id=\"{id}\"><{root_name}/></{SECTION}>)"
            ),
        ));
    }
    let section = Section { id, files };
    refuse_misplaced_secrets(lx.input, &section, &root_offsets)?;
    config.insert(section);
    Ok(())
}

/// Fails on the first `password` or `fswSpi1` attribute or `<password>` element of `section`
/// that is not one of its secret fields ([`model::misplaced`]), at its line and column.
/// `roots` are the offsets of the start tags of the section's root elements in `input`.
fn refuse_misplaced_secrets(input: &[u8], section: &Section, roots: &[usize]) -> Result<(), Fail> {
    let Some(m) = model::misplaced_secrets(section).into_iter().next() else { return Ok(()) };
    let root = roots.get(m.file).copied().unwrap_or(0);
    let at = locate(input, root, &m.path, m.attribute()).unwrap_or(root);
    Err(Fail::new(ErrorKind::MisplacedSecret, at, m.to_string()))
}

/// The offset in `input` of the element at `path` (indices of children, as in the model) under
/// the root element whose start tag is at `root`; with `attribute`, of that attribute in the
/// element's start tag. Only called on the way to an error, over input already parsed once.
fn locate(input: &[u8], root: usize, path: &[usize], attribute: Option<&str>) -> Option<usize> {
    let slice = input.get(root..)?;
    let mut reader = Reader::from_reader(slice);
    reader.config_mut().trim_text(false);
    // `open` elements are open; the first `matched` of them lie on `path` (the root counts as
    // one), and `seen[k]` counts the children met so far of the k-th of those.
    let (mut open, mut matched) = (0usize, 0usize);
    let mut seen: Vec<usize> = Vec::new();
    loop {
        let start = reader.buffer_position() as usize;
        let (tag, empty) = match reader.read_event().ok()? {
            Event::Start(t) => (t, false),
            Event::Empty(t) => (t, true),
            Event::End(_) => {
                if open == matched {
                    matched = matched.checked_sub(1)?;
                    seen.pop();
                }
                open = open.checked_sub(1)?;
                if open == 0 {
                    return None;
                }
                continue;
            }
            Event::Eof => return None,
            _ => continue,
        };
        let here = if open == 0 {
            path.is_empty()
        } else if open == matched {
            let counter = seen.last_mut()?;
            let index = *counter;
            *counter += 1;
            let on_path = path.get(matched - 1) == Some(&index);
            if on_path && matched == path.len() {
                true
            } else {
                if on_path && !empty {
                    matched += 1;
                    seen.push(0);
                    open += 1;
                }
                if !on_path && !empty {
                    open += 1;
                }
                continue;
            }
        } else {
            if !empty {
                open += 1;
            }
            continue;
        };
        if here {
            let at = root + start;
            let Some(name) = attribute else { return Some(at) };
            return Some(attribute_offset(&tag, name).map_or(at, |i| at + 1 + i));
        }
        if empty {
            return None;
        }
        // The root, when the path goes below it.
        open = 1;
        matched = 1;
        seen.push(0);
    }
}

/// The offset of the attribute `name` in the start tag `tag`, counted from just after its `<`.
fn attribute_offset(tag: &BytesStart<'_>, name: &str) -> Option<usize> {
    let raw: &[u8] = tag.as_ref();
    let n = name.len();
    (1..raw.len().saturating_sub(n)).find(|&i| {
        is_ws_byte(raw[i - 1])
            && &raw[i..i + n] == name.as_bytes()
            && raw[i + n..].iter().find(|b| !is_ws_byte(**b)) == Some(&b'=')
    })
}

/// Takes the `file` attribute off a bundle's `<xports>` and returns its native path.
fn transport_path(
    root: &mut Element,
    files: &[SectionFile],
    offset: usize,
) -> Result<&'static str, Fail> {
    let natives = SectionId::Transports.native_files();
    let names: Vec<&str> = natives.iter().map(|p| file_name(p)).collect();
    let Some(file) = root.attr(FILE_ATTR) else {
        return Err(Fail::new(
            ErrorKind::InvalidSection,
            offset,
            format!(
                "an <xports> in section transports lacks its file attribute ({})",
                names.join(" or ")
            ),
        ));
    };
    let Some(&path) = natives.iter().find(|p| file_name(p) == file) else {
        return Err(Fail::new(
            ErrorKind::InvalidSection,
            offset,
            format!("an <xports> has file={}; it must be {}", quoted(file), names.join(" or ")),
        ));
    };
    if files.iter().any(|f| f.path == path) {
        return Err(Fail::new(
            ErrorKind::InvalidSection,
            offset,
            format!("section transports holds two <xports> for {file}"),
        ));
    }
    root.remove_attr(FILE_ATTR);
    Ok(path)
}

/// The last part of a native path: `config/clients_http.xml` → `clients_http.xml`.
pub(crate) fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Fails on text that is not whitespace where only elements belong.
fn refuse_text(raw: &str, offset: usize, cdata: bool, place: &str) -> Result<(), Fail> {
    if cdata || !is_whitespace(raw) {
        let at = raw.bytes().position(|b| !is_ws_byte(b)).unwrap_or(0);
        return Err(Fail::new(
            ErrorKind::UnexpectedContent,
            offset + at,
            format!("text {place} is not allowed; only elements belong there"),
        ));
    }
    Ok(())
}

/// A value or name as shown in a message: quoted, shortened, control characters escaped.
fn quoted(v: &str) -> String {
    model::text::quoted(v)
}

/// A value shown bare when it is short and plain, else quoted.
fn shown(v: &str) -> String {
    if !v.is_empty() && v.len() <= 20 && v.bytes().all(|b| b.is_ascii_graphic() && b != b'"') {
        v.to_owned()
    } else {
        quoted(v)
    }
}

fn is_ws_byte(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn is_whitespace(s: &str) -> bool {
    s.bytes().all(is_ws_byte)
}

fn trim_ws(s: &str) -> &str {
    s.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))
}

/// Checks that the input can be text: size, encoding, NUL and control bytes, UTF-8. Returns
/// the input as a string.
fn check_input(input: &[u8]) -> Result<&str, Fail> {
    if input.len() > MAX_INPUT_BYTES {
        return Err(Fail::new(
            ErrorKind::TooLarge,
            0,
            format!(
                "the input is {} bytes, more than the {} MiB this reader accepts",
                input.len(),
                MAX_INPUT_BYTES >> 20
            ),
        ));
    }
    if input.starts_with(b"\xFE\xFF") || input.starts_with(b"\xFF\xFE") {
        return Err(Fail::new(
            ErrorKind::Encoding,
            0,
            "the input starts with a UTF-16 byte order mark; only UTF-8 is accepted",
        ));
    }
    let control = first_control_byte(input);
    let utf8 = std::str::from_utf8(input);
    let bad_utf8 = utf8.as_ref().err().map(|e| e.valid_up_to());
    match (control, bad_utf8) {
        (Some(c), b) if b.is_none_or(|b| c < b) => {
            let byte = input[c];
            if byte == 0 && c < 2 && input.len() >= 2 {
                return Err(Fail::new(
                    ErrorKind::Encoding,
                    c,
                    "the input holds NUL bytes and looks like UTF-16; only UTF-8 is accepted",
                ));
            }
            let what = if byte == 0 {
                "a NUL byte".to_owned()
            } else {
                format!("the control byte 0x{byte:02X}")
            };
            Err(Fail::new(
                ErrorKind::Binary,
                c,
                format!("the input holds {what}: it is binary data, not XML text"),
            ))
        }
        (_, Some(b)) => Err(Fail::new(
            ErrorKind::InvalidUtf8,
            b,
            "the input is not valid UTF-8 (an invalid byte sequence starts here); only UTF-8 is \
             accepted",
        )),
        _ => Ok(utf8.unwrap_or_default()),
    }
}

/// The offset of the first byte below 0x20 other than tab, newline and carriage return.
fn first_control_byte(input: &[u8]) -> Option<usize> {
    let bad = |b: u8| (b < 0x20) & (b != b'\t') & (b != b'\n') & (b != b'\r');
    let mut start = 0;
    for chunk in input.chunks(64) {
        // Branch-free test per chunk (vectorises), then find the byte in the rare bad chunk.
        if chunk.iter().fold(false, |acc, &b| acc | bad(b)) {
            return chunk.iter().position(|&b| bad(b)).map(|p| start + p);
        }
        start += chunk.len();
    }
    None
}

/// A token of the input, comments, processing instructions and the declaration skipped.
enum Token<'a> {
    /// A start tag (`empty` for `<x/>`), at the offset of its `<`.
    Start { tag: BytesStart<'a>, empty: bool, offset: usize },
    /// An end tag (quick-xml has checked that it matches the open element).
    End,
    /// Text, raw (references not decoded), or the content of a CDATA section.
    Text { raw: &'a str, offset: usize, cdata: bool },
    /// The end of the input, at its offset.
    Eof { offset: usize },
}

/// The tokenizer: quick-xml's slice reader over the checked input.
struct Lexer<'a> {
    /// The whole input.
    input: &'a [u8],
    text: &'a str,
    reader: Reader<&'a [u8]>,
    /// Length of the byte order mark skipped: quick-xml's offsets start after it.
    base: usize,
    seen_any: bool,
    /// Scratch space of the tree builder, kept to be reused.
    scratch: Vec<Element>,
    /// Scratch space for the attributes of one start tag.
    attributes: Vec<Attribute>,
    /// Scratch space for their names.
    keys: Vec<&'a str>,
}

impl<'a> Lexer<'a> {
    fn new(input: &'a [u8]) -> Result<Lexer<'a>, Fail> {
        let text = check_input(input)?;
        let base = if input.starts_with(UTF8_BOM) { UTF8_BOM.len() } else { 0 };
        let mut reader = Reader::from_reader(&input[base..]);
        let config = reader.config_mut();
        config.trim_text(false);
        config.check_end_names = true;
        config.check_comments = false;
        config.expand_empty_elements = false;
        config.allow_unmatched_ends = false;
        Ok(Lexer {
            input,
            text,
            reader,
            base,
            seen_any: false,
            scratch: Vec::new(),
            attributes: Vec::new(),
            keys: Vec::new(),
        })
    }

    /// The offset of `s` in the input, when `s` borrows from it.
    fn offset_of(&self, s: &[u8]) -> Option<usize> {
        let off = (s.as_ptr() as usize).checked_sub(self.input.as_ptr() as usize)?;
        (off.checked_add(s.len())? <= self.input.len()).then_some(off)
    }

    /// `s`, which borrows from the input, as text with the input's lifetime, and its offset.
    /// `fallback` is the offset used for an empty `s`.
    fn sub(&self, s: &[u8], fallback: usize) -> Result<(&'a str, usize), Fail> {
        if s.is_empty() {
            return Ok(("", fallback));
        }
        self.offset_of(s)
            .and_then(|off| Some((self.text.get(off..off + s.len())?, off)))
            .ok_or_else(|| {
                Fail::new(
                    ErrorKind::Syntax,
                    fallback,
                    "internal error: a token is not in the input",
                )
            })
    }

    /// The next token.
    fn next(&mut self) -> Result<Token<'a>, Fail> {
        loop {
            let start = self.base + self.reader.buffer_position() as usize;
            let event = match self.reader.read_event() {
                Ok(e) => e,
                Err(e) => return Err(self.xml_error(e)),
            };
            let first = !self.seen_any;
            self.seen_any = true;
            match event {
                Event::Start(tag) => return Ok(Token::Start { tag, empty: false, offset: start }),
                Event::Empty(tag) => return Ok(Token::Start { tag, empty: true, offset: start }),
                Event::End(_) => return Ok(Token::End),
                Event::Text(t) => {
                    let (raw, offset) = self.sub(&t, start)?;
                    if raw.is_empty() {
                        continue;
                    }
                    return Ok(Token::Text { raw, offset, cdata: false });
                }
                Event::CData(c) => {
                    let (raw, offset) = self.sub(&c, start)?;
                    return Ok(Token::Text { raw, offset, cdata: true });
                }
                Event::Comment(_) | Event::PI(_) => {}
                Event::Decl(decl) => {
                    if !first {
                        return Err(Fail::new(
                            ErrorKind::Syntax,
                            start,
                            "an XML declaration (<?xml …?>) may only stand at the very start of \
                             the input",
                        ));
                    }
                    if let Some(Ok(enc)) = decl.encoding()
                        && !enc.eq_ignore_ascii_case(b"UTF-8")
                    {
                        let shown = String::from_utf8_lossy(&enc);
                        return Err(Fail::new(
                            ErrorKind::Encoding,
                            start,
                            format!(
                                "the XML declaration says encoding={}; only UTF-8 is accepted",
                                quoted(&shown)
                            ),
                        ));
                    }
                }
                Event::DocType(_) => return Err(doctype(start)),
                Event::Eof => return Ok(Token::Eof { offset: self.input.len() }),
            }
        }
    }

    /// Skips to the root element; fails on text or the end of the input.
    fn root(&mut self) -> Result<(BytesStart<'a>, bool, usize), Fail> {
        loop {
            match self.next()? {
                Token::Start { tag, empty, offset } => return Ok((tag, empty, offset)),
                Token::Text { raw, offset, cdata } => {
                    refuse_text(raw, offset, cdata, "before the root element")?;
                }
                Token::End | Token::Eof { .. } => {
                    return Err(Fail::new(
                        ErrorKind::Syntax,
                        self.input.len(),
                        "the input holds no XML element",
                    ));
                }
            }
        }
    }

    /// After the root element: only whitespace, comments and processing instructions.
    fn finish(&mut self, root: &str) -> Result<(), Fail> {
        loop {
            match self.next()? {
                Token::Eof { .. } => return Ok(()),
                Token::Text { raw, offset, cdata } => {
                    refuse_text(raw, offset, cdata, &format!("after the end of <{root}>"))?;
                }
                Token::Start { tag, offset, .. } => {
                    let name = self.name_of(&tag, offset)?;
                    return Err(Fail::new(
                        ErrorKind::UnexpectedContent,
                        offset,
                        format!(
                            "a second root element <{name}> after <{root}>: a document has \
                             exactly one root"
                        ),
                    ));
                }
                Token::End => {
                    return Err(Fail::new(
                        ErrorKind::Syntax,
                        self.input.len(),
                        "an unmatched end tag",
                    ));
                }
            }
        }
    }

    /// The error for the input ending while `name` (opened at `open`) is not closed.
    fn unclosed(&self, name: &str, open: usize, end: usize) -> Fail {
        let (line, column) = line_column(self.input, open);
        Fail::new(
            ErrorKind::Syntax,
            end,
            format!(
                "the input ends before <{name}> (opened at line {line}, column {column}) is \
                 closed: it is truncated or a tag is not closed"
            ),
        )
    }

    /// A quick-xml error, at the position quick-xml reports.
    fn xml_error(&self, e: quick_xml::Error) -> Fail {
        let at = self.base + self.reader.error_position() as usize;
        let (kind, message) = match e {
            quick_xml::Error::Syntax(s) => match s {
                SyntaxError::UnclosedDoctype => return doctype(at),
                SyntaxError::InvalidBangMarkup => (
                    ErrorKind::Syntax,
                    "'<!' starts neither a comment, a CDATA section nor a DOCTYPE".to_owned(),
                ),
                SyntaxError::UnclosedPIOrXmlDecl => (
                    ErrorKind::Syntax,
                    "a processing instruction or XML declaration is not closed (no '?>' before \
                     the end of the input)"
                        .to_owned(),
                ),
                SyntaxError::UnclosedComment => (
                    ErrorKind::Syntax,
                    "a comment is not closed (no '-->' before the end of the input)".to_owned(),
                ),
                SyntaxError::UnclosedCData => (
                    ErrorKind::Syntax,
                    "a CDATA section is not closed (no ']]>' before the end of the input)"
                        .to_owned(),
                ),
                SyntaxError::UnclosedTag => (
                    ErrorKind::Syntax,
                    "a tag is not closed (no '>' before the end of the input): the input is \
                     truncated or malformed"
                        .to_owned(),
                ),
            },
            quick_xml::Error::IllFormed(i) => match i {
                IllFormedError::MissingDoctypeName => return doctype(at),
                IllFormedError::MismatchedEndTag { expected, found } => (
                    ErrorKind::Syntax,
                    format!("the end tag </{found}> does not close the open element <{expected}>"),
                ),
                IllFormedError::UnmatchedEndTag(found) => {
                    (ErrorKind::Syntax, format!("the end tag </{found}> has no matching start tag"))
                }
                IllFormedError::MissingDeclVersion(_) => (
                    ErrorKind::Syntax,
                    "the XML declaration must start with version=\"1.0\"".to_owned(),
                ),
                other => (ErrorKind::Syntax, format!("malformed XML: {other}")),
            },
            other => (ErrorKind::Syntax, format!("malformed XML: {other}")),
        };
        Fail::new(kind, at, message)
    }

    /// The checked name of a start tag at `offset` (see [`model::name`]).
    fn name_of(&self, tag: &BytesStart<'_>, offset: usize) -> Result<&'a str, Fail> {
        let (name, at) = self.sub(tag.name().as_ref(), offset + 1)?;
        if let Err(why) = check_xml_name(name) {
            return Err(Fail::new(
                ErrorKind::Syntax,
                at,
                if name.is_empty() {
                    "a tag without an element name".to_owned()
                } else {
                    format!("{} is not a valid element name: {why}", quoted(name))
                },
            ));
        }
        Ok(name)
    }

    /// An element from a start tag at `offset`: its name and attributes, values decoded,
    /// duplicates refused. When `offsets` is given, it receives each attribute's offset.
    fn open(
        &mut self,
        tag: &BytesStart<'_>,
        offset: usize,
        offsets: Option<&mut Vec<usize>>,
    ) -> Result<Element, Fail> {
        let name = self.name_of(tag, offset)?;
        let (raw, raw_at) = self.sub(tag.attributes_raw(), offset + 1 + name.len())?;
        // Attributes are gathered in a reused list, then moved into one allocation of the
        // exact size.
        let mut attributes = std::mem::take(&mut self.attributes);
        let mut keys = std::mem::take(&mut self.keys);
        attributes.clear();
        keys.clear();
        let read = read_attributes(raw, raw_at, name, &mut attributes, &mut keys, offsets);
        let mut exact = Vec::with_capacity(attributes.len());
        exact.append(&mut attributes);
        let element =
            Element { name: name.to_owned(), attributes: exact, children: Vec::new(), text: None };
        self.attributes = attributes;
        self.keys = keys;
        read.map(|()| element)
    }
}

fn doctype(at: usize) -> Fail {
    Fail::new(ErrorKind::Doctype, at, "DOCTYPE and entity declarations are not accepted")
}

/// Reads the attributes in `raw` (the part of a start tag after the element's name, at offset
/// `at`) into `attributes`, values decoded, duplicates refused. `keys` receives the names
/// (borrowed from the input) and `offsets`, when given, the offset of each value.
fn read_attributes<'a>(
    raw: &'a str,
    at: usize,
    element: &str,
    attributes: &mut Vec<Attribute>,
    keys: &mut Vec<&'a str>,
    mut offsets: Option<&mut Vec<usize>>,
) -> Result<(), Fail> {
    let b = raw.as_bytes();
    let syntax = |i: usize, what: &str| {
        Fail::new(ErrorKind::Syntax, at + i, format!("{what} (in <{element}>)"))
    };
    let mut seen: Option<std::collections::HashSet<&'a str>> = None;
    let mut i = 0;
    loop {
        let before = i;
        while i < b.len() && is_ws_byte(b[i]) {
            i += 1;
        }
        if i == b.len() {
            return Ok(());
        }
        if i == before && !keys.is_empty() {
            return Err(syntax(i, "attributes must be separated by whitespace"));
        }
        let key_at = i;
        while i < b.len() && !is_ws_byte(b[i]) && b[i] != b'=' {
            i += 1;
        }
        let key = &raw[key_at..i];
        if let Err(why) = check_xml_name(key) {
            return Err(Fail::new(
                ErrorKind::Syntax,
                at + key_at,
                format!("{} is not a valid attribute name (in <{element}>): {why}", quoted(key)),
            ));
        }
        while i < b.len() && is_ws_byte(b[i]) {
            i += 1;
        }
        if b.get(i) != Some(&b'=') {
            return Err(syntax(key_at + key.len(), "an attribute name must be followed by '='"));
        }
        i += 1;
        while i < b.len() && is_ws_byte(b[i]) {
            i += 1;
        }
        let quote = match b.get(i) {
            Some(&q @ (b'"' | b'\'')) => q,
            Some(_) => return Err(syntax(i, "an attribute value must be in quotes")),
            None => return Err(syntax(i, "an attribute has '=' but no value")),
        };
        let value_at = i + 1;
        let Some(len) = b[value_at..].iter().position(|&c| c == quote) else {
            return Err(syntax(i, "an attribute value is not closed by its quote"));
        };
        let value = &raw[value_at..value_at + len];
        i = value_at + len + 1;
        if len > MAX_VALUE_BYTES {
            return Err(Fail::new(
                ErrorKind::TooBig,
                at + value_at,
                format!(
                    "the value of the attribute '{key}' of <{element}> is {} KiB long; values \
                     longer than {} KiB are refused",
                    len >> 10,
                    MAX_VALUE_BYTES >> 10
                ),
            ));
        }
        if keys.len() == MAX_ATTRIBUTES {
            return Err(Fail::new(
                ErrorKind::TooBig,
                at + key_at,
                format!(
                    "<{element}> carries more than {MAX_ATTRIBUTES} attributes; this reader \
                     refuses that"
                ),
            ));
        }

        let duplicate = match &mut seen {
            Some(set) => !set.insert(key),
            None if keys.len() < 16 => keys.contains(&key),
            None => {
                // Many attributes: switch to a set.
                let mut set: std::collections::HashSet<&'a str> = keys.iter().copied().collect();
                let dup = !set.insert(key);
                seen = Some(set);
                dup
            }
        };
        if duplicate {
            return Err(Fail::new(
                ErrorKind::DuplicateAttribute,
                at + key_at,
                format!("<{element}> carries the attribute '{key}' twice"),
            ));
        }
        keys.push(key);
        let secret = is_secret_attribute(key);
        let value = unescape(value, at + value_at, Place::Attribute { name: key, secret })?;
        if let Some(o) = offsets.as_deref_mut() {
            o.push(at + value_at);
        }
        attributes.push(Attribute { name: key.to_owned(), value: value.into_owned() });
    }
}

/// An element being built: its attributes and children so far, and its text.
struct Frame<'a> {
    element: Element,
    /// Where its start tag is, for the "not closed" error.
    offset: usize,
    /// Its text so far: finished runs (trimmed) and the current run.
    text: String,
    /// Where the current run of text (since the last child tag) starts in `text`.
    run_start: usize,
    /// Whitespace that opened the current run, kept aside until the run holds more.
    pending: Option<&'a str>,
    has_children: bool,
    /// Where its finished children start in the builder's scratch list.
    children_start: usize,
}

impl<'a> Frame<'a> {
    fn new(element: Element, offset: usize, children_start: usize) -> Frame<'a> {
        Frame {
            element,
            offset,
            text: String::new(),
            run_start: 0,
            pending: None,
            has_children: false,
            children_start,
        }
    }

    fn push_text(&mut self, raw: &'a str, offset: usize, cdata: bool) -> Result<(), Fail> {
        if !cdata && is_whitespace(raw) && self.text.len() == self.run_start {
            // Whitespace at the start of a run: usually indentation between elements.
            match self.pending {
                None => self.pending = Some(raw),
                Some(p) => {
                    self.text.push_str(p);
                    self.text.push_str(raw);
                    self.pending = None;
                }
            }
            return self.check_text_len(offset);
        }
        if let Some(p) = self.pending.take() {
            self.text.push_str(p);
        }
        if cdata {
            self.text.push_str(raw);
        } else {
            let secret = self.element.name == "password";
            let place = Place::Text { name: &self.element.name, secret };
            let decoded = unescape(raw, offset, place)?;
            self.text.push_str(&decoded);
        }
        self.check_text_len(offset)
    }

    /// Fails once the element's text is longer than [`MAX_VALUE_BYTES`].
    fn check_text_len(&self, offset: usize) -> Result<(), Fail> {
        if self.text.len() > MAX_VALUE_BYTES {
            return Err(Fail::new(
                ErrorKind::TooBig,
                offset,
                format!(
                    "the text of <{}> is longer than {} KiB; this reader refuses that",
                    self.element.name,
                    MAX_VALUE_BYTES >> 10
                ),
            ));
        }
        Ok(())
    }

    /// Ends the current run of text; in an element with children, runs are trimmed.
    fn end_run(&mut self) {
        self.pending = None;
        let run = &self.text[self.run_start..];
        let trimmed = trim_ws(run);
        if trimmed.len() != run.len() {
            let lead = trimmed.as_ptr() as usize - run.as_ptr() as usize;
            let end = self.run_start + lead + trimmed.len();
            self.text.truncate(end);
            self.text.drain(self.run_start..self.run_start + lead);
        }
        self.run_start = self.text.len();
    }

    fn begin_child(&mut self) {
        self.end_run();
        self.has_children = true;
    }

    /// The finished element; its children are taken off the end of `done` (so that each
    /// children list is allocated once, at its exact size).
    fn finish(mut self, done: &mut Vec<Element>) -> Element {
        if self.has_children {
            self.end_run();
            self.element.children = done.drain(self.children_start..).collect();
        }
        if !self.text.is_empty() && !is_whitespace(&self.text) {
            self.element.text = Some(self.text);
        }
        self.element
    }
}

/// Builds the element whose start tag (at `offset`, at nesting `depth`, 1 for the root) was
/// just read, with everything up to its end tag. Iterative: the input's depth never reaches
/// the call stack.
fn build_subtree<'a>(
    lx: &mut Lexer<'a>,
    tag: &BytesStart<'_>,
    empty: bool,
    offset: usize,
    depth: usize,
) -> Result<Element, Fail> {
    let too_deep = |offset: usize| {
        Fail::new(
            ErrorKind::TooDeep,
            offset,
            format!("elements are nested deeper than {MAX_DEPTH} levels; this reader refuses that"),
        )
    };
    if depth > MAX_DEPTH {
        return Err(too_deep(offset));
    }
    let element = lx.open(tag, offset, None)?;
    if empty {
        return Ok(element);
    }
    let mut stack: Vec<Frame<'a>> = Vec::with_capacity(8);
    // Finished elements waiting for their parent's end tag, reused across calls.
    let mut done = std::mem::take(&mut lx.scratch);
    done.clear();
    stack.push(Frame::new(element, offset, 0));
    loop {
        match lx.next()? {
            Token::Start { tag, empty, offset } => {
                if depth + stack.len() > MAX_DEPTH {
                    return Err(too_deep(offset));
                }
                let child = lx.open(&tag, offset, None)?;
                let Some(parent) = stack.last_mut() else { return Err(no_open_element(offset)) };
                parent.begin_child();
                if empty {
                    done.push(child);
                } else {
                    stack.push(Frame::new(child, offset, done.len()));
                }
            }
            Token::End => {
                let Some(frame) = stack.pop() else { return Err(no_open_element(offset)) };
                let element = frame.finish(&mut done);
                if stack.is_empty() {
                    lx.scratch = done;
                    return Ok(element);
                }
                done.push(element);
            }
            Token::Text { raw, offset, cdata } => {
                let Some(frame) = stack.last_mut() else { return Err(no_open_element(offset)) };
                frame.push_text(raw, offset, cdata)?;
            }
            Token::Eof { offset: end } => {
                let (name, open) =
                    stack.last().map(|f| (f.element.name.clone(), f.offset)).unwrap_or_default();
                return Err(lx.unclosed(&name, open, end));
            }
        }
    }
}

/// The stack of open elements is never empty inside the loop; this keeps that a checked fact
/// rather than a panic.
fn no_open_element(offset: usize) -> Fail {
    Fail::new(ErrorKind::Syntax, offset, "internal error: no open element")
}

/// Decoded text of a run, for tests.
#[cfg(test)]
fn text_of(xml: &str) -> Option<String> {
    parse_native(SectionId::Session, "config/cache.xml", xml.as_bytes()).unwrap().root.text.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaf_text_is_kept_verbatim_and_mixed_text_trimmed() {
        assert_eq!(text_of("<cache>  a &amp; b </cache>").as_deref(), Some("  a & b "));
        assert_eq!(text_of("<cache> <![CDATA[x<y]]> z</cache>").as_deref(), Some(" x<y z"));
        assert_eq!(text_of("<cache>\n  \n</cache>"), None);
        assert_eq!(
            text_of("<cache>\n  foo\n  <a/>\n  bar <b/>\n</cache>").as_deref(),
            Some("foobar")
        );
        assert_eq!(text_of("<cache><!-- c --> x <!-- d --></cache>").as_deref(), Some(" x "));
    }

    #[test]
    fn control_bytes_are_found_in_any_chunk() {
        let mut v = vec![b'a'; 200];
        assert_eq!(first_control_byte(&v), None);
        v[130] = 1;
        assert_eq!(first_control_byte(&v), Some(130));
        v[5] = 0;
        assert_eq!(first_control_byte(&v), Some(5));
        assert_eq!(first_control_byte(b"\t\r\n"), None);
    }
}
