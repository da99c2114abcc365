//! Export/Import settings (from the brief): a default folder for export files, set in jimsctl's
//! configuration file, and the last folder an import used, remembered in the state folder. An
//! export named without a folder that is not in the current one is looked up there.
//!
//! - configuration: `$JIMSCTL_CONFIG`, else `$XDG_CONFIG_HOME/jimsctl/config.toml`, else
//!   `~/.config/jimsctl/config.toml`; it holds `[exports] default_folder = "…"`.
//! - state: `$XDG_STATE_HOME/jimsctl/state.toml`, else `~/.local/state/jimsctl/state.toml`; it
//!   holds `last_folder = "…"`.

use std::path::{Component, Path, PathBuf};

use pipeline::{Error, ErrorKind};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::args::OutputFormat;

/// jimsctl's own configuration file.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Config {
    #[serde(default, skip_serializing_if = "Exports::is_empty")]
    pub(crate) exports: Exports,
}

/// The `[exports]` table.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Exports {
    /// Where export files are looked up (and offered) by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) default_folder: Option<PathBuf>,
}

impl Exports {
    fn is_empty(&self) -> bool {
        self.default_folder.is_none()
    }
}

/// What jimsctl remembers between runs.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct State {
    /// The folder of the last export an import used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) last_folder: Option<PathBuf>,
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").filter(|h| !h.is_empty()).map(PathBuf::from)
}

fn xdg(var: &str, fallback: &[&str]) -> Option<PathBuf> {
    match std::env::var_os(var).filter(|v| !v.is_empty()) {
        Some(v) => Some(PathBuf::from(v)),
        None => home().map(|h| fallback.iter().fold(h, |p, part| p.join(part))),
    }
}

/// The configuration file's path.
pub(crate) fn config_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("JIMSCTL_CONFIG").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(p));
    }
    xdg("XDG_CONFIG_HOME", &[".config"]).map(|d| d.join("jimsctl/config.toml"))
}

/// The state file's path.
pub(crate) fn state_path() -> Option<PathBuf> {
    xdg("XDG_STATE_HOME", &[".local", "state"]).map(|d| d.join("jimsctl/state.toml"))
}

fn load<T: Default + for<'de> Deserialize<'de>>(path: Option<&Path>) -> Result<T, Error> {
    let Some(path) = path else { return Ok(T::default()) };
    match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text).map_err(|e| {
            Error::new(ErrorKind::Input, format!("{}: {}", path.display(), e.message()))
                .with_path(path)
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
        Err(e) => Err(Error::new(ErrorKind::Input, format!("cannot read {}: {e}", path.display()))
            .with_path(path)),
    }
}

fn save<T: Serialize>(path: &Path, value: &T) -> Result<(), Error> {
    if let Some(dir) = path.parent() {
        pipeline::create_output_folder(dir)?;
    }
    let text = toml::to_string(value)
        .map_err(|e| Error::new(ErrorKind::Io, format!("cannot encode settings: {e}")))?;
    pipeline::write_file_atomic(path, text.as_bytes(), 0o644)
}

/// The configuration, or the defaults when there is no file.
pub(crate) fn load_config() -> Result<Config, Error> {
    load(config_path().as_deref())
}

/// The remembered state; an unreadable state file is ignored (it is only a convenience).
pub(crate) fn load_state() -> State {
    load(state_path().as_deref()).unwrap_or_default()
}

/// Saves the configuration.
pub(crate) fn save_config(config: &Config) -> Result<PathBuf, Error> {
    let path = config_path().ok_or_else(|| {
        Error::new(
            ErrorKind::Usage,
            "no configuration folder: set HOME, XDG_CONFIG_HOME or JIMSCTL_CONFIG",
        )
    })?;
    save(&path, config)?;
    Ok(path)
}

/// Remembers `export`'s folder as the last folder an import used. Failing to remember is not
/// worth failing an import for.
pub(crate) fn remember_export_folder(export: &Path) {
    let Some(path) = state_path() else { return };
    let folder = std::path::absolute(export).ok().and_then(|p| p.parent().map(Path::to_owned));
    if let Some(folder) = folder {
        let _ = save(&path, &State { last_folder: Some(folder) });
    }
}

/// Where an export was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FoundIn {
    /// As given (a path with a folder, or a name in the current folder).
    AsGiven,
    /// In the last folder an import used.
    LastFolder(PathBuf),
    /// In the configured default folder.
    DefaultFolder(PathBuf),
}

/// Resolves an export named on the command line: a relative path or a bare file name
/// (docs/configuration.md, "Export/Import settings") that is not found from the current folder
/// is looked up in the last folder, then in the default folder. An absolute path, or one that
/// starts with `.` or `..`, names its place itself and is taken as given.
pub(crate) fn locate_export(given: &Path) -> Result<(PathBuf, FoundIn), Error> {
    let anchored = matches!(
        given.components().next(),
        None | Some(
            Component::RootDir | Component::Prefix(_) | Component::CurDir | Component::ParentDir
        )
    );
    if anchored || given.exists() {
        return Ok((given.to_owned(), FoundIn::AsGiven));
    }
    if let Some(last) = load_state().last_folder {
        let candidate = last.join(given);
        if candidate.exists() {
            return Ok((candidate, FoundIn::LastFolder(last)));
        }
    }
    if let Some(default) = load_config()?.exports.default_folder {
        let candidate = default.join(given);
        if candidate.exists() {
            return Ok((candidate, FoundIn::DefaultFolder(default)));
        }
    }
    Ok((given.to_owned(), FoundIn::AsGiven))
}

/// `jimsctl settings`: shows the settings, after setting or forgetting the default folder.
pub(crate) fn command(a: crate::args::SettingsArgs) -> Result<u8, Error> {
    let mut config = load_config()?;
    if let Some(dir) = &a.default_folder {
        let dir = std::path::absolute(dir)
            .map_err(|e| Error::new(ErrorKind::Usage, format!("{}: {e}", dir.display())))?;
        if !dir.is_dir() {
            return Err(Error::new(ErrorKind::Usage, format!("{} is not a folder", dir.display())));
        }
        config.exports.default_folder = Some(dir);
        save_config(&config)?;
    } else if a.unset_default_folder {
        config.exports.default_folder = None;
        save_config(&config)?;
    }
    let state = load_state();
    let shown = |p: Option<&Path>| p.map(|p| p.display().to_string());
    let config_path = config_path();
    if a.output.format == OutputFormat::Json {
        out_json!(json!({
            "config_file": shown(config_path.as_deref()),
            "default_folder": shown(config.exports.default_folder.as_deref()),
            "last_folder": shown(state.last_folder.as_deref()),
        }));
    } else {
        let none = || "(not set)".to_owned();
        let shown = |p: Option<&Path>| p.map(crate::render::path);
        outln!("configuration file: {}", shown(config_path.as_deref()).unwrap_or_else(none));
        outln!(
            "default export folder: {}",
            shown(config.exports.default_folder.as_deref()).unwrap_or_else(none)
        );
        outln!("last folder used: {}", shown(state.last_folder.as_deref()).unwrap_or_else(none));
    }
    Ok(0)
}
