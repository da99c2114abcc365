//! `env`: passwords from environment variables `JIMS_SECRET_<KEY>`.

use std::ffi::OsString;
use std::fmt;

use crypto::Secret;
use model::SecretKey;

use crate::error::SourceError;
use crate::source::{Answer, Request, SecretSource};

/// How [`EnvSource`] reads a variable: `std::env::var_os` by default, anything in tests.
pub type EnvLookup = Box<dyn Fn(&str) -> Option<OsString> + Send + Sync>;

/// Passwords from environment variables: the key `event_sources/DC1` is read from
/// `JIMS_SECRET_EVENT_SOURCES_DC1` (see [`EnvSource::variable_name`]). An empty variable is
/// "not found".
pub struct EnvSource {
    lookup: EnvLookup,
}

impl fmt::Debug for EnvSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EnvSource")
    }
}

impl Default for EnvSource {
    fn default() -> EnvSource {
        EnvSource::new()
    }
}

impl EnvSource {
    /// The source reading the process environment.
    pub fn new() -> EnvSource {
        EnvSource::with_lookup(|name| std::env::var_os(name))
    }

    /// The source reading variables through `lookup`.
    pub fn with_lookup(
        lookup: impl Fn(&str) -> Option<OsString> + Send + Sync + 'static,
    ) -> EnvSource {
        EnvSource { lookup: Box::new(lookup) }
    }

    /// `JIMS_SECRET_` and the key with ASCII letters upper-cased and every run of characters
    /// other than `A`–`Z` and `0`–`9` (non-ASCII letters included) turned into one `_`:
    /// `account/CORP\svc` → `JIMS_SECRET_ACCOUNT_CORP_SVC`.
    pub fn variable_name(key: &SecretKey) -> String {
        const PREFIX: &str = "JIMS_SECRET_";
        let mut name = String::with_capacity(PREFIX.len() + key.as_str().len());
        name.push_str(PREFIX);
        let mut in_run = false;
        for c in key.as_str().chars() {
            let c = c.to_ascii_uppercase();
            if c.is_ascii_uppercase() || c.is_ascii_digit() {
                name.push(c);
                in_run = false;
            } else if !in_run {
                name.push('_');
                in_run = true;
            }
        }
        name
    }
}

impl SecretSource for EnvSource {
    fn kind(&self) -> String {
        "env".into()
    }

    fn lookup(&self, key: &SecretKey, _request: &Request<'_>) -> Result<Answer, SourceError> {
        match (self.lookup)(&EnvSource::variable_name(key)) {
            // The variable's own buffer becomes the secret, wiped on drop.
            Some(value) if !value.is_empty() => {
                Ok(Answer::Found(Secret::new(value.into_encoded_bytes())))
            }
            _ => Ok(Answer::NotFound),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(key: &str) -> String {
        EnvSource::variable_name(&SecretKey::from_text(key))
    }

    #[test]
    fn variable_names() {
        assert_eq!(name("event_sources/DC1"), "JIMS_SECRET_EVENT_SOURCES_DC1");
        assert_eq!(name("account/CORP\\svc"), "JIMS_SECRET_ACCOUNT_CORP_SVC");
        assert_eq!(name("srx_clients/SRX-1/oauth"), "JIMS_SECRET_SRX_CLIENTS_SRX_1_OAUTH");
        assert_eq!(name("templates/a--b..c"), "JIMS_SECRET_TEMPLATES_A_B_C");
        assert_eq!(name("account/jörg"), "JIMS_SECRET_ACCOUNT_J_RG");
        assert_eq!(name("x/"), "JIMS_SECRET_X_");
    }
}
