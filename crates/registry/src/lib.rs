//! The registry of secret sources: the one place where the pipeline finds the source a
//! `--secrets SPEC` names, by its scheme, built in or loaded from a plugin.
//!
//! Secret sources are the only stage of an import that is found at run time: a site adds one
//! without rebuilding jimsctl (a plugin, through the C ABI of `plugin-api`). Readers and
//! writers of the export formats are not registered here: they are a closed, typed list in the
//! pipeline (`pipeline::ExportFormat`), changed only with the code.
//!
//! [`Registry::builtin`] holds the built-in sources (`env`, `file:`, `dir:` and `cmd:`) and the
//! `plugin:` scheme, whose
//! sources are loaded from shared libraries found in the folders of `JIMSCTL_PLUGIN_PATH` and
//! in `plugins/` beside the binary ([`default_plugin_dirs`]), when they are trusted: a folder
//! given as a relative path, or a folder or library writable by its group or others, or owned
//! by neither the current user nor root, is skipped and listed with the reason
//! ([`LoadErrorKind::Untrusted`]). A plugin library is loaded once
//! per process, checked against the ABI of `plugin-api` in the order docs/writing-a-plugin.md gives
//! (symbol, magic, size, major, minor), and wrapped as an ordinary [`SecretSource`]: nothing
//! downstream knows it is a plugin. A library that is not usable is listed with the reason
//! ([`Registry::plugins`]) and, when `plugin:NAME` names it, the error names the file.
//!
//! Libraries are only inspected when a `plugin:` source or the plugin list is asked for, so a
//! registry is cheap to make.

mod plugins;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use secrets::{SecretSource, SourceError, SourceOptions};

pub use plugins::{
    LoadError, LoadErrorKind, PLUGIN_PATH_VAR, PluginInfo, PluginSource, default_plugin_dirs,
    find_libraries, host_abi,
};

/// Builds the secret sources of one `--secrets` scheme.
pub trait SourceFactory: Send + Sync {
    /// The scheme: the part of the SPEC before the first `:` (`env`, `file`, `plugin`).
    fn scheme(&self) -> &str;

    /// The source for `spec` (the whole SPEC, scheme included).
    ///
    /// # Errors
    /// A configuration error (exit 2) for a SPEC or a source that cannot work, or a failure
    /// (exit 1) for one that failed while starting.
    fn build(
        &self,
        spec: &str,
        options: &SourceOptions,
    ) -> Result<Box<dyn SecretSource>, secrets::Error>;
}

/// A built-in source of the `secrets` crate.
struct Builtin(&'static str);

impl SourceFactory for Builtin {
    fn scheme(&self) -> &str {
        self.0
    }

    fn build(
        &self,
        spec: &str,
        options: &SourceOptions,
    ) -> Result<Box<dyn SecretSource>, secrets::Error> {
        match secrets::builtin_source(spec, options)? {
            Some(source) => Ok(source),
            None => {
                Err(SourceError::config(self.0, format!("`{spec}` is not a built-in source"))
                    .into())
            }
        }
    }
}

/// The secret sources, by the scheme of their SPEC, and the plugin folders.
pub struct Registry {
    sources: BTreeMap<String, Box<dyn SourceFactory>>,
    plugins: plugins::Plugins,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("schemes", &self.schemes())
            .field("plugin_dirs", &self.plugins.dirs())
            .finish()
    }
}

impl Default for Registry {
    fn default() -> Registry {
        Registry::builtin()
    }
}

impl Registry {
    /// A registry with no source and no plugin folder.
    pub fn empty() -> Registry {
        Registry { sources: BTreeMap::new(), plugins: plugins::Plugins::new(Vec::new()) }
    }

    /// The built-in sources, and plugins from [`default_plugin_dirs`].
    pub fn builtin() -> Registry {
        Registry::builtin_with_plugin_dirs(default_plugin_dirs())
    }

    /// The built-in sources, and plugins from `dirs` (in search order).
    pub fn builtin_with_plugin_dirs(dirs: Vec<PathBuf>) -> Registry {
        let mut r = Registry::empty();
        r.plugins = plugins::Plugins::new(dirs);
        for scheme in ["env", "file", "dir", "cmd"] {
            r.register_source(Box::new(Builtin(scheme)));
        }
        r
    }

    /// Adds (or replaces) the source factory of a scheme.
    pub fn register_source(&mut self, factory: Box<dyn SourceFactory>) {
        self.sources.insert(factory.scheme().to_owned(), factory);
    }

    /// The `--secrets` schemes known: the registered ones, `plugin` and `prompt`.
    pub fn schemes(&self) -> Vec<&str> {
        let mut s: Vec<&str> = self.sources.keys().map(String::as_str).collect();
        s.extend(["plugin", "prompt"]);
        s
    }

    /// The source a `--secrets SPEC` names, found by its scheme. `prompt` is the command
    /// line's (it needs a terminal), so it gives `None`. A `plugin:NAME[:CONFIG]` source is
    /// created here, once, from CONFIG.
    ///
    /// # Errors
    /// A configuration error (exit 2) for an unknown scheme, a malformed SPEC, a wrongly
    /// configured source, an unknown plugin or a library that is not a usable plugin (the
    /// error names the file and the reason); a failure (exit 1) for a source that failed
    /// while starting.
    pub fn source(
        &self,
        spec: &str,
        options: &SourceOptions,
    ) -> Result<Option<Box<dyn SecretSource>>, secrets::Error> {
        let scheme = spec.split_once(':').map_or(spec, |(head, _)| head);
        if let Some(factory) = self.sources.get(scheme) {
            return factory.build(spec, options).map(Some);
        }
        // `prompt`, `plugin:` and every malformed SPEC are parsed the one way.
        match secrets::parse_spec(spec)? {
            secrets::Spec::Plugin { name, config } => {
                let source = self.plugins.source(&name, config.as_deref(), options.timeout)?;
                Ok(Some(Box::new(source)))
            }
            secrets::Spec::Prompt => Ok(None),
            other => Err(SourceError::config(
                other.kind(),
                format!("`{spec}` names a source that this registry has no factory for"),
            )
            .into()),
        }
    }

    /// The plugin folders, in search order.
    pub fn plugin_dirs(&self) -> &[PathBuf] {
        self.plugins.dirs()
    }

    /// Every library found in the plugin folders, loaded and checked (once per process), with
    /// its manifest's name, version and ABI, and why it is not usable, if it is not.
    pub fn plugins(&self) -> Vec<PluginInfo> {
        self.plugins.list()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_are_registered_by_name() {
        let r = Registry::builtin_with_plugin_dirs(Vec::new());
        assert_eq!(r.schemes(), ["cmd", "dir", "env", "file", "plugin", "prompt"]);
        let o = SourceOptions::default();
        assert_eq!(r.source("env", &o).unwrap().unwrap().kind(), "env");
        assert!(r.source("prompt", &o).unwrap().is_none());
        assert!(r.plugins().is_empty());
    }

    #[test]
    fn bad_specs_and_unknown_plugins_are_config_errors() {
        let r = Registry::builtin_with_plugin_dirs(vec!["/nonexistent/plugins".into()]);
        let o = SourceOptions::default();
        for (spec, says) in [
            ("vault:x", "is not a secret source"),
            ("file:", "needs a path"),
            ("prompt:x", "takes no argument"),
            ("plugin:", "needs a plugin name"),
            ("plugin:nope", "no plugin named `nope` in the plugin folders (/nonexistent/plugins)"),
        ] {
            let e = r.source(spec, &o).err().expect(spec);
            assert_eq!(e.kind(), secrets::ErrorKind::SourceConfig, "{spec}");
            assert!(e.to_string().contains(says), "{spec}: {e}");
        }
    }

    #[test]
    fn an_empty_registry_knows_no_builtin_source() {
        let r = Registry::empty();
        let e = r.source("env", &SourceOptions::default()).err().unwrap();
        assert!(e.to_string().contains("no factory for"), "{e}");
    }
}
