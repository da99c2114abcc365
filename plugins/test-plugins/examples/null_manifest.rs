//! A plugin whose manifest function returns null.

use plugin_api::abi::Manifest;

/// No manifest.
#[unsafe(no_mangle)]
pub extern "C" fn jimsctl_plugin_manifest() -> *const Manifest {
    std::ptr::null()
}
