//! An export: a header (who wrote it, when, which scope) and a configuration.

use std::fmt;

use crate::element::Attribute;
use crate::section::Configuration;

/// The only `format_version` this project reads and writes.
pub const FORMAT_VERSION: &str = "1";

/// Whether an export holds every section or a subset.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every section.
    Full,
    /// A subset of the sections; the file says which.
    Partial,
}

impl Scope {
    /// The value of the `scope` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Full => "full",
            Scope::Partial => "partial",
        }
    }

    /// Parses a `scope` attribute.
    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "full" => Some(Scope::Full),
            "partial" => Some(Scope::Partial),
            _ => None,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether an export carries its passwords.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum PasswordsMode {
    /// Passwords are in the file (sealed, opaque or plaintext).
    Included,
    /// Exported "without passwords": every secret field is empty.
    Omitted,
}

impl PasswordsMode {
    /// The value of the `passwords` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            PasswordsMode::Included => "included",
            PasswordsMode::Omitted => "omitted",
        }
    }

    /// Parses a `passwords` attribute.
    pub fn parse(s: &str) -> Option<PasswordsMode> {
        match s {
            "included" => Some(PasswordsMode::Included),
            "omitted" => Some(PasswordsMode::Omitted),
            _ => None,
        }
    }
}

/// The header of a bundle: the attributes of `<jims_export>` (the members of `jims_export` in
/// JSON other than `sections`), kept in order, unknown ones included.
///
/// A server folder has no header: it reads as [`Header::default`] (format version 1, scope
/// decided by the sections present, no server id or key id).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// Every header attribute in order.
    pub attributes: Vec<Attribute>,
}

impl Header {
    /// A header with the known attributes in canonical order.
    pub fn new(
        scope: Scope,
        passwords: PasswordsMode,
        server_id: Option<&str>,
        server_key_id: Option<&str>,
        exported_at: Option<&str>,
    ) -> Header {
        let mut attributes = vec![
            Attribute::new("format_version", FORMAT_VERSION),
            Attribute::new("scope", scope.as_str()),
            Attribute::new("passwords", passwords.as_str()),
        ];
        for (name, value) in [
            ("server_id", server_id),
            ("server_key_id", server_key_id),
            ("exported_at", exported_at),
        ] {
            if let Some(v) = value {
                attributes.push(Attribute::new(name, v));
            }
        }
        Header { attributes }
    }

    /// The value of header attribute `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|a| a.name == name).map(|a| a.value.as_str())
    }

    /// Sets header attribute `name` in place, or appends it.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        match self.attributes.iter_mut().find(|a| a.name == name) {
            Some(a) => a.value = value,
            None => self.attributes.push(Attribute::new(name, value)),
        }
    }

    /// `format_version`, if given.
    pub fn format_version(&self) -> Option<&str> {
        self.get("format_version")
    }

    /// `scope`, if given and valid.
    pub fn scope(&self) -> Option<Scope> {
        self.get("scope").and_then(Scope::parse)
    }

    /// `passwords`, if given and valid.
    pub fn passwords(&self) -> Option<PasswordsMode> {
        self.get("passwords").and_then(PasswordsMode::parse)
    }

    /// The exporting server's id, if given and non-empty.
    pub fn server_id(&self) -> Option<&str> {
        self.get("server_id").filter(|s| !s.is_empty())
    }

    /// The exporting server's key id, if given and non-empty.
    pub fn server_key_id(&self) -> Option<&str> {
        self.get("server_key_id").filter(|s| !s.is_empty())
    }

    /// When the export was written, if given.
    pub fn exported_at(&self) -> Option<&str> {
        self.get("exported_at")
    }
}

/// An export: what one file (or one server folder) holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Export {
    /// The bundle's header.
    pub header: Header,
    /// The sections the export holds.
    pub configuration: Configuration,
}

impl Export {
    /// Whether the export is full or partial: the header's word when it has one, else whether
    /// every section is present.
    pub fn scope(&self) -> Scope {
        self.header.scope().unwrap_or(if self.configuration.is_full() {
            Scope::Full
        } else {
            Scope::Partial
        })
    }
}
