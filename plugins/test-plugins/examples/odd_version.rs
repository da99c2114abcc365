//! A usable plugin whose version is wide, non-ASCII text holding terminal escapes: `plugins
//! list` must keep its columns (measured in terminal cells) and show the escapes escaped.

use std::ffi::c_void;

use plugin_api::abi::{ErrorBuf, Functions, Manifest, Sink, Status, StrRef, status};

unsafe extern "C" fn create(
    _config: StrRef,
    _instance: *mut *mut c_void,
    _error: *mut ErrorBuf,
) -> Status {
    status::OK
}

unsafe extern "C" fn resolve(
    _instance: *mut c_void,
    _request: StrRef,
    _sink: *const Sink,
    _error: *mut ErrorBuf,
) -> Status {
    status::NOT_FOUND
}

static FUNCTIONS: Functions = Functions {
    size: size_of::<Functions>(),
    create: Some(create),
    resolve: Some(resolve),
    destroy: None,
};

unsafe extern "C" fn init() -> *const Functions {
    &FUNCTIONS
}

/// Twelve wide characters, a screen clear, a window title and a C1 CSI.
pub const VERSION: &str = "版本一二三四五六七八九十\x1b[2J\x1b]0;owned\x07\u{9b}31m";

static MANIFEST: Manifest =
    Manifest { version: StrRef::new(VERSION), ..test_plugins::manifest("odd_version", Some(init)) };

/// A valid manifest with an odd version.
#[unsafe(no_mangle)]
pub extern "C" fn jimsctl_plugin_manifest() -> *const Manifest {
    &MANIFEST
}
