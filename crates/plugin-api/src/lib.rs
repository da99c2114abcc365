//! The plugin ABI of jimsctl: how a secret source built as a shared library talks to the host.
//!
//! Rust types never cross a shared-library boundary (each side may be built by another
//! compiler, with its own allocator), so the boundary is C, in the manner of PostgreSQL's
//! `PG_MODULE_MAGIC` and SQLite's extension table. [`abi`] holds the `#[repr(C)]` types and the
//! version numbers both sides check; the rest of this crate is the SDK a plugin author uses:
//!
//! 1. implement [`Plugin`] for a type (its `create` takes the CONFIG of
//!    `--secrets plugin:NAME[:CONFIG]`, its `resolve` answers one row of the Add Missing
//!    Passwords table);
//! 2. write [`export_plugin!`]`(MyType)` once;
//! 3. build the crate with `crate-type = ["cdylib"]` and put the library in a folder of
//!    `JIMSCTL_PLUGIN_PATH` (or `plugins/` beside the `jimsctl` binary).
//!
//! The macro exports one function, `jimsctl_plugin_manifest`, and wraps every call in a
//! panic guard: a panic becomes [`abi::status::PANICKED`] and the host stops calling the
//! plugin, instead of aborting the process. A found [`Password`] is copied by the host and
//! wiped by the plugin. `docs/writing-a-plugin.md` in the repository is the guide.
//!
//! This crate is tiny on purpose: the ABI itself needs nothing; the SDK uses `serde_json` to
//! read the request and `zeroize` to wipe passwords.

pub mod abi;
mod sdk;

pub use sdk::{Password, Plugin, PluginError, Request};

/// The glue [`export_plugin!`] instantiates. Not part of the API: its items may change in any
/// release.
#[doc(hidden)]
pub mod __private {
    pub use crate::sdk::{create, destroy, functions, manifest, resolve, write_error};
}
