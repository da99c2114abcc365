//! The secret sources of a batch: a SPEC without `{name}` or `{dir}` is opened once and
//! shared by every entry, and the entries with the same SPECs share one chain and one cache of
//! answers; a SPEC with them is opened for its entry alone.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use secrets::{Answer, Cache, Chain, Request, SecretSource, SourceError};

use super::{Lookups, Opener};
use crate::error::{Error, ErrorKind};

/// A source opened once and shared by the chains of the batch.
struct Shared(Arc<dyn SecretSource>);

impl SecretSource for Shared {
    fn kind(&self) -> String {
        self.0.kind()
    }
    fn lookup(&self, key: &model::SecretKey, request: &Request<'_>) -> Result<Answer, SourceError> {
        self.0.lookup(key, request)
    }
    fn start(&self) -> Result<Vec<String>, secrets::Error> {
        self.0.start()
    }
}

/// A chain and its cache, shared by the entries with the same SPECs.
pub(crate) struct Lookup {
    /// The sources.
    pub(crate) chain: Chain,
    /// The answers shared (with shared lookups, for SPECs without placeholders).
    pub(crate) cache: Option<Cache>,
}

/// A source opened for the batch, or why it could not be.
type Opened = Result<Arc<dyn SecretSource>, String>;

/// The sources and chains of a batch.
pub(super) struct Sources<'a> {
    open: &'a Opener<'a>,
    shared_lookups: bool,
    /// Opened sources by SPEC (only SPECs without placeholders); a failure is kept as its
    /// message.
    opened: Mutex<HashMap<String, Opened>>,
    /// Chains by their SPECs (only chains without placeholders).
    chains: Mutex<HashMap<Vec<String>, Arc<Lookup>>>,
}

/// Whether a SPEC names its entry's export (`{name}`, `{dir}`).
pub(super) fn has_placeholder(spec: &str) -> bool {
    spec.contains("{name}") || spec.contains("{dir}")
}

/// `{name}` and `{dir}` of `export`.
fn expand(spec: &str, export: &Path) -> String {
    let name = export.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let name = name
        .strip_suffix(".xml")
        .or_else(|| name.strip_suffix(".json"))
        .unwrap_or(&name)
        .to_owned();
    let dir = match export.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.display().to_string(),
        _ => ".".to_owned(),
    };
    spec.replace("{name}", &name).replace("{dir}", &dir)
}

impl<'a> Sources<'a> {
    /// No source opened yet.
    pub(super) fn new(open: &'a Opener<'a>, shared_lookups: bool) -> Sources<'a> {
        Sources { open, shared_lookups, opened: Mutex::default(), chains: Mutex::default() }
    }

    /// The source of a SPEC without placeholders, opened on first use.
    pub(super) fn shared_source(&self, spec: &str) -> Result<Arc<dyn SecretSource>, Error> {
        let mut opened = self.opened.lock().unwrap_or_else(PoisonError::into_inner);
        let found = opened
            .entry(spec.to_owned())
            .or_insert_with(|| (self.open)(spec).map(Arc::from).map_err(|e| e.to_string()));
        found.clone().map_err(|m| Error::new(ErrorKind::SourceConfig, m))
    }

    /// The chain and cache for `specs` (without `prompt`) of an entry importing `export`.
    pub(super) fn lookup_for(&self, specs: &[String], export: &Path) -> Result<Arc<Lookup>, Error> {
        let private = specs.iter().any(|s| has_placeholder(s));
        if !private
            && let Some(l) = self.chains.lock().unwrap_or_else(PoisonError::into_inner).get(specs)
        {
            return Ok(Arc::clone(l));
        }
        let mut sources: Vec<Box<dyn SecretSource>> = Vec::with_capacity(specs.len());
        for spec in specs {
            if has_placeholder(spec) {
                sources.push((self.open)(&expand(spec, export))?);
            } else {
                sources.push(Box::new(Shared(self.shared_source(spec)?)));
            }
        }
        // An entry's own chain (a SPEC naming its export) shares nothing with other entries,
        // and within one export every row has its own item: a cache could never answer.
        let lookup = Arc::new(Lookup {
            chain: Chain::new(sources),
            cache: (self.shared_lookups && !private).then(Cache::new),
        });
        if !private {
            let mut chains = self.chains.lock().unwrap_or_else(PoisonError::into_inner);
            return Ok(Arc::clone(chains.entry(specs.to_vec()).or_insert(lookup)));
        }
        Ok(lookup)
    }

    /// The lookups of the shared chains so far.
    pub(super) fn lookups(&self) -> Lookups {
        let mut total = Lookups::default();
        for l in self.chains.lock().unwrap_or_else(PoisonError::into_inner).values() {
            if let Some(c) = &l.cache {
                total.hits += c.hits();
                total.misses += c.misses();
            }
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_name_the_export_and_its_folder() {
        let spec = "file:{dir}/{name}.secrets.json";
        assert_eq!(expand(spec, Path::new("/e/hq.xml")), "file:/e/hq.secrets.json");
        assert_eq!(expand(spec, Path::new("b.json")), "file:./b.secrets.json");
        assert_eq!(expand("cmd:get {name}", Path::new("/e/srv-folder")), "cmd:get srv-folder");
        assert!(has_placeholder(spec) && !has_placeholder("env"));
    }
}
