//! Purpose-built plugins for the tests of the registry and the command line. Each example
//! (`examples/*.rs`) is a tiny shared library:
//!
//! | library | what is wrong with it |
//! |---|---|
//! | `no_symbol` | a shared library without `jimsctl_plugin_manifest` |
//! | `wrong_magic` | its manifest does not start with the magic `JIMSPLUG` |
//! | `wrong_major` | it speaks plugin ABI 2.0 |
//! | `null_manifest` | its manifest function returns null |
//! | `null_instance` | its `create` says OK but hands back no instance |
//! | `panics` | panics in `create` (CONFIG `create`) or in `resolve` |
//! | `scripted` | nothing: answers as its CONFIG says, and checks it is never called concurrently |
//! | `global_state` | nothing: shares one static state across instances, and checks that no two calls of any instances are ever inside the library at once |
//! | `sleepy` | takes its time: sleeps in `resolve` (CONFIG `resolve:MS[:LOG]`) or `create` (`create:MS[:LOG]`), logging its calls to LOG, for the host's time limit |
//! | `raw_bytes` | answers with the bytes its CONFIG gives in hex, UTF-8 or not |
//! | `odd_version` | nothing: its version is wide text with terminal escapes, for `plugins list` |
//!
//! "Not a shared library at all" needs no crate: the tests write a text file named like one.
//! This library holds what the hand-written manifests share.

use plugin_api::abi::{self, Manifest, StrRef};

/// A manifest that is valid in every field but `init` (which the host reads last).
pub const fn manifest(name: &'static str, init: Option<abi::InitFn>) -> Manifest {
    Manifest {
        size: size_of::<Manifest>(),
        magic: abi::MAGIC,
        abi_major: abi::ABI_MAJOR,
        abi_minor: abi::ABI_MINOR,
        name: StrRef::new(name),
        version: StrRef::new(env!("CARGO_PKG_VERSION")),
        capabilities: abi::CAP_THREAD_SAFE,
        init,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shared_manifest_is_valid_but_for_init() {
        let m = manifest("x", None);
        assert_eq!((m.magic, m.abi_major, m.size), (abi::MAGIC, abi::ABI_MAJOR, 72));
        assert!(m.init.is_none());
    }
}
