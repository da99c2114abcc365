//! A fast, non-cryptographic hasher for this crate's lookup maps (FxHash's mixing).
//!
//! Its maps are keyed by the user's own data: the keys of their own secrets file and the
//! secret keys, Data and Username of their own exports. Resistance to crafted collisions
//! (SipHash's reason to be std's default) would only guard a user against slowing down their
//! own import, so it buys nothing here, while these lookups sit on the path of every row.
//! Never key a map with this hasher by data a third party chooses.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// FxHash's word-at-a-time mixing, with a final rotation that brings the well-mixed high bits
/// down to the low bits that pick a bucket (as `rustc-hash` 2 does).
#[derive(Default)]
pub(crate) struct FastHasher(u64);

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let word = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            self.add(word);
        }
        for &b in chunks.remainder() {
            self.add(u64::from(b));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.0.rotate_left(26)
    }
}

impl FastHasher {
    fn add(&mut self, word: u64) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(K);
    }
}

/// A `HashMap` with [`FastHasher`].
pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// The [`FastHasher`] hash of `bytes`.
pub(crate) fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h = FastHasher::default();
    h.write(bytes);
    h.finish()
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
