//! Integration tests of the password-resolution stage: the import rules, the table, every
//! built-in source, the chain, the cache, the skeleton and secret hygiene.

mod chain;
mod hygiene;
mod rules;
mod sources;

use std::collections::HashMap;
use std::sync::Mutex;

use crypto::{Secret, ServerKey};
use model::{Configuration, Element, SecretKey, Section, SectionId};
use secrets::{Answer, Request, SecretSource, SourceError};
use zeroize::Zeroizing;

/// A key made of one repeated byte.
pub(crate) fn key(byte: u8) -> ServerKey {
    ServerKey::from_bytes(Zeroizing::new([byte; 32]))
}

/// The binding of an event source's password.
pub(crate) fn es_binding(id: &str) -> Vec<u8> {
    format!("event_sources\0{id}\0password").into_bytes()
}

/// An event source `id` on domain controller `server`, with optional attributes.
pub(crate) fn event_source(
    id: &str,
    server: &str,
    username: Option<&str>,
    template: Option<&str>,
    password: Option<&str>,
) -> Element {
    let mut item = Element::new("event_source").with_attr("id", id);
    if let Some(t) = template {
        item = item.with_attr("template", t);
    }
    let mut dc = Element::new("domain_controller").with_attr("server", server);
    if let Some(u) = username {
        dc = dc.with_attr("username", u);
    }
    if let Some(p) = password {
        dc = dc.with_attr("password", p);
    }
    item.with_child(dc)
}

/// A template `id` of `kind`, with optional username and password.
pub(crate) fn template(
    id: &str,
    kind: &str,
    username: Option<&str>,
    password: Option<&str>,
) -> Element {
    let mut t = Element::new("template").with_attr("id", id).with_attr("kind", kind);
    if let Some(u) = username {
        t = t.with_attr("username", u);
    }
    if let Some(p) = password {
        t = t.with_attr("password", p);
    }
    t
}

/// A configuration holding these event sources (and templates, when any).
pub(crate) fn config_of(events: Vec<Element>, templates: Vec<Element>) -> Configuration {
    let mut c = Configuration::new();
    let mut root = Element::new("event_sources");
    root.children = events;
    c.insert(Section::single(SectionId::EventSources, root));
    if !templates.is_empty() {
        let mut root = Element::new("templates");
        root.children = templates;
        c.insert(Section::single(SectionId::Templates, root));
    }
    c
}

/// The raw password of event source number `n` (0-based) of `c`.
pub(crate) fn es_password(c: &Configuration, n: usize) -> String {
    let f = c.secret_fields().into_iter().filter(|f| f.section() == SectionId::EventSources);
    let f = f.into_iter().nth(n).expect("no such event source");
    c.secret_value(&f.location).to_owned()
}

/// A source answering from a map, counting its lookups and the requests it saw (as the JSON a
/// `cmd:` program would receive).
pub(crate) struct Scripted {
    pub kind: &'static str,
    pub answers: HashMap<String, String>,
    pub calls: Mutex<Vec<(String, String)>>,
}

impl Scripted {
    pub(crate) fn new(kind: &'static str, answers: &[(&str, &str)]) -> Scripted {
        Scripted {
            kind,
            answers: answers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            calls: Mutex::new(Vec::new()),
        }
    }

    /// The keys asked, in order.
    pub(crate) fn asked(&self) -> Vec<String> {
        self.calls.lock().unwrap().iter().map(|(k, _)| k.clone()).collect()
    }
}

impl SecretSource for Scripted {
    fn kind(&self) -> String {
        self.kind.into()
    }

    fn lookup(&self, key: &SecretKey, request: &Request<'_>) -> Result<Answer, SourceError> {
        self.calls.lock().unwrap().push((key.to_string(), request.to_json()));
        Ok(match self.answers.get(key.as_str()) {
            Some(v) => Answer::Found(Secret::copy_from(v.as_bytes())),
            None => Answer::NotFound,
        })
    }
}

/// A source that is shared by reference in a chain.
pub(crate) struct Shared(pub std::sync::Arc<Scripted>);

impl SecretSource for Shared {
    fn kind(&self) -> String {
        self.0.kind()
    }
    fn lookup(&self, key: &SecretKey, request: &Request<'_>) -> Result<Answer, SourceError> {
        self.0.lookup(key, request)
    }
}
