//! [`Secret`]: bytes that are never printed and are wiped when dropped.

use std::fmt;

use zeroize::{Zeroize, Zeroizing};

/// A password held in memory: `Debug` and `Display` print `[REDACTED]`, the bytes are wiped on
/// drop, and there is no `Serialize`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(Zeroizing<Vec<u8>>);

impl Secret {
    /// Takes ownership of `bytes` (they are wiped when the secret is dropped).
    pub fn new(bytes: Vec<u8>) -> Secret {
        Secret(Zeroizing::new(bytes))
    }

    /// Copies `bytes` into a buffer sized exactly once (no reallocation leaves copies behind).
    pub fn copy_from(bytes: &[u8]) -> Secret {
        let mut v = Vec::with_capacity(bytes.len());
        v.extend_from_slice(bytes);
        Secret::new(v)
    }

    /// Takes a string's bytes, wiping nothing else (the string's buffer becomes the secret's).
    pub fn from_string(s: String) -> Secret {
        Secret::new(s.into_bytes())
    }

    /// The secret's bytes. Use them, do not keep copies.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The secret as UTF-8 text, when it is.
    pub fn expose_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Appends `bytes`. When the buffer is full it moves to a larger one and wipes the old one,
    /// so no copy of the secret is left behind by a reallocation.
    pub fn push_bytes(&mut self, bytes: &[u8]) {
        let needed = self.0.len() + bytes.len();
        if needed > self.0.capacity() {
            let mut bigger = Vec::with_capacity(needed.max(2 * self.0.capacity()).max(32));
            bigger.extend_from_slice(&self.0);
            self.0.zeroize();
            *self.0 = bigger;
        }
        self.0.extend_from_slice(bytes);
    }

    /// Removes the last UTF-8 character (a person's Backspace), wiping its bytes.
    pub fn pop_char(&mut self) {
        while let Some(b) = self.0.pop() {
            let is_start = b & 0xC0 != 0x80;
            let len = self.0.len();
            // The popped byte is gone from the length; wipe its storage too.
            self.0.spare_capacity_mut()[0].write(0);
            debug_assert!(self.0.len() == len);
            if is_start {
                break;
            }
        }
    }

    /// Drops one trailing `\n` (or `\r\n`) in place, as secret files and commands end lines.
    pub fn trim_one_newline(&mut self) {
        if self.0.last() == Some(&b'\n') {
            self.0.pop();
            if self.0.last() == Some(&b'\r') {
                self.0.pop();
            }
        }
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        // Zeroizing already wipes; wiping spare capacity too costs nothing here.
        self.0.zeroize();
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_its_bytes() {
        let s = Secret::copy_from(b"hunter2");
        assert_eq!(format!("{s}"), "[REDACTED]");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert_eq!(s.expose(), b"hunter2");
    }

    #[test]
    fn push_and_pop_like_a_prompt() {
        let mut s = Secret::new(Vec::with_capacity(2));
        s.push_bytes(b"ab");
        s.push_bytes("é".as_bytes());
        s.push_bytes(b"c");
        assert_eq!(s.expose(), "abéc".as_bytes());
        s.pop_char();
        s.pop_char();
        assert_eq!(s.expose(), b"ab");
        s.pop_char();
        s.pop_char();
        s.pop_char();
        assert!(s.is_empty());
    }

    #[test]
    fn trims_one_newline() {
        let mut s = Secret::copy_from(b"pw\n\n");
        s.trim_one_newline();
        assert_eq!(s.expose(), b"pw\n");
        let mut s = Secret::copy_from(b"pw\r\n");
        s.trim_one_newline();
        assert_eq!(s.expose(), b"pw");
    }
}
