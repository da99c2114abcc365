//! `jimsctl status --target DIR`: the state of a managed folder at a glance: its server and key
//! id, its current version, whether the live files were changed by hand since that version was
//! written (which files, which items), and, when a remote is set, where it is and the last push.

use std::path::Path;

use serde::Serialize;

use crate::error::Error;

/// The remote of a managed folder (`.jims-import/remote.toml`), as far as status shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Remote {
    /// Its URL.
    pub url: Option<String>,
    /// The administrator's name.
    pub user: Option<String>,
}

/// The last successful push (`.jims-import/remote.json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LastPush {
    /// The folder's version it pushed.
    pub version: Option<u64>,
    /// When it ended.
    pub time: Option<String>,
    /// Where it went.
    pub url: Option<String>,
}

/// What `status` reports.
#[derive(Debug, Serialize)]
pub struct FolderStatus {
    /// The server's id.
    pub server_id: String,
    /// The key id its exports carry.
    pub key_id: String,
    /// The current version.
    pub version: u64,
    /// The current version's history entry.
    pub current: Option<store::VersionInfo>,
    /// Hand edits since the current version (`None`: that version was written before jimsctl
    /// recorded what it wrote, so nothing can be told).
    pub drift: Option<store::Drift>,
    /// The remote, when one is set.
    pub remote: Option<Remote>,
    /// The last push, when there was one.
    pub last_push: Option<LastPush>,
}

/// Reads the state of the managed folder `dir`, under its shared lock; changes nothing.
///
/// # Errors
/// A folder that is not managed or is damaged (exit 2), or busy (exit 5).
pub fn status(dir: &Path) -> Result<FolderStatus, Error> {
    let target = store::Target::open_state(dir)?;
    let drift = target.drift()?;
    let current = target.history()?.into_iter().find(|v| v.current);
    let state = dir.join(".jims-import");
    let remote = read_toml(&state.join("remote.toml")).map(|v| Remote {
        url: v.get("url").and_then(|u| u.as_str()).map(str::to_owned),
        user: v.get("user").and_then(|u| u.as_str()).map(str::to_owned),
    });
    let last_push = std::fs::read(state.join("remote.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .map(|v| LastPush {
            version: v.get("version").and_then(serde_json::Value::as_u64),
            time: v.get("time").and_then(|t| t.as_str()).map(str::to_owned),
            url: v.get("url").and_then(|u| u.as_str()).map(str::to_owned),
        });
    Ok(FolderStatus {
        server_id: target.server_id().to_owned(),
        key_id: target.key_id().as_str().to_owned(),
        version: target.version(),
        current,
        drift,
        remote,
        last_push,
    })
}

/// A TOML file as a table, when it exists and parses (a remote's file holds no password).
fn read_toml(path: &Path) -> Option<toml::Table> {
    let text = std::fs::read_to_string(path).ok()?;
    text.parse::<toml::Table>().ok()
}
