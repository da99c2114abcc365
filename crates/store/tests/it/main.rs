//! Integration tests of the store: layout, commits, history and rollback, locks, adopt, and
//! crash consistency under fault injection.

mod adopt;
mod commit;
mod crash;
mod group;
mod history;
mod layout;
mod lock;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use model::{Configuration, Element, Section, SectionId};
use store::{CommitMeta, Counts};

/// Every native file of a folder's `cwd/` that exists, with its bytes.
pub(crate) fn native_bytes(dir: &Path) -> BTreeMap<&'static str, Vec<u8>> {
    let mut out = BTreeMap::new();
    for id in SectionId::ALL {
        for rel in id.native_files() {
            if let Ok(b) = std::fs::read(dir.join("cwd").join(rel)) {
                out.insert(*rel, b);
            }
        }
    }
    out
}

/// What history keeps of version `n` of a folder: `meta.json` and `cwd/…` with their bytes,
/// from its folder `history/N/` (layout 3) or, read with the `tar` crate as any tar tool would,
/// its archive `history/N.tar` (layout 2).
pub(crate) fn archive(dir: &Path, n: u64) -> BTreeMap<String, Vec<u8>> {
    use std::io::Read;
    let folder = dir.join(format!(".jims-import/history/{n}"));
    let mut out = BTreeMap::new();
    if folder.is_dir() {
        for (path, bytes) in all_files(&folder) {
            let name = path.strip_prefix(&folder).unwrap().to_str().unwrap().to_owned();
            out.insert(name, bytes);
        }
        return out;
    }
    let path = dir.join(format!(".jims-import/history/{n}.tar"));
    let file = std::fs::File::open(&path).unwrap();
    for entry in tar::Archive::new(file).entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_str().unwrap().to_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        out.insert(name, bytes);
    }
    out
}

/// Copies the frozen managed folder of layout 2 (`fixtures/managed-layout2`: versions 1 and 2
/// as `history/N.tar`, version 3 current) to `dir`, its keys made private again (git keeps no
/// mode 0600).
pub(crate) fn layout2(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/managed-layout2");
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        std::fs::create_dir_all(dir.join(&rel)).unwrap();
        for e in std::fs::read_dir(from.join(&rel)).unwrap() {
            let e = e.unwrap();
            let rel = rel.join(e.file_name());
            if e.file_type().unwrap().is_dir() {
                stack.push(rel);
            } else if rel != Path::new("README.md") {
                std::fs::copy(e.path(), dir.join(&rel)).unwrap();
            }
        }
    }
    for key in ["server.key", "transport.key"] {
        let path = dir.join(".jims-import").join(key);
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    std::fs::set_permissions(dir.join(".jims-import"), std::fs::Permissions::from_mode(0o700))
        .unwrap();
}

/// The inode of a file.
pub(crate) fn ino(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().ino()
}

/// The meta of an import of `sections`.
pub(crate) fn meta(sections: &[SectionId]) -> CommitMeta {
    CommitMeta::import(Some("export.xml".into()), sections.to_vec(), Counts::default())
}

/// An event source with its own password.
pub(crate) fn event_source(id: &str, server: &str, password: &str) -> Element {
    Element::new("event_source").with_attr("id", id).with_attr("description", "dc").with_child(
        Element::new("domain_controller")
            .with_attr("server", server)
            .with_attr("username", "CORP\\svc")
            .with_attr("password", password),
    )
}

/// A full configuration with `n` event sources and a logoff time of `logoff` minutes.
pub(crate) fn config(n: usize, logoff: &str) -> Configuration {
    let mut c = Configuration::empty_full();
    let mut root = Element::new("event_sources");
    for i in 0..n {
        root =
            root.with_child(event_source(&format!("DC{i}"), &format!("10.0.0.{i}"), "{fsw} 1,ab"));
    }
    c.insert(Section::single(SectionId::EventSources, root));
    c.insert(Section::single(
        SectionId::Session,
        Element::new("cache").with_child(Element::new("config").with_attr("probe_timeout", logoff)),
    ));
    c
}

/// Runs this test binary again, only the test `name`, with `envs` set.
pub(crate) fn run_child(name: &str, envs: &[(&str, OsString)]) -> Output {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new(exe);
    cmd.args([name, "--exact", "--nocapture", "--test-threads=1", "-q"]);
    for k in ["JIMSCTL_FAULT_STEP", "JIMSCTL_FAULT_NO_EXCHANGE", "JIMSCTL_FAULT_TRACE"] {
        cmd.env_remove(k);
    }
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// A fresh temporary folder and a path inside it named `name` (not created).
pub(crate) fn scratch(name: &str) -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join(name);
    (t, p)
}

/// Every file under `dir`, recursively, as (path, bytes).
pub(crate) fn all_files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                stack.push(e.path());
            } else if ft.is_file() {
                out.push((e.path(), std::fs::read(e.path()).unwrap()));
            }
        }
    }
    out
}
