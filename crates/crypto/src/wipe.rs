//! [`SecretBytes`]: a large byte buffer (a whole file) wiped when dropped, eight bytes per
//! store.
//!
//! `zeroize` wipes a `Vec<u8>` one volatile byte store at a time: about a byte per cycle, which
//! for the ~100 KB files an import reads and writes (the export, each version's native files and
//! its archive) was a few percent of a batch. Volatile stores of whole words keep the guarantee
//! that the compiler cannot remove the wipe as dead stores, at an eighth of the stores.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{Ordering, compiler_fence};

/// A byte buffer that may hold secrets (an export with plaintext passwords, a secrets file, a
/// native file): its whole capacity is overwritten with zeros when it is dropped. `Debug`
/// prints only its length. It dereferences to `Vec<u8>`; growing it past its capacity leaves
/// the old buffer unwiped, so size it up front (as [`SecretBytes::with_capacity`] invites).
#[derive(Default, PartialEq, Eq)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// Takes ownership of `bytes` (wiped when this is dropped).
    pub fn new(bytes: Vec<u8>) -> SecretBytes {
        SecretBytes(bytes)
    }

    /// An empty buffer with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> SecretBytes {
        SecretBytes(Vec::with_capacity(capacity))
    }
}

impl Clone for SecretBytes {
    /// A copy sized exactly (the copy is wiped on its own drop).
    fn clone(&self) -> SecretBytes {
        let mut v = Vec::with_capacity(self.0.len());
        v.extend_from_slice(&self.0);
        SecretBytes(v)
    }
}

impl From<Vec<u8>> for SecretBytes {
    fn from(bytes: Vec<u8>) -> SecretBytes {
        SecretBytes(bytes)
    }
}

impl Deref for SecretBytes {
    type Target = Vec<u8>;
    fn deref(&self) -> &Vec<u8> {
        &self.0
    }
}

impl DerefMut for SecretBytes {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.0
    }
}

impl AsRef<[u8]> for SecretBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes({} bytes)", self.0.len())
    }
}

impl Drop for SecretBytes {
    fn drop(&mut self) {
        let capacity = self.0.capacity();
        // SAFETY: the vector owns `capacity` bytes from `as_mut_ptr()` (spare capacity
        // included); writing zeros to them is valid for `u8`, and nothing reads them after.
        unsafe { wipe(self.0.as_mut_ptr(), capacity) };
        self.0.clear();
    }
}

/// Overwrites `len` bytes from `ptr` with zeros by volatile stores: single bytes up to an
/// eight-byte boundary and at the end, whole `u64` words between.
///
/// # Safety
/// `ptr` must be valid for writes of `len` bytes.
unsafe fn wipe(ptr: *mut u8, len: usize) {
    let mut i = 0;
    // SAFETY (all three loops): every offset written is below `len`, which the caller
    // guarantees writable; the word stores are at offsets aligned to 8 by the first loop.
    unsafe {
        while i < len && !(ptr.add(i) as usize).is_multiple_of(8) {
            ptr.add(i).write_volatile(0);
            i += 1;
        }
        while i + 8 <= len {
            ptr.add(i).cast::<u64>().write_volatile(0);
            i += 8;
        }
        while i < len {
            ptr.add(i).write_volatile(0);
            i += 1;
        }
    }
    compiler_fence(Ordering::SeqCst);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wipes_every_byte_of_the_capacity_whatever_the_alignment() {
        for len in [0usize, 1, 7, 8, 9, 63, 64, 65, 1000] {
            for offset in 0..8 {
                let mut buf = vec![0xA5u8; len + offset];
                // SAFETY: the slice from `offset` is `len` bytes of `buf`.
                unsafe { wipe(buf.as_mut_ptr().add(offset), len) };
                assert!(buf[..offset].iter().all(|b| *b == 0xA5), "{len}/{offset}: before");
                assert!(buf[offset..].iter().all(|b| *b == 0), "{len}/{offset}: wiped");
            }
        }
    }

    #[test]
    fn derefs_clones_exactly_and_debug_hides_the_bytes() {
        let mut b = SecretBytes::with_capacity(8);
        b.extend_from_slice(b"hunter2");
        assert_eq!(b.as_slice(), b"hunter2");
        let c = b.clone();
        assert_eq!(c.capacity(), 7);
        assert_eq!(c, b);
        assert_eq!(format!("{b:?}"), "SecretBytes(7 bytes)");
    }
}
