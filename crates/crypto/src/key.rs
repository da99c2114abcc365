//! Server keys, key ids, seal and open.

use std::cell::RefCell;
use std::fmt;

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use crate::{Error, SEALED_PREFIX, Secret};

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Nonces drawn from the OS RNG at once, per thread: 341 nonces (4092 bytes) in one
/// `getrandom` call.
const NONCES_PER_FILL: usize = 341;
const POOL_LEN: usize = NONCE_LEN * NONCES_PER_FILL;
/// Plaintexts up to this length are encrypted in a buffer on the stack (wiped after use), longer
/// ones in one on the heap sized once.
const STACK_PLAINTEXT: usize = 128;
/// Domain separation for key ids, so a key id says nothing about other uses of the key.
const KEY_ID_CONTEXT: &[u8] = b"jimsctl server key id v1\0";

/// A key id: the first 8 bytes of `SHA-256("jimsctl server key id v1\0" ‖ key)`, as 16 lowercase
/// hex digits. It names a key without revealing it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub(crate) String);

impl KeyId {
    /// The key id's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A server's 256-bit key, with its cipher keyed once.
pub struct ServerKey {
    bytes: Zeroizing<[u8; 32]>,
    id: KeyId,
    /// `{aesgcm} 1,<key id>,`: the start of every value sealed under this key.
    sealed_prefix: String,
    cipher: Aes256Gcm,
}

impl fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServerKey({})", self.id)
    }
}

impl ServerKey {
    /// A fresh key from the operating system's RNG.
    pub fn generate() -> Result<ServerKey, Error> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        getrandom::getrandom(bytes.as_mut()).map_err(|e| Error::Rng(e.to_string()))?;
        Ok(ServerKey::from_bytes(bytes))
    }

    /// The key made of these bytes.
    pub fn from_bytes(bytes: Zeroizing<[u8; 32]>) -> ServerKey {
        let mut h = Sha256::new();
        h.update(KEY_ID_CONTEXT);
        h.update(bytes.as_ref());
        let digest = h.finalize();
        let id = KeyId(hex::encode(&digest[..8]));
        let cipher = Aes256Gcm::new(bytes.as_ref().into());
        let sealed_prefix = [SEALED_PREFIX, id.as_str(), ","].concat();
        ServerKey { bytes, id, sealed_prefix, cipher }
    }

    /// Reads a key file: 64 hex digits (surrounding whitespace ignored) or exactly 32 raw bytes.
    pub fn from_key_file(contents: &[u8]) -> Result<ServerKey, Error> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        let text = std::str::from_utf8(contents).ok().map(str::trim);
        match text {
            Some(t) if t.len() == 64 => {
                hex::decode_to_slice(t, bytes.as_mut())
                    .map_err(|_| Error::BadKey("found other characters".into()))?;
            }
            _ if contents.len() == 32 => bytes.copy_from_slice(contents),
            _ => return Err(Error::BadKey(format!("found {} bytes", contents.len()))),
        }
        Ok(ServerKey::from_bytes(bytes))
    }

    /// The key file's contents: 64 hex digits and a newline. Wiped on drop.
    pub fn to_key_file(&self) -> Zeroizing<String> {
        let mut s = Zeroizing::new(String::with_capacity(65));
        s.push_str(&hex::encode(self.bytes.as_ref()));
        s.push('\n');
        s
    }

    /// The key's id.
    pub fn id(&self) -> &KeyId {
        &self.id
    }

    /// The key's bytes, for wrapping a data key (crate only: never written but wrapped).
    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// Seals `plaintext` bound to `binding` (section, item, field):
    /// `{aesgcm} 1,<key id>,<hex>`.
    pub fn seal(&self, plaintext: &[u8], binding: &[u8]) -> Result<String, Error> {
        let nonce = next_nonce()?;
        // The plaintext is copied into a buffer and encrypted there in place, so the buffer
        // holds only ciphertext once `encrypt_in_place_detached` succeeds; when it fails (before
        // encrypting), the copy is wiped.
        let mut stack = [0u8; STACK_PLAINTEXT];
        let mut heap = Vec::new();
        let buffer: &mut [u8] = if plaintext.len() <= STACK_PLAINTEXT {
            &mut stack[..plaintext.len()]
        } else {
            heap.reserve_exact(plaintext.len());
            heap.resize(plaintext.len(), 0);
            &mut heap[..]
        };
        buffer.copy_from_slice(plaintext);
        let tag =
            match self.cipher.encrypt_in_place_detached(Nonce::from_slice(&nonce), binding, buffer)
            {
                Ok(tag) => tag,
                Err(_) => {
                    buffer.zeroize();
                    return Err(Error::Malformed("the plaintext is too long to seal"));
                }
            };

        let prefix = self.sealed_prefix.as_bytes();
        let mut out = Vec::with_capacity(prefix.len() + 2 * (NONCE_LEN + buffer.len() + TAG_LEN));
        out.extend_from_slice(prefix);
        out.resize(out.capacity(), 0);
        let rest = write_hex(&mut out[prefix.len()..], &nonce);
        let rest = write_hex(rest, buffer);
        write_hex(rest, &tag);
        // Only ASCII was written: the prefix and hex digits.
        String::from_utf8(out).map_err(|_| Error::Malformed("a sealed value is ASCII"))
    }

    /// Opens a sealed value bound to `binding`. A value under another key id is
    /// [`Error::ForeignKey`]; a value that fails authentication is [`Error::Tampered`].
    pub fn open(&self, sealed: &str, binding: &[u8]) -> Result<Secret, Error> {
        let parsed = SealedValue::parse(sealed)?;
        if parsed.key_id != self.id.0 {
            return Err(Error::ForeignKey {
                found: parsed.key_id.to_owned(),
                expected: self.id.0.clone(),
            });
        }
        let hex = parsed.hex.as_bytes();
        if hex.len() % 2 != 0 {
            return Err(Error::Malformed("bad hex digits"));
        }
        if hex.len() < 2 * (NONCE_LEN + TAG_LEN) {
            return Err(Error::Malformed("too short"));
        }
        let (nonce_hex, rest) = hex.split_at(2 * NONCE_LEN);
        let (ciphertext_hex, tag_hex) = rest.split_at(rest.len() - 2 * TAG_LEN);
        let mut nonce = [0u8; NONCE_LEN];
        let mut tag = [0u8; TAG_LEN];
        read_hex(nonce_hex, &mut nonce)?;
        read_hex(tag_hex, &mut tag)?;
        // The ciphertext is decoded into a buffer and decrypted there in place, so the buffer
        // holds the password once `decrypt_in_place_detached` succeeds: it is copied into a
        // `Secret`, and the buffer wiped, whatever happened.
        let len = ciphertext_hex.len() / 2;
        let mut stack = [0u8; STACK_PLAINTEXT];
        let mut heap = Zeroizing::new(Vec::new());
        let buffer: &mut [u8] = if len <= STACK_PLAINTEXT {
            &mut stack[..len]
        } else {
            heap.resize(len, 0);
            &mut heap[..]
        };
        let result = read_hex(ciphertext_hex, buffer).and_then(|()| {
            self.cipher
                .decrypt_in_place_detached(
                    Nonce::from_slice(&nonce),
                    binding,
                    buffer,
                    aes_gcm::Tag::from_slice(&tag),
                )
                .map(|()| Secret::copy_from(buffer))
                .map_err(|_| Error::Tampered)
        });
        buffer.zeroize();
        result
    }
}

/// Random bytes from the operating system's RNG, handed out 12 at a time as nonces, so that a
/// seal does not cost a system call. A region handed out is never handed out again: `used` only
/// grows until the whole buffer is consumed, and only then is the buffer filled afresh.
///
/// The pool lives in the process's memory, so a process that forked and went on sealing in both
/// parent and child would hand out the same nonces twice; jimsctl starts child processes only
/// to `exec` them (`cmd:` sources), which never seal.
struct NoncePool {
    bytes: [u8; POOL_LEN],
    /// The bytes handed out (or never filled): the next nonce starts here.
    used: usize,
}

thread_local! {
    /// Each thread's pool, empty until its first seal. Per thread, so no lock is taken and no
    /// two threads ever share bytes.
    static NONCES: RefCell<NoncePool> =
        const { RefCell::new(NoncePool { bytes: [0; POOL_LEN], used: POOL_LEN }) };
}

/// A fresh 96-bit nonce from this thread's [`NoncePool`], refilled from the OS RNG when it is
/// used up. A failed refill leaves the pool empty, so nothing is handed out until a refill
/// succeeds.
fn next_nonce() -> Result<[u8; NONCE_LEN], Error> {
    NONCES.with_borrow_mut(|pool| {
        if pool.used + NONCE_LEN > pool.bytes.len() {
            getrandom::getrandom(&mut pool.bytes).map_err(|e| Error::Rng(e.to_string()))?;
            pool.used = 0;
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&pool.bytes[pool.used..pool.used + NONCE_LEN]);
        pool.used += NONCE_LEN;
        Ok(nonce)
    })
}

/// The parts of a sealed value, borrowed from its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealedValue<'a> {
    /// The key id inside the value.
    pub key_id: &'a str,
    /// The hex payload: nonce, ciphertext and tag.
    pub hex: &'a str,
}

impl<'a> SealedValue<'a> {
    /// Splits `{aesgcm} 1,<key id>,<hex>` (the form is parsed by [`model::SealedParts`]).
    pub fn parse(sealed: &'a str) -> Result<SealedValue<'a>, Error> {
        let parts = model::SealedParts::parse(sealed)
            .ok_or(Error::Malformed("expected '{aesgcm} 1,<key id>,<hex>'"))?;
        Ok(SealedValue { key_id: parts.key_id, hex: parts.hex })
    }
}

/// The value of each byte as a hex digit, [`NOT_HEX`] for a byte that is none.
const HEX_VALUES: [u8; 256] = {
    let mut t = [NOT_HEX; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};
const NOT_HEX: u8 = 0xFF;

/// Decodes the hex digits `hex` (upper or lower case) into `out`, which is half as long.
fn read_hex(hex: &[u8], out: &mut [u8]) -> Result<(), Error> {
    debug_assert_eq!(hex.len(), 2 * out.len());
    // Any byte that is no digit sets the high bits of `bad`: one test at the end, no branch
    // per digit.
    let mut bad = 0u8;
    for (b, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        let (hi, lo) = (HEX_VALUES[usize::from(pair[0])], HEX_VALUES[usize::from(pair[1])]);
        bad |= hi | lo;
        *b = (hi << 4) | (lo & 0x0F);
    }
    if bad & 0xF0 != 0 {
        return Err(Error::Malformed("bad hex digits"));
    }
    Ok(())
}

/// Writes `bytes` as lowercase hex digits at the start of `out`, and returns the rest of `out`.
fn write_hex<'a>(out: &'a mut [u8], bytes: &[u8]) -> &'a mut [u8] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let (head, rest) = out.split_at_mut(2 * bytes.len());
    for (pair, b) in head.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 15)];
    }
    rest
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compiles only for a type that wipes itself on drop.
    fn wipes_on_drop<T: zeroize::ZeroizeOnDrop>() {}

    #[test]
    fn the_cipher_s_key_schedule_is_wiped_on_drop() {
        // The round keys hold the server key; without `aes`'s `zeroize` feature (root
        // Cargo.toml) they would stay in freed memory after the `ServerKey` is gone.
        wipes_on_drop::<aes::Aes256>();
    }

    fn key(byte: u8) -> ServerKey {
        ServerKey::from_bytes(Zeroizing::new([byte; 32]))
    }

    #[test]
    fn seal_then_open() {
        let k = ServerKey::generate().unwrap();
        let sealed = k.seal(b"hunter2", b"event_sources\0DC1\0password").unwrap();
        assert!(sealed.starts_with(&format!("{{aesgcm}} 1,{},", k.id())));
        assert!(!sealed.contains("hunter2"));
        let opened = k.open(&sealed, b"event_sources\0DC1\0password").unwrap();
        assert_eq!(opened.expose(), b"hunter2");
    }

    #[test]
    fn plaintexts_of_every_length_round_trip_as_lowercase_hex() {
        let k = key(5);
        for len in
            [0, 1, 15, 16, 17, STACK_PLAINTEXT - 1, STACK_PLAINTEXT, STACK_PLAINTEXT + 1, 1000]
        {
            let plaintext: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let sealed = k.seal(&plaintext, b"s\0i\0password").unwrap();
            let parsed = SealedValue::parse(&sealed).unwrap();
            assert_eq!(parsed.key_id, k.id().as_str());
            assert_eq!(parsed.hex.len(), 2 * (NONCE_LEN + len + TAG_LEN));
            assert!(parsed.hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
            assert_eq!(k.open(&sealed, b"s\0i\0password").unwrap().expose(), &plaintext[..]);
        }
    }

    #[test]
    fn nonces_differ() {
        let k = key(1);
        assert_ne!(k.seal(b"x", b"").unwrap(), k.seal(b"x", b"").unwrap());
    }

    #[test]
    fn nonces_stay_distinct_across_refills() {
        use std::collections::HashSet;
        let k = key(1);
        let count = 3 * NONCES_PER_FILL + 7;
        let mut nonces = HashSet::new();
        for _ in 0..count {
            let sealed = k.seal(b"x", b"").unwrap();
            let parsed = SealedValue::parse(&sealed).unwrap();
            let nonce = &parsed.hex[..2 * NONCE_LEN];
            assert!(nonces.insert(nonce.to_owned()), "nonce {nonce} handed out twice");
            assert_eq!(k.open(&sealed, b"").unwrap().expose(), b"x");
        }
        assert_eq!(nonces.len(), count);
    }

    #[test]
    fn moved_or_tampered_values_fail() {
        let k = key(1);
        let sealed = k.seal(b"hunter2", b"a\0b\0password").unwrap();
        assert!(matches!(k.open(&sealed, b"a\0c\0password"), Err(Error::Tampered)));
        let mut bad = sealed.into_bytes();
        let last = bad.len() - 1;
        bad[last] = if bad[last] == b'0' { b'1' } else { b'0' };
        let bad = String::from_utf8(bad).unwrap();
        assert!(matches!(k.open(&bad, b"a\0b\0password"), Err(Error::Tampered)));
    }

    #[test]
    fn foreign_key_and_malformed_values_are_errors() {
        let sealed = key(1).seal(b"pw", b"").unwrap();
        let err = key(2).open(&sealed, b"").unwrap_err();
        assert!(matches!(err, Error::ForeignKey { .. }), "{err}");
        for bad in ["", "{aesgcm} 1,", "{aesgcm} 1,abc", "{aesgcm} 1,abc,zz", "{aesgcm} 1,x,00"] {
            let k = key(1);
            let bad = bad.replace("abc", k.id().as_str()).replace("x,", &format!("{},", k.id()));
            assert!(k.open(&bad, b"").is_err(), "{bad}");
        }
    }

    #[test]
    fn hex_digits_decode_as_the_hex_crate_does_and_nothing_else_does() {
        for c in 0..=u8::MAX {
            for pair in [[c, b'7'], [b'7', c]] {
                let mut ours = [0u8; 1];
                let mut theirs = [0u8; 1];
                let got = read_hex(&pair, &mut ours).is_ok();
                let want = hex::decode_to_slice(pair, &mut theirs).is_ok();
                assert_eq!(got, want, "{pair:?}");
                if want {
                    assert_eq!(ours, theirs, "{pair:?}");
                }
            }
        }
    }

    #[test]
    fn upper_case_digits_open_and_odd_or_short_ones_do_not() {
        let k = key(3);
        let sealed = k.seal("pw-\u{e9}".as_bytes(), b"s\0i\0password").unwrap();
        let (head, hex) = sealed.rsplit_once(',').unwrap();
        let upper = format!("{head},{}", hex.to_ascii_uppercase());
        assert_eq!(k.open(&upper, b"s\0i\0password").unwrap().expose(), "pw-\u{e9}".as_bytes());
        let odd = format!("{head},{}", &hex[1..]);
        assert!(matches!(k.open(&odd, b"s\0i\0password"), Err(Error::Malformed(_))));
        let short = format!("{head},{}", &hex[..2 * (NONCE_LEN + TAG_LEN) - 2]);
        assert!(matches!(k.open(&short, b"s\0i\0password"), Err(Error::Malformed(_))));
        let no_plaintext = format!("{head},{}", &hex[..2 * (NONCE_LEN + TAG_LEN)]);
        assert!(matches!(k.open(&no_plaintext, b"s\0i\0password"), Err(Error::Tampered)));
    }

    #[test]
    fn key_files_round_trip_and_ids_are_stable() {
        let k = key(7);
        let again = ServerKey::from_key_file(k.to_key_file().as_bytes()).unwrap();
        assert_eq!(k.id(), again.id());
        assert_eq!(k.id().as_str().len(), 16);
        assert_eq!(ServerKey::from_key_file(&[7u8; 32]).unwrap().id(), k.id());
        assert!(ServerKey::from_key_file(b"short").is_err());
        assert!(ServerKey::from_key_file(&[b'g'; 64]).is_err());
    }

    #[test]
    fn debug_shows_only_the_id() {
        let k = key(3);
        let shown = format!("{k:?}");
        assert_eq!(shown, format!("ServerKey({})", k.id()));
    }
}
