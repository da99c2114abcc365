//! Comparing passwords by value rather than by their written form: a sealed value is written
//! afresh (new nonce) each time it is sealed, so the same password under the same key never
//! reads the same twice. Where both sides can be opened, equal passwords are made to read the
//! same, so that a plan or a diff calls them unchanged.

use std::collections::HashMap;

use crypto::{Secret, ServerKey};
use model::{Configuration, SecretState};

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
    align(old, new, keys, false)
}

/// As [`align_equal_secrets`], for an import into `old`: only `old`'s *sealed* values are kept,
/// never a plaintext one (a password edited into `cwd/` by hand), so an import never carries a
/// password in clear into a new version, whatever the export holds.
pub fn keep_equal_sealed_secrets(
    old: &Configuration,
    new: &mut Configuration,
    keys: &[&ServerKey],
) -> (usize, usize) {
    align(old, new, keys, true)
}

fn align(
    old: &Configuration,
    new: &mut Configuration,
    keys: &[&ServerKey],
    sealed_only: bool,
) -> (usize, usize) {
    let mut by_binding = HashMap::new();
    for field in old.secret_fields() {
        by_binding.insert(field.binding(), field.location);
    }
    let mut aligned = (0, 0);
    for field in new.secret_fields() {
        let binding = field.binding();
        let Some(loc) = by_binding.get(&binding) else { continue };
        let was = old.secret_value(loc);
        let is = new.secret_value(&field.location);
        // For an import, only a value sealed under the folder's current key (the first of
        // `keys`) is kept: one under a retired key is sealed again, as the import rules say.
        let sealed = match SecretState::classify(was) {
            SecretState::Sealed { key_id: Some(id) } => {
                !sealed_only || keys.first().is_some_and(|k| k.id().as_str() == id)
            }
            _ => false,
        };
        if was == is || (sealed_only && !sealed) {
            continue;
        }
        let (Some(a), Some(b)) = (open(was, &binding, keys), open(is, &binding, keys)) else {
            continue;
        };
        if a.expose() == b.expose() && !a.is_empty() {
            let plaintext = SecretState::classify(is) == SecretState::Plaintext;
            let was = was.to_owned();
            new.set_secret_value(&field.location, was);
            if plaintext {
                aligned.0 += 1;
            } else {
                aligned.1 += 1;
            }
        }
    }
    aligned
}

/// The password `value` holds, when it can be told: plaintext as is, sealed when one of `keys`
/// opens it for `binding`.
fn open(value: &str, binding: &str, keys: &[&ServerKey]) -> Option<Secret> {
    match SecretState::classify(value) {
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
}
