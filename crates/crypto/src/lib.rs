//! Server keys and sealing: the `{aesgcm} 1,<key id>,<hex>` form of a JIMS password.
//!
//! - [`ServerKey`]: 32 bytes from the operating system's RNG, its [`KeyId`], and a cipher keyed
//!   once and reused for every seal and open.
//! - [`TransportKey`]: a folder's X25519 key pair, to which other servers seal exports; it
//!   wraps and unwraps an export's data key with HPKE (RFC 9180), and [`PublicKeyFile`] is its
//!   public half as a text file.
//! - [`Secret`]: a password in memory, never printed, wiped on drop.
//!
//! A sealed value is `{aesgcm} 1,<key id>,<hex(nonce ‖ ciphertext ‖ tag)>` with a 96-bit random
//! nonce, a 128-bit tag and additional data that binds it to its section, item and field
//! (`model::SecretField::binding`), so a value moved elsewhere fails to open.
//!
//! Architecture invariant: this crate does no file I/O; callers hand it bytes.

mod key;
mod pubfile;
mod secret;
mod transport;
mod wipe;

pub use key::{KeyId, SealedValue, ServerKey};
pub use pubfile::{
    MAX_PUBLIC_KEY_FILE, PUBLIC_KEY_FILE_MAGIC, PUBLIC_KEY_FILE_VERSION, PublicKeyFile,
};
pub use secret::Secret;
pub use transport::{
    KEY_WRAP_SUITE, PUBLIC_KEY_LEN, TransportKey, TransportPublic, WRAPPED_LEN, Wrapped,
    generate_data_key,
};
pub use wipe::SecretBytes;

/// What went wrong with a key or a sealed value. Never carries a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The operating system's RNG failed.
    #[error("the operating system's random number generator failed: {0}")]
    Rng(String),
    /// A key file is not 32 bytes, nor 64 hex digits.
    #[error("not a server key: expected 64 hexadecimal digits (32 bytes), {0}")]
    BadKey(String),
    /// The value is not of the form `{aesgcm} 1,<key id>,<hex>`.
    #[error("not a sealed value: {0}")]
    Malformed(&'static str),
    /// The value was sealed under another key.
    #[error("sealed under key {found}, not under this server's key {expected}")]
    ForeignKey {
        /// The key id in the value.
        found: String,
        /// The key id of the key used to open.
        expected: String,
    },
    /// Authentication failed: the value was altered, moved to another field, or the key is
    /// wrong although its id matches.
    #[error("the sealed value does not open: it was altered or moved from another item or field")]
    Tampered,
    /// A public-key file is malformed (`line` 0: the file as a whole).
    #[error("not a usable public-key file (line {line}): {message}")]
    PublicKeyFile {
        /// The line that is wrong, from 1; 0 for the file as a whole.
        line: usize,
        /// What is wrong, never quoting the file.
        message: String,
    },
}

/// The prefix of every sealed value.
pub const SEALED_PREFIX: &str = model::SealedParts::PREFIX;
