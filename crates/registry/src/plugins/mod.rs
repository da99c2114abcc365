//! Secret-source plugins: the folders searched, the libraries found there, and the
//! `plugin:NAME[:CONFIG]` source built from them.

mod load;
mod source;
mod trust;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

pub use load::{LoadError, LoadErrorKind, PluginInfo};
pub use source::PluginSource;

use load::Inspected;
use secrets::SourceError;

/// The variable listing plugin folders, `:`-separated (`;` on Windows).
pub const PLUGIN_PATH_VAR: &str = "JIMSCTL_PLUGIN_PATH";

/// The plugin ABI this host speaks, `(major, minor)`.
pub fn host_abi() -> (u32, u32) {
    load::host_abi()
}

/// The plugin folders, in search order: those of `JIMSCTL_PLUGIN_PATH` (empty entries
/// skipped), then `plugins` beside the running binary. A relative entry is kept, so that the
/// plugin list can say why it is not searched.
pub fn default_plugin_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os(PLUGIN_PATH_VAR)
        .map(|v| std::env::split_paths(&v).filter(|p| !p.as_os_str().is_empty()).collect())
        .unwrap_or_default();
    if let Some(dir) =
        std::env::current_exe().ok().and_then(|exe| exe.parent().map(Path::to_path_buf))
    {
        dirs.push(dir.join("plugins"));
    }
    dirs
}

/// Whether `path`'s name is a shared library's on this system (`.so`, `.dylib`, `.dll`).
fn is_library_name(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
        n.ends_with(std::env::consts::DLL_SUFFIX) && n.len() > std::env::consts::DLL_SUFFIX.len()
    })
}

/// The library files in `dirs` that may be loaded, folder by folder in order, by name within a
/// folder; a file found twice (through two names for one folder) is listed once. A folder or a
/// file that may not be trusted is left out: a relative folder, or a folder or file writable by
/// its group or others, or owned by neither the current user nor root.
pub fn find_libraries(dirs: &[PathBuf]) -> Vec<PathBuf> {
    search(dirs)
        .into_iter()
        .filter_map(|f| match f {
            Found::Library(path) => Some(path),
            Found::Refused { .. } => None,
        })
        .collect()
}

/// What searching the plugin folders finds, in order.
enum Found {
    /// A library file that may be loaded.
    Library(PathBuf),
    /// A folder not searched, or a library file not loaded, and why.
    Refused { error: LoadError, folder: bool },
}

/// The library files in `dirs` and the folders and files refused, in the order of
/// [`find_libraries`].
fn search(dirs: &[PathBuf]) -> Vec<Found> {
    let mut found: Vec<Found> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for dir in dirs {
        if let Some(why) = trust::folder_problem(dir) {
            let error = LoadError::new(dir, LoadErrorKind::Untrusted, why);
            found.push(Found::Refused { error, folder: true });
            continue;
        }
        for file in library_files(dir) {
            let key = std::fs::canonicalize(&file).unwrap_or_else(|_| file.clone());
            if !seen.insert(key) {
                continue;
            }
            found.push(match trust::library_problem(&file, dir) {
                None => Found::Library(file),
                Some(why) => Found::Refused {
                    error: LoadError::new(&file, LoadErrorKind::Untrusted, why),
                    folder: false,
                },
            });
        }
    }
    found
}

/// The files of `dir` named like shared libraries, by name (none if it cannot be read).
fn library_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> =
        entries.flatten().map(|e| e.path()).filter(|p| is_library_name(p) && p.is_file()).collect();
    files.sort();
    files
}

/// The plugins of a registry: its folders, and the libraries in them, inspected on first use.
pub(crate) struct Plugins {
    dirs: Vec<PathBuf>,
    found: OnceLock<Searched>,
}

/// The libraries found, inspected (and the folders and files refused, in their places), and
/// the folders not searched.
struct Searched {
    entries: Vec<Arc<Inspected>>,
    refused_dirs: Vec<LoadError>,
}

impl Plugins {
    pub(crate) fn new(dirs: Vec<PathBuf>) -> Plugins {
        Plugins { dirs, found: OnceLock::new() }
    }

    pub(crate) fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    fn searched(&self) -> &Searched {
        self.found.get_or_init(|| {
            let mut searched = Searched { entries: Vec::new(), refused_dirs: Vec::new() };
            for found in search(&self.dirs) {
                let inspected = match found {
                    Found::Library(path) => load::inspect(&path),
                    Found::Refused { error, folder } => {
                        if folder {
                            searched.refused_dirs.push(error.clone());
                        }
                        Arc::new(Inspected::refused(error))
                    }
                };
                searched.entries.push(inspected);
            }
            searched
        })
    }

    /// Every library found, with what is known of it, and every folder not searched.
    pub(crate) fn list(&self) -> Vec<PluginInfo> {
        self.searched().entries.iter().map(|i| i.info.clone()).collect()
    }

    /// The instance of plugin `name` for `config`: the first usable library of that name.
    pub(crate) fn source(
        &self,
        name: &str,
        config: Option<&str>,
        timeout: std::time::Duration,
    ) -> Result<PluginSource, SourceError> {
        let kind = format!("plugin:{name}");
        let searched = self.searched();
        let found = &searched.entries;
        if let Some(loaded) =
            found.iter().filter_map(|i| i.loaded.as_ref()).find(|l| l.name == name)
        {
            return PluginSource::create(Arc::clone(loaded), config, timeout);
        }
        // No usable plugin of that name: a broken or refused library that was meant to be it
        // says why.
        let is_refused_dir = |p: &Path| searched.refused_dirs.iter().any(|e| e.path() == p);
        if let Some(broken) = found.iter().find(|i| {
            i.loaded.is_none()
                && !is_refused_dir(&i.info.path)
                && (i.info.name.as_deref() == Some(name) || file_stem_matches(&i.info.path, name))
        }) && let Some(e) = &broken.info.error
        {
            return Err(SourceError::config(kind, e.to_string()));
        }
        // Or a library named after it in a folder that was not searched.
        for e in &searched.refused_dirs {
            if let Some(file) =
                library_files(e.path()).into_iter().find(|f| file_stem_matches(f, name))
            {
                return Err(SourceError::config(
                    kind,
                    format!("{} was not loaded: {e}", file.display()),
                ));
            }
        }
        let dirs: Vec<String> = self.dirs.iter().map(|d| d.display().to_string()).collect();
        let mut usable: Vec<&str> = Vec::new();
        for name in found.iter().filter_map(|i| i.loaded.as_ref().map(|l| l.name.as_str())) {
            if !usable.contains(&name) {
                usable.push(name);
            }
        }
        let found_text = if usable.is_empty() {
            "no usable plugin was found".to_owned()
        } else {
            format!("the plugins found are {}", usable.join(", "))
        };
        let refused: Vec<String> = searched.refused_dirs.iter().map(ToString::to_string).collect();
        let refused_text =
            if refused.is_empty() { String::new() } else { format!("; {}", refused.join("; ")) };
        Err(SourceError::config(
            kind,
            format!(
                "no plugin named `{name}` in the plugin folders ({}); {found_text}{refused_text}. \
                 Put its library in one of them or add its folder to {PLUGIN_PATH_VAR}; \
                 `jimsctl plugins list` shows every library found",
                if dirs.is_empty() { "none".to_owned() } else { dirs.join(", ") }
            ),
        ))
    }
}

/// Whether the file at `path` is named after plugin `name`: `name.so`, `libname.so`,
/// `libname_plugin.so`, `libjimsctl_name.so` (`-` and `_` alike).
fn file_stem_matches(path: &Path, name: &str) -> bool {
    let Some(file) = path.file_name().and_then(|n| n.to_str()) else { return false };
    let stem = file.strip_suffix(std::env::consts::DLL_SUFFIX).unwrap_or(file);
    let stem = stem.strip_prefix(std::env::consts::DLL_PREFIX).unwrap_or(stem).replace('-', "_");
    let name = name.replace('-', "_");
    [name.clone(), format!("{name}_plugin"), format!("jimsctl_{name}")].contains(&stem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libraries_are_found_in_order_and_once() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        for (dir, name) in [(&a, "libz.so"), (&a, "liba.so"), (&a, "notes.txt"), (&b, "libm.so")] {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        std::fs::create_dir(a.path().join("dir.so")).unwrap();
        std::fs::write(a.path().join(".so"), b"").unwrap();
        let dirs = vec![
            b.path().to_owned(),
            a.path().join("missing"),
            a.path().to_owned(),
            a.path().join("."),
        ];
        let names: Vec<String> = find_libraries(&dirs)
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        if cfg!(target_os = "linux") {
            assert_eq!(names, ["libm.so", "liba.so", "libz.so"]);
        }
    }

    #[test]
    fn file_names_point_at_plugins() {
        let so = |s: &str| PathBuf::from(format!("/p/{s}{}", std::env::consts::DLL_SUFFIX));
        assert!(file_stem_matches(&so("libkeepass_plugin"), "keepass"));
        assert!(file_stem_matches(&so("libwrong_magic"), "wrong_magic"));
        assert!(file_stem_matches(&so("libwrong_magic"), "wrong-magic"));
        assert!(file_stem_matches(&so("vault"), "vault"));
        assert!(!file_stem_matches(&so("libkeepassxc"), "keepass"));
    }
}
