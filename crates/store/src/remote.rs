//! A managed folder's live JIMS server (live-jims.md): `remote.toml` (where it is and how it
//! is trusted, never a password), `remote.json` (the last successful push) and `push.journal`
//! (only while a push is sending). Each is replaced atomically and durably, like every state
//! file: a temporary file created 0600, written and synced, renamed over, the folder synced.
//!
//! The store keeps these records; it neither connects nor checks what a URL means (the
//! pipeline does).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::fsops;
use crate::live::NativeFiles;
use crate::target::Target;
use crate::txn::Change;

const REMOTE_TOML: &str = "remote.toml";
const REMOTE_JSON: &str = "remote.json";
const JOURNAL: &str = "push.journal";

/// `remote.toml`: the folder's one remote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteConfig {
    /// `https://HOST:PORT`, as the pipeline normalised it.
    pub url: String,
    /// The administrator's name (basic authentication).
    pub user: String,
    /// The pinned SHA-256 fingerprint of the server's certificate (`AB:CD:…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_sha256: Option<String>,
    /// A CA file (PEM) whose roots verify the chain and the host name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// Per section id or native file name: the name to use in `/config/<name>`, or `-` to
    /// never send it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub endpoints: BTreeMap<String, String>,
}

/// `remote.json`: what the last successful push sent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushRecord {
    /// The remote it went to.
    pub url: String,
    /// When it ended (RFC 3339 UTC).
    pub time: String,
    /// The folder's version it pushed.
    pub version: u64,
    /// Per native file (path relative to `cwd/`): what the server holds from jimsctl.
    pub files: BTreeMap<String, PushedFile>,
}

/// One native file as last pushed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushedFile {
    /// The version it was pushed from (found in history to put it back).
    pub version: u64,
    /// SHA-256 (hex) of the sealed native file's bytes in that version: never anything
    /// derived from a plaintext.
    pub sha256: String,
    /// The endpoint it was sent to (`/config/…`).
    pub endpoint: String,
}

/// `push.journal`: written before a push's first request, removed after its last.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushJournal {
    /// When the push began.
    pub started: String,
    /// The remote.
    pub url: String,
    /// The version being pushed.
    pub version: u64,
    /// The native files it was to send, in order.
    pub files: Vec<String>,
}

impl Target {
    fn state_file(&self, name: &str) -> PathBuf {
        self.state().root.join(name)
    }

    /// The folder's remote, if one is set.
    pub fn remote(&self) -> Result<Option<RemoteConfig>, Error> {
        let path = self.state_file(REMOTE_TOML);
        let Some(bytes) = fsops::read_file(&path)? else { return Ok(None) };
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| Error::corrupt(&path, "is not UTF-8 text; set the remote again"))?;
        toml::from_str(text).map(Some).map_err(|e| {
            Error::corrupt(&path, format!("is not a valid remote: {e}; set the remote again"))
        })
    }

    /// Sets or replaces the remote. The record of the last push is kept when the URL is the
    /// same (another pin, CA, user or endpoints), and dropped for a new URL (a new server), in
    /// one atomic change with the new `remote.toml` (a crash leaves both as they were or both
    /// as they were to become). Returns whether a record was kept. Needs the exclusive lock.
    pub fn set_remote(&self, remote: &RemoteConfig) -> Result<bool, Error> {
        self.check_writable()?;
        let same = self.remote()?.is_some_and(|old| old.url == remote.url);
        let record = self.push_record().ok().flatten();
        let keep = same && record.as_ref().is_some_and(|r| r.url == remote.url);
        let text = toml::to_string(remote).map_err(|e| {
            Error::new(crate::ErrorKind::Io, format!("could not write the remote: {e}"))
        })?;
        let mut changes = Vec::with_capacity(2);
        if !keep && fsops::lstat(&self.state_file(REMOTE_JSON))?.is_some() {
            changes.push(Change::remove(REMOTE_JSON));
        }
        changes.push(Change::replace(REMOTE_TOML, text.as_bytes(), 0o600));
        crate::txn::run(&self.state(), &changes, None)?;
        Ok(keep)
    }

    /// Forgets the remote, its push record and an interrupted push's journal, as one atomic
    /// change. Returns whether a remote was set.
    pub fn unset_remote(&self) -> Result<bool, Error> {
        self.check_writable()?;
        let had = fsops::lstat(&self.state_file(REMOTE_TOML))?.is_some();
        let mut changes = Vec::new();
        for name in [REMOTE_TOML, REMOTE_JSON, JOURNAL] {
            if fsops::lstat(&self.state_file(name))?.is_some() {
                changes.push(Change::remove(name));
            }
        }
        if !changes.is_empty() {
            crate::txn::run(&self.state(), &changes, None)?;
        }
        Ok(had)
    }

    /// The record of the last successful push, if any.
    pub fn push_record(&self) -> Result<Option<PushRecord>, Error> {
        self.read_json(REMOTE_JSON, "push record")
    }

    /// Replaces the record of the last successful push. Needs the exclusive lock.
    pub fn write_push_record(&self, record: &PushRecord) -> Result<(), Error> {
        self.check_writable()?;
        let text = serde_json::to_string_pretty(record).unwrap_or_default();
        self.replace_state_file(REMOTE_JSON, text.as_bytes())
    }

    /// The journal of an interrupted push, if one was left.
    pub fn push_journal(&self) -> Result<Option<PushJournal>, Error> {
        self.read_json(JOURNAL, "push journal")
    }

    /// Writes the journal of a push about to send. Needs the exclusive lock.
    pub fn write_push_journal(&self, journal: &PushJournal) -> Result<(), Error> {
        self.check_writable()?;
        let text = serde_json::to_string_pretty(journal).unwrap_or_default();
        self.replace_state_file(JOURNAL, text.as_bytes())
    }

    /// Removes the journal after a push's last request. Needs the exclusive lock.
    pub fn remove_push_journal(&self) -> Result<(), Error> {
        self.check_writable()?;
        self.remove_state_file(JOURNAL)
    }

    /// Appends one line (a JSON object without secrets) to the audit log, durably.
    pub fn append_audit(&self, line: &str) -> Result<(), Error> {
        self.check_writable()?;
        fsops::append_line(&self.state().audit(), line)
    }

    /// The native files of version `n`, byte for byte: the live ones for the current version,
    /// else those of its archive in history. `None` when the version is not in history.
    pub fn version_files(&self, n: u64) -> Result<Option<NativeFiles>, Error> {
        if n == self.version() {
            return Ok(Some(self.live_files().clone()));
        }
        let archive = self.state().archive(n);
        if fsops::lstat(&archive)?.is_none() {
            return Ok(None);
        }
        crate::snapshot::read(&archive).map(|(_, files)| Some(files))
    }

    fn read_json<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
        what: &str,
    ) -> Result<Option<T>, Error> {
        let path = self.state_file(name);
        let Some(bytes) = fsops::read_file(&path)? else { return Ok(None) };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::corrupt(&path, format!("is not a valid {what}: {e}")))
    }

    fn replace_state_file(&self, name: &str, bytes: &[u8]) -> Result<(), Error> {
        let root = self.state().root;
        let tmp = root.join(format!("{name}.tmp"));
        // Under the exclusive lock: a temporary file left by a killed process is ours to drop.
        fsops::remove_file(&tmp)?;
        fsops::write_new_file(&tmp, bytes, 0o600)?;
        fsops::rename(&tmp, &root.join(name))?;
        fsops::sync_dir(&root)
    }

    fn remove_state_file(&self, name: &str) -> Result<(), Error> {
        let root = self.state().root;
        let path: &Path = &root.join(name);
        if fsops::lstat(path)?.is_none() {
            return Ok(());
        }
        fsops::remove_file(path)?;
        fsops::sync_dir(&root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder() -> (tempfile::TempDir, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("srv");
        crate::init(&dir, None).unwrap();
        (d, dir)
    }

    fn remote(url: &str) -> RemoteConfig {
        RemoteConfig {
            url: url.into(),
            user: "admin".into(),
            pin_sha256: Some("AB".into()),
            ca_file: None,
            endpoints: BTreeMap::new(),
        }
    }

    #[test]
    fn the_same_url_keeps_the_push_record_and_a_new_one_drops_it() {
        let (_d, dir) = folder();
        let t = Target::open_exclusive_state(&dir).unwrap();
        assert_eq!(t.remote().unwrap(), None);
        assert!(!t.set_remote(&remote("https://a:1505")).unwrap());
        let record =
            PushRecord { url: "https://a:1505".into(), version: 0, ..PushRecord::default() };
        t.write_push_record(&record).unwrap();
        let mut other_pin = remote("https://a:1505");
        other_pin.pin_sha256 = Some("CD".into());
        assert!(t.set_remote(&other_pin).unwrap());
        assert_eq!(t.push_record().unwrap(), Some(record));
        assert_eq!(t.remote().unwrap(), Some(other_pin));
        assert!(!t.set_remote(&remote("https://b:1505")).unwrap());
        assert_eq!(t.push_record().unwrap(), None);
        assert!(t.unset_remote().unwrap());
        assert_eq!(t.remote().unwrap(), None);
        assert!(!t.unset_remote().unwrap());
        let state = dir.join(".jims-import");
        assert!(!state.join("remote.toml.tmp").exists());
    }

    #[test]
    fn state_files_are_private_and_need_the_exclusive_lock() {
        use std::os::unix::fs::MetadataExt;
        let (_d, dir) = folder();
        let t = Target::open_exclusive_state(&dir).unwrap();
        assert_eq!(Target::open_exclusive_state(&dir).unwrap_err().kind(), crate::ErrorKind::Busy);
        t.set_remote(&remote("https://a:1505")).unwrap();
        let journal = PushJournal { url: "https://a:1505".into(), ..PushJournal::default() };
        t.write_push_journal(&journal).unwrap();
        let meta = std::fs::metadata(dir.join(".jims-import/push.journal")).unwrap();
        assert_eq!(meta.mode() & 0o777, 0o600);
        assert_eq!(t.push_journal().unwrap(), Some(journal));
        t.remove_push_journal().unwrap();
        assert_eq!(t.push_journal().unwrap(), None);
        drop(t);
        let read = Target::open_state(&dir).unwrap();
        assert_eq!(read.remote().unwrap().unwrap().url, "https://a:1505");
        assert_eq!(
            read.set_remote(&remote("https://b:1505")).unwrap_err().kind(),
            crate::ErrorKind::ReadOnly
        );
        assert_eq!(read.version_files(0).unwrap().unwrap().len(), 11);
        assert!(read.version_files(7).unwrap().is_none());
    }

    #[test]
    fn a_damaged_remote_is_named() {
        let (_d, dir) = folder();
        std::fs::write(dir.join(".jims-import/remote.toml"), "url = 3").unwrap();
        let t = Target::open_state(&dir).unwrap();
        let e = t.remote().unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Corrupt);
        assert!(e.to_string().contains("remote.toml"), "{e}");
    }
}
