//! `fake-jims`: the JIMS administrative REST API as far as it is verified (live-jims.md), on
//! this machine only, so that `jimsctl push` can be tried and tested over real TLS without a
//! JIMS server. The binary (`src/main.rs`) runs it from the command line; tests start it in
//! their own process with [`start`].
//!
//! It listens on 127.0.0.1 only, makes a self-signed certificate at start (rcgen) or takes a
//! given one, checks basic authentication (401), accepts `PUT /config/<name>` for the native
//! files' names (404 otherwise), refuses a body that is not well-formed XML, whose root is not
//! the section's, or that holds an `{aesgcm}` value (400), and writes the body to
//! `DIR/cwd/config/<name>.xml` (`admin_whitelist_static` to `DIR/cwd/system/init/`) before
//! answering 200. Each request is logged as its method, path and status: never a body.
//!
//! Fault settings, for tests: `fail_after` N answers 500 to the accepted requests after the
//! N-th (`fail_times` of them; the answer quotes the start of the body, as some servers do, so
//! that the client's redaction is tested), `drop_after` N closes the connection of those
//! requests without answering, `delay` waits before each answer.

mod http;
mod server;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How a server behaves. (No `Debug`: it holds the administrator's password.)
#[derive(Clone, Default)]
pub struct Options {
    /// Where what is received goes: `DIR/cwd/…` (made when absent).
    pub dir: PathBuf,
    /// The port on 127.0.0.1 (0: any free one).
    pub port: u16,
    /// The administrator's name and password; `None`: any given credentials are accepted (but
    /// basic authentication is still required).
    pub credentials: Option<(String, Vec<u8>)>,
    /// Answer 500 to the accepted requests after the N-th.
    pub fail_after: Option<u64>,
    /// Close the connection without answering for the accepted requests after the N-th.
    pub drop_after: Option<u64>,
    /// How many requests in a row `fail_after` and `drop_after` spoil (at least 1).
    pub fail_times: u64,
    /// Wait this long before each answer.
    pub delay: Duration,
    /// A certificate chain to serve (PEM file) instead of a self-signed one.
    pub cert: Option<PathBuf>,
    /// The private key of `cert` (PEM file).
    pub key: Option<PathBuf>,
    /// Also write each log line to stderr (the binary does).
    pub log_to_stderr: bool,
}

/// A running server. Dropping it (or [`Server::stop`]) stops it and frees its port.
pub struct Server {
    addr: SocketAddr,
    fingerprint: String,
    log: Arc<Mutex<Vec<String>>>,
    stopping: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The SHA-256 fingerprint of the certificate served, `AB:CD:…`.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The log so far: one `METHOD PATH STATUS` line per request.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Serves until stopped (the binary's main loop).
    pub fn wait(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    /// Stops accepting connections and frees the port.
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Wake the accept loop up so that it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Starts a server on 127.0.0.1 with `options`.
///
/// # Errors
/// A sentence: the folder, the certificate or the port could not be used.
pub fn start(options: &Options) -> Result<Server, String> {
    let mut options = options.clone();
    options.fail_times = options.fail_times.max(1);
    let log =
        server::Log { lines: Arc::new(Mutex::new(Vec::new())), stderr: options.log_to_stderr };
    let lines = log.lines.clone();
    let config = Arc::new(server::Config::new(&options, log)?);
    let (tls, fingerprint) = server::tls_config(&options)?;
    let listener = TcpListener::bind(("127.0.0.1", options.port))
        .map_err(|e| format!("could not listen on 127.0.0.1:{}: {e}", options.port))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let stopping = Arc::new(AtomicBool::new(false));
    let stop = stopping.clone();
    let thread = std::thread::spawn(move || {
        for stream in listener.incoming() {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            let Ok(stream) = stream else { continue };
            let tls = tls.clone();
            let config = config.clone();
            std::thread::spawn(move || server::serve(stream, tls, &config));
        }
    });
    Ok(Server { addr, fingerprint, log: lines, stopping, thread: Some(thread) })
}

/// The folder where the server writes `name` (`/config/<name>`), relative to `cwd/`, or
/// `None` for a name it does not know.
pub fn native_path(name: &str) -> Option<&'static str> {
    server::native_file(name).map(|(_, rel)| rel)
}
