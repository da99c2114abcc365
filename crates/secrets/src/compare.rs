//! Comparing passwords by value rather than by their written form: a sealed value is written
//! afresh (new nonce) each time it is sealed, so the same password under the same key never
//! reads the same twice. Where both sides can be opened, equal passwords are made to read the
//! same, so that a plan or a diff calls them unchanged.

use std::collections::HashMap;

use crypto::{Secret, ServerKey};
use model::{Configuration, FieldLocation, SecretState};

/// For every secret field of `new` that `old` also has (same section, item and field), opens
/// both values with `keys` (a plaintext value is its own password; a sealed value opens with
/// the key its key id names, bound to its field); when both open to the same password, `new`'s
/// value is set to `old`'s written form. Values that are already equal, or that either side
/// cannot open, are left as they are, and so compare by their written form.
///
/// Returns, of the values made to read as `old`'s, how many were plaintext and how many were
/// sealed in `new`. Nothing is printed or kept: the opened passwords live in wiped memory for
/// the comparison only.
pub fn align_equal_secrets(
    old: &Configuration,
    new: &mut Configuration,
    keys: &[&ServerKey],
) -> (usize, usize) {
    HeldPasswords::new(old, keys).align(new, false)
}

/// As [`align_equal_secrets`], for an import into `old`: only `old`'s *sealed* values are kept,
/// never a plaintext one (a password edited into `cwd/` by hand), so an import never carries a
/// password in clear into a new version, whatever the export holds.
pub fn keep_equal_sealed_secrets(
    old: &Configuration,
    new: &mut Configuration,
    keys: &[&ServerKey],
) -> (usize, usize) {
    HeldPasswords::new(old, keys).align(new, true)
}

/// The passwords a configuration already holds (a target's), found by their binding (section,
/// item, field) and opened with `keys` only when a comparison needs them. Made once per import,
/// it serves both of its comparisons: the export's values
/// ([`HeldPasswords::keep_equal_sealed`]) and those the sources found
/// ([`crate::seal_resolved_keeping`]).
pub struct HeldPasswords<'a> {
    old: &'a Configuration,
    keys: &'a [&'a ServerKey],
    by_binding: HashMap<String, FieldLocation>,
}

impl<'a> HeldPasswords<'a> {
    /// Indexes the secret fields of `old`; `keys` open its sealed values, the first being the
    /// key an import seals under (the folder's current key).
    pub fn new(old: &'a Configuration, keys: &'a [&'a ServerKey]) -> HeldPasswords<'a> {
        let fields = old.secret_fields();
        let mut by_binding = HashMap::with_capacity(fields.len());
        for field in fields {
            by_binding.insert(field.binding(), field.location);
        }
        HeldPasswords { old, keys, by_binding }
    }

    /// [`keep_equal_sealed_secrets`] with this index.
    pub fn keep_equal_sealed(&self, new: &mut Configuration) -> (usize, usize) {
        self.align(new, true)
    }

    /// The written form of the value `old` holds for `binding` when it is sealed under the
    /// current key (the first of `keys`) and opens to `password`: an import keeps it rather
    /// than sealing the same password afresh.
    pub fn sealed_equal(&self, binding: &str, password: &[u8]) -> Option<&'a str> {
        let loc = self.by_binding.get(binding)?;
        let was = self.old.secret_value(loc);
        let current = self.keys.first()?;
        match SecretState::classify(was) {
            SecretState::Sealed { key_id: Some(id) } if id == current.id().as_str() => {}
            _ => return None,
        }
        let opened = current.open(was, binding.as_bytes()).ok()?;
        (opened.expose() == password && !password.is_empty()).then_some(was)
    }

    fn align(&self, new: &mut Configuration, sealed_only: bool) -> (usize, usize) {
        let mut aligned = (0, 0);
        for field in new.secret_fields() {
            let binding = field.binding();
            let Some(loc) = self.by_binding.get(&binding) else { continue };
            let was = self.old.secret_value(loc);
            let is = new.secret_value(&field.location);
            if was == is {
                continue;
            }
            let was_state = SecretState::classify(was);
            // For an import, only a value sealed under the folder's current key (the first of
            // `keys`) is kept: one under a retired key is sealed again, as the import rules say.
            if sealed_only {
                let current = self.keys.first().map(|k| k.id().as_str());
                match was_state {
                    SecretState::Sealed { key_id: Some(id) } if Some(id) == current => {}
                    _ => continue,
                }
            }
            // The new side first: it is most often plaintext or missing, which costs nothing
            // to tell, and a missing one spares opening the old.
            let is_state = SecretState::classify(is);
            let Some(b) = open(is, is_state, &binding, self.keys) else { continue };
            if b.is_empty() {
                continue;
            }
            let Some(a) = open(was, was_state, &binding, self.keys) else { continue };
            if a.expose() == b.expose() {
                let plaintext = is_state == SecretState::Plaintext;
                new.set_secret_value(&field.location, was.to_owned());
                if plaintext {
                    aligned.0 += 1;
                } else {
                    aligned.1 += 1;
                }
            }
        }
        aligned
    }
}

/// The password `value` (in state `state`) holds, when it can be told: plaintext as is, sealed
/// when one of `keys` opens it for `binding`.
fn open(value: &str, state: SecretState<'_>, binding: &str, keys: &[&ServerKey]) -> Option<Secret> {
    match state {
        SecretState::Plaintext => Some(Secret::copy_from(value.as_bytes())),
        SecretState::Sealed { key_id: Some(id) } => {
            let key = keys.iter().find(|k| k.id().as_str() == id)?;
            key.open(value, binding.as_bytes()).ok()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use model::{Element, Section, SectionId};

    use super::*;

    fn config(password: &str) -> Configuration {
        let mut c = Configuration::new();
        c.insert(Section::single(
            SectionId::Templates,
            Element::new("templates").with_child(
                Element::new("template")
                    .with_attr("id", "t")
                    .with_attr("kind", "event_source")
                    .with_attr("password", password),
            ),
        ));
        c
    }

    #[test]
    fn equal_passwords_read_the_same_and_different_ones_do_not() {
        let key = ServerKey::generate().unwrap();
        let binding = b"templates\0t\0password";
        let sealed = key.seal(b"pw-1", binding).unwrap();
        let again = key.seal(b"pw-1", binding).unwrap();
        assert_ne!(sealed, again);
        let old = config(&sealed);

        let mut new = config(&again);
        assert_eq!(align_equal_secrets(&old, &mut new, &[&key]), (0, 1));
        assert_eq!(new, old);

        let mut new = config("pw-1");
        assert_eq!(align_equal_secrets(&old, &mut new, &[&key]), (1, 0));
        assert_eq!(new, old);

        let other = key.seal(b"pw-2", binding).unwrap();
        let mut new = config(&other);
        assert_eq!(align_equal_secrets(&old, &mut new, &[&key]), (0, 0));
        assert_ne!(new, old);

        // Without the key nothing can be told.
        let mut new = config(&again);
        assert_eq!(align_equal_secrets(&old, &mut new, &[]), (0, 0));
        assert_ne!(new, old);
    }

    #[test]
    fn a_held_password_sealed_under_the_current_key_is_kept_and_no_other() {
        let (current, retired) = (ServerKey::generate().unwrap(), ServerKey::generate().unwrap());
        let binding = "templates\0t\0password";
        let sealed = current.seal(b"pw-1", binding.as_bytes()).unwrap();
        let old = config(&sealed);
        let keys = [&current, &retired];
        let held = HeldPasswords::new(&old, &keys);
        assert_eq!(held.sealed_equal(binding, b"pw-1"), Some(sealed.as_str()));
        assert_eq!(held.sealed_equal(binding, b"pw-2"), None);
        assert_eq!(held.sealed_equal(binding, b""), None);
        assert_eq!(held.sealed_equal("templates\0other\0password", b"pw-1"), None);
        // Under a retired key: sealed again, never kept.
        let old = config(&retired.seal(b"pw-1", binding.as_bytes()).unwrap());
        let held = HeldPasswords::new(&old, &keys);
        assert_eq!(held.sealed_equal(binding, b"pw-1"), None);
        // In plaintext (edited by hand): never kept either.
        let old = config("pw-1");
        let held = HeldPasswords::new(&old, &keys);
        assert_eq!(held.sealed_equal(binding, b"pw-1"), None);
        let mut new = config("pw-1");
        assert_eq!(held.keep_equal_sealed(&mut new), (0, 0));
    }
}
