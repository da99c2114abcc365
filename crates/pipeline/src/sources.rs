//! Secret sources by the SPEC of `--secrets`, built in or loaded from plugins, through the
//! registry (the `registry` crate), and the plugins it found. One registry serves the whole
//! process, so every plugin library is loaded and every folder searched once.

use std::path::PathBuf;
use std::sync::OnceLock;

use registry::Registry;
use secrets::{SecretSource, SourceOptions};

use crate::error::Error;

pub use registry::{LoadError, LoadErrorKind, PLUGIN_PATH_VAR, PluginInfo, host_abi};

/// The process's registry: the built-in sources, and plugins from the folders of
/// `JIMSCTL_PLUGIN_PATH` and `plugins/` beside the binary (read once, at the first call).
fn default_registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Registry::builtin)
}

/// The plugin folders, in search order: those of `JIMSCTL_PLUGIN_PATH`, then `plugins/` beside
/// the binary.
pub fn plugin_dirs() -> &'static [PathBuf] {
    default_registry().plugin_dirs()
}

/// Every library found in the plugin folders, loaded and checked (once per process), with its
/// name, version and ABI, and why it is not usable, if it is not.
pub fn plugins() -> Vec<PluginInfo> {
    default_registry().plugins()
}

/// The secret source a `--secrets SPEC` names, through the default registry: `env`, `file:`,
/// `dir:`, `cmd:` or `plugin:NAME[:CONFIG]` (made here, once, from CONFIG). `prompt` belongs
/// to the caller (it needs a person): `None`.
///
/// # Errors
/// [`crate::ErrorKind::SourceConfig`] (exit 2) for a SPEC that names no source or a source
/// that cannot work, an unknown plugin, or a library that is not a usable plugin (the error
/// names the file and the reason); [`crate::ErrorKind::SourceFailed`] (exit 1) for a source
/// that failed while starting.
pub fn secret_source(
    spec: &str,
    options: &SourceOptions,
) -> Result<Option<Box<dyn SecretSource>>, Error> {
    default_registry().source(spec, options).map_err(Error::from)
}

/// [`secret_source`], opened only when the import first needs it ([`secrets::Deferred`]): the
/// SPEC is checked now (a malformed one is an error at once), but no file is read, no program
/// looked for and no plugin made until the import has checked its export and its target.
/// `prompt`: `None`.
///
/// # Errors
/// [`crate::ErrorKind::SourceConfig`] (exit 2) for a SPEC that names no source.
pub fn deferred_source(
    spec: &str,
    options: &SourceOptions,
) -> Result<Option<Box<dyn SecretSource>>, Error> {
    let parsed = secrets::parse_spec(spec).map_err(Error::from)?;
    if parsed == secrets::Spec::Prompt {
        return Ok(None);
    }
    let (spec, options) = (spec.to_owned(), options.clone());
    let kind = parsed.kind();
    let named = kind.clone();
    let opener: secrets::Opener = Box::new(move || {
        default_registry().source(&spec, &options)?.ok_or_else(|| {
            secrets::SourceError::config(named, format!("`{spec}` cannot be used here")).into()
        })
    });
    Ok(Some(Box::new(secrets::Deferred::new(kind, opener))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deferred_sources_open_when_started() {
        let o = SourceOptions::default();
        let s = deferred_source("file:/no/such/secrets.toml", &o).unwrap().unwrap();
        assert_eq!(s.kind(), "file");
        let e = s.start().unwrap_err();
        assert!(e.to_string().contains("/no/such/secrets.toml"), "{e}");
        assert!(deferred_source("prompt", &o).unwrap().is_none());
        let e = deferred_source("vault:x", &o).err().unwrap();
        assert_eq!(e.kind(), &crate::ErrorKind::SourceConfig);
        assert_eq!(deferred_source("plugin:x", &o).unwrap().unwrap().kind(), "plugin:x");
    }

    #[test]
    fn sources_come_through_the_registry() {
        let o = SourceOptions::default();
        assert_eq!(secret_source("env", &o).unwrap().unwrap().kind(), "env");
        assert!(secret_source("prompt", &o).unwrap().is_none());
        let e = secret_source("plugin:no-such-plugin", &o).err().unwrap();
        assert_eq!(e.kind(), &crate::ErrorKind::SourceConfig);
        assert!(e.to_string().contains("no plugin named `no-such-plugin`"), "{e}");
    }
}
