//! The hasher of this crate's lookup maps: `rustc-hash`'s FxHash.
//!
//! Its maps are keyed by the user's own data: the keys of their own secrets file and the
//! secret keys, Data and Username of their own exports. Resistance to crafted collisions
//! (SipHash's reason to be std's default) would only guard a user against slowing down their
//! own import, so it buys nothing here, while these lookups sit on the path of every row.
//! Never key a map with this hasher by data a third party chooses.

use std::collections::HashMap;
use std::hash::BuildHasher;

use rustc_hash::FxBuildHasher;

/// A `HashMap` hashed with FxHash.
pub(crate) type FastMap<K, V> = HashMap<K, V, FxBuildHasher>;

/// The FxHash of `bytes`.
pub(crate) fn hash_bytes(bytes: &[u8]) -> u64 {
    FxBuildHasher.hash_one(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_bytes_hash_equal_and_neighbours_differ() {
        assert_eq!(hash_bytes(b"event_sources/DC10"), hash_bytes(b"event_sources/DC10"));
        let mut seen = std::collections::HashSet::new();
        for i in 0..10_000 {
            assert!(seen.insert(hash_bytes(format!("event_sources/DC{i}").as_bytes())));
        }
        // The low bits (the bucket) vary too.
        let low: std::collections::HashSet<u64> =
            (0..256).map(|i| hash_bytes(format!("account/u{i}").as_bytes()) & 255).collect();
        assert!(low.len() > 128, "{}", low.len());
    }
}
