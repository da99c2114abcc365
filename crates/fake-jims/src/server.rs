//! The API: authentication, the known names, the checks of a body, the write, the faults and
//! the log.

use std::fs;
use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use model::SectionId;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};

use crate::Options;
use crate::http::{self, Request};

/// What the server was started with.
pub(crate) struct Config {
    pub(crate) cwd: PathBuf,
    credentials: Option<(String, Vec<u8>)>,
    fail_after: Option<u64>,
    drop_after: Option<u64>,
    fail_times: u64,
    delay: Duration,
    /// Requests accepted so far (authenticated PUTs on a known name).
    accepted: AtomicU64,
    /// One write at a time, so a file is never written by two requests at once.
    writing: Mutex<()>,
    log: Log,
}

/// Where the log lines go: kept in memory, and on stderr when asked.
#[derive(Clone, Default)]
pub(crate) struct Log {
    pub(crate) lines: Arc<Mutex<Vec<String>>>,
    pub(crate) stderr: bool,
}

impl Log {
    fn line(&self, method: &str, path: &str, status: impl std::fmt::Display) {
        let line = format!("{} {} {status}", clean(method), clean(path));
        if self.stderr {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "{line}");
        }
        if let Ok(mut lines) = self.lines.lock() {
            lines.push(line);
        }
    }
}

impl Config {
    pub(crate) fn new(options: &Options, log: Log) -> Result<Config, String> {
        fs::create_dir_all(&options.dir)
            .map_err(|e| format!("could not make the folder {}: {e}", options.dir.display()))?;
        Ok(Config {
            cwd: options.dir.join("cwd"),
            credentials: options.credentials.clone(),
            fail_after: options.fail_after,
            drop_after: options.drop_after,
            fail_times: options.fail_times,
            delay: options.delay,
            accepted: AtomicU64::new(0),
            writing: Mutex::new(()),
            log,
        })
    }
}

// ring, as jimsctl uses: rustls marks it deprecated only for its lack of post-quantum key
// exchange.
#[allow(deprecated)]
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The TLS configuration and the certificate's SHA-256 fingerprint (`AB:CD:…`).
pub(crate) fn tls_config(options: &Options) -> Result<(Arc<rustls::ServerConfig>, String), String> {
    let (chain, key) = match (&options.cert, &options.key) {
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .and_then(|i| i.collect::<Result<Vec<_>, _>>())
                .map_err(|e| format!("could not read the certificate {}: {e}", cert.display()))?;
            if chain.is_empty() {
                return Err(format!("{} holds no certificate", cert.display()));
            }
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| format!("could not read the key {}: {e}", key.display()))?;
            (chain, key)
        }
        _ => {
            let made = rcgen::generate_simple_self_signed(vec![
                "localhost".to_owned(),
                "127.0.0.1".to_owned(),
            ])
            .map_err(|e| format!("could not make a certificate: {e}"))?;
            let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.key_pair.serialize_der()));
            (vec![made.cert.der().clone()], key)
        }
    };
    let fingerprint =
        Sha256::digest(&chain[0]).iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":");
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("the certificate and key cannot be used: {e}"))?;
    Ok((Arc::new(config), fingerprint))
}

/// Text from a request made safe for the log: control characters escaped, at most 200 chars.
fn clean(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().take(200) {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// The native file behind `/config/<name>`.
pub(crate) fn native_file(name: &str) -> Option<(SectionId, &'static str)> {
    SectionId::ALL.into_iter().find_map(|section| {
        section.native_files().iter().find_map(|rel| {
            let stem = rel.rsplit('/').next()?.strip_suffix(".xml")?;
            (stem == name).then_some((section, *rel))
        })
    })
}

/// Serves one connection: one request, one answer.
pub(crate) fn serve(tcp: TcpStream, tls: Arc<rustls::ServerConfig>, config: &Config) {
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(60)));
    let Ok(conn) = rustls::ServerConnection::new(tls) else { return };
    let mut stream = rustls::StreamOwned::new(conn, tcp);
    let request = match http::read_request(&mut stream) {
        Ok(Some(r)) => r,
        Ok(None) => return,
        Err((status, why)) => {
            config.log.line("?", "?", status);
            http::answer(&mut stream, status, &[], &format!("{why}\n"));
            return;
        }
    };
    let (status, extra, body) = match handle(&request, config) {
        Outcome::Answer(status, extra, body) => (status, extra, body),
        Outcome::Drop => {
            config.log.line(&request.method, &request.path, "dropped");
            stream.conn.send_close_notify();
            let _ = stream.sock.shutdown(std::net::Shutdown::Both);
            return;
        }
    };
    if !config.delay.is_zero() {
        std::thread::sleep(config.delay);
    }
    config.log.line(&request.method, &request.path, status);
    http::answer(&mut stream, status, &extra, &body);
    stream.conn.send_close_notify();
    let _ = stream.flush();
}

enum Outcome {
    Answer(u16, Vec<(&'static str, &'static str)>, String),
    Drop,
}

fn plain(status: u16, body: impl Into<String>) -> Outcome {
    Outcome::Answer(status, Vec::new(), body.into())
}

fn authorized(request: &Request, config: &Config) -> bool {
    use base64::Engine as _;
    let Some(value) = request.header("authorization") else { return false };
    let Some(encoded) = value.strip_prefix("Basic ").or_else(|| value.strip_prefix("basic "))
    else {
        return false;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return false;
    };
    let Some(colon) = decoded.iter().position(|b| *b == b':') else { return false };
    let (user, password) = (&decoded[..colon], &decoded[colon + 1..]);
    match &config.credentials {
        None => true,
        Some((u, p)) => {
            // Compared in full whatever the first difference, so the time taken tells nothing.
            let same = |a: &[u8], b: &[u8]| {
                a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
            };
            same(user, u.as_bytes()) & same(password, p)
        }
    }
}

fn handle(request: &Request, config: &Config) -> Outcome {
    if !authorized(request, config) {
        return Outcome::Answer(
            401,
            vec![("WWW-Authenticate", "Basic realm=\"JIMS\"")],
            "authentication required\n".into(),
        );
    }
    let Some(name) = request.path.strip_prefix("/config/") else {
        return plain(404, "no such resource\n");
    };
    let Some((section, rel)) = native_file(name) else {
        return plain(404, format!("no configuration named {}\n", clean(name)));
    };
    if request.method != "PUT" {
        return Outcome::Answer(405, vec![("Allow", "PUT")], "PUT only\n".into());
    }
    let n = config.accepted.fetch_add(1, Ordering::SeqCst) + 1;
    let spoiled = |after: Option<u64>| {
        after.is_some_and(|a| n > a && n <= a.saturating_add(config.fail_times))
    };
    if spoiled(config.drop_after) {
        return Outcome::Drop;
    }
    if spoiled(config.fail_after) {
        // As some servers do: quote what was received (the client must hide its passwords).
        let start: String = String::from_utf8_lossy(&request.body).chars().take(200).collect();
        return plain(500, format!("internal error (--fail-after); received: {}\n", clean(&start)));
    }
    if let Err(why) = format_xml::read_native_file(section, rel, &request.body) {
        return plain(400, format!("{} is refused: {why}\n", clean(name)));
    }
    if contains(&request.body, b"{aesgcm}") {
        return plain(
            400,
            format!("{} holds an {{aesgcm}} value, which JIMS cannot read\n", clean(name)),
        );
    }
    let _one = config.writing.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    match write_atomic(&config.cwd.join(rel), &request.body) {
        Ok(()) => plain(200, ""),
        Err(e) => plain(500, format!("could not write {rel}: {e}\n")),
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Writes `bytes` to `path` through a temporary file and a rename, synced.
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let tmp = dir
        .join(format!(".{}.tmp", path.file_name().and_then(|n| n.to_str()).unwrap_or("section")));
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_native_file_has_its_name() {
        assert_eq!(
            native_file("event_log_reader"),
            Some((SectionId::EventSources, "config/event_log_reader.xml"))
        );
        assert_eq!(native_file("clients_http").map(|f| f.1), Some("config/clients_http.xml"));
        assert_eq!(
            native_file("admin_whitelist_static").map(|f| f.1),
            Some("system/init/admin_whitelist_static.xml")
        );
        assert_eq!(native_file("passwd"), None);
        assert_eq!(native_file("../x"), None);
        assert_eq!(clean("a\u{1b}b"), "a\\u{1b}b");
    }
}
