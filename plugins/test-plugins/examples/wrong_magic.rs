//! A plugin whose manifest does not start with the magic value.

use plugin_api::abi::Manifest;

static MANIFEST: Manifest = Manifest {
    magic: u64::from_be_bytes(*b"NOTJIMS!"),
    ..test_plugins::manifest("wrong_magic", None)
};

/// The manifest, with the wrong magic.
#[unsafe(no_mangle)]
pub extern "C" fn jimsctl_plugin_manifest() -> *const Manifest {
    &MANIFEST
}
