//! The chain of secret sources, the resolution of the table's rows, the cache shared by a
//! batch, and the sealing of what was found.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crypto::{Secret, ServerKey};
use model::Configuration;

use crate::compare::HeldPasswords;
use crate::error::{Error, ErrorKind};
use crate::hash::{FastMap, hash_bytes};
use crate::source::{Answer, Request, SecretSource};
use crate::table::{Row, Table};

/// The secret sources of an import, in the order given.
pub struct Chain {
    sources: Vec<Box<dyn SecretSource>>,
}

impl fmt::Debug for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.sources.iter().map(|s| s.kind())).finish()
    }
}

impl Chain {
    /// A chain asking `sources` in this order.
    pub fn new(sources: Vec<Box<dyn SecretSource>>) -> Chain {
        Chain { sources }
    }

    /// Adds a source at the end (the command line's `prompt` goes last).
    pub fn push(&mut self, source: Box<dyn SecretSource>) {
        self.sources.push(source);
    }

    /// The number of sources.
    pub fn len(&self) -> usize {
        self.sources.len()
    }

    /// Whether the chain has no source.
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    /// The kinds of the sources, in order.
    pub fn kinds(&self) -> Vec<String> {
        self.sources.iter().map(|s| s.kind()).collect()
    }

    /// Makes every source ready ([`SecretSource::start`]: a deferred source is opened now), in
    /// order, and returns their warnings. An import calls it once its export and target are
    /// known to be usable, before anything is asked.
    ///
    /// # Errors
    /// The first source that cannot be opened (configuration: exit 2; failure: exit 1).
    pub fn start(&self) -> Result<Vec<String>, Error> {
        let mut warnings = Vec::new();
        for source in &self.sources {
            warnings.extend(source.start()?);
        }
        Ok(warnings)
    }

    /// Asks for `row`: key by key, most specific first (item, template, account), and for each
    /// key every source in order, each with a request for that key alone. The first answer
    /// wins, so an item's answer in any source beats an account answer in an earlier one; an
    /// empty answer counts as none. Every source is asked so, `cmd:` and plugins included (a
    /// `cmd:` program runs once for each key it is asked). Returns the password and the kind
    /// of the source that gave it.
    ///
    /// # Errors
    /// The first source error, as [`ErrorKind::SourceConfig`] or [`ErrorKind::SourceFailed`],
    /// naming the source and the key.
    pub fn lookup(&self, row: &Row) -> Result<Option<(Secret, String)>, Error> {
        Ok(self.lookup_key(row)?.map(|(secret, kind, _)| (secret, kind)))
    }

    /// [`Chain::lookup`], also saying which of the row's keys was answered (its index).
    ///
    /// # Errors
    /// As [`Chain::lookup`].
    pub fn lookup_key(&self, row: &Row) -> Result<Option<(Secret, String, usize)>, Error> {
        let whole = Request::for_row(row);
        for (i, key) in row.keys.iter().enumerate() {
            let request = whole.asking(key);
            for source in &self.sources {
                match source.lookup(key, &request) {
                    Ok(Answer::Found(secret)) if !secret.is_empty() => {
                        if let Err(why) = check_password(secret.expose()) {
                            return Err(crate::SourceError::config(
                                source.kind(),
                                format!(
                                    "the password it gave {why}, which a configuration cannot \
                                     hold; correct it in the source"
                                ),
                            )
                            .with_key(key)
                            .into());
                        }
                        return Ok(Some((secret, source.kind(), i)));
                    }
                    Ok(_) => {}
                    Err(e) => return Err(e.with_key(key).into()),
                }
            }
        }
        Ok(None)
    }
}

/// Checks that a password can be stored and written back: UTF-8 text without a NUL character
/// (a configuration file, an export and a JIMS server could hold nothing else). Says what is
/// wrong without quoting the value: `is not UTF-8 text (byte 3 is not)` or `holds a NUL
/// character (character 5)`.
///
/// # Errors
/// What is wrong with the password, as the end of a sentence.
pub fn check_password(password: &[u8]) -> Result<(), String> {
    match std::str::from_utf8(password) {
        Err(e) => Err(format!("is not UTF-8 text (byte {} is not)", e.valid_up_to() + 1)),
        Ok(text) => match text.chars().position(|c| c == '\0') {
            Some(at) => Err(format!("holds a NUL character (character {})", at + 1)),
            None => Ok(()),
        },
    }
}

/// The passwords found by [`resolve`], each with its row's index. Wiped on drop.
#[derive(Debug, Default)]
pub struct Resolved {
    /// `(row index, password)`, in row order.
    pub secrets: Vec<(usize, Secret)>,
}

/// Resolves every row of `table` that is not fixed yet, through `chain` (and `cache`, when
/// given): see [`Chain::lookup`] for the order. A row answered gets its `source`; a row no
/// source knows stays missing.
///
/// # Errors
/// The first source error (configuration: exit 2; failure: exit 1), naming source and key.
pub fn resolve(table: &mut Table, chain: &Chain, cache: Option<&Cache>) -> Result<Resolved, Error> {
    let mut resolved = Resolved { secrets: Vec::with_capacity(table.remaining()) };
    if let Some(cache) = cache {
        cache.reserve(table.remaining());
    }
    for row in table.rows.iter_mut().filter(|r| !r.is_fixed()) {
        if let Some(secret) = resolve_row(row, chain, cache)? {
            resolved.secrets.push((row.index, secret));
        }
    }
    Ok(resolved)
}

/// Resolves one row (for a prompt that goes row by row): the password, with `row.source` set,
/// or `None` when no source knows it. A row already fixed is asked again.
///
/// # Errors
/// As [`resolve`].
pub fn resolve_row(
    row: &mut Row,
    chain: &Chain,
    cache: Option<&Cache>,
) -> Result<Option<Secret>, Error> {
    let found = match cache {
        Some(cache) => cache.get_or_lookup(row, || chain.lookup_key(row))?,
        None => chain.lookup_key(row)?,
    };
    Ok(found.map(|(secret, kind, key)| {
        row.source = Some(kind);
        row.answered = Some(key);
        secret
    }))
}

/// Seals every password of `resolved` into `config` at its row's location, with `key`, bound
/// to the row's section, item and field.
///
/// # Errors
/// [`ErrorKind::Internal`] when a row index is not in `table`, a row does not point into
/// `config`, or sealing fails.
pub fn seal_resolved(
    config: &mut Configuration,
    table: &Table,
    resolved: Resolved,
    key: &ServerKey,
) -> Result<(), Error> {
    seal_resolved_keeping(config, table, resolved, key, None)
}

/// [`seal_resolved`] for an import into a target that may hold some of these passwords
/// already: a password `held` holds sealed under `key` for the same field keeps that sealed
/// value (so its file keeps its bytes) rather than being sealed afresh.
///
/// # Errors
/// As [`seal_resolved`].
pub fn seal_resolved_keeping(
    config: &mut Configuration,
    table: &Table,
    resolved: Resolved,
    key: &ServerKey,
    held: Option<&HeldPasswords<'_>>,
) -> Result<(), Error> {
    for (index, secret) in &resolved.secrets {
        let Some(row) = table.row(*index) else {
            return Err(Error::new(
                ErrorKind::Internal,
                format!("a resolved password names row {index}, which the table does not have"),
            ));
        };
        let kept = held.and_then(|h| h.sealed_equal(&row.binding, secret.expose()));
        let sealed = match kept {
            Some(kept) => kept.to_owned(),
            None => key.seal(secret.expose(), row.binding.as_bytes()).map_err(|e| {
                Error::new(
                    ErrorKind::Internal,
                    format!("could not seal the password of row {index} (`{}`): {e}", row.key()),
                )
                .with_source(e)
            })?,
        };
        if !config.set_secret_value(&row.location, sealed) {
            return Err(Error::new(
                ErrorKind::Internal,
                format!(
                    "row {index} (`{}`) no longer points into the configuration it was made from",
                    row.key()
                ),
            ));
        }
    }
    Ok(())
}

/// What a cache entry is keyed by: a row's keys, Data and Username, encoded into one buffer
/// (one allocation per row rather than one per text), with its hash computed once.
///
/// The encoding is injective: the number of keys, then each key, the Data, and the Username
/// (absent, or present with its text), every text preceded by its length. Only names, Data
/// and Username are in it, never a password.
#[derive(PartialEq, Eq)]
struct CacheKey {
    hash: u64,
    bytes: Box<[u8]>,
}

impl Hash for CacheKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl CacheKey {
    fn of(row: &Row) -> CacheKey {
        const LEN: usize = size_of::<u64>();
        let keys = row.keys.iter().map(|k| LEN + k.as_str().len()).sum::<usize>();
        let username = row.username.as_ref().map_or(0, |u| LEN + u.len());
        let size = LEN + keys + LEN + row.data.len() + 1 + username;
        let mut bytes = Vec::with_capacity(size);
        let push = |bytes: &mut Vec<u8>, text: &str| {
            bytes.extend_from_slice(&(text.len() as u64).to_le_bytes());
            bytes.extend_from_slice(text.as_bytes());
        };
        bytes.extend_from_slice(&(row.keys.len() as u64).to_le_bytes());
        for key in &row.keys {
            push(&mut bytes, key.as_str());
        }
        push(&mut bytes, &row.data);
        match &row.username {
            Some(u) => {
                bytes.push(1);
                push(&mut bytes, u);
            }
            None => bytes.push(0),
        }
        debug_assert_eq!(bytes.len(), size);
        let bytes = bytes.into_boxed_slice();
        CacheKey { hash: hash_bytes(&bytes), bytes }
    }
}

type Slot = Arc<Mutex<Option<(Secret, String, usize)>>>;

/// Passwords found, shared across the imports of a batch: a row with the same keys, Data and
/// Username as one looked up before is answered from here, with the kind of the source that
/// first answered. Thread-safe: two imports asking for the same row at once look it up once
/// (the second waits for the first). Only answers are kept: a row no source knew is asked
/// again. Every password is wiped when the cache is dropped or cleared.
#[derive(Default)]
pub struct Cache {
    entries: Mutex<FastMap<CacheKey, Slot>>,
    hits: AtomicUsize,
    misses: AtomicUsize,
}

impl fmt::Debug for Cache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("entries", &self.len())
            .field("hits", &self.hits())
            .field("misses", &self.misses())
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Cache {
    /// An empty cache.
    pub fn new() -> Cache {
        Cache::default()
    }

    /// Rows answered from the cache.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::Relaxed)
    }

    /// Rows the cache could not answer, so the sources were asked.
    pub fn misses(&self) -> usize {
        self.misses.load(Ordering::Relaxed)
    }

    /// The number of passwords held.
    pub fn len(&self) -> usize {
        lock(&self.entries).values().filter(|s| lock(s).is_some()).count()
    }

    /// Whether the cache holds no password.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops (and wipes) every password held.
    pub fn clear(&self) {
        lock(&self.entries).clear();
    }

    /// Makes room for `rows` more entries at once, rather than growing the map (and hashing
    /// every entry again) step by step.
    fn reserve(&self, rows: usize) {
        lock(&self.entries).reserve(rows);
    }

    /// The cached answer for `row`, or `lookup`'s, which is then kept.
    fn get_or_lookup(
        &self,
        row: &Row,
        lookup: impl FnOnce() -> Result<Option<(Secret, String, usize)>, Error>,
    ) -> Result<Option<(Secret, String, usize)>, Error> {
        let key = CacheKey::of(row);
        let slot = Arc::clone(lock(&self.entries).entry(key).or_default());
        let mut held = lock(&slot);
        if let Some((secret, kind, answered)) = held.as_ref() {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(Some((secret.clone(), kind.clone(), *answered)));
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let found = lookup()?;
        if let Some((secret, kind, answered)) = &found {
            *held = Some((secret.clone(), kind.clone(), *answered));
        }
        Ok(found)
    }
}
