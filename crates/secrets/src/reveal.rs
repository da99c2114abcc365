//! Opening a configuration's passwords for a live JIMS, which reads plaintext only (`push`, and
//! `export --passwords plain`): beside sealing and opening for an import, so that one crate
//! owns what a secret field becomes.
//!
//! live-jims.md's rules: every `{aesgcm}` value is opened with the folder's key (one sealed
//! under another key, or altered, is an error and nothing is sent); a plaintext one is sent as
//! it is; a machine-bound `{capi}`/`{fsw}` (or unknown-scheme) value is sent unchanged, and
//! reported so that the caller can warn that only the machine that made it can read it.

use crypto::{Secret, ServerKey};
use model::{Configuration, SecretState};

use crate::error::{Error, ErrorKind};
use crate::fields::FolderKeys;
use crate::state::FieldState;

/// What [`reveal_for_sending`] did. `sent` holds every non-empty value now in the
/// configuration, so that a server's answer can be shown with each of them replaced by `***`;
/// wiped on drop, never printed.
#[derive(Debug, Default)]
pub struct Revealed {
    /// `{aesgcm}` values opened with the folder's key.
    pub opened: usize,
    /// Plaintext values, sent as they are.
    pub plaintext: usize,
    /// Fields with no password (sent empty), but those left to a template.
    pub missing: usize,
    /// Fields left empty in an item that names a template, whose credentials JIMS uses (sent
    /// empty: no password is missing).
    pub from_template: usize,
    /// Machine-bound values sent unchanged: `section/item field (scheme)` for each.
    pub machine_bound: Vec<String>,
    /// Every non-empty value now in the configuration (for redaction).
    pub sent: Vec<Secret>,
}

/// Opens every `{aesgcm}` value of `config` with `key`, in place (see the module
/// documentation). `retired` are the folder's retired keys (its key ring): a value under one
/// of them (a version from before a rotation, rolled back to) opens with it.
///
/// # Errors
/// [`ErrorKind::Tampered`] naming the section, item and field (never the value) when a sealed
/// value is under another key, altered, moved, malformed, or not UTF-8 text.
pub fn reveal_for_sending(
    config: &mut Configuration,
    key: &ServerKey,
    retired: &[ServerKey],
) -> Result<Revealed, Error> {
    let mut out = Revealed::default();
    for field in config.secret_fields() {
        let raw = config.secret_value(&field.location);
        let what = format!("{}/{} {}", field.section(), field.item_id, field.field);
        let state = match FieldState::from_value(&field, raw) {
            FieldState::FromTemplate => {
                out.from_template += 1;
                continue;
            }
            FieldState::Own(state) => state,
        };
        match state {
            SecretState::Missing => out.missing += 1,
            SecretState::Plaintext => {
                out.plaintext += 1;
                out.sent.push(Secret::copy_from(raw.as_bytes()));
            }
            SecretState::Capi | SecretState::Fsw | SecretState::Unknown { .. } => {
                let scheme = raw.split('}').next().unwrap_or_default().trim_start_matches('{');
                out.machine_bound.push(format!("{what} ({{{scheme}}})"));
                out.sent.push(Secret::copy_from(raw.as_bytes()));
            }
            SecretState::Sealed { key_id } => {
                let key = FolderKeys { current: key, retired }.for_id(key_id);
                if let Some(id) = key_id.filter(|id| *id != key.id().as_str()) {
                    return Err(Error::new(
                        ErrorKind::Tampered,
                        format!(
                            "{what}: the password is sealed under the key {id}, not this \
                             folder's ({}); import it again with its password or --source-key",
                            key.id()
                        ),
                    ));
                }
                let secret = key.open(raw, field.binding().as_bytes()).map_err(|e| {
                    Error::new(
                        ErrorKind::Tampered,
                        format!(
                            "{what}: the sealed password does not open with this folder's key \
                             (altered, moved to another item, or malformed)"
                        ),
                    )
                    .with_source(e)
                })?;
                let text = secret.expose_str().ok_or_else(|| {
                    Error::new(
                        ErrorKind::Tampered,
                        format!("{what}: the password is not UTF-8 text"),
                    )
                })?;
                config.set_secret_value(&field.location, text.to_owned());
                out.opened += 1;
                out.sent.push(secret);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::tests::config_with;

    #[test]
    fn sealed_values_open_plaintext_stays_and_machine_bound_is_reported() {
        let key = ServerKey::generate().unwrap();
        let mut config = config_with(&["", "plain-one", "{fsw} 1,abcd", "x"]);
        let fields = config.secret_fields();
        let loc = fields[3].location;
        let sealed = key.seal(b"opened-two", fields[3].binding().as_bytes()).unwrap();
        config.set_secret_value(&loc, sealed);
        let r = reveal_for_sending(&mut config, &key, &[]).unwrap();
        assert_eq!((r.opened, r.plaintext, r.missing), (1, 1, 1));
        assert_eq!(r.machine_bound, ["pc_probes/p2 password ({fsw})"]);
        assert_eq!(config.secret_value(&loc), "opened-two");
        assert_eq!(r.sent.len(), 3);
        assert!(!format!("{r:?}").contains("opened-two"));
    }

    #[test]
    fn another_key_or_an_altered_value_is_refused_without_the_value() {
        let key = ServerKey::generate().unwrap();
        let other = ServerKey::generate().unwrap();
        let mut config = config_with(&["x"]);
        let f = &config.secret_fields()[0];
        let loc = f.location;
        let sealed = other.seal(b"hidden-pw", f.binding().as_bytes()).unwrap();
        config.set_secret_value(&loc, sealed);
        let e = reveal_for_sending(&mut config.clone(), &key, &[]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Tampered);
        assert!(e.to_string().contains(other.id().as_str()), "{e}");
        let mine = key.seal(b"hidden-pw", b"elsewhere").unwrap();
        config.set_secret_value(&loc, mine);
        let e = reveal_for_sending(&mut config, &key, &[]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Tampered);
        assert!(e.to_string().contains("pc_probes/p0 password"), "{e}");
        assert!(!e.to_string().contains("hidden-pw"));
    }
}
