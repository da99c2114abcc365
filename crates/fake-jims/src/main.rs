//! `fake-jims`: a stand-in for the JIMS admin API on 127.0.0.1, for trying `jimsctl push`
//! (see the library's documentation for what it does).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

/// A stand-in for the JIMS admin API on 127.0.0.1, for trying `jimsctl push`. Logs each
/// request's method, path and status on stderr, never a body.
#[derive(Parser, Debug)]
#[command(name = "fake-jims", version, about, long_about = None)]
struct Args {
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
    /// Answer 500 to the accepted requests after the N-th (see --fail-times); the answer
    /// quotes the start of the body, as some servers do.
    #[arg(long, value_name = "N")]
    fail_after: Option<u64>,
    /// Close the connection without answering for the accepted requests after the N-th (see
    /// --fail-times).
    #[arg(long, value_name = "N")]
    drop_after: Option<u64>,
    /// How many requests in a row --fail-after and --drop-after spoil (then all is well again).
    #[arg(long, value_name = "M", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    fail_times: u64,
    /// Wait this long before each answer.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    delay_ms: u64,
    /// The certificate chain to serve (PEM), instead of a self-signed one made at start.
    #[arg(long, value_name = "PEM", requires = "key")]
    cert: Option<PathBuf>,
    /// The private key of --cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "PEM", requires = "cert")]
    key: Option<PathBuf>,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("fake-jims: error: {message}");
            ExitCode::from(2)
        }
    }
}

fn read_password(file: &PathBuf) -> Result<Vec<u8>, String> {
    let mut password = std::fs::read(file)
        .map_err(|e| format!("could not read the password file {}: {e}", file.display()))?;
    if password.ends_with(b"\n") {
        password.pop();
        if password.ends_with(b"\r") {
            password.pop();
        }
    }
    if password.is_empty() {
        return Err(format!("the password file {} is empty", file.display()));
    }
    Ok(password)
}

fn run(args: Args) -> Result<(), String> {
    let credentials = match (&args.user, &args.password_file) {
        (Some(user), Some(file)) => Some((user.clone(), read_password(file)?)),
        _ => None,
    };
    let options = fake_jims::Options {
        dir: args.dir.clone(),
        port: args.port,
        credentials,
        fail_after: args.fail_after,
        drop_after: args.drop_after,
        fail_times: args.fail_times,
        delay: Duration::from_millis(args.delay_ms),
        cert: args.cert,
        key: args.key,
        log_to_stderr: true,
    };
    let server = fake_jims::start(&options)?;
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "fake-jims listening on {} (loopback only)", server.url());
        let _ = writeln!(out, "SHA-256 fingerprint: {}", server.fingerprint());
        let _ = writeln!(out, "writing what it receives to {}", args.dir.join("cwd").display());
        let _ = out.flush();
    }
    server.wait();
    Ok(())
}
