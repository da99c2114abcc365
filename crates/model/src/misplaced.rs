//! Passwords outside their field: the rule that every `password` or `fswSpi1` attribute and
//! every `<password>` element, at any depth of any section, is the one secret field the model
//! knows there, or is refused.
//!
//! The secret fields are those of [`Configuration::secret_fields`](crate::Configuration): on a
//! holder (an item, or the element of an item that holds its credentials), either a `password`
//! attribute or one `<password>` child whose `fswSpi1` attribute (or, without it, its text) is
//! the secret. Those are sealed on import, omitted or opened on export and counted. Anything
//! else that looks like a password would be stored and exported as it came, in plaintext, while
//! the output says the passwords were sealed: so the readers refuse it, naming its place, and
//! [`validate`](crate::validate()) refuses it in a configuration built any other way.

use std::fmt;

use crate::element::{Element, SECRET_ELEMENT_NAME};
use crate::secret::{HolderSpec, holder_specs};
use crate::section::{Section, SectionId};
use crate::text::Escaped;

/// The attribute of a `<password>` element that holds its secret.
pub const SECRET_VALUE_ATTRIBUTE: &str = "fswSpi1";
/// The attribute of a holder that holds its secret.
pub const PASSWORD_ATTRIBUTE: &str = "password";

/// What is wrong with a password-like attribute or element.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MisplacedKind {
    /// A `password` attribute on an element that holds no password.
    PasswordAttribute,
    /// An `fswSpi1` attribute anywhere but on the `<password>` element of a holder.
    FswAttribute,
    /// A `<password>` element where no password belongs.
    PasswordElement,
    /// A holder with both a `password` attribute and a `<password>` element.
    AttributeAndElement,
    /// A holder with more than one `<password>` element.
    SecondElement,
    /// A `<password>` element with both an `fswSpi1` attribute and text.
    TwoValues,
    /// A `<password>` element with child elements.
    NestedInPassword,
}

/// A password-like attribute or element that is not a secret field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Misplaced {
    /// The section.
    pub section: SectionId,
    /// Index of the native file in [`Section::files`].
    pub file: usize,
    /// The element concerned, as indices of children from the file's root element (empty:
    /// the root itself). For an attribute, the element that carries it.
    pub path: Vec<usize>,
    /// The names of the elements from the root to the element concerned, for messages.
    pub names: Vec<String>,
    /// The id of the item the element is in, when it is in one.
    pub item: Option<String>,
    /// What is wrong.
    pub kind: MisplacedKind,
}

impl Misplaced {
    /// The name of the attribute concerned, when the problem is an attribute's.
    pub fn attribute(&self) -> Option<&'static str> {
        match self.kind {
            MisplacedKind::PasswordAttribute | MisplacedKind::AttributeAndElement => {
                Some(PASSWORD_ATTRIBUTE)
            }
            MisplacedKind::FswAttribute => Some(SECRET_VALUE_ATTRIBUTE),
            _ => None,
        }
    }

    /// `<SRXes> › <SRX> › <oAuth>`: where the element is in its file.
    pub fn element_path(&self) -> String {
        let parts: Vec<String> = self.names.iter().map(|n| format!("<{n}>")).collect();
        parts.join(" › ")
    }
}

impl fmt::Display for Misplaced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.section)?;
        if let Some(item) = &self.item {
            write!(f, "/{}", Escaped(item))?;
        }
        let here = self.element_path();
        let name = self.names.last().map(String::as_str).unwrap_or_default();
        let belongs = where_passwords_belong(self.section);
        match self.kind {
            MisplacedKind::PasswordAttribute | MisplacedKind::FswAttribute => write!(
                f,
                ": {here} carries a {} attribute, but <{name}> holds no password ({belongs}); \
                 jimsctl would store it unsealed, so it refuses it: remove it or move it there",
                self.attribute().unwrap_or_default()
            ),
            MisplacedKind::PasswordElement => write!(
                f,
                ": {here} is a <password> element where no password belongs ({belongs}); \
                 jimsctl would store it unsealed, so it refuses it: remove it or move it there"
            ),
            MisplacedKind::AttributeAndElement => write!(
                f,
                ": {here} has both a password attribute and a <password> element; it holds one \
                 password: keep one of them"
            ),
            MisplacedKind::SecondElement => write!(
                f,
                ": {here} has more than one <password> element; it holds one password: keep one"
            ),
            MisplacedKind::TwoValues => write!(
                f,
                ": {here} holds its password both in fswSpi1 and as text; keep one of them"
            ),
            MisplacedKind::NestedInPassword => {
                write!(f, ": {here} holds elements; a <password> element holds only its password")
            }
        }
    }
}

/// Where the passwords of `section` belong, for messages.
fn where_passwords_belong(section: SectionId) -> &'static str {
    match section {
        SectionId::EventSources => {
            "a password belongs on the domain_controller or exchange_server of an event_source"
        }
        SectionId::UserDirectories => {
            "a password belongs on the active_directory of a user_info_source"
        }
        SectionId::Templates => "a password belongs on a template",
        SectionId::PcProbes => "a password belongs on a credential",
        SectionId::SrxClients => "a password belongs in the oAuth or webapi of an SRX",
        SectionId::CsoClients => "a password belongs on a CSO",
        SectionId::SyslogSources
        | SectionId::Session
        | SectionId::Transports
        | SectionId::AdminClients => "this section holds no password",
    }
}

/// What an element is, as far as passwords are concerned.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    /// A section's root element.
    Root,
    /// An item (a child of the root named [`SectionId::item_name`]); `holder` when the item
    /// holds its own password.
    Item { holder: bool },
    /// The element of an item that holds its password.
    Holder,
    /// The one `<password>` element of a holder: the secret field.
    Field,
    /// A `<password>` element already reported: its own attributes are not reported again.
    Reported,
    /// Anything else.
    Other,
}

impl Role {
    fn holds_password(self) -> bool {
        matches!(self, Role::Holder | Role::Item { holder: true })
    }
}

/// Every password-like attribute or element of `section` that is not a secret field, in
/// document order. Iterative: the depth of the input never reaches the call stack.
pub fn misplaced_secrets(section: &Section) -> Vec<Misplaced> {
    let mut out = Vec::new();
    let specs = holder_specs(section.id);
    for (file, f) in section.files.iter().enumerate() {
        // A quick look first: most sections hold no password-like name outside their fields,
        // and most files none at all.
        if !mentions_password(&f.root) {
            continue;
        }
        walk(section.id, specs, file, &f.root, &mut out);
    }
    out
}

/// Whether any element under `root` (itself included) is named `password` or carries a
/// `password` or `fswSpi1` attribute.
fn mentions_password(root: &Element) -> bool {
    let mut stack = vec![root];
    while let Some(e) = stack.pop() {
        if e.name == SECRET_ELEMENT_NAME
            || e.attributes
                .iter()
                .any(|a| a.name == PASSWORD_ATTRIBUTE || a.name == SECRET_VALUE_ATTRIBUTE)
        {
            return true;
        }
        stack.extend(e.children.iter());
    }
    false
}

/// An element being walked: its role, its item, its first `<password>` child, and the next of
/// its children to walk into.
struct Frame<'a> {
    element: &'a Element,
    role: Role,
    item: Option<&'a str>,
    /// The index of its first child named `password`, if any.
    first_password: Option<usize>,
    next: usize,
}

/// What a walk shares: the section, the file, and the path and names of the element being
/// looked at (the root's name first), which a report copies. Nothing else is allocated per
/// element.
struct Walk<'a, 'o> {
    section: SectionId,
    specs: &'static [HolderSpec],
    file: usize,
    path: Vec<usize>,
    names: Vec<&'a str>,
    out: &'o mut Vec<Misplaced>,
}

impl<'a> Walk<'a, '_> {
    /// Reports a problem of the element at `path` (the current one, or its child `child`),
    /// named by `names`.
    fn report(
        &mut self,
        kind: MisplacedKind,
        child: Option<usize>,
        names: &[&str],
        item: Option<&str>,
    ) {
        let mut path = Vec::with_capacity(self.path.len() + 1);
        path.extend_from_slice(&self.path);
        path.extend(child);
        self.out.push(Misplaced {
            section: self.section,
            file: self.file,
            path,
            names: names.iter().map(|n| (*n).to_owned()).collect(),
            item: item.map(str::to_owned),
            kind,
        });
    }

    /// Looks at `e` (at the current path), reporting its own attributes, its text and its
    /// `<password>` children, and returns its frame.
    fn look_at(&mut self, e: &'a Element, role: Role, item: Option<&'a str>) -> Frame<'a> {
        let first_password = e.children.iter().position(|c| c.name == SECRET_ELEMENT_NAME);
        let names = std::mem::take(&mut self.names);
        for a in &e.attributes {
            let kind = match a.name.as_str() {
                PASSWORD_ATTRIBUTE if role.holds_password() && first_password.is_some() => {
                    MisplacedKind::AttributeAndElement
                }
                PASSWORD_ATTRIBUTE if role.holds_password() || role == Role::Reported => continue,
                PASSWORD_ATTRIBUTE => MisplacedKind::PasswordAttribute,
                SECRET_VALUE_ATTRIBUTE if matches!(role, Role::Field | Role::Reported) => continue,
                SECRET_VALUE_ATTRIBUTE => MisplacedKind::FswAttribute,
                _ => continue,
            };
            self.report(kind, None, &names, item);
        }
        if role == Role::Field {
            if e.attr(SECRET_VALUE_ATTRIBUTE).is_some() && e.text.is_some() {
                self.report(MisplacedKind::TwoValues, None, &names, item);
            }
            if !e.children.is_empty() {
                self.report(MisplacedKind::NestedInPassword, None, &names, item);
            }
        }
        // Its `<password>` children other than its field, before anything below it: a second
        // one is named by its holder, a stray one by its own place.
        if let Some(first) = first_password {
            for (i, c) in e.children.iter().enumerate().skip(first) {
                if c.name != SECRET_ELEMENT_NAME || (i == first && role.holds_password()) {
                    continue;
                }
                if role.holds_password() {
                    self.report(MisplacedKind::SecondElement, Some(i), &names, item);
                } else {
                    let mut shown = names.clone();
                    shown.push(&c.name);
                    self.report(MisplacedKind::PasswordElement, Some(i), &shown, item);
                }
            }
        }
        self.names = names;
        Frame { element: e, role, item, first_password, next: 0 }
    }

    /// The role and item of child `i` of the element of `parent`.
    fn child_role(&self, parent: &Frame<'a>, i: usize, c: &'a Element) -> (Role, Option<&'a str>) {
        if c.name == SECRET_ELEMENT_NAME {
            let field = parent.role.holds_password() && parent.first_password == Some(i);
            return (if field { Role::Field } else { Role::Reported }, parent.item);
        }
        match parent.role {
            Role::Root if c.name == self.section.item_name() => {
                let holder = self.specs.iter().any(|s| s.names.is_empty());
                (Role::Item { holder }, c.attr("id"))
            }
            Role::Item { .. } if self.specs.iter().any(|s| s.names.contains(&c.name.as_str())) => {
                (Role::Holder, parent.item)
            }
            _ => (Role::Other, parent.item),
        }
    }
}

/// Reports every misplaced password of the file `file` whose root is `root`, in document order:
/// an element's own attributes and `<password>` children before anything below it. Depth
/// first with a stack of frames: the depth of the input never reaches the call stack.
fn walk(
    section: SectionId,
    specs: &'static [HolderSpec],
    file: usize,
    root: &Element,
    out: &mut Vec<Misplaced>,
) {
    let mut walk =
        Walk { section, specs, file, path: Vec::new(), names: vec![root.name.as_str()], out };
    let mut stack = vec![walk.look_at(root, Role::Root, None)];
    while let Some(top) = stack.last_mut() {
        let Some(c) = top.element.children.get(top.next) else {
            stack.pop();
            if !stack.is_empty() {
                walk.path.pop();
                walk.names.pop();
            }
            continue;
        };
        let i = top.next;
        top.next += 1;
        let (role, item) = walk.child_role(top, i, c);
        walk.path.push(i);
        walk.names.push(&c.name);
        let frame = walk.look_at(c, role, item);
        stack.push(frame);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::section::Section;

    fn srx(children: Vec<Element>) -> Section {
        let mut srx = Element::new("SRX").with_attr("id", "SRX1");
        srx.children = children;
        Section::single(SectionId::SrxClients, Element::new("SRXes").with_child(srx))
    }

    fn kinds(s: &Section) -> Vec<(MisplacedKind, Vec<usize>)> {
        misplaced_secrets(s).into_iter().map(|m| (m.kind, m.path)).collect()
    }

    fn pw(value: &str) -> Element {
        Element::new("password").with_attr("fswSpi1", value)
    }

    #[test]
    fn the_fields_themselves_are_fine() {
        let s = srx(vec![
            Element::new("oAuth").with_child(pw("a")),
            Element::new("webapi").with_attr("password", "b"),
        ]);
        assert_eq!(kinds(&s), []);
        let cso = Section::single(
            SectionId::CsoClients,
            Element::new("CSOs")
                .with_child(Element::new("CSO").with_attr("id", "c").with_child(pw("x")))
                .with_child(Element::new("CSO").with_attr("id", "d").with_attr("password", "y"))
                .with_child(
                    Element::new("CSO")
                        .with_attr("id", "e")
                        .with_child(Element::new("password").with_text("z")),
                ),
        );
        assert_eq!(kinds(&cso), []);
    }

    #[test]
    fn every_other_place_is_named() {
        use MisplacedKind::*;
        let s = srx(vec![
            Element::new("oAuth").with_child(pw("a")).with_child(pw("b")),
            Element::new("webapi").with_attr("password", "b").with_child(pw("c")),
            Element::new("query").with_attr("fswSpi1", "d").with_attr("password", "e"),
            Element::new("deep").with_child(Element::new("deeper").with_child(pw("f"))),
        ]);
        assert_eq!(
            kinds(&s),
            [
                (SecondElement, vec![0, 0, 1]),
                (AttributeAndElement, vec![0, 1]),
                (FswAttribute, vec![0, 2]),
                (PasswordAttribute, vec![0, 2]),
                (PasswordElement, vec![0, 3, 0, 0]),
            ]
        );
        let m = &misplaced_secrets(&s)[0];
        assert_eq!(m.item.as_deref(), Some("SRX1"));
        assert_eq!(
            m.to_string(),
            "srx_clients/SRX1: <SRXes> › <SRX> › <oAuth> has more than one <password> element; \
             it holds one password: keep one"
        );
        assert_eq!(
            misplaced_secrets(&s)[4].to_string(),
            "srx_clients/SRX1: <SRXes> › <SRX> › <deep> › <deeper> › <password> is a <password> \
             element where no password belongs (a password belongs in the oAuth or webapi of an \
             SRX); jimsctl would store it unsealed, so it refuses it: remove it or move it there"
        );
    }

    #[test]
    fn an_element_s_own_password_children_come_before_what_its_children_hold() {
        use MisplacedKind::*;
        // <SRX> is looked at before anything below it: its stray <password> children are
        // named before the stray ones deeper in its first child, and each element's
        // attributes before its children's.
        let s = srx(vec![
            Element::new("deep")
                .with_attr("password", "a")
                .with_child(Element::new("deeper").with_child(pw("b")))
                .with_child(pw("c")),
            pw("d"),
            Element::new("oAuth")
                .with_child(pw("e"))
                .with_child(Element::new("x").with_attr("fswSpi1", "f")),
            pw("g"),
        ]);
        assert_eq!(
            kinds(&s),
            [
                (PasswordElement, vec![0, 1]),
                (PasswordElement, vec![0, 3]),
                (PasswordAttribute, vec![0, 0]),
                (PasswordElement, vec![0, 0, 1]),
                (PasswordElement, vec![0, 0, 0, 0]),
                (FswAttribute, vec![0, 2, 1]),
            ]
        );
        let found = misplaced_secrets(&s);
        assert_eq!(found[0].names, ["SRXes", "SRX", "password"]);
        assert_eq!(found[4].names, ["SRXes", "SRX", "deep", "deeper", "password"]);
        assert_eq!(found[5].names, ["SRXes", "SRX", "oAuth", "x"]);
        assert!(found.iter().all(|m| m.item.as_deref() == Some("SRX1") && m.file == 0));
    }

    #[test]
    fn the_item_of_a_holder_section_and_sections_without_passwords() {
        use MisplacedKind::*;
        let es = Section::single(
            SectionId::EventSources,
            Element::new("event_sources").with_attr("password", "r").with_child(
                Element::new("event_source")
                    .with_attr("id", "DC1")
                    .with_attr("password", "x")
                    .with_child(Element::new("domain_controller").with_attr("password", "ok")),
            ),
        );
        assert_eq!(kinds(&es), [(PasswordAttribute, vec![]), (PasswordAttribute, vec![0])]);
        let session = Section::single(
            SectionId::Session,
            Element::new("cache").with_child(Element::new("config").with_child(pw("s"))),
        );
        assert_eq!(kinds(&session), [(PasswordElement, vec![0, 0])]);
        let field = Section::single(
            SectionId::Templates,
            Element::new("templates").with_child(
                Element::new("template").with_attr("id", "t").with_child(
                    Element::new("password")
                        .with_attr("fswSpi1", "a")
                        .with_text("b")
                        .with_child(Element::new("x")),
                ),
            ),
        );
        assert_eq!(kinds(&field), [(TwoValues, vec![0, 0]), (NestedInPassword, vec![0, 0])]);
    }
}
