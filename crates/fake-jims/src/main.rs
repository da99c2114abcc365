//! `fake-jims`: the JIMS administrative REST API as far as it is verified (live-jims.md), on
//! this machine only, so that `jimsctl push` can be tried and tested over real TLS without a
//! JIMS server.
//!
//! It listens on 127.0.0.1 only, makes a self-signed certificate at start (or takes
//! `--cert/--key`), prints its URL and the certificate's SHA-256 fingerprint, checks basic
//! authentication (401), accepts `PUT /config/<name>` for the native files' names (404
//! otherwise), refuses a body that is not well-formed XML, whose root is not the section's, or
//! that holds an `{aesgcm}` value (400), and writes the body to `DIR/cwd/config/<name>.xml`
//! (`admin_whitelist_static` to `DIR/cwd/system/init/`) before answering 200. Each request is
//! logged on stderr as its method, path and status: never a body.
//!
//! Fault flags, for tests: `--fail-after N` answers 500 to the accepted requests after the
//! N-th (`--fail-times M` of them, 1 by default; the answer quotes the start of the body, as
//! some servers do, so that the client's redaction is tested), `--drop-after N` closes the
//! connection of those requests without answering, `--delay-ms N` waits before each answer.

mod http;
mod server;

use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

/// A stand-in for the JIMS admin API on 127.0.0.1, for trying `jimsctl push`.
#[derive(Parser, Debug)]
#[command(name = "fake-jims", version, about, long_about = None)]
pub(crate) struct Args {
    /// Where the sections received go: DIR/cwd/config/<name>.xml (made when absent).
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// The port on 127.0.0.1 (0: any free port; the one chosen is printed).
    #[arg(long, default_value_t = 1505)]
    port: u16,
    /// The administrator's name that basic authentication must give (with --password-file);
    /// without both, any name and password are accepted, but they must be given.
    #[arg(long, value_name = "NAME", requires = "password_file")]
    user: Option<String>,
    /// A file holding the administrator's password (one trailing newline dropped).
    #[arg(long, value_name = "FILE", requires = "user")]
    password_file: Option<PathBuf>,
    /// Answer 500 to the accepted requests after the N-th (see --fail-times).
    #[arg(long, value_name = "N")]
    fail_after: Option<u64>,
    /// Close the connection without answering for the accepted requests after the N-th (see
    /// --fail-times).
    #[arg(long, value_name = "N")]
    drop_after: Option<u64>,
    /// How many requests in a row --fail-after and --drop-after spoil (then all is well again).
    #[arg(long, value_name = "M", default_value_t = 1)]
    fail_times: u64,
    /// Wait this long before each answer.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    delay_ms: u64,
    /// The certificate chain to serve (PEM), instead of a self-signed one made at start.
    #[arg(long, value_name = "PEM", requires = "key")]
    cert: Option<PathBuf>,
    /// The private key of --cert (PEM, PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "PEM", requires = "cert")]
    key: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("fake-jims: error: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    let config = server::Config::from_args(&args)?;
    let (tls, fingerprint) = server::tls_config(&args)?;
    let listener = TcpListener::bind(("127.0.0.1", args.port))
        .map_err(|e| format!("could not listen on 127.0.0.1:{}: {e}", args.port))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "fake-jims listening on https://127.0.0.1:{port}");
        let _ = writeln!(out, "SHA-256 fingerprint: {fingerprint}");
        let _ = writeln!(out, "writing what it receives to {}", config.cwd.display());
        let _ = out.flush();
    }
    let shared = Arc::new(config);
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let tls = tls.clone();
        let shared = shared.clone();
        std::thread::spawn(move || server::serve(stream, tls, &shared));
    }
    Ok(())
}
