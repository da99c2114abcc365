//! The elements of a section: a generic element is an object (attributes as string members,
//! `#text`, children as object or array members, `#children` for children in any order), and
//! in a holder the `password` string member stands for its `<password fswSpi1="…"/>` child.

use std::borrow::Cow;
use std::fmt;

use model::read::ErrorKind;
use model::{Attribute, Element};
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use super::scalars::{KeySeed, STRING, StringSeed};
use super::state::State;
use crate::shape::{self, CHILDREN_MEMBER, Ctx, FSW_ATTRIBUTE, PASSWORD, ROOT_MEMBER, TEXT_MEMBER};

/// A generic element: an object, named `name`.
#[derive(Clone, Copy)]
pub(super) struct ElementSeed<'s, 'n> {
    pub(super) st: &'s State,
    pub(super) ctx: Ctx,
    pub(super) name: &'n str,
}

impl ElementSeed<'_, '_> {
    fn expected(&self) -> String {
        format!("an object (the element {})", self.name)
    }
}

any_value_seed!(ElementSeed<'_, '_>);

impl<'de> Visitor<'de> for ElementSeed<'_, '_> {
    type Value = Element;
    expecting!();
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
pub(super) fn element_members<'de, A: MapAccess<'de>>(
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

any_value_seed!(OrderedChildrenSeed<'_, '_>);

impl<'de> Visitor<'de> for OrderedChildrenSeed<'_, '_> {
    type Value = ();
    expecting!();
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

any_value_seed!(ChildEntrySeed<'_, '_>);

impl<'de> Visitor<'de> for ChildEntrySeed<'_, '_> {
    type Value = ();
    expecting!();
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

any_value_seed!(MemberSeed<'_, '_, '_>);

impl<'de> Visitor<'de> for MemberSeed<'_, '_, '_> {
    type Value = Option<String>;
    expecting!();
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
pub(super) struct ChildrenSeed<'s, 'n, 'o> {
    pub(super) st: &'s State,
    pub(super) ctx: Ctx,
    pub(super) name: &'n str,
    pub(super) out: &'o mut Vec<Element>,
}

impl ChildrenSeed<'_, '_, '_> {
    fn expected(&self) -> String {
        format!("an array of {} objects", self.name)
    }
}

any_value_seed!(ChildrenSeed<'_, '_, '_>);

impl<'de> Visitor<'de> for ChildrenSeed<'_, '_, '_> {
    type Value = ();
    expecting!();
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
