//! The operations on one managed folder that are no import: `server init` and `--adopt`,
//! `history`, `rollback`, and the keys (`key id`, `key public`, `key rotate`, `key list`,
//! `key retire`). Each opens the folder the way its job needs (the store's kinds of opening)
//! and returns the store's report, which the command line prints.

use std::path::Path;

use model::SectionId;

use crate::error::Error;

pub use crypto::PublicKeyFile;
pub use store::{
    CommitReport, InitReport, KeyInfo, KeyKind, RetireReport, RotateReport, VersionInfo,
};

/// `server init`: a new managed folder `dir` with an empty configuration and a fresh key
/// (version 0), for the server `server_id` (by default one made from the folder's name).
///
/// # Errors
/// A folder that is already managed, or not empty, or a server id that is not valid.
pub fn init(dir: &Path, server_id: Option<&str>) -> Result<InitReport, Error> {
    Ok(store::init(dir, server_id)?)
}

/// `server init --adopt`: takes over the JIMS configuration folder `dir` (its `cwd/`) as a
/// managed folder, with a fresh key, sealing every plaintext password it holds (version 0).
///
/// # Errors
/// A folder that holds no `cwd/`, is already managed, or whose native files do not parse.
pub fn adopt(dir: &Path, server_id: Option<&str>) -> Result<InitReport, Error> {
    Ok(store::adopt(dir, server_id)?)
}

/// `history`: every version of the folder `dir`, oldest first. Reads no section: a live file
/// damaged by hand does not hide the way back.
///
/// # Errors
/// A folder that is not managed, or whose records cannot be read.
pub fn history(dir: &Path) -> Result<Vec<VersionInfo>, Error> {
    Ok(store::Target::open_state(dir)?.history()?)
}

/// `rollback`: restores version `to` of the folder `dir` (by default the one before the
/// current) as a new version; [`CommitReport::unchanged`] when the folder already holds it.
/// Replaces every section without parsing them, so a live file damaged by hand does not stand
/// in the way of restoring a good version.
///
/// # Errors
/// A folder that is not managed or busy, or a version that is not in its history.
pub fn rollback(dir: &Path, to: Option<u64>) -> Result<CommitReport, Error> {
    Ok(store::Target::open_to_replace(dir, &SectionId::ALL)?.rollback(to)?)
}

/// `key id`: the id of the folder's server key (it names the key, never reveals it).
///
/// # Errors
/// A folder that is not managed, or whose key cannot be read.
pub fn key_id(dir: &Path) -> Result<String, Error> {
    Ok(store::Target::open_state(dir)?.key_id().as_str().to_owned())
}

/// The folder's transport public key, as the file other servers export to (`key public`).
#[derive(Clone, Debug)]
pub struct TransportPublicKey {
    /// The public-key file: the server's id and its transport public key.
    pub file: PublicKeyFile,
    /// Whether the key pair was made now (an older folder had none).
    pub created: bool,
}

/// `key public`: the transport public key of the folder `dir`, made first (and the folder
/// locked for that) when the folder has none.
///
/// # Errors
/// A folder that is not managed or (when a key pair must be made) busy.
pub fn public_key(dir: &Path) -> Result<TransportPublicKey, Error> {
    let target = store::Target::open_state(dir)?;
    let (key, created, server_id) = match target.transport_keys()?.0 {
        Some(key) => (key, false, target.server_id().to_owned()),
        None => {
            drop(target);
            let mut target = store::Target::open_to_replace(dir, &SectionId::ALL)?;
            let (key, created) = target.ensure_transport_key()?;
            (key, created, target.server_id().to_owned())
        }
    };
    Ok(TransportPublicKey {
        file: PublicKeyFile { server_id, public: key.public().clone() },
        created,
    })
}

/// `key rotate`: a new server key for the folder `dir`, every sealed password of its live
/// configuration sealed again under it (one new version) and the old key kept in the key ring;
/// with `transport`, a new transport key pair instead. `dry_run` writes nothing.
///
/// # Errors
/// A folder that is not managed or busy, or a sealed password that does not open.
pub fn rotate_key(dir: &Path, transport: bool, dry_run: bool) -> Result<RotateReport, Error> {
    let target = store::Target::open(dir)?;
    Ok(if transport { target.rotate_transport(dry_run)? } else { target.rotate_key(dry_run)? })
}

/// `key list`: the folder's keys, current and retired, and the versions each one seals.
///
/// # Errors
/// A folder that is not managed, or whose keys or history cannot be read.
pub fn key_list(dir: &Path) -> Result<Vec<KeyInfo>, Error> {
    Ok(store::Target::open_read(dir)?.key_list()?)
}

/// `key retire`: destroys the retired key `id` of the folder `dir`; with `reseal_history`, the
/// versions that still need it are sealed again under the current key first.
///
/// # Errors
/// A folder that is not managed or busy, a key that is not retired, or one that versions still
/// need without `reseal_history`.
pub fn retire_key(dir: &Path, id: &str, reseal_history: bool) -> Result<RetireReport, Error> {
    Ok(store::Target::open(dir)?.retire_key(id, reseal_history)?)
}
