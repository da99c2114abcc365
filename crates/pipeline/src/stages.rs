//! The pipeline's registry of stages: readers by format, bundle writers by format and secret
//! sources by the scheme of `--secrets`, built in or loaded from plugins (see the `registry`
//! crate). One registry serves the whole process, so every plugin library is loaded and every
//! folder searched once.

use std::sync::OnceLock;

use registry::Registry;
use secrets::{SecretSource, SourceOptions};

use crate::error::Error;
use crate::input::ExportFormat;

/// The process's registry: the built-in stages, and plugins from the folders of
/// `JIMSCTL_PLUGIN_PATH` and `plugins/` beside the binary (read once, at the first call).
pub fn default_registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Registry::builtin)
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

/// The registry's name of a format.
pub(crate) fn format_name(format: ExportFormat) -> &'static str {
    match format {
        ExportFormat::Xml => "xml",
        ExportFormat::Json => "json",
        ExportFormat::Folder => "folder",
    }
}

/// The format a registry name stands for.
pub(crate) fn format_of(name: &str) -> Option<ExportFormat> {
    match name {
        "xml" => Some(ExportFormat::Xml),
        "json" => Some(ExportFormat::Json),
        "folder" => Some(ExportFormat::Folder),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_has_its_stages() {
        let r = default_registry();
        for f in [ExportFormat::Xml, ExportFormat::Json, ExportFormat::Folder] {
            assert_eq!(format_of(format_name(f)), Some(f));
            assert!(r.reader(format_name(f)).is_some(), "{f}");
        }
        assert!(r.writer("xml").is_some() && r.writer("json").is_some());
    }

    #[test]
    fn deferred_sources_open_when_started() {
        let o = SourceOptions::default();
        let s = deferred_source("file:/no/such/secrets.toml", &o).unwrap().unwrap();
        assert_eq!(s.kind(), "file");
        let e = s.start().unwrap_err();
        assert!(e.to_string().contains("/no/such/secrets.toml"), "{e}");
        assert!(deferred_source("prompt", &o).unwrap().is_none());
        assert_eq!(deferred_source("vault:x", &o).err().unwrap().exit_code(), 2);
        assert_eq!(deferred_source("plugin:x", &o).unwrap().unwrap().kind(), "plugin:x");
    }

    #[test]
    fn sources_come_through_the_registry() {
        let o = SourceOptions::default();
        assert_eq!(secret_source("env", &o).unwrap().unwrap().kind(), "env");
        assert!(secret_source("prompt", &o).unwrap().is_none());
        let e = secret_source("plugin:no-such-plugin", &o).err().unwrap();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("no plugin named `no-such-plugin`"), "{e}");
    }
}
