//! `file:PATH`: passwords from a JSON or TOML object, read and parsed once.

use std::collections::hash_map::Entry;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use crypto::Secret;
use model::SecretKey;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::error::{Error, SourceError};
use crate::hash::FastMap;
use crate::source::{Answer, Request, SecretSource};

const KIND: &str = "file";
/// How many problems of one file are listed in an error.
const SHOWN: usize = 10;
/// The largest secrets file read, in bytes: the limit of an export (256 MiB). A larger file,
/// or one that is no regular file (a FIFO, a device such as `/dev/zero`), is refused before
/// anything is read.
pub const MAX_SECRETS_FILE: u64 = model::read::MAX_INPUT_BYTES as u64;
/// The key under which the `toml` crate hands over a date or time.
const TOML_DATETIME_KEY: &str = "$__toml_private_datetime";

/// The format of a secrets file (and of a skeleton).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    /// A JSON object (`.json`).
    Json,
    /// A TOML document (`.toml`).
    Toml,
}

impl FileFormat {
    /// The format a file's extension names (`.json` or `.toml`, in any case).
    pub fn from_path(path: &Path) -> Option<FileFormat> {
        let ext = path.extension()?.to_str()?;
        if ext.eq_ignore_ascii_case("json") {
            Some(FileFormat::Json)
        } else if ext.eq_ignore_ascii_case("toml") {
            Some(FileFormat::Toml)
        } else {
            None
        }
    }
}

/// The file's keys are the user's own (see [`crate::hash`]), and the lookup sits on the path of
/// every row: a fast hasher.
type Entries = FastMap<String, Secret>;

/// Passwords from a JSON or TOML object: secret key → password. Nested objects or tables join
/// their names with `/`, so `{"account": {"CORP\\svc": "…"}}` answers `account/CORP\svc`. An
/// empty string is "not found". The file is read once, when the source is made; every value is
/// held as a [`Secret`].
pub struct FileSource {
    path: PathBuf,
    entries: Entries,
    /// What a person should know about the file (other users can read it), given once by
    /// [`SecretSource::start`].
    warnings: Mutex<Vec<String>>,
}

impl fmt::Debug for FileSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileSource")
            .field("path", &self.path)
            .field("entries", &self.entries.len())
            .finish()
    }
}

impl FileSource {
    /// Reads and parses the file at `path`; its extension says the format. A file that every
    /// user may read is accepted with a warning ([`SecretSource::start`] gives it).
    ///
    /// # Errors
    /// A configuration error naming the file when it is missing, unreadable, no regular file
    /// (a FIFO, a device: opened without blocking, then checked), larger than
    /// [`MAX_SECRETS_FILE`], of another extension, not UTF-8, malformed (with line and column),
    /// not an object, or holds a value that is not a string (naming its key) or a key twice. No
    /// error repeats a value.
    pub fn open(path: &Path) -> Result<FileSource, SourceError> {
        let Some(format) = FileFormat::from_path(path) else {
            return Err(SourceError::config(
                KIND,
                format!(
                    "{} has neither a .json nor a .toml extension; a secrets file is a JSON or \
                     TOML object of secret key → password",
                    path.display()
                ),
            ));
        };
        let (bytes, mode) = read_bounded(path)?;
        let source = FileSource::parse(&bytes, format, path)?;
        if mode & 0o004 != 0 {
            source.warnings.lock().unwrap_or_else(PoisonError::into_inner).push(format!(
                "the secrets file {} can be read by every user of this machine (mode {:o}); \
                 run `chmod 600 {}`",
                path.display(),
                mode & 0o777,
                path.display()
            ));
        }
        Ok(source)
    }

    /// Parses `bytes` in `format`; `path` names the file in errors.
    ///
    /// # Errors
    /// As [`FileSource::open`], for everything but reading.
    pub fn parse(bytes: &[u8], format: FileFormat, path: &Path) -> Result<FileSource, SourceError> {
        let (_, flat) = parse_tree(bytes, format, path)?;
        Ok(FileSource { path: path.to_owned(), entries: flat, warnings: Mutex::default() })
    }

    /// The number of keys in the file.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the file holds no key.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl SecretSource for FileSource {
    fn kind(&self) -> String {
        KIND.into()
    }

    fn lookup(&self, key: &SecretKey, _request: &Request<'_>) -> Result<Answer, SourceError> {
        match self.entries.get(key.as_str()) {
            Some(secret) if !secret.is_empty() => Ok(Answer::Found(secret.clone())),
            _ => Ok(Answer::NotFound),
        }
    }

    fn start(&self) -> Result<Vec<String>, Error> {
        Ok(std::mem::take(&mut *self.warnings.lock().unwrap_or_else(PoisonError::into_inner)))
    }
}

/// Reads the secrets file at `path` into memory wiped on drop, sized once from its length;
/// returns it with the file's permission bits. Refuses, before reading, anything but a regular
/// file of at most [`MAX_SECRETS_FILE`] bytes: the file is opened without blocking (a FIFO
/// would wait for a writer) and checked through the open handle.
fn read_bounded(path: &Path) -> Result<(crypto::SecretBytes, u32), SourceError> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let fail = |why: String| {
        SourceError::config(
            KIND,
            format!("cannot read {}: {why}; check the path given to --secrets", path.display()),
        )
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| fail(e.to_string()))?;
    let meta = file.metadata().map_err(|e| fail(e.to_string()))?;
    if !meta.is_file() {
        return Err(SourceError::config(
            KIND,
            format!(
                "{} is not a regular file (a FIFO, a device or a folder); a secrets file is a \
                 JSON or TOML file",
                path.display()
            ),
        ));
    }
    let too_large = || {
        SourceError::config(
            KIND,
            format!(
                "{} is larger than the {} MiB a secrets file may have",
                path.display(),
                MAX_SECRETS_FILE / (1024 * 1024)
            ),
        )
    };
    if meta.len() > MAX_SECRETS_FILE {
        return Err(too_large());
    }
    let bytes = crypto::SecretBytes::read_bounded(file, meta.len(), MAX_SECRETS_FILE)
        .map_err(|e| fail(e.to_string()))?
        .ok_or_else(too_large)?;
    Ok((bytes, meta.mode()))
}

/// Parses a secrets file into its tree (names in the file's order) and its flat map of
/// `/`-joined keys, refusing what [`FileSource::open`] refuses.
pub(crate) fn parse_tree(
    bytes: &[u8],
    format: FileFormat,
    path: &Path,
) -> Result<(Vec<(String, Node)>, Entries), SourceError> {
    let fail = |why: String| {
        SourceError::config(KIND, format!("{} is not a usable secrets file: {why}", path.display()))
    };
    let root = match format {
        FileFormat::Json => serde_json::from_slice::<Node>(bytes)
            .map_err(|e| fail(format!("malformed JSON: {e}")))?,
        FileFormat::Toml => {
            let text = std::str::from_utf8(bytes)
                .map_err(|e| fail(format!("it is not UTF-8 text (at byte {})", e.valid_up_to())))?;
            toml::from_str::<Node>(text).map_err(|e| fail(toml_error(text, &e)))?
        }
    };
    let Node::Map(entries) = root else {
        return Err(fail("it must hold an object of secret key → password".into()));
    };
    let mut flat = Entries::default();
    let mut problems = Vec::new();
    flatten("", &entries, &mut flat, &mut problems);
    if !problems.is_empty() {
        let count = problems.len();
        let mut list = problems.into_iter().take(SHOWN).collect::<Vec<_>>().join("; ");
        if count > SHOWN {
            list.push_str(&format!("; and {} more", count - SHOWN));
        }
        return Err(fail(format!("{list}; every password must be a string")));
    }
    Ok((entries, flat))
}

/// A TOML parse error as `message at line L, column C`, without the source snippet that the
/// `toml` crate's own `Display` shows (it could hold a password).
fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim_end().replace('\n', "; ");
    match e.span() {
        Some(span) => {
            let (line, column) = line_column(text, span.start);
            format!("malformed TOML: {message} at line {line}, column {column}")
        }
        None => format!("malformed TOML: {message}"),
    }
}

/// The 1-based line and column (in characters) of byte `offset`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

fn flatten(
    prefix: &str,
    entries: &[(String, Node)],
    out: &mut Entries,
    problems: &mut Vec<String>,
) {
    for (name, node) in entries {
        let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
        match node {
            Node::Leaf(secret) => match out.entry(path) {
                Entry::Vacant(v) => {
                    v.insert(secret.clone());
                }
                Entry::Occupied(o) => {
                    problems.push(format!("the key `{}` is given twice", o.key()))
                }
            },
            Node::Map(children) => flatten(&path, children, out, problems),
            Node::Other(what) => {
                problems.push(format!("the value of `{path}` is {what}, not a string"));
            }
        }
    }
}

/// A parsed value: a password, a nested object, or something that cannot be a password (only
/// its kind is kept, never its value).
pub(crate) enum Node {
    Leaf(Secret),
    Map(Vec<(String, Node)>),
    Other(&'static str),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Node, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or an object of strings")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Leaf(Secret::copy_from(v.as_bytes())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        Ok(Node::Leaf(Secret::from_string(v)))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Node, E> {
        Ok(Node::Other("a boolean"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Node, E> {
        Ok(Node::Other("a number"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Node, E> {
        Ok(Node::Other("a number"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Node, E> {
        Ok(Node::Other("a number"))
    }

    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Node, E> {
        Ok(Node::Other("bytes"))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Other("null"))
    }

    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Other("null"))
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(NodeVisitor)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Node::Other("a list"))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(name) = map.next_key::<String>()? {
            if name == TOML_DATETIME_KEY {
                map.next_value::<IgnoredAny>()?;
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                return Ok(Node::Other("a date or time"));
            }
            let node = map.next_value::<Node>()?;
            entries.push((name, node));
        }
        Ok(Node::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(source: &FileSource, key: &str) -> Option<Vec<u8>> {
        source.entries.get(key).map(|s| s.expose().to_vec())
    }

    #[test]
    fn nested_json_and_toml_join_with_slashes() {
        let json = br#"{"event_sources/DC1": "a", "account": {"CORP\\svc": "b"},
                        "srx_clients": {"SRX1": {"oauth": "c"}}, "templates/t": ""}"#;
        let s = FileSource::parse(json, FileFormat::Json, Path::new("s.json")).unwrap();
        assert_eq!(get(&s, "event_sources/DC1").unwrap(), b"a");
        assert_eq!(get(&s, "account/CORP\\svc").unwrap(), b"b");
        assert_eq!(get(&s, "srx_clients/SRX1/oauth").unwrap(), b"c");
        assert_eq!(s.len(), 4);

        let toml = "\"event_sources/DC1\" = \"a\"\n[account]\n'CORP\\svc' = \"b\"\n";
        let s = FileSource::parse(toml.as_bytes(), FileFormat::Toml, Path::new("s.toml")).unwrap();
        assert_eq!(get(&s, "event_sources/DC1").unwrap(), b"a");
        assert_eq!(get(&s, "account/CORP\\svc").unwrap(), b"b");
    }

    #[test]
    fn non_strings_are_named_by_key_without_their_value() {
        let json = br#"{"a": {"b": 918273645}, "c": [ "s3cr3t-in-list" ], "d": null, "e": true}"#;
        let e = FileSource::parse(json, FileFormat::Json, Path::new("s.json")).unwrap_err();
        let shown = e.to_string();
        for want in ["`a/b` is a number", "`c` is a list", "`d` is null", "`e` is a boolean"] {
            assert!(shown.contains(want), "{shown}");
        }
        assert!(!shown.contains("918273645") && !shown.contains("s3cr3t"), "{shown}");

        let toml = "when = 1979-05-27T07:32:00Z\n";
        let e = FileSource::parse(toml.as_bytes(), FileFormat::Toml, Path::new("s.toml"));
        assert!(e.unwrap_err().to_string().contains("`when` is a date or time"));
    }

    #[test]
    fn duplicate_keys_and_non_objects_are_refused() {
        let json = br#"{"a/b": "x", "a": {"b": "y"}}"#;
        let e = FileSource::parse(json, FileFormat::Json, Path::new("s.json")).unwrap_err();
        assert!(e.to_string().contains("`a/b` is given twice"), "{e}");
        let e = FileSource::parse(br#""pw""#, FileFormat::Json, Path::new("s.json")).unwrap_err();
        assert!(e.to_string().contains("must hold an object"), "{e}");
    }

    #[test]
    fn toml_errors_have_line_and_column_and_no_snippet() {
        let toml = "ok = \"1\"\npassword = hunter2\n";
        let e =
            FileSource::parse(toml.as_bytes(), FileFormat::Toml, Path::new("s.toml")).unwrap_err();
        let shown = e.to_string();
        assert!(shown.contains("line 2, column 12"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn line_columns() {
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
        assert_eq!(line_column("é\nx", 1), (1, 1));
        assert_eq!(line_column("", 9), (1, 1));
    }
}
