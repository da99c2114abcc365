//! The rules of a bundle's header (the attributes of `<jims_export>`, the members of
//! `jims_export` in JSON): the fields with a closed set of values, no password, and the shape
//! of the fields of a bundle sealed to recipients.
//!
//! A reader calls [`check_field`] on each field as it meets it (or [`check_field_name`] and
//! [`check_field_value`] as it meets the name and the value), so that a refusal points at that
//! field, and [`check_sealed_to`] once the header is read.

use super::error::{Error, ErrorKind};
use crate::element::is_secret_attribute;
use crate::export::{FORMAT_VERSION, Header, PasswordsMode, Scope};
use crate::text::quoted;

/// The header field that says which version of the format a bundle is written in.
pub const FORMAT_VERSION_FIELD: &str = "format_version";
/// The header field that says whether a bundle holds every section.
pub const SCOPE_FIELD: &str = "scope";
/// The header field that says whether a bundle carries its passwords.
pub const PASSWORDS_FIELD: &str = "passwords";

/// Checks the header field `name` with the value `value` (for a JSON number, its digits as
/// written): [`check_field_name`], then [`check_field_value`].
pub fn check_field(name: &str, value: &str) -> Result<(), Error> {
    check_field_name(name)?;
    check_field_value(name, value)
}

/// Checks the name of a header field, before its value is read: a password-like name is
/// refused (the header holds no password, and jimsctl would pass it on unsealed).
pub fn check_field_name(name: &str) -> Result<(), Error> {
    if !is_secret_attribute(name) {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::MisplacedSecret,
        format!(
            "the header field {name}: the header of a bundle holds no password; jimsctl would \
             pass it on unsealed, so it refuses it: remove it"
        ),
    ))
}

/// Checks the value of the header field `name`: `format_version` must be [`FORMAT_VERSION`];
/// `scope` and `passwords` must be one of their words. Any other field is kept as it is.
pub fn check_field_value(name: &str, value: &str) -> Result<(), Error> {
    match name {
        FORMAT_VERSION_FIELD if value != FORMAT_VERSION => Err(Error::new(
            ErrorKind::UnsupportedVersion,
            format!(
                "unknown format_version {}; this jimsctl reads version {FORMAT_VERSION}",
                shown(value)
            ),
        )),
        SCOPE_FIELD if Scope::parse(value).is_none() => Err(Error::new(
            ErrorKind::InvalidHeader,
            format!("invalid scope {}: it must be \"full\" or \"partial\"", quoted(value)),
        )),
        PASSWORDS_FIELD if PasswordsMode::parse(value).is_none() => Err(Error::new(
            ErrorKind::InvalidHeader,
            format!("invalid passwords {}: it must be \"included\" or \"omitted\"", quoted(value)),
        )),
        _ => Ok(()),
    }
}

/// Checks the shape of the fields of a bundle sealed to recipients (`export --to`: `key_wrap`,
/// `data_key_id`, `recipient_N`), once the whole header is read; the import checks that they
/// are authentic.
pub fn check_sealed_to(header: &Header) -> Result<(), Error> {
    match header.sealed_to() {
        Ok(_) => Ok(()),
        Err(e) => Err(Error::new(
            ErrorKind::InvalidHeader,
            format!("{e}; the header of a sealed bundle cannot be edited, export it again"),
        )),
    }
}

/// A value shown bare when it is short and plain (`2`, `1.0`), else quoted and escaped.
fn shown(v: &str) -> String {
    if !v.is_empty() && v.len() <= 20 && v.bytes().all(|b| b.is_ascii_graphic() && b != b'"') {
        v.to_owned()
    } else {
        quoted(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::element::Attribute;

    #[test]
    fn fields_with_closed_values() {
        for (name, value) in [
            ("format_version", "1"),
            ("scope", "full"),
            ("scope", "partial"),
            ("passwords", "included"),
            ("passwords", "omitted"),
            ("server_id", "anything"),
            ("x-vendor", ""),
        ] {
            assert_eq!(check_field(name, value), Ok(()), "{name}={value}");
        }
        let refused = |name: &str, value: &str| check_field(name, value).unwrap_err();
        let e = refused("format_version", "2");
        assert_eq!(e.kind(), &ErrorKind::UnsupportedVersion);
        assert_eq!(e.message(), "unknown format_version 2; this jimsctl reads version 1");
        assert_eq!(
            refused("format_version", "1 \u{1b}[2J").message(),
            "unknown format_version \"1 \\x1b[2J\"; this jimsctl reads version 1"
        );
        let e = refused("scope", "most");
        assert_eq!(e.kind(), &ErrorKind::InvalidHeader);
        assert_eq!(e.message(), "invalid scope \"most\": it must be \"full\" or \"partial\"");
        let e = refused("passwords", "yes");
        assert_eq!(
            e.message(),
            "invalid passwords \"yes\": it must be \"included\" or \"omitted\""
        );
    }

    #[test]
    fn a_password_in_the_header_is_refused_without_its_value() {
        for name in ["password", "fswSpi1"] {
            let e = check_field(name, "hunter2").unwrap_err();
            assert_eq!(e.kind(), &ErrorKind::MisplacedSecret);
            assert!(e.message().contains("the header of a bundle holds no password"), "{e}");
            assert!(!e.message().contains("hunter2"), "{e}");
        }
    }

    #[test]
    fn sealed_to_fields_are_checked_together() {
        let mut header = Header::default();
        assert_eq!(check_sealed_to(&header), Ok(()));
        header.attributes.push(Attribute::new("key_wrap", "x"));
        let e = check_sealed_to(&header).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::InvalidHeader);
        assert!(
            e.message()
                .ends_with("the header of a sealed bundle cannot be edited, export it again")
        );
    }
}
