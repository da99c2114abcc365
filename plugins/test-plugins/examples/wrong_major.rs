//! A plugin built for plugin ABI 2.0, which this jimsctl does not speak.

use plugin_api::abi::Manifest;

static MANIFEST: Manifest =
    Manifest { abi_major: 2, abi_minor: 0, ..test_plugins::manifest("wrong_major", None) };

/// The manifest, for ABI 2.0.
#[unsafe(no_mangle)]
pub extern "C" fn jimsctl_plugin_manifest() -> *const Manifest {
    &MANIFEST
}
