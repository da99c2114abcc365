//! The secret-source trait, the request a source is asked with, and the `--secrets SPEC`
//! parser that builds the built-in sources.

use std::fmt;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use crypto::Secret;
use model::SecretKey;
use serde::{Serialize, Serializer};

use crate::error::{Error, ErrorKind, SourceError};
use crate::sources::{CmdSource, DirSource, EnvSource, FileSource};
use crate::table::Row;

/// What a source is asked: a key of a row and the row's columns. Serialized, it is the JSON
/// that a `cmd:` program (and a plugin) receives:
/// `{"keys":[KEY],"index":N,"type":…,"data_type":…,"data":…,"username":…|null,"template":…|null}`.
///
/// The chain asks key by key, so in a lookup `keys` holds the one key asked
/// ([`Request::asking`]); [`Request::for_row`] holds every key of the row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Request<'a> {
    /// The keys asked: in a lookup, the one key asked; for a whole row, every key of the row,
    /// most specific first.
    #[serde(serialize_with = "keys_as_strings")]
    pub keys: &'a [SecretKey],
    /// The row's index in the table.
    pub index: usize,
    /// The Type column.
    #[serde(rename = "type")]
    pub type_label: &'a str,
    /// The Data Type column.
    pub data_type: &'a str,
    /// The Data column.
    pub data: &'a str,
    /// The Username column.
    pub username: Option<&'a str>,
    /// The template the item is based on.
    pub template: Option<&'a str>,
}

fn keys_as_strings<S: Serializer>(keys: &&[SecretKey], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(keys.iter().map(SecretKey::as_str))
}

impl<'a> Request<'a> {
    /// The request for `row`.
    pub fn for_row(row: &'a Row) -> Request<'a> {
        Request {
            keys: &row.keys,
            index: row.index,
            type_label: row.type_label,
            data_type: &row.data_type,
            data: &row.data,
            username: row.username.as_deref(),
            template: row.template.as_deref(),
        }
    }

    /// The same row, asking for `key` alone: the request a source is asked with in the
    /// chain's round for `key`.
    pub fn asking<'b>(&self, key: &'b SecretKey) -> Request<'b>
    where
        'a: 'b,
    {
        Request { keys: std::slice::from_ref(key), ..*self }
    }

    /// The request as the JSON a `cmd:` program receives.
    pub fn to_json(&self) -> String {
        // Serializing plain strings and numbers into a String cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// A source's answer.
#[derive(Debug)]
pub enum Answer {
    /// The password.
    Found(Secret),
    /// This source does not know it: ask the next one.
    NotFound,
}

/// A place passwords come from. Implemented by the built-in sources, by the command line's
/// `prompt`, and by the registry's plugin wrappers.
pub trait SecretSource: Send + Sync {
    /// The kind shown in the table's `source` column: `env`, `file`, `dir`, `cmd`, `prompt`,
    /// `plugin:NAME`. Never the source's argument.
    fn kind(&self) -> String;

    /// Looks up `key` for the row in `request`. The chain asks every source key by key, most
    /// specific first, with a request whose `keys` holds `key` alone
    /// ([`Request::asking`]); a source answers for that key only.
    ///
    /// # Errors
    /// A [`SourceError`]: configuration (exit 2) or failure (exit 1). It never holds a secret.
    fn lookup(&self, key: &SecretKey, request: &Request<'_>) -> Result<Answer, SourceError>;

    /// Makes the source ready for its first lookup, and returns what a person should be warned
    /// of about it (a secrets file other users can read), each warning once per source. An
    /// import calls it once it knows that its export is valid and its target usable, before it
    /// asks anything: a [`Deferred`] source is opened only then. Built-in sources are ready
    /// when made; the default does nothing.
    ///
    /// # Errors
    /// The source cannot be opened: configuration (exit 2) or failure (exit 1).
    fn start(&self) -> Result<Vec<String>, Error> {
        Ok(Vec::new())
    }
}

/// What opens a [`Deferred`] source.
pub type Opener = Box<dyn FnOnce() -> Result<Box<dyn SecretSource>, Error> + Send>;

/// A source opened only when it is first needed ([`SecretSource::start`] or a lookup), so that
/// an import reads and checks its export and its target before any secrets file is read, any
/// program is looked for or any plugin is made. Its kind is known from the SPEC beforehand.
pub struct Deferred {
    kind: String,
    opener: Mutex<Option<Opener>>,
    opened: OnceLock<Result<Box<dyn SecretSource>, String>>,
}

impl fmt::Debug for Deferred {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deferred")
            .field("kind", &self.kind)
            .field("opened", &self.opened.get().map(Result::is_ok))
            .finish()
    }
}

impl Deferred {
    /// A source of `kind` (as the table shows it) that `opener` makes when first needed.
    pub fn new(kind: impl Into<String>, opener: Opener) -> Deferred {
        Deferred { kind: kind.into(), opener: Mutex::new(Some(opener)), opened: OnceLock::new() }
    }

    /// Opens the source (once); the error of a failed opening, every time.
    fn opened(&self) -> Result<&dyn SecretSource, Error> {
        let mut fresh: Option<Error> = None;
        let opened = self.opened.get_or_init(|| {
            let opener = self.opener.lock().unwrap_or_else(PoisonError::into_inner).take();
            let Some(opener) = opener else {
                return Err(format!("secret source `{}` could not be opened", self.kind));
            };
            opener().map_err(|e| {
                let message = e.to_string();
                fresh = Some(e);
                message
            })
        });
        match opened {
            Ok(source) => Ok(&**source),
            Err(message) => {
                Err(fresh.unwrap_or_else(|| Error::new(ErrorKind::SourceConfig, message.clone())))
            }
        }
    }
}

impl SecretSource for Deferred {
    fn kind(&self) -> String {
        self.kind.clone()
    }

    fn lookup(&self, key: &SecretKey, request: &Request<'_>) -> Result<Answer, SourceError> {
        match self.opened() {
            Ok(source) => source.lookup(key, request),
            Err(e) => Err(SourceError::config(&self.kind, e.to_string())),
        }
    }

    fn start(&self) -> Result<Vec<String>, Error> {
        self.opened()?.start()
    }
}

/// Settings of the built-in sources.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceOptions {
    /// How long a `cmd:` program or a plugin call may take to answer (`--secrets-timeout`);
    /// 30 s by default.
    pub timeout: Duration,
    /// Whether a failing `cmd:` program's error output is shown in the error (`--verbose`): it
    /// may hold a secret, so by default the error only says that there is some.
    pub verbose: bool,
}

impl Default for SourceOptions {
    fn default() -> SourceOptions {
        SourceOptions { timeout: Duration::from_secs(30), verbose: false }
    }
}

/// A parsed `--secrets SPEC`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Spec {
    /// `env`.
    Env,
    /// `file:PATH`.
    File(PathBuf),
    /// `dir:PATH`.
    Dir(PathBuf),
    /// `cmd:PROGRAM [ARG…]`, split on whitespace: an argument cannot hold a space (write a
    /// small script instead).
    Cmd {
        /// The program, looked up on `PATH` when it holds no `/`.
        program: String,
        /// Its arguments.
        args: Vec<String>,
    },
    /// `prompt`: handled by the command line.
    Prompt,
    /// `plugin:NAME[:CONFIG]`: handled by the registry.
    Plugin {
        /// The plugin's name.
        name: String,
        /// The string handed to the plugin, if any.
        config: Option<String>,
    },
}

impl Spec {
    /// The kind of the source this SPEC builds, as the table shows it.
    pub fn kind(&self) -> String {
        match self {
            Spec::Env => "env".into(),
            Spec::File(_) => "file".into(),
            Spec::Dir(_) => "dir".into(),
            Spec::Cmd { .. } => "cmd".into(),
            Spec::Prompt => "prompt".into(),
            Spec::Plugin { name, .. } => format!("plugin:{name}"),
        }
    }
}

const SPEC_HELP: &str =
    "use env, file:PATH, dir:PATH, cmd:PROGRAM [ARG…], prompt or plugin:NAME[:CONFIG]";

/// Parses a `--secrets SPEC`.
///
/// # Errors
/// [`ErrorKind::SourceConfig`] for a SPEC that names no source, or one whose argument is
/// missing (`file:` with no path).
pub fn parse_spec(spec: &str) -> Result<Spec, Error> {
    let bad = |why: &str| {
        Error::new(ErrorKind::SourceConfig, format!("--secrets `{spec}` {why}; {SPEC_HELP}"))
    };
    let (head, arg) = match spec.split_once(':') {
        Some((h, a)) => (h, Some(a)),
        None => (spec, None),
    };
    let need = |what: &str| match arg {
        Some(a) if !a.trim().is_empty() => Ok(a),
        _ => Err(bad(&format!("needs {what} after `{head}:`"))),
    };
    match (head, arg) {
        ("env", None) => Ok(Spec::Env),
        ("prompt", None) => Ok(Spec::Prompt),
        ("env" | "prompt", Some(_)) => Err(bad(&format!("takes no argument: write `{head}`"))),
        ("file", _) => Ok(Spec::File(PathBuf::from(need("a path")?))),
        ("dir", _) => Ok(Spec::Dir(PathBuf::from(need("a path")?))),
        ("cmd", _) => {
            let mut words = need("a program")?.split_whitespace().map(str::to_owned);
            let program = words.next().unwrap_or_default();
            Ok(Spec::Cmd { program, args: words.collect() })
        }
        ("plugin", _) => {
            let rest = need("a plugin name")?;
            let (name, config) = match rest.split_once(':') {
                Some((n, c)) => (n, Some(c.to_owned())),
                None => (rest, None),
            };
            if name.is_empty() {
                return Err(bad("needs a plugin name after `plugin:`"));
            }
            Ok(Spec::Plugin { name: name.to_owned(), config })
        }
        _ => Err(bad("is not a secret source")),
    }
}

/// Builds the built-in source that `spec` names: `env`, `file:`, `dir:` or `cmd:`. Returns
/// `None` for `prompt` (the command line's) and `plugin:…` (the registry's).
///
/// `file:` is read and parsed here, once; `dir:` and `cmd:` are checked to exist.
///
/// # Errors
/// [`ErrorKind::SourceConfig`] for a SPEC that names no source, a file or folder that is
/// missing or malformed, or a program that does not exist.
pub fn builtin_source(
    spec: &str,
    options: &SourceOptions,
) -> Result<Option<Box<dyn SecretSource>>, Error> {
    let source: Box<dyn SecretSource> = match parse_spec(spec)? {
        Spec::Env => Box::new(EnvSource::new()),
        Spec::File(path) => Box::new(FileSource::open(&path)?),
        Spec::Dir(path) => Box::new(DirSource::open(&path)?),
        Spec::Cmd { program, args } => {
            Box::new(CmdSource::new(program, args, options.timeout)?.verbose(options.verbose))
        }
        Spec::Prompt | Spec::Plugin { .. } => return Ok(None),
    };
    Ok(Some(source))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse() {
        assert_eq!(parse_spec("env").unwrap(), Spec::Env);
        assert_eq!(parse_spec("prompt").unwrap(), Spec::Prompt);
        assert_eq!(parse_spec("file:/a/b.json").unwrap(), Spec::File("/a/b.json".into()));
        assert_eq!(parse_spec("dir:s").unwrap(), Spec::Dir("s".into()));
        assert_eq!(
            parse_spec("cmd:  get-pass  --vault  x ").unwrap(),
            Spec::Cmd { program: "get-pass".into(), args: vec!["--vault".into(), "x".into()] }
        );
        assert_eq!(
            parse_spec("plugin:vault:addr=https://v:8200").unwrap(),
            Spec::Plugin { name: "vault".into(), config: Some("addr=https://v:8200".into()) }
        );
        assert_eq!(
            parse_spec("plugin:kp").unwrap(),
            Spec::Plugin { name: "kp".into(), config: None }
        );
        assert_eq!(parse_spec("plugin:kp").unwrap().kind(), "plugin:kp");
    }

    #[test]
    fn bad_specs_are_config_errors() {
        for bad in ["", "vault", "file:", "dir: ", "cmd:", "plugin:", "plugin::x", "env:x"] {
            let e = parse_spec(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::SourceConfig, "{bad}");
            assert!(e.to_string().contains("use env, file:PATH"), "{e}");
        }
    }

    #[test]
    fn prompt_and_plugins_are_left_to_others() {
        let o = SourceOptions::default();
        assert!(builtin_source("prompt", &o).unwrap().is_none());
        assert!(builtin_source("plugin:x", &o).unwrap().is_none());
        assert_eq!(builtin_source("env", &o).unwrap().unwrap().kind(), "env");
    }
}
