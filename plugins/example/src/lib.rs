//! `plugin:example[:PREFIX]`: a minimal secret-source plugin, the one to copy when you write
//! your own (see `docs/writing-a-plugin.md`).
//!
//! It answers a key from the environment variable `PREFIX` followed by the key upper-cased,
//! every run of characters other than `A`–`Z` and `0`–`9` turned into one `_`. The default
//! prefix is `JIMS_EXAMPLE_`: `event_sources/DC1` is read from
//! `JIMS_EXAMPLE_EVENT_SOURCES_DC1`. jimsctl asks a row's keys one by one, most specific first;
//! an empty variable counts as not set.
//!
//! That is all a plugin is: a type implementing [`Plugin`] (`create` from the CONFIG string,
//! `resolve` for the key asked) and one `export_plugin!` line.

use plugin_api::{Password, Plugin, PluginError, Request, export_plugin};

/// The plugin: a variable-name prefix.
#[derive(Debug)]
pub struct Example {
    prefix: String,
}

impl Example {
    /// The variable that holds `key`'s password.
    pub fn variable(&self, key: &str) -> String {
        let mut name = String::with_capacity(self.prefix.len() + key.len());
        name.push_str(&self.prefix);
        let mut in_run = false;
        for c in key.chars().map(|c| c.to_ascii_uppercase()) {
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

impl Plugin for Example {
    const NAME: &'static str = "example";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn create(config: Option<&str>) -> Result<Example, PluginError> {
        let prefix = config.unwrap_or("JIMS_EXAMPLE_");
        let valid = |c: char| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_';
        if prefix.is_empty() || !prefix.chars().all(valid) {
            return Err(PluginError::config(format!(
                "the prefix `{prefix}` is not a variable-name prefix: use A-Z, 0-9 and _, \
                 e.g. plugin:example:MY_SECRETS_"
            )));
        }
        Ok(Example { prefix: prefix.to_owned() })
    }

    fn resolve(&self, request: &Request) -> Result<Option<Password>, PluginError> {
        for key in &request.keys {
            if let Some(value) = std::env::var_os(self.variable(key))
                && !value.is_empty()
            {
                // The variable's own buffer becomes the password, wiped on drop.
                return Ok(Some(Password::new(value.into_encoded_bytes())));
            }
        }
        Ok(None)
    }
}

// The instance holds only a prefix, so it may be called from many threads at once.
export_plugin!(Example);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_follow_the_env_source_rule() {
        let p = Example::create(None).unwrap();
        assert_eq!(p.variable("event_sources/DC1"), "JIMS_EXAMPLE_EVENT_SOURCES_DC1");
        assert_eq!(p.variable("account/CORP\\svc"), "JIMS_EXAMPLE_ACCOUNT_CORP_SVC");
        let p = Example::create(Some("MINE_")).unwrap();
        assert_eq!(p.variable("templates/a"), "MINE_TEMPLATES_A");
    }

    #[test]
    fn bad_prefixes_are_config_errors() {
        for bad in ["", "lower_", "A B"] {
            let e = Example::create(Some(bad)).unwrap_err();
            assert_eq!(e.status(), plugin_api::abi::status::INVALID_CONFIG, "{bad}");
        }
    }
}
