//! Reading: the XML bundle and native section files, on quick-xml's borrowing slice reader.
//!
//! The input is checked once up front (size, encoding, NUL and control bytes, UTF-8), so that
//! every later slice of it is known to be text. Tokens borrow from the input; the element tree
//! is built with an explicit stack, never recursing on the input's depth. Errors carry the byte
//! offset at which they were found ([`Refusal`]) and are turned into a line and column on the
//! way out. The rules that are no XML's own (limits, header fields, section ids, full scope,
//! passwords outside their field) are [`model::read`]'s, called here.
//!
//! The modules, in the order a bundle meets them:
//! - [`lexer`]: the input check and the tokens (start tags, end tags, text), quick-xml's
//!   errors in our words;
//! - [`attributes`]: a start tag's attributes, decoded and bounded;
//! - [`tree`]: a section's root element and everything below it, built without recursion;
//! - [`bundle`]: `<jims_export>`, its header and its `<section>`s;
//! - [`secrets`]: where a password outside its field is, for its line and column.

mod attributes;
mod bundle;
mod lexer;
mod secrets;
mod tree;

use model::read::{Error, ErrorKind, Refusal};
use model::{SectionFile, SectionId};

use self::lexer::Lexer;
use self::secrets::refuse_misplaced_secrets;
use self::tree::build_subtree;

/// Places the refusal of one of [`model::read`]'s rules at a byte offset of the input.
trait At<T> {
    /// The value, or the refusal at `offset`.
    fn at(self, offset: usize) -> Result<T, Refusal>;
}

impl<T> At<T> for Result<T, Error> {
    fn at(self, offset: usize) -> Result<T, Refusal> {
        self.map_err(|error| Refusal { error, offset })
    }
}

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
pub fn read_bundle(bytes: &[u8]) -> Result<model::Export, Error> {
    model::read::check_size(bytes.len() as u64)?;
    bundle::parse_bundle(bytes).map_err(|f| f.locate(bytes))
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
    model::read::check_size(bytes.len() as u64)?;
    parse_native(section, path, bytes).map_err(|f| f.locate(bytes))
}

fn parse_native(
    section: SectionId,
    path: &'static str,
    bytes: &[u8],
) -> Result<SectionFile, Refusal> {
    let mut lx = Lexer::new(bytes)?;
    let (tag, empty, offset) = lx.root()?;
    let name = lx.name_of(&tag, offset)?;
    if name != section.root_name() {
        return Err(Refusal::new(
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
        return Err(Refusal::new(
            ErrorKind::InvalidSection,
            offset,
            "the <xports> of a native transports file may not carry a 'file' attribute: the \
             bundle uses it to name the file",
        ));
    }
    lx.finish(section.root_name())?;
    let mut section = model::Section { id: section, files: vec![SectionFile { path, root }] };
    refuse_misplaced_secrets(bytes, &section, &[offset])?;
    Ok(section.files.swap_remove(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text of the root element of a native `cache.xml`.
    fn text_of(xml: &str) -> Option<String> {
        let file = parse_native(SectionId::Session, "config/cache.xml", xml.as_bytes());
        file.unwrap().root.text.clone()
    }

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
}
