//! The registry of stages: the one place where the pipeline finds its readers (by format), its
//! bundle writers (by format) and its secret sources (by the scheme of `--secrets SPEC`).
//!
//! [`Registry::builtin`] holds the built-in stages (the XML and JSON bundles, the server
//! folder, the `env`, `file:`, `dir:` and `cmd:` sources) and the `plugin:` scheme, whose
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
mod stages;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use secrets::{SecretSource, SourceError, SourceOptions};

pub use plugins::{
    LoadError, LoadErrorKind, PLUGIN_PATH_VAR, PluginInfo, PluginSource, default_plugin_dirs,
    find_libraries, host_abi,
};
pub use stages::{Input, JsonBundle, Reader, ServerFolder, StageError, Writer, XmlBundle};

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

/// The stages the pipeline chains, by name.
pub struct Registry {
    readers: Vec<Box<dyn Reader>>,
    writers: Vec<Box<dyn Writer>>,
    sources: BTreeMap<String, Box<dyn SourceFactory>>,
    plugins: plugins::Plugins,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("readers", &self.readers.iter().map(|r| r.format()).collect::<Vec<_>>())
            .field("writers", &self.writers.iter().map(|w| w.format()).collect::<Vec<_>>())
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
    /// A registry with no stage and no plugin folder.
    pub fn empty() -> Registry {
        Registry {
            readers: Vec::new(),
            writers: Vec::new(),
            sources: BTreeMap::new(),
            plugins: plugins::Plugins::new(Vec::new()),
        }
    }

    /// The built-in stages, and plugins from [`default_plugin_dirs`].
    pub fn builtin() -> Registry {
        Registry::builtin_with_plugin_dirs(default_plugin_dirs())
    }

    /// The built-in stages, and plugins from `dirs` (in search order).
    pub fn builtin_with_plugin_dirs(dirs: Vec<PathBuf>) -> Registry {
        let mut r = Registry::empty();
        r.plugins = plugins::Plugins::new(dirs);
        r.register_reader(Box::new(XmlBundle));
        r.register_reader(Box::new(JsonBundle));
        r.register_reader(Box::new(ServerFolder));
        r.register_writer(Box::new(XmlBundle));
        r.register_writer(Box::new(JsonBundle));
        for scheme in ["env", "file", "dir", "cmd"] {
            r.register_source(Box::new(Builtin(scheme)));
        }
        r
    }

    /// Adds a reader; readers are asked in the order registered, and a later one of the same
    /// format replaces the earlier.
    pub fn register_reader(&mut self, reader: Box<dyn Reader>) {
        self.readers.retain(|r| r.format() != reader.format());
        self.readers.push(reader);
    }

    /// Adds a bundle writer; a later one of the same format replaces the earlier.
    pub fn register_writer(&mut self, writer: Box<dyn Writer>) {
        self.writers.retain(|w| w.format() != writer.format());
        self.writers.push(writer);
    }

    /// Adds (or replaces) the source factory of a scheme.
    pub fn register_source(&mut self, factory: Box<dyn SourceFactory>) {
        self.sources.insert(factory.scheme().to_owned(), factory);
    }

    /// The reader of `format`.
    pub fn reader(&self, format: &str) -> Option<&dyn Reader> {
        self.readers.iter().find(|r| r.format() == format).map(|r| &**r)
    }

    /// The first reader that recognises `input`.
    pub fn reader_for(&self, input: &Input<'_>) -> Option<&dyn Reader> {
        self.readers.iter().find(|r| r.recognises(input)).map(|r| &**r)
    }

    /// The formats readers are registered for, in order.
    pub fn reader_formats(&self) -> Vec<&str> {
        self.readers.iter().map(|r| r.format()).collect()
    }

    /// The writer of `format`.
    pub fn writer(&self, format: &str) -> Option<&dyn Writer> {
        self.writers.iter().find(|w| w.format() == format).map(|w| &**w)
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
                format!("`{spec}` names a source that this registry has no stage for"),
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
        assert_eq!(r.reader_formats(), ["xml", "json", "folder"]);
        assert!(r.writer("json").is_some() && r.writer("folder").is_none());
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
        assert!(e.to_string().contains("no stage for"), "{e}");
        assert!(r.reader_for(&Input::Folder(std::path::Path::new("."))).is_none());
    }
}
