//! Bundles sealed to recipients' public keys: `export --to PUBFILE…` seals every password under
//! a fresh data key and wraps it for each recipient; an import finds the entry for its own
//! transport key and unwraps the data key, which then acts as a `--source-key`.
//!
//! The header (every field, the recipients without their wraps: `model::sealed_to`) is each
//! wrap's additional data, so editing it breaks the unwrap: exit 2, nothing written.

use std::path::{Path, PathBuf};

use crypto::{KEY_WRAP_SUITE, PublicKeyFile, ServerKey};
use model::{Configuration, Header, Recipient, SealedTo};
use serde::Serialize;

use crate::error::{Error, ErrorKind};
use crate::input::io_reason;

/// Who a sealed bundle was sealed to, and whether this server is one of them, for the output
/// of an import whose passwords stayed missing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SealedToNote {
    /// Each recipient's transport key id and server id, in order.
    pub recipients: Vec<RecipientId>,
    /// This server's id.
    pub this_server: String,
    /// This server's transport key id (none in a folder that has no transport key yet).
    pub this_key: Option<String>,
    /// The transport key that opened the bundle (none: this server is not a recipient).
    pub opened_with: Option<String>,
}

/// A recipient as the output names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecipientId {
    /// Its transport key id.
    pub key_id: String,
    /// Its server id.
    pub server_id: String,
}

impl SealedToNote {
    /// The sentence an import prints when this server is not a recipient.
    pub fn not_a_recipient_message(&self) -> String {
        let list: Vec<String> = self
            .recipients
            .iter()
            .map(|r| format!("{} (transport key {})", shown(&r.server_id), r.key_id))
            .collect();
        let this = match &self.this_key {
            Some(k) => format!("{} (transport key {k})", shown(&self.this_server)),
            None => format!("{} (no transport key yet)", shown(&self.this_server)),
        };
        format!(
            "the bundle's passwords are sealed to {}, not to this server, {this}; ask its sender \
             to export again with --to and this server's public key (`jimsctl key public`)",
            list.join(", ")
        )
    }
}

/// A server id from an input, as shown: control characters escaped.
fn shown(s: &str) -> String {
    s.chars().flat_map(char::escape_debug).collect()
}

/// Reads `--to` public-key files; a file that is unreadable, malformed, or names a key given
/// twice is bad input (exit 2).
pub(crate) fn read_recipients(paths: &[PathBuf]) -> Result<Vec<PublicKeyFile>, Error> {
    let mut out: Vec<PublicKeyFile> = Vec::with_capacity(paths.len());
    for path in paths {
        let bytes = read_small(path)?;
        let file = PublicKeyFile::parse(&bytes).map_err(|e| {
            Error::new(ErrorKind::Input, format!("--to {}: {e}", path.display())).with_path(path)
        })?;
        if out.iter().any(|f| f.public.id() == file.public.id()) {
            return Err(Error::new(
                ErrorKind::Usage,
                format!(
                    "--to {}: the public key {} is given twice; give each recipient once",
                    path.display(),
                    file.public.id()
                ),
            )
            .with_path(path));
        }
        out.push(file);
    }
    Ok(out)
}

fn read_small(path: &Path) -> Result<Vec<u8>, Error> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| {
        Error::new(
            ErrorKind::Input,
            format!("cannot read the public key {}: {}", path.display(), io_reason(&e)),
        )
        .with_path(path)
    })?;
    let mut bytes = Vec::new();
    file.take(crypto::MAX_PUBLIC_KEY_FILE as u64 + 1).read_to_end(&mut bytes).map_err(|e| {
        Error::new(
            ErrorKind::Input,
            format!("cannot read the public key {}: {}", path.display(), io_reason(&e)),
        )
        .with_path(path)
    })?;
    Ok(bytes)
}

/// Seals every password of `config` (sealed ones opened with the folder's keys, plaintext ones
/// as they are) under a fresh data key, and adds to `header` the sealing fields with one wrap
/// of the data key per recipient. Returns how many passwords were sealed.
pub(crate) fn seal_to(
    config: &mut Configuration,
    target: &store::Target<impl store::Access>,
    header: &mut Header,
    recipients: &[PublicKeyFile],
) -> Result<usize, Error> {
    let data_key = crypto::generate_data_key().map_err(crypto_failure)?;
    let sealed = secrets::seal_under(config, target.folder_keys(), &data_key).map_err(|e| {
        let kind = match e.kind() {
            secrets::ErrorKind::Tampered => ErrorKind::Crypto,
            _ => ErrorKind::Io,
        };
        Error::new(kind, format!("{}: {e}; nothing was written", target.dir().display()))
            .caused_by(e)
    })?;
    // The wraps are not part of the authenticated bytes: placeholders first, then the wraps.
    let placeholder = |f: &PublicKeyFile| Recipient {
        key_id: f.public.id().as_str().to_owned(),
        enc: "0".repeat(64),
        wrapped: "0".repeat(96),
        server_id: f.server_id.clone(),
    };
    let mut sealing = SealedTo {
        suite: KEY_WRAP_SUITE.to_owned(),
        data_key_id: data_key.id().as_str().to_owned(),
        recipients: recipients.iter().map(placeholder).collect(),
    };
    header.set_sealed_to(&sealing);
    let aad = header.authenticated_bytes();
    for (entry, file) in sealing.recipients.iter_mut().zip(recipients) {
        let wrapped = file.public.wrap(&data_key, &aad).map_err(|e| {
            Error::new(ErrorKind::Input, format!("recipient {}: {e}", shown(&file.server_id)))
        })?;
        entry.enc = hex::encode(wrapped.enc);
        entry.wrapped = hex::encode(wrapped.sealed);
    }
    header.set_sealed_to(&sealing);
    debug_assert_eq!(header.authenticated_bytes(), aad);
    Ok(sealed)
}

fn crypto_failure(e: crypto::Error) -> Error {
    Error::new(ErrorKind::Io, format!("could not seal the export: {e}"))
}

/// What an import makes of a sealed bundle's header.
pub(crate) enum Unwrapped {
    /// Not a bundle sealed to recipients.
    NotSealed,
    /// This server is a recipient: the data key, and who the bundle was sealed to.
    Key(Box<ServerKey>, SealedToNote),
    /// This server is not a recipient.
    NotRecipient(SealedToNote),
}

/// Finds this server's entry in a sealed bundle's header and unwraps the data key.
///
/// # Errors
/// Exit 2 ([`ErrorKind::Crypto`]) when the header, the wrap or the encapsulated key of this
/// server's entry was altered (the unwrap fails), when an entry's key id was changed from this
/// server's, when the data key is not the one the header names, or for an unknown suite.
pub(crate) fn unwrap_for(
    export_path: &Path,
    header: &Header,
    target: &store::Target<impl store::Access>,
) -> Result<Unwrapped, Error> {
    let tampered = |why: &str| {
        Error::new(
            ErrorKind::Crypto,
            format!(
                "{}: {why}: the bundle was altered after it was sealed; nothing was written. \
                 Ask its sender to export it again",
                export_path.display()
            ),
        )
        .with_path(export_path)
    };
    let sealing = match header.sealed_to() {
        Ok(Some(s)) => s,
        Ok(None) => return Ok(Unwrapped::NotSealed),
        Err(e) => return Err(tampered(&e)),
    };
    if sealing.suite != KEY_WRAP_SUITE {
        return Err(Error::new(
            ErrorKind::Crypto,
            format!(
                "{}: the bundle's key_wrap {} is not one this jimsctl knows ({KEY_WRAP_SUITE})",
                export_path.display(),
                shown(&sealing.suite)
            ),
        )
        .with_path(export_path));
    }
    let (current, retired) = target.transport_keys()?;
    let mine: Vec<&crypto::TransportKey> = current.iter().chain(retired.iter()).collect();
    let mut note = SealedToNote {
        recipients: sealing
            .recipients
            .iter()
            .map(|r| RecipientId { key_id: r.key_id.clone(), server_id: r.server_id.clone() })
            .collect(),
        this_server: target.server_id().to_owned(),
        this_key: current.as_ref().map(|k| k.id().as_str().to_owned()),
        opened_with: None,
    };
    let decode = |r: &Recipient| -> Result<(Vec<u8>, Vec<u8>), Error> {
        match (hex::decode(&r.enc), hex::decode(&r.wrapped)) {
            (Ok(e), Ok(w)) => Ok((e, w)),
            _ => Err(tampered("a recipient's wrap is not hexadecimal")),
        }
    };
    let aad = header.authenticated_bytes();
    for r in &sealing.recipients {
        if let Some(key) = mine.iter().find(|k| k.id().as_str() == r.key_id) {
            let (enc, wrapped) = decode(r)?;
            let data_key = key.unwrap(&enc, &wrapped, &aad).map_err(|_| {
                tampered(&format!(
                    "the data key wrapped for this server (transport key {}) does not open: its \
                     header, encapsulated key or wrap was changed",
                    r.key_id
                ))
            })?;
            if data_key.id().as_str() != sealing.data_key_id {
                return Err(tampered("the wrapped data key is not the one the header names"));
            }
            note.opened_with = Some(r.key_id.clone());
            return Ok(Unwrapped::Key(Box::new(data_key), note));
        }
    }
    // No entry names a key of this server: one whose key id was edited away from ours would
    // open with the header as it was.
    for (i, r) in sealing.recipients.iter().enumerate() {
        let (enc, wrapped) = decode(r)?;
        for key in &mine {
            let as_was = header.authenticated_bytes_as(Some((i, key.id().as_str())));
            if key.unwrap(&enc, &wrapped, &as_was).is_ok() {
                return Err(tampered(&format!(
                    "recipient_{} was sealed to this server's transport key {} but names {}",
                    i + 1,
                    key.id(),
                    r.key_id
                )));
            }
        }
    }
    Ok(Unwrapped::NotRecipient(note))
}
