//! The plan: what a merge changes, section by section, item by item, named field by named
//! field. The plan holds names only, never a value, so it is safe to print, log and snapshot.
//!
//! Items are matched by their `id` attribute (`session`'s single item by its element name,
//! `config`); when a (malformed) section repeats an id, the n-th item with that id on one side
//! is matched with the n-th on the other. `transports` items are matched across both native
//! files; an item that moved from one file to the other lists the field `file`.
//!
//! Field paths: an attribute of the item is named as is (`description`); an attribute of a child
//! element is `child.attr` (`domain_controller.server`), deeper ones `child.grandchild.attr`; a
//! child element added or removed is named itself (`webapi`); when an element has several
//! children of one name, the second is `name[2]`, the third `name[3]`, and so on; text content
//! is `#text`. Unknown attributes and elements count like known ones. The order of attributes,
//! and of children of different names, is not a change.
//!
//! Secret fields (`password` and `fswSpi1` attributes, `password` child elements, which count as
//! one field whatever changed inside) are marked [`FieldChange::secret`] and compared by their
//! raw text. A sealed value is written afresh (new nonce) each time it is sealed, so the import
//! pipeline computes the plan on the merged configuration *before* its passwords are re-sealed,
//! while the imported values are still as the export has them.

use std::collections::{HashMap, VecDeque};

use model::element::is_secret_attribute;
use model::{Configuration, Element, Section, SectionId};
use serde::{Serialize, Serializer};

use crate::choose::Selection;

/// The field name an item gets when it moved from one native file of its section to another.
pub const MOVED_FILE_FIELD: &str = "file";

/// What the import does to a section.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// The section is imported: cleared and replaced by the export's.
    Replaced,
    /// The section is not imported and stays as it was.
    Untouched,
    /// The section is imported by merging (event sources in a partial import): the target's
    /// items are kept as they are, the export's whose ids are new are added.
    Merged,
}

impl Action {
    /// `replaced` or `untouched`, as in the JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Replaced => "replaced",
            Action::Untouched => "untouched",
            Action::Merged => "merged",
        }
    }
}

/// One changed field of an item, by name only.
///
/// Serialized as its name alone (a JSON string).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldChange {
    /// The field's path, e.g. `description`, `domain_controller.server`, `oAuth.password`.
    pub field: String,
    /// Whether the field holds a password. Its value is never part of the plan either way.
    pub secret: bool,
}

impl Serialize for FieldChange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.field)
    }
}

/// An item present before and after the merge whose fields differ.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ItemChange {
    /// The item's id (`config` for the session settings).
    pub id: String,
    /// The fields that differ, in document order (the item's attributes, then its children).
    pub fields: Vec<FieldChange>,
}

/// What the merge does to one section.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SectionPlan {
    /// The section.
    #[serde(serialize_with = "serialize_section")]
    pub section: SectionId,
    /// Whether the section is imported.
    pub action: Action,
    /// How many items the section held before the merge.
    pub items_before: usize,
    /// How many items it holds after.
    pub items_after: usize,
    /// Ids of the items only the merged section has, in their new order.
    pub added: Vec<String>,
    /// Ids of the items only the old section had, in their old order.
    pub removed: Vec<String>,
    /// Items on both sides whose fields differ, in their new order.
    pub changed: Vec<ItemChange>,
    /// Changes to the section's own settings, outside its items: the root element's attributes
    /// and other children (`enabled` and `timeout_ms` of `pc_probes`). For `transports` each
    /// path starts with its native file's name, as in `clients_http.xml/attr`.
    pub settings: Vec<FieldChange>,
    /// Whether the items found on both sides are in a different order after the merge (the
    /// order of `pc_probes` credentials is their order of use).
    pub reordered: bool,
    /// Ids of the export's items that a merged section leaves out because the target already
    /// has them ("kept: already on the target"), in the export's order. Only for
    /// [`Action::Merged`]; absent from the JSON when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kept: Vec<String>,
}

fn serialize_section<S: Serializer>(id: &SectionId, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(id.as_str())
}

impl SectionPlan {
    /// Whether the merge leaves the section's content as it was: nothing added, removed,
    /// changed or reordered.
    pub fn is_noop(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.changed.is_empty()
            && self.settings.is_empty()
            && !self.reordered
    }
}

/// What a merge changes, for every section of either side, in document order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// One entry per section present before or after the merge, in document order.
    pub sections: Vec<SectionPlan>,
}

impl Plan {
    /// Whether the merge changes nothing in any section (a re-import of the same content).
    pub fn is_noop(&self) -> bool {
        self.sections.iter().all(SectionPlan::is_noop)
    }

    /// The sections that are imported (replaced or merged).
    pub fn replaced(&self) -> impl Iterator<Item = &SectionPlan> {
        self.sections.iter().filter(|s| s.action != Action::Untouched)
    }

    /// Records, per merged section, the ids of the export's items kept as the target has
    /// them (what [`crate::kept`] returns for the same merge).
    pub fn note_kept(&mut self, kept: Vec<(SectionId, Vec<String>)>) {
        for (id, ids) in kept {
            if let Some(s) = self.sections.iter_mut().find(|s| s.section == id) {
                s.kept = ids;
            }
        }
    }

    /// The sections that stay as they were.
    pub fn untouched(&self) -> impl Iterator<Item = &SectionPlan> {
        self.sections.iter().filter(|s| s.action == Action::Untouched)
    }

    /// The plan of section `id`, if either side has it.
    pub fn section(&self, id: SectionId) -> Option<&SectionPlan> {
        self.sections.iter().find(|s| s.section == id)
    }
}

/// What the merge of `selection` turns `current` into `merged`: every section of either side,
/// in document order, `replaced` when `selection` holds it and `untouched` otherwise, with the
/// items added, removed and changed (for an untouched section of a real merge, none).
///
/// Secrets are compared by raw text: compute the plan before the merged passwords are
/// re-sealed (see the module documentation).
pub fn plan(current: &Configuration, merged: &Configuration, selection: &Selection) -> Plan {
    let mut ids = current.ids();
    ids.extend(merged.ids());
    ids.sort();
    ids.dedup();
    let sections = ids
        .into_iter()
        .map(|id| {
            let action = if selection.merges(id) {
                Action::Merged
            } else if selection.contains(id) {
                Action::Replaced
            } else {
                Action::Untouched
            };
            section_plan(id, action, current.get(id), merged.get(id))
        })
        .collect();
    Plan { sections }
}

/// An item of a section with what matching needs.
struct Item<'a> {
    key: &'a str,
    path: &'static str,
    element: &'a Element,
}

fn items_of(section: Option<&Section>) -> Vec<Item<'_>> {
    let Some(section) = section else { return Vec::new() };
    section
        .items()
        .map(|(f, _, element)| Item {
            key: if section.id.has_item_ids() {
                element.attr("id").unwrap_or_default()
            } else {
                element.name.as_str()
            },
            path: section.files[f].path,
            element,
        })
        .collect()
}

fn section_plan(
    id: SectionId,
    action: Action,
    before: Option<&Section>,
    after: Option<&Section>,
) -> SectionPlan {
    let old = items_of(before);
    let new = items_of(after);
    let mut plan = SectionPlan {
        section: id,
        action,
        items_before: old.len(),
        items_after: new.len(),
        added: Vec::new(),
        removed: Vec::new(),
        changed: Vec::new(),
        settings: Vec::new(),
        reordered: false,
        kept: Vec::new(),
    };
    if before.is_some() && before == after {
        return plan;
    }

    let mut by_key: HashMap<&str, VecDeque<usize>> = HashMap::new();
    for (i, item) in old.iter().enumerate() {
        by_key.entry(item.key).or_default().push_back(i);
    }
    let mut matched = vec![false; old.len()];
    let mut last_old = None;
    for item in &new {
        let Some(i) = by_key.get_mut(item.key).and_then(VecDeque::pop_front) else {
            plan.added.push(item.key.to_owned());
            continue;
        };
        matched[i] = true;
        if last_old.is_some_and(|last| i < last) {
            plan.reordered = true;
        }
        last_old = Some(i);
        let was = &old[i];
        if was.element == item.element && was.path == item.path {
            continue;
        }
        let mut fields = Vec::new();
        if was.path != item.path {
            push(&mut fields, MOVED_FILE_FIELD.to_owned(), false);
        }
        diff_element("", was.element, item.element, None, &mut fields);
        if !fields.is_empty() {
            plan.changed.push(ItemChange { id: item.key.to_owned(), fields });
        }
    }
    plan.removed =
        old.iter().zip(&matched).filter(|(_, m)| !**m).map(|(i, _)| i.key.to_owned()).collect();

    let multi_file = id.native_files().len() > 1;
    let empty = id.empty_root();
    for path in id.native_files() {
        let a = root_of(before, path).unwrap_or(&empty);
        let b = root_of(after, path).unwrap_or(&empty);
        let prefix = if multi_file { format!("{}/", file_name(path)) } else { String::new() };
        let mut fields = Vec::new();
        diff_element("", a, b, Some(id.item_name()), &mut fields);
        for f in fields {
            push(&mut plan.settings, format!("{prefix}{}", f.field), f.secret);
        }
    }
    plan
}

/// The root element of `section`'s native file `path`, if it has that file.
fn root_of<'a>(section: Option<&'a Section>, path: &str) -> Option<&'a Element> {
    section?.files.iter().find(|f| f.path == path).map(|f| &f.root)
}

/// The values of every attribute `name` of `e`, in order (a well-formed element has at most one).
fn values_of<'a>(e: &'a Element, name: &str) -> Vec<&'a str> {
    e.attributes.iter().filter(|x| x.name == name).map(|x| x.value.as_str()).collect()
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn push(out: &mut Vec<FieldChange>, field: String, secret: bool) {
    if !out.iter().any(|f| f.field == field) {
        out.push(FieldChange { field, secret });
    }
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() { name.to_owned() } else { format!("{prefix}.{name}") }
}

/// Names in first-seen order over both sides.
fn union<'a>(a: impl Iterator<Item = &'a str>, b: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut names: Vec<&str> = Vec::new();
    for n in a.chain(b) {
        if !names.contains(&n) {
            names.push(n);
        }
    }
    names
}

/// Appends to `out` the paths (under `prefix`) of what differs between `a` and `b`: their
/// attributes, text and children; children named `skip` (the items of a root) are left out.
fn diff_element(
    prefix: &str,
    a: &Element,
    b: &Element,
    skip: Option<&str>,
    out: &mut Vec<FieldChange>,
) {
    let names = union(
        a.attributes.iter().map(|x| x.name.as_str()),
        b.attributes.iter().map(|x| x.name.as_str()),
    );
    for name in names {
        if values_of(a, name) != values_of(b, name) {
            push(out, join(prefix, name), is_secret_attribute(name));
        }
    }
    if a.text != b.text {
        push(out, join(prefix, "#text"), false);
    }
    let keep = |c: &&Element| Some(c.name.as_str()) != skip;
    let names = union(
        a.children.iter().filter(keep).map(|c| c.name.as_str()),
        b.children.iter().filter(keep).map(|c| c.name.as_str()),
    );
    for name in names {
        let ca: Vec<&Element> = a.children_named(name).collect();
        let cb: Vec<&Element> = b.children_named(name).collect();
        for k in 0..ca.len().max(cb.len()) {
            let label = if k == 0 { name.to_owned() } else { format!("{name}[{}]", k + 1) };
            let path = join(prefix, &label);
            let secret = name == "password";
            match (ca.get(k), cb.get(k)) {
                (Some(x), Some(y)) if x == y => {}
                (Some(x), Some(y)) if !secret => diff_element(&path, x, y, None, out),
                _ => push(out, path, secret),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diff(a: &Element, b: &Element) -> Vec<(String, bool)> {
        let mut out = Vec::new();
        diff_element("", a, b, None, &mut out);
        out.into_iter().map(|f| (f.field, f.secret)).collect()
    }

    fn names(v: &[(String, bool)]) -> Vec<&str> {
        v.iter().map(|(n, _)| n.as_str()).collect()
    }

    #[test]
    fn attributes_text_and_children_are_named() {
        let a = Element::new("i")
            .with_attr("id", "x")
            .with_attr("description", "a")
            .with_attr("gone", "1")
            .with_child(Element::new("dc").with_attr("server", "s1").with_attr("password", "p1"))
            .with_child(Element::new("webapi").with_attr("user", "u"));
        let mut b = Element::new("i")
            .with_attr("description", "b")
            .with_attr("id", "x")
            .with_attr("new", "2")
            .with_child(Element::new("dc").with_attr("server", "s2").with_attr("password", "p2"));
        b.text = Some("t".into());
        let d = diff(&a, &b);
        assert_eq!(
            names(&d),
            ["description", "gone", "new", "#text", "dc.server", "dc.password", "webapi"]
        );
        let secret: Vec<_> = d.iter().filter(|(_, s)| *s).map(|(n, _)| n.as_str()).collect();
        assert_eq!(secret, ["dc.password"]);
    }

    #[test]
    fn attribute_order_is_not_a_change() {
        let a = Element::new("i").with_attr("a", "1").with_attr("b", "2");
        let b = Element::new("i").with_attr("b", "2").with_attr("a", "1");
        assert!(diff(&a, &b).is_empty());
    }

    #[test]
    fn a_password_element_is_one_secret_field() {
        let pw = |v: &str| Element::new("password").with_attr("fswSpi1", v);
        let a = Element::new("CSO").with_child(Element::new("oAuth").with_child(pw("{fsw} 1,aa")));
        let b = Element::new("CSO").with_child(Element::new("oAuth").with_child(pw("{fsw} 1,bb")));
        assert_eq!(diff(&a, &b), [("oAuth.password".to_owned(), true)]);
        let c = Element::new("CSO").with_child(Element::new("oAuth"));
        assert_eq!(diff(&a, &c), [("oAuth.password".to_owned(), true)]);
        let d = Element::new("x").with_child(Element::new("y").with_attr("fswSpi1", "v"));
        let e = Element::new("x").with_child(Element::new("y").with_attr("fswSpi1", "w"));
        assert_eq!(diff(&d, &e), [("y.fswSpi1".to_owned(), true)]);
    }

    #[test]
    fn repeated_children_are_numbered() {
        let a = Element::new("i").with_child(Element::new("c").with_attr("v", "1"));
        let b = Element::new("i")
            .with_child(Element::new("c").with_attr("v", "1"))
            .with_child(Element::new("c").with_attr("v", "2"))
            .with_child(Element::new("c").with_attr("v", "3"));
        assert_eq!(names(&diff(&a, &b)), ["c[2]", "c[3]"]);
    }

    #[test]
    fn duplicate_ids_match_in_order_and_reorder_is_seen() {
        let item = |id: &str, d: &str| {
            Element::new("credential").with_attr("id", id).with_attr("description", d)
        };
        let before = Section::single(
            SectionId::PcProbes,
            Element::new("pc_probe")
                .with_attr("enabled", "true")
                .with_child(item("a", "1"))
                .with_child(item("b", "1"))
                .with_child(item("b", "2")),
        );
        let after = Section::single(
            SectionId::PcProbes,
            Element::new("pc_probe")
                .with_attr("enabled", "false")
                .with_child(item("b", "1"))
                .with_child(item("a", "1"))
                .with_child(item("b", "3")),
        );
        let p = section_plan(SectionId::PcProbes, Action::Replaced, Some(&before), Some(&after));
        assert!(p.reordered);
        assert!(p.added.is_empty() && p.removed.is_empty());
        assert_eq!(p.changed.len(), 1);
        assert_eq!(p.changed[0].id, "b");
        assert_eq!(p.settings, [FieldChange { field: "enabled".into(), secret: false }]);
        assert!(!p.is_noop());
    }
}
