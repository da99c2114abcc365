//! The entries of a batch: from a manifest ([`read_manifest`]) or a folder of exports
//! ([`scan`]), and each entry's `import` flags, its own ([`Overrides`]) or the batch's
//! ([`Defaults`]).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, ErrorKind};
use crate::import::ImportOptions;
use crate::input::io_reason;

/// The `import` flags of one entry of a manifest; each one unset takes the batch's.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Overrides {
    /// `--sections`.
    pub sections: Option<Vec<String>>,
    /// `--accept-warning`.
    pub accept_warning: Option<bool>,
    /// `--secrets`, in order (SPECs, `{name}` and `{dir}` expanded per export).
    pub secrets: Option<Vec<String>>,
    /// `--source-key`.
    pub source_key: Option<PathBuf>,
    /// `--dry-run`.
    pub dry_run: Option<bool>,
    /// `--replace-event-sources`.
    pub replace_event_sources: Option<bool>,
}

/// The `import` flags given to the batch: they apply to every entry that does not set its own.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Defaults {
    /// `--sections`.
    pub sections: Option<Vec<String>>,
    /// `--accept-warning`.
    pub accept_warning: bool,
    /// `--secrets`, in order.
    pub secrets: Vec<String>,
    /// `--source-key`.
    pub source_key: Option<PathBuf>,
    /// `--dry-run`.
    pub dry_run: bool,
    /// `--replace-event-sources`.
    pub replace_event_sources: bool,
}

/// One import of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The export.
    pub export: PathBuf,
    /// The managed folder to import into (created when absent).
    pub target: PathBuf,
    /// Its own flags.
    pub overrides: Overrides,
    /// Why the entry cannot run at all (e.g. a name with both an `.xml` and a `.json`): it is
    /// reported failed (exit 2) with this message.
    pub problem: Option<String>,
}

/// The manifest file: `[[import]]` tables (TOML) or `{"import": [...]}` (JSON).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    #[serde(default)]
    import: Vec<ManifestEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestEntry {
    export: PathBuf,
    target: PathBuf,
    #[serde(flatten)]
    overrides: Overrides,
}

/// Reads a manifest: TOML (`[[import]]` tables) or JSON (`{"import": [...]}`), told apart by
/// the extension `.json` or `.toml`, else by content. Each entry has `export` and `target` and
/// optionally `sections`, `accept_warning`, `secrets` (a list of SPECs), `source_key`,
/// `dry_run`, `replace_event_sources`. Relative paths are taken from the manifest's folder: `export`, `target`,
/// `source_key`, and the PATH of a `file:PATH` or `dir:PATH` SPEC (one that starts with a
/// placeholder, `{dir}`, is already anchored); other SPECs are used as given.
///
/// # Errors
/// [`ErrorKind::Input`] (exit 2) for a file that cannot be read, does not parse (with line and
/// column), has an unknown field or no entry.
pub fn read_manifest(path: &Path) -> Result<Vec<Entry>, Error> {
    let input = |m: String| Error::new(ErrorKind::Input, m).with_path(path);
    let text = std::fs::read_to_string(path).map_err(|e| {
        input(format!("cannot read the manifest {}: {}", path.display(), io_reason(&e)))
    })?;
    let json = match path.extension().and_then(|e| e.to_str()) {
        Some("json") => true,
        Some("toml") => false,
        _ => text.trim_start().starts_with('{'),
    };
    let manifest: Manifest = if json {
        serde_json::from_str(&text).map_err(|e| {
            input(format!(
                "{}:{}:{}: not a valid batch manifest: {e}",
                path.display(),
                e.line(),
                e.column()
            ))
        })?
    } else {
        toml::from_str(&text).map_err(|e| {
            let at = e
                .span()
                .map(|s| {
                    let before = &text[..s.start.min(text.len())];
                    let line = before.matches('\n').count() + 1;
                    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                    format!(":{line}:{column}")
                })
                .unwrap_or_default();
            input(format!("{}{at}: not a valid batch manifest: {}", path.display(), e.message()))
        })?
    };
    if manifest.import.is_empty() {
        return Err(input(format!(
            "{}: the manifest lists no import; add {}",
            path.display(),
            if json {
                r#"{"import": [{"export": "…", "target": "…"}]}"#
            } else {
                "[[import]] tables with export = \"…\" and target = \"…\""
            }
        )));
    }
    let base = path.parent().unwrap_or(Path::new(""));
    Ok(manifest
        .import
        .into_iter()
        .map(|m| {
            let mut overrides = m.overrides;
            overrides.source_key = overrides.source_key.map(|k| base.join(k));
            if let Some(specs) = &mut overrides.secrets {
                for spec in specs.iter_mut() {
                    *spec = spec_beside(base, spec);
                }
            }
            Entry {
                export: base.join(m.export),
                target: base.join(m.target),
                overrides,
                problem: None,
            }
        })
        .collect())
}

/// A manifest's SPEC with the relative PATH of `file:PATH` or `dir:PATH` taken from the
/// manifest's folder `base`; any other SPEC, an absolute PATH or one that starts with a
/// placeholder as it is.
fn spec_beside(base: &Path, spec: &str) -> String {
    for scheme in ["file:", "dir:"] {
        if let Some(path) = spec.strip_prefix(scheme)
            && !path.is_empty()
            && !path.starts_with('{')
            && Path::new(path).is_relative()
        {
            return format!("{scheme}{}", base.join(path).display());
        }
    }
    spec.to_owned()
}

/// Lists `exports/<name>.xml` and `exports/<name>.json` (not `*.secrets.json`, not hidden
/// files), sorted by name, each paired with `targets/<name>`. A name with both an `.xml` and a
/// `.json` is one entry with a problem (ambiguous).
///
/// # Errors
/// [`ErrorKind::Input`] when `exports` cannot be listed or holds no export.
pub fn scan(exports: &Path, targets: &Path) -> Result<Vec<Entry>, Error> {
    let input = |m: String| Error::new(ErrorKind::Input, m).with_path(exports);
    let list = std::fs::read_dir(exports)
        .map_err(|e| input(format!("cannot list {}: {}", exports.display(), io_reason(&e))))?;
    let mut found: std::collections::BTreeMap<String, Vec<PathBuf>> = Default::default();
    for item in list {
        let item = item.map_err(|e| input(format!("cannot list {}: {e}", exports.display())))?;
        let name = item.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with('.') || name.ends_with(".secrets.json") {
            continue;
        }
        let Some(stem) = name.strip_suffix(".xml").or_else(|| name.strip_suffix(".json")) else {
            continue;
        };
        if stem.is_empty() || !item.file_type().is_ok_and(|t| t.is_file() || t.is_symlink()) {
            continue;
        }
        found.entry(stem.to_owned()).or_default().push(item.path());
    }
    if found.is_empty() {
        return Err(input(format!(
            "{} holds no export (<name>.xml or <name>.json)",
            exports.display()
        )));
    }
    Ok(found
        .into_iter()
        .map(|(name, mut paths)| {
            paths.sort();
            let problem = (paths.len() > 1).then(|| {
                format!(
                    "{name} is ambiguous: both {}.xml and {}.json are in {}; keep one of them",
                    name,
                    name,
                    exports.display()
                )
            });
            Entry {
                export: paths.swap_remove(0),
                target: targets.join(&name),
                overrides: Overrides::default(),
                problem,
            }
        })
        .collect())
}

/// An entry's flags, its own or the batch's, and its SPECs without `prompt` (which is in
/// [`ImportOptions::prompt`]).
pub(super) fn settle(entry: &Entry, defaults: &Defaults) -> (ImportOptions, Vec<String>) {
    let o = &entry.overrides;
    let mut specs = o.secrets.clone().unwrap_or_else(|| defaults.secrets.clone());
    let prompt = specs.iter().any(|s| s == "prompt");
    specs.retain(|s| s != "prompt");
    let options = ImportOptions {
        sections: o.sections.clone().or_else(|| defaults.sections.clone()),
        accept_warning: o.accept_warning.unwrap_or(defaults.accept_warning),
        dry_run: o.dry_run.unwrap_or(defaults.dry_run),
        source_key: o.source_key.clone().or_else(|| defaults.source_key.clone()),
        prompt,
        replace_event_sources: o.replace_event_sources.unwrap_or(defaults.replace_event_sources),
        // The report has no plan.
        no_plan: true,
    };
    (options, specs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::entry;

    #[test]
    fn an_entry_takes_its_own_flags_first() {
        let defaults = Defaults {
            sections: Some(vec!["templates".into()]),
            accept_warning: true,
            secrets: vec!["env".into(), "prompt".into()],
            source_key: Some("k".into()),
            dry_run: true,
            replace_event_sources: true,
        };
        let (o, specs) = settle(&entry("a", "t"), &defaults);
        assert_eq!(specs, ["env"]);
        assert!(o.prompt && o.dry_run && o.accept_warning);
        let mut e = entry("a", "t");
        e.overrides = Overrides {
            sections: Some(vec!["session".into()]),
            accept_warning: Some(false),
            secrets: Some(vec![]),
            source_key: None,
            dry_run: Some(false),
            replace_event_sources: Some(false),
        };
        let (o, specs) = settle(&e, &defaults);
        assert!(specs.is_empty());
        assert_eq!(o.sections, Some(vec!["session".to_owned()]));
        assert!(!o.prompt && !o.dry_run && !o.accept_warning && !o.replace_event_sources);
        assert_eq!(o.source_key, Some(PathBuf::from("k")));
    }

    #[test]
    fn scan_pairs_exports_with_targets() {
        let d = tempfile::tempdir().unwrap();
        for f in ["b.json", "a.xml", "c.xml", "c.json", "a.secrets.json", ".hidden.xml", "n.txt"] {
            std::fs::write(d.path().join(f), "x").unwrap();
        }
        std::fs::create_dir(d.path().join("dir.xml")).unwrap();
        let e = scan(d.path(), Path::new("T")).unwrap();
        let names: Vec<_> = e.iter().map(|e| e.target.display().to_string()).collect();
        assert_eq!(names, ["T/a", "T/b", "T/c"]);
        assert!(e[0].problem.is_none() && e[1].export.ends_with("b.json"));
        assert!(e[2].problem.as_deref().unwrap().contains("ambiguous"));
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(scan(empty.path(), Path::new("T")).unwrap_err().kind(), &ErrorKind::Input);
    }

    #[test]
    fn manifests_in_toml_and_json_resolve_paths_beside_them() {
        let d = tempfile::tempdir().unwrap();
        let toml = d.path().join("m.toml");
        std::fs::write(
            &toml,
            "[[import]]\nexport = \"e/a.xml\"\ntarget = \"/abs/t\"\ndry_run = true\n\
             secrets = [\"env\", \"file:s/a.toml\", \"dir:/abs/pw\", \"file:{dir}/x.json\", \
             \"cmd:bin/lookup\"]\nsource_key = \"k.key\"\n",
        )
        .unwrap();
        let e = read_manifest(&toml).unwrap();
        assert_eq!(e[0].export, d.path().join("e/a.xml"));
        assert_eq!(e[0].target, PathBuf::from("/abs/t"));
        assert_eq!(e[0].overrides.dry_run, Some(true));
        assert_eq!(e[0].overrides.source_key, Some(d.path().join("k.key")));
        let beside = format!("file:{}", d.path().join("s/a.toml").display());
        assert_eq!(
            e[0].overrides.secrets.as_deref(),
            Some(
                &["env", &beside, "dir:/abs/pw", "file:{dir}/x.json", "cmd:bin/lookup"]
                    .map(String::from)[..]
            )
        );
        let json = d.path().join("m.json");
        std::fs::write(
            &json,
            r#"{"import": [{"export": "a.xml", "target": "t", "sections": ["session"]}]}"#,
        )
        .unwrap();
        let e = read_manifest(&json).unwrap();
        assert_eq!(e[0].overrides.sections, Some(vec!["session".to_owned()]));
        std::fs::write(&json, "{\"import\": [\n{\"export\": 1}]}").unwrap();
        let err = read_manifest(&json).unwrap_err().to_string();
        assert!(err.contains("m.json:2:"), "{err}");
        std::fs::write(&json, r#"{"import": []}"#).unwrap();
        assert!(read_manifest(&json).unwrap_err().to_string().contains("lists no import"));
    }
}
