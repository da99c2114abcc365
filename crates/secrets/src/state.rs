//! What the import rules make of one secret field, before any value is opened: its value's
//! state, or that it is left to the item's template ([`FieldState`]), and what an import then
//! does with it ([`rule`]). The one reading of "missing" that the Add Missing Passwords table
//! ([`crate::prepare_with`]), `validate`'s counts ([`census`]) and `push`'s counts
//! ([`crate::reveal_for_sending`]) share: an absent or empty password in an item that names a
//! template is not missing, the item uses the template's credentials (docs/configuration.md).

use std::collections::BTreeMap;

use crypto::ServerKey;
use model::{Configuration, SecretField, SecretState};

use crate::table::MissingReason;

/// A secret field as the import rules see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldState<'a> {
    /// Absent or empty in an item that names a template: the item uses the template's
    /// credentials, so the field has no row of its own.
    FromTemplate,
    /// The field's own value, in its state.
    Own(SecretState<'a>),
}

impl<'a> FieldState<'a> {
    /// The state of `field`, whose value is read from `config`.
    pub fn of(config: &'a Configuration, field: &SecretField) -> FieldState<'a> {
        FieldState::from_value(field, config.secret_value(&field.location))
    }

    /// The state of `field` holding `raw`.
    pub fn from_value(field: &SecretField, raw: &'a str) -> FieldState<'a> {
        match SecretState::classify(raw) {
            SecretState::Missing if field.template.is_some() => FieldState::FromTemplate,
            state => FieldState::Own(state),
        }
    }

    /// A short name, for counts and reports (never the value): `template`, or the value's
    /// state (`missing`, `plaintext`, `capi`, `fsw`, `aesgcm`, `unknown-scheme`).
    pub fn label(&self) -> &'static str {
        match self {
            FieldState::FromTemplate => "template",
            FieldState::Own(state) => state.label(),
        }
    }
}

/// What the target of an import is, as far as the rules ask: whether the export comes from it,
/// and which keys it opens values with.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Target<'k> {
    /// The export's `server_key_id` is the target's key id (or one of its retired keys'): its
    /// `{capi}`, `{fsw}` and unknown-scheme values were written here.
    pub(crate) same_server: bool,
    /// The target's current key id; `None` for a new server (no value is under its key).
    pub(crate) key_id: Option<&'k str>,
    /// The `--source-key`'s id (or a sealed bundle's data key's).
    pub(crate) source_id: Option<&'k str>,
    /// The target's retired keys.
    pub(crate) retired: &'k [ServerKey],
}

impl Target<'_> {
    /// A new server: nothing in the export was written by it or under a key it has.
    pub(crate) const NEW_SERVER: Target<'static> =
        Target { same_server: false, key_id: None, source_id: None, retired: &[] };
}

/// What an import does with a field (docs/configuration.md, "What an import does with each
/// state"), before any value is opened.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Rule<'k> {
    /// Left to the item's template: no row.
    Inherit,
    /// Plaintext: sealed with the target's key.
    SealPlain,
    /// Usable as it is (a `{capi}`, `{fsw}` or unknown-scheme value written by the target).
    Keep,
    /// Unusable here: a row of the table.
    Row(MissingReason),
    /// Sealed under the target's current key: opened to check, kept.
    OpenWithTarget,
    /// Sealed under the source key: opened, sealed again under the target's key.
    OpenWithSource,
    /// Sealed under this retired key of the target: opened, sealed again.
    OpenWithRetired(&'k ServerKey),
    /// Starts with `{aesgcm}` but has no readable key id: corrupt.
    Malformed,
}

/// The rule for a field in `state` on `target`.
pub(crate) fn rule<'k>(state: FieldState<'_>, target: &Target<'k>) -> Rule<'k> {
    let state = match state {
        FieldState::FromTemplate => return Rule::Inherit,
        FieldState::Own(state) => state,
    };
    match state {
        SecretState::Missing => Rule::Row(MissingReason::Missing),
        SecretState::Plaintext => Rule::SealPlain,
        SecretState::Capi | SecretState::Fsw | SecretState::Unknown { .. } => {
            if target.same_server { Rule::Keep } else { Rule::Row(MissingReason::OtherServer) }
        }
        SecretState::Sealed { key_id: Some(id) } if target.key_id == Some(id) => {
            Rule::OpenWithTarget
        }
        SecretState::Sealed { key_id: Some(id) } if target.source_id == Some(id) => {
            Rule::OpenWithSource
        }
        SecretState::Sealed { key_id: Some(id) } => {
            match target.retired.iter().find(|k| k.id().as_str() == id) {
                Some(key) => Rule::OpenWithRetired(key),
                None => Rule::Row(MissingReason::ForeignKey),
            }
        }
        SecretState::Sealed { key_id: None } => Rule::Malformed,
    }
}

/// How many secret fields of a configuration are in each state, and how many rows the Add
/// Missing Passwords table of an import into a new server would have.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Census {
    /// Fields by [`FieldState::label`] (a state with no field is absent).
    pub states: BTreeMap<&'static str, usize>,
    /// The rows of `jimsctl passwords FILE` (no `--target`, no `--source-key`): every field
    /// but those left to a template and the plaintext ones (a corrupt sealed value counts: it
    /// is of no use anywhere).
    pub new_server_rows: usize,
}

/// Counts the secret fields of `config` (see [`Census`]), by the rules an import applies.
pub fn census(config: &Configuration) -> Census {
    let mut census = Census::default();
    for field in config.secret_fields() {
        let state = FieldState::of(config, &field);
        *census.states.entry(state.label()).or_insert(0) += 1;
        if matches!(rule(state, &Target::NEW_SERVER), Rule::Row(_) | Rule::Malformed) {
            census.new_server_rows += 1;
        }
    }
    census
}
