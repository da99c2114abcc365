//! `server.toml` (who this server is) and `server.key` (its key, mode 0600).

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crypto::ServerKey;
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind};
use crate::fsops;
use crate::layout::{LAYOUT_VERSION, StatePaths};

/// The contents of `server.toml`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct ServerToml {
    /// The layout of the folder, [`LAYOUT_VERSION`].
    pub(crate) layout_version: u32,
    /// The server's id, written into the exports it makes.
    pub(crate) server_id: String,
    /// The id of `server.key`.
    pub(crate) key_id: String,
    /// When the folder was made (RFC 3339 UTC).
    pub(crate) created: String,
}

/// The longest server id accepted.
const MAX_SERVER_ID: usize = 128;

/// Checks a server id given by a person: 1–128 characters, no control characters, no
/// surrounding spaces.
pub(crate) fn check_server_id(id: &str) -> Result<(), Error> {
    let problem = if id.is_empty() {
        Some("it is empty")
    } else if id.chars().count() > MAX_SERVER_ID {
        Some("it is longer than 128 characters")
    } else if id.chars().any(char::is_control) {
        Some("it holds control characters")
    } else if id.trim() != id {
        Some("it begins or ends with spaces")
    } else {
        None
    };
    match problem {
        None => Ok(()),
        Some(p) => Err(Error::new(
            ErrorKind::InvalidServerId,
            format!("the server id {id:?} is not usable: {p}; choose another with --server-id"),
        )),
    }
}

/// The server id to use when none is given: the folder's name when it makes a usable id, else
/// `jims-` and the first eight digits of the key id.
pub(crate) fn default_server_id(dir: &Path, key: &ServerKey) -> String {
    let name = std::path::absolute(dir)
        .ok()
        .and_then(|p| p.file_name().and_then(|n| n.to_str()).map(str::to_owned));
    match name {
        Some(n) if check_server_id(&n).is_ok() && n != "." && n != ".." => n,
        _ => format!("jims-{}", &key.id().as_str()[..8]),
    }
}

/// Writes `server.toml`, `server.key` and `transport.key` into a new state folder.
pub(crate) fn write(paths: &StatePaths, toml: &ServerToml, key: &ServerKey) -> Result<(), Error> {
    let text = toml_text(toml)?;
    fsops::write_new_file(&paths.server_toml(), text.as_bytes(), 0o644)?;
    let key_text = key.to_key_file();
    fsops::write_new_file(&paths.key(), key_text.as_bytes(), 0o600)?;
    crate::keys::write_new_transport(paths)
}

/// `server.toml`'s name in the state folder.
pub(crate) const TOML_FILE: &str = "server.toml";
/// `server.key`'s name in the state folder.
pub(crate) const KEY_FILE: &str = "server.key";

/// The text of `server.toml` (a key rotation stages it with the new key id).
pub(crate) fn toml_text(toml: &ServerToml) -> Result<String, Error> {
    toml::to_string(toml)
        .map_err(|e| Error::new(ErrorKind::Corrupt, format!("could not write server.toml: {e}")))
}

/// Reads `server.toml` and `server.key` and checks that they belong together.
pub(crate) fn read(paths: &StatePaths) -> Result<(ServerToml, ServerKey), Error> {
    let server = read_toml(paths)?;
    let key_path = paths.key();
    let key = read_key(&key_path)?;
    if key.id().as_str() != server.key_id {
        return Err(Error::corrupt(
            &key_path,
            format!(
                "this key's id is {} but server.toml names key {}; restore the right key",
                key.id(),
                server.key_id
            ),
        ));
    }
    Ok((server, key))
}

/// Reads a server key file, refusing one that other users can read.
pub(crate) fn read_key(key_path: &Path) -> Result<ServerKey, Error> {
    let meta = fsops::lstat(key_path)?
        .ok_or_else(|| Error::corrupt(key_path, "missing; the server's key is lost"))?;
    if meta.mode() & 0o077 != 0 {
        return Err(Error::new(
            ErrorKind::Corrupt,
            format!(
                "{} is readable by other users (mode {:o}); run `chmod 600 {}`",
                key_path.display(),
                meta.mode() & 0o777,
                key_path.display()
            ),
        )
        .at(key_path));
    }
    let key_bytes = fsops::read_file(key_path)?
        .ok_or_else(|| Error::corrupt(key_path, "missing; the server's key is lost"))?;
    ServerKey::from_key_file(&key_bytes).map_err(|e| Error::corrupt(key_path, e.to_string()))
}

/// Reads `server.toml` alone.
pub(crate) fn read_toml(paths: &StatePaths) -> Result<ServerToml, Error> {
    let toml_path = paths.server_toml();
    let bytes = fsops::read_file(&toml_path)?
        .ok_or_else(|| Error::corrupt(&toml_path, "missing; the server folder is damaged"))?;
    let text =
        std::str::from_utf8(&bytes).map_err(|_| Error::corrupt(&toml_path, "not UTF-8 text"))?;
    let server: ServerToml = toml::from_str(text)
        .map_err(|e| Error::corrupt(&toml_path, format!("not a valid server.toml: {e}")))?;
    if server.layout_version > LAYOUT_VERSION {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "{} has layout version {}, newer than this jimsctl knows ({LAYOUT_VERSION}); \
                 use a newer jimsctl",
                toml_path.display(),
                server.layout_version
            ),
        )
        .at(&toml_path));
    }
    if server.layout_version < LAYOUT_VERSION {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "{} has layout version {}, from a development version of jimsctl that kept \
                 history in folders; export its configuration with that version and import it \
                 into a new folder",
                toml_path.display(),
                server.layout_version
            ),
        )
        .at(&toml_path));
    }
    Ok(server)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_ids() {
        assert!(check_server_id("jims-hq-01").is_ok());
        for bad in ["", " x", "a\nb", &"x".repeat(129)] {
            let e = check_server_id(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidServerId);
        }
        let key = ServerKey::generate().unwrap();
        assert_eq!(default_server_id(Path::new("/srv/jims-hq-01"), &key), "jims-hq-01");
        assert_eq!(default_server_id(Path::new("/srv/a\tb"), &key)[..5], *"jims-");
    }
}
