//! The header fields of a bundle sealed to recipients' public keys (`jimsctl export --to`).
//!
//! Three kinds of header attribute, after the usual ones, in this order:
//!
//! | attribute | value |
//! |---|---|
//! | `key_wrap` | the wrapping suite, `hpke-base-x25519-sha256-aes256gcm` |
//! | `data_key_id` | the id of the export's data key: the key id inside its sealed values |
//! | `recipient_1`, `recipient_2`, … | `<transport key id>,<enc hex>,<wrapped key hex>,<server id>` |
//!
//! A recipient's value holds its transport key's id (16 hex digits), HPKE's encapsulated key
//! (64 hex digits), the wrapped data key (96 hex digits) and the recipient's server id (the
//! rest: it may hold commas). Being plain header attributes, they survive every reader and
//! writer, and XML ⇄ JSON conversion, unchanged and in order.
//!
//! [`Header::authenticated_bytes`] is the additional data each wrap authenticates: every header
//! attribute, in order, names and values, with each recipient reduced to its key id and server
//! id (the wraps cannot cover themselves). So changing, adding, removing or reordering any
//! header field makes every unwrap fail.
//!
//! This module knows the shape of these fields only: it does no crypto.

use crate::export::Header;

/// The header attribute naming the wrapping suite.
pub const KEY_WRAP: &str = "key_wrap";
/// The header attribute holding the data key's id.
pub const DATA_KEY_ID: &str = "data_key_id";
/// The prefix of the recipient attributes (`recipient_1`, …).
pub const RECIPIENT_PREFIX: &str = "recipient_";
/// The most recipients one bundle may have.
pub const MAX_RECIPIENTS: usize = 256;
/// Domain separation of the authenticated header bytes.
const AAD_CONTEXT: &[u8] = b"jimsctl bundle header v1\0";

/// One recipient of a sealed bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipient {
    /// The id of the recipient's transport key (16 lowercase hex digits).
    pub key_id: String,
    /// HPKE's encapsulated key, as 64 hex digits.
    pub enc: String,
    /// The wrapped data key, as 96 hex digits.
    pub wrapped: String,
    /// The recipient's server id.
    pub server_id: String,
}

impl Recipient {
    /// The attribute's value.
    pub fn to_value(&self) -> String {
        format!("{},{},{},{}", self.key_id, self.enc, self.wrapped, self.server_id)
    }

    /// Parses a recipient attribute's value; the error says what is wrong without quoting it.
    pub fn parse(value: &str) -> Result<Recipient, String> {
        let mut parts = value.splitn(4, ',');
        let mut next = || parts.next().unwrap_or_default();
        let (key_id, enc, wrapped, server_id) = (next(), next(), next(), next());
        check_hex(key_id, 16, "the transport key id")?;
        check_hex(enc, 64, "the encapsulated key")?;
        check_hex(wrapped, 96, "the wrapped data key")?;
        check_server_id(server_id)?;
        Ok(Recipient {
            key_id: key_id.to_owned(),
            enc: enc.to_owned(),
            wrapped: wrapped.to_owned(),
            server_id: server_id.to_owned(),
        })
    }
}

/// What a sealed bundle's header says about its sealing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedTo {
    /// The wrapping suite (`key_wrap`).
    pub suite: String,
    /// The data key's id (`data_key_id`).
    pub data_key_id: String,
    /// The recipients, in order.
    pub recipients: Vec<Recipient>,
}

fn check_hex(value: &str, len: usize, what: &str) -> Result<(), String> {
    if value.len() == len && value.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(())
    } else {
        Err(format!("{what} must be {len} lowercase hexadecimal digits"))
    }
}

fn check_server_id(id: &str) -> Result<(), String> {
    let problem = if id.is_empty() {
        "is empty"
    } else if id.chars().count() > 128 {
        "is longer than 128 characters"
    } else if id.chars().any(char::is_control) {
        "holds control characters"
    } else if id.trim() != id {
        "begins or ends with spaces"
    } else {
        return Ok(());
    };
    Err(format!("the recipient's server id {problem}"))
}

/// The number `N` of a `recipient_N` attribute name (`N` from 1, no leading zero).
fn recipient_number(name: &str) -> Option<usize> {
    let n = name.strip_prefix(RECIPIENT_PREFIX)?;
    if n.is_empty() || n.starts_with('0') || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.parse().ok()
}

/// Whether `name` is one of the sealed-bundle header attributes.
pub fn is_sealed_to_field(name: &str) -> bool {
    name == KEY_WRAP || name == DATA_KEY_ID || name.starts_with(RECIPIENT_PREFIX)
}

impl Header {
    /// The sealing of a bundle sealed to recipients; `Ok(None)` when the header has none of its
    /// fields.
    ///
    /// # Errors
    /// A sentence naming the field that is wrong (without quoting values): a field missing
    /// while the others are there, a malformed recipient, recipients not numbered 1, 2, 3… in
    /// order, a transport key id given twice, more than [`MAX_RECIPIENTS`].
    pub fn sealed_to(&self) -> Result<Option<SealedTo>, String> {
        let mut suite = None;
        let mut data_key_id = None;
        let mut recipients: Vec<Recipient> = Vec::new();
        for a in &self.attributes {
            if a.name == KEY_WRAP {
                suite = Some(a.value.as_str());
            } else if a.name == DATA_KEY_ID {
                data_key_id = Some(a.value.as_str());
            } else if a.name.starts_with(RECIPIENT_PREFIX) {
                let Some(n) = recipient_number(&a.name) else {
                    return Err(format!(
                        "a header field named {RECIPIENT_PREFIX}… is not a recipient number: \
                         recipients are recipient_1, recipient_2, …"
                    ));
                };
                if n != recipients.len() + 1 {
                    return Err(format!(
                        "the header field recipient_{n} is out of order: recipients are \
                         numbered 1, 2, 3… in order"
                    ));
                }
                if n > MAX_RECIPIENTS {
                    return Err(format!("a bundle has at most {MAX_RECIPIENTS} recipients"));
                }
                let r = Recipient::parse(&a.value).map_err(|e| format!("recipient_{n}: {e}"))?;
                if recipients.iter().any(|o| o.key_id == r.key_id) {
                    return Err(format!(
                        "recipient_{n}: transport key {} is a recipient twice",
                        r.key_id
                    ));
                }
                recipients.push(r);
            }
        }
        if suite.is_none() && data_key_id.is_none() && recipients.is_empty() {
            return Ok(None);
        }
        let Some(suite) = suite else {
            return Err(format!("the header has recipients but no {KEY_WRAP} field"));
        };
        let Some(data_key_id) = data_key_id else {
            return Err(format!("the header has a {KEY_WRAP} field but no {DATA_KEY_ID}"));
        };
        check_hex(data_key_id, 16, DATA_KEY_ID)?;
        if recipients.is_empty() {
            return Err(format!("the header has a {KEY_WRAP} field but no recipient_1"));
        }
        Ok(Some(SealedTo {
            suite: suite.to_owned(),
            data_key_id: data_key_id.to_owned(),
            recipients,
        }))
    }

    /// Appends the sealing fields: `key_wrap`, `data_key_id` and a `recipient_N` per recipient.
    /// Any sealing fields the header had are removed first.
    pub fn set_sealed_to(&mut self, sealed: &SealedTo) {
        self.attributes.retain(|a| !is_sealed_to_field(&a.name));
        self.set(KEY_WRAP, sealed.suite.clone());
        self.set(DATA_KEY_ID, sealed.data_key_id.clone());
        for (i, r) in sealed.recipients.iter().enumerate() {
            self.set(&format!("{RECIPIENT_PREFIX}{}", i + 1), r.to_value());
        }
    }

    /// The additional data every wrap authenticates (see the module documentation).
    pub fn authenticated_bytes(&self) -> Vec<u8> {
        self.authenticated_bytes_as(None)
    }

    /// [`Header::authenticated_bytes`] as they would be if recipient `index` (from 0) named the
    /// transport key `key_id`: to tell a recipient entry whose key id was edited from one meant
    /// for another server.
    pub fn authenticated_bytes_as(&self, replace: Option<(usize, &str)>) -> Vec<u8> {
        let mut out = Vec::with_capacity(512);
        out.extend_from_slice(AAD_CONTEXT);
        for a in &self.attributes {
            out.extend_from_slice(a.name.as_bytes());
            out.push(0);
            match recipient_number(&a.name) {
                Some(n) => {
                    let mut parts = a.value.splitn(4, ',');
                    let key_id = parts.next().unwrap_or_default();
                    let server_id = parts.nth(2).unwrap_or_default();
                    let key_id = match replace {
                        Some((i, k)) if i + 1 == n => k,
                        _ => key_id,
                    };
                    out.extend_from_slice(key_id.as_bytes());
                    out.push(b',');
                    out.extend_from_slice(server_id.as_bytes());
                }
                None => out.extend_from_slice(a.value.as_bytes()),
            }
            out.push(0);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::{PasswordsMode, Scope};

    fn recipient(k: char) -> Recipient {
        Recipient {
            key_id: k.to_string().repeat(16),
            enc: "a".repeat(64),
            wrapped: "b".repeat(96),
            server_id: "hq, west".into(),
        }
    }

    fn header() -> Header {
        let mut h = Header::new(Scope::Full, PasswordsMode::Included, Some("s"), Some("k"), None);
        h.set_sealed_to(&SealedTo {
            suite: "x".into(),
            data_key_id: "0123456789abcdef".into(),
            recipients: vec![recipient('1'), recipient('2')],
        });
        h
    }

    #[test]
    fn round_trips_and_commas_stay_in_the_server_id() {
        let h = header();
        let s = h.sealed_to().unwrap().unwrap();
        assert_eq!(s.recipients, vec![recipient('1'), recipient('2')]);
        assert_eq!(Header::default().sealed_to(), Ok(None));
    }

    #[test]
    fn the_authenticated_bytes_cover_every_field_but_the_wraps() {
        let h = header();
        let aad = h.authenticated_bytes();
        let mut other = h.clone();
        let v = other.get("recipient_1").unwrap().replace(&"a".repeat(64), &"c".repeat(64));
        other.set("recipient_1", v);
        assert_eq!(other.authenticated_bytes(), aad, "the wraps are not covered");
        for i in 0..h.attributes.len() {
            let mut changed = h.clone();
            changed.attributes[i].value.push('x');
            assert_ne!(changed.authenticated_bytes(), aad, "{}", h.attributes[i].name);
        }
        let mut swapped = h.clone();
        swapped.attributes.swap(0, 1);
        assert_ne!(swapped.authenticated_bytes(), aad);
        let edited = h.authenticated_bytes_as(Some((0, "ffffffffffffffff")));
        assert_ne!(edited, aad);
    }

    #[test]
    fn malformed_fields_are_refused() {
        let mut cases: Vec<Header> = Vec::new();
        let base = header();
        for (name, value) in [
            ("recipient_1", "zz"),
            ("recipient_1", &format!("{},{},{},", "1".repeat(16), "a".repeat(64), "b".repeat(96))),
            ("recipient_2", &recipient('1').to_value()),
            ("data_key_id", "XYZ"),
        ] {
            let mut h = base.clone();
            h.set(name, value.to_owned());
            cases.push(h);
        }
        let mut h = base.clone();
        h.attributes.retain(|a| a.name != KEY_WRAP);
        cases.push(h);
        let mut h = base.clone();
        h.attributes.retain(|a| a.name != "recipient_1");
        cases.push(h);
        let mut h = base.clone();
        h.set("recipient_01", "x");
        cases.push(h);
        let mut h = base;
        h.attributes.retain(|a| !a.name.starts_with(RECIPIENT_PREFIX));
        cases.push(h);
        for h in cases {
            assert!(h.sealed_to().is_err(), "{h:?}");
        }
    }
}
