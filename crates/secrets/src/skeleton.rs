//! The skeleton of a secrets file: every row still missing, by its item key, with an empty
//! password to fill in. `file:` reads it back (an empty value is "not found" until filled).

use std::path::Path;

use crypto::{Secret, SecretBytes};
use serde_json::{Map, Value};

use crate::error::SourceError;
use crate::sources::{FileFormat, Node, parse_tree};
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

/// A secrets file brought up to date with `table`: every key and value of `existing` (the file's
/// bytes, in `format`) kept, in its order, and each still-missing row's item key that the file
/// lacks added with an empty value, nested as [`skeleton`] nests it. Returns the new content
/// (held in wiped memory: it holds the passwords already typed) and how many keys were added.
///
/// TOML comments and layout are not kept (the content is written afresh); JSON's never were.
///
/// # Errors
/// A configuration error naming `path` when `existing` is not a usable secrets file (the same
/// checks as `file:`); no error repeats a value.
pub fn merge_skeleton(
    existing: &[u8],
    format: SkeletonFormat,
    table: &Table,
    path: &Path,
) -> Result<(SecretBytes, usize), SourceError> {
    let (mut tree, flat) = parse_tree(existing, format, path)?;
    let mut added = 0;
    for row in table.missing() {
        let key = row.key().as_str();
        if flat.contains_key(key) {
            continue;
        }
        let parts: Vec<&str> = key.split('/').collect();
        if insert_node(&mut tree, &parts) {
            added += 1;
        }
    }
    // Sized once so that the passwords are not left behind in a grown buffer.
    let mut out = Vec::with_capacity(existing.len() * 2 + added * 64 + 256);
    match format {
        FileFormat::Json => {
            write_json(&tree, 1, &mut out);
            out.push(b'\n');
        }
        FileFormat::Toml => write_toml(&tree, &mut Vec::new(), &mut out),
    }
    Ok((SecretBytes::new(out), added))
}

/// [`insert`] over a parsed file: the key made of `parts` as an empty leaf; `false` when it is
/// there already (a key twice in the table).
fn insert_node(map: &mut Vec<(String, Node)>, parts: &[&str]) -> bool {
    let [first, rest @ ..] = parts else { return false };
    let at = map.iter().position(|(name, _)| name == first);
    if rest.is_empty() {
        if at.is_some() {
            return false;
        }
        map.push(((*first).to_owned(), Node::Leaf(Secret::default())));
        return true;
    }
    let at = at.unwrap_or_else(|| {
        map.push(((*first).to_owned(), Node::Map(Vec::new())));
        map.len() - 1
    });
    if let Node::Map(child) = &mut map[at].1
        && insert_node(child, rest)
    {
        return true;
    }
    let flat = parts.join("/");
    if map.iter().any(|(name, _)| *name == flat) {
        return false;
    }
    map.push((flat, Node::Leaf(Secret::default())));
    true
}

/// `s` as a JSON string, into `out`.
fn json_string(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &b in s {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0..0x20 | 0x7f => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

/// A TOML basic string (or, for a name, a bare key when it can be one), into `out`.
fn toml_string(s: &[u8], key: bool, out: &mut Vec<u8>) {
    let bare = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-';
    if key && !s.is_empty() && s.iter().all(bare) {
        out.extend_from_slice(s);
    } else {
        // TOML's escapes for these are JSON's.
        json_string(s, out);
    }
}

fn write_json(map: &[(String, Node)], depth: usize, out: &mut Vec<u8>) {
    if map.is_empty() {
        out.extend_from_slice(b"{}");
        return;
    }
    out.extend_from_slice(b"{\n");
    for (i, (name, node)) in map.iter().enumerate() {
        out.extend(std::iter::repeat_n(b' ', depth * 2));
        json_string(name.as_bytes(), out);
        out.extend_from_slice(b": ");
        match node {
            Node::Leaf(secret) => json_string(secret.expose(), out),
            Node::Map(children) => write_json(children, depth + 1, out),
            // parse_tree refuses a file holding one.
            Node::Other(_) => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(if i + 1 < map.len() { b",\n" } else { b"\n" });
    }
    out.extend(std::iter::repeat_n(b' ', (depth - 1) * 2));
    out.push(b'}');
}

/// The leaves of `map` as `key = "value"` lines, then each table under its `[a.b]` header.
fn write_toml<'a>(map: &'a [(String, Node)], path: &mut Vec<&'a str>, out: &mut Vec<u8>) {
    for (name, node) in map {
        if let Node::Leaf(secret) = node {
            toml_string(name.as_bytes(), true, out);
            out.extend_from_slice(b" = ");
            toml_string(secret.expose(), false, out);
            out.push(b'\n');
        }
    }
    for (name, node) in map {
        if let Node::Map(children) = node {
            path.push(name);
            if !out.is_empty() {
                out.push(b'\n');
            }
            out.push(b'[');
            for (i, part) in path.iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                toml_string(part.as_bytes(), true, out);
            }
            out.extend_from_slice(b"]\n");
            write_toml(children, path, out);
            path.pop();
        }
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
