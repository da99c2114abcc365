//! Transport keys and data keys: how an export is sealed to other servers' public keys.
//!
//! Every managed folder has an X25519 key pair, its *transport key*, separate from its server
//! key. An export sealed to recipients (`jimsctl export --to PUBFILE…`) draws a fresh 256-bit
//! *data key*, seals every password under it in the usual `{aesgcm} 1,<key id>,<hex>` form
//! (the data key is a [`ServerKey`] for that purpose), and wraps the data key for each recipient
//! with HPKE (RFC 9180): base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM, with
//! the bundle's header as the additional data, so that editing the header breaks the unwrap.
//!
//! A transport key's id is the first 8 bytes of
//! `SHA-256("jimsctl transport key id v1\0" ‖ public key)` as 16 hex digits: anyone holding the
//! public key computes it, so a public-key file cannot name another key than the one it holds.

use std::fmt;

use hpke::aead::{AeadTag, AesGcm256};
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem as _, OpModeR, OpModeS, Serializable};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use crate::{Error, KeyId, ServerKey};

type Kem = X25519HkdfSha256;
type PrivateKey = <Kem as hpke::Kem>::PrivateKey;
type PublicKey = <Kem as hpke::Kem>::PublicKey;
type EncappedKey = <Kem as hpke::Kem>::EncappedKey;

/// Domain separation for transport key ids.
const TRANSPORT_ID_CONTEXT: &[u8] = b"jimsctl transport key id v1\0";
/// HPKE's `info`: what the wrapped secret is, so a wrap made for another purpose never opens as
/// a data key.
const WRAP_INFO: &[u8] = b"jimsctl export data key v1";
/// The name of the suite, as a bundle's `key_wrap` header field carries it.
pub const KEY_WRAP_SUITE: &str = "hpke-base-x25519-sha256-aes256gcm";
/// Length of an X25519 public key and of an HPKE encapsulated key.
pub const PUBLIC_KEY_LEN: usize = 32;
/// Length of a wrapped data key: 32 bytes of key and a 16-byte tag.
pub const WRAPPED_LEN: usize = 32 + 16;

/// A transport key pair: the private half stays in its folder (`transport.key`, mode 0600).
pub struct TransportKey {
    private: PrivateKey,
    public: TransportPublic,
}

impl fmt::Debug for TransportKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TransportKey({})", self.public.id)
    }
}

/// The public half of a transport key, and its id.
#[derive(Clone, PartialEq, Eq)]
pub struct TransportPublic {
    bytes: [u8; PUBLIC_KEY_LEN],
    id: KeyId,
}

impl fmt::Debug for TransportPublic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TransportPublic({})", self.id)
    }
}

/// A data key wrapped for one recipient: HPKE's encapsulated key and the sealed data key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wrapped {
    /// The encapsulated (ephemeral public) key.
    pub enc: [u8; PUBLIC_KEY_LEN],
    /// The data key sealed for the recipient, with its tag.
    pub sealed: [u8; WRAPPED_LEN],
}

impl TransportKey {
    /// A fresh key pair from the operating system's RNG (RFC 9180's `DeriveKeyPair` over 32
    /// fresh bytes).
    pub fn generate() -> Result<TransportKey, Error> {
        let mut ikm = Zeroizing::new([0u8; 32]);
        getrandom::getrandom(ikm.as_mut()).map_err(|e| Error::Rng(e.to_string()))?;
        let (private, _) = Kem::derive_keypair(ikm.as_ref());
        Ok(TransportKey::from_private(private))
    }

    fn from_private(private: PrivateKey) -> TransportKey {
        let public = Kem::sk_to_pk(&private);
        let mut bytes = [0u8; PUBLIC_KEY_LEN];
        bytes.copy_from_slice(&public.to_bytes());
        TransportKey { private, public: TransportPublic::from_array(bytes) }
    }

    /// Reads a key file: 64 hex digits (the X25519 private scalar), surrounding whitespace
    /// ignored.
    pub fn from_key_file(contents: &[u8]) -> Result<TransportKey, Error> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        let text = std::str::from_utf8(contents).ok().map(str::trim);
        match text {
            Some(t) if t.len() == 64 => hex::decode_to_slice(t, bytes.as_mut())
                .map_err(|_| Error::BadKey("found other characters".into()))?,
            _ => return Err(Error::BadKey(format!("found {} bytes", contents.len()))),
        }
        let private = PrivateKey::from_bytes(bytes.as_ref())
            .map_err(|_| Error::BadKey("not an X25519 private key".into()))?;
        Ok(TransportKey::from_private(private))
    }

    /// The key file's contents: 64 hex digits and a newline. Wiped on drop.
    pub fn to_key_file(&self) -> Zeroizing<String> {
        let mut raw = self.private.to_bytes();
        let mut s = Zeroizing::new(String::with_capacity(65));
        s.push_str(&hex::encode(raw.as_slice()));
        s.push('\n');
        raw.as_mut_slice().zeroize();
        s
    }

    /// The public half.
    pub fn public(&self) -> &TransportPublic {
        &self.public
    }

    /// The key's id (its public half's).
    pub fn id(&self) -> &KeyId {
        &self.public.id
    }

    /// Unwraps a data key wrapped for this key with `aad` (the bundle header's authenticated
    /// bytes). Any change to `enc`, `sealed` or `aad` is [`Error::Tampered`].
    pub fn unwrap(&self, enc: &[u8], sealed: &[u8], aad: &[u8]) -> Result<ServerKey, Error> {
        if enc.len() != PUBLIC_KEY_LEN || sealed.len() != WRAPPED_LEN {
            return Err(Error::Malformed("a wrapped data key has the wrong length"));
        }
        let enc = EncappedKey::from_bytes(enc).map_err(|_| Error::Tampered)?;
        let (ciphertext, tag) = sealed.split_at(32);
        let tag = AeadTag::<AesGcm256>::from_bytes(tag).map_err(|_| Error::Tampered)?;
        let mut key = Zeroizing::new([0u8; 32]);
        key.copy_from_slice(ciphertext);
        hpke::single_shot_open_in_place_detached::<AesGcm256, HkdfSha256, Kem>(
            &OpModeR::Base,
            &self.private,
            &enc,
            WRAP_INFO,
            key.as_mut(),
            aad,
            &tag,
        )
        .map_err(|_| {
            key.zeroize();
            Error::Tampered
        })?;
        Ok(ServerKey::from_bytes(key))
    }
}

impl TransportPublic {
    fn from_array(bytes: [u8; PUBLIC_KEY_LEN]) -> TransportPublic {
        let mut h = Sha256::new();
        h.update(TRANSPORT_ID_CONTEXT);
        h.update(bytes);
        let id = KeyId(hex::encode(&h.finalize()[..8]));
        TransportPublic { bytes, id }
    }

    /// The public key of these 32 bytes. Refuses a key that HPKE cannot use (the all-zero
    /// point and other keys of small order give no shared secret: found when wrapping).
    pub fn from_bytes(bytes: &[u8]) -> Result<TransportPublic, Error> {
        let array: [u8; PUBLIC_KEY_LEN] = bytes.try_into().map_err(|_| {
            Error::BadKey(format!("a public key is 32 bytes, found {}", bytes.len()))
        })?;
        Ok(TransportPublic::from_array(array))
    }

    /// The key's 32 bytes.
    pub fn as_bytes(&self) -> &[u8; PUBLIC_KEY_LEN] {
        &self.bytes
    }

    /// The key's id.
    pub fn id(&self) -> &KeyId {
        &self.id
    }

    /// Wraps `data_key` for this recipient, authenticating `aad`.
    ///
    /// # Errors
    /// [`Error::Rng`] when the RNG fails; [`Error::BadKey`] when the public key is one that
    /// gives no shared secret (a point of small order).
    pub fn wrap(&self, data_key: &ServerKey, aad: &[u8]) -> Result<Wrapped, Error> {
        let public = PublicKey::from_bytes(&self.bytes)
            .map_err(|_| Error::BadKey("not an X25519 public key".into()))?;
        let mut rng = DrawnRng { failure: None };
        let mut buffer = Zeroizing::new(*data_key.bytes());
        let result = hpke::single_shot_seal_in_place_detached::<AesGcm256, HkdfSha256, Kem, _>(
            &OpModeS::Base,
            &public,
            WRAP_INFO,
            buffer.as_mut(),
            aad,
            &mut rng,
        );
        if let Some(e) = rng.failure.take() {
            return Err(Error::Rng(e));
        }
        let (enc, tag) = result.map_err(|_| {
            Error::BadKey(format!(
                "the public key {} gives no shared secret (a point of small order); ask its \
                 server for its key again",
                self.id
            ))
        })?;
        let mut out = Wrapped { enc: [0; PUBLIC_KEY_LEN], sealed: [0; WRAPPED_LEN] };
        out.enc.copy_from_slice(&enc.to_bytes());
        out.sealed[..32].copy_from_slice(buffer.as_ref());
        out.sealed[32..].copy_from_slice(&tag.to_bytes());
        Ok(out)
    }
}

/// A fresh data key for one export: a [`ServerKey`] from the OS RNG, never written to disk.
pub fn generate_data_key() -> Result<ServerKey, Error> {
    ServerKey::generate()
}

/// An RNG for HPKE's ephemeral key: draws from the OS RNG and records a failure instead of
/// panicking (the RNG traits have no error path), so that the caller can report it.
struct DrawnRng {
    failure: Option<String>,
}

impl rand_core::RngCore for DrawnRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        if let Err(e) = getrandom::getrandom(dest) {
            // The output is then unusable: the caller sees the failure and discards it.
            self.failure.get_or_insert_with(|| e.to_string());
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl rand_core::CryptoRng for DrawnRng {}

#[cfg(test)]
mod tests {
    use super::*;

    fn data_key() -> ServerKey {
        ServerKey::from_bytes(Zeroizing::new([9; 32]))
    }

    /// Compiles only for a type that implements `Zeroize`: for x25519-dalek's secrets, the
    /// same feature that derives it makes them wipe themselves on drop (`zeroize(drop)`).
    fn wipes_on_drop<T: Zeroize>() {}

    #[test]
    fn private_keys_are_wiped_on_drop() {
        // hpke's X25519 private key is an x25519-dalek `StaticSecret`, wiped on drop only with
        // that crate's `zeroize` feature (root Cargo.toml).
        wipes_on_drop::<x25519_dalek::StaticSecret>();
    }

    #[test]
    fn wrap_then_unwrap() {
        let t = TransportKey::generate().unwrap();
        let w = t.public().wrap(&data_key(), b"header").unwrap();
        let k = t.unwrap(&w.enc, &w.sealed, b"header").unwrap();
        assert_eq!(k.id(), data_key().id());
    }

    #[test]
    fn a_wrap_made_by_the_hpke_0_13_build_still_unwraps() {
        // Made by hpke 0.13 (the release jimsctl used before 0.12, chosen so that the binary
        // links one rand_core): DeriveKeyPair over 32 bytes of 7, the data key 32 bytes of 9
        // wrapped with WRAP_INFO and the additional data "header". Bundles sealed to a public
        // key by earlier builds must keep opening: same suite, same bytes on the wire.
        let t = TransportKey::from_key_file(
            b"896615161d5c4dab6be99bb69b180f22c86eb0ac1b8912e958ed5dd08813573b\n",
        )
        .unwrap();
        assert_eq!(
            hex::encode(t.public().as_bytes()),
            "5fd47633b5e43fca7bad1bfbe424feacb175d9d4d4a30f166dbd30636f0b446b"
        );
        let enc = hex::decode("49e4874e25fe389ed3c9fa2fd09d077907ecc5809c8619e2127128b6a72c7c7a")
            .unwrap();
        let sealed = hex::decode(
            "3df9c88674f7c20f0635c5d226e3f57c73d5b5e740316da9107df2d8b62f34a4\
             06210ffd7e1e40791bc24d047b246e23",
        )
        .unwrap();
        let k = t.unwrap(&enc, &sealed, b"header").unwrap();
        assert_eq!(k.bytes(), &[9u8; 32]);
        assert!(matches!(t.unwrap(&enc, &sealed, b"other"), Err(Error::Tampered)));
    }

    #[test]
    fn any_change_breaks_the_unwrap() {
        let t = TransportKey::generate().unwrap();
        let w = t.public().wrap(&data_key(), b"header").unwrap();
        assert!(matches!(t.unwrap(&w.enc, &w.sealed, b"headeR"), Err(Error::Tampered)));
        for i in 0..PUBLIC_KEY_LEN {
            let mut enc = w.enc;
            enc[i] ^= 1;
            assert!(t.unwrap(&enc, &w.sealed, b"header").is_err(), "enc byte {i}");
        }
        for i in 0..WRAPPED_LEN {
            let mut sealed = w.sealed;
            sealed[i] ^= 0x80;
            assert!(t.unwrap(&w.enc, &sealed, b"header").is_err(), "sealed byte {i}");
        }
        let other = TransportKey::generate().unwrap();
        assert!(other.unwrap(&w.enc, &w.sealed, b"header").is_err());
        assert!(t.unwrap(&[0; 32], &w.sealed, b"header").is_err());
        assert!(t.unwrap(&w.enc[..31], &w.sealed, b"header").is_err());
    }

    #[test]
    fn wraps_differ_and_small_order_keys_are_refused() {
        let t = TransportKey::generate().unwrap();
        let a = t.public().wrap(&data_key(), b"").unwrap();
        let b = t.public().wrap(&data_key(), b"").unwrap();
        assert_ne!(a.enc, b.enc);
        let zero = TransportPublic::from_bytes(&[0; 32]).unwrap();
        assert!(matches!(zero.wrap(&data_key(), b""), Err(Error::BadKey(_))));
    }

    #[test]
    fn key_files_round_trip_and_ids_come_from_the_public_key() {
        let t = TransportKey::generate().unwrap();
        let again = TransportKey::from_key_file(t.to_key_file().as_bytes()).unwrap();
        assert_eq!(again.id(), t.id());
        assert_eq!(again.public(), t.public());
        assert_eq!(TransportPublic::from_bytes(t.public().as_bytes()).unwrap().id(), t.id());
        assert_eq!(t.id().as_str().len(), 16);
        assert!(TransportKey::from_key_file(b"short").is_err());
        assert!(TransportKey::from_key_file(&[b'g'; 64]).is_err());
        assert!(!format!("{t:?}").contains(&t.to_key_file()[..64]));
    }
}
