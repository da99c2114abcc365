//! The folder's other keys: its transport key pair (`transport.key`), the key ring of retired
//! keys (`keyring`), and key rotation and retirement.
//!
//! - `transport.key` (mode 0600): the X25519 private key to which other servers seal exports.
//!   Made with the folder, or by the first command that needs it in an older folder.
//! - `keyring` (mode 0600): every retired server and transport key, so that the versions in
//!   the history, a rollback across a rotation and bundles sealed to an old transport key still
//!   open. Text, one key a line:
//!   ```text
//!   jimsctl-keyring v1
//!   server <key id> <64 hex digits> <retired at, RFC 3339>
//!   transport <key id> <64 hex digits> <retired at>
//!   ```
//!
//! Every change of these files is one atomic change of the state files ([`crate::txn`]), so a
//! crash or a power cut at any moment leaves them all as they were or all as they were to
//! become, never the current key also listed as retired nor a key gone from both places:
//!
//! - A server-key rotation is one commit: the values of the live folder are re-sealed under a
//!   new key (opened and sealed again by [`secrets::reseal`]: the store opens no value itself),
//!   and the new `keyring` (the old key added), `server.key` and `server.toml` are staged with
//!   the commit and put in place, in that order, once the new `cwd/` is switched in (the
//!   commit's journal names them: a crash after the switch is finished by the next open, one
//!   before it undone with its staging folder). A folder with nothing to re-seal makes no
//!   version: the three files change as one standalone change.
//! - `key rotate --transport` changes `keyring` (the old key added), then `transport.key`.
//! - `key retire` changes the re-sealed archives, then `keyring` (the key removed); with
//!   `--reseal-history` and a current version under the key, the re-sealed current version is
//!   a commit (`key-reseal`) that carries those changes.
//!
//! **Readers take no lock** ([`read_unlocked`]): they read the key files before the ring
//! (`server.toml`, a rotation's staged key, `server.key`, `transport.key`, then `keyring`), and
//! every change above puts a key into its new place before it leaves the old one, so whatever
//! moment a reader reads at, it holds every key the values it read need; during a rotation's
//! switch it takes as current the key of the version it read (old `cwd/`, old key; new `cwd/`,
//! new key), as the commit's journal names them.

use std::path::Path;

use crypto::{KeyId, Secret, ServerKey, TransportKey};
use model::{Configuration, SecretState};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::commit::NewFile;
use crate::error::{Error, ErrorKind};
use crate::fsops::{self, Syncs};
use crate::history::{self, CommitMeta, Counts};
use crate::layout::{STATE_DIR, StatePaths};
use crate::live::{self, NativeFiles};
use crate::server::{self, ServerToml};
use crate::target::{Target, Write};
use crate::txn::{self, Change, WithCommit};

/// The transport key file in the state folder.
pub(crate) const TRANSPORT_KEY: &str = "transport.key";
/// The key ring in the state folder.
pub(crate) const KEYRING: &str = "keyring";
/// The key ring's first line.
const KEYRING_MAGIC: &str = "jimsctl-keyring v1";

/// Which of a folder's two keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyKind {
    /// The server key: seals the folder's passwords.
    Server,
    /// The transport key pair: other servers seal exports to its public half.
    Transport,
}

impl KeyKind {
    /// `server` or `transport`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Server => "server",
            KeyKind::Transport => "transport",
        }
    }
}

/// One entry of the key ring.
struct RingEntry {
    kind: KeyKind,
    id: KeyId,
    /// The key file text (64 hex digits), wiped on drop.
    hex: Zeroizing<String>,
    retired: String,
}

/// The retired keys of a folder (see the module documentation).
#[derive(Default)]
pub(crate) struct KeyRing {
    entries: Vec<RingEntry>,
    server: Vec<ServerKey>,
    transport: Vec<TransportKey>,
}

impl KeyRing {
    /// Reads the ring; an absent ring is empty. An entry for the `current` key is skipped (a
    /// lock-free reader that took the old key as current while a rotation switches).
    pub(crate) fn read(state: &StatePaths, current: Option<&KeyId>) -> Result<KeyRing, Error> {
        KeyRing::read_file(&state.root.join(KEYRING), current)
    }

    /// [`KeyRing::read`] of the ring at `path` (a rotation's staged ring).
    fn read_file(path: &Path, current: Option<&KeyId>) -> Result<KeyRing, Error> {
        let path = path.to_path_buf();
        let Some(bytes) = fsops::read_file(&path)? else { return Ok(KeyRing::default()) };
        let meta = fsops::lstat(&path)?;
        if meta.is_some_and(|m| fsops::mode_of(&m) & 0o077 != 0) {
            return Err(Error::corrupt(
                &path,
                format!("is readable by other users; run `chmod 600 {}`", path.display()),
            ));
        }
        let text = std::str::from_utf8(&bytes).map_err(|_| Error::corrupt(&path, "not UTF-8"))?;
        let mut lines = text.lines();
        if lines.next() != Some(KEYRING_MAGIC) {
            return Err(Error::corrupt(&path, format!("does not start with `{KEYRING_MAGIC}`")));
        }
        let mut ring = KeyRing::default();
        for (n, line) in lines.enumerate() {
            let bad = |what: &str| Error::corrupt(&path, format!("line {}: {what}", n + 2));
            let parts: Vec<&str> = line.split(' ').collect();
            let [kind, id, hex, retired] = parts[..] else {
                return Err(bad("expected `<kind> <key id> <key> <retired at>`"));
            };
            let hex = Zeroizing::new(hex.to_owned());
            let kind = match kind {
                "server" => {
                    let key =
                        ServerKey::from_key_file(hex.as_bytes()).map_err(|_| bad("bad key"))?;
                    if key.id().as_str() != id {
                        return Err(bad("the key id does not match the key"));
                    }
                    if Some(key.id()) == current || ring.server.iter().any(|k| k.id() == key.id()) {
                        continue;
                    }
                    let id = key.id().clone();
                    ring.server.push(key);
                    (KeyKind::Server, id)
                }
                "transport" => {
                    let key =
                        TransportKey::from_key_file(hex.as_bytes()).map_err(|_| bad("bad key"))?;
                    if key.id().as_str() != id {
                        return Err(bad("the key id does not match the key"));
                    }
                    if ring.transport.iter().any(|k| k.id() == key.id()) {
                        continue;
                    }
                    let id = key.id().clone();
                    ring.transport.push(key);
                    (KeyKind::Transport, id)
                }
                _ => return Err(bad("unknown kind of key")),
            };
            ring.entries.push(RingEntry {
                kind: kind.0,
                id: kind.1,
                hex,
                retired: retired.to_owned(),
            });
        }
        Ok(ring)
    }

    /// The ring's text with `add` appended and the key `remove` left out.
    fn text(
        &self,
        add: Option<(KeyKind, &KeyId, Zeroizing<String>)>,
        remove: Option<&str>,
    ) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::with_capacity(128 * (self.entries.len() + 2)));
        out.push_str(KEYRING_MAGIC);
        out.push('\n');
        let mut line = |kind: KeyKind, id: &KeyId, hex: &str, retired: &str| {
            for part in [kind.as_str(), " ", id.as_str(), " ", hex.trim(), " ", retired, "\n"] {
                out.push_str(part);
            }
        };
        for e in &self.entries {
            if Some(e.id.as_str()) != remove {
                line(e.kind, &e.id, &e.hex, &e.retired);
            }
        }
        if let Some((kind, id, hex)) = &add
            && !self.entries.iter().any(|e| &e.id == *id)
        {
            line(*kind, id, hex, &crate::time::now_rfc3339());
        }
        out
    }

    /// The retired server keys.
    pub(crate) fn server_keys(&self) -> &[ServerKey] {
        &self.server
    }

    /// Adds the entries and keys of `other` this ring lacks.
    fn merge(&mut self, other: KeyRing) {
        let KeyRing { entries, server, transport } = other;
        for e in entries {
            if !self.entries.iter().any(|x| x.id == e.id) {
                self.entries.push(e);
            }
        }
        for k in server {
            self.add_server(k);
        }
        for k in transport {
            if !self.transport.iter().any(|x| x.id() == k.id()) {
                self.transport.push(k);
            }
        }
    }

    /// Adds a server key that opens values but is listed nowhere (a reader's view of a key
    /// being switched).
    fn add_server(&mut self, key: ServerKey) {
        if !self.server.iter().any(|k| k.id() == key.id()) {
            self.server.push(key);
        }
    }

    /// Takes the server key `id` out of the ring's keys (its entry stays until [`forget`]).
    ///
    /// [`forget`]: KeyRing::forget
    fn take_server(&mut self, id: &str) -> Option<ServerKey> {
        let at = self.server.iter().position(|k| k.id().as_str() == id)?;
        Some(self.server.remove(at))
    }

    /// Drops the key `id` from the ring: its entry and its key.
    fn forget(&mut self, id: &str) {
        self.entries.retain(|e| e.id.as_str() != id);
        self.server.retain(|k| k.id().as_str() != id);
        self.transport.retain(|k| k.id().as_str() != id);
    }

    /// The retired transport keys.
    pub(crate) fn transport_keys(&self) -> &[TransportKey] {
        &self.transport
    }

    /// The ring's file, with the retired key `add` and without the key `remove`.
    fn file(
        &self,
        add: Option<(KeyKind, &KeyId, Zeroizing<String>)>,
        remove: Option<&str>,
    ) -> Change {
        Change::replace(KEYRING, self.text(add, remove).as_bytes(), 0o600)
    }
}

/// Writes a new folder's transport key (the state folder is being created).
pub(crate) fn write_new_transport(state: &StatePaths, syncs: Syncs) -> Result<(), Error> {
    let key = TransportKey::generate().map_err(crate::target::crypto_error)?;
    fsops::write_new_file(
        &state.root.join(TRANSPORT_KEY),
        key.to_key_file().as_bytes(),
        0o600,
        syncs,
    )
}

/// Reads the folder's transport key; `None` in a folder made before transport keys.
pub(crate) fn read_transport(state: &StatePaths) -> Result<Option<TransportKey>, Error> {
    let path = state.root.join(TRANSPORT_KEY);
    let Some(meta) = fsops::lstat(&path)? else { return Ok(None) };
    if fsops::mode_of(&meta) & 0o077 != 0 {
        return Err(Error::corrupt(
            &path,
            format!("is readable by other users; run `chmod 600 {}`", path.display()),
        ));
    }
    let Some(bytes) = fsops::read_file(&path)? else { return Ok(None) };
    TransportKey::from_key_file(&bytes).map(Some).map_err(|e| Error::corrupt(&path, e.to_string()))
}

/// Finishes a rotation that an earlier jimsctl journaled and a crash interrupted after its
/// switch: its new key staged as `staging/server.key` (its ring was written before the commit)
/// becomes `server.key`, and its id `server.toml`'s, as one change. Under the lock.
pub(crate) fn finish_earlier_rotation(state: &StatePaths, new_id: &str) -> Result<(), Error> {
    let staged = state.staging().join(server::KEY_FILE);
    let mut toml = server::read_toml(state)?;
    let mut changes = Vec::with_capacity(2);
    if let Some(key) = read_key_if_present(&staged)? {
        if key.id().as_str() != new_id {
            return Err(Error::corrupt(&staged, "is not the key the rotation's journal names"));
        }
        changes.push(Change::replace(server::KEY_FILE, key.to_key_file().as_bytes(), 0o600));
    }
    if toml.key_id != new_id {
        new_id.clone_into(&mut toml.key_id);
        changes.push(Change::replace(
            server::TOML_FILE,
            server::toml_text(&toml)?.as_bytes(),
            0o644,
        ));
    }
    if !changes.is_empty() {
        txn::run(state, &changes, None)?;
    }
    Ok(())
}

/// A server key file, or `None` when there is none at `path` (a staged key moved away while it
/// was looked at).
fn read_key_if_present(path: &Path) -> Result<Option<ServerKey>, Error> {
    if fsops::lstat(path)?.is_none() {
        return Ok(None);
    }
    match server::read_key(path) {
        Ok(key) => Ok(Some(key)),
        Err(_) if fsops::lstat(path)?.is_none() => Ok(None),
        Err(e) => Err(e),
    }
}

/// The keys of a folder as a lock-free reader reads them (see the module documentation), before
/// it knows which version it read.
pub(crate) struct ReadKeys {
    toml: ServerToml,
    /// `server.key`, and a rotation's staged key when one is under way.
    found: Vec<ServerKey>,
    ring: KeyRing,
    transport: Option<TransportKey>,
    /// The key switch of a standalone change under way (old and new id).
    txn_switch: Option<(String, String)>,
}

/// A commit's key switch, as its journal names it: the old and the new key id, and the staging
/// folder that holds the new key until it replaces `server.key`.
pub(crate) struct CommitSwitch<'a> {
    pub(crate) from: &'a str,
    pub(crate) to: &'a str,
    pub(crate) staged: std::path::PathBuf,
}

/// Reads the keys of `state` without a lock, in the order that finds every key whatever a
/// switch under way has moved: a standalone change's journal, `server.toml`, the staged key of
/// `switch` (a rotation's commit under way), `server.key`, `transport.key`, the ring `switch`
/// stages, then the ring.
pub(crate) fn read_unlocked(
    state: &StatePaths,
    switch: Option<&CommitSwitch<'_>>,
) -> Result<ReadKeys, Error> {
    let txn_switch = txn::key_switch(state)?;
    let toml = server::read_toml(state)?;
    let mut found = Vec::with_capacity(2);
    if let Some(s) = switch {
        found.extend(read_key_if_present(&s.staged)?);
    }
    found.push(server::read_key(&state.key())?);
    let transport = read_transport(state)?;
    let staged_ring = match switch {
        Some(s) => KeyRing::read_file(&s.staged.with_file_name(KEYRING), None)?,
        None => KeyRing::default(),
    };
    let mut ring = KeyRing::read(state, None)?;
    ring.merge(staged_ring);
    Ok(ReadKeys { toml, found, ring, transport, txn_switch })
}

/// What a lock-free reader takes from [`ReadKeys`]: the folder's description, its current key,
/// the other keys (as a ring) and the transport key.
pub(crate) type ReaderKeys = (ServerToml, ServerKey, KeyRing, Option<TransportKey>);

impl ReadKeys {
    /// The keys for a reader that read the version `read_new` says (the new one of `switch`, or
    /// the one before it). `Ok(None)`: what was read is a moment of a change that began after
    /// the reader looked for one (read again); `server.key` that is not `server.toml`'s key
    /// with no change under way is the damage [`server::read`] reports.
    pub(crate) fn pick(
        self,
        state: &StatePaths,
        switch: Option<&CommitSwitch<'_>>,
        read_new: bool,
    ) -> Result<Option<ReaderKeys>, Error> {
        let ReadKeys { toml, found, mut ring, transport, txn_switch } = self;
        let file_key = found.last().map(|k| k.id().as_str().to_owned()).unwrap_or_default();
        let want = match (switch, &txn_switch) {
            (Some(s), _) => (if read_new { s.to } else { s.from }).to_owned(),
            (None, Some((from, to))) if file_key == *from || file_key == *to => file_key,
            (None, _) if file_key == toml.key_id => file_key,
            (None, _) => {
                // A change that began after the reader looked for its journal, or damage.
                let now = server::read_toml(state)?.key_id;
                let key_now = server::read_key(&state.key())?.id().as_str().to_owned();
                if now != toml.key_id || key_now != file_key || txn::pending(state)? {
                    return Ok(None);
                }
                return server::read(state).map(|_| None);
            }
        };
        let mut current = None;
        for key in found {
            if key.id().as_str() == want && current.is_none() {
                current = Some(key);
            } else {
                ring.add_server(key);
            }
        }
        let current = match current {
            Some(k) => k,
            None => match ring.take_server(&want) {
                Some(k) => k,
                // Not where the order of the switch puts it: read again.
                None => return Ok(None),
            },
        };
        ring.forget(current.id().as_str());
        // Read before the ring: a transport rotation may have put it there since.
        if let Some(t) = &transport {
            ring.forget(t.id().as_str());
        }
        Ok(Some((toml, current, ring, transport)))
    }
}

/// What a key rotation did (or would do, in a dry run).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RotateReport {
    /// Which key.
    pub kind: KeyKind,
    /// The key retired (none: the folder had no transport key yet).
    pub old_id: Option<String>,
    /// The new current key.
    pub new_id: String,
    /// Sealed values opened and sealed again under the new key (server key only).
    pub resealed: usize,
    /// `{capi}`, `{fsw}` and other values left as they are.
    pub untouched: usize,
    /// The version the rotation committed (server key, not a dry run).
    pub version: Option<u64>,
    /// Whether nothing was written.
    pub dry_run: bool,
}

/// One key of a folder, as `key list` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    /// Which key.
    pub kind: KeyKind,
    /// Its id.
    pub id: String,
    /// `current`, `retired`, or `missing` (values of some version are sealed under a key the
    /// folder does not hold).
    pub state: &'static str,
    /// When it was retired.
    pub retired: Option<String>,
    /// The versions holding values sealed under it (server keys).
    pub versions: Vec<u64>,
}

/// What `key retire` did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RetireReport {
    /// Which key.
    pub kind: KeyKind,
    /// Its id.
    pub id: String,
    /// History versions whose archives were re-sealed under the current key.
    pub resealed_versions: Vec<u64>,
    /// The version committed to re-seal the current one, when it used the key.
    pub version: Option<u64>,
}

impl<A: crate::target::Access> Target<A> {
    fn state_paths(&self) -> StatePaths {
        StatePaths::new(self.dir.join(STATE_DIR))
    }

    /// The retired server keys of the folder's key ring.
    pub fn retired_keys(&self) -> &[ServerKey] {
        self.ring.server_keys()
    }

    /// Every server key the folder holds: the current one first, then the retired ones (what
    /// opens any value of any of its versions).
    pub fn server_keys(&self) -> Vec<&ServerKey> {
        std::iter::once(&self.key).chain(self.ring.server_keys()).collect()
    }

    /// The folder's transport key, and its retired ones (newest last), as read when the folder
    /// was opened. `None`: a folder made before transport keys (see
    /// [`Target::ensure_transport_key`]).
    pub fn transport_keys(&self) -> Result<(Option<TransportKey>, &[TransportKey]), Error> {
        let current = match &self.transport {
            Some(k) => Some(
                TransportKey::from_key_file(k.to_key_file().as_bytes())
                    .map_err(crate::target::crypto_error)?,
            ),
            None => None,
        };
        Ok((current, self.ring.transport_keys()))
    }

    /// The folder's server keys, current and retired, as the secrets crate opens a value with
    /// them (the key its id names).
    pub fn folder_keys(&self) -> secrets::FolderKeys<'_> {
        secrets::FolderKeys { current: &self.key, retired: self.ring.server_keys() }
    }

    /// Opens a sealed value of this folder with the key its id names: the current key or a
    /// retired one ([`secrets::FolderKeys::open`]).
    pub fn open_sealed(&self, sealed: &str, binding: &[u8]) -> Result<Secret, crypto::Error> {
        self.folder_keys().open(sealed, binding)
    }

    fn check_existing(&self) -> Result<(), Error> {
        if self.is_new() {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "there is no managed server folder at {}; make one with `jimsctl server \
                     init {}`",
                    self.dir.display(),
                    self.dir.display()
                ),
            )
            .at(&self.dir));
        }
        Ok(())
    }

    /// The server key ids each version's values are sealed under, current version last.
    fn key_usage(&self) -> Result<Vec<(u64, Vec<String>)>, Error> {
        let state = self.state_paths();
        let mut out = Vec::new();
        // Not beyond the version opened: a commit under way may have installed the next
        // version's record already (a lock-free reader reads around it).
        for n in history::versions(&state)?.into_iter().filter(|n| *n <= self.version) {
            let ids = if n == self.version {
                sealed_ids(&self.configuration)
            } else {
                let (files, from) = history::version_files(&state, n)?;
                sealed_ids(&live::parse(&from, &files, &[])?)
            };
            out.push((n, ids));
        }
        Ok(out)
    }

    /// `key list`: the current and retired keys, and the versions that use each.
    pub fn key_list(&self) -> Result<Vec<KeyInfo>, Error> {
        self.check_existing()?;
        let usage = self.key_usage()?;
        let versions_of = |id: &str| -> Vec<u64> {
            usage.iter().filter(|(_, ids)| ids.iter().any(|i| i == id)).map(|(n, _)| *n).collect()
        };
        let mut out = vec![KeyInfo {
            kind: KeyKind::Server,
            id: self.key.id().as_str().to_owned(),
            state: "current",
            retired: None,
            versions: versions_of(self.key.id().as_str()),
        }];
        for e in self.ring.entries.iter().filter(|e| e.kind == KeyKind::Server) {
            out.push(KeyInfo {
                kind: KeyKind::Server,
                id: e.id.as_str().to_owned(),
                state: "retired",
                retired: Some(e.retired.clone()),
                versions: versions_of(e.id.as_str()),
            });
        }
        let mut unknown: Vec<&String> = usage.iter().flat_map(|(_, ids)| ids).collect();
        unknown.sort();
        unknown.dedup();
        for id in unknown {
            if !out.iter().any(|k| &k.id == id) {
                out.push(KeyInfo {
                    kind: KeyKind::Server,
                    id: id.clone(),
                    state: "missing",
                    retired: None,
                    versions: versions_of(id),
                });
            }
        }
        let (transport, _) = self.transport_keys()?;
        if let Some(t) = transport {
            out.push(KeyInfo {
                kind: KeyKind::Transport,
                id: t.id().as_str().to_owned(),
                state: "current",
                retired: None,
                versions: Vec::new(),
            });
        }
        for e in self.ring.entries.iter().filter(|e| e.kind == KeyKind::Transport) {
            out.push(KeyInfo {
                kind: KeyKind::Transport,
                id: e.id.as_str().to_owned(),
                state: "retired",
                retired: Some(e.retired.clone()),
                versions: Vec::new(),
            });
        }
        Ok(out)
    }
}

/// What only a handle opened to write the folder may do with its keys: make, rotate and retire
/// them. A read-only handle ([`crate::TargetView`]) has none of these methods, so it cannot be
/// asked (see the `compile_fail` examples of [`crate::TargetView`]). What the type cannot say is
/// whether the handle holds the lock now: one of [`Target::open_unlocked`] takes it before it
/// writes, and writes only if the folder is still as it read it (else [`ErrorKind::Busy`]), as
/// its commit does.
impl Target<Write> {
    /// The folder's transport key, made now (durably, mode 0600) when the folder has none.
    pub fn ensure_transport_key(&mut self) -> Result<(TransportKey, bool), Error> {
        self.check_existing()?;
        let state = self.state_paths();
        if let Some(key) = read_transport(&state)? {
            return Ok((key, false));
        }
        self.relock_keys()?;
        let key = TransportKey::generate().map_err(crate::target::crypto_error)?;
        let file = Change::replace(TRANSPORT_KEY, key.to_key_file().as_bytes(), 0o600);
        txn::run(&state, &[file], None)?;
        Ok((key, true))
    }

    /// Takes the lock of a handle opened without it (a handle that holds it has nothing to
    /// check), as a commit does: the folder must still be at the version it read, with the same
    /// live files, and also with the same keys (a rotation with nothing to re-seal, a transport
    /// rotation or a retirement changes them without a version), else [`ErrorKind::Busy`].
    fn relock_keys(&mut self) -> Result<(), Error> {
        if self.lock.is_some() {
            return Ok(());
        }
        self.relock()?;
        let state = self.state_paths();
        let (_, key) = server::read(&state)?;
        let ring = KeyRing::read(&state, Some(key.id()))?;
        let transport = read_transport(&state)?;
        let ids = |ring: &KeyRing| ring.entries.iter().map(|e| e.id.clone()).collect::<Vec<_>>();
        let same = key.id() == self.key.id()
            && ids(&ring) == ids(&self.ring)
            && transport.as_ref().map(|t| t.id()) == self.transport.as_ref().map(|t| t.id());
        if !same {
            self.lock = None;
            return Err(self.changed("its keys were changed meanwhile"));
        }
        Ok(())
    }

    /// Seals again under `under`, in `config` (which parses from this folder: the live
    /// configuration or an earlier version's), every sealed value under the key `only_key` (every
    /// one, when `None`), each opened with the folder's keys: the secrets crate's
    /// [`secrets::reseal`]. A value that does not open is [`ErrorKind::Tampered`], naming every
    /// such value (never the value), and `config` is left as it was.
    fn reseal(
        &self,
        config: &mut Configuration,
        only_key: Option<&str>,
        under: &ServerKey,
    ) -> Result<secrets::Resealed, Error> {
        secrets::reseal(config, self.folder_keys(), only_key, under).map_err(|e| match e {
            secrets::ResealError::Unopened(unopened) => {
                let count = unopened.len();
                let shown: Vec<String> = unopened.iter().take(10).map(|u| u.to_string()).collect();
                Error::new(
                    ErrorKind::Tampered,
                    format!(
                        "{count} sealed password(s) of {} do not open with its keys, so nothing \
                         was changed: {}; restore them (`jimsctl rollback`) or import them again",
                        self.dir.display(),
                        shown.join("; ")
                    ),
                )
                .at(&self.dir)
            }
            secrets::ResealError::Seal(e) => {
                Error::new(ErrorKind::Crypto, format!("could not seal the passwords again: {e}"))
                    .caused_by(e)
            }
        })
    }

    /// `key rotate`: a new server key; every sealed value of the live folder opened (one that
    /// does not open is [`ErrorKind::Tampered`], and nothing changes) and sealed again under it
    /// with the same binding, committed as one new version (action `key-rotate`); the old key
    /// kept in the key ring. `{capi}`/`{fsw}` values are left as they are.
    pub fn rotate_key(mut self, dry_run: bool) -> Result<RotateReport, Error> {
        self.check_existing()?;
        if !dry_run {
            self.relock_keys()?;
        }
        let new_key = ServerKey::generate().map_err(crate::target::crypto_error)?;
        let mut config = self.configuration.clone();
        let secrets::Resealed { resealed, untouched, sections } =
            self.reseal(&mut config, None, &new_key)?;
        let mut report = RotateReport {
            kind: KeyKind::Server,
            old_id: Some(self.key.id().as_str().to_owned()),
            new_id: new_key.id().as_str().to_owned(),
            resealed,
            untouched,
            version: None,
            dry_run,
        };
        if dry_run {
            return Ok(report);
        }
        let state = self.state_paths();
        let mut toml = server::read_toml(&state)?;
        new_key.id().as_str().clone_into(&mut toml.key_id);
        // In this order: the old key is in the ring before `server.key` no longer holds it.
        let changes = vec![
            self.ring.file(Some((KeyKind::Server, self.key.id(), self.key.to_key_file())), None),
            Change::replace(server::KEY_FILE, new_key.to_key_file().as_bytes(), 0o600),
            Change::replace(server::TOML_FILE, server::toml_text(&toml)?.as_bytes(), 0o644),
        ];
        let with = WithCommit {
            key_switch: Some((self.key.id().as_str().to_owned(), report.new_id.clone())),
            changes,
        };
        let mut counts = Counts::default();
        for s in &sections {
            if let Some(sec) = config.get(*s) {
                counts.items.insert(*s, sec.item_count() as u64);
            }
        }
        counts.passwords.sealed = resealed as u64;
        let files = self.files_for(&config)?;
        let items = Some(crate::digest::items(&config));
        let meta =
            CommitMeta { action: "key-rotate".to_owned(), export: None, sections, counts, items };
        let committed = self.write_version(files, meta, None, Some(with))?;
        // Nothing to re-seal: the keys changed alone, and no version was made.
        report.version = (!committed.unchanged).then_some(committed.version);
        Ok(report)
    }

    /// `key rotate --transport`: a new transport key pair, the old one kept in the key ring
    /// (so bundles already sealed to it still import).
    pub fn rotate_transport(mut self, dry_run: bool) -> Result<RotateReport, Error> {
        self.check_existing()?;
        if !dry_run {
            self.relock_keys()?;
        }
        let state = self.state_paths();
        let old = read_transport(&state)?;
        let new = TransportKey::generate().map_err(crate::target::crypto_error)?;
        let report = RotateReport {
            kind: KeyKind::Transport,
            old_id: old.as_ref().map(|k| k.id().as_str().to_owned()),
            new_id: new.id().as_str().to_owned(),
            resealed: 0,
            untouched: 0,
            version: None,
            dry_run,
        };
        if dry_run {
            return Ok(report);
        }
        // In this order: the old key is in the ring before `transport.key` no longer holds it.
        let mut changes = Vec::with_capacity(2);
        if let Some(old) = &old {
            changes.push(
                self.ring.file(Some((KeyKind::Transport, old.id(), old.to_key_file())), None),
            );
        }
        changes.push(Change::replace(TRANSPORT_KEY, new.to_key_file().as_bytes(), 0o600));
        txn::run(&state, &changes, None)?;
        Ok(report)
    }

    /// `key retire --id ID`: removes a retired key from the ring, destroying it. Refused
    /// ([`ErrorKind::KeyInUse`]) while a version holds values under it, unless
    /// `reseal_history`: then those versions are re-sealed under the current key first (the
    /// current version by a new commit, action `key-reseal`; each archive replaced atomically),
    /// and the key leaves the ring only once none needs it.
    pub fn retire_key(mut self, id: &str, reseal_history: bool) -> Result<RetireReport, Error> {
        self.check_existing()?;
        self.relock_keys()?;
        let (transport, _) = self.transport_keys()?;
        if self.key.id().as_str() == id || transport.as_ref().is_some_and(|t| t.id().as_str() == id)
        {
            return Err(Error::new(
                ErrorKind::KeyInUse,
                format!(
                    "{id} is a current key of {}; rotate it first (`jimsctl key rotate`), then \
                     retire it",
                    self.dir.display()
                ),
            ));
        }
        let Some(entry) = self.ring.entries.iter().find(|e| e.id.as_str() == id) else {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "{} has no retired key {id}; see `jimsctl key list --target {}`",
                    self.dir.display(),
                    self.dir.display()
                ),
            ));
        };
        let kind = entry.kind;
        let mut report =
            RetireReport { kind, id: id.to_owned(), resealed_versions: Vec::new(), version: None };
        let state = self.state_paths();
        // In this order: every re-sealed archive is in place before the ring lets the key go.
        let mut changes = Vec::new();
        let mut current_uses_it = false;
        if kind == KeyKind::Server {
            let using: Vec<u64> = self
                .key_usage()?
                .into_iter()
                .filter(|(_, ids)| ids.iter().any(|i| i == id))
                .map(|(n, _)| n)
                .collect();
            if !using.is_empty() && !reseal_history {
                let list: Vec<String> = using.iter().map(u64::to_string).collect();
                return Err(Error::new(
                    ErrorKind::KeyInUse,
                    format!(
                        "key {id} still seals passwords of version(s) {} of {}; retiring it \
                         would make them unreadable. Re-seal them under the current key with \
                         --reseal-history, or keep the key",
                        list.join(", "),
                        self.dir.display()
                    ),
                ));
            }
            for n in using {
                if n == self.version {
                    current_uses_it = true;
                    continue;
                }
                changes.extend(self.resealed_version(&state, n, id)?);
                report.resealed_versions.push(n);
            }
        }
        changes.push(self.ring.file(None, Some(id)));
        if !current_uses_it {
            txn::run(&state, &changes, None)?;
            return Ok(report);
        }
        // The current version N is under the key too: a new version (`key-reseal`) holds its
        // values re-sealed, and N, which that commit keeps as `history/N/` (its live files as
        // read), is re-sealed there as well once kept.
        let mut config = self.configuration.clone();
        let secrets::Resealed { resealed, sections, .. } =
            self.reseal(&mut config, Some(id), &self.key)?;
        let n = self.version;
        let kept = self.resealed_files(&self.live, &self.configuration, id)?;
        for (at, NewFile { path, bytes }) in kept.into_iter().enumerate() {
            let mode = self.stamps.files.get(path).map_or(0o640, |s| s.permissions());
            let name = format!("history/{n}/cwd/{path}");
            changes.insert(at, Change::replace(name, &bytes, mode));
        }
        report.resealed_versions.push(n);
        report.resealed_versions.sort_unstable();
        let mut counts = Counts::default();
        counts.passwords.sealed = resealed as u64;
        let files = self.files_for(&config)?;
        let items = Some(crate::digest::items(&config));
        let meta =
            CommitMeta { action: "key-reseal".to_owned(), export: None, sections, counts, items };
        let with = WithCommit { key_switch: None, changes };
        report.version = Some(self.write_version(files, meta, None, Some(with))?.version);
        Ok(report)
    }

    /// The changes that re-seal under the current key the values under key `id` of the earlier
    /// version `n`: each file of its folder `history/N/cwd/` that holds such values (with its
    /// mode), or its layout 2 archive `history/N.tar` as a whole.
    fn resealed_version(&self, state: &StatePaths, n: u64, id: &str) -> Result<Vec<Change>, Error> {
        let (files, from) = history::version_files(state, n)?;
        let config = live::parse(&from, &files, &[])?;
        let resealed = self.resealed_files(&files, &config, id)?;
        if from.ends_with(crate::layout::CWD) {
            let mut changes = Vec::with_capacity(resealed.len());
            for NewFile { path, bytes } in resealed {
                let meta = fsops::lstat(&from.join(path))?;
                let mode = meta.map_or(0o640, |m| fsops::mode_of(&m));
                changes.push(Change::replace(format!("history/{n}/cwd/{path}"), &bytes, mode));
            }
            return Ok(changes);
        }
        let record = history::read_record(state, n)?;
        let mut files = files;
        for NewFile { path, bytes } in resealed {
            files.insert(path, bytes);
        }
        let archive =
            crate::snapshot::build(&record, files.iter().map(|(rel, b)| (*rel, b.as_slice())))?;
        Ok(vec![Change::replace(format!("history/{n}.tar"), &archive, 0o600)])
    }

    /// The native files among `files` (which parse to `config`) that hold values under key
    /// `id`, with those values sealed again under the current key; files without such values
    /// are not in it.
    fn resealed_files(
        &self,
        files: &NativeFiles,
        config: &Configuration,
        id: &str,
    ) -> Result<Vec<NewFile>, Error> {
        let mut config = config.clone();
        self.reseal(&mut config, Some(id), &self.key)?;
        let changed: Vec<&'static str> =
            files.iter().filter(|(_, b)| contains(b, id.as_bytes())).map(|(rel, _)| *rel).collect();
        Ok(crate::target::files_of(&config)?
            .into_iter()
            .filter(|f| changed.contains(&f.path))
            .collect())
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The distinct key ids of `config`'s sealed values.
fn sealed_ids(config: &Configuration) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for field in config.secret_fields() {
        if let SecretState::Sealed { key_id: Some(id) } =
            SecretState::classify(config.secret_value(&field.location))
            && !ids.iter().any(|i| i == id)
        {
            ids.push(id.to_owned());
        }
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotation_an_earlier_jimsctl_left_half_switched_is_finished() {
        // The journal of an earlier jimsctl named only the new key id, staged alone as
        // `staging/server.key`; its ring was written before the commit.
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("srv");
        crate::init(&dir, None).unwrap();
        let state = StatePaths::new(dir.join(STATE_DIR));
        let new = ServerKey::generate().unwrap();
        std::fs::create_dir(state.staging()).unwrap();
        let staged = state.staging().join("server.key");
        std::fs::write(&staged, new.to_key_file().as_bytes()).unwrap();
        std::fs::set_permissions(&staged, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
        let audit = std::fs::read_to_string(state.audit()).unwrap();
        let journal = serde_json::json!({
            "version": 0, "created": false, "replaced": null, "old": "-",
            "new": live::fingerprint_dir(&dir.join("cwd")).unwrap(),
            "audit": audit.trim_end(), "key_switch": new.id().as_str(),
        });
        std::fs::write(state.journal(), journal.to_string()).unwrap();
        let t = Target::open(&dir).unwrap();
        assert_eq!(t.key_id(), new.id());
        assert_eq!(server::read_toml(&state).unwrap().key_id, new.id().as_str());
        assert!(!state.staging().exists() && !state.journal().exists());
        assert!(!crate::commit::needs_recovery(&state).unwrap());
    }
}
