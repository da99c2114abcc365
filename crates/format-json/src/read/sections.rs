//! The sections of a bundle: `sections`, one member per section id (checked by
//! [`model::read::sections`]), each in the shape of its section ([`Shape`]): a list of items,
//! `pc_probes`, `session`, `transports` (one list per native file), or the `{"$root": …}`
//! fallback. A password outside its field is refused with its member path.

use std::fmt;

use model::read::{ErrorKind, sections};
use model::{Attribute, Configuration, Element, Section, SectionFile, SectionId};
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use super::elements::{ChildrenSeed, ElementSeed, element_members};
use super::scalars::{KeySeed, StringSeed};
use super::state::{Seg, State};
use crate::shape::{self, CREDENTIALS_MEMBER, Ctx, ROOT_MEMBER, Shape};

/// The value of `sections`: section id → section value.
pub(super) struct SectionsSeed<'s> {
    pub(super) st: &'s State,
}

impl SectionsSeed<'_> {
    fn expected(&self) -> &'static str {
        "an object with one member per section"
    }
}

any_value_seed!(SectionsSeed<'_>);

impl<'de> Visitor<'de> for SectionsSeed<'_> {
    type Value = Configuration;
    expecting!();
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Configuration, A::Error> {
        let st = self.st;
        st.enter()?;
        let mut configuration = Configuration::new();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let id = st.rule(sections::section_id(&key))?;
            st.rule(sections::check_new_section(&configuration, id))?;
            let section = map.next_value_seed(SectionSeed { st, id });
            let section = st.in_key(section, id.as_str())?;
            if let Some((m, error)) = sections::first_misplaced_secret(&section) {
                let error = st.refuse(error);
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

any_value_seed!(ListSeed<'_>);

impl<'de> Visitor<'de> for ListSeed<'_> {
    type Value = Element;
    expecting!();
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
    expecting!();
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
    expecting!();
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
        format!("an object with the members {}", sections::transports_file_names(", "))
    }
}

impl<'de> Visitor<'de> for TransportsVisitor<'_> {
    type Value = Vec<SectionFile>;
    expecting!();
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<SectionFile>, A::Error> {
        let st = self.st;
        st.enter()?;
        let mut files: Vec<SectionFile> = Vec::with_capacity(2);
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let path = st.rule(sections::transports_file(&key))?;
            st.rule(sections::check_new_transports_file(&files, path))?;
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

/// The member path of the element of a misplaced secret below `sections`, outermost first, as
/// in `srx_clients[0].oAuth`: the section, the item's index in its array, then the names of
/// the elements below it.
fn member_path(section: &Section, m: &model::Misplaced) -> Vec<Seg> {
    let mut path = vec![Seg::Key(section.id.as_str().to_owned())];
    let file = section.files.get(m.file);
    if let Some(f) = file
        && section.id == SectionId::Transports
    {
        path.push(Seg::Key(sections::transports_file_name(f.path).to_owned()));
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
