//! Finding the plugin libraries the tests load. `cargo test --workspace` builds them into the
//! target folder; these helpers run `cargo build` for them once per process anyway (with the
//! same cargo, profile and target folder), so that a test of one crate never loads a library
//! older than its source.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The target folder of the running profile (`target/debug`): the test binary lives in its
/// `deps/`.
pub(crate) fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let deps = exe.parent().expect("a folder");
    let dir =
        if deps.file_name().is_some_and(|n| n == "deps") { deps.parent().unwrap() } else { deps };
    dir.to_owned()
}

/// Runs `cargo build` for the plugin packages, once per process: a no-op when
/// `cargo test --workspace` built them already, and otherwise what keeps a test of this crate
/// alone from loading a stale library.
fn ensure_built() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = profile_dir();
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let profile = match dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") | None => "dev".to_owned(),
            Some(other) => other.to_owned(),
        };
        let status = Command::new(&cargo)
            .args(["build", "--quiet", "--profile", &profile, "--lib", "--examples"])
            .args(["-p", "example-plugin", "-p", "keepass-plugin", "-p", "test-plugins"])
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the plugin libraries failed");
    });
}

/// `lib<name>.so` on Linux (the platform's prefix and suffix).
pub(crate) fn lib_name(name: &str) -> String {
    format!("{}{name}{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX)
}

/// A plugin library of the workspace: `example_plugin`, `keepass_plugin`.
pub(crate) fn plugin(name: &str) -> PathBuf {
    ensure_built();
    let p = profile_dir().join(lib_name(name));
    assert!(p.is_file(), "{} was not built", p.display());
    p
}

/// One of the purpose-built test plugins: `wrong_magic`, `panics`, `scripted`, …
pub(crate) fn test_plugin(name: &str) -> PathBuf {
    ensure_built();
    let p = profile_dir().join("examples").join(lib_name(name));
    assert!(p.is_file(), "{} was not built", p.display());
    p
}

/// A new plugin folder holding copies of `libraries` (a copy is a distinct library to the
/// loader, so every folder's plugins are loaded afresh). The folder is the current user's and
/// only theirs (0700, as `tempfile` makes it), and each copy writable by its owner only (0755,
/// whatever the umask), so that jimsctl trusts them.
pub(crate) fn folder_with(libraries: &[&Path]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary folder");
    for lib in libraries {
        let copy = dir.path().join(lib.file_name().unwrap());
        std::fs::copy(lib, &copy).expect("copy the library");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755))
                .expect("set the copy's mode");
        }
    }
    dir
}
