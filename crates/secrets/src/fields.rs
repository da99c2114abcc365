//! What becomes of a configuration's secret fields outside an import: sealed in place (an
//! adopted folder, an export of a folder whose `cwd/` holds a password typed in by hand),
//! blanked (`export --passwords omit`), opened from a folder's keys and sealed again under a
//! bundle's data key (`export --to`) or under another key of the folder ([`reseal`]: a key
//! rotation, a key retirement), and whether any is in plaintext (the mode of a file written
//! from it). Beside [`crate::prepare`] (an import) and [`crate::reveal_for_sending`] (a live
//! JIMS), so that this crate owns every change to a secret field.

use std::fmt;

use crypto::{Secret, ServerKey};
use model::{Configuration, FieldLocation, SecretState, SectionId};

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

    /// Opens the sealed value `sealed`, bound to `binding`, with the key its id names: a
    /// retired key of that id, else the current one (whose error then says the value is under
    /// another key).
    ///
    /// # Errors
    /// The value is malformed, under a key the folder does not hold, altered or moved.
    pub fn open(&self, sealed: &str, binding: &[u8]) -> Result<Secret, crypto::Error> {
        let id = crypto::SealedValue::parse(sealed)?.key_id;
        self.for_id(Some(id)).open(sealed, binding)
    }
}

/// What [`reseal`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resealed {
    /// Sealed values opened and sealed again.
    pub resealed: usize,
    /// `{capi}`, `{fsw}` and unknown-scheme values, left as they are (only the machine that
    /// made them can read them).
    pub untouched: usize,
    /// The sections that hold a value sealed again, in order.
    pub sections: Vec<SectionId>,
}

/// A sealed value that does not open with a folder's keys: where it is and why, never the
/// value. Shown as `section `S`, item `I`, field `F`: <why>`.
#[derive(Debug)]
pub struct Unopened {
    /// The value's section.
    pub section: SectionId,
    /// The id of the item that holds it.
    pub item: String,
    /// The field (`password`, `oauth`, `webapi`).
    pub field: &'static str,
    /// Why it does not open (malformed, under a key the folder lacks, altered or moved).
    pub error: crypto::Error,
}

impl fmt::Display for Unopened {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "section `{}`, item `{}`, field `{}`: {}",
            self.section, self.item, self.field, self.error
        )
    }
}

/// Why [`reseal`] changed nothing.
#[derive(Debug)]
pub enum ResealError {
    /// These sealed values do not open, every one of them, in the configuration's order.
    Unopened(Vec<Unopened>),
    /// Sealing failed (the operating system's random number generator):
    /// [`ErrorKind::Internal`], naming the field.
    Seal(Error),
}

impl fmt::Display for ResealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResealError::Unopened(values) => {
                write!(f, "{} sealed password(s) do not open: ", values.len())?;
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{v}")?;
                }
                Ok(())
            }
            ResealError::Seal(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ResealError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ResealError::Unopened(values) => values.first().map(|v| &v.error as _),
            ResealError::Seal(e) => Some(e),
        }
    }
}

/// Opens every sealed value of `config` with the folder's `keys` (only those under the key
/// `only_key`, when given) and seals it again under `under`, bound to the same field: a server
/// key rotation (`under` the new key) and a key retirement (the values under the retired key,
/// `under` the current one). Plaintext, missing and machine-bound values are left as they are.
///
/// All or nothing: every value is opened and sealed again before `config` changes, so on an
/// error it is as it was. The passwords opened live only in [`crypto::Secret`]s, each wiped
/// once sealed again.
///
/// # Errors
/// [`ResealError::Unopened`] naming every value that does not open (malformed, under a key the
/// folder does not hold, altered or moved); [`ResealError::Seal`] when sealing fails.
pub fn reseal(
    config: &mut Configuration,
    keys: FolderKeys<'_>,
    only_key: Option<&str>,
    under: &ServerKey,
) -> Result<Resealed, ResealError> {
    let mut done = Resealed::default();
    let mut sealed: Vec<(FieldLocation, String)> = Vec::new();
    let mut unopened = Vec::new();
    for field in config.secret_fields() {
        let raw = config.secret_value(&field.location);
        match SecretState::classify(raw) {
            SecretState::Sealed { key_id } => {
                if only_key.is_some() && key_id != only_key {
                    continue;
                }
                match keys.open(raw, field.binding().as_bytes()) {
                    Ok(secret) => {
                        let value =
                            seal(under, secret.expose(), &field).map_err(ResealError::Seal)?;
                        sealed.push((field.location, value));
                        if !done.sections.contains(&field.section()) {
                            done.sections.push(field.section());
                        }
                    }
                    Err(error) => unopened.push(Unopened {
                        section: field.section(),
                        item: field.item_id,
                        field: field.field,
                        error,
                    }),
                }
            }
            SecretState::Capi | SecretState::Fsw | SecretState::Unknown { .. } => {
                done.untouched += 1;
            }
            SecretState::Plaintext | SecretState::Missing => {}
        }
    }
    if !unopened.is_empty() {
        return Err(ResealError::Unopened(unopened));
    }
    done.resealed = sealed.len();
    done.sections.sort_unstable();
    for (location, value) in sealed {
        config.set_secret_value(&location, value);
    }
    Ok(done)
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

    /// `config` with the field `i` sealed under `key`, holding `password`.
    fn seal_at(config: &mut Configuration, i: usize, key: &ServerKey, password: &str) -> String {
        let field = &config.secret_fields()[i];
        let value = key.seal(password.as_bytes(), field.binding().as_bytes()).unwrap();
        config.set_secret_value(&field.location, value.clone());
        value
    }

    #[test]
    fn reseal_opens_every_sealed_value_with_the_key_it_names_and_seals_it_under_another() {
        let (old, now, new) = (
            ServerKey::generate().unwrap(),
            ServerKey::generate().unwrap(),
            ServerKey::generate().unwrap(),
        );
        let mut config =
            config_with(&["a", "b", "plain", "", "{capi} blob", "{fsw} 1,ab", "{x} y"]);
        seal_at(&mut config, 0, &old, "pw-old");
        seal_at(&mut config, 1, &now, "pw-now");
        let keys = FolderKeys { current: &now, retired: std::slice::from_ref(&old) };
        let done = reseal(&mut config, keys, None, &new).unwrap();
        assert_eq!(
            done,
            Resealed { resealed: 2, untouched: 3, sections: vec![SectionId::PcProbes] }
        );
        let v = values(&config);
        let fields = config.secret_fields();
        for (i, want) in [(0, &b"pw-old"[..]), (1, b"pw-now")] {
            let binding = fields[i].binding();
            assert_eq!(new.open(&v[i], binding.as_bytes()).unwrap().expose(), want);
            // Bound to its field still: it does not open as another's.
            assert!(new.open(&v[i], fields[1 - i].binding().as_bytes()).is_err());
        }
        assert_eq!(&v[2..], ["plain", "", "{capi} blob", "{fsw} 1,ab", "{x} y"]);
    }

    #[test]
    fn reseal_of_one_key_id_leaves_the_values_under_the_others_as_they_are() {
        let retired = [ServerKey::generate().unwrap(), ServerKey::generate().unwrap()];
        let [old, older] = &retired;
        let now = ServerKey::generate().unwrap();
        let mut config = config_with(&["a", "b", "c", "{aesgcm} nonsense"]);
        seal_at(&mut config, 0, old, "pw-old");
        let under_older = seal_at(&mut config, 1, older, "pw-older");
        let under_now = seal_at(&mut config, 2, &now, "pw-now");
        let keys = FolderKeys { current: &now, retired: &retired };
        let done = reseal(&mut config, keys, Some(old.id().as_str()), &now).unwrap();
        assert_eq!((done.resealed, done.sections.as_slice()), (1, &[SectionId::PcProbes][..]));
        let v = values(&config);
        let binding = config.secret_fields()[0].binding();
        assert_eq!(now.open(&v[0], binding.as_bytes()).unwrap().expose(), b"pw-old");
        // Under another key, or malformed (no key id at all): not opened, not changed.
        assert_eq!(&v[1..], [under_older.as_str(), under_now.as_str(), "{aesgcm} nonsense"]);
        // A key no value is under: nothing to do, no section.
        let done = reseal(&mut config, keys, Some("0123456789abcdef"), &now).unwrap();
        assert_eq!(done, Resealed::default());
        assert_eq!(values(&config), v);
    }

    #[test]
    fn a_value_that_does_not_reseal_is_named_by_its_place_never_its_value_and_nothing_changes() {
        let (now, stranger, new) = (
            ServerKey::generate().unwrap(),
            ServerKey::generate().unwrap(),
            ServerKey::generate().unwrap(),
        );
        let mut config = config_with(&["a", "b", "c", "{aesgcm} 1,zz", "plain"]);
        seal_at(&mut config, 0, &now, "good-pw");
        // Moved from another field: it does not open as this one's.
        let moved = now.seal(b"hidden-pw", b"pc_probes\0elsewhere\0password").unwrap();
        config.set_secret_value(&config.secret_fields()[1].location, moved);
        seal_at(&mut config, 2, &stranger, "strangers-pw");
        let before = values(&config);
        let keys = FolderKeys { current: &now, retired: &[] };
        let Err(ResealError::Unopened(bad)) = reseal(&mut config, keys, None, &new) else {
            panic!("the values that do not open are refused");
        };
        assert_eq!(values(&config), before, "nothing changed");
        let places: Vec<(SectionId, &str, &str)> =
            bad.iter().map(|u| (u.section, u.item.as_str(), u.field)).collect();
        let want = |item| (SectionId::PcProbes, item, "password");
        assert_eq!(places, [want("p1"), want("p2"), want("p3")]);
        assert!(matches!(bad[0].error, crypto::Error::Tampered), "{:?}", bad[0].error);
        assert!(matches!(bad[1].error, crypto::Error::ForeignKey { .. }), "{:?}", bad[1].error);
        assert!(matches!(bad[2].error, crypto::Error::Malformed(_)), "{:?}", bad[2].error);
        assert!(
            bad[0].to_string().starts_with("section `pc_probes`, item `p1`, field `password`: "),
            "{}",
            bad[0]
        );
        let shown = ResealError::Unopened(bad).to_string();
        assert!(shown.starts_with("3 sealed password(s) do not open: "), "{shown}");
        for secret in
            ["hidden-pw", "strangers-pw", "good-pw", before[1].as_str(), before[2].as_str()]
        {
            assert!(!shown.contains(secret), "{shown}");
        }
    }

    #[test]
    fn machine_bound_values_are_left_untouched_and_counted() {
        let (now, new) = (ServerKey::generate().unwrap(), ServerKey::generate().unwrap());
        let machine = ["{capi} AQAAANCMnd8B", "{fsw} 1,00ff", "{future} 2,abc"];
        let mut config = config_with(&machine);
        let keys = FolderKeys { current: &now, retired: &[] };
        let done = reseal(&mut config, keys, None, &new).unwrap();
        assert_eq!(done, Resealed { resealed: 0, untouched: 3, sections: Vec::new() });
        assert_eq!(values(&config), machine);
        // Whatever key is asked for: they have none.
        let done = reseal(&mut config, keys, Some(now.id().as_str()), &new).unwrap();
        assert_eq!(done.untouched, 3);
        assert_eq!(values(&config), machine);
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
