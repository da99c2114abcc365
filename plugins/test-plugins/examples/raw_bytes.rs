//! A plugin that answers every key with the bytes its CONFIG gives in hexadecimal (`ff00c3`),
//! which need not be UTF-8 text: to test that the host refuses a password it could not write
//! back.

use plugin_api::{Password, Plugin, PluginError, Request, export_plugin};

/// The bytes it answers with.
struct RawBytes(Vec<u8>);

impl Plugin for RawBytes {
    const NAME: &'static str = "raw_bytes";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn create(config: Option<&str>) -> Result<RawBytes, PluginError> {
        let hex = config.unwrap_or_default();
        let bad = || PluginError::config("CONFIG must be an even number of hex digits");
        if !hex.len().is_multiple_of(2) || !hex.is_ascii() {
            return Err(bad());
        }
        let bytes = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| bad()))
            .collect::<Result<Vec<u8>, PluginError>>()?;
        Ok(RawBytes(bytes))
    }

    fn resolve(&self, _request: &Request) -> Result<Option<Password>, PluginError> {
        Ok(Some(Password::copy_from(&self.0)))
    }
}

export_plugin!(RawBytes);
