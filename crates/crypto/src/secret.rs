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
    fn trims_one_newline() {
        let mut s = Secret::copy_from(b"pw\n\n");
        s.trim_one_newline();
        assert_eq!(s.expose(), b"pw\n");
        let mut s = Secret::copy_from(b"pw\r\n");
        s.trim_one_newline();
        assert_eq!(s.expose(), b"pw");
    }
}
