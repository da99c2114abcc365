//! The JSON bundle reader: serde visitors that build the model's types as serde_json parses,
//! with no intermediate `serde_json::Value` tree.
//!
//! Errors found by the visitors are recorded in [`State`] (kind, message, and the member path,
//! which each enclosing visitor extends as the error travels out); serde_json then supplies the
//! line and column where parsing stopped.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::fmt;

use model::name::check_xml_name;
use model::{Attribute, Configuration, Element, Export, Header, PasswordsMode, Scope};
use model::{Section, SectionFile, SectionId};
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use crate::error::{Error, ErrorKind};
use crate::shape::{
    self, CHILDREN_MEMBER, CREDENTIALS_MEMBER, Ctx, FSW_ATTRIBUTE, PASSWORD, ROOT_MEMBER,
    SECTIONS_MEMBER, Shape, TEXT_MEMBER, TOP_MEMBER,
};
use crate::{MAX_ATTRIBUTES, MAX_DEPTH, MAX_INPUT_BYTES, MAX_VALUE_BYTES};

/// The byte-order mark some Windows tools put at the start of a UTF-8 file.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Reads a JSON bundle into an export.
///
/// Accepts input of at most [`MAX_INPUT_BYTES`], in UTF-8 (a leading byte-order mark is
/// skipped), nested at most [`MAX_DEPTH`] levels. Every problem is an [`Error`] with the line
/// and column where it was found; values of the wrong type are named by their member path,
/// e.g. `sections.event_sources[3].domain_controller.server`. Never panics on any input.
///
/// The header may leave out any member (a bundle written by hand), `format_version`
/// included; a header member given twice is refused, as XML refuses a repeated attribute.
/// Member names of elements may repeat: each is one more attribute or child, in order. An
/// element's `#children` (an array of one-member objects) adds its children in order, where it
/// stands; it may be given once per element.
pub fn read_bundle(bytes: &[u8]) -> Result<Export, Error> {
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(Error::new(
            ErrorKind::TooLarge,
            format!(
                "the bundle is {} bytes, more than the {} MiB this jimsctl reads; split it into \
                 partial bundles",
                bytes.len(),
                MAX_INPUT_BYTES / (1024 * 1024)
            ),
        ));
    }
    let (bytes, bom) = match bytes.strip_prefix(BOM) {
        Some(rest) => (rest, true),
        None => (bytes, false),
    };
    let text = std::str::from_utf8(bytes).map_err(|e| utf8_error(bytes, e.valid_up_to(), bom))?;
    let state = State::default();
    let mut de = serde_json::Deserializer::from_str(text);
    let result = BundleSeed { st: &state }.deserialize(&mut de).and_then(|export| {
        de.end()?;
        Ok(export)
    });
    result.map_err(|e| state.into_error(&e, bom))
}

/// The error for input that is not UTF-8, at the first bad byte.
fn utf8_error(bytes: &[u8], offset: usize, bom: bool) -> Error {
    let before = &bytes[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let mut column = (offset - line_start) as u64 + 1;
    if bom && line == 1 {
        column += BOM.len() as u64;
    }
    Error::new(
        ErrorKind::InvalidUtf8,
        format!(
            "the bundle is not valid UTF-8 (byte {}); save it as UTF-8",
            offset + if bom { BOM.len() } else { 0 }
        ),
    )
    .at(line, column)
}

/// One step of a member path.
#[derive(Debug)]
enum Seg {
    /// An object member.
    Key(String),
    /// An array entry.
    Index(usize),
}

/// An error found by a visitor, waiting for its position.
#[derive(Debug)]
struct Pending {
    kind: ErrorKind,
    message: String,
    /// The member path, innermost first.
    path: Vec<Seg>,
}

/// What the visitors share: the recorded error and the current depth.
#[derive(Default)]
struct State {
    pending: RefCell<Option<Pending>>,
    depth: Cell<usize>,
}

impl State {
    /// Records an error and returns the serde error that carries it out.
    fn fail<E: de::Error>(&self, kind: ErrorKind, message: impl Into<String>) -> E {
        *self.pending.borrow_mut() =
            Some(Pending { kind, message: message.into(), path: Vec::new() });
        E::custom("jimsctl bundle error")
    }

    /// The error for a value of the wrong JSON type.
    fn wrong_type<E: de::Error>(&self, expected: &str, found: &str) -> E {
        let hint = if expected == STRING && found != "an array" && found != "an object" {
            "; write every value as a JSON string (\"8080\", \"true\")"
        } else {
            ""
        };
        self.fail(ErrorKind::Shape, format!("expected {expected}, found {found}{hint}"))
    }

    /// Adds the member `key` to the path of a recorded error.
    fn in_key<T, E>(&self, result: Result<T, E>, key: &str) -> Result<T, E> {
        if result.is_err()
            && let Some(p) = self.pending.borrow_mut().as_mut()
        {
            p.path.push(Seg::Key(key.to_owned()));
        }
        result
    }

    /// Adds the array index `index` to the path of a recorded error.
    fn in_index<T, E>(&self, result: Result<T, E>, index: usize) -> Result<T, E> {
        if result.is_err()
            && let Some(p) = self.pending.borrow_mut().as_mut()
        {
            p.path.push(Seg::Index(index));
        }
        result
    }

    /// Enters an object or array; fails beyond [`MAX_DEPTH`].
    fn enter<E: de::Error>(&self) -> Result<(), E> {
        let depth = self.depth.get() + 1;
        if depth > MAX_DEPTH {
            return Err(self.fail(
                ErrorKind::TooDeep,
                format!("objects and arrays nest deeper than {MAX_DEPTH} levels"),
            ));
        }
        self.depth.set(depth);
        Ok(())
    }

    /// Fails when a string value is longer than [`MAX_VALUE_BYTES`] or holds a NUL character
    /// (`\u0000`), which no XML file can hold: such a value could be stored but never written
    /// back. The value itself is never shown (it may be a password).
    fn check_value<E: de::Error>(&self, v: &str) -> Result<(), E> {
        if v.contains('\0') {
            return Err(self.fail(
                ErrorKind::NulCharacter,
                "the value holds a NUL character (\\u0000), which no XML file can hold and JIMS \
                 cannot read; remove it",
            ));
        }
        if v.len() > MAX_VALUE_BYTES {
            return Err(self.fail(
                ErrorKind::TooBig,
                format!(
                    "a value of {} KiB; values longer than {} KiB are refused",
                    v.len() >> 10,
                    MAX_VALUE_BYTES >> 10
                ),
            ));
        }
        Ok(())
    }

    /// Fails unless `name`, given as the member `key`, is a valid element or attribute name
    /// ([`model::name`], the rule the XML reader applies).
    fn check_name<E: de::Error>(&self, name: &str, key: &str) -> Result<(), E> {
        let Err(why) = check_xml_name(name) else { return Ok(()) };
        let hint = if key.starts_with(['#', '$']) || name.starts_with('@') {
            format!(
                "; the only members that start with # or $ are {TEXT_MEMBER}, {CHILDREN_MEMBER} \
                 and {ROOT_MEMBER}, and @ marks an attribute once"
            )
        } else {
            String::new()
        };
        Err(self.fail(
            ErrorKind::InvalidName,
            format!(
                "the member {} does not name a valid XML element or attribute: {why}{hint}",
                model::text::quoted(key)
            ),
        ))
    }

    /// Fails when an element holds more than [`MAX_ATTRIBUTES`] attributes.
    /// Adds `attribute` to `e`, refusing a name `e` already has (`"a"` and `"@a"` both name the
    /// attribute `a`, and XML cannot hold it twice), then [`State::check_attributes`].
    fn push_attribute<E: de::Error>(&self, e: &mut Element, attribute: Attribute) -> Result<(), E> {
        if e.attributes.iter().any(|a| a.name == attribute.name) {
            return Err(self.fail(
                ErrorKind::Shape,
                format!(
                    "the element {} has the attribute {} twice (a member and an @member name \
                     the same attribute); keep one",
                    e.name, attribute.name
                ),
            ));
        }
        e.attributes.push(attribute);
        self.check_attributes(e)
    }

    fn check_attributes<E: de::Error>(&self, e: &Element) -> Result<(), E> {
        if e.attributes.len() > MAX_ATTRIBUTES {
            return Err(self.fail(
                ErrorKind::TooBig,
                format!(
                    "the element {} has more than {MAX_ATTRIBUTES} attributes; this reader \
                     refuses that",
                    e.name
                ),
            ));
        }
        Ok(())
    }

    /// Leaves an object or array.
    fn leave(&self) {
        self.depth.set(self.depth.get() - 1);
    }

    /// The final error: the recorded one, or serde_json's own, at serde_json's position.
    fn into_error(self, e: &serde_json::Error, bom: bool) -> Error {
        let line = e.line() as u64;
        let mut column = e.column() as u64;
        if bom && line == 1 {
            column += BOM.len() as u64;
        }
        let error = match self.pending.into_inner() {
            Some(p) => {
                let message = if p.path.is_empty() {
                    p.message
                } else {
                    format!("{}: {}", format_path(&p.path), p.message)
                };
                Error::new(p.kind, message)
            }
            None => syntax_error(e),
        };
        error.at(line, column)
    }
}

/// The member path of the element of a misplaced secret below `sections`, outermost first, as
/// in `srx_clients[0].oAuth`: the section, the item's index in its array, then the names of
/// the elements below it.
fn member_path(section: &Section, m: &model::Misplaced) -> Vec<Seg> {
    let mut path = vec![Seg::Key(section.id.as_str().to_owned())];
    let file = section.files.get(m.file);
    if let Some(f) = file
        && section.id == SectionId::Transports
    {
        path.push(Seg::Key(shape::transport_key(f.path).to_owned()));
    }
    // The first step below the root, as the writer's shape for the section writes it.
    let first = |root: &Element, index: usize, child: &Element| -> Vec<Seg> {
        match Shape::of(section.id) {
            Shape::List | Shape::Transports
                if shape::is_plain_list(root, section.id.item_name()) =>
            {
                vec![Seg::Index(index)]
            }
            Shape::PcProbes if shape::is_plain_pc_probes(root) => {
                vec![Seg::Key(CREDENTIALS_MEMBER.to_owned()), Seg::Index(index)]
            }
            Shape::Session if shape::plain_session_config(root).is_some() => Vec::new(),
            _ => vec![Seg::Key(ROOT_MEMBER.to_owned()), Seg::Key(child.name.clone())],
        }
    };
    let mut element = file.map(|f| &f.root);
    for (depth, &index) in m.path.iter().enumerate() {
        let Some(parent) = element else { break };
        let Some(child) = parent.children.get(index) else { break };
        if depth == 0 {
            path.extend(first(parent, index, child));
        } else {
            path.push(Seg::Key(child.name.clone()));
        }
        element = Some(child);
    }
    path
}

/// `sections.event_sources[3].domain_controller.server` from an innermost-first path.
fn format_path(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path.iter().rev() {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(i) => {
                s.push('[');
                s.push_str(&i.to_string());
                s.push(']');
            }
        }
    }
    s
}

/// An error serde_json found by itself: malformed JSON, truncated input, too deep.
fn syntax_error(e: &serde_json::Error) -> Error {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full);
    if message.starts_with("recursion limit exceeded") {
        return Error::new(
            ErrorKind::TooDeep,
            format!("objects and arrays nest deeper than {MAX_DEPTH} levels"),
        );
    }
    let hint = if e.is_eof() { "; the file looks truncated" } else { "" };
    Error::new(ErrorKind::Syntax, format!("malformed JSON: {message}{hint}"))
}

/// Implements the visitor methods for the JSON types a visitor does not accept, as errors
/// naming what was expected (`self.expected()`) and what was found. Never the value itself:
/// it may be a password.
macro_rules! reject {
    (scalars) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Err(self.st.wrong_type(&self.expected(), "a boolean"))
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Err(self.st.wrong_type(&self.expected(), "a number"))
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Err(self.st.wrong_type(&self.expected(), "a number"))
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Err(self.st.wrong_type(&self.expected(), "a number"))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Err(self.st.wrong_type(&self.expected(), "null"))
        }
    };
    (str) => {
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Err(self.st.wrong_type(&self.expected(), "a string"))
        }
    };
    (seq) => {
        fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
            Err(self.st.wrong_type(&self.expected(), "an array"))
        }
    };
    (map) => {
        fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
            Err(self.st.wrong_type(&self.expected(), "an object"))
        }
    };
}

/// A member name, borrowed from the input when it has no escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// A string value.
#[derive(Clone, Copy)]
struct StringSeed<'s> {
    st: &'s State,
}

/// What a string value is called in messages.
const STRING: &str = "a string";

impl StringSeed<'_> {
    fn expected(&self) -> &'static str {
        STRING
    }
}

impl<'de> DeserializeSeed<'de> for StringSeed<'_> {
    type Value = String;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StringSeed<'_> {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expected())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        self.st.check_value(v)?;
        Ok(v.to_owned())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        self.st.check_value(&v)?;
        Ok(v)
    }
    reject!(scalars);
    reject!(seq);
    reject!(map);
}

/// The top level: `{"jims_export": {…}}`.
struct BundleSeed<'s> {
    st: &'s State,
}

impl BundleSeed<'_> {
    fn expected(&self) -> &'static str {
        "an object with the member jims_export"
    }
}

impl<'de> DeserializeSeed<'de> for BundleSeed<'_> {
    type Value = Export;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for BundleSeed<'_> {
    type Value = Export;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expected())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Export, A::Error> {
        self.st.enter()?;
        let mut export = None;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            if key != TOP_MEMBER {
                return Err(self.st.fail(
                    ErrorKind::Shape,
                    format!(
                        "expected an object with the member jims_export only, found the member \
                         {key:?}"
                    ),
                ));
            }
            if export.is_some() {
                return Err(self.st.fail(
                    ErrorKind::Shape,
                    "expected an object with the member jims_export once, found it twice",
                ));
            }
            // Member paths in messages start below jims_export, as in
            // `sections.event_sources[3].domain_controller.server`.
            export = Some(map.next_value_seed(ExportSeed { st: self.st })?);
        }
        self.st.leave();
        export.ok_or_else(|| {
            self.st.fail(ErrorKind::Shape, "expected an object with the member jims_export")
        })
    }
    reject!(scalars);
    reject!(str);
    reject!(seq);
}

/// The value of `jims_export`: header members and `sections`.
struct ExportSeed<'s> {
    st: &'s State,
}

impl ExportSeed<'_> {
    fn expected(&self) -> &'static str {
        "an object with the header members and sections"
    }
}

impl<'de> DeserializeSeed<'de> for ExportSeed<'_> {
    type Value = Export;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ExportSeed<'_> {
    type Value = Export;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expected())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Export, A::Error> {
        let st = self.st;
        st.enter()?;
        let mut header = Header::default();
        let mut configuration = None;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            if key == SECTIONS_MEMBER {
                if configuration.is_some() {
                    return Err(st.fail(
                        ErrorKind::Shape,
                        "jims_export has the member sections twice; merge them into one",
                    ));
                }
                let value = map.next_value_seed(SectionsSeed { st });
                configuration = Some(st.in_key(value, SECTIONS_MEMBER)?);
                continue;
            }
            let name = match key.strip_prefix('@') {
                Some(name) => name.to_owned(),
                None => key.to_string(),
            };
            st.check_name(&name, &key)?;
            if model::element::is_secret_attribute(&name) {
                return Err(st.fail(
                    ErrorKind::MisplacedSecret,
                    format!(
                        "the header member {name}: the header of a bundle holds no password; \
                         jimsctl would pass it on unsealed, so it refuses it: remove it"
                    ),
                ));
            }
            if header.attributes.iter().any(|a| a.name == name) {
                return Err(st.fail(
                    ErrorKind::InvalidHeader,
                    format!("the header member {name} is given twice; keep one"),
                ));
            }
            let value = if name == "format_version" {
                map.next_value_seed(VersionSeed { st })?
            } else {
                let value = map.next_value_seed(StringSeed { st });
                let value = st.in_key(value, &name)?;
                check_header_value(st, &name, &value)?;
                value
            };
            header.attributes.push(Attribute::new(name, value));
        }
        st.leave();
        // The fields of a bundle sealed to recipients (`export --to`): their shape only; the
        // import checks that they are authentic.
        if let Err(e) = header.sealed_to() {
            return Err(st.fail(
                ErrorKind::InvalidHeader,
                format!("{e}; the header of a sealed bundle cannot be edited, export it again"),
            ));
        }
        let Some(configuration) = configuration else {
            return Err(st.fail(
                ErrorKind::Shape,
                "jims_export has no member sections; add \"sections\": {} with the sections",
            ));
        };
        if header.scope() == Some(Scope::Full) && !configuration.is_full() {
            let missing: Vec<&str> = SectionId::ALL
                .into_iter()
                .filter(|id| !configuration.contains(*id))
                .map(SectionId::as_str)
                .collect();
            return Err(st.fail(
                ErrorKind::MissingSections,
                format!(
                    "scope is full but the sections {} are missing; add them (an empty list \
                     section is []) or set scope to partial",
                    missing.join(", ")
                ),
            ));
        }
        Ok(Export { header, configuration })
    }
    reject!(scalars);
    reject!(str);
    reject!(seq);
}

/// Checks the header members whose values are closed sets.
fn check_header_value<E: de::Error>(st: &State, name: &str, value: &str) -> Result<(), E> {
    match name {
        "scope" if Scope::parse(value).is_none() => Err(st.fail(
            ErrorKind::InvalidHeader,
            format!("invalid scope {value:?}; expected \"full\" or \"partial\""),
        )),
        "passwords" if PasswordsMode::parse(value).is_none() => Err(st.fail(
            ErrorKind::InvalidHeader,
            format!("invalid passwords {value:?}; expected \"included\" or \"omitted\""),
        )),
        _ => Ok(()),
    }
}

/// `format_version`: the number 1 or the string `"1"`.
struct VersionSeed<'s> {
    st: &'s State,
}

impl VersionSeed<'_> {
    fn expected(&self) -> &'static str {
        "the number 1"
    }
    fn check<E: de::Error>(&self, shown: &str) -> Result<String, E> {
        if shown == model::export::FORMAT_VERSION {
            Ok(shown.to_owned())
        } else {
            Err(self.st.fail(
                ErrorKind::UnsupportedVersion,
                format!(
                    "unknown format_version {shown}; this jimsctl reads version {}",
                    model::export::FORMAT_VERSION
                ),
            ))
        }
    }
}

impl<'de> DeserializeSeed<'de> for VersionSeed<'_> {
    type Value = String;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for VersionSeed<'_> {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expected())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        self.check(&v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        self.check(&v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        // 1.0 is not the integer 1: refuse it, shown as written.
        self.check(&format!("{v:?}"))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        let shown =
            if v == model::export::FORMAT_VERSION { v.to_owned() } else { format!("{v:?}") };
        self.check(&shown)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<String, E> {
        Err(self.st.wrong_type(self.expected(), "a boolean"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        Err(self.st.wrong_type(self.expected(), "null"))
    }
    reject!(seq);
    reject!(map);
}

/// The value of `sections`: section id → section value.
struct SectionsSeed<'s> {
    st: &'s State,
}

impl SectionsSeed<'_> {
    fn expected(&self) -> &'static str {
        "an object with one member per section"
    }
}

impl<'de> DeserializeSeed<'de> for SectionsSeed<'_> {
    type Value = Configuration;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for SectionsSeed<'_> {
    type Value = Configuration;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expected())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Configuration, A::Error> {
        let st = self.st;
        st.enter()?;
        let mut configuration = Configuration::new();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let Some(id) = SectionId::parse(&key) else {
                let valid: Vec<&str> = SectionId::ALL.iter().map(|s| s.as_str()).collect();
                return Err(st.fail(
                    ErrorKind::UnknownSection,
                    format!("unknown section id {key:?}; the valid ids are {}", valid.join(", ")),
                ));
            };
            if configuration.contains(id) {
                return Err(st.fail(
                    ErrorKind::DuplicateSection,
                    format!("the section {id} is given twice; keep one"),
                ));
            }
            let section = map.next_value_seed(SectionSeed { st, id });
            let section = st.in_key(section, id.as_str())?;
            if let Some(m) = model::misplaced_secrets(&section).into_iter().next() {
                let error = st.fail(ErrorKind::MisplacedSecret, m.to_string());
                if let Some(p) = st.pending.borrow_mut().as_mut() {
                    p.path.extend(member_path(&section, &m).into_iter().rev());
                }
                return Err(error);
            }
            configuration.insert(section);
        }
        st.leave();
        Ok(configuration)
    }
    reject!(scalars);
    reject!(str);
    reject!(seq);
}

/// The value of one section member.
struct SectionSeed<'s> {
    st: &'s State,
    id: SectionId,
}

impl<'de> DeserializeSeed<'de> for SectionSeed<'_> {
    type Value = Section;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        let (st, id) = (self.st, self.id);
        match Shape::of(id) {
            Shape::List => {
                let root = ListSeed { st, id }.deserialize(d)?;
                Ok(Section::single(id, root))
            }
            Shape::PcProbes => {
                let root = d.deserialize_any(PcProbesVisitor { st })?;
                Ok(Section::single(id, root))
            }
            Shape::Session => {
                let root = d.deserialize_any(SessionVisitor { st })?;
                Ok(Section::single(id, root))
            }
            Shape::Transports => {
                let files = d.deserialize_any(TransportsVisitor { st })?;
                Ok(Section { id, files })
            }
        }
    }
}

/// A list value: the array of a section's items, or `{"$root": …}`. Builds the root element.
struct ListSeed<'s> {
    st: &'s State,
    id: SectionId,
}

impl ListSeed<'_> {
    fn expected(&self) -> String {
        format!("an array of {} objects, or {{\"$root\": {{…}}}}", self.id.item_name())
    }
}

impl<'de> DeserializeSeed<'de> for ListSeed<'_> {
    type Value = Element;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ListSeed<'_> {
    type Value = Element;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expected())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Element, A::Error> {
        let st = self.st;
        st.enter()?;
        let mut root = self.id.empty_root();
        if let Some(n) = seq.size_hint() {
            root.children.reserve(n);
        }
        let item_name = self.id.item_name();
        let ctx = Ctx::root(self.id).child(item_name);
        loop {
            let index = root.children.len();
            let item = seq.next_element_seed(ElementSeed { st, ctx, name: item_name });
            match st.in_index(item, index)? {
                Some(item) => root.children.push(item),
                None => break,
            }
        }
        st.leave();
        Ok(root)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Element, A::Error> {
        let expected = self.expected();
        root_fallback(self.st, map, self.id, &expected)
    }
    reject!(scalars);
    reject!(str);
}

/// Reads `{"$root": {…}}` (the opening brace already read) into the section's root element.
fn root_fallback<'de, A: MapAccess<'de>>(
    st: &State,
    mut map: A,
    id: SectionId,
    expected: &str,
) -> Result<Element, A::Error> {
    st.enter()?;
    let mut root = None;
    while let Some(key) = map.next_key_seed(KeySeed)? {
        if key != ROOT_MEMBER || root.is_some() {
            return Err(st.fail(
                ErrorKind::Shape,
                format!("expected {expected}, found an object with the member {key:?}"),
            ));
        }
        let value =
            map.next_value_seed(ElementSeed { st, ctx: Ctx::root(id), name: id.root_name() });
        root = Some(st.in_key(value, ROOT_MEMBER)?);
    }
    st.leave();
    root.ok_or_else(|| st.wrong_type(expected, "an empty object"))
}

/// `pc_probes`: attributes and `credentials`, or `{"$root": …}`.
struct PcProbesVisitor<'s> {
    st: &'s State,
}

impl PcProbesVisitor<'_> {
    fn expected(&self) -> &'static str {
        "an object with the pc_probe attributes and a credentials array"
    }
}

impl<'de> Visitor<'de> for PcProbesVisitor<'_> {
    type Value = Element;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expected())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Element, A::Error> {
        let st = self.st;
        let id = SectionId::PcProbes;
        st.enter()?;
        let mut root = id.empty_root();
        let mut fallback: Option<Element> = None;
        let mut credentials_seen = false;
        let mut members = 0usize;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            members += 1;
            if key == ROOT_MEMBER {
                let value = map.next_value_seed(ElementSeed {
                    st,
                    ctx: Ctx::root(id),
                    name: id.root_name(),
                });
                fallback = Some(st.in_key(value, ROOT_MEMBER)?);
            } else if key == CREDENTIALS_MEMBER {
                if credentials_seen {
                    return Err(st.fail(
                        ErrorKind::Shape,
                        "the member credentials is given twice; merge the two arrays",
                    ));
                }
                credentials_seen = true;
                let value = map.next_value_seed(ChildrenSeed {
                    st,
                    ctx: Ctx::root(id).child(id.item_name()),
                    name: id.item_name(),
                    out: &mut root.children,
                });
                st.in_key(value, CREDENTIALS_MEMBER)?;
            } else if let Some(name) = key.strip_prefix('@') {
                st.check_name(name, &key)?;
                let value = map.next_value_seed(StringSeed { st });
                let value = st.in_key(value, &key)?;
                st.push_attribute(&mut root, Attribute::new(name, value))?;
            } else if key.starts_with('#') {
                return Err(st.fail(
                    ErrorKind::Shape,
                    format!(
                        "unexpected member {key:?}; write a pc_probe with text as \
                         {{\"$root\": {{…}}}}"
                    ),
                ));
            } else {
                st.check_name(&key, &key)?;
                let value = map.next_value_seed(StringSeed { st });
                let value = st.in_key(value, &key)?;
                st.push_attribute(&mut root, Attribute { name: key.into_owned(), value })?;
            }
            st.check_attributes(&root)?;
        }
        st.leave();
        match fallback {
            Some(_) if members > 1 => Err(st.fail(
                ErrorKind::Shape,
                "the member $root must be the only member when it is given",
            )),
            Some(root) => Ok(root),
            None => Ok(root),
        }
    }
    reject!(scalars);
    reject!(str);
    reject!(seq);
}

/// `session`: the `config` object, `{}` (a bare `cache` root), or `{"$root": …}`.
struct SessionVisitor<'s> {
    st: &'s State,
}

impl SessionVisitor<'_> {
    fn expected(&self) -> &'static str {
        "the config object"
    }
}

impl<'de> Visitor<'de> for SessionVisitor<'_> {
    type Value = Element;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expected())
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Element, A::Error> {
        let id = SectionId::Session;
        let ctx = Ctx::root(id).child(id.item_name());
        let mut config = Element::new(id.item_name());
        element_members(self.st, map, ctx, &mut config, true)?;
        if shape::is_bare(&config) {
            return Ok(id.empty_root());
        }
        if shape::looks_like_root_fallback(&config) {
            let mut root = config.children.pop().unwrap_or_default();
            root.name = id.root_name().to_owned();
            return Ok(root);
        }
        if config.children.iter().any(|c| c.name == ROOT_MEMBER) {
            return Err(self.st.fail(
                ErrorKind::Shape,
                "the member $root must be the only member when it is given",
            ));
        }
        let mut root = id.empty_root();
        root.children.push(config);
        Ok(root)
    }
    reject!(scalars);
    reject!(str);
    reject!(seq);
}

/// `transports`: native file name → list value.
struct TransportsVisitor<'s> {
    st: &'s State,
}

impl TransportsVisitor<'_> {
    fn expected(&self) -> String {
        format!("an object with the members {}", shape::transport_keys())
    }
}

impl<'de> Visitor<'de> for TransportsVisitor<'_> {
    type Value = Vec<SectionFile>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expected())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<SectionFile>, A::Error> {
        let st = self.st;
        st.enter()?;
        let mut files: Vec<SectionFile> = Vec::with_capacity(2);
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let Some(path) = shape::transport_path(&key) else {
                return Err(st.fail(
                    ErrorKind::UnknownSection,
                    format!(
                        "unknown transports file {key:?}; the valid names are {}",
                        shape::transport_keys()
                    ),
                ));
            };
            if files.iter().any(|f| f.path == path) {
                return Err(st.fail(
                    ErrorKind::DuplicateSection,
                    format!("the transports file {key} is given twice; keep one"),
                ));
            }
            let root = map.next_value_seed(ListSeed { st, id: SectionId::Transports });
            files.push(SectionFile { path, root: st.in_key(root, &key)? });
        }
        st.leave();
        Ok(files)
    }
    reject!(scalars);
    reject!(str);
    reject!(seq);
}

/// A generic element: an object, named `name`.
#[derive(Clone, Copy)]
struct ElementSeed<'s, 'n> {
    st: &'s State,
    ctx: Ctx,
    name: &'n str,
}

impl ElementSeed<'_, '_> {
    fn expected(&self) -> String {
        format!("an object (the element {})", self.name)
    }
}

impl<'de> DeserializeSeed<'de> for ElementSeed<'_, '_> {
    type Value = Element;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ElementSeed<'_, '_> {
    type Value = Element;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expected())
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Element, A::Error> {
        let mut e = Element::new(self.name);
        element_members(self.st, map, self.ctx, &mut e, false)?;
        Ok(e)
    }
    reject!(scalars);
    reject!(str);
    reject!(seq);
}

/// Reads the members of a generic element's object into `e`. With `root_fallback` (the
/// `session` object), a member `$root` is read as a child of that name, for the caller to
/// take as the section's root.
fn element_members<'de, A: MapAccess<'de>>(
    st: &State,
    mut map: A,
    ctx: Ctx,
    e: &mut Element,
    root_fallback: bool,
) -> Result<(), A::Error> {
    st.enter()?;
    let mut children_seen = false;
    while let Some(key) = map.next_key_seed(KeySeed)? {
        if let Some(name) = key.strip_prefix('@') {
            st.check_name(name, &key)?;
            let value = map.next_value_seed(StringSeed { st });
            let value = st.in_key(value, &key)?;
            st.push_attribute(e, Attribute::new(name, value))?;
        } else if key == TEXT_MEMBER {
            if e.text.is_some() {
                return Err(st.fail(
                    ErrorKind::Shape,
                    format!("the member #text is given twice in the element {}; keep one", e.name),
                ));
            }
            let value = map.next_value_seed(StringSeed { st });
            e.text = Some(st.in_key(value, &key)?);
        } else if key == CHILDREN_MEMBER {
            if children_seen {
                return Err(st.fail(
                    ErrorKind::Shape,
                    format!(
                        "the member #children is given twice in the element {}; merge the two \
                         arrays",
                        e.name
                    ),
                ));
            }
            children_seen = true;
            let value = map.next_value_seed(OrderedChildrenSeed { st, ctx, out: &mut e.children });
            st.in_key(value, &key)?;
        } else {
            if !(root_fallback && key == ROOT_MEMBER) {
                st.check_name(&key, &key)?;
            }
            let value = map.next_value_seed(MemberSeed {
                st,
                ctx: ctx.child(&key),
                name: &key,
                out: &mut e.children,
                strings: Strings::Attribute,
            });
            if let Some(value) = st.in_key(value, &key)? {
                if key == ROOT_MEMBER {
                    return Err(st.wrong_type("an object (the section's root element)", "a string"));
                }
                if shape::is_shortcut_member(ctx, &key) {
                    e.children.push(shortcut_password(value));
                } else {
                    st.push_attribute(e, Attribute { name: key.into_owned(), value })?;
                }
            }
        }
        st.check_attributes(e)?;
    }
    st.leave();
    Ok(())
}

/// The `<password fswSpi1="…"/>` child that the password shortcut's string stands for.
fn shortcut_password(secret: String) -> Element {
    let mut password = Element::new(PASSWORD);
    password.attributes.push(Attribute::new(FSW_ATTRIBUTE, secret));
    password
}

/// The value of `#children`: an array of one-member objects `{"name": {…}}`, each a child
/// element (or, for a run, `{"name": [{…}, …]}`), pushed onto `out` in order. In a holder, the
/// entry `{"password": "…"}` is the password shortcut.
struct OrderedChildrenSeed<'s, 'o> {
    st: &'s State,
    /// The context of the element whose children these are.
    ctx: Ctx,
    out: &'o mut Vec<Element>,
}

/// What `#children` and its entries are called in messages.
const CHILDREN_EXPECTED: &str = "an array of one-member objects, {\"name\": {…}} per child element";
const ENTRY_EXPECTED: &str = "an object with exactly one member, {\"name\": {…}}";

impl OrderedChildrenSeed<'_, '_> {
    fn expected(&self) -> &'static str {
        CHILDREN_EXPECTED
    }
}

impl<'de> DeserializeSeed<'de> for OrderedChildrenSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for OrderedChildrenSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expected())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let st = self.st;
        st.enter()?;
        let mut index = 0;
        loop {
            let entry = seq.next_element_seed(ChildEntrySeed { st, ctx: self.ctx, out: self.out });
            if st.in_index(entry, index)?.is_none() {
                break;
            }
            index += 1;
        }
        st.leave();
        Ok(())
    }
    reject!(scalars);
    reject!(str);
    reject!(map);
}

/// One entry of `#children`: `{"name": {…}}`.
struct ChildEntrySeed<'s, 'o> {
    st: &'s State,
    ctx: Ctx,
    out: &'o mut Vec<Element>,
}

impl ChildEntrySeed<'_, '_> {
    fn expected(&self) -> &'static str {
        ENTRY_EXPECTED
    }
}

impl<'de> DeserializeSeed<'de> for ChildEntrySeed<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ChildEntrySeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expected())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let st = self.st;
        st.enter()?;
        let Some(key) = map.next_key_seed(KeySeed)? else {
            return Err(st.wrong_type(ENTRY_EXPECTED, "an empty object"));
        };
        st.check_name(&key, &key)?;
        let strings = if shape::is_shortcut_member(self.ctx, &key) {
            Strings::Shortcut
        } else {
            Strings::Refused
        };
        let value = map.next_value_seed(MemberSeed {
            st,
            ctx: self.ctx.child(&key),
            name: &key,
            out: &mut *self.out,
            strings,
        });
        if let Some(value) = st.in_key(value, &key)? {
            self.out.push(shortcut_password(value));
        }
        if let Some(other) = map.next_key_seed(KeySeed)? {
            return Err(st.fail(
                ErrorKind::Shape,
                format!(
                    "expected {ENTRY_EXPECTED}, found a second member {other:?}; give each child \
                     element its own entry"
                ),
            ));
        }
        st.leave();
        Ok(())
    }
    reject!(scalars);
    reject!(str);
    reject!(seq);
}

/// The value of an element's member: a string (an attribute, returned) or an object or array of
/// objects (child elements named `name`, pushed onto `out`).
struct MemberSeed<'s, 'n, 'o> {
    st: &'s State,
    /// The context of the children.
    ctx: Ctx,
    name: &'n str,
    out: &'o mut Vec<Element>,
    /// What a string value is: an attribute (a member of an element's object), the password
    /// shortcut (an entry of a holder's `#children`), or not allowed (any other entry).
    strings: Strings,
}

/// Whether a member's value may be a string, and what it then stands for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Strings {
    /// A member of an element's object: a string is an attribute.
    Attribute,
    /// The entry `{"password": "…"}` of a holder's `#children`: the password shortcut.
    Shortcut,
    /// Any other entry of `#children`: a child element, never a string.
    Refused,
}

impl MemberSeed<'_, '_, '_> {
    fn expected(&self) -> Cow<'static, str> {
        match self.strings {
            // Only scalars are rejected here: a value must then be a string.
            Strings::Attribute => Cow::Borrowed(STRING),
            Strings::Shortcut => Cow::Borrowed("a string (the password shortcut) or an object"),
            Strings::Refused => Cow::Owned(format!("an object (the element {})", self.name)),
        }
    }

    fn string<E: de::Error>(self, v: String) -> Result<Option<String>, E> {
        if self.strings == Strings::Refused {
            return Err(self.st.wrong_type(&self.expected(), "a string"));
        }
        self.st.check_value(&v)?;
        Ok(Some(v))
    }
}

impl<'de> DeserializeSeed<'de> for MemberSeed<'_, '_, '_> {
    type Value = Option<String>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for MemberSeed<'_, '_, '_> {
    type Value = Option<String>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expected())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        if self.strings != Strings::Refused {
            self.st.check_value(v)?;
        }
        self.string(v.to_owned())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        self.string(v)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let mut e = Element::new(self.name);
        element_members(self.st, map, self.ctx, &mut e, false)?;
        self.out.push(e);
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        ChildrenSeed { st: self.st, ctx: self.ctx, name: self.name, out: self.out }
            .visit_seq(seq)?;
        Ok(None)
    }
    reject!(scalars);
}

/// An array of objects, each a child element named `name`, pushed onto `out`.
struct ChildrenSeed<'s, 'n, 'o> {
    st: &'s State,
    ctx: Ctx,
    name: &'n str,
    out: &'o mut Vec<Element>,
}

impl ChildrenSeed<'_, '_, '_> {
    fn expected(&self) -> String {
        format!("an array of {} objects", self.name)
    }
}

impl<'de> DeserializeSeed<'de> for ChildrenSeed<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ChildrenSeed<'_, '_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expected())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let st = self.st;
        st.enter()?;
        let seed = ElementSeed { st, ctx: self.ctx, name: self.name };
        let mut index = 0;
        loop {
            let item = seq.next_element_seed(seed);
            match st.in_index(item, index)? {
                Some(item) => self.out.push(item),
                None => break,
            }
            index += 1;
        }
        st.leave();
        Ok(())
    }
    reject!(scalars);
    reject!(str);
    reject!(map);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_formatting() {
        let path = vec![
            Seg::Key("server".into()),
            Seg::Key("domain_controller".into()),
            Seg::Index(3),
            Seg::Key("event_sources".into()),
            Seg::Key("sections".into()),
        ];
        assert_eq!(format_path(&path), "sections.event_sources[3].domain_controller.server");
    }

    #[test]
    fn utf8_error_position() {
        let e = utf8_error(b"{\n  \"a\xff", 6, false);
        assert_eq!((e.line(), e.column()), (Some(2), Some(5)));
        assert_eq!(*e.kind(), ErrorKind::InvalidUtf8);
        let e = utf8_error(b"{\xff", 1, true);
        assert_eq!((e.line(), e.column()), (Some(1), Some(5)));
    }
}
