//! The live JIMS stage of `push` (live-jims.md): a blocking HTTPS client over a plain
//! `std::net::TcpStream` with rustls (ring), no async runtime.
//!
//! - [`Url`] is a remote's address, `https://HOST[:PORT]` (port 1505 by default).
//! - [`Trust`] says how the server's certificate is verified: a pinned SHA-256 fingerprint of
//!   the leaf certificate's DER bytes ([`Pin`], the host name is then not checked, like an SSH
//!   host key) or the roots of a CA file (chain and host name). There is no insecure mode.
//! - [`Client::put`] sends one `PUT` with basic authentication and the body as the verified
//!   client sends it, within a time limit, on a connection of its own, and returns the
//!   server's [`Response`].
//! - [`fingerprint`] connects trusting nothing, sends nothing, and returns the server
//!   certificate's fingerprint, subject and validity ([`CertInfo`]).
//!
//! This crate keeps no state and builds no body: the pipeline gives it bytes to send. It never
//! logs, prints or puts in an error a request's or a response's body, nor the password.

mod error;
mod http;
mod tls;
mod url;

use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

pub use error::{Error, ErrorKind};
pub use http::Response;
pub use tls::{CertInfo, Pin};
pub use url::{DEFAULT_PORT, Url};

/// How a server's certificate is verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trust {
    /// The leaf certificate must have this SHA-256 fingerprint; the host name is not checked.
    Pin(Pin),
    /// The chain and the host name are checked against the roots of this PEM file.
    CaFile(PathBuf),
}

impl Trust {
    /// Checks that the trust can be used: a CA file is read and must hold at least one
    /// certificate. Connects nowhere.
    pub fn check(&self) -> Result<(), Error> {
        match self {
            Trust::Pin(_) => Ok(()),
            Trust::CaFile(path) => tls::load_roots(path).map(|_| ()),
        }
    }
}

/// A client for one remote: its address, trust, credentials and time limit per request.
/// Each request goes on a connection of its own, so a failure never leaks into the next one
/// and nothing is ever sent twice behind the caller's back.
pub struct Client {
    url: Url,
    tls: Arc<rustls::ClientConfig>,
    /// `Basic <base64(user:password)>`, wiped on drop.
    authorization: Zeroizing<String>,
    timeout: Duration,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("url", &self.url)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for `url`, verifying the server with `trust` and authenticating as `user`
    /// with `password` (copied into wiped memory). `timeout` bounds each request as a whole:
    /// connection, handshake, sending and the answer.
    pub fn new(
        url: &Url,
        trust: &Trust,
        user: &str,
        password: &[u8],
        timeout: Duration,
    ) -> Result<Client, Error> {
        use base64::Engine as _;
        let tls = tls::client_config(trust)?;
        let mut credentials = Zeroizing::new(Vec::with_capacity(user.len() + 1 + password.len()));
        credentials.extend_from_slice(user.as_bytes());
        credentials.push(b':');
        credentials.extend_from_slice(password);
        let mut authorization = Zeroizing::new(String::with_capacity(
            6 + base64::encoded_len(credentials.len(), true).unwrap_or(0),
        ));
        authorization.push_str("Basic ");
        base64::engine::general_purpose::STANDARD.encode_string(&*credentials, &mut authorization);
        Ok(Client { url: url.clone(), tls, authorization, timeout })
    }

    /// The remote's address.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Sends `PUT <path>` with `body` (`Content-Type: application/x-www-form-urlencoded`, as
    /// `curl -d` sends it) and returns the server's answer, whatever its status.
    ///
    /// # Errors
    /// [`ErrorKind::Connect`] (no connection), [`ErrorKind::Tls`] (the handshake or the
    /// certificate failed: nothing was sent), [`ErrorKind::Timeout`], [`ErrorKind::Dropped`]
    /// (the connection closed before a whole answer), [`ErrorKind::Protocol`] (an answer that
    /// is not HTTP).
    pub fn put(&self, path: &str, body: &[u8]) -> Result<Response, Error> {
        let deadline = Instant::now() + self.timeout;
        let mut stream = self.connect(deadline)?;
        let mut head = Zeroizing::new(Vec::with_capacity(256 + self.authorization.len()));
        write!(
            head,
            "PUT {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\nUser-Agent: jimsctl/{}\r\n\
             Accept: */*\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.url.host_header(),
            self.authorization.as_str(),
            env!("CARGO_PKG_VERSION"),
            body.len()
        )
        .map_err(|e| Error::io(ErrorKind::Protocol, &self.url, "build the request", e))?;
        http::send(&mut stream, &head, body, deadline, &self.url)?;
        http::read_response(&mut stream, deadline, &self.url)
    }

    fn connect(
        &self,
        deadline: Instant,
    ) -> Result<rustls::StreamOwned<rustls::ClientConnection, TcpStream>, Error> {
        let tcp = connect_tcp(&self.url, deadline)?;
        tls::handshake(self.tls.clone(), &self.url, tcp, deadline)
    }
}

/// Opens a TCP connection to `url`'s host and port before `deadline`, trying each address.
fn connect_tcp(url: &Url, deadline: Instant) -> Result<TcpStream, Error> {
    let addrs = (url.host(), url.port()).to_socket_addrs().map_err(|e| {
        Error::new(ErrorKind::Connect, format!("could not resolve the host of {url}: {e}"))
            .with_source(e)
    })?;
    let mut last = None;
    for addr in addrs {
        let left = remaining(deadline, url)?;
        match TcpStream::connect_timeout(&addr, left) {
            Ok(tcp) => {
                let _ = tcp.set_nodelay(true);
                return Ok(tcp);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(match last {
        Some(e) if is_timeout(&e) => Error::timeout(url, "connecting"),
        Some(e) => Error::new(ErrorKind::Connect, format!("could not connect to {url}: {e}"))
            .with_source(e),
        None => Error::new(
            ErrorKind::Connect,
            format!("the host of {url} has no address to connect to"),
        ),
    })
}

/// The time left before `deadline`, or a timeout error.
pub(crate) fn remaining(deadline: Instant, url: &Url) -> Result<Duration, Error> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() { Err(Error::timeout(url, "waiting for the server")) } else { Ok(left) }
}

pub(crate) fn is_timeout(e: &std::io::Error) -> bool {
    matches!(e.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock)
}

/// Connects to `url` trusting nothing and sending nothing: the handshake stops as soon as the
/// server has shown its certificate, whose fingerprint, subject and validity are returned for
/// the operator to compare with the server's own before pinning it.
pub fn fingerprint(url: &Url, timeout: Duration) -> Result<CertInfo, Error> {
    let deadline = Instant::now() + timeout;
    let tcp = connect_tcp(url, deadline)?;
    tls::capture_certificate(url, tcp, deadline)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;
    use std::net::TcpListener;

    /// A server on 127.0.0.1 that runs `serve` on its first connection.
    fn server(serve: impl FnOnce(TcpStream) + Send + 'static) -> Url {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            if let Ok((stream, _)) = listener.accept() {
                serve(stream);
            }
        });
        Url::parse(&format!("https://127.0.0.1:{port}")).unwrap()
    }

    fn client(url: &Url, timeout: Duration) -> Client {
        Client::new(url, &Trust::Pin(Pin::of(b"none")), "admin", b"pw", timeout).unwrap()
    }

    #[test]
    fn a_server_that_never_answers_times_out_within_the_limit() {
        let url = server(|s| {
            std::thread::sleep(Duration::from_secs(3));
            drop(s);
        });
        let started = Instant::now();
        let e = client(&url, Duration::from_millis(200)).put("/config/cache", b"x").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(e.to_string().contains("--timeout"), "{e}");
    }

    #[test]
    fn a_server_that_is_not_tls_is_a_tls_failure_and_nothing_is_sent() {
        let (tx, rx) = std::sync::mpsc::channel();
        let url = server(move |mut s| {
            let mut hello = [0u8; 5];
            let _ = s.read_exact(&mut hello);
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
            let mut rest = Vec::new();
            let _ = s.set_read_timeout(Some(Duration::from_millis(300)));
            let _ = s.read_to_end(&mut rest);
            let _ = tx.send([&hello[..], &rest].concat());
        });
        let e =
            client(&url, Duration::from_secs(5)).put("/config/cache", b"secret-body").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Tls, "{e}");
        assert!(e.to_string().contains("nothing was sent"), "{e}");
        let seen = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(!seen.windows(11).any(|w| w == b"secret-body"));
        let e = fingerprint(&url, Duration::from_secs(5));
        assert!(e.is_err());
    }

    #[test]
    fn nothing_listening_is_a_connection_failure() {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let url = Url::parse(&format!("https://127.0.0.1:{port}")).unwrap();
        let e = client(&url, Duration::from_secs(5)).put("/config/cache", b"x").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Connect, "{e}");
        assert!(!format!("{:?}", client(&url, Duration::from_secs(1))).contains("pw"));
    }
}
