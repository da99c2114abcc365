//! Digests of what a version holds, recorded with it so that `jimsctl status` can tell which
//! live files and items were changed by hand since: SHA-256 of each native file's bytes, and of
//! each item (its name, attributes, text and children, in order). A digest names content
//! without revealing it: every password a version holds is sealed.

use std::collections::BTreeMap;

use model::{Configuration, Element};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::commit::NewFile;

/// Item digests: section id → item id (the element's name for an item without ids) → digest.
pub(crate) type ItemDigests = BTreeMap<String, BTreeMap<String, String>>;

/// What a version's record holds about its content.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Digests {
    /// Native file (relative to `cwd/`) → SHA-256 of its bytes, hex.
    pub(crate) files: BTreeMap<String, String>,
    /// Per section, per item.
    pub(crate) items: ItemDigests,
}

/// The digest of each file of `files`.
pub(crate) fn files(files: &[NewFile]) -> BTreeMap<String, String> {
    files.iter().map(|f| (f.path.to_owned(), bytes(&f.bytes))).collect()
}

/// SHA-256 of `b`, hex.
pub(crate) fn bytes(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// The digest of every item of `config`, by section and item key. A (malformed) section that
/// repeats an id gets `id#2`, `id#3`… for the repeats.
pub(crate) fn items(config: &Configuration) -> ItemDigests {
    let mut out = ItemDigests::new();
    for section in config.sections() {
        let mut map = BTreeMap::new();
        for (_, _, item) in section.items() {
            let base = if section.id.has_item_ids() {
                item.attr("id").unwrap_or_default().to_owned()
            } else {
                item.name.clone()
            };
            let mut key = base.clone();
            let mut n = 1;
            while map.contains_key(&key) {
                n += 1;
                key = format!("{base}#{n}");
            }
            let mut h = Sha256::new();
            element(item, &mut h);
            map.insert(key, hex::encode(&h.finalize()[..12]));
        }
        out.insert(section.id.as_str().to_owned(), map);
    }
    out
}

fn field(h: &mut Sha256, s: &str) {
    h.update((s.len() as u64).to_le_bytes());
    h.update(s.as_bytes());
}

fn element(e: &Element, h: &mut Sha256) {
    field(h, &e.name);
    h.update((e.attributes.len() as u64).to_le_bytes());
    for a in &e.attributes {
        field(h, &a.name);
        field(h, &a.value);
    }
    match &e.text {
        Some(t) => {
            h.update([1]);
            field(h, t);
        }
        None => h.update([0]),
    }
    h.update((e.children.len() as u64).to_le_bytes());
    for c in &e.children {
        element(c, h);
    }
}
