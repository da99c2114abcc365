//! The HTTP/1.1 of one request on its own connection: send the head and the body, read the
//! status line, the headers and the body (by `Content-Length`, chunks, or to the close).

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

use rustls::{ClientConnection, StreamOwned};

use crate::error::{Error, ErrorKind};
use crate::url::Url;

type Stream = StreamOwned<ClientConnection, TcpStream>;

/// How much of an answer's head is read at most.
const MAX_HEAD: usize = 64 * 1024;
/// How much of an answer's body is kept (the rest is read and dropped).
const MAX_BODY: usize = 64 * 1024;

/// A server's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The reason phrase of the status line, control characters escaped.
    pub reason: String,
    /// The first 64 KiB of the body. It may quote what was sent: show it only through a
    /// filter that replaces the passwords sent.
    pub body: Vec<u8>,
}

impl Response {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The status line, e.g. `HTTP/1.1 404 Not Found`.
    pub fn status_line(&self) -> String {
        if self.reason.is_empty() {
            format!("HTTP/1.1 {}", self.status)
        } else {
            format!("HTTP/1.1 {} {}", self.status, self.reason)
        }
    }
}

fn set_timeouts(stream: &Stream, deadline: Instant, url: &Url) -> Result<(), Error> {
    let left = crate::remaining(deadline, url)?;
    let _ = stream.sock.set_read_timeout(Some(left));
    let _ = stream.sock.set_write_timeout(Some(left));
    Ok(())
}

fn io_error(url: &Url, what: &str, e: &io::Error) -> Error {
    if crate::is_timeout(e) {
        return Error::timeout(url, what);
    }
    Error::new(
        ErrorKind::Dropped,
        format!("{url}: the connection failed while {what}: {}", crate::tls::quote(&e.to_string())),
    )
}

/// Sends `head` then `body`.
pub(crate) fn send(
    stream: &mut Stream,
    head: &[u8],
    body: &[u8],
    deadline: Instant,
    url: &Url,
) -> Result<(), Error> {
    for part in [head, body] {
        let mut at = 0;
        while at < part.len() {
            set_timeouts(stream, deadline, url)?;
            let end = (at + 64 * 1024).min(part.len());
            match stream.write(&part[at..end]) {
                Ok(0) => {
                    return Err(Error::new(
                        ErrorKind::Dropped,
                        format!("{url}: the connection closed while sending"),
                    ));
                }
                Ok(n) => at += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_error(url, "sending", &e)),
            }
        }
    }
    set_timeouts(stream, deadline, url)?;
    stream.flush().map_err(|e| io_error(url, "sending", &e))
}

/// Reads into `buf` once; `Ok(0)` at the end (a close without TLS close_notify counts as the
/// end too: many servers do so after `Connection: close`).
fn read_some(
    stream: &mut Stream,
    buf: &mut [u8],
    deadline: Instant,
    url: &Url,
) -> Result<usize, Error> {
    loop {
        set_timeouts(stream, deadline, url)?;
        match stream.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Ok(0),
            Err(e) => return Err(io_error(url, "waiting for the answer", &e)),
        }
    }
}

/// Reads the answer.
pub(crate) fn read_response(
    stream: &mut Stream,
    deadline: Instant,
    url: &Url,
) -> Result<Response, Error> {
    let mut data = Vec::with_capacity(4096);
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = find(&data, b"\r\n\r\n") {
            break i;
        }
        if data.len() > MAX_HEAD {
            return Err(Error::new(
                ErrorKind::Protocol,
                format!("{url}: the answer's headers are longer than 64 KiB"),
            ));
        }
        let n = read_some(stream, &mut chunk, deadline, url)?;
        if n == 0 {
            return Err(Error::new(
                ErrorKind::Dropped,
                format!(
                    "{url}: the server closed the connection without {}",
                    if data.is_empty() { "answering" } else { "a whole answer" }
                ),
            ));
        }
        data.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let not_http = || {
        Error::new(
            ErrorKind::Protocol,
            format!(
                "{url}: the answer is not HTTP (it starts {:?})",
                crate::tls::quote(&status_line.chars().take(40).collect::<String>())
            ),
        )
    };
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(not_http());
    }
    let status: u16 = parts
        .next()
        .filter(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|c| c.parse().ok())
        .ok_or_else(not_http)?;
    let reason = crate::tls::quote(parts.next().unwrap_or_default().trim());
    let mut length = None;
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = value.parse::<usize>().ok();
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        }
    }
    let mut raw = data.split_off(head_end + 4);
    let complete = |raw: &[u8]| -> bool {
        if chunked {
            find(raw, b"0\r\n\r\n").is_some_and(|i| i == 0 || raw[..i].ends_with(b"\r\n"))
        } else {
            length.is_some_and(|l| raw.len() >= l)
        }
    };
    while !complete(&raw) {
        let n = read_some(stream, &mut chunk, deadline, url)?;
        if n == 0 {
            if length.is_some_and(|l| raw.len() < l) {
                return Err(Error::new(
                    ErrorKind::Dropped,
                    format!("{url}: the server closed the connection in the middle of its answer"),
                ));
            }
            break;
        }
        if raw.len() < 4 * MAX_BODY {
            raw.extend_from_slice(&chunk[..n]);
        }
    }
    let mut body = if chunked { dechunk(&raw) } else { raw };
    if let Some(l) = length {
        body.truncate(l);
    }
    body.truncate(MAX_BODY);
    Ok(Response { status, reason, body })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The data of a chunked body (as much as is whole).
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = find(raw, b"\r\n") {
        let size = std::str::from_utf8(&raw[..eol])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok());
        let Some(size) = size else { break };
        if size == 0 {
            break;
        }
        let start = eol + 2;
        let end = (start + size).min(raw.len());
        out.extend_from_slice(&raw[start..end]);
        raw = raw.get(end + 2..).unwrap_or_default();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_bodies_are_joined() {
        assert_eq!(dechunk(b"3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n"), b"abcde");
        assert_eq!(dechunk(b"zz\r\n"), b"");
    }
}
