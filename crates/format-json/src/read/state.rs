//! What the visitors share ([`State`]): the error one of them found, with the member path each
//! enclosing visitor adds as the error travels out, the depth of nesting, and the checks every
//! value and element passes ([`model::read`]'s bounds, [`model::name`], no NUL).

use std::cell::{Cell, RefCell};

use model::name::check_xml_name;
use model::read::{
    Error, ErrorKind, check_attribute_count, check_depth, check_value_len, too_deep,
};
use model::{Attribute, Element};
use serde::de;

use super::scalars::STRING;
use crate::shape::{CHILDREN_MEMBER, ROOT_MEMBER, TEXT_MEMBER};

/// What nests in JSON, for the message of too deep a nesting.
const NESTING: &str = "objects and arrays";

/// One step of a member path.
#[derive(Debug)]
pub(super) enum Seg {
    /// An object member.
    Key(String),
    /// An array entry.
    Index(usize),
}

/// An error found by a visitor, waiting for its position.
#[derive(Debug)]
pub(super) struct Pending {
    kind: ErrorKind,
    message: String,
    /// The member path, innermost first.
    pub(super) path: Vec<Seg>,
}

/// What the visitors share: the recorded error and the current depth.
#[derive(Default)]
pub(super) struct State {
    pub(super) pending: RefCell<Option<Pending>>,
    depth: Cell<usize>,
}

impl State {
    /// Records an error and returns the serde error that carries it out.
    pub(super) fn fail<E: de::Error>(&self, kind: ErrorKind, message: impl Into<String>) -> E {
        *self.pending.borrow_mut() =
            Some(Pending { kind, message: message.into(), path: Vec::new() });
        E::custom("jimsctl bundle error")
    }

    /// The outcome of one of [`model::read`]'s rules: its value, or its refusal recorded and
    /// the serde error that carries it out.
    pub(super) fn rule<T, E: de::Error>(&self, outcome: Result<T, Error>) -> Result<T, E> {
        outcome.map_err(|error| self.refuse(error))
    }

    /// Records the refusal of one of [`model::read`]'s rules and returns the serde error that
    /// carries it out.
    pub(super) fn refuse<E: de::Error>(&self, error: Error) -> E {
        self.fail(*error.kind(), error.message())
    }

    /// The error for a value of the wrong JSON type.
    pub(super) fn wrong_type<E: de::Error>(&self, expected: &str, found: &str) -> E {
        let hint = if expected == STRING && found != "an array" && found != "an object" {
            "; write every value as a JSON string (\"8080\", \"true\")"
        } else {
            ""
        };
        self.fail(ErrorKind::Shape, format!("expected {expected}, found {found}{hint}"))
    }

    /// Adds the member `key` to the path of a recorded error.
    pub(super) fn in_key<T, E>(&self, result: Result<T, E>, key: &str) -> Result<T, E> {
        if result.is_err()
            && let Some(p) = self.pending.borrow_mut().as_mut()
        {
            p.path.push(Seg::Key(key.to_owned()));
        }
        result
    }

    /// Adds the array index `index` to the path of a recorded error.
    pub(super) fn in_index<T, E>(&self, result: Result<T, E>, index: usize) -> Result<T, E> {
        if result.is_err()
            && let Some(p) = self.pending.borrow_mut().as_mut()
        {
            p.path.push(Seg::Index(index));
        }
        result
    }

    /// Enters an object or array; fails beyond [`model::read::MAX_DEPTH`].
    pub(super) fn enter<E: de::Error>(&self) -> Result<(), E> {
        let depth = self.depth.get() + 1;
        self.rule(check_depth(depth, NESTING))?;
        self.depth.set(depth);
        Ok(())
    }

    /// Fails when a string value is longer than [`model::read::MAX_VALUE_BYTES`] or holds a NUL character
    /// (`\u0000`), which no XML file can hold: such a value could be stored but never written
    /// back. The value itself is never shown (it may be a password).
    pub(super) fn check_value<E: de::Error>(&self, v: &str) -> Result<(), E> {
        if v.contains('\0') {
            return Err(self.fail(
                ErrorKind::NulCharacter,
                "the value holds a NUL character (\\u0000), which no XML file can hold and JIMS \
                 cannot read; remove it",
            ));
        }
        self.rule(check_value_len(v.len(), || "the value".to_owned()))
    }

    /// Fails unless `name`, given as the member `key`, is a valid element or attribute name
    /// ([`model::name`], the rule the XML reader applies).
    pub(super) fn check_name<E: de::Error>(&self, name: &str, key: &str) -> Result<(), E> {
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

    /// Adds `attribute` to `e`, refusing a name `e` already has (`"a"` and `"@a"` both name the
    /// attribute `a`, and XML cannot hold it twice), then [`State::check_attributes`].
    pub(super) fn push_attribute<E: de::Error>(
        &self,
        e: &mut Element,
        attribute: Attribute,
    ) -> Result<(), E> {
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

    /// Fails when `e` carries more than [`model::read::MAX_ATTRIBUTES`] attributes.
    pub(super) fn check_attributes<E: de::Error>(&self, e: &Element) -> Result<(), E> {
        self.rule(check_attribute_count(&e.name, e.attributes.len()))
    }

    /// Leaves an object or array.
    pub(super) fn leave(&self) {
        self.depth.set(self.depth.get() - 1);
    }

    /// The final error, without its position: the recorded one (its member path before its
    /// message), or serde_json's own.
    pub(super) fn into_error(self, e: &serde_json::Error) -> Error {
        match self.pending.into_inner() {
            Some(p) => {
                let message = if p.path.is_empty() {
                    p.message
                } else {
                    format!("{}: {}", format_path(&p.path), p.message)
                };
                Error::new(p.kind, message)
            }
            None => syntax_error(e),
        }
    }
}

/// `sections.event_sources[3].domain_controller.server` from an innermost-first path.
pub(super) fn format_path(path: &[Seg]) -> String {
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
pub(super) fn syntax_error(e: &serde_json::Error) -> Error {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full);
    if message.starts_with("recursion limit exceeded") {
        return too_deep(NESTING);
    }
    let hint = if e.is_eof() { "; the file looks truncated" } else { "" };
    Error::new(ErrorKind::Syntax, format!("malformed JSON: {message}{hint}"))
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
}
