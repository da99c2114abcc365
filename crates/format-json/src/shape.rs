//! The mapping rules that the reader and the writer share, so that they cannot drift apart.

use model::{Element, SectionId};

/// The member that holds a section's root element when the short form cannot say it all.
pub(crate) const ROOT_MEMBER: &str = "$root";
/// The member that holds an element's text.
pub(crate) const TEXT_MEMBER: &str = "#text";
/// The member that holds an element's children in document order, each entry a one-member
/// object `{"name": {…}}`, when they cannot be members of the element's object (see
/// [`children_as_members`]).
pub(crate) const CHILDREN_MEMBER: &str = "#children";
/// The member of `pc_probes` that holds its credentials.
pub(crate) const CREDENTIALS_MEMBER: &str = "credentials";
/// The header member that holds the sections.
pub(crate) const SECTIONS_MEMBER: &str = "sections";
/// The top-level member.
pub(crate) const TOP_MEMBER: &str = "jims_export";
/// The name of the password child element and of the password attribute.
pub(crate) const PASSWORD: &str = "password";
/// The attribute of a `<password>` element that holds the secret.
pub(crate) const FSW_ATTRIBUTE: &str = "fswSpi1";
/// Where an element sits, as far as the password shortcut cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ctx {
    /// Anywhere else.
    Plain,
    /// The root of `srx_clients` (`SRXes`).
    SrxRoot,
    /// An `SRX` item.
    SrxItem,
    /// The root of `cso_clients` (`CSOs`).
    CsoRoot,
    /// An element whose `<password fswSpi1="…"/>` child is the string member `password`:
    /// `oAuth` or `webapi` under an `SRX` item, or a `CSO` item.
    Holder,
}

impl Ctx {
    /// The context of the root element of section `id`.
    pub(crate) fn root(id: SectionId) -> Ctx {
        match id {
            SectionId::SrxClients => Ctx::SrxRoot,
            SectionId::CsoClients => Ctx::CsoRoot,
            _ => Ctx::Plain,
        }
    }

    /// The context of a child named `name` of an element in this context.
    pub(crate) fn child(self, name: &str) -> Ctx {
        match (self, name) {
            (Ctx::SrxRoot, "SRX") => Ctx::SrxItem,
            (Ctx::SrxItem, "oAuth" | "webapi") | (Ctx::CsoRoot, "CSO") => Ctx::Holder,
            _ => Ctx::Plain,
        }
    }
}

/// How a section is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// An array of items (or `{"$root": …}`).
    List,
    /// `pc_probes`: attributes and a `credentials` array.
    PcProbes,
    /// `session`: the one `config` object.
    Session,
    /// `transports`: one list value per native file.
    Transports,
}

impl Shape {
    /// The shape of section `id`.
    pub(crate) fn of(id: SectionId) -> Shape {
        match id {
            SectionId::PcProbes => Shape::PcProbes,
            SectionId::Session => Shape::Session,
            SectionId::Transports => Shape::Transports,
            _ => Shape::List,
        }
    }
}

/// Whether a name must be written `@name` wherever it stands for an attribute.
pub(crate) fn has_reserved_prefix(name: &str) -> bool {
    name.starts_with(['@', '#'])
}

/// Whether the children of an element can be written as members named after them without
/// writing any member name twice and without a name that reads as a reserved member: every
/// name's occurrences are adjacent (a run of one name is one array member) and no name starts
/// with `@` or `#`. Otherwise they are written in order under [`CHILDREN_MEMBER`].
pub(crate) fn children_as_members(children: &[Element]) -> bool {
    /// Up to this many runs, earlier runs are searched in place; beyond, sorted.
    const SCAN_RUNS: usize = 32;
    let mut runs = 0usize;
    for (i, c) in children.iter().enumerate() {
        if has_reserved_prefix(&c.name) {
            return false;
        }
        if i > 0 && children[i - 1].name == c.name {
            continue;
        }
        runs += 1;
        if runs > SCAN_RUNS {
            break;
        }
        // A new run: its name must not have started an earlier one.
        let earlier = &children[..i];
        if earlier.iter().any(|e| e.name == c.name) {
            return false;
        }
    }
    if runs <= SCAN_RUNS {
        return true;
    }
    let mut names: Vec<&str> = Vec::with_capacity(children.len());
    for (i, c) in children.iter().enumerate() {
        if has_reserved_prefix(&c.name) {
            return false;
        }
        if i == 0 || children[i - 1].name != c.name {
            names.push(&c.name);
        }
    }
    names.sort_unstable();
    names.windows(2).all(|w| w[0] != w[1])
}

/// Whether a member `name` of an element in context `ctx` is the password shortcut: the string
/// that stands for a `<password fswSpi1="…"/>` child of a holder.
pub(crate) fn is_shortcut_member(ctx: Ctx, name: &str) -> bool {
    ctx == Ctx::Holder && name == PASSWORD
}

/// Whether `e` has no attributes, no children and no text: it is written `{}`.
pub(crate) fn is_bare(e: &Element) -> bool {
    e.attributes.is_empty() && e.children.is_empty() && e.text.is_none()
}

/// The secret of `e` if it is a `<password fswSpi1="…"/>` element that the shortcut may write
/// as a plain string: exactly that one attribute, no children, no text.
pub(crate) fn shortcut_secret(e: &Element) -> Option<&str> {
    match e.attributes.as_slice() {
        [a] if e.name == PASSWORD
            && a.name == FSW_ATTRIBUTE
            && e.children.is_empty()
            && e.text.is_none() =>
        {
            Some(&a.value)
        }
        _ => None,
    }
}

/// Whether the holder `e` (in [`Ctx::Holder`]) writes its password child as a string: it has no
/// `password` attribute and exactly one `password` child, and that child qualifies.
pub(crate) fn holder_uses_shortcut(e: &Element) -> bool {
    if e.attributes.iter().any(|a| a.name == PASSWORD) {
        return false;
    }
    let mut found = None;
    for c in e.children.iter().filter(|c| c.name == PASSWORD) {
        if found.is_some() {
            return false;
        }
        found = Some(c);
    }
    found.and_then(shortcut_secret).is_some()
}

/// Whether `root` can be written as the array of its items.
pub(crate) fn is_plain_list(root: &Element, item_name: &str) -> bool {
    root.attributes.is_empty()
        && root.text.is_none()
        && root.children.iter().all(|c| c.name == item_name)
}

/// Whether the `pc_probe` root can be written as attributes and a `credentials` array.
pub(crate) fn is_plain_pc_probes(root: &Element) -> bool {
    root.text.is_none() && root.children.iter().all(|c| c.name == SectionId::PcProbes.item_name())
}

/// Whether a `pc_probes` attribute of this name must be written `@name`.
pub(crate) fn pc_probes_attribute_needs_at(name: &str) -> bool {
    has_reserved_prefix(name) || name == CREDENTIALS_MEMBER || name == ROOT_MEMBER
}

/// Whether a header attribute of this name must be written `@name`.
pub(crate) fn header_attribute_needs_at(name: &str) -> bool {
    has_reserved_prefix(name) || name == SECTIONS_MEMBER
}

/// The `config` element of a `cache` root that can be written as the one `config` object.
///
/// A bare `config` (no attributes, children or text) cannot: it would be written `{}`, which is
/// how a bare `cache` root is written (see [`session_is_bare`]); it takes the `$root` fallback.
pub(crate) fn plain_session_config(root: &Element) -> Option<&Element> {
    let config = match root.children.as_slice() {
        [config] if root.attributes.is_empty() && root.text.is_none() => config,
        _ => return None,
    };
    if config.name != SectionId::Session.item_name()
        || is_bare(config)
        || looks_like_root_fallback(config)
    {
        return None;
    }
    Some(config)
}

/// Whether the `cache` root is bare (a freshly initialised server's `<cache/>`): it is written
/// as the empty object `{}`, and `{}` reads back as it.
pub(crate) fn session_is_bare(root: &Element) -> bool {
    is_bare(root)
}

/// Whether a `config` element read from the `session` value is really the `{"$root": …}`
/// fallback: no attributes, no text and one child named `$root`.
pub(crate) fn looks_like_root_fallback(config: &Element) -> bool {
    config.attributes.is_empty()
        && config.text.is_none()
        && matches!(config.children.as_slice(), [only] if only.name == ROOT_MEMBER)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holder_contexts() {
        assert_eq!(Ctx::root(SectionId::SrxClients).child("SRX").child("oAuth"), Ctx::Holder);
        assert_eq!(Ctx::root(SectionId::SrxClients).child("SRX").child("webapi"), Ctx::Holder);
        assert_eq!(Ctx::root(SectionId::SrxClients).child("SRX").child("query"), Ctx::Plain);
        assert_eq!(Ctx::root(SectionId::SrxClients).child("oAuth"), Ctx::Plain);
        assert_eq!(Ctx::root(SectionId::CsoClients).child("CSO"), Ctx::Holder);
        assert_eq!(Ctx::root(SectionId::Templates).child("template"), Ctx::Plain);
    }

    #[test]
    fn shortcut_only_for_a_lone_simple_password() {
        let pw = Element::new("password").with_attr("fswSpi1", "{fsw} 1,ab");
        let holder = Element::new("oAuth").with_attr("id", "x").with_child(pw.clone());
        assert!(holder_uses_shortcut(&holder));
        assert!(!holder_uses_shortcut(&holder.clone().with_attr("password", "")));
        assert!(!holder_uses_shortcut(&holder.with_child(pw.clone())));
        assert!(!holder_uses_shortcut(
            &Element::new("oAuth").with_child(pw.clone().with_attr("other", "1"))
        ));
        assert!(!holder_uses_shortcut(&Element::new("oAuth").with_child(Element::new("password"))));
        let mut with_text = pw;
        with_text.text = Some("t".into());
        assert!(!holder_uses_shortcut(&Element::new("oAuth").with_child(with_text)));
    }

    #[test]
    fn children_are_members_only_without_a_repeated_name() {
        let of =
            |names: &[&str]| -> Vec<Element> { names.iter().map(|n| Element::new(*n)).collect() };
        assert!(children_as_members(&[]));
        assert!(children_as_members(&of(&["a", "a", "b", "c", "c"])));
        assert!(!children_as_members(&of(&["a", "b", "a"])));
        assert!(!children_as_members(&of(&["filter", "tag", "filter"])));
        assert!(!children_as_members(&of(&["#children"])));
        assert!(!children_as_members(&of(&["a", "@a"])));
        let many: Vec<String> = (0..100).map(|i| format!("n{i}")).collect();
        let mut names: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(children_as_members(&of(&names)));
        names.push("n50");
        assert!(!children_as_members(&of(&names)));
        names.pop();
        names.push("#text");
        assert!(!children_as_members(&of(&names)));
    }

    #[test]
    fn bare_session_and_bare_config() {
        let cache = Element::new("cache");
        assert!(session_is_bare(&cache));
        let with_config = cache.clone().with_child(Element::new("config"));
        assert!(!session_is_bare(&with_config));
        assert_eq!(plain_session_config(&with_config), None);
        let config = Element::new("config").with_attr("a", "1");
        assert_eq!(plain_session_config(&cache.with_child(config.clone())), Some(&config));
    }
}
