//! A bundle: `<jims_export>`, its header (the root's attributes) and its `<section>`s, each
//! wrapping the root element of its native file (two `<xports>` for `transports`, named by
//! their `file` attribute).
//!
//! What is XML's own is here (the root's name, the `<section>` element and its `id`, text out
//! of place, the `file` attribute); the rules of a header, of section ids, of transports files
//! and of a full scope are [`model::read`]'s, placed at the attribute or element they concern.

use model::read::{ErrorKind, Refusal, header, sections};
use model::{Configuration, Element, Export, Header, Section, SectionFile, SectionId};
use quick_xml::events::BytesStart;

use super::At;
use super::lexer::{Lexer, Token, refuse_text};
use super::secrets::refuse_misplaced_secrets;
use super::tree::build_subtree;
use super::{BUNDLE_ROOT, FILE_ATTR, SECTION};

/// Parses a whole bundle.
pub(super) fn parse_bundle(bytes: &[u8]) -> Result<Export, Refusal> {
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
        return Err(Refusal::new(
            ErrorKind::WrongRoot,
            offset,
            format!(
                "the root element is <{name}>, but an XML bundle starts with <{BUNDLE_ROOT}>{hint}"
            ),
        ));
    }
    let mut offsets = Vec::new();
    let mut root = lx.open(&tag, offset, Some(&mut offsets))?;
    let header = Header { attributes: std::mem::take(&mut root.attributes) };
    check_header(&header, offset, &offsets)?;
    let attr_offset = |name: &str| {
        let i = header.attributes.iter().position(|a| a.name == name);
        i.and_then(|i| offsets.get(i).copied()).unwrap_or(offset)
    };

    let mut config = Configuration::new();
    if !empty {
        loop {
            match lx.next()? {
                Token::Start { tag, empty, offset } => {
                    let name = lx.name_of(&tag, offset)?;
                    if name != SECTION {
                        return Err(Refusal::new(
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
    sections::check_full_scope(&header, &config).at(attr_offset(header::SCOPE_FIELD))?;
    Ok(Export { header, configuration: config })
}

/// Checks the header, the attributes of `<jims_export>` (its start tag at `root_offset`, the
/// value of the i-th attribute at `offsets[i]`): `format_version` must be there, then every
/// field in order ([`header::check_field`]), then the fields of a sealed bundle together.
fn check_header(header: &Header, root_offset: usize, offsets: &[usize]) -> Result<(), Refusal> {
    if header.format_version().is_none() {
        return Err(Refusal::new(
            ErrorKind::UnsupportedVersion,
            root_offset,
            format!(
                "<{BUNDLE_ROOT}> has no format_version attribute; this jimsctl reads version \
                 {v} (format_version=\"{v}\")",
                v = model::export::FORMAT_VERSION
            ),
        ));
    }
    let offset = |i: Option<usize>| i.and_then(|i| offsets.get(i).copied()).unwrap_or(root_offset);
    for (i, a) in header.attributes.iter().enumerate() {
        header::check_field(&a.name, &a.value).at(offset(Some(i)))?;
    }
    let first =
        header.attributes.iter().position(|a| model::sealed_to::is_sealed_to_field(&a.name));
    header::check_sealed_to(header).at(offset(first))
}

/// Reads one `<section>` (its start tag already read) into `config`.
fn read_section(
    lx: &mut Lexer<'_>,
    tag: &BytesStart<'_>,
    empty: bool,
    offset: usize,
    config: &mut Configuration,
) -> Result<(), Refusal> {
    let mut offsets = Vec::new();
    let element = lx.open(tag, offset, Some(&mut offsets))?;
    let mut id = None;
    for (attr, &at) in element.attributes.iter().zip(&offsets) {
        if attr.name == "id" {
            id = Some((attr.value.as_str(), at));
        } else {
            return Err(Refusal::new(
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
        return Err(Refusal::new(
            ErrorKind::InvalidSection,
            offset,
            format!("a <{SECTION}> without an id attribute"),
        ));
    };
    let id = sections::section_id(id_text).at(id_offset)?;
    sections::check_new_section(config, id).at(offset)?;
    let root_name = id.root_name();
    let mut files: Vec<SectionFile> = Vec::new();
    let mut root_offsets: Vec<usize> = Vec::new();
    if !empty {
        loop {
            match lx.next()? {
                Token::Start { tag, empty, offset } => {
                    let name = lx.name_of(&tag, offset)?;
                    if name != root_name {
                        return Err(Refusal::new(
                            ErrorKind::WrongRoot,
                            offset,
                            format!("section {id} must hold <{root_name}>, but holds <{name}>"),
                        ));
                    }
                    if id != SectionId::Transports && !files.is_empty() {
                        return Err(Refusal::new(
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
                        transports_path(&mut root, &files, offset)?
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
        return Err(Refusal::new(
            ErrorKind::InvalidSection,
            offset,
            format!(
                "section {id} holds no <{root_name}> element (an empty section is written \
                 <{SECTION} id=\"{id}\"><{root_name}/></{SECTION}>)"
            ),
        ));
    }
    let section = Section { id, files };
    refuse_misplaced_secrets(lx.input(), &section, &root_offsets)?;
    config.insert(section);
    Ok(())
}

/// Takes the `file` attribute off a bundle's `<xports>` (its start tag at `offset`) and returns
/// the native path it names, which `files` must not hold yet.
fn transports_path(
    root: &mut Element,
    files: &[SectionFile],
    offset: usize,
) -> Result<&'static str, Refusal> {
    let Some(file) = root.attr(FILE_ATTR) else {
        return Err(Refusal::new(
            ErrorKind::InvalidSection,
            offset,
            format!(
                "an <xports> in section transports lacks its file attribute ({})",
                sections::transports_file_names(" or ")
            ),
        ));
    };
    let path = sections::transports_file(file).at(offset)?;
    sections::check_new_transports_file(files, path).at(offset)?;
    root.remove_attr(FILE_ATTR);
    Ok(path)
}
