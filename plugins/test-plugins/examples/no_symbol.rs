//! A shared library that is no jimsctl plugin: it exports a function, but not
//! `jimsctl_plugin_manifest`.

/// A misspelt manifest function.
#[unsafe(no_mangle)]
pub extern "C" fn jimsctl_plugin_manifesto() -> u32 {
    1
}
