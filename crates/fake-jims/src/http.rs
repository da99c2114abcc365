//! Reading one HTTP/1.1 request and writing an answer, on a TLS stream.

use std::io::{self, Read, Write};

/// A request as read: method, path, headers and body.
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Request {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 16 * 1024 * 1024;

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Reads one request; `Ok(None)` when the client closed first, `Err` with a status and reason
/// for a request that cannot be served.
pub(crate) fn read_request(s: &mut impl Read) -> Result<Option<Request>, (u16, String)> {
    let mut data = Vec::new();
    let mut chunk = [0u8; 8192];
    let end = loop {
        if let Some(i) = find(&data, b"\r\n\r\n") {
            break i;
        }
        if data.len() > MAX_HEAD {
            return Err((431, "the request's head is too long".into()));
        }
        match s.read(&mut chunk) {
            Ok(0) => return Ok(None),
            Ok(n) => data.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Ok(None),
        }
    };
    let head = String::from_utf8_lossy(&data[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let (Some(method), Some(path), Some(version)) = (first.next(), first.next(), first.next())
    else {
        return Err((400, "not an HTTP request line".into()));
    };
    if !version.starts_with("HTTP/1.") {
        return Err((505, "HTTP/1.x only".into()));
    }
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut req =
        Request { method: method.to_owned(), path: path.to_owned(), headers, body: Vec::new() };
    let length = match req.header("content-length") {
        Some(v) => v.parse::<usize>().map_err(|_| (400, "a bad Content-Length".to_owned()))?,
        None if req.method == "PUT" || req.method == "POST" => {
            return Err((411, "a body needs a Content-Length".into()));
        }
        None => 0,
    };
    if length > MAX_BODY {
        return Err((413, "the body is larger than 16 MiB".into()));
    }
    let mut body = data.split_off(end + 4);
    while body.len() < length {
        match s.read(&mut chunk) {
            Ok(0) => return Ok(None),
            Ok(n) => body.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Ok(None),
        }
    }
    body.truncate(length);
    req.body = body;
    Ok(Some(req))
}

/// Writes an answer and closes the exchange (`Connection: close`).
pub(crate) fn answer(s: &mut impl Write, status: u16, extra: &[(&str, &str)], body: &str) {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Payload Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        505 => "HTTP Version Not Supported",
        _ => "",
    };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (n, v) in extra {
        out.push_str(&format!("{n}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(body);
    let _ = s.write_all(out.as_bytes());
    let _ = s.flush();
}
