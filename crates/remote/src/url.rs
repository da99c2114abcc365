//! A remote's address: `https://HOST[:PORT]`, nothing else.

use std::fmt;

use crate::error::{Error, ErrorKind};

/// The port of the JIMS admin API.
pub const DEFAULT_PORT: u16 = 1505;

/// `https://HOST:PORT`: a host name, an IPv4 address or a bracketed IPv6 address, and a port
/// (1505 when not given). Host names are kept in lower case.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Url {
    host: String,
    port: u16,
}

impl Url {
    /// Parses `https://HOST[:PORT][/]`.
    ///
    /// # Errors
    /// [`ErrorKind::Url`] for another scheme, a user, a path, a query, a bad host or port.
    pub fn parse(text: &str) -> Result<Url, Error> {
        let bad = |why: &str| {
            Error::new(
                ErrorKind::Url,
                format!(
                    "{}: {why}; a remote is https://HOST or https://HOST:PORT",
                    crate::tls::quote(text)
                ),
            )
        };
        let rest = match text.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("https") => rest,
            Some((scheme, _)) if scheme.eq_ignore_ascii_case("http") => {
                return Err(bad("JIMS's admin API is HTTPS only (there is no insecure mode)"));
            }
            Some(_) => return Err(bad("not an https:// URL")),
            None => return Err(bad("not a URL")),
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#']) {
            return Err(bad("a remote has no path, query or fragment"));
        }
        if rest.contains('@') {
            return Err(bad("the user goes in --user, never in the URL"));
        }
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (addr, after) = v6.split_once(']').ok_or_else(|| bad("unclosed '['"))?;
            if addr.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(bad("not an IPv6 address inside [ ]"));
            }
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(|| bad("junk after ']'"))?),
            };
            (addr.to_ascii_lowercase(), port)
        } else {
            match rest.rsplit_once(':') {
                Some((h, p)) => (h.to_ascii_lowercase(), Some(p)),
                None => (rest.to_ascii_lowercase(), None),
            }
        };
        let port = match port {
            None => DEFAULT_PORT,
            Some(p) => match p.parse::<u16>() {
                Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => n,
                _ => return Err(bad("the port must be a number from 1 to 65535")),
            },
        };
        let valid_name = !host.is_empty()
            && host.len() <= 253
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    && !label.starts_with('-')
                    && !label.ends_with('-')
            });
        if !valid_name && host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(bad("not a valid host name or address"));
        }
        Ok(Url { host, port })
    }

    /// The host, without brackets for IPv6: the `HOST` of the secret key `remote/HOST`.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    fn is_v6(&self) -> bool {
        self.host.contains(':')
    }

    /// The `Host` header's value.
    pub(crate) fn host_header(&self) -> String {
        if self.is_v6() {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "https://{}", self.host_header())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_get_the_default_port_and_refuse_anything_else() {
        let u = Url::parse("https://JIMS.corp.example").unwrap();
        assert_eq!((u.host(), u.port()), ("jims.corp.example", 1505));
        assert_eq!(u.to_string(), "https://jims.corp.example:1505");
        assert_eq!(
            Url::parse("https://10.0.0.5:8443/").unwrap().to_string(),
            "https://10.0.0.5:8443"
        );
        let v6 = Url::parse("https://[::1]:99").unwrap();
        assert_eq!((v6.host(), v6.to_string().as_str()), ("::1", "https://[::1]:99"));
        for bad in [
            "http://h",
            "h:1505",
            "ftp://h",
            "https://",
            "https://h:0",
            "https://h:70000",
            "https://h:+5",
            "https://u@h",
            "https://h/config",
            "https://h?x",
            "https://h_x",
            "https://[zz]",
            "https://h\u{1b}[2J",
        ] {
            let e = Url::parse(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Url, "{bad}");
            assert!(!e.to_string().contains('\u{1b}'), "{e}");
        }
    }
}
