//! The Add Missing Passwords table: one [`Row`] per secret field that the export does not carry
//! usably for this target, its counters, and its JSON form ([`TableJson`], the shape of
//! `jimsctl passwords --format json`).

use std::sync::LazyLock;

use model::{FieldLocation, SecretField, SecretKey};
use serde::Serialize;

/// Why a row is in the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MissingReason {
    /// The export holds no password for the field (absent or empty).
    Missing,
    /// The export holds a `{capi}`, `{fsw}` or unknown-scheme value written by another server,
    /// which cannot be opened here.
    OtherServer,
    /// The export holds an `{aesgcm}` value sealed under another server's key, and that key was
    /// not supplied with `--source-key`.
    ForeignKey,
}

impl MissingReason {
    /// A short name for reports: `missing`, `other-server`, `foreign-key`.
    pub fn label(self) -> &'static str {
        match self {
            MissingReason::Missing => "missing",
            MissingReason::OtherServer => "other-server",
            MissingReason::ForeignKey => "foreign-key",
        }
    }
}

/// One row of the table: a secret field that still needs a password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// 1, 2, 3… in document order.
    pub index: usize,
    /// The Type column: `Event Source`, `User Directory`, `Template`, `PC Probe`, `SRX Client`,
    /// `CSO Client`.
    pub type_label: &'static str,
    /// The Data Type column: `domain_controller`, `active_directory`, a template's kind…
    pub data_type: String,
    /// The Data column: server, address or id.
    pub data: String,
    /// The Username column, when there is one.
    pub username: Option<String>,
    /// The template the item is based on.
    pub template: Option<String>,
    /// The lookup keys, most specific first: item, template, account. Never empty.
    pub keys: Vec<SecretKey>,
    /// Where the field lives in the configuration.
    pub location: FieldLocation,
    /// The additional data that binds a sealed value to this field
    /// ([`SecretField::binding`]).
    pub binding: String,
    /// Why the row is here.
    pub reason: MissingReason,
    /// The kind of the source that answered (`env`, `file`, `dir`, `cmd`, `prompt`,
    /// `plugin:NAME`), once the row is fixed; never a source's argument.
    pub source: Option<String>,
}

impl Row {
    /// The row for `field`, numbered `index`. The field's texts move into the row.
    pub fn from_field(index: usize, field: SecretField, reason: MissingReason) -> Row {
        let keys = field.keys();
        let binding = field.binding();
        Row {
            index,
            type_label: field.section().type_label(),
            data_type: field.data_type,
            data: field.data,
            username: field.username,
            template: field.template,
            keys,
            location: field.location,
            binding,
            reason,
            source: None,
        }
    }

    /// Whether a source has answered for this row.
    pub fn is_fixed(&self) -> bool {
        self.source.is_some()
    }

    /// The item key, the most specific one (`event_sources/DC1`, `srx_clients/SRX1/oauth`);
    /// an empty key for a row built by hand with no keys.
    pub fn key(&self) -> &SecretKey {
        static NONE: LazyLock<SecretKey> = LazyLock::new(|| SecretKey::from_text(""));
        self.keys.first().unwrap_or(&NONE)
    }
}

/// The Add Missing Passwords table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Table {
    /// The rows, in document order, numbered from 1.
    pub rows: Vec<Row>,
}

impl Table {
    /// Total: the number of rows.
    pub fn total(&self) -> usize {
        self.rows.len()
    }

    /// Fixed: the rows a source has answered.
    pub fn fixed(&self) -> usize {
        self.rows.iter().filter(|r| r.is_fixed()).count()
    }

    /// Remaining: Total − Fixed.
    pub fn remaining(&self) -> usize {
        self.total() - self.fixed()
    }

    /// The rows still missing, in order.
    pub fn missing(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(|r| !r.is_fixed())
    }

    /// The row numbered `index`, if any.
    pub fn row(&self, index: usize) -> Option<&Row> {
        match self.rows.get(index.wrapping_sub(1)) {
            Some(r) if r.index == index => Some(r),
            _ => self.rows.iter().find(|r| r.index == index),
        }
    }

    /// The row numbered `index`, mutably, if any.
    pub fn row_mut(&mut self, index: usize) -> Option<&mut Row> {
        let at = match self.rows.get(index.wrapping_sub(1)) {
            Some(r) if r.index == index => Some(index - 1),
            _ => self.rows.iter().position(|r| r.index == index),
        };
        at.map(|i| &mut self.rows[i])
    }

    /// The table in the JSON shape of `jimsctl passwords --format json`.
    pub fn to_json(&self) -> TableJson<'_> {
        TableJson {
            total: self.total(),
            fixed: self.fixed(),
            remaining: self.remaining(),
            items: self
                .rows
                .iter()
                .map(|r| ItemJson {
                    index: r.index,
                    type_label: r.type_label,
                    data_type: &r.data_type,
                    data: &r.data,
                    username: r.username.as_deref(),
                    password: if r.is_fixed() { "OK" } else { "missing" },
                    template: r.template.as_deref(),
                    key: r.key().as_str(),
                    source: r.source.as_deref(),
                })
                .collect(),
        }
    }
}

/// `{"total": T, "fixed": F, "remaining": R, "items": [...]}`, as docs/cli.md gives it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TableJson<'a> {
    /// Rows.
    pub total: usize,
    /// Rows answered.
    pub fixed: usize,
    /// Rows still missing.
    pub remaining: usize,
    /// One per row, in order.
    pub items: Vec<ItemJson<'a>>,
}

/// One row in JSON. An absent Username or Template is `null`; `source` is `null` until a
/// source answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ItemJson<'a> {
    /// 1, 2, 3…
    pub index: usize,
    /// The Type column.
    #[serde(rename = "type")]
    pub type_label: &'a str,
    /// The Data Type column.
    pub data_type: &'a str,
    /// The Data column.
    pub data: &'a str,
    /// The Username column, `null` when the row has none.
    pub username: Option<&'a str>,
    /// `missing` or `OK`.
    pub password: &'static str,
    /// The template, or `null`.
    pub template: Option<&'a str>,
    /// The item key.
    pub key: &'a str,
    /// The kind of the source that answered, or `null`.
    pub source: Option<&'a str>,
}
