//! The attributes of a start tag, read by hand from its raw bytes (quick-xml's attribute
//! iterator allocates and checks less): each name a valid XML name, each value in quotes,
//! decoded and bounded, no name twice, at most [`model::read::MAX_ATTRIBUTES`] of them.

use model::Attribute;
use model::element::is_secret_attribute;
use model::name::check_xml_name;
use model::read::{ErrorKind, Refusal, check_attribute_count, check_value_len};
use model::text::quoted;

use super::At;
use super::lexer::is_ws_byte;
use crate::escape::{Place, unescape};

/// Reads the attributes in `raw` (the part of a start tag after the element's name, at offset
/// `at`) into `attributes`, values decoded, duplicates refused. `keys` receives the names
/// (borrowed from the input) and `offsets`, when given, the offset of each value.
pub(super) fn read_attributes<'a>(
    raw: &'a str,
    at: usize,
    element: &str,
    attributes: &mut Vec<Attribute>,
    keys: &mut Vec<&'a str>,
    mut offsets: Option<&mut Vec<usize>>,
) -> Result<(), Refusal> {
    let b = raw.as_bytes();
    let syntax = |i: usize, what: &str| {
        Refusal::new(ErrorKind::Syntax, at + i, format!("{what} (in <{element}>)"))
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
            return Err(Refusal::new(
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
        check_value_len(len, || format!("the value of the attribute '{key}' of <{element}>"))
            .at(at + value_at)?;
        check_attribute_count(element, keys.len() + 1).at(at + key_at)?;

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
            return Err(Refusal::new(
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
