//! The public-key file: a server's transport public key as a small text file, safe to mail or
//! commit (`jimsctl key public`), read by `jimsctl export --to`.
//!
//! ```text
//! jimsctl-transport-public-key v1
//! server-id: jims-hq-01
//! key-id: 5c1f0e2a9b7d3348
//! public-key: 8f3a…(64 hex digits)
//! ```
//!
//! Exactly these four lines in this order (`\n` or `\r\n`, the last newline optional). The key
//! id is computed from the public key, so a file whose `key-id` does not match is refused: it
//! was altered or mistyped. Anything else is refused, with the line that is wrong; nothing of
//! the file's content is quoted back.

use crate::{Error, TransportPublic};

/// The first line, which names the format and its version.
pub const PUBLIC_KEY_FILE_MAGIC: &str = "jimsctl-transport-public-key";
/// The one version this jimsctl reads and writes.
pub const PUBLIC_KEY_FILE_VERSION: u32 = 1;
/// The largest public-key file read.
pub const MAX_PUBLIC_KEY_FILE: usize = 4096;
/// The longest server id.
const MAX_SERVER_ID: usize = 128;

/// A server's transport public key with its server id, as a public-key file holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKeyFile {
    /// The id of the server that owns the key.
    pub server_id: String,
    /// The key (its id is [`TransportPublic::id`]).
    pub public: TransportPublic,
}

impl PublicKeyFile {
    /// The file's text.
    pub fn to_text(&self) -> String {
        format!(
            "{PUBLIC_KEY_FILE_MAGIC} v{PUBLIC_KEY_FILE_VERSION}\nserver-id: {}\nkey-id: {}\n\
             public-key: {}\n",
            self.server_id,
            self.public.id(),
            hex::encode(self.public.as_bytes())
        )
    }

    /// Reads a public-key file, refusing anything malformed ([`Error::PublicKeyFile`]).
    pub fn parse(bytes: &[u8]) -> Result<PublicKeyFile, Error> {
        let bad =
            |line: usize, message: &str| Error::PublicKeyFile { line, message: message.to_owned() };
        if bytes.len() > MAX_PUBLIC_KEY_FILE {
            return Err(bad(0, "it is larger than a public-key file can be (4 KiB)"));
        }
        let text = std::str::from_utf8(bytes).map_err(|_| bad(0, "it is not UTF-8 text"))?;
        let text = text.strip_suffix('\n').unwrap_or(text);
        let lines: Vec<&str> =
            text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).collect();
        let first = lines.first().copied().unwrap_or_default();
        match first.strip_prefix(PUBLIC_KEY_FILE_MAGIC).and_then(|r| r.strip_prefix(" v")) {
            Some(v) if v == PUBLIC_KEY_FILE_VERSION.to_string() => {}
            Some(v) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => {
                return Err(bad(
                    1,
                    "it is of a newer version of the format than this jimsctl reads; use a \
                     newer jimsctl",
                ));
            }
            _ => {
                return Err(bad(
                    1,
                    "expected `jimsctl-transport-public-key v1`: this is not a jimsctl public-key \
                     file (make one with `jimsctl key public`)",
                ));
            }
        }
        let fields = ["server-id", "key-id", "public-key"];
        if lines.len() != 1 + fields.len() {
            let line =
                if lines.len() < 1 + fields.len() { lines.len() + 1 } else { 2 + fields.len() };
            return Err(bad(
                line,
                "expected exactly four lines: the format, server-id, key-id and public-key",
            ));
        }
        let mut values = [""; 3];
        for (i, name) in fields.iter().enumerate() {
            let line = lines[i + 1];
            values[i] = line
                .strip_prefix(name)
                .and_then(|r| r.strip_prefix(": "))
                .ok_or_else(|| bad(i + 2, &format!("expected `{name}: …`")))?;
        }
        let [server_id, key_id, public_hex] = values;
        check_server_id(server_id).map_err(|m| bad(2, m))?;
        if key_id.len() != 16 || !key_id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad(3, "a key id is 16 hexadecimal digits"));
        }
        let mut raw = [0u8; 32];
        if public_hex.len() != 64 || hex::decode_to_slice(public_hex, &mut raw).is_err() {
            return Err(bad(4, "a public key is 64 hexadecimal digits"));
        }
        let public = TransportPublic::from_bytes(&raw)?;
        if !public.id().as_str().eq_ignore_ascii_case(key_id) {
            return Err(bad(
                3,
                "the key id does not match the public key: the file was altered or mistyped; \
                 ask the server for its public key again",
            ));
        }
        Ok(PublicKeyFile { server_id: server_id.to_owned(), public })
    }
}

/// A server id as the store accepts it: 1–128 characters, no control characters, no spaces
/// around it.
fn check_server_id(id: &str) -> Result<(), &'static str> {
    if id.is_empty() {
        Err("the server id is empty")
    } else if id.chars().count() > MAX_SERVER_ID {
        Err("the server id is longer than 128 characters")
    } else if id.chars().any(char::is_control) {
        Err("the server id holds control characters")
    } else if id.trim() != id {
        Err("the server id begins or ends with spaces")
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TransportKey;

    fn sample() -> PublicKeyFile {
        let t = TransportKey::generate().unwrap();
        PublicKeyFile { server_id: "jims-hq-01".into(), public: t.public().clone() }
    }

    #[test]
    fn round_trips_with_lf_or_crlf_and_without_the_last_newline() {
        let f = sample();
        let text = f.to_text();
        assert_eq!(PublicKeyFile::parse(text.as_bytes()).unwrap(), f);
        assert_eq!(PublicKeyFile::parse(text.replace('\n', "\r\n").as_bytes()).unwrap(), f);
        assert_eq!(PublicKeyFile::parse(text.trim_end().as_bytes()).unwrap(), f);
        assert_eq!(text.lines().count(), 4);
    }

    #[test]
    fn refuses_everything_malformed_naming_the_line() {
        let text = sample().to_text();
        let lines: Vec<&str> = text.lines().collect();
        let cases: Vec<(String, usize)> = vec![
            (String::new(), 1),
            ("jimsctl-transport-public-key v2\n".into(), 1),
            (text.replacen("v1", "v", 1), 1),
            (text.replacen("server-id: ", "server-id:", 1), 2),
            (text.replacen("jims-hq-01", "", 1), 2),
            (text.replacen("jims-hq-01", " x", 1), 2),
            (text.replacen("jims-hq-01", "a\u{1b}b", 1), 2),
            (format!("{}\n{}\n{}\n{}\n", lines[0], lines[2], lines[1], lines[3]), 2),
            (text.replacen(&lines[2][8..], "0000000000000000", 1), 3),
            (text.replacen(&lines[2][8..], "zz", 1), 3),
            (format!("{}\n{}\n{}\n{}", lines[0], lines[1], lines[2], &lines[3][..70]), 4),
            (format!("{text}extra: 1\n"), 5),
            (format!("{}\n{}\n{}\n", lines[0], lines[1], lines[2]), 4),
            (format!("{text}\n"), 5),
        ];
        for (case, line) in cases {
            match PublicKeyFile::parse(case.as_bytes()) {
                Err(Error::PublicKeyFile { line: l, .. }) => assert_eq!(l, line, "{case:?}"),
                other => panic!("{case:?}: {other:?}"),
            }
        }
        // A changed public key no longer matches its id.
        let mut flipped = lines[3].to_owned().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
        let changed = format!(
            "{}\n{}\n{}\n{}\n",
            lines[0],
            lines[1],
            lines[2],
            String::from_utf8(flipped).unwrap()
        );
        assert!(matches!(
            PublicKeyFile::parse(changed.as_bytes()),
            Err(Error::PublicKeyFile { line: 3, .. })
        ));
        assert!(PublicKeyFile::parse(&[0xff, 0xfe]).is_err());
        assert!(PublicKeyFile::parse(&vec![b'a'; 5000]).is_err());
    }
}
