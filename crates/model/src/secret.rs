//! Secret fields: where the passwords of a configuration live, what state each is in, and the
//! keys by which a missing one is looked up.

use std::borrow::Cow;
use std::fmt;

use crate::element::Element;
use crate::section::{Configuration, Section, SectionId};

/// The state of a secret field, decided from its raw text (see docs/configuration.md,
/// "Passwords").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretState<'a> {
    /// Absent or empty.
    Missing,
    /// Text with no `{scheme}` prefix: a plaintext password.
    Plaintext,
    /// `{capi} 1,<hex>`: a Windows DPAPI blob, bound to the machine that wrote it.
    Capi,
    /// `{fsw} 1,<hex>`: JIMS's internal form, bound to the server that wrote it.
    Fsw,
    /// `{aesgcm} 1,<key id>,<hex>`: sealed by this project under the key `key_id`; `None` when
    /// the value does not have that form (a corrupt value).
    Sealed {
        /// The key id inside the value, when it could be read.
        key_id: Option<&'a str>,
    },
    /// `{other} …`: a scheme this project does not know; treated like `{fsw}`.
    Unknown {
        /// The scheme's name, without braces.
        scheme: &'a str,
    },
}

impl SecretState<'_> {
    /// Classifies a raw secret value.
    ///
    /// A value that starts with `{scheme}` (letters, digits or `_`) has that scheme, whether or
    /// not a space follows: so `{aesgcm}1,x,y` is a corrupt sealed value, never a plaintext
    /// password to seal.
    pub fn classify(raw: &str) -> SecretState<'_> {
        if raw.is_empty() {
            return SecretState::Missing;
        }
        let Some((scheme, rest)) = split_scheme(raw) else {
            return SecretState::Plaintext;
        };
        match scheme {
            "capi" => SecretState::Capi,
            "fsw" => SecretState::Fsw,
            "aesgcm" => SecretState::Sealed {
                key_id: SealedParts::parse_after_scheme(rest).map(|p| p.key_id),
            },
            other => SecretState::Unknown { scheme: other },
        }
    }

    /// A short name of the state, for plans and reports (never the value).
    pub fn label(&self) -> &'static str {
        match self {
            SecretState::Missing => "missing",
            SecretState::Plaintext => "plaintext",
            SecretState::Capi => "capi",
            SecretState::Fsw => "fsw",
            SecretState::Sealed { .. } => "aesgcm",
            SecretState::Unknown { .. } => "unknown-scheme",
        }
    }
}

/// Splits `{scheme}rest` into `("scheme", "rest")` (`rest` keeps its leading space, if any);
/// `None` if `raw` does not start with a `{scheme}` prefix.
fn split_scheme(raw: &str) -> Option<(&str, &str)> {
    let body = raw.strip_prefix('{')?;
    let close = body.find('}')?;
    let scheme = &body[..close];
    if scheme.is_empty() || !scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return None;
    }
    Some((scheme, &body[close + 1..]))
}

/// The parts of a sealed value, `{aesgcm} 1,<key id>,<hex>`, borrowed from its text: the one
/// parser of that form (the model classifies with it, `crypto` opens with it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SealedParts<'a> {
    /// The id of the key the value is sealed under (non-empty, letters and digits only).
    pub key_id: &'a str,
    /// The payload: nonce, ciphertext and tag as hex digits (non-empty).
    pub hex: &'a str,
}

impl<'a> SealedParts<'a> {
    /// The prefix every sealed value starts with, up to its key id.
    pub const PREFIX: &'static str = "{aesgcm} 1,";

    /// Splits `raw` when it is exactly `{aesgcm} 1,<key id>,<hex>`: a non-empty key id of
    /// letters and digits, then one comma, then one or more hex digits. `None` for anything
    /// else.
    pub fn parse(raw: &'a str) -> Option<SealedParts<'a>> {
        Self::parse_after_scheme(raw.strip_prefix("{aesgcm}")?)
    }

    /// As [`SealedParts::parse`], given what follows `{aesgcm}`.
    fn parse_after_scheme(rest: &'a str) -> Option<SealedParts<'a>> {
        let (key_id, hex) = rest.strip_prefix(" 1,")?.split_once(',')?;
        let hex_ok = !hex.is_empty() && all_hex_digits(hex.as_bytes());
        // A key id is 16 hex digits; anything but letters and digits (a control character
        // above all, which messages naming the key id would print) makes the value corrupt.
        let id_ok = !key_id.is_empty() && key_id.bytes().all(|b| b.is_ascii_alphanumeric());
        (id_ok && hex_ok).then_some(SealedParts { key_id, hex })
    }
}

/// Whether every byte of `b` is an ASCII hex digit. Without an early exit, so that the
/// compiler can check many bytes at once: every sealed value is classified several times per
/// import.
fn all_hex_digits(b: &[u8]) -> bool {
    b.iter().fold(true, |ok, &c| {
        let lower = c | 0x20;
        ok & ((c.wrapping_sub(b'0') < 10) | (lower.wrapping_sub(b'a') < 6))
    })
}

/// How a secret is written in its holder element.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SecretSlot {
    /// A `password="…"` attribute.
    Attribute,
    /// A child element `<password fswSpi1="…"/>`.
    Child,
}

/// Where a secret field lives in a [`Configuration`]: stable while the configuration's shape is
/// not changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FieldLocation {
    /// The section.
    pub section: SectionId,
    /// Index of the native file in [`Section::files`].
    pub file: usize,
    /// Index of the item in its root's children.
    pub item: usize,
    /// Index of the holder element in the item's children; `None` when the item holds the
    /// secret itself.
    pub holder: Option<usize>,
    /// Attribute or child element.
    pub slot: SecretSlot,
}

/// A key by which a secret is looked up in a secret source, e.g. `event_sources/DC1`,
/// `templates/ad-readers` or `account/CORP\svc`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SecretKey(String);

impl SecretKey {
    /// The item key: `<section>/<item id>`, with `/<field>` for SRX clients.
    pub fn item(section: SectionId, item_id: &str, field: &str) -> SecretKey {
        // `concat` sizes the text once; these keys are built for every row of every import.
        if section == SectionId::SrxClients {
            SecretKey([section.as_str(), "/", item_id, "/", field].concat())
        } else {
            SecretKey([section.as_str(), "/", item_id].concat())
        }
    }

    /// The template key: `templates/<template id>`.
    pub fn template(template_id: &str) -> SecretKey {
        SecretKey(["templates/", template_id].concat())
    }

    /// The account key: `account/<username>`.
    pub fn account(username: &str) -> SecretKey {
        SecretKey(["account/", username].concat())
    }

    /// A key from its text form.
    pub fn from_text(text: impl Into<String>) -> SecretKey {
        SecretKey(text.into())
    }

    /// The key's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One secret field of a configuration, with what a person needs to recognise it (the
/// columns of the Add Missing Passwords table) and where it lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretField {
    /// Where the value lives.
    pub location: FieldLocation,
    /// The item's id.
    pub item_id: String,
    /// The field's name, bound into sealed values: `password`, or `oauth` / `webapi` for SRX
    /// clients.
    pub field: &'static str,
    /// The Data Type column: `domain_controller`, `active_directory`, a template's kind,
    /// `credential`, `oauth`, `webapi`, `cso`.
    pub data_type: String,
    /// The Data column: server, address or id.
    pub data: String,
    /// The Username column: the holder's own user name, else its template's.
    pub username: Option<String>,
    /// The template the item is based on.
    pub template: Option<String>,
}

impl SecretField {
    /// The section the field belongs to.
    pub fn section(&self) -> SectionId {
        self.location.section
    }

    /// The lookup keys, most specific first: item, template, account.
    pub fn keys(&self) -> Vec<SecretKey> {
        let count = 1 + usize::from(self.template.is_some()) + usize::from(self.username.is_some());
        let mut keys = Vec::with_capacity(count);
        keys.push(SecretKey::item(self.section(), &self.item_id, self.field));
        if let Some(t) = &self.template {
            keys.push(SecretKey::template(t));
        }
        if let Some(u) = &self.username {
            keys.push(SecretKey::account(u));
        }
        keys
    }

    /// The additional data that binds a sealed value to this field: section, item and field.
    pub fn binding(&self) -> String {
        [self.section().as_str(), "\0", &self.item_id, "\0", self.field].concat()
    }
}

/// How the holders of one section are found, and what their table columns are.
pub(crate) struct HolderSpec {
    /// The holder's element name(s); empty means the item itself.
    pub(crate) names: &'static [&'static str],
    /// Slot used when the holder has no secret yet.
    default_slot: SecretSlot,
    field: &'static str,
}

pub(crate) fn holder_specs(section: SectionId) -> &'static [HolderSpec] {
    use SecretSlot::{Attribute, Child};
    match section {
        SectionId::EventSources => &[HolderSpec {
            names: &["domain_controller", "exchange_server"],
            default_slot: Attribute,
            field: "password",
        }],
        SectionId::UserDirectories => &[HolderSpec {
            names: &["active_directory"],
            default_slot: Attribute,
            field: "password",
        }],
        SectionId::Templates | SectionId::PcProbes => {
            &[HolderSpec { names: &[], default_slot: Attribute, field: "password" }]
        }
        SectionId::SrxClients => &[
            HolderSpec { names: &["oAuth"], default_slot: Child, field: "oauth" },
            HolderSpec { names: &["webapi"], default_slot: Child, field: "webapi" },
        ],
        SectionId::CsoClients => {
            &[HolderSpec { names: &[], default_slot: Child, field: "password" }]
        }
        SectionId::SyslogSources
        | SectionId::Session
        | SectionId::Transports
        | SectionId::AdminClients => &[],
    }
}

/// Whether items of `section` may name a template, and the template `kind` they need.
pub fn template_kind_for(section: SectionId) -> Option<&'static str> {
    match section {
        SectionId::EventSources => Some("event_source"),
        SectionId::UserDirectories => Some("user_directory"),
        SectionId::PcProbes => Some("pc_probe"),
        _ => None,
    }
}

fn slot_of(holder: &Element, default: SecretSlot) -> SecretSlot {
    if holder.child("password").is_some() {
        SecretSlot::Child
    } else if holder.attr("password").is_some() {
        SecretSlot::Attribute
    } else {
        default
    }
}

/// The secret fields of one section, in document order.
pub fn section_secret_fields(
    section: &Section,
    config: Option<&Configuration>,
) -> Vec<SecretField> {
    let mut out = Vec::new();
    push_secret_fields(section, config, &mut out);
    out
}

/// Appends the secret fields of `section` to `out`, in document order.
fn push_secret_fields<'s>(
    section: &'s Section,
    config: Option<&Configuration>,
    out: &mut Vec<SecretField>,
) {
    let specs = holder_specs(section.id);
    if specs.is_empty() {
        return;
    }
    let templates = config.and_then(|c| c.get(SectionId::Templates));
    let mut last_template: Option<(&str, Option<&str>)> = None;
    for (file, item_index, item) in section.items() {
        let item_id = item.attr("id").unwrap_or_default().to_owned();
        let template_name = template_kind_for(section.id).and(item.non_empty_attr("template"));
        let template = template_name.map(str::to_owned);
        let template_user = template_name.and_then(|t| match last_template {
            // Items often share a template: look it up once for a run of them.
            Some((name, user)) if name == t => user,
            _ => {
                let user =
                    templates.and_then(|s| s.item(t)).and_then(|t| t.non_empty_attr("username"));
                last_template = Some((t, user));
                user
            }
        });
        let template_user = template_user.map(str::to_owned);
        let field = |(holder_index, holder, spec): Holder<'s>,
                     item_id: String,
                     template: Option<String>,
                     template_user: Cow<'_, Option<String>>| {
            let (data_type, data, own_user) = columns(section.id, item, holder);
            SecretField {
                location: FieldLocation {
                    section: section.id,
                    file,
                    item: item_index,
                    holder: holder_index,
                    slot: slot_of(holder, spec.default_slot),
                },
                item_id,
                field: spec.field,
                data_type,
                data,
                username: own_user.or_else(|| template_user.into_owned()),
                template,
            }
        };
        // Each holder is pushed once the next one is found, with copies of the item's texts;
        // the last one (usually the only one) takes them.
        let mut pending: Option<Holder<'s>> = None;
        let mut found = |holder: Holder<'s>| {
            if let Some(previous) = pending.replace(holder) {
                let user = Cow::Borrowed(&template_user);
                out.push(field(previous, item_id.clone(), template.clone(), user));
            }
        };
        // The item itself first, then its holders in the order of its children, whatever
        // their kinds (an SRX's `webapi` may come before its `oAuth`).
        for spec in specs.iter().filter(|s| s.names.is_empty()) {
            found((None, item, spec));
        }
        if specs.iter().any(|s| !s.names.is_empty()) {
            for (h, holder) in item.children.iter().enumerate() {
                let name = holder.name.as_str();
                if let Some(spec) = specs.iter().find(|s| s.names.contains(&name)) {
                    found((Some(h), holder, spec));
                }
            }
        }
        if let Some(last) = pending {
            out.push(field(last, item_id, template, Cow::Owned(template_user)));
        }
    }
}

/// A holder of a secret: its index in the item's children (`None`: the item itself), the
/// element, and how its secret is written.
type Holder<'a> = (Option<usize>, &'a Element, &'static HolderSpec);

/// The Data Type, Data and own Username of a holder.
fn columns(
    section: SectionId,
    item: &Element,
    holder: &Element,
) -> (String, String, Option<String>) {
    let attr = |e: &Element, n: &str| e.attr(n).unwrap_or_default().to_owned();
    let user = |e: &Element, n: &str| e.non_empty_attr(n).map(str::to_owned);
    match section {
        SectionId::EventSources | SectionId::UserDirectories => {
            (holder.name.clone(), attr(holder, "server"), user(holder, "username"))
        }
        SectionId::Templates => (attr(item, "kind"), attr(item, "id"), user(item, "username")),
        SectionId::PcProbes => ("credential".into(), attr(item, "id"), user(item, "username")),
        SectionId::SrxClients if holder.name == "oAuth" => {
            ("oauth".into(), attr(item, "address"), user(holder, "id"))
        }
        SectionId::SrxClients => ("webapi".into(), attr(item, "address"), user(holder, "user")),
        SectionId::CsoClients => ("cso".into(), attr(item, "address"), user(item, "username")),
        _ => (String::new(), String::new(), None),
    }
}

impl Configuration {
    /// Every secret field, in the order of the Add Missing Passwords table: sections in the
    /// order of docs/configuration.md's sections table, items in file order, fields in the order of
    /// their elements.
    pub fn secret_fields(&self) -> Vec<SecretField> {
        // One vector for every section, rather than one per section copied into another, sized
        // once for up to one field per holder kind and child of a root: a field is a couple of
        // hundred bytes, which growing step by step would copy again at every step.
        let expected = self
            .sections()
            .iter()
            .map(|s| {
                let children: usize = s.files.iter().map(|f| f.root.children.len()).sum();
                holder_specs(s.id).len() * children
            })
            .sum();
        let mut out = Vec::with_capacity(expected);
        for section in self.sections_in_table_order() {
            push_secret_fields(section, Some(self), &mut out);
        }
        out
    }

    fn holder(&self, loc: &FieldLocation) -> Option<&Element> {
        let item = self.get(loc.section)?.files.get(loc.file)?.root.children.get(loc.item)?;
        match loc.holder {
            None => Some(item),
            Some(h) => item.children.get(h),
        }
    }

    fn holder_mut(&mut self, loc: &FieldLocation) -> Option<&mut Element> {
        let item =
            self.get_mut(loc.section)?.files.get_mut(loc.file)?.root.children.get_mut(loc.item)?;
        match loc.holder {
            None => Some(item),
            Some(h) => item.children.get_mut(h),
        }
    }

    /// The raw text of the secret at `loc` (empty when absent).
    pub fn secret_value(&self, loc: &FieldLocation) -> &str {
        let Some(holder) = self.holder(loc) else { return "" };
        match loc.slot {
            SecretSlot::Attribute => holder.attr("password").unwrap_or_default(),
            SecretSlot::Child => holder
                .child("password")
                .and_then(|p| p.attr("fswSpi1").or(p.text.as_deref()))
                .unwrap_or_default(),
        }
    }

    /// Replaces the raw text of the secret at `loc`; the old text is wiped. Returns `false` if
    /// `loc` does not point into this configuration.
    pub fn set_secret_value(&mut self, loc: &FieldLocation, value: impl Into<String>) -> bool {
        let Some(holder) = self.holder_mut(loc) else { return false };
        match loc.slot {
            SecretSlot::Attribute => holder.set_attr("password", value),
            SecretSlot::Child => {
                if holder.child("password").is_none() {
                    holder.children.push(Element::new("password"));
                }
                let p = holder.child_mut("password").expect("just ensured");
                if p.text.is_some() && p.attr("fswSpi1").is_none() {
                    use zeroize::Zeroize;
                    if let Some(t) = p.text.as_mut() {
                        t.zeroize();
                    }
                    p.text = None;
                }
                p.set_attr("fswSpi1", value);
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_digits_are_told_as_the_standard_library_tells_them() {
        for c in 0..=u8::MAX {
            assert_eq!(all_hex_digits(&[c]), c.is_ascii_hexdigit(), "byte {c:#04x}");
            assert_eq!(all_hex_digits(&[b'a', c, b'0']), c.is_ascii_hexdigit(), "byte {c:#04x}");
        }
        assert!(all_hex_digits(b"0123456789abcdefABCDEF"));
        assert!(!all_hex_digits(b"0123456789abcdefg"));
    }

    #[test]
    fn sealed_parts_are_read_by_one_rule() {
        let parts = SealedParts::parse("{aesgcm} 1,0a1b2c3d4e5f6a7b,00ff").unwrap();
        assert_eq!((parts.key_id, parts.hex), ("0a1b2c3d4e5f6a7b", "00ff"));
        for bad in [
            "{aesgcm} 1,id,",
            "{aesgcm} 1,,00ff",
            "{aesgcm} 1,id,00,ff",
            "{aesgcm} 1,id,xyz",
            "{aesgcm} 2,id,00ff",
            "{aesgcm}1,id,00ff",
            "{fsw} 1,id,00ff",
        ] {
            assert_eq!(SealedParts::parse(bad), None, "{bad}");
            // The model classifies such a value as a corrupt sealed value, never as plaintext.
            if bad.starts_with("{aesgcm}") {
                assert_eq!(SecretState::classify(bad), SecretState::Sealed { key_id: None });
            }
        }
    }

    #[test]
    fn classify_every_state() {
        assert_eq!(SecretState::classify(""), SecretState::Missing);
        assert_eq!(SecretState::classify("hunter2"), SecretState::Plaintext);
        assert_eq!(SecretState::classify("{capi} 1,01000000d08c"), SecretState::Capi);
        assert_eq!(SecretState::classify("{fsw} 1,c3eb4b"), SecretState::Fsw);
        assert_eq!(
            SecretState::classify("{aesgcm} 1,9f2c4e1a7b3d5c60,abcd"),
            SecretState::Sealed { key_id: Some("9f2c4e1a7b3d5c60") }
        );
        assert_eq!(SecretState::classify("{aesgcm} 2,x,y"), SecretState::Sealed { key_id: None });
        assert_eq!(SecretState::classify("{aesgcm} 1,,y"), SecretState::Sealed { key_id: None });
        assert_eq!(SecretState::classify("{rot13} 1,ab"), SecretState::Unknown { scheme: "rot13" });
        // Braces without the `{scheme}` shape are just a password.
        assert_eq!(SecretState::classify("{not a scheme}"), SecretState::Plaintext);
        assert_eq!(SecretState::classify("{}x"), SecretState::Plaintext);
        assert_eq!(SecretState::classify("{x-y} 1,ab"), SecretState::Plaintext);
        assert_eq!(SecretState::classify("x{fsw} 1,ab"), SecretState::Plaintext);
        assert_eq!(SecretState::classify("{open"), SecretState::Plaintext);
        assert_eq!(SecretState::classify(" {fsw} 1,ab"), SecretState::Plaintext);
    }

    #[test]
    fn a_scheme_prefix_without_a_space_is_still_that_scheme() {
        // Never plaintext: a corrupt blob must not be sealed as if it were the password.
        for corrupt in [
            "{aesgcm}1,9f2c4e1a7b3d5c60,abcd",
            "{aesgcm}1,x,y",
            "{aesgcm}",
            "{aesgcm} ",
            "{aesgcm}  1,9f2c4e1a7b3d5c60,abcd",
            "{aesgcm} 1,9f2c4e1a7b3d5c60,",
            "{aesgcm} 1,9f2c4e1a7b3d5c60,zz",
            "{aesgcm} 1,9f2c4e1a7b3d5c60,ab,cd",
            "{aesgcm} 1,9f2c4e1a7b3d5c60",
            "{aesgcm} 1,9f2c\u{1b}[2J,abcd",
            "{aesgcm} 1,9f2c 4e1a,abcd",
            "{aesgcm} 1,é,abcd",
        ] {
            assert_eq!(
                SecretState::classify(corrupt),
                SecretState::Sealed { key_id: None },
                "{corrupt:?}"
            );
        }
        assert_eq!(SecretState::classify("{capi}"), SecretState::Capi);
        assert_eq!(SecretState::classify("{capi}1,0100"), SecretState::Capi);
        assert_eq!(SecretState::classify("{capi} anything"), SecretState::Capi);
        assert_eq!(SecretState::classify("{fsw}1,abcd"), SecretState::Fsw);
        assert_eq!(SecretState::classify("{fsw}"), SecretState::Fsw);
        assert_eq!(SecretState::classify("{x}y"), SecretState::Unknown { scheme: "x" });
        assert_eq!(SecretState::classify("{rot_13}"), SecretState::Unknown { scheme: "rot_13" });
        assert_eq!(
            SecretState::classify("{AESGCM} 1,a,b"),
            SecretState::Unknown { scheme: "AESGCM" }
        );
    }

    fn srx_section() -> Section {
        let srx = Element::new("SRX")
            .with_attr("id", "SRX1")
            .with_attr("address", "10.0.1.1")
            .with_child(
                Element::new("oAuth")
                    .with_attr("id", "srx-edge")
                    .with_child(Element::new("password").with_attr("fswSpi1", "{fsw} 1,c3")),
            )
            .with_child(Element::new("webapi").with_attr("user", "api"))
            .with_child(Element::new("query"));
        Section::single(SectionId::SrxClients, Element::new("SRXes").with_child(srx))
    }

    #[test]
    fn srx_fields_have_field_keys_and_child_slots() {
        let mut c = Configuration::new();
        c.insert(srx_section());
        let fields = c.secret_fields();
        assert_eq!(fields.len(), 2);
        assert_eq!(fields[0].keys()[0].as_str(), "srx_clients/SRX1/oauth");
        assert_eq!(fields[0].username.as_deref(), Some("srx-edge"));
        assert_eq!(fields[1].keys()[0].as_str(), "srx_clients/SRX1/webapi");
        assert_eq!(fields[1].keys()[1].as_str(), "account/api");
        assert_eq!(c.secret_value(&fields[0].location), "{fsw} 1,c3");
        assert_eq!(c.secret_value(&fields[1].location), "");
        assert!(c.set_secret_value(&fields[1].location, "new"));
        let webapi =
            c.get(SectionId::SrxClients).unwrap().files[0].root.children[0].children[1].clone();
        assert_eq!(webapi.child("password").unwrap().attr("fswSpi1"), Some("new"));
    }

    #[test]
    fn srx_fields_follow_the_order_of_the_children() {
        let srx = Element::new("SRX")
            .with_attr("id", "SRX1")
            .with_attr("address", "10.0.1.1")
            .with_child(Element::new("query"))
            .with_child(Element::new("webapi").with_attr("user", "api"))
            .with_child(Element::new("oAuth").with_attr("id", "srx-edge"));
        let mut c = Configuration::new();
        c.insert(Section::single(SectionId::SrxClients, Element::new("SRXes").with_child(srx)));
        let seen: Vec<_> = c
            .secret_fields()
            .into_iter()
            .map(|f| (f.field, f.data_type, f.username, f.location.holder))
            .collect();
        assert_eq!(
            seen,
            [
                ("webapi", "webapi".to_owned(), Some("api".to_owned()), Some(1)),
                ("oauth", "oauth".to_owned(), Some("srx-edge".to_owned()), Some(2)),
            ]
        );
    }

    #[test]
    fn every_holder_of_an_item_gets_its_texts_and_shared_templates_their_user() {
        let mut c = Configuration::new();
        c.insert(Section::single(
            SectionId::Templates,
            Element::new("templates")
                .with_child(
                    Element::new("template")
                        .with_attr("id", "t1")
                        .with_attr("kind", "event_source")
                        .with_attr("username", "CORP\\a"),
                )
                .with_child(
                    Element::new("template")
                        .with_attr("id", "t2")
                        .with_attr("kind", "event_source"),
                ),
        ));
        let source = |id: &str, template: &str, servers: &[&str]| {
            let mut e =
                Element::new("event_source").with_attr("id", id).with_attr("template", template);
            for s in servers {
                e = e.with_child(Element::new("domain_controller").with_attr("server", *s));
            }
            e
        };
        c.insert(Section::single(
            SectionId::EventSources,
            Element::new("event_sources")
                .with_child(source("DC1", "t1", &["a", "b"]))
                .with_child(source("DC2", "t1", &["c"]))
                .with_child(source("DC3", "t2", &["d"]))
                .with_child(source("DC4", "t1", &["e"])),
        ));
        let seen: Vec<_> = c
            .secret_fields()
            .into_iter()
            .filter(|f| f.section() == SectionId::EventSources)
            .map(|f| (f.item_id, f.data, f.template, f.username, f.location.holder))
            .collect();
        let t1 = || Some("t1".to_owned());
        let a = || Some("CORP\\a".to_owned());
        assert_eq!(
            seen,
            [
                ("DC1".into(), "a".into(), t1(), a(), Some(0)),
                ("DC1".into(), "b".into(), t1(), a(), Some(1)),
                ("DC2".into(), "c".into(), t1(), a(), Some(0)),
                ("DC3".into(), "d".into(), Some("t2".into()), None, Some(0)),
                ("DC4".into(), "e".into(), t1(), a(), Some(0)),
            ]
        );
    }

    #[test]
    fn template_user_fills_in_and_keys_are_ordered() {
        let mut c = Configuration::new();
        c.insert(Section::single(
            SectionId::Templates,
            Element::new("templates").with_child(
                Element::new("template")
                    .with_attr("id", "t1")
                    .with_attr("kind", "event_source")
                    .with_attr("username", "CORP\\svc"),
            ),
        ));
        c.insert(Section::single(
            SectionId::EventSources,
            Element::new("event_sources").with_child(
                Element::new("event_source")
                    .with_attr("id", "DC1")
                    .with_attr("template", "t1")
                    .with_child(Element::new("domain_controller").with_attr("server", "10.0.0.5")),
            ),
        ));
        let f = &c.secret_fields()[0];
        assert_eq!(f.data_type, "domain_controller");
        assert_eq!(f.data, "10.0.0.5");
        let keys: Vec<_> = f.keys().iter().map(|k| k.to_string()).collect();
        assert_eq!(keys, ["event_sources/DC1", "templates/t1", "account/CORP\\svc"]);
        assert_eq!(f.binding(), "event_sources\0DC1\0password");
    }
}
