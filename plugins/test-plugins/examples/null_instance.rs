//! A plugin whose `create` answers OK but hands back no instance (null).

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

static MANIFEST: Manifest = test_plugins::manifest("null_instance", Some(init));

/// A valid manifest.
#[unsafe(no_mangle)]
pub extern "C" fn jimsctl_plugin_manifest() -> *const Manifest {
    &MANIFEST
}
