//! What becomes of a configuration's secret fields outside an import: sealed in place (an
//! adopted folder, an export of a folder whose `cwd/` holds a password typed in by hand),
//! blanked (`export --passwords omit`), opened from a folder's keys and sealed again under a
//! bundle's data key (`export --to`), and whether any is in plaintext (the mode of a file
//! written from it). Beside [`crate::prepare`] (an import) and [`crate::reveal_for_sending`]
//! (a live JIMS), so that this crate owns every change to a secret field.

use crypto::{Secret, ServerKey};
use model::{Configuration, SecretState};

use crate::error::{Error, ErrorKind};
use crate::prepare::{place, seal};

/// The keys of a managed folder: its current key and its retired ones (its key ring). A value
/// is opened with the key its id names, the current one when no other does.
#[derive(Clone, Copy, Debug)]
pub struct FolderKeys<'a> {
    /// The current key.
    pub current: &'a ServerKey,
    /// The retired keys.
    pub retired: &'a [ServerKey],
}

impl<'a> FolderKeys<'a> {
    /// The key a sealed value under `key_id` opens with: a retired key of that id, else the
    /// current one.
    pub(crate) fn for_id(&self, key_id: Option<&str>) -> &'a ServerKey {
        key_id
            .and_then(|id| self.retired.iter().find(|k| k.id().as_str() == id))
            .unwrap_or(self.current)
    }
}

/// Seals every plaintext secret field of `config` under `key`, each bound to its field (as an
/// import seals it); every other value is left as it is. Returns how many were sealed.
///
/// # Errors
/// [`ErrorKind::Internal`] when sealing fails (the operating system's random number generator),
/// naming the field; `config` may then hold some fields sealed and the others not.
pub fn seal_plaintext(config: &mut Configuration, key: &ServerKey) -> Result<usize, Error> {
    let mut sealed = 0;
    for field in config.secret_fields() {
        let raw = config.secret_value(&field.location);
        if SecretState::classify(raw) != SecretState::Plaintext {
            continue;
        }
        let value = seal(key, raw.as_bytes(), &field)?;
        config.set_secret_value(&field.location, value);
        sealed += 1;
    }
    Ok(sealed)
}

/// Seals again under the current key every value of `config` sealed under one of the folder's
/// retired keys (a version rolled back across a rotation), each bound to its field: a bundle
/// whose header names the current key then holds no value under another. A value that does not
/// open under its retired key is left as it is. Returns how many were sealed again.
///
/// # Errors
/// [`ErrorKind::Internal`] when sealing fails (the operating system's random number generator).
pub fn reseal_retired(config: &mut Configuration, keys: FolderKeys<'_>) -> Result<usize, Error> {
    let mut resealed = 0;
    for field in config.secret_fields() {
        let raw = config.secret_value(&field.location);
        let SecretState::Sealed { key_id: Some(id) } = SecretState::classify(raw) else {
            continue;
        };
        let Some(old) = keys.retired.iter().find(|k| k.id().as_str() == id) else {
            continue;
        };
        let Ok(secret) = old.open(raw, field.binding().as_bytes()) else {
            continue;
        };
        let value = seal(keys.current, secret.expose(), &field)?;
        config.set_secret_value(&field.location, value);
        resealed += 1;
    }
    Ok(resealed)
}

/// Empties every secret field of `config`, whatever it holds (the brief's "without
/// passwords"). Returns how many fields there were.
pub fn omit(config: &mut Configuration) -> usize {
    let fields = config.secret_fields();
    for field in &fields {
        config.set_secret_value(&field.location, "");
    }
    fields.len()
}

/// Whether any secret field of `config` holds a plaintext password (a file written from it is
/// then readable by its owner only).
pub fn holds_plaintext(config: &Configuration) -> bool {
    config
        .secret_fields()
        .iter()
        .any(|f| SecretState::classify(config.secret_value(&f.location)) == SecretState::Plaintext)
}

/// The sealed values of `config` that cannot be used, each as a sentence naming its section,
/// item and field (never the value): a value that starts with `{aesgcm}` but is malformed, and
/// one under one of `keys` (a managed folder's current and retired keys) that does not open
/// under it (altered or corrupt). Values under other keys are not opened.
pub fn sealed_problems(config: &Configuration, keys: &[&ServerKey]) -> Vec<String> {
    let mut problems = Vec::new();
    for field in config.secret_fields() {
        let raw = config.secret_value(&field.location);
        let place = format!("{}/{}: field {}", field.section(), field.item_id, field.field);
        match SecretState::classify(raw) {
            SecretState::Sealed { key_id: None } => problems.push(format!(
                "{place}: the sealed value is malformed (not '{{aesgcm}} 1,<key id>,<hex>')"
            )),
            SecretState::Sealed { key_id: Some(id) } => {
                if let Some(key) = keys.iter().find(|k| k.id().as_str() == id)
                    && key.open(raw, field.binding().as_bytes()).is_err()
                {
                    problems.push(format!(
                        "{place}: the sealed value does not open under this folder's key: it \
                         was altered or is corrupt"
                    ));
                }
            }
            _ => {}
        }
    }
    problems
}

/// Seals every password of `config` under `to` (a bundle's fresh data key): a sealed value is
/// opened with the folder's `keys` first, a plaintext one is taken as it is; a machine-bound
/// or missing value is left as it is. Returns how many were sealed.
///
/// # Errors
/// [`ErrorKind::Tampered`] naming the section, item and field (never the value) of a sealed
/// value that does not open with the folder's keys; [`ErrorKind::Internal`] when sealing fails.
pub fn seal_under(
    config: &mut Configuration,
    keys: FolderKeys<'_>,
    to: &ServerKey,
) -> Result<usize, Error> {
    let mut sealed = 0;
    for field in config.secret_fields() {
        let raw = config.secret_value(&field.location);
        let binding = field.binding();
        let secret = match SecretState::classify(raw) {
            SecretState::Sealed { key_id } => {
                keys.for_id(key_id).open(raw, binding.as_bytes()).map_err(|e| {
                    Error::new(ErrorKind::Tampered, format!("{} does not open: {e}", place(&field)))
                        .with_source(e)
                })?
            }
            SecretState::Plaintext => Secret::copy_from(raw.as_bytes()),
            _ => continue,
        };
        let value = seal(to, secret.expose(), &field)?;
        config.set_secret_value(&field.location, value);
        sealed += 1;
    }
    Ok(sealed)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use model::{Element, Section, SectionId};

    /// A configuration of one section whose items hold `values` as their passwords.
    pub(crate) fn config_with(values: &[&str]) -> Configuration {
        let mut config = Configuration::new();
        let mut probes = SectionId::PcProbes.empty_root();
        for (i, v) in values.iter().enumerate() {
            let mut item = Element::new("credential");
            item.set_attr("id", format!("p{i}"));
            item.set_attr("username", "svc");
            item.set_attr("password", *v);
            probes.children.push(item);
        }
        config.insert(Section::single(SectionId::PcProbes, probes));
        config
    }

    fn values(config: &Configuration) -> Vec<String> {
        config.secret_fields().iter().map(|f| config.secret_value(&f.location).to_owned()).collect()
    }

    #[test]
    fn plaintext_is_sealed_bound_to_its_field_and_the_rest_kept() {
        let key = ServerKey::generate().unwrap();
        let mut config = config_with(&["", "plain-pw", "{fsw} 1,abcd"]);
        assert!(holds_plaintext(&config));
        assert_eq!(seal_plaintext(&mut config, &key).unwrap(), 1);
        assert!(!holds_plaintext(&config));
        let v = values(&config);
        assert_eq!((v[0].as_str(), v[2].as_str()), ("", "{fsw} 1,abcd"));
        let field = &config.secret_fields()[1];
        assert_eq!(key.open(&v[1], field.binding().as_bytes()).unwrap().expose(), b"plain-pw");
        assert!(key.open(&v[1], b"another field").is_err());
    }

    #[test]
    fn malformed_and_unopenable_sealed_values_are_named() {
        let key = ServerKey::generate().unwrap();
        let mut config = config_with(&["{aesgcm} nonsense", "x", "y", "plain"]);
        let fields = config.secret_fields();
        let good = key.seal(b"pw", fields[1].binding().as_bytes()).unwrap();
        let moved = key.seal(b"hidden-pw", fields[1].binding().as_bytes()).unwrap();
        config.set_secret_value(&fields[1].location, good);
        config.set_secret_value(&fields[2].location, moved);
        let problems = sealed_problems(&config, &[&key]);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].starts_with("pc_probes/p0: field password: the sealed value is malformed")
        );
        assert!(
            problems[1].starts_with("pc_probes/p2: field password: the sealed value does not open")
        );
        // Without the folder's key only the form is checked.
        assert_eq!(sealed_problems(&config, &[]).len(), 1);
    }

    #[test]
    fn values_under_a_retired_key_are_sealed_again_under_the_current_one() {
        let old = ServerKey::generate().unwrap();
        let current = ServerKey::generate().unwrap();
        let mut config = config_with(&["x", "y", "plain"]);
        let fields = config.secret_fields();
        let under_old = old.seal(b"old-pw", fields[0].binding().as_bytes()).unwrap();
        let under_current = current.seal(b"cur-pw", fields[1].binding().as_bytes()).unwrap();
        config.set_secret_value(&fields[0].location, under_old);
        config.set_secret_value(&fields[1].location, under_current.clone());
        let keys = FolderKeys { current: &current, retired: std::slice::from_ref(&old) };
        assert_eq!(reseal_retired(&mut config, keys).unwrap(), 1);
        let v = values(&config);
        let opened = current.open(&v[0], fields[0].binding().as_bytes()).unwrap();
        assert_eq!(opened.expose(), b"old-pw");
        assert_eq!((v[1].as_str(), v[2].as_str()), (under_current.as_str(), "plain"));
    }

    #[test]
    fn omit_blanks_every_field() {
        let mut config = config_with(&["pw", "{aesgcm} 1,0011,aa", "{capi} x"]);
        assert_eq!(omit(&mut config), 3);
        assert_eq!(values(&config), ["", "", ""]);
    }

    #[test]
    fn sealed_under_a_data_key_from_the_current_or_a_retired_key() {
        let (old, now, data) = (
            ServerKey::generate().unwrap(),
            ServerKey::generate().unwrap(),
            ServerKey::generate().unwrap(),
        );
        let mut config = config_with(&["a", "b", "plain", "{capi} x", ""]);
        let fields = config.secret_fields();
        for (i, key) in [(0, &old), (1, &now)] {
            let v = key.seal(format!("pw{i}").as_bytes(), fields[i].binding().as_bytes()).unwrap();
            config.set_secret_value(&fields[i].location, v);
        }
        let keys = FolderKeys { current: &now, retired: std::slice::from_ref(&old) };
        assert_eq!(seal_under(&mut config, keys, &data).unwrap(), 3);
        let v = values(&config);
        for (i, want) in [(0, &b"pw0"[..]), (1, b"pw1"), (2, b"plain")] {
            assert_eq!(data.open(&v[i], fields[i].binding().as_bytes()).unwrap().expose(), want);
        }
        assert_eq!((v[3].as_str(), v[4].as_str()), ("{capi} x", ""));
    }

    #[test]
    fn a_value_that_does_not_open_is_named_never_shown() {
        let (now, other) = (ServerKey::generate().unwrap(), ServerKey::generate().unwrap());
        let mut config = config_with(&["x"]);
        let f = &config.secret_fields()[0];
        let loc = f.location;
        let v = now.seal(b"hidden-pw", b"elsewhere").unwrap();
        config.set_secret_value(&loc, v);
        let keys = FolderKeys { current: &now, retired: &[] };
        let e = seal_under(&mut config, keys, &other).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Tampered);
        assert!(e.to_string().contains("section `pc_probes`, item `p0`, field `password`"), "{e}");
        assert!(!e.to_string().contains("hidden-pw"));
    }
}
