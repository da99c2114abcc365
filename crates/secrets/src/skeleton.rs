//! The skeleton of a secrets file: every row still missing, by its item key, with an empty
//! password to fill in. `file:` reads it back (an empty value is "not found" until filled).

use serde_json::{Map, Value};

use crate::sources::FileFormat;
use crate::table::Table;

/// The format of a skeleton: the formats `file:` reads.
pub type SkeletonFormat = FileFormat;

/// The skeleton of a secrets file for `table`: each still-missing row's item key (the most
/// specific one) with an empty value, nested by `/` (`{"event_sources": {"DC1": ""}}`), in row
/// order. A key that cannot nest (a part that is already a password key) is written flat at the
/// deepest level where it fits, which `file:` reads back as the same key.
pub fn skeleton(table: &Table, format: SkeletonFormat) -> String {
    let mut root = Map::new();
    for row in table.missing() {
        let parts: Vec<&str> = row.key().as_str().split('/').collect();
        insert(&mut root, &parts);
    }
    match format {
        FileFormat::Json => {
            let mut text = serde_json::to_string_pretty(&Value::Object(root)).unwrap_or_default();
            text.push('\n');
            text
        }
        FileFormat::Toml => toml::to_string(&to_toml(root)).unwrap_or_default(),
    }
}

/// Inserts the key made of `parts` as an empty leaf; `false` when it cannot go below `map`.
fn insert(map: &mut Map<String, Value>, parts: &[&str]) -> bool {
    let [first, rest @ ..] = parts else { return false };
    if rest.is_empty() {
        if map.contains_key(*first) {
            // The same key twice (one row per holder), or a folder of that name: keep what is
            // there; the caller tries the flat form.
            return map.get(*first).is_some_and(Value::is_string);
        }
        map.insert((*first).to_owned(), Value::String(String::new()));
        return true;
    }
    let nested = match map.entry((*first).to_owned()).or_insert_with(|| Value::Object(Map::new())) {
        Value::Object(child) => insert(child, rest),
        _ => false,
    };
    if nested {
        return true;
    }
    let flat = parts.join("/");
    if map.contains_key(&flat) {
        return map.get(&flat).is_some_and(Value::is_string);
    }
    map.insert(flat, Value::String(String::new()));
    true
}

fn to_toml(map: Map<String, Value>) -> toml::Table {
    map.into_iter()
        .map(|(k, v)| {
            let v = match v {
                Value::Object(m) => toml::Value::Table(to_toml(m)),
                _ => toml::Value::String(String::new()),
            };
            (k, v)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map_of(keys: &[&str]) -> Map<String, Value> {
        let mut root = Map::new();
        for k in keys {
            let parts: Vec<&str> = k.split('/').collect();
            assert!(insert(&mut root, &parts), "{k}");
        }
        root
    }

    #[test]
    fn conflicting_keys_fall_back_to_flat_names() {
        let m = map_of(&["a/b", "a/b/c", "a/b", "x/y/z", "x/y"]);
        assert_eq!(
            Value::Object(m).to_string(),
            r#"{"a":{"b":"","b/c":""},"x":{"y":{"z":""}},"x/y":""}"#
        );
    }
}
