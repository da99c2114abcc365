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
//! A server-key rotation is one commit: the values of the live folder are re-sealed under a new
//! key, the old key goes into the ring first (durably), the new key is written into the commit's
//! staging folder, and once the new `cwd/` is switched in, the new key replaces `server.key` and
//! its id goes into `server.toml` (the commit's journal says so, so a crash after the switch is
//! finished by the next open, and one before it undone, taking the staged key with it). At every
//! step each sealed value is under a key the folder holds: the current one or one in the ring.

use std::path::Path;

use crypto::{KeyId, Secret, ServerKey, TransportKey};
use model::{Configuration, SecretState, SectionId};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::commit::{NewFile, STAGED_KEY};
use crate::error::{Error, ErrorKind};
use crate::fsops::{self, Syncs};
use crate::history::{self, CommitMeta, Counts};
use crate::layout::{STATE_DIR, StatePaths};
use crate::live;
use crate::target::Target;

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
    /// Reads the ring; an absent ring is empty. Entries for `current` keys (left by a rotation
    /// that was undone) are skipped.
    pub(crate) fn read(state: &StatePaths, current: &KeyId) -> Result<KeyRing, Error> {
        let path = state.root.join(KEYRING);
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
                    if key.id() == current || ring.server.iter().any(|k| k.id() == key.id()) {
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

    /// The retired transport keys.
    pub(crate) fn transport_keys(&self) -> &[TransportKey] {
        &self.transport
    }
}

/// Replaces `path` (in the folder `dir`) atomically and durably: a temporary file with `mode`
/// from the start, written and synced, renamed over `path`, and `dir` synced.
pub(crate) fn replace_file(dir: &Path, path: &Path, bytes: &[u8], mode: u32) -> Result<(), Error> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.tmp"));
    fsops::remove_file(&tmp)?;
    fsops::write_new_file(&tmp, bytes, mode, Syncs::Now)?;
    if let Err(e) = fsops::rename(&tmp, path) {
        let _ = fsops::remove_file(&tmp);
        return Err(e);
    }
    fsops::sync_dir(dir, Syncs::Now)
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

/// Makes `new_id` the folder's server key after a rotation's switch: moves the staged key over
/// `server.key` (when it is still staged) and writes its id into `server.toml` (when it is not
/// there yet). Done again by recovery after a crash: every step is idempotent.
pub(crate) fn switch_server_key(state: &StatePaths, new_id: &str) -> Result<(), Error> {
    let staged = state.staging().join(STAGED_KEY);
    if fsops::lstat(&staged)?.is_some() {
        let key = crate::server::read_key(&staged)?;
        if key.id().as_str() != new_id {
            return Err(Error::corrupt(&staged, "is not the key the rotation's journal names"));
        }
        fsops::rename(&staged, &state.key())?;
        fsops::sync_dir(&state.root, Syncs::Now)?;
    }
    let mut toml = crate::server::read_toml(state)?;
    if toml.key_id != new_id {
        new_id.clone_into(&mut toml.key_id);
        crate::server::replace_toml(state, &toml)?;
    }
    Ok(())
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

    /// The folder's transport key, and its retired ones (newest last). `None`: a folder made
    /// before transport keys (see [`Target::ensure_transport_key`]).
    pub fn transport_keys(&self) -> Result<(Option<TransportKey>, &[TransportKey]), Error> {
        if self.is_new() {
            return Ok((None, &[]));
        }
        Ok((read_transport(&self.state_paths())?, self.ring.transport_keys()))
    }

    /// The folder's transport key, made now (durably, mode 0600) when the folder has none.
    /// Needs the folder opened for writing when it has none.
    pub fn ensure_transport_key(&self) -> Result<(TransportKey, bool), Error> {
        let state = self.state_paths();
        if let Some(key) = read_transport(&state)? {
            return Ok((key, false));
        }
        self.check_writable()?;
        let key = TransportKey::generate().map_err(crate::target::crypto_error)?;
        replace_file(
            &state.root,
            &state.root.join(TRANSPORT_KEY),
            key.to_key_file().as_bytes(),
            0o600,
        )?;
        Ok((key, true))
    }

    /// Opens a sealed value of this folder with the key its id names: the current key or a
    /// retired one.
    pub fn open_sealed(&self, sealed: &str, binding: &[u8]) -> Result<Secret, crypto::Error> {
        let id = crypto::SealedValue::parse(sealed)?.key_id;
        match self.ring.server_keys().iter().find(|k| k.id().as_str() == id) {
            Some(k) => k.open(sealed, binding),
            None => self.key.open(sealed, binding),
        }
    }

    /// Opens every sealed value of `config` with the folder's keys, or names every one that
    /// does not open.
    fn open_all(
        &self,
        config: &Configuration,
        only_id: Option<&str>,
    ) -> Result<(Vec<(model::SecretField, Secret)>, usize), Error> {
        let mut opened = Vec::new();
        let mut broken = Vec::new();
        let mut untouched = 0;
        for field in config.secret_fields() {
            let raw = config.secret_value(&field.location);
            match SecretState::classify(raw) {
                SecretState::Sealed { key_id } => {
                    if only_id.is_some() && key_id != only_id {
                        continue;
                    }
                    match self.open_sealed(raw, field.binding().as_bytes()) {
                        Ok(s) => opened.push((field, s)),
                        Err(e) => broken.push(format!(
                            "section `{}`, item `{}`, field `{}`: {e}",
                            field.section(),
                            field.item_id,
                            field.field
                        )),
                    }
                }
                SecretState::Capi | SecretState::Fsw | SecretState::Unknown { .. } => {
                    untouched += 1;
                }
                SecretState::Plaintext | SecretState::Missing => {}
            }
        }
        if !broken.is_empty() {
            let count = broken.len();
            broken.truncate(10);
            return Err(Error::new(
                ErrorKind::Tampered,
                format!(
                    "{count} sealed password(s) of {} do not open with its keys, so nothing was \
                     changed: {}; restore them (`jimsctl rollback`) or import them again",
                    self.dir.display(),
                    broken.join("; ")
                ),
            )
            .at(&self.dir));
        }
        Ok((opened, untouched))
    }

    /// `key rotate`: a new server key; every sealed value of the live folder opened (one that
    /// does not open is [`ErrorKind::Tampered`], and nothing changes) and sealed again under it
    /// with the same binding, committed as one new version (action `key-rotate`); the old key
    /// kept in the key ring. `{capi}`/`{fsw}` values are left as they are.
    pub fn rotate_key(self, dry_run: bool) -> Result<RotateReport, Error> {
        self.check_writable()?;
        self.check_existing()?;
        let (opened, untouched) = self.open_all(&self.configuration, None)?;
        let new_key = ServerKey::generate().map_err(crate::target::crypto_error)?;
        let mut config = self.configuration.clone();
        let mut sections: Vec<SectionId> = Vec::new();
        for (field, secret) in &opened {
            let sealed = new_key
                .seal(secret.expose(), field.binding().as_bytes())
                .map_err(crate::target::crypto_error)?;
            config.set_secret_value(&field.location, sealed);
            if !sections.contains(&field.section()) {
                sections.push(field.section());
            }
        }
        sections.sort();
        let mut report = RotateReport {
            kind: KeyKind::Server,
            old_id: Some(self.key.id().as_str().to_owned()),
            new_id: new_key.id().as_str().to_owned(),
            resealed: opened.len(),
            untouched,
            version: None,
            dry_run,
        };
        if dry_run {
            return Ok(report);
        }
        let state = self.state_paths();
        let ring =
            self.ring.text(Some((KeyKind::Server, self.key.id(), self.key.to_key_file())), None);
        replace_file(&state.root, &state.root.join(KEYRING), ring.as_bytes(), 0o600)?;
        let mut counts = Counts::default();
        for s in &sections {
            if let Some(sec) = config.get(*s) {
                counts.items.insert(*s, sec.item_count() as u64);
            }
        }
        counts.passwords.sealed = opened.len() as u64;
        let files = self.files_for(&config)?;
        let items = Some(crate::digest::items(&config));
        let meta =
            CommitMeta { action: "key-rotate".to_owned(), export: None, sections, counts, items };
        let committed = self.write_version(files, meta, None, Some(new_key))?;
        report.version = Some(committed.version);
        Ok(report)
    }

    /// `key rotate --transport`: a new transport key pair, the old one kept in the key ring
    /// (so bundles already sealed to it still import).
    pub fn rotate_transport(self, dry_run: bool) -> Result<RotateReport, Error> {
        self.check_writable()?;
        self.check_existing()?;
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
        if let Some(old) = &old {
            let ring =
                self.ring.text(Some((KeyKind::Transport, old.id(), old.to_key_file())), None);
            replace_file(&state.root, &state.root.join(KEYRING), ring.as_bytes(), 0o600)?;
        }
        replace_file(
            &state.root,
            &state.root.join(TRANSPORT_KEY),
            new.to_key_file().as_bytes(),
            0o600,
        )?;
        Ok(report)
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
        for n in history::versions(&state)? {
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

    /// `key retire --id ID`: removes a retired key from the ring, destroying it. Refused
    /// ([`ErrorKind::KeyInUse`]) while a version holds values under it, unless
    /// `reseal_history`: then those versions are re-sealed under the current key first (the
    /// current version by a new commit, action `key-reseal`; each archive replaced atomically),
    /// and the key leaves the ring only once none needs it.
    pub fn retire_key(self, id: &str, reseal_history: bool) -> Result<RetireReport, Error> {
        self.check_writable()?;
        self.check_existing()?;
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
        let mut target = self;
        if kind == KeyKind::Server {
            let using: Vec<u64> = target
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
                        target.dir.display()
                    ),
                ));
            }
            if using.contains(&target.version) {
                let dir = target.dir.clone();
                let (opened, _) = target.open_all(&target.configuration, Some(id))?;
                let mut config = target.configuration.clone();
                let mut sections = Vec::new();
                for (field, secret) in &opened {
                    let sealed = target
                        .key
                        .seal(secret.expose(), field.binding().as_bytes())
                        .map_err(crate::target::crypto_error)?;
                    config.set_secret_value(&field.location, sealed);
                    if !sections.contains(&field.section()) {
                        sections.push(field.section());
                    }
                }
                sections.sort();
                let mut counts = Counts::default();
                counts.passwords.sealed = opened.len() as u64;
                let files = target.files_for(&config)?;
                let items = Some(crate::digest::items(&config));
                let meta = CommitMeta {
                    action: "key-reseal".to_owned(),
                    export: None,
                    sections,
                    counts,
                    items,
                };
                report.version = Some(target.write_version(files, meta, None, None)?.version);
                target = Target::open_writable(&dir, &[], true)?;
            }
            let state = target.state_paths();
            for (n, ids) in target.key_usage()? {
                if n != target.version && ids.iter().any(|i| i == id) {
                    target.reseal_archive(&state, n, id)?;
                    report.resealed_versions.push(n);
                }
            }
        }
        let state = target.state_paths();
        let ring = target.ring.text(None, Some(id));
        replace_file(&state.root, &state.root.join(KEYRING), ring.as_bytes(), 0o600)?;
        Ok(report)
    }

    /// Rewrites the files of the earlier version `n` that hold values under key `id`, sealed
    /// again under the current key (files without such values keep their bytes), each replaced
    /// atomically.
    fn reseal_archive(&self, state: &StatePaths, n: u64, id: &str) -> Result<(), Error> {
        let (files, from) = history::version_files(state, n)?;
        let config = live::parse(&from, &files, &[])?;
        let (opened, _) = self.open_all(&config, Some(id))?;
        let mut config = config;
        for (field, secret) in &opened {
            let sealed = self
                .key
                .seal(secret.expose(), field.binding().as_bytes())
                .map_err(crate::target::crypto_error)?;
            config.set_secret_value(&field.location, sealed);
        }
        let changed: Vec<&'static str> =
            files.iter().filter(|(_, b)| contains(b, id.as_bytes())).map(|(rel, _)| *rel).collect();
        let rewritten: Vec<NewFile> = crate::target::files_of(&config)?
            .into_iter()
            .filter(|f| changed.contains(&f.path))
            .collect();
        history::rewrite_version_files(state, n, &rewritten)
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
