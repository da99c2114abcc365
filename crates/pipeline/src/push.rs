//! `push` and `remote` (live-jims.md): a managed folder's configuration sent to its live JIMS
//! over the admin API, and the remote it goes to.
//!
//! Everything is resolved and built before the first byte: the remote and its trust, the plan
//! (what changed since the last push, recorded per native file in `remote.json`), every body
//! (passwords opened in memory by [`secrets::reveal_for_sending`]), the bodies that would put
//! each section back, and the administrator's password; the folder is locked against imports
//! for the whole push. Then the journal is written, the sections go one by one in their order,
//! and a failure at section k puts back 1…k−1 from the versions their records name.
//!
//! The store keeps the records, `remote` does the TLS and HTTP, this module decides.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crypto::{Secret, SecretBytes};
use model::{Configuration, Section, SectionId};
use secrets::{Chain, Row, Table};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, ErrorKind};

pub use remote::CertInfo;
pub use store::{PushRecord, RemoteConfig};

/// How long a request may take by default (`--timeout`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------
// The remote.

/// `remote set`'s settings, as given.
#[derive(Clone, Debug, Default)]
pub struct RemoteSettings {
    /// `https://HOST[:PORT]`.
    pub url: String,
    /// The administrator's name.
    pub user: String,
    /// `--pin-sha256`.
    pub pin_sha256: Option<String>,
    /// `--ca-file`.
    pub ca_file: Option<PathBuf>,
    /// `--endpoint SECTION=NAME` or `SECTION=-`, each.
    pub endpoints: Vec<String>,
}

/// What `remote set` did.
#[derive(Clone, Debug, Serialize)]
pub struct RemoteSetReport {
    /// The remote now set.
    pub remote: RemoteConfig,
    /// Whether a remote was set before.
    pub replaced: bool,
    /// Whether the record of the last push was kept (same URL).
    pub kept_last_push: bool,
}

/// What `remote show` shows.
#[derive(Clone, Debug, Serialize)]
pub struct RemoteShow {
    /// The remote, if one is set.
    pub remote: Option<RemoteConfig>,
    /// The last successful push.
    pub last_push: Option<PushRecord>,
    /// Whether a push was interrupted (the next one sends everything).
    pub interrupted: bool,
}

/// The native file (path relative to `cwd/`) whose `/config/<name>` is `stem` by default.
fn native_by_stem(stem: &str) -> Option<(SectionId, &'static str)> {
    native_files().find(|(_, rel)| default_endpoint(rel) == stem)
}

fn native_files() -> impl Iterator<Item = (SectionId, &'static str)> {
    SectionId::ALL.into_iter().flat_map(|s| s.native_files().iter().map(move |r| (s, *r)))
}

/// The native file's stem: the verified API's `<name>`.
fn default_endpoint(rel: &str) -> &str {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    name.strip_suffix(".xml").unwrap_or(name)
}

/// The host of a recorded remote URL (the `HOST` of the key `remote/HOST`), or the URL itself
/// when it does not parse.
pub fn host_of(url: &str) -> String {
    remote::Url::parse(url).map(|u| u.host().to_owned()).unwrap_or_else(|_| url.to_owned())
}

/// Text from the user or a file made safe for a terminal.
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Checks `--endpoint SECTION=NAME|-` items and returns them keyed by section id or file stem.
fn parse_endpoints(items: &[String]) -> Result<BTreeMap<String, String>, Error> {
    let mut out = BTreeMap::new();
    for item in items {
        let usage = |why: String| {
            Error::new(ErrorKind::Usage, format!("--endpoint {}: {why}", quote(item)))
        };
        let Some((key, name)) = item.split_once('=') else {
            return Err(usage("expected SECTION=NAME, or SECTION=- to never send it".into()));
        };
        let known = match SectionId::parse(key) {
            Some(s) if s.native_files().len() == 1 || name == "-" => true,
            Some(s) => {
                return Err(usage(format!(
                    "section {key} has {} native files; name each: {}",
                    s.native_files().len(),
                    s.native_files()
                        .iter()
                        .map(|r| default_endpoint(r))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            None => native_by_stem(key).is_some(),
        };
        if !known {
            return Err(usage(format!(
                "{} is neither a section id ({}) nor a native file's name",
                quote(key),
                SectionId::ALL.map(SectionId::as_str).join(", ")
            )));
        }
        let ok = name == "-"
            || (!name.is_empty()
                && name.len() <= 128
                && name != "."
                && name != ".."
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')));
        if !ok {
            return Err(usage(format!(
                "{} is not an endpoint name (letters, digits, '_', '-', '.')",
                quote(name)
            )));
        }
        if out.insert(key.to_owned(), name.to_owned()).is_some() {
            return Err(usage(format!("{key} is mapped twice")));
        }
    }
    Ok(out)
}

/// The endpoint of native file `rel` on this remote: `None` when mapped to `-`.
fn endpoint_of(remote: &RemoteConfig, section: SectionId, rel: &str) -> Option<String> {
    let stem = default_endpoint(rel);
    let mapped = remote.endpoints.get(stem).or_else(|| remote.endpoints.get(section.as_str()));
    match mapped.map(String::as_str) {
        Some("-") => None,
        Some(name) if section.native_files().len() == 1 || remote.endpoints.contains_key(stem) => {
            Some(format!("/config/{name}"))
        }
        _ => Some(format!("/config/{stem}")),
    }
}

fn url_error(e: remote::Error) -> Error {
    Error::new(ErrorKind::Usage, e.to_string()).caused_by(e)
}

/// `remote set`: checks everything (URL, pin or CA file, endpoints) and records it; connects
/// nowhere.
pub fn remote_set(dir: &Path, settings: &RemoteSettings) -> Result<RemoteSetReport, Error> {
    let url = remote::Url::parse(&settings.url).map_err(url_error)?;
    let user = settings.user.as_str();
    if user.is_empty() || user.chars().any(|c| c.is_control() || c == ':') {
        return Err(Error::new(
            ErrorKind::Usage,
            format!(
                "--user {}: a user name is not empty and holds no ':' nor control characters",
                quote(user)
            ),
        ));
    }
    let (pin, ca_file) = match (&settings.pin_sha256, &settings.ca_file) {
        (Some(p), None) => (Some(remote::Pin::parse(p).map_err(url_error)?.to_string()), None),
        (None, Some(ca)) => {
            let ca = std::path::absolute(ca).unwrap_or_else(|_| ca.clone());
            remote::Trust::CaFile(ca.clone()).check().map_err(url_error)?;
            (None, Some(ca))
        }
        _ => {
            return Err(Error::new(
                ErrorKind::Usage,
                "give exactly one of --pin-sha256 HEX and --ca-file PEM (there is no insecure mode); \
                 `jimsctl remote fingerprint URL` shows a server's fingerprint",
            ));
        }
    };
    let endpoints = parse_endpoints(&settings.endpoints)?;
    let config = RemoteConfig {
        url: url.to_string(),
        user: user.to_owned(),
        pin_sha256: pin,
        ca_file,
        endpoints,
    };
    let target = store::Target::open_exclusive_state(dir)?;
    let replaced = target.remote()?.is_some();
    let kept_last_push = target.set_remote(&config)?;
    Ok(RemoteSetReport { remote: config, replaced, kept_last_push })
}

/// `remote show`.
pub fn remote_show(dir: &Path) -> Result<RemoteShow, Error> {
    let target = store::Target::open_state(dir)?;
    Ok(RemoteShow {
        remote: target.remote()?,
        last_push: target.push_record()?,
        interrupted: target.push_journal()?.is_some(),
    })
}

/// `remote unset`: whether a remote was set.
pub fn remote_unset(dir: &Path) -> Result<bool, Error> {
    let target = store::Target::open_exclusive_state(dir)?;
    Ok(target.unset_remote()?)
}

/// `remote fingerprint URL`: the server's certificate, trusting nothing, sending nothing.
pub fn remote_fingerprint(url: &str, timeout: Duration) -> Result<CertInfo, Error> {
    let url = remote::Url::parse(url).map_err(url_error)?;
    remote::fingerprint(&url, timeout)
        .map_err(|e| Error::new(ErrorKind::Network, e.to_string()).caused_by(e))
}

// ---------------------------------------------------------------------------------------------
// Push.

/// `push`'s options.
#[derive(Clone, Debug)]
pub struct PushOptions {
    /// `--sections`: only these (section ids).
    pub sections: Option<Vec<String>>,
    /// `--all`: every section, changed or not.
    pub all: bool,
    /// `--include-admin-clients`.
    pub include_admin_clients: bool,
    /// `--dry-run`: resolve and build everything, connect nowhere.
    pub dry_run: bool,
    /// The time limit of each request.
    pub timeout: Duration,
}

impl Default for PushOptions {
    fn default() -> PushOptions {
        PushOptions {
            sections: None,
            all: false,
            include_admin_clients: false,
            dry_run: false,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// Asks for the administrator's password when no secret source knows it (a terminal prompt);
/// [`NoAsking`] asks nobody.
pub trait AskPassword {
    /// The password for the one row of `table`, or `None`.
    fn ask(&self, table: &mut Table) -> Option<Secret>;
}

/// Asks nobody.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoAsking;

impl AskPassword for NoAsking {
    fn ask(&self, _table: &mut Table) -> Option<Secret> {
        None
    }
}

/// How a push ended (the command line gives each its status word and exit code, noted here).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PushStatus {
    /// Every section planned was sent (exit 0).
    Pushed,
    /// Nothing changed since the last push: no connection (exit 0).
    UpToDate,
    /// `--dry-run` (exit 0).
    DryRun,
    /// The administrator's password was not found (exit 3).
    MissingPasswords,
    /// The server refused the credentials (401/403) or its certificate was not trusted
    /// (exit 2).
    Refused,
    /// A failure at the first section: nothing changed (exit 1).
    Failed,
    /// A failure midway, and every section already sent was put back (exit 1).
    Restored,
    /// A failure midway, and some sections could not be put back (exit 7).
    Mixed,
}

/// A native file against the last push.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FilePlan {
    /// Never pushed to this remote.
    New,
    /// Changed since the version last pushed.
    Changed,
    /// The same bytes as last pushed (sent only when asked for).
    Unchanged,
}

/// What became of one native file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileResult {
    /// Sent and accepted.
    Sent,
    /// Sent, then put back to what the last push sent.
    Restored,
    /// Sent, and could not be put back: the server holds the new content.
    NotRestored,
    /// Its request failed (the server may hold either content).
    Failed,
    /// `--dry-run`: would be sent.
    Planned,
    /// Not sent: the push stopped before it (the server holds the old content).
    NotSent,
}

/// One native file of a push.
#[derive(Clone, Debug, Serialize)]
pub struct PushFile {
    /// The section.
    #[serde(serialize_with = "section_str")]
    pub id: SectionId,
    /// The native file, relative to `cwd/`.
    pub file: &'static str,
    /// `/config/<name>`.
    pub endpoint: String,
    /// Against the last push.
    pub plan: FilePlan,
    /// The version last pushed, if any.
    pub last_pushed_version: Option<u64>,
    /// What became of it.
    pub result: FileResult,
    /// The server's status for its request.
    pub http_status: Option<u16>,
    /// How long its request took.
    pub seconds: f64,
    /// For a put-back that failed or was impossible: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

fn section_str<S: serde::Serializer>(s: &SectionId, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(s.as_str())
}

/// Password counts of a push.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct PushPasswords {
    /// Sealed values opened with the folder's key.
    pub opened: usize,
    /// Plaintext values sent as they are.
    pub plaintext: usize,
    /// Fields without a password, but those left to a template.
    pub missing: usize,
    /// Fields left empty in an item that names a template (JIMS uses the template's).
    pub from_template: usize,
    /// `{capi}`/`{fsw}` values sent unchanged (only the machine that made them can read them).
    pub machine_bound: usize,
}

/// What a push did.
#[derive(Debug)]
pub struct PushOutcome {
    /// How it ended.
    pub status: PushStatus,
    /// The remote's URL.
    pub remote: String,
    /// The folder's version pushed.
    pub version: u64,
    /// The native files planned, in order.
    pub files: Vec<PushFile>,
    /// Password counts.
    pub passwords: PushPasswords,
    /// Warnings to show (machine-bound values, the admin whitelist, an interrupted push).
    pub warnings: Vec<String>,
    /// Whether the last push was interrupted (this one sends everything).
    pub interrupted: bool,
    /// What went wrong, for a push that did not succeed: a sentence, with the server's answer
    /// (status line and at most 300 characters, every password sent replaced by `***`).
    pub message: Option<String>,
    /// For [`PushStatus::MissingPasswords`]: the table with its one row.
    pub table: Option<Table>,
    /// How long the push took.
    pub seconds: f64,
}

impl PushOutcome {
    /// The ids of the files sent and kept (status `sent`), as section ids, deduplicated.
    pub fn sections_sent(&self) -> Vec<SectionId> {
        let mut out: Vec<SectionId> = Vec::new();
        for f in self.files.iter().filter(|f| f.result == FileResult::Sent) {
            if !out.contains(&f.id) {
                out.push(f.id);
            }
        }
        out
    }
}

/// The order of sending: `templates` first (others name templates), then the table's order,
/// `admin_clients` last.
fn push_order() -> Vec<SectionId> {
    let mut order = vec![SectionId::Templates];
    order.extend(SectionId::ALL.into_iter().filter(|s| *s != SectionId::Templates));
    order
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The body of native file `rel` of `section` as the verified client sends it: the file with
/// its passwords opened, `<?xml version="1.0"?>` first, its CR and LF bytes removed.
fn build_body(
    section: SectionId,
    rel: &'static str,
    bytes: &[u8],
    (key, retired): (&crypto::ServerKey, &[crypto::ServerKey]),
    counts: &mut PushPasswords,
    machine_bound: &mut Vec<String>,
    sent: &mut Vec<Secret>,
) -> Result<SecretBytes, Error> {
    let file = format_xml::read_native_file(section, rel, bytes).map_err(|e| {
        Error::new(ErrorKind::Target, format!("{rel}: {e}; the managed folder's file is damaged"))
            .caused_by(e)
    })?;
    let mut config = Configuration::new();
    let mut s = Section::empty(section);
    s.files = vec![file];
    config.insert(s);
    let revealed = secrets::reveal_for_sending(&mut config, key, retired).map_err(|e| {
        Error::new(ErrorKind::Crypto, format!("{rel}: {e}; nothing was sent")).caused_by(e)
    })?;
    counts.opened += revealed.opened;
    counts.plaintext += revealed.plaintext;
    counts.missing += revealed.missing;
    counts.from_template += revealed.from_template;
    counts.machine_bound += revealed.machine_bound.len();
    machine_bound.extend(revealed.machine_bound);
    sent.extend(revealed.sent);
    let file = config.get(section).and_then(|s| s.files.first()).ok_or_else(|| {
        Error::new(ErrorKind::Io, format!("{rel}: the section vanished while its body was built"))
    })?;
    let xml = zeroize::Zeroizing::new(format_xml::write_native_file(file).map_err(|e| {
        Error::new(ErrorKind::Target, format!("{rel}: {e}; nothing was sent")).caused_by(e)
    })?);
    let mut rest: &[u8] = &xml;
    if rest.starts_with(b"<?xml")
        && let Some(end) = rest.windows(2).position(|w| w == b"?>")
    {
        rest = &rest[end + 2..];
    }
    const DECLARATION: &[u8] = b"<?xml version=\"1.0\"?>";
    let mut body = SecretBytes::with_capacity(DECLARATION.len() + rest.len());
    body.extend_from_slice(DECLARATION);
    body.extend(rest.iter().copied().filter(|b| *b != b'\r' && *b != b'\n'));
    Ok(body)
}

/// Replaces every password sent by `***` in a server's answer, then keeps its status line and
/// at most 300 characters, control characters escaped.
fn redact_answer(response: &remote::Response, sent: &[Secret]) -> String {
    // Every copy of the answer is wiped when dropped: it may quote the passwords sent.
    let mut text = zeroize::Zeroizing::new(String::from_utf8_lossy(&response.body).into_owned());
    let mut needles: Vec<String> = Vec::new();
    for secret in sent {
        if let Some(s) = secret.expose_str().filter(|s| !s.is_empty()) {
            needles.push(s.to_owned());
            let escaped = s
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;")
                .replace('\'', "&apos;");
            if escaped != s {
                needles.push(escaped);
            }
        }
    }
    needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
    for n in &needles {
        if text.contains(n.as_str()) {
            text = zeroize::Zeroizing::new(text.replace(n.as_str(), "***"));
        }
    }
    zeroize::Zeroize::zeroize(&mut needles);
    let excerpt: String = text.trim().chars().take(300).collect();
    let excerpt = quote(&excerpt);
    if excerpt.is_empty() {
        response.status_line()
    } else {
        format!("{}: {excerpt}", response.status_line())
    }
}

/// A native file ready to go: its body, and what would put it back.
struct Prepared {
    index: usize,
    body: SecretBytes,
    sha256: String,
    /// The body that the last push sent, rebuilt from its version; or why there is none.
    put_back: Result<SecretBytes, String>,
}

fn admin_row(url: &remote::Url, user: &str) -> Row {
    Row {
        index: 1,
        type_label: "Remote",
        data_type: "admin".to_owned(),
        data: url.host().to_owned(),
        username: Some(user.to_owned()),
        template: None,
        keys: vec![
            model::SecretKey::from_text(format!("remote/{}", url.host())),
            model::SecretKey::account(user),
        ],
        location: model::FieldLocation {
            section: SectionId::AdminClients,
            file: 0,
            item: 0,
            holder: None,
            slot: model::SecretSlot::Attribute,
        },
        binding: String::new(),
        reason: secrets::MissingReason::Missing,
        source: None,
        answered: None,
    }
}

fn no_remote(dir: &Path) -> Error {
    Error::new(
        ErrorKind::Usage,
        format!(
            "{} has no remote; set one with `jimsctl remote set --target {} --url https://HOST \
             --user NAME --pin-sha256 HEX`",
            dir.display(),
            dir.display()
        ),
    )
}

/// The trust of a remote as recorded.
fn trust_of(remote: &RemoteConfig) -> Result<remote::Trust, Error> {
    match (&remote.pin_sha256, &remote.ca_file) {
        (Some(pin), _) => Ok(remote::Trust::Pin(remote::Pin::parse(pin).map_err(url_error)?)),
        (None, Some(ca)) => {
            let trust = remote::Trust::CaFile(ca.clone());
            trust.check().map_err(url_error)?;
            Ok(trust)
        }
        (None, None) => Err(Error::new(
            ErrorKind::Target,
            "the remote has neither a pin nor a CA file; set it again with `jimsctl remote set`",
        )),
    }
}

/// `jimsctl push --target DIR`.
pub fn push(
    dir: &Path,
    options: &PushOptions,
    chain: &Chain,
    ask: &dyn AskPassword,
) -> Result<PushOutcome, Error> {
    let started = Instant::now();
    let target = store::Target::open_exclusive_state(dir)?;
    let remote_config = target.remote()?.ok_or_else(|| no_remote(dir))?;
    let url = remote::Url::parse(&remote_config.url).map_err(|e| {
        Error::new(ErrorKind::Target, format!("the recorded remote is damaged: {e}"))
    })?;
    let trust = trust_of(&remote_config)?;
    let version = target.version();
    let record = target.push_record()?.filter(|r| r.url == remote_config.url);
    let interrupted = target.push_journal()?.is_some();

    // The candidates, in order, and the choice.
    let chosen = match &options.sections {
        Some(ids) => Some(crate::export::parse_section_ids(ids)?),
        None => None,
    };
    if let Some(ids) = &chosen
        && ids.contains(&SectionId::AdminClients)
        && !options.include_admin_clients
    {
        return Err(Error::new(
            ErrorKind::Usage,
            "admin_clients is sent only with --include-admin-clients: a wrong whitelist locks \
             the administrator out, and it takes effect only after JIMS restarts",
        ));
    }
    let live = target.version_files(version)?.unwrap_or_default();
    let mut files = Vec::new();
    let mut warnings = Vec::new();
    if interrupted {
        warnings.push(
            "the last push was interrupted (its journal is still there): this push sends every \
             section, so that the server converges"
                .to_owned(),
        );
    }
    for section in push_order() {
        if section == SectionId::AdminClients && !options.include_admin_clients {
            continue;
        }
        if let Some(ids) = &chosen
            && !ids.contains(&section)
            && !interrupted
        {
            continue;
        }
        for rel in section.native_files() {
            let Some(endpoint) = endpoint_of(&remote_config, section, rel) else {
                if chosen.as_ref().is_some_and(|ids| ids.contains(&section)) {
                    return Err(Error::new(
                        ErrorKind::Usage,
                        format!(
                            "{} is never sent to {} (remote set --endpoint {}=-)",
                            default_endpoint(rel),
                            remote_config.url,
                            section.as_str()
                        ),
                    ));
                }
                continue;
            };
            let Some(bytes) = live.get(rel) else { continue };
            let sha = sha256_hex(bytes);
            let last = record.as_ref().and_then(|r| r.files.get(*rel));
            let plan = match last {
                None => FilePlan::New,
                Some(p) if p.sha256 == sha && p.endpoint == endpoint => FilePlan::Unchanged,
                Some(_) => FilePlan::Changed,
            };
            if plan == FilePlan::Unchanged && chosen.is_none() && !options.all && !interrupted {
                continue;
            }
            files.push(PushFile {
                id: section,
                file: rel,
                endpoint,
                plan,
                last_pushed_version: last.map(|p| p.version),
                result: FileResult::Planned,
                http_status: None,
                seconds: 0.0,
                note: None,
            });
        }
    }
    if options.include_admin_clients && files.iter().any(|f| f.id == SectionId::AdminClients) {
        warnings.push(
            "admin_clients is pushed: JIMS reads its whitelist only when it restarts, and a wrong \
             one locks the administrator out"
                .to_owned(),
        );
    }
    let mut outcome = PushOutcome {
        status: PushStatus::UpToDate,
        remote: remote_config.url.clone(),
        version,
        files,
        passwords: PushPasswords::default(),
        warnings,
        interrupted,
        message: None,
        table: None,
        seconds: 0.0,
    };
    if outcome.files.is_empty() {
        outcome.seconds = started.elapsed().as_secs_f64();
        return Ok(outcome);
    }

    // Every body, and what would put each back.
    let key = (target.key(), target.retired_keys());
    let mut machine_bound = Vec::new();
    let mut sent: Vec<Secret> = Vec::new();
    let mut prepared = Vec::with_capacity(outcome.files.len());
    let mut old_versions: BTreeMap<u64, Option<BTreeMap<&'static str, SecretBytes>>> =
        BTreeMap::new();
    for (index, f) in outcome.files.iter().enumerate() {
        let bytes = &live[f.file];
        let body = build_body(
            f.id,
            f.file,
            bytes,
            key,
            &mut outcome.passwords,
            &mut machine_bound,
            &mut sent,
        )?;
        let put_back = match record.as_ref().and_then(|r| r.files.get(f.file)) {
            None => Err("never pushed before: there is nothing to put back".to_owned()),
            Some(last) => {
                old_versions
                    .entry(last.version)
                    .or_insert_with(|| target.version_files(last.version).ok().flatten());
                match old_versions
                    .get(&last.version)
                    .and_then(|v| v.as_ref())
                    .and_then(|v| v.get(f.file))
                {
                    None => Err(format!("version {} is no longer in history", last.version)),
                    Some(old) if sha256_hex(old) != last.sha256 => Err(format!(
                        "version {}'s file is not what was pushed from it",
                        last.version
                    )),
                    Some(old) => {
                        let mut ignore = PushPasswords::default();
                        let mut ignore_mb = Vec::new();
                        build_body(f.id, f.file, old, key, &mut ignore, &mut ignore_mb, &mut sent)
                            .map_err(|e| format!("version {} cannot be rebuilt: {e}", last.version))
                    }
                }
            }
        };
        prepared.push(Prepared { index, body, sha256: sha256_hex(bytes), put_back });
    }
    for m in &machine_bound {
        outcome.warnings.push(format!(
            "{m} is bound to the machine that made it: it is sent unchanged, and only that machine \
             can read it"
        ));
    }

    // The administrator's password.
    let mut table = Table { rows: vec![admin_row(&url, &remote_config.user)] };
    let mut password = secrets::resolve_row(&mut table.rows[0], chain, None)?;
    if password.is_none() {
        password = ask.ask(&mut table);
    }
    let Some(password) = password else {
        outcome.status = PushStatus::MissingPasswords;
        outcome.message = Some(format!(
            "the administrator's password for {} is missing: give it with --secrets under the \
             key remote/{} or account/{}",
            remote_config.url,
            url.host(),
            remote_config.user
        ));
        outcome.table = Some(table);
        outcome.seconds = started.elapsed().as_secs_f64();
        return Ok(outcome);
    };
    sent.push(Secret::copy_from(password.expose()));

    if options.dry_run {
        outcome.status = PushStatus::DryRun;
        outcome.seconds = started.elapsed().as_secs_f64();
        return Ok(outcome);
    }

    let client =
        remote::Client::new(&url, &trust, &remote_config.user, password.expose(), options.timeout)
            .map_err(url_error)?;
    drop(password);
    let journal = store::PushJournal {
        started: store::now_rfc3339(),
        url: remote_config.url.clone(),
        version,
        files: outcome.files.iter().map(|f| f.file.to_owned()).collect(),
    };
    target.write_push_journal(&journal)?;

    let mut failed_at = None;
    for p in &prepared {
        let f = &mut outcome.files[p.index];
        let t = Instant::now();
        let result = client.put(&f.endpoint, &p.body);
        f.seconds = t.elapsed().as_secs_f64();
        match result {
            Ok(r) if r.is_success() => {
                f.result = FileResult::Sent;
                f.http_status = Some(r.status);
            }
            Ok(r) => {
                f.result = FileResult::Failed;
                f.http_status = Some(r.status);
                let answer = redact_answer(&r, &sent);
                let (status, why) = match r.status {
                    401 | 403 => (
                        PushStatus::Refused,
                        format!(
                            "{} refused the administrator's credentials for user {} ({answer}); \
                             check the password under remote/{} or account/{}",
                            remote_config.url,
                            quote(&remote_config.user),
                            url.host(),
                            quote(&remote_config.user)
                        ),
                    ),
                    404 => (
                        PushStatus::Failed,
                        format!(
                            "{} has no endpoint {} ({answer}); if this server names it otherwise, \
                             map it with `jimsctl remote set … --endpoint {}=NAME`, or skip it \
                             with `--endpoint {}=-`",
                            remote_config.url,
                            f.endpoint,
                            default_endpoint(f.file),
                            default_endpoint(f.file)
                        ),
                    ),
                    _ => (
                        PushStatus::Failed,
                        format!("{} refused {} ({answer})", remote_config.url, f.endpoint),
                    ),
                };
                failed_at = Some((p.index, status, why));
                break;
            }
            Err(e) => {
                let nothing_sent = p.index == 0 && e.kind() == remote::ErrorKind::Tls;
                f.result = if nothing_sent { FileResult::NotSent } else { FileResult::Failed };
                let status = if nothing_sent { PushStatus::Refused } else { PushStatus::Failed };
                failed_at = Some((p.index, status, format!("{}: {e}", f.endpoint)));
                break;
            }
        }
    }

    let Some((k, status, why)) = failed_at else {
        // Success: the record, the audit line, then the journal goes: until it is gone (a
        // power cut before), the next push sends every section again, and once it is gone the
        // record and the audit line are both there.
        let mut new_record = record.clone().unwrap_or_default();
        new_record.url = remote_config.url.clone();
        new_record.time = store::now_rfc3339();
        new_record.version = version;
        for p in &prepared {
            let f = &outcome.files[p.index];
            new_record.files.insert(
                f.file.to_owned(),
                store::PushedFile {
                    version,
                    sha256: p.sha256.clone(),
                    endpoint: f.endpoint.clone(),
                },
            );
        }
        target.write_push_record(&new_record)?;
        outcome.status = PushStatus::Pushed;
        let line = serde_json::json!({
            "time": new_record.time,
            "action": "push",
            "version": version,
            "remote": remote_config.url,
            "sections": outcome.sections_sent().iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            "files": outcome.files.iter().map(|f| f.file).collect::<Vec<_>>(),
        });
        target.append_audit(&line.to_string())?;
        target.remove_push_journal()?;
        outcome.seconds = started.elapsed().as_secs_f64();
        return Ok(outcome);
    };

    for f in outcome.files.iter_mut().skip(k + 1) {
        f.result = FileResult::NotSent;
    }
    // Put back 1…k−1, in order.
    let mut not_restored = Vec::new();
    for p in prepared.iter().take(k) {
        let f = &mut outcome.files[p.index];
        match &p.put_back {
            Err(why) => {
                f.result = FileResult::NotRestored;
                f.note = Some(why.clone());
                not_restored.push(f.file);
            }
            Ok(body) => match client.put(&f.endpoint, body) {
                Ok(r) if r.is_success() => f.result = FileResult::Restored,
                Ok(r) => {
                    f.result = FileResult::NotRestored;
                    f.note = Some(format!("putting it back failed: {}", redact_answer(&r, &sent)));
                    not_restored.push(f.file);
                }
                Err(e) => {
                    f.result = FileResult::NotRestored;
                    f.note = Some(format!("putting it back failed: {e}"));
                    not_restored.push(f.file);
                }
            },
        }
    }
    target.remove_push_journal()?;
    let restored: Vec<&str> =
        outcome.files.iter().filter(|f| f.result == FileResult::Restored).map(|f| f.file).collect();
    outcome.status = if !not_restored.is_empty() {
        PushStatus::Mixed
    } else if status == PushStatus::Refused {
        PushStatus::Refused
    } else if k == 0 {
        PushStatus::Failed
    } else {
        PushStatus::Restored
    };
    let failed_file = outcome.files[k].file;
    let old: Vec<&str> = outcome
        .files
        .iter()
        .filter(|f| matches!(f.result, FileResult::Restored | FileResult::NotSent))
        .map(|f| f.file)
        .collect();
    let mut message = why;
    match outcome.status {
        PushStatus::Mixed => message.push_str(&format!(
            ". The server now holds a mix: the new content in {}; the old in {}; {} is unknown \
             (its request failed). Push again when the server is back: every section that differs from \
             the last push is sent again",
            not_restored.join(", "),
            if old.is_empty() { "none".to_owned() } else { old.join(", ") },
            failed_file
        )),
        PushStatus::Restored => message.push_str(&format!(
            ". Put back what the last push sent: {}; the server holds its old configuration \
             (and {failed_file} its old content unless the server applied the failed request; \
             the next push sends it again)",
            restored.join(", ")
        )),
        _ if k == 0 && status == PushStatus::Refused => {
            message.push_str(". Nothing was changed on the server");
        }
        _ if k == 0 => message.push_str(&format!(
            ". Nothing else was sent; {failed_file} holds its old content unless the server \
             applied the failed request (the next push sends it again)"
        )),
        _ => {}
    }
    outcome.message = Some(message);
    outcome.seconds = started.elapsed().as_secs_f64();
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_order_is_templates_first_and_admin_clients_last() {
        let order = push_order();
        assert_eq!(order.first(), Some(&SectionId::Templates));
        assert_eq!(order.last(), Some(&SectionId::AdminClients));
        assert_eq!(order[1], SectionId::EventSources);
        assert_eq!(order.len(), 10);
    }

    #[test]
    fn endpoints_map_by_section_or_file_and_refuse_the_rest() {
        let m = parse_endpoints(&["session=cache2".into(), "clients_http=-".into()]).unwrap();
        let remote = RemoteConfig {
            url: String::new(),
            user: String::new(),
            pin_sha256: None,
            ca_file: None,
            endpoints: m,
        };
        assert_eq!(
            endpoint_of(&remote, SectionId::Session, "config/cache.xml").unwrap(),
            "/config/cache2"
        );
        assert_eq!(endpoint_of(&remote, SectionId::Transports, "config/clients_http.xml"), None);
        assert_eq!(
            endpoint_of(&remote, SectionId::Transports, "config/clients_https.xml").unwrap(),
            "/config/clients_https"
        );
        for bad in [
            "session",
            "transports=x",
            "nope=x",
            "session=a/b",
            "session=..",
            "session=",
            "session=a\u{1b}",
        ] {
            let e = parse_endpoints(&[bad.to_owned()]).unwrap_err();
            assert_eq!(e.kind(), &ErrorKind::Usage, "{bad}");
            assert!(!e.to_string().contains('\u{1b}'));
        }
        assert!(parse_endpoints(&["transports=-".into()]).is_ok());
    }

    #[test]
    fn bodies_start_with_the_declaration_and_hold_no_line_breaks() {
        let key = crypto::ServerKey::generate().unwrap();
        let bytes = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<cache>\n  <config a=\"1\"/>\n</cache>\n";
        let mut counts = PushPasswords::default();
        let body = build_body(
            SectionId::Session,
            "config/cache.xml",
            bytes,
            (&key, &[]),
            &mut counts,
            &mut Vec::new(),
            &mut Vec::new(),
        )
        .unwrap();
        assert!(
            body.starts_with(b"<?xml version=\"1.0\"?><cache>"),
            "{}",
            String::from_utf8_lossy(&body)
        );
        assert!(!body.contains(&b'\n') && !body.contains(&b'\r'));
    }

    #[test]
    fn answers_hide_every_password_sent() {
        let r = remote::Response {
            status: 500,
            reason: "Internal Server Error".into(),
            body: b"bad value s3cr&t and s3cr&amp;t \x1b[2J".to_vec(),
        };
        let shown = redact_answer(&r, &[Secret::copy_from(b"s3cr&t")]);
        assert!(!shown.contains("s3cr"), "{shown}");
        assert!(
            shown.starts_with("HTTP/1.1 500 Internal Server Error: bad value *** and ***"),
            "{shown}"
        );
        assert!(!shown.contains('\u{1b}'));
        let long = remote::Response { status: 400, reason: String::new(), body: vec![b'x'; 1000] };
        assert_eq!(redact_answer(&long, &[]).len(), "HTTP/1.1 400: ".len() + 300);
    }
}
